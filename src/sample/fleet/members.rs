//! The sources of a [`Fleet`](super::Fleet): a slab of compact records,
//! each found by its [`MemberId`] in O(1).
//!
//! A record changes its *epoch* each time its source changes state, and
//! every alarm in the wheel and every entry in the line of waiting sources
//! names the epoch it was made in: one that no longer matches is stale and
//! is passed over. That is how a removed source, a read that finished
//! before its deadline or a slot already handled is forgotten without
//! searching the wheel.

use alloc::vec::Vec;
use core::fmt;

use super::super::backoff::Attempts;
use super::super::grid::Place;
use crate::SourceId;

/// The id of a source in a [`Fleet`](super::Fleet), given by
/// [`Fleet::insert`](super::Fleet::insert).
///
/// An id stays with its source: once the source is removed, the id is
/// stale, and a source inserted later never takes it.
///
/// # Examples
///
/// ```
/// use confluo::sample::{Fleet, Period, Schedule};
/// use confluo::time::ManualClock;
/// use std::time::Duration;
///
/// let mut fleet = Fleet::new(
///     Schedule::every(Period::new(Duration::from_secs(1)).unwrap()),
///     ManualClock::new(),
///     |_: &u32| async { Ok::<(), ()>(()) },
///     |_: &u32, ()| async { (Some(()), Ok::<u8, ()>(1)) },
/// );
/// let a = fleet.insert(7);
/// assert_eq!(fleet.remove(a), Some(7));
/// let b = fleet.insert(7);
/// assert_ne!(a, b);
/// assert!(!fleet.contains(a));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberId {
    index: u32,
    generation: u32,
}

impl fmt::Debug for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemberId({}v{})", self.index, self.generation)
    }
}

/// What a source is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    /// Its next slot has an alarm in the wheel.
    Scheduled,
    /// Its slot fired; it waits in line for a place among the reads in
    /// flight.
    Waiting,
    /// Its sample is in flight, with an alarm at its deadline.
    Flying(SourceId),
}

/// One source.
#[derive(Debug)]
pub(super) struct Member<K, Conn> {
    pub(super) key: K,
    pub(super) place: Place,
    pub(super) attempts: Attempts,
    /// Held between reads; moved into the read in flight.
    pub(super) conn: Option<Conn>,
    pub(super) state: State,
}

#[derive(Debug)]
struct Slot<K, Conn> {
    generation: u32,
    epoch: u32,
    member: Option<Member<K, Conn>>,
}

/// A record's index and the epoch an alarm or a waiting entry was made in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Mark {
    pub(super) index: u32,
    pub(super) epoch: u32,
}

/// The slab.
#[derive(Debug)]
pub(super) struct Members<K, Conn> {
    slots: Vec<Slot<K, Conn>>,
    free: Vec<u32>,
    len: usize,
}

impl<K, Conn> Members<K, Conn> {
    pub(super) fn new() -> Self {
        Members {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn reserve(&mut self, additional: usize) {
        self.slots
            .reserve(additional.saturating_sub(self.free.len()));
    }

    /// Adds a member; its mark is that of its first state.
    ///
    /// # Panics
    ///
    /// With more than `u32::MAX` members at once.
    pub(super) fn insert(&mut self, member: Member<K, Conn>) -> (MemberId, Mark) {
        self.len += 1;
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index = u32::try_from(self.slots.len()).expect("at most u32::MAX members");
                self.slots.push(Slot {
                    generation: 0,
                    epoch: 0,
                    member: None,
                });
                index
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.member = Some(member);
        slot.epoch = slot.epoch.wrapping_add(1);
        let id = MemberId {
            index,
            generation: slot.generation,
        };
        let mark = Mark {
            index,
            epoch: slot.epoch,
        };
        (id, mark)
    }

    /// Takes a member out; its id and every mark of it go stale.
    pub(super) fn remove(&mut self, id: MemberId) -> Option<Member<K, Conn>> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let member = slot.member.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        slot.epoch = slot.epoch.wrapping_add(1);
        self.free.push(id.index);
        self.len -= 1;
        Some(member)
    }

    pub(super) fn get(&self, id: MemberId) -> Option<&Member<K, Conn>> {
        let slot = self.slots.get(id.index as usize)?;
        (slot.generation == id.generation)
            .then_some(slot.member.as_ref())
            .flatten()
    }

    /// The member a mark was made for, if the mark is still current.
    pub(super) fn marked(&mut self, mark: Mark) -> Option<&mut Member<K, Conn>> {
        let slot = self.slots.get_mut(mark.index as usize)?;
        (slot.epoch == mark.epoch)
            .then_some(slot.member.as_mut())
            .flatten()
    }

    /// Reads the record at `index` (its epoch, or 0 past the last) only to
    /// bring it into the cache ahead of its use.
    pub(super) fn touch(&self, index: u32) -> u32 {
        self.slots.get(index as usize).map_or(0, |slot| slot.epoch)
    }

    /// Moves the member at `index` to `state`, in a new epoch: every
    /// earlier mark of it goes stale. Returns the new mark.
    pub(super) fn enter(&mut self, index: u32, state: State) -> Mark {
        let slot = &mut self.slots[index as usize];
        slot.epoch = slot.epoch.wrapping_add(1);
        if let Some(member) = &mut slot.member {
            member.state = state;
        }
        Mark {
            index,
            epoch: slot.epoch,
        }
    }

    /// The member at `index`, whatever its epoch.
    pub(super) fn at(&mut self, index: u32) -> Option<&mut Member<K, Conn>> {
        self.slots.get_mut(index as usize)?.member.as_mut()
    }

    /// Every member's id and key.
    pub(super) fn iter(&self) -> impl Iterator<Item = (MemberId, &K)> + '_ {
        self.slots.iter().enumerate().filter_map(|(index, slot)| {
            let id = MemberId {
                index: index as u32,
                generation: slot.generation,
            };
            slot.member.as_ref().map(|member| (id, &member.key))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a source costs in the table, as the docs say: a few words.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_record_is_a_few_words() {
        assert!(core::mem::size_of::<Slot<u32, ()>>() <= 72);
    }
}
