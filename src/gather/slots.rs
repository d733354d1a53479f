//! Where a [`Gather`](super::Gather) keeps its sources: a slot per source,
//! reused once the source is gone, with a generation that tells a slot's
//! sources apart.
//!
//! # When a slot may serve its next source
//!
//! A source's wake must never reach the source that next takes its slot.
//! Three things see to it, each at the moment it can:
//!
//! - Its waker node is retired when the source leaves, so a later wake of
//!   it is a no-op (`Node::retire`, in `ready.rs`).
//! - A wake that was made earlier, but not yet taken from the chunk's word,
//!   keeps the slot out of use (in quarantine, here) until the `Gather` has
//!   taken that word: the stale bit then lands on an empty slot.
//! - A wake already taken into the line is skipped when its entry comes up,
//!   because the source's `waiting` mark went with it (`line.rs`).
//!
//! Only a wake racing with the removal itself, on another thread, can slip
//! past the retirement; it then costs the next source one spurious poll.

use alloc::boxed::Box;
use alloc::vec::{self, Vec};
use core::pin::Pin;
use core::slice;

use super::id::SourceId;
use super::occupied::{lookup, Occupied};
use super::ready::{Node, GENERATION};
use super::registry::Ids;
use crate::sync::Arc;

/// End of the free list.
const NONE: u32 = u32::MAX;

/// A slot holds a source and its waker node (two pointers), or, once free,
/// the generation its next source gets and the next free slot.
pub(super) enum Slot<S> {
    Occupied {
        stream: Pin<Box<S>>,
        node: Arc<Node>,
    },
    Vacant {
        generation: u32,
        next_free: u32,
    },
}

/// The sources of a `Gather`, by slot.
pub(super) struct Slots<S> {
    slots: Vec<Slot<S>>,
    /// The free slot to use next, then its `next_free`, and so on.
    free: u32,
    len: usize,
    /// Slots left while a wake of their source was still in its chunk's
    /// word: they join the free list once that word has been taken.
    quarantine: Vec<u32>,
    /// Once the `Gather` has handles, ids come from here, and free slots
    /// go back here, instead of the free list above (see `registry.rs`).
    shared: Option<Arc<Ids>>,
}

impl<S> Slots<S> {
    pub(super) fn new() -> Self {
        Slots {
            slots: Vec::new(),
            free: NONE,
            len: 0,
            quarantine: Vec::new(),
            shared: None,
        }
    }

    /// The ids shared with handles, made on the first call: from then on,
    /// every id comes from them and every slot freed goes back to them.
    pub(super) fn share_ids(&mut self) -> Arc<Ids> {
        if let Some(ids) = &self.shared {
            return Arc::clone(ids);
        }
        let ids = Arc::new(Ids::new(self.end()));
        while self.free != NONE {
            let index = self.free;
            let Slot::Vacant {
                generation,
                next_free,
            } = self.slots[index as usize]
            else {
                unreachable!("the free list names vacant slots")
            };
            self.free = next_free;
            ids.give_back(SourceId::new(index, generation));
        }
        self.shared = Some(Arc::clone(&ids));
        ids
    }

    /// Sources held now.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn reserve(&mut self, sources: usize) {
        self.slots.reserve(sources);
    }

    /// Puts `stream` in a free slot, or a new one, with the waker node that
    /// `node` makes for the slot's index and generation.
    ///
    /// # Panics
    ///
    /// If `u32::MAX - 1` sources are held already.
    pub(super) fn insert(
        &mut self,
        stream: S,
        node: impl FnOnce(u32, u32) -> Arc<Node>,
    ) -> SourceId {
        if let Some(ids) = &self.shared {
            let id = ids.take();
            self.insert_at(id, stream, node);
            return id;
        }
        let (index, generation) = match self.free {
            NONE => {
                let index = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&index| index != NONE)
                    .expect("a Gather holds at most u32::MAX - 1 sources");
                self.slots.push(Slot::Vacant {
                    generation: 0,
                    next_free: NONE,
                });
                (index, 0)
            }
            index => match self.slots[index as usize] {
                Slot::Vacant {
                    generation,
                    next_free,
                } => {
                    self.free = next_free;
                    (index, generation)
                }
                Slot::Occupied { .. } => unreachable!("the free list names vacant slots"),
            },
        };
        // The node is allocated before the box: in this order W2 (a wake
        // per message over 100,000 sources) measured up to 10% faster.
        let node = node(index, generation);
        self.slots[index as usize] = Slot::Occupied {
            stream: Box::pin(stream),
            node,
        };
        self.len += 1;
        SourceId::new(index, generation)
    }

    /// Puts `stream` in the slot of `id`, an id handed out by the shared
    /// ids, making the slots up to it (vacant: their ids are out, or their
    /// sources are in the slots already).
    pub(super) fn insert_at(
        &mut self,
        id: SourceId,
        stream: S,
        node: impl FnOnce(u32, u32) -> Arc<Node>,
    ) {
        let index = id.slot() as usize;
        while self.slots.len() <= index {
            self.slots.push(Slot::Vacant {
                generation: 0,
                next_free: NONE,
            });
        }
        debug_assert!(
            matches!(self.slots[index], Slot::Vacant { generation, .. } if generation == id.generation()),
            "an id handed out once, for a vacant slot"
        );
        let node = node(id.slot(), id.generation());
        self.slots[index] = Slot::Occupied {
            stream: Box::pin(stream),
            node,
        };
        self.len += 1;
    }

    /// The source in slot `index` with its waker node, whatever its id.
    #[inline(always)]
    pub(super) fn at(&mut self, index: u32) -> Option<(&mut Pin<Box<S>>, &Arc<Node>)> {
        match self.slots.get_mut(index as usize) {
            Some(Slot::Occupied { stream, node }) => Some((stream, node)),
            _ => None,
        }
    }

    /// The id of the source in slot `index`, if any.
    pub(super) fn id_at(&self, index: u32) -> Option<SourceId> {
        match self.slots.get(index as usize) {
            Some(Slot::Occupied { node, .. }) => Some(SourceId::new(index, node.generation())),
            _ => None,
        }
    }

    /// True if `id` names a source held now.
    pub(super) fn contains(&self, id: SourceId) -> bool {
        self.id_at(id.slot()) == Some(id)
    }

    /// Takes the source `id` (which must be held) out and retires its node.
    /// `still_woken`, asked once the node is retired, tells whether a wake of
    /// the source is still in its chunk's word: the slot is then quarantined
    /// until [`free_quarantined`](Self::free_quarantined).
    pub(super) fn remove(
        &mut self,
        id: SourceId,
        still_woken: impl FnOnce() -> bool,
    ) -> Pin<Box<S>> {
        let vacant = Slot::Vacant {
            generation: id.generation().wrapping_add(1) & GENERATION,
            next_free: NONE,
        };
        let Slot::Occupied { stream, node } =
            core::mem::replace(&mut self.slots[id.slot() as usize], vacant)
        else {
            unreachable!("remove a source that is held")
        };
        node.retire();
        if still_woken() {
            self.quarantine.push(id.slot());
        } else {
            self.free(id.slot());
        }
        self.len -= 1;
        stream
    }

    /// Frees the quarantined slots, once the words that held their stale
    /// wakes have been taken; `each` is told every slot freed.
    pub(super) fn free_quarantined(&mut self, mut each: impl FnMut(u32)) {
        while let Some(index) = self.quarantine.pop() {
            each(index);
            self.free(index);
        }
    }

    fn free(&mut self, index: u32) {
        if let Slot::Vacant {
            next_free,
            generation,
        } = &mut self.slots[index as usize]
        {
            match &self.shared {
                Some(ids) => ids.give_back(SourceId::new(index, *generation)),
                None => {
                    *next_free = self.free;
                    self.free = index;
                }
            }
        }
    }

    /// The source `id`, if it is held.
    pub(super) fn get(&self, id: SourceId) -> Option<Pin<&S>> {
        lookup(self.slots.get(id.slot() as usize), id)
    }

    /// The source `id`, pinned, if it is held.
    pub(super) fn get_mut(&mut self, id: SourceId) -> Option<Pin<&mut S>> {
        lookup(self.slots.get_mut(id.slot() as usize), id)
    }

    /// One past the last slot made, held or free.
    pub(super) fn end(&self) -> u32 {
        // At most `NONE` slots are made (see `insert`).
        self.slots.len() as u32
    }

    /// Every source held, in slot order, with its id.
    pub(super) fn iter(&self) -> Occupied<slice::Iter<'_, Slot<S>>> {
        Occupied::new(self.slots.iter(), self.len)
    }

    /// Every source held, in slot order, with its id.
    pub(super) fn iter_mut(&mut self) -> Occupied<slice::IterMut<'_, Slot<S>>> {
        Occupied::new(self.slots.iter_mut(), self.len)
    }

    /// Takes every source out, in slot order, retiring their nodes.
    pub(super) fn into_streams(self) -> Occupied<vec::IntoIter<Slot<S>>> {
        Occupied::new(self.slots.into_iter(), self.len)
    }
}

#[cfg(all(test, not(confluo_loom)))]
mod tests {
    use super::*;
    use crate::gather::ready::{Chunk, Shared};
    use core::task::Waker;

    /// What `Gather` keeps per source: BENCHMARKS.md counts on these sizes.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_slot_is_two_pointers_and_a_node_sixteen_bytes() {
        assert_eq!(
            core::mem::size_of::<Slot<futures_core::stream::BoxStream<'_, u8>>>(),
            16
        );
        assert_eq!(core::mem::size_of::<Slot<[u64; 8]>>(), 16);
        assert_eq!(core::mem::size_of::<Node>(), 16);
    }

    /// Slots holding `0..n` in slots `0..n`, with a node each.
    fn slots(n: u32, chunk: &Arc<Chunk>) -> (Slots<u32>, Vec<SourceId>) {
        let mut slots = Slots::new();
        let ids = (0..n)
            .map(|source| {
                slots.insert(source, |index, generation| {
                    Node::new(chunk, index, generation)
                })
            })
            .collect();
        (slots, ids)
    }

    #[test]
    fn the_sources_held_come_in_slot_order_with_their_ids_and_an_exact_count() {
        let chunk = Chunk::new(&Shared::new(), 0);
        let (mut slots, ids) = slots(6, &chunk);
        for &id in &[ids[5], ids[0], ids[2]] {
            let _ = slots.remove(id, || false);
        }
        // Slot 2, freed last, serves a new source, of the next generation.
        let again = slots.insert(20, |index, generation| Node::new(&chunk, index, generation));
        assert_eq!((again.slot(), again.generation()), (2, 1));

        let mut held = slots.iter();
        assert_eq!(held.len(), 4);
        assert_eq!(held.next().map(|(id, s)| (id, *s)), Some((ids[1], 1)));
        assert_eq!(held.len(), 3);
        assert_eq!(held.next().map(|(id, s)| (id, *s)), Some((again, 20)));
        assert_eq!(held.next().map(|(id, s)| (id, *s)), Some((ids[3], 3)));
        assert_eq!(held.next().map(|(id, s)| (id, *s)), Some((ids[4], 4)));
        assert_eq!(held.len(), 0);
        assert!(held.next().is_none());

        for (_, mut source) in slots.iter_mut() {
            *source += 100;
        }
        let taken: Vec<u32> = slots.into_streams().map(|s| *s).collect();
        assert_eq!(taken, [101, 120, 103, 104]);
    }

    #[test]
    fn the_sources_taken_out_have_their_nodes_retired() {
        let chunk = Chunk::new(&Shared::new(), 0);
        let (slots, _) = slots(2, &chunk);
        let wakers: Vec<Waker> = slots
            .slots
            .iter()
            .map(|slot| match slot {
                Slot::Occupied { node, .. } => Waker::from(Arc::clone(node)),
                Slot::Vacant { .. } => unreachable!("two sources held"),
            })
            .collect();
        let mut taken = slots.into_streams();
        assert_eq!(taken.next().map(|s| *s), Some(0));
        wakers[0].wake_by_ref();
        assert!(!chunk.is_woken(1), "the source taken out wakes nobody");
        wakers[1].wake_by_ref();
        assert!(chunk.is_woken(2), "the one still in wakes its slot");
    }
}
