//! A [`Gather`] as a container of sources: room made ahead, a source looked
//! up by its id, every source in turn, all of them dropped at once or taken
//! out.
//!
//! None of this polls a source or touches the wake path: a lookup is O(1),
//! going over the sources or clearing them O(slots).

use alloc::boxed::Box;
use alloc::vec;
use core::fmt;
use core::iter::FusedIterator;
use core::pin::Pin;
use core::slice;

use super::id::SourceId;
use super::occupied::Occupied;
use super::ready::CHUNK;
use super::slots::{Slot, Slots};
use super::Gather;

impl<S> Gather<S> {
    /// An empty `Gather` with room for `sources` sources before it
    /// allocates again for their slots.
    ///
    /// # Panics
    ///
    /// If the room asked for exceeds `isize::MAX` bytes, as with
    /// `Vec::with_capacity`.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    ///
    /// let mut gather = Gather::with_capacity(2);
    /// gather.push(futures::stream::iter([1]));
    /// gather.push(futures::stream::iter([2]));
    /// assert_eq!(gather.len(), 2);
    /// ```
    pub fn with_capacity(sources: usize) -> Self {
        let mut gather = Gather::new();
        gather.slots.reserve(sources);
        gather
            .chunks
            .reserve(sources.saturating_add(CHUNK - 1) / CHUNK);
        gather
    }

    /// True if `id` names a source the `Gather` holds now; false once that
    /// source has ended or was removed, also when a later source took its
    /// slot.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    ///
    /// let mut gather = Gather::new();
    /// let id = gather.push(futures::stream::pending::<u8>());
    /// assert!(gather.contains(id));
    /// gather.remove(id);
    /// assert!(!gather.contains(id));
    /// ```
    pub fn contains(&self, id: SourceId) -> bool {
        self.slots.contains(id)
    }

    /// The source with this id, or `None` if the id is stale (the source
    /// ended or was removed) or unknown.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    /// use futures::stream::{self, Stream};
    ///
    /// let mut gather = Gather::new();
    /// let id = gather.push(stream::iter([1, 2, 3]));
    /// assert_eq!(gather.get(id).map(|source| source.size_hint()), Some((3, Some(3))));
    /// ```
    pub fn get(&self, id: SourceId) -> Option<Pin<&S>> {
        self.slots.get(id)
    }

    /// The source with this id, pinned, or `None` if the id is stale (the
    /// source ended or was removed) or unknown.
    ///
    /// # Polling a source yourself
    ///
    /// The source stays where it is and is polled by the `Gather` as before;
    /// what you do to it through this reference is between you and the
    /// source. `Pin` lets you poll it, and then:
    ///
    /// - the items it yields are yours: they never come out of the `Gather`;
    /// - if it returns `Pending`, it keeps the waker you polled it with, so
    ///   its wakes go to your task, not to the `Gather`, which polls it again
    ///   only for a wake it had before, or for the rest of a turn: until
    ///   then, the source waits on you;
    /// - if it ends, [`remove`](Self::remove) it: the `Gather` polls its
    ///   sources until they end, and would poll it after its end.
    ///
    /// A source replaced in place (with [`Pin::set`]) keeps the id, and the
    /// new one is polled when the slot is next woken; to have it polled at
    /// once, `remove` the old one and [`push`](Self::push) the new one.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    /// use futures::stream::{self, StreamExt};
    ///
    /// # smol::block_on(async {
    /// let mut gather = Gather::new();
    /// let id = gather.push(stream::iter([1, 2, 3]));
    /// // The first item is taken here, not by the `Gather`.
    /// assert_eq!(gather.get_mut(id).unwrap().next().await, Some(1));
    /// assert_eq!(gather.collect::<Vec<_>>().await, [2, 3]);
    /// # });
    /// ```
    pub fn get_mut(&mut self, id: SourceId) -> Option<Pin<&mut S>> {
        self.slots.get_mut(id)
    }

    /// An iterator over the sources with their ids, in slot order.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    /// use futures::stream::{self, Stream};
    ///
    /// let mut gather = Gather::new();
    /// let a = gather.push(stream::iter(vec![1]));
    /// let b = gather.push(stream::iter(vec![2, 3]));
    /// let hints: Vec<_> = gather.iter().map(|(id, source)| (id, source.size_hint().0)).collect();
    /// assert_eq!(hints, [(a, 1), (b, 2)]);
    /// ```
    pub fn iter(&self) -> Sources<'_, S> {
        Sources {
            sources: self.slots.iter(),
        }
    }

    /// An iterator over the sources with their ids, pinned, in slot order.
    /// What polling them yourself means is said at
    /// [`get_mut`](Self::get_mut).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    /// use futures::stream::{self, StreamExt};
    ///
    /// # smol::block_on(async {
    /// let mut gather = Gather::new();
    /// gather.push(stream::iter([1, 2]));
    /// gather.push(stream::iter([3, 4]));
    /// // Take the first item of each source here.
    /// let mut first = Vec::new();
    /// for (_, mut source) in gather.iter_mut() {
    ///     first.extend(source.next().await);
    /// }
    /// assert_eq!(first, [1, 3]);
    /// assert_eq!(gather.count().await, 2);
    /// # });
    /// ```
    pub fn iter_mut(&mut self) -> SourcesMut<'_, S> {
        SourcesMut {
            sources: self.slots.iter_mut(),
        }
    }

    /// Drops every source now, from the last slot to the first, each
    /// released at once as by [`remove`](Self::remove); the `Gather` is then
    /// empty, keeps its capacity, and takes new sources. The ids of the
    /// sources dropped turn stale, and their wakes are handled as after
    /// `remove`: they never reach a source pushed later, whatever slot it
    /// takes (see [Wakers](Gather#wakers)).
    ///
    /// # Panics
    ///
    /// If dropping a source panics, the panic goes on to the caller; that
    /// source is gone, and the sources in the slots before it stay.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    /// use futures::stream::{self, StreamExt};
    ///
    /// # smol::block_on(async {
    /// let mut gather = Gather::new();
    /// let old = gather.push(stream::iter(vec![1, 2]));
    /// gather.clear();
    /// assert!(gather.is_empty() && !gather.contains(old));
    /// gather.push(stream::iter(vec![3]));
    /// assert_eq!(gather.collect::<Vec<_>>().await, [3]);
    /// # });
    /// ```
    pub fn clear(&mut self) {
        self.take_changes();
        for index in (0..self.slots.end()).rev() {
            if let Some(id) = self.slots.id_at(index) {
                drop(self.leave(id));
            }
        }
    }

    /// Takes every source out, in slot order, leaving nothing behind; the
    /// caller decides when each is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let gather = confluo::gather([futures::stream::iter([1]), futures::stream::iter([2])]);
    /// assert_eq!(gather.into_sources().len(), 2);
    /// ```
    pub fn into_sources(mut self) -> IntoSources<S> {
        self.take_changes();
        IntoSources {
            sources: core::mem::replace(&mut self.slots, Slots::new()).into_streams(),
        }
    }
}

/// Iterator for the [`Gather::iter`] method: each source with its id, in
/// slot order.
///
/// # Examples
///
/// ```
/// use confluo::Sources;
///
/// let gather = confluo::gather([futures::stream::iter([1])]);
/// let sources: Sources<'_, _> = gather.iter();
/// assert_eq!(sources.len(), 1);
/// ```
#[must_use = "iterators do nothing unless iterated"]
pub struct Sources<'a, S> {
    sources: Occupied<slice::Iter<'a, Slot<S>>>,
}

/// Iterator for the [`Gather::iter_mut`] method: each source with its id,
/// pinned, in slot order.
///
/// # Examples
///
/// ```
/// use confluo::SourcesMut;
///
/// let mut gather = confluo::gather([futures::stream::iter([1])]);
/// let sources: SourcesMut<'_, _> = gather.iter_mut();
/// assert_eq!(sources.len(), 1);
/// ```
#[must_use = "iterators do nothing unless iterated"]
pub struct SourcesMut<'a, S> {
    sources: Occupied<slice::IterMut<'a, Slot<S>>>,
}

/// Iterator for the [`Gather::into_sources`] method: each source, boxed
/// and pinned, in slot order. Their wakers are no longer the `Gather`'s:
/// to drive a source taken out, poll it with a waker of yours.
///
/// # Examples
///
/// ```
/// use confluo::IntoSources;
///
/// let gather = confluo::gather([futures::stream::iter([1])]);
/// let sources: IntoSources<_> = gather.into_sources();
/// assert_eq!(sources.len(), 1);
/// ```
#[must_use = "iterators do nothing unless iterated"]
pub struct IntoSources<S> {
    sources: Occupied<vec::IntoIter<Slot<S>>>,
}

/// The iterator traits of one of the types above, passed on to the
/// iterator over slots it wraps (`sources`), which yields `$out`.
macro_rules! sources_iterator {
    ($name:ident<$($lifetime:lifetime,)? $s:ident>, $out:ty) => {
        impl<$($lifetime,)? $s> Iterator for $name<$($lifetime,)? $s> {
            type Item = $out;

            fn next(&mut self) -> Option<$out> {
                self.sources.next()
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                self.sources.size_hint()
            }
        }

        impl<$($lifetime,)? $s> ExactSizeIterator for $name<$($lifetime,)? $s> {}

        impl<$($lifetime,)? $s> FusedIterator for $name<$($lifetime,)? $s> {}

        /// Shows how many sources are left, not the sources.
        impl<$($lifetime,)? $s> fmt::Debug for $name<$($lifetime,)? $s> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("len", &self.len())
                    .finish_non_exhaustive()
            }
        }
    };
}

sources_iterator!(Sources<'a, S>, (SourceId, Pin<&'a S>));
sources_iterator!(SourcesMut<'a, S>, (SourceId, Pin<&'a mut S>));
sources_iterator!(IntoSources<S>, Pin<Box<S>>);

impl<S> Clone for Sources<'_, S> {
    fn clone(&self) -> Self {
        Sources {
            sources: self.sources.clone(),
        }
    }
}

/// The sources taken out, as [`into_sources`](Gather::into_sources) does.
impl<S> IntoIterator for Gather<S> {
    type Item = Pin<Box<S>>;
    type IntoIter = IntoSources<S>;

    fn into_iter(self) -> IntoSources<S> {
        self.into_sources()
    }
}

/// The sources with their ids, as [`iter`](Gather::iter) gives them.
impl<'a, S> IntoIterator for &'a Gather<S> {
    type Item = (SourceId, Pin<&'a S>);
    type IntoIter = Sources<'a, S>;

    fn into_iter(self) -> Sources<'a, S> {
        self.iter()
    }
}

/// The sources with their ids, pinned, as [`iter_mut`](Gather::iter_mut)
/// gives them.
impl<'a, S> IntoIterator for &'a mut Gather<S> {
    type Item = (SourceId, Pin<&'a mut S>);
    type IntoIter = SourcesMut<'a, S>;

    fn into_iter(self) -> SourcesMut<'a, S> {
        self.iter_mut()
    }
}
