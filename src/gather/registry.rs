//! What a [`Gather`](super::Gather) shares with its handles: the ids they
//! hand out, the changes they queue, and how many of them are left. All of
//! it crosses threads; none of it touches a source.
//!
//! # Ids handed out from any thread
//!
//! A handle returns a source's id at once, before the `Gather` has seen the
//! source, so ids come from here rather than from the `Gather`'s own free
//! list: [`Ids`] keeps the free slots (each with the generation its next
//! source gets) in a lock-free queue, and a counter of slots never used.
//! Once a `Gather` has handles, it takes its own ids from here too, and
//! gives every slot it frees back here. A slot whose id is out but whose
//! source has not arrived yet is neither free nor held: the `Gather` sees it
//! vacant until the source comes.
//!
//! # Changes in order
//!
//! Pushes and removals go through one first-in first-out queue. An id is
//! known only once its push is queued, so a removal of it, from any thread,
//! is queued after the push: the `Gather` always meets a source's push
//! before its removal. A removal of an id that is stale by then (its source
//! ended, or its slot serves a later source) removes nothing: the
//! generation tells them apart.
//!
//! # Wakes
//!
//! A change is queued, then (after a `SeqCst` fence) the `Gather`'s task is
//! woken if it is parked (`ready.rs`); the `Gather` stores its waker and
//! parks, then (after a `SeqCst` fence, which only a `Gather` with handles
//! pays) looks at the queue once more before it returns `Pending`. Of two
//! such fences, the later one sees the other side's write, so no change
//! waits for an unrelated wake. The last handle to go wakes the task the
//! same way, so an empty `Gather` learns it has ended.
//!
//! # The end
//!
//! When the `Gather` is dropped, the queue is closed and what it holds is
//! dropped at once: a source queued just before is released, not leaked, and
//! a push just after gets its source back.

use concurrent_queue::ConcurrentQueue;

use super::id::SourceId;
use super::ready::Shared;
use crate::sync::atomic::{fence, AtomicU32, AtomicUsize, Ordering};
use crate::sync::Arc;

/// The most slots a `Gather` makes: slot `u32::MAX` stands for "none".
const SLOTS: u32 = u32::MAX;

/// Ids for new sources, taken from any thread.
#[derive(Debug)]
pub(super) struct Ids {
    /// Slots freed, each as the id its next source gets.
    free: ConcurrentQueue<SourceId>,
    /// The first slot never handed out.
    fresh: AtomicU32,
}

impl Ids {
    /// Ids that start with slot `fresh`; slots below it are held or free.
    pub(super) fn new(fresh: u32) -> Self {
        Ids {
            free: ConcurrentQueue::unbounded(),
            fresh: AtomicU32::new(fresh),
        }
    }

    /// An id for a new source: a free slot's, or a new slot's.
    ///
    /// # Panics
    ///
    /// If `u32::MAX - 1` slots are made already.
    pub(super) fn take(&self) -> SourceId {
        if let Ok(id) = self.free.pop() {
            return id;
        }
        let index = self
            .fresh
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |index| {
                (index < SLOTS).then(|| index + 1)
            })
            .expect("a Gather holds at most u32::MAX - 1 sources");
        SourceId::new(index, 0)
    }

    /// The slot of `id` is free, and `id` goes to its next source.
    pub(super) fn give_back(&self, id: SourceId) {
        // Never closed, and unbounded: the push cannot fail.
        let _ = self.free.push(id);
    }
}

/// A change queued through a handle.
pub(super) enum Change<S> {
    Push(SourceId, S),
    Remove(SourceId),
}

/// What a `Gather` shares with its handles.
pub(super) struct Registry<S> {
    changes: ConcurrentQueue<Change<S>>,
    ids: Arc<Ids>,
    handles: AtomicUsize,
    /// The `Gather`'s wake state: the task to wake for a change.
    shared: Arc<Shared>,
}

impl<S> Registry<S> {
    /// A registry with no handle yet, taking ids from `ids` and waking the
    /// task stored in `shared`.
    pub(super) fn new(ids: Arc<Ids>, shared: Arc<Shared>) -> Self {
        Registry {
            changes: ConcurrentQueue::unbounded(),
            ids,
            handles: AtomicUsize::new(0),
            shared,
        }
    }

    /// Queues a push of `stream` and returns its id; gives the stream back
    /// if the `Gather` is gone.
    pub(super) fn push(&self, stream: S) -> Result<SourceId, S> {
        if self.changes.is_closed() {
            return Err(stream);
        }
        let id = self.ids.take();
        match self.changes.push(Change::Push(id, stream)) {
            Ok(()) => {
                self.wake_gather();
                Ok(id)
            }
            Err(refused) => match refused.into_inner() {
                Change::Push(_, stream) => Err(stream),
                Change::Remove(_) => unreachable!("a push was refused"),
            },
        }
    }

    /// Queues the removal of `id`; false if the `Gather` is gone.
    pub(super) fn remove(&self, id: SourceId) -> bool {
        let queued = self.changes.push(Change::Remove(id)).is_ok();
        if queued {
            self.wake_gather();
        }
        queued
    }

    /// True while a change waits for the `Gather`.
    #[inline(always)]
    pub(super) fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Changes queued now: what one poll takes, so pushes that keep coming
    /// from other threads cannot hold it.
    pub(super) fn queued(&self) -> usize {
        self.changes.len()
    }

    /// The change queued first, if any.
    pub(super) fn next_change(&self) -> Option<Change<S>> {
        self.changes.pop().ok()
    }

    /// True while a handle is left: an empty `Gather` waits for sources.
    pub(super) fn has_handles(&self) -> bool {
        self.handles.load(Ordering::SeqCst) > 0
    }

    /// One more handle.
    pub(super) fn add_handle(&self) {
        self.handles.fetch_add(1, Ordering::Relaxed);
    }

    /// One handle less; the last one wakes the `Gather`, which may be done.
    pub(super) fn drop_handle(&self) {
        if self.handles.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.wake_gather();
        }
    }

    /// The `Gather` is dropped: later changes are refused, and the sources
    /// queued are dropped now.
    pub(super) fn close(&self) {
        self.changes.close();
        while self.changes.pop().is_ok() {}
    }

    pub(super) fn wake_gather(&self) {
        fence(Ordering::SeqCst);
        self.shared.wake_task();
    }
}

#[cfg(all(test, not(confluo_loom)))]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn registry() -> Registry<&'static str> {
        Registry::new(Arc::new(Ids::new(2)), Shared::new())
    }

    #[test]
    fn ids_come_from_free_slots_first_then_new_ones() {
        let ids = Ids::new(2);
        assert_eq!(ids.take(), SourceId::new(2, 0));
        ids.give_back(SourceId::new(0, 5));
        assert_eq!(ids.take(), SourceId::new(0, 5));
        assert_eq!(ids.take(), SourceId::new(3, 0));
    }

    #[test]
    #[should_panic(expected = "at most u32::MAX - 1 sources")]
    fn ids_run_out_with_a_clear_panic() {
        let ids = Ids::new(SLOTS - 1);
        assert_eq!(ids.take().slot(), SLOTS - 1);
        ids.take();
    }

    #[test]
    fn changes_come_in_the_order_they_were_queued() {
        let registry = registry();
        let id = registry.push("a").unwrap();
        assert!(registry.remove(id));
        let other = registry.push("b").unwrap();
        assert_ne!(id, other);
        assert_eq!(registry.queued(), 3);
        let seen: Vec<_> = core::iter::from_fn(|| registry.next_change())
            .map(|change| match change {
                Change::Push(id, name) => (id, Some(name)),
                Change::Remove(id) => (id, None),
            })
            .collect();
        assert_eq!(seen, [(id, Some("a")), (id, None), (other, Some("b"))]);
        assert!(!registry.has_changes());
    }

    #[test]
    fn a_closed_registry_drops_what_it_held_and_gives_pushes_back() {
        let registry = registry();
        registry.push("queued").unwrap();
        registry.close();
        assert!(!registry.has_changes());
        assert_eq!(registry.push("late"), Err("late"));
        assert!(!registry.remove(SourceId::new(0, 0)));
    }

    #[test]
    fn handles_are_counted() {
        let registry = registry();
        assert!(!registry.has_handles());
        registry.add_handle();
        registry.add_handle();
        registry.drop_handle();
        assert!(registry.has_handles());
        registry.drop_handle();
        assert!(!registry.has_handles());
    }
}
