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
use alloc::vec::Vec;
use core::pin::Pin;

use super::id::SourceId;
use super::ready::{Node, GENERATION};
use crate::sync::Arc;

/// End of the free list.
const NONE: u32 = u32::MAX;

/// A slot holds a source and its waker node (two pointers), or, once free,
/// the generation its next source gets and the next free slot.
enum Slot<S> {
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
}

impl<S> Slots<S> {
    pub(super) fn new() -> Self {
        Slots {
            slots: Vec::new(),
            free: NONE,
            len: 0,
            quarantine: Vec::new(),
        }
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
        if let Slot::Vacant { next_free, .. } = &mut self.slots[index as usize] {
            *next_free = self.free;
            self.free = index;
        }
    }

    /// Every source held, in slot order.
    pub(super) fn streams(&self) -> impl Iterator<Item = &Pin<Box<S>>> {
        self.slots.iter().filter_map(|slot| match slot {
            Slot::Occupied { stream, .. } => Some(stream),
            Slot::Vacant { .. } => None,
        })
    }

    /// Takes every source out, in slot order, retiring their nodes.
    pub(super) fn into_streams(self) -> impl Iterator<Item = Pin<Box<S>>> {
        self.slots.into_iter().filter_map(|slot| match slot {
            Slot::Occupied { stream, node } => {
                node.retire();
                Some(stream)
            }
            Slot::Vacant { .. } => None,
        })
    }
}

#[cfg(all(test, target_pointer_width = "64", not(confluo_loom)))]
mod tests {
    use super::*;

    /// What `Gather` keeps per source: BENCHMARKS.md counts on these sizes.
    #[test]
    fn a_slot_is_two_pointers_and_a_node_sixteen_bytes() {
        assert_eq!(
            core::mem::size_of::<Slot<futures_core::stream::BoxStream<'_, u8>>>(),
            16
        );
        assert_eq!(core::mem::size_of::<Slot<[u64; 8]>>(), 16);
        assert_eq!(core::mem::size_of::<Node>(), 16);
    }
}
