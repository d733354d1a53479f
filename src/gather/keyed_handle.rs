//! [`KeyedHandle`]: inserting and removing sources of a [`KeyedGather`] by
//! key from other tasks and threads, and the `KeyedGather`'s side of it.
//!
//! # Why a queue of its own
//!
//! A keyed change names a key, and only the `KeyedGather` knows which
//! source a key names, so keyed changes wait in a queue of their own, which
//! the `KeyedGather` takes in before it polls its `Gather`.
//!
//! # Wakes and the end
//!
//! Every keyed handle holds a [`GatherHandle`] to that `Gather`, which gives
//! the rest: a keyed handle queues its change, then wakes the `Gather`'s
//! task through it; while one is left, the `Gather` waits when empty; the
//! last one to go lets it end. Before the `Gather` returns `Pending` it
//! parks and fences, and only after that does the `KeyedGather`
//! look at its queue once more (the handshake of `registry.rs`), so no
//! change waits for an unrelated wake. A keyed handle queues its changes
//! before its `GatherHandle` goes, so when the `Gather` ends, every change
//! its handles made is in the queue already, and is taken in first.

use core::fmt;
use core::hash::{BuildHasher, Hash};

use concurrent_queue::ConcurrentQueue;

use super::handle::{GatherHandle, PushError};
use super::KeyedGather;
use crate::sync::Arc;

/// A change queued through a [`KeyedHandle`].
pub(super) enum KeyedChange<K, S> {
    Insert(K, S),
    Remove(K),
}

type Changes<K, S> = Arc<ConcurrentQueue<KeyedChange<K, S>>>;

/// The keyed changes queued for a `KeyedGather`, once it has a handle.
/// Closed when the `KeyedGather` goes, and what it holds is dropped then.
pub(super) struct Inbox<K, S>(Option<Changes<K, S>>);

impl<K, S> Inbox<K, S> {
    pub(super) fn new() -> Self {
        Inbox(None)
    }

    /// Drops the changes queued: what [`KeyedGather::clear`] does to them.
    pub(super) fn drop_changes(&self) {
        if let Some(changes) = &self.0 {
            for _ in 0..changes.len() {
                drop(changes.pop());
            }
        }
    }

    /// True while a change waits.
    #[inline(always)]
    pub(super) fn has_changes(&self) -> bool {
        self.0.as_ref().is_some_and(|changes| !changes.is_empty())
    }
}

impl<K, S> Drop for Inbox<K, S> {
    fn drop(&mut self) {
        if let Some(changes) = &self.0 {
            changes.close();
            self.drop_changes();
        }
    }
}

/// A handle that inserts sources into a [`KeyedGather`] by key, and
/// removes them by key, from any task or thread, while the `KeyedGather`
/// is polled elsewhere.
///
/// Made by [`KeyedGather::handle`]; cloned freely. The `KeyedGather`
/// takes the changes in, in the order they were queued, on its next poll
/// (its task is woken for them) or at its next `&mut` call that
/// [`insert`](KeyedGather::insert)s, [`remove`](KeyedGather::remove)s,
/// [`get_mut`](KeyedGather::get_mut)s or [`clear`](KeyedGather::clear)s.
/// It follows the channel rule of [`GatherHandle`]: while a handle is
/// left, an empty `KeyedGather` waits for sources; once every handle is
/// gone and no source is left, it ends.
///
/// An insert under a key that is taken replaces the source, as
/// [`KeyedGather::insert`] does; the old source is dropped, since there is
/// no caller to hand it back to. A removal of a key that names no source
/// removes nothing.
///
/// # Examples
///
/// ```
/// use confluo::KeyedGather;
/// use futures::StreamExt;
///
/// # smol::block_on(async {
/// let mut sensors = KeyedGather::new();
/// let handle = sensors.handle();
/// let registry = std::thread::spawn(move || {
///     handle.insert("boiler", futures::stream::iter(vec![71, 72])).unwrap();
///     handle.insert("intake", futures::stream::iter(vec![12])).unwrap();
///     // The last handle goes: the `KeyedGather` ends once its sources have.
/// });
/// let mut readings: Vec<(&str, i32)> = sensors.collect().await;
/// registry.join().unwrap();
/// readings.sort();
/// assert_eq!(readings, [("boiler", 71), ("boiler", 72), ("intake", 12)]);
/// # });
/// ```
pub struct KeyedHandle<K, S> {
    changes: Changes<K, S>,
    gather: GatherHandle<S>,
}

impl<K, S, H> KeyedGather<K, S, H> {
    /// A new handle to this `KeyedGather`: see [`KeyedHandle`]. From now
    /// on, while a handle is left, the `KeyedGather` does not end when it
    /// is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::KeyedGather;
    /// use futures::StreamExt;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let mut sensors = KeyedGather::<u32, futures::stream::Iter<std::vec::IntoIter<u8>>>::new();
    /// let handle = sensors.handle();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// // Empty, but a handle may insert a source: it waits.
    /// assert_eq!(sensors.poll_next_unpin(&mut cx), Poll::Pending);
    /// handle.insert(7, futures::stream::iter(vec![1])).unwrap();
    /// drop(handle);
    /// assert_eq!(sensors.poll_next_unpin(&mut cx), Poll::Ready(Some((7, 1))));
    /// assert_eq!(sensors.poll_next_unpin(&mut cx), Poll::Ready(None));
    /// ```
    pub fn handle(&mut self) -> KeyedHandle<K, S> {
        let changes = self
            .inbox
            .0
            .get_or_insert_with(|| Arc::new(ConcurrentQueue::unbounded()));
        KeyedHandle {
            changes: Arc::clone(changes),
            gather: self.gather.handle(),
        }
    }
}

impl<K: Hash + Eq, S, H: BuildHasher> KeyedGather<K, S, H> {
    /// Takes in the changes queued through handles.
    #[inline(always)]
    pub(super) fn take_changes(&mut self) {
        if self.inbox.has_changes() {
            self.apply_changes();
        }
    }

    /// Applies the changes queued when it starts (changes that keep coming
    /// from other threads wait for the next call), in their order.
    #[cold]
    #[inline(never)]
    fn apply_changes(&mut self) {
        let Some(changes) = self.inbox.0.clone() else {
            return;
        };
        for _ in 0..changes.len() {
            match changes.pop() {
                Ok(KeyedChange::Insert(key, source)) => drop(self.insert_taken(key, source)),
                Ok(KeyedChange::Remove(key)) => drop(self.remove_taken(&key)),
                Err(_) => break,
            }
        }
    }
}

impl<K, S> KeyedHandle<K, S> {
    /// Queues `source` under `key` for the `KeyedGather`, which polls it
    /// from its next poll on; its task is woken. A source under `key`
    /// already is replaced and dropped, then.
    ///
    /// # Errors
    ///
    /// If the `KeyedGather` was dropped, the source comes back in the
    /// error, untouched (and the key is dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::KeyedGather;
    /// use futures::StreamExt;
    ///
    /// # smol::block_on(async {
    /// let mut sensors = KeyedGather::new();
    /// let handle = sensors.handle();
    /// handle.insert("boiler", futures::stream::iter([71])).unwrap();
    /// assert_eq!(sensors.next().await, Some(("boiler", 71)));
    ///
    /// drop(sensors);
    /// let refused = handle.insert("intake", futures::stream::iter([12])).unwrap_err();
    /// assert_eq!(refused.to_string(), "pushing into a dropped Gather");
    /// # });
    /// ```
    pub fn insert(&self, key: K, source: S) -> Result<(), PushError<S>> {
        match self.changes.push(KeyedChange::Insert(key, source)) {
            Ok(()) => {
                self.gather.wake();
                Ok(())
            }
            Err(refused) => match refused.into_inner() {
                KeyedChange::Insert(_, source) => Err(PushError(source)),
                KeyedChange::Remove(_) => unreachable!("an insert was refused"),
            },
        }
    }

    /// Queues the removal of the source under `key`; the `KeyedGather`
    /// drops it when it takes the change in. A source removed this way ends
    /// with no [`Ended`](crate::Event::Ended) event. Returns false if the
    /// `KeyedGather` was dropped (and its sources with it).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut sensors = confluo::KeyedGather::new();
    /// let handle = sensors.handle();
    /// handle.insert(7, futures::stream::pending::<u8>()).unwrap();
    /// assert!(handle.remove(7));
    /// assert!(handle.remove(8)); // queued; it will remove nothing
    /// // Taken in (with the insert before them) by the next poll, or here:
    /// assert!(sensors.remove(&7).is_none());
    /// assert!(sensors.is_empty());
    /// ```
    pub fn remove(&self, key: K) -> bool {
        let queued = self.changes.push(KeyedChange::Remove(key)).is_ok();
        if queued {
            self.gather.wake();
        }
        queued
    }
}

impl<K, S> Clone for KeyedHandle<K, S> {
    fn clone(&self) -> Self {
        KeyedHandle {
            changes: Arc::clone(&self.changes),
            gather: self.gather.clone(),
        }
    }
}

impl<K, S> fmt::Debug for KeyedHandle<K, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedHandle").finish_non_exhaustive()
    }
}
