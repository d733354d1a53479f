//! The wake machinery behind [`Gather`](super::Gather): per-source wakers and
//! the shared queue of woken sources.
//!
//! A wake costs O(1): it sets the source's `woken` flag and, if the flag was
//! clear, pushes the source's slot index onto a lock-free queue and wakes the
//! task that polls the `Gather`. The `Gather` drains that queue, so a poll costs
//! O(sources woken), never O(sources).
//!
//! Lost wakes are ruled out by the same handshake as an `AtomicWaker`: before it
//! returns `Pending`, the `Gather` stores its task's waker, then (after a
//! `SeqCst` fence) looks at the queue once more; a wake pushes its index, then
//! (after a `SeqCst` fence) takes the stored waker. Whichever fence comes
//! second sees the other side's write.

use alloc::sync::Arc;
use alloc::task::Wake;
use core::sync::atomic::{fence, AtomicBool, Ordering};
use core::task::Waker;

use concurrent_queue::ConcurrentQueue;

/// State shared by a `Gather` and the wakers of all its sources.
#[derive(Debug)]
pub(super) struct Shared {
    /// Slot indices of woken sources, in wake order. Closed when the `Gather`
    /// is dropped, so late wakes stop at a failed push.
    ready: ConcurrentQueue<u32>,
    /// The waker of the task polling the `Gather`: a one-element queue is a
    /// lock-free cell that a wake can take from any thread.
    task: ConcurrentQueue<Waker>,
}

impl Shared {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Shared {
            ready: ConcurrentQueue::unbounded(),
            task: ConcurrentQueue::bounded(1),
        })
    }

    /// The next woken slot index, if any.
    pub(super) fn pop_ready(&self) -> Option<u32> {
        self.ready.pop().ok()
    }

    /// Stores the waker of the task polling the `Gather`; after this, no wake
    /// is lost, so the caller may check the ready queue one last time.
    pub(super) fn register(&self, waker: &Waker) {
        // Only fails once closed, and a closed `Gather` is never polled.
        let _ = self.task.force_push(waker.clone());
        fence(Ordering::SeqCst);
    }

    /// How many wakes wait to be drained (stale ones included).
    pub(super) fn ready_len(&self) -> usize {
        self.ready.len()
    }

    /// True when a wake arrived that the `Gather` has not drained yet.
    pub(super) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Wakes the task polling the `Gather`, if it waits.
    pub(super) fn wake_task(&self) {
        // A load first: most calls (pushes while the task runs) find no waker.
        if self.task.is_empty() {
            return;
        }
        if let Ok(waker) = self.task.pop() {
            waker.wake();
        }
    }

    /// Called when the `Gather` is dropped: later wakes only cost a check.
    pub(super) fn close(&self) {
        self.ready.close();
        self.task.close();
    }

    fn push_ready(&self, index: u32) {
        if self.ready.push(index).is_ok() {
            fence(Ordering::SeqCst);
            self.wake_task();
        }
    }
}

/// The waker of one source: knows its slot and whether it is already queued.
#[derive(Debug)]
pub(super) struct Node {
    shared: Arc<Shared>,
    index: u32,
    /// Set by a wake, cleared when the `Gather` drains the wake. While set,
    /// further wakes cost one atomic swap and push nothing, so the ready queue
    /// holds at most one entry per live source.
    woken: AtomicBool,
}

impl Node {
    /// A node for slot `index`.
    pub(super) fn new(shared: &Arc<Shared>, index: u32) -> Arc<Self> {
        Arc::new(Node {
            shared: Arc::clone(shared),
            index,
            woken: AtomicBool::new(false),
        })
    }

    /// Consumes a pending wake; true if there was one.
    pub(super) fn take_wake(&self) -> bool {
        self.woken.swap(false, Ordering::AcqRel)
    }

    /// Makes every later wake a no-op: the source is gone.
    pub(super) fn retire(&self) {
        self.woken.store(true, Ordering::Release);
    }
}

impl Wake for Node {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.shared.push_ready(self.index);
        }
    }
}
