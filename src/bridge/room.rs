//! The room of a batching bridge, counted in records.
//!
//! A batching bridge moves up to a batch of records per channel message, so
//! the channel's own bound (in messages) cannot say how many records wait in
//! it: the channel is unbounded, and this count bounds it. A producer takes
//! room before it sends and never holds room across an await; a consumer
//! gives room back once it has handed out every record of a message.

use concurrent_queue::ConcurrentQueue;
use event_listener::Event;

use super::Message;
use crate::sync::atomic::{AtomicUsize, Ordering};

/// Records the bridge may still take, and the producers waiting for some.
pub(super) struct Room<T> {
    free: Free,
    /// Producers that found no room listen here.
    freed: Event,
    /// Batches put back by a consumer that went away after the channel had
    /// closed (while it is open they go back into the channel).
    returned: ConcurrentQueue<Message<T>>,
    capacity: usize,
    /// Waiting producers are woken once this much room is free: half the
    /// bridge, so a producer woken fills many messages before it waits
    /// again, while consumers still have half the bridge to take.
    wake_at: usize,
}

/// On a cache line of its own: both ends write it, once per message.
#[repr(align(128))]
struct Free {
    records: AtomicUsize,
    /// Producers waiting for room. Notifying an event takes its lock, so
    /// room given back notifies only when someone may be waiting.
    waiting: AtomicUsize,
}

impl<T> Room<T> {
    pub(super) fn new(capacity: usize) -> Self {
        Room {
            free: Free {
                records: AtomicUsize::new(capacity),
                waiting: AtomicUsize::new(0),
            },
            freed: Event::new(),
            returned: ConcurrentQueue::unbounded(),
            capacity,
            wake_at: capacity - capacity / 2,
        }
    }

    /// Takes room for up to `want` records (at least one, when there is
    /// any): how many it took, or `None` when the bridge is full.
    pub(super) fn try_take(&self, want: usize) -> Option<Taken<'_, T>> {
        let free = &self.free.records;
        let mut now = free.load(Ordering::Relaxed);
        loop {
            if now == 0 {
                return None;
            }
            let take = now.min(want);
            // SeqCst, like `give_back`: a producer about to wait must see
            // room given back before the notification it would miss.
            match free.compare_exchange_weak(now, now - take, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => {
                    return Some(Taken {
                        room: self,
                        records: take,
                    })
                }
                Err(seen) => now = seen,
            }
        }
    }

    /// Waits for room for up to `want` records; `None` once `closed` says
    /// no consumer is left (the last consumer wakes the waiters as it goes).
    pub(super) async fn take(
        &self,
        want: usize,
        closed: impl Fn() -> bool,
    ) -> Option<Taken<'_, T>> {
        // Counted before looking at the room, and the room given back before
        // looking at the count (both SeqCst): either this producer sees the
        // room, or the consumer giving it back sees this producer and
        // notifies.
        let _waiting = Waiting::new(&self.free.waiting);
        loop {
            let listener = self.freed.listen();
            if closed() {
                return None;
            }
            if let Some(taken) = self.try_take(want) {
                return Some(taken);
            }
            listener.await;
        }
    }

    /// Gives room for `records` back and wakes the producers waiting for it.
    pub(super) fn give_back(&self, records: usize) {
        if records > 0 {
            let free = self.free.records.fetch_add(records, Ordering::SeqCst) + records;
            if free >= self.wake_at && self.free.waiting.load(Ordering::SeqCst) > 0 {
                self.freed.notify(usize::MAX);
            }
        }
    }

    /// Wakes every waiting producer, to see that the bridge closed.
    pub(super) fn closed(&self) {
        self.freed.notify(usize::MAX);
    }

    /// Records in the bridge now, or taken room for: the depth as producers
    /// see it.
    pub(super) fn used(&self) -> usize {
        self.capacity
            .saturating_sub(self.free.records.load(Ordering::Relaxed))
    }

    /// Keeps a batch that a consumer put back after the channel closed.
    pub(super) fn put_back(&self, message: Message<T>) {
        // An unbounded queue that is never closed takes every push.
        let _ = self.returned.push(message);
    }

    /// A batch put back after the channel closed, if any.
    pub(super) fn take_returned(&self) -> Option<Message<T>> {
        self.returned.pop().ok()
    }
}

/// Room taken by a producer and not yet filled: given back when dropped, so
/// a pump cancelled or panicking between taking room and sending keeps
/// nothing.
pub(super) struct Taken<'a, T> {
    room: &'a Room<T>,
    records: usize,
}

impl<T> Taken<'_, T> {
    /// Records there is room for.
    pub(super) fn records(&self) -> usize {
        self.records
    }

    /// Keeps room for `records` only (no more than taken), giving the rest back.
    pub(super) fn keep(&mut self, records: usize) {
        let unused = self.records - records;
        self.records = records;
        self.room.give_back(unused);
    }

    /// The records were sent: their room is the bridge's now, until a
    /// consumer hands them out.
    pub(super) fn sent(mut self) {
        self.records = 0;
    }
}

impl<T> Drop for Taken<'_, T> {
    fn drop(&mut self) {
        self.room.give_back(self.records);
    }
}

/// A producer waiting for room, counted while its wait lasts (also when the
/// wait is dropped half way).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
