//! [`GatherHandle`]: pushing and removing sources of a [`Gather`] from other
//! tasks and threads while it is polled, and the `Gather`'s side of it:
//! taking the changes in, and the channel rule for its end.
//!
//! What is shared, and why the changes keep their order, is in
//! `registry.rs`.

use core::fmt;

use super::id::SourceId;
use super::registry::{Change, Registry};
use super::Gather;
use crate::sync::Arc;

/// A handle that pushes sources into a [`Gather`], and removes them, from
/// any task or thread, while the `Gather` is polled elsewhere.
///
/// Made by [`Gather::handle`]; cloned freely. A push returns the source's
/// id at once; the `Gather` takes the change in on its next poll, and its
/// task is woken for it. Each push and removal costs O(1): an id taken from
/// a lock-free list, a change queued, a wake.
///
/// # The channel rule
///
/// While a handle is left, an empty `Gather` waits for sources: it returns
/// `Pending`, not `None`, and its task sleeps until a source is pushed or
/// the last handle is dropped. Once every handle is gone and no source is
/// left, it ends, as a channel ends when every sender is gone. A `Gather`
/// that never had a handle ends when it is empty, as before.
///
/// # Order
///
/// Changes are taken in the order they were queued, by the next poll of the
/// `Gather` that does not merely go on with a turn in progress: a source that
/// is yielding items in a row keeps its turn until it ends (at most
/// [`turn`](Gather::turn) items), so the per-item path of a busy source
/// looks at nothing else. Once a removal is taken in, the source is dropped
/// and never polled again. The `Gather`'s `&mut` methods that take sources
/// out ([`Gather::remove`], [`clear`](Gather::clear),
/// [`into_sources`](Gather::into_sources)) take the changes queued before
/// them first; [`len`](Gather::len), [`contains`](Gather::contains) and the
/// other `&self` methods see the sources taken in so far.
///
/// # Examples
///
/// ```
/// use confluo::Gather;
/// use futures::StreamExt;
///
/// # smol::block_on(async {
/// let mut gather = Gather::new();
/// let handle = gather.handle();
/// let registry = std::thread::spawn(move || {
///     for sensor in 0..3 {
///         handle.push(futures::stream::iter([sensor])).unwrap();
///     }
///     // The last handle goes: the `Gather` ends once its sources have.
/// });
/// let mut readings: Vec<i32> = gather.collect().await;
/// registry.join().unwrap();
/// readings.sort();
/// assert_eq!(readings, [0, 1, 2]);
/// # });
/// ```
pub struct GatherHandle<S> {
    registry: Arc<Registry<S>>,
}

impl<S> Gather<S> {
    /// A new handle to this `Gather`: see [`GatherHandle`]. From now on,
    /// while a handle is left, the `Gather` does not end when it is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    /// use futures::StreamExt;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let mut gather = Gather::<futures::stream::Iter<std::vec::IntoIter<u8>>>::new();
    /// let handle = gather.handle();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// // Empty, but a handle may push a source: it waits.
    /// assert_eq!(gather.poll_next_unpin(&mut cx), Poll::Pending);
    /// drop(handle);
    /// assert_eq!(gather.poll_next_unpin(&mut cx), Poll::Ready(None));
    /// ```
    pub fn handle(&mut self) -> GatherHandle<S> {
        let registry = match &self.registry {
            Some(registry) => Arc::clone(registry),
            None => {
                let ids = self.slots.share_ids();
                let registry = Arc::new(Registry::new(ids, Arc::clone(&self.shared)));
                self.registry = Some(Arc::clone(&registry));
                registry
            }
        };
        registry.add_handle();
        GatherHandle { registry }
    }

    /// Takes in the changes queued through handles.
    #[inline(always)]
    pub(super) fn take_changes(&mut self) {
        if let Some(registry) = &self.registry {
            if registry.has_changes() {
                self.apply_changes();
            }
        }
    }

    /// Applies the changes queued when it starts (pushes that keep coming
    /// from other threads wait for the next call), in their order.
    #[cold]
    #[inline(never)]
    fn apply_changes(&mut self) {
        let Some(registry) = self.registry.clone() else {
            return;
        };
        for _ in 0..registry.queued() {
            match registry.next_change() {
                Some(Change::Push(id, stream)) => self.push_at(id, stream),
                Some(Change::Remove(id)) => drop(self.remove_held(id)),
                None => break,
            }
        }
    }

    /// True while a handle may still push a source: an empty `Gather` then
    /// waits rather than ends.
    pub(super) fn may_grow(&self) -> bool {
        self.registry
            .as_ref()
            .is_some_and(|registry| registry.has_handles() || registry.has_changes())
    }

    /// Asked once the task's waker is stored, before returning `Pending`:
    /// true if a handle acted since the `Gather` last looked (a change
    /// queued, or the last handle gone while it is empty), so the task
    /// must poll again.
    pub(super) fn handles_acted(&self) -> bool {
        self.registry.as_ref().is_some_and(|registry| {
            registry.has_changes() || (self.is_empty() && !registry.has_handles())
        })
    }
}

impl<S> GatherHandle<S> {
    /// Queues `source` for the `Gather` and returns its id at once; the
    /// `Gather` polls it from its next poll on, and its task is woken.
    ///
    /// # Errors
    ///
    /// If the `Gather` was dropped, the source comes back in the error,
    /// untouched.
    ///
    /// # Panics
    ///
    /// If the `Gather` already made `u32::MAX - 1` slots.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    /// use futures::StreamExt;
    ///
    /// # smol::block_on(async {
    /// let mut gather = Gather::new();
    /// let handle = gather.handle();
    /// let id = handle.push(futures::stream::iter(["hello"])).unwrap();
    /// assert_eq!(gather.events().next().await, Some(confluo::Event::Item(id, "hello")));
    ///
    /// drop(gather);
    /// let refused = handle.push(futures::stream::iter(["late"])).unwrap_err();
    /// assert_eq!(refused.to_string(), "pushing into a dropped Gather");
    /// let _source_back = refused.into_inner();
    /// # });
    /// ```
    pub fn push(&self, source: S) -> Result<SourceId, PushError<S>> {
        self.registry.push(source).map_err(PushError)
    }

    /// Queues the removal of the source `id`; the `Gather` drops it when it
    /// takes the change in: on its next poll, or its next call of a `&mut`
    /// method that takes sources out. A source removed this way ends with
    /// no [`Ended`](crate::Event::Ended) event.
    ///
    /// A removal of a stale id (the source ended or was removed, even if a
    /// later source took its slot) removes nothing. Returns false if the
    /// `Gather` was dropped (and its sources with it).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    ///
    /// let mut gather = Gather::new();
    /// let handle = gather.handle();
    /// let id = handle.push(futures::stream::pending::<u8>()).unwrap();
    /// assert!(handle.remove(id));
    /// // Taken in (with the push before it) by the next poll, or here:
    /// assert!(gather.remove(id).is_none());
    /// assert!(gather.is_empty());
    /// ```
    pub fn remove(&self, id: SourceId) -> bool {
        self.registry.remove(id)
    }

    /// Wakes the `Gather`'s task, for a change queued elsewhere (a keyed
    /// handle's).
    pub(super) fn wake(&self) {
        self.registry.wake_gather();
    }
}

impl<S> Clone for GatherHandle<S> {
    fn clone(&self) -> Self {
        self.registry.add_handle();
        GatherHandle {
            registry: Arc::clone(&self.registry),
        }
    }
}

/// The last handle dropped lets an empty `Gather` end.
impl<S> Drop for GatherHandle<S> {
    fn drop(&mut self) {
        self.registry.drop_handle();
    }
}

impl<S> fmt::Debug for GatherHandle<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherHandle").finish_non_exhaustive()
    }
}

/// Why [`GatherHandle::push`] failed: the `Gather` was dropped. Holds the
/// source.
///
/// # Examples
///
/// ```
/// let mut gather = confluo::Gather::new();
/// let handle = gather.handle();
/// drop(gather);
/// let error = handle.push(futures::stream::iter([1])).unwrap_err();
/// assert_eq!(error.to_string(), "pushing into a dropped Gather");
/// assert_eq!(format!("{error:?}"), "PushError(..)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PushError<S>(pub S);

impl<S> PushError<S> {
    /// The source that was not pushed.
    ///
    /// # Examples
    ///
    /// ```
    /// let error = confluo::PushError("source");
    /// assert_eq!(error.into_inner(), "source");
    /// ```
    pub fn into_inner(self) -> S {
        self.0
    }
}

impl<S> fmt::Debug for PushError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PushError(..)")
    }
}

impl<S> fmt::Display for PushError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pushing into a dropped Gather")
    }
}

#[cfg(feature = "std")]
impl<S> std::error::Error for PushError<S> {}
