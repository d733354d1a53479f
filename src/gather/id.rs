//! The names a [`Gather`] gives its sources, and what it reports of them.

use core::fmt;

#[cfg(doc)]
use super::Gather;

/// Identifies one source inside a [`Gather`].
///
/// Ids are unique among the sources a `Gather` holds at one time. An id stays
/// attached to its source: once the source has ended or was removed, its id is
/// *stale* and names nothing, even when a later source reuses its slot
/// (a generation counter tells them apart; it wraps after 2³¹ reuses of one
/// slot).
///
/// # Examples
///
/// ```
/// use confluo::Gather;
///
/// let mut gather = Gather::new();
/// let a = gather.push(futures::stream::iter([1, 2]));
/// let b = gather.push(futures::stream::iter([3, 4]));
/// assert_ne!(a, b);
/// assert!(gather.remove(a).is_some());
/// assert!(gather.remove(a).is_none()); // stale now
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId {
    index: u32,
    generation: u32,
}

impl SourceId {
    pub(super) fn new(index: u32, generation: u32) -> Self {
        SourceId { index, generation }
    }

    pub(super) fn generation(self) -> u32 {
        self.generation
    }

    pub(super) fn slot(self) -> u32 {
        self.index
    }

    /// The source's slot: unique among the sources a `Gather` holds at one
    /// time, and small (slots are reused), so it suits routing a source's
    /// records, as with [`Router::pump_by`](crate::Router::pump_by). A fresh
    /// `Gather` numbers its slots from zero in push order.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut gather = confluo::Gather::new();
    /// let first = gather.push(futures::stream::iter([1]));
    /// let second = gather.push(futures::stream::iter([2]));
    /// assert_eq!((first.index(), second.index()), (0, 1));
    /// ```
    pub fn index(self) -> usize {
        self.index as usize
    }
}

impl fmt::Debug for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceId({}v{})", self.index, self.generation)
    }
}

/// What [`Gather::poll_event`] reports: an item with the id of its source, or
/// the end of a source. A [`KeyedGather`](super::KeyedGather) reports the
/// same with the source's key in place of its id: `Event<T, K>`.
///
/// # Examples
///
/// ```
/// use confluo::{Event, Gather};
/// use futures::StreamExt;
///
/// # smol::block_on(async {
/// let mut gather = Gather::new();
/// let id = gather.push(futures::stream::iter(["reading"]));
/// let mut events = gather.events();
/// assert_eq!(events.next().await, Some(Event::Item(id, "reading")));
/// assert_eq!(events.next().await, Some(Event::Ended(id)));
/// assert_eq!(events.next().await, None);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<T, Id = SourceId> {
    /// The source with this id (or key) yielded an item.
    Item(Id, T),
    /// The source with this id (or key) ended (returned `None`) and was
    /// dropped.
    Ended(Id),
}
