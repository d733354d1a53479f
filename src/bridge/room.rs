//! The room of a batching bridge, counted in records.
//!
//! A batching bridge moves up to a batch of records per channel message, so
//! the channel's own bound (in messages) cannot say how many records wait in
//! it: the channel is unbounded, and this count bounds it. A producer takes
//! room before it sends and never holds room across an await; a consumer
//! gives room back once it has handed out every record of a message.

use core::future::Future as _;
use core::mem;
use core::pin::Pin;
use core::task::{ready, Context, Poll};

use concurrent_queue::ConcurrentQueue;
#[cfg(feature = "std")]
use event_listener::Listener as _;
use event_listener::{Event, EventListener};

use super::Message;
use crate::sync::atomic::{fence, AtomicUsize, Ordering};

/// Records the bridge may still take, and who waits for them to change.
pub(super) struct Room<T> {
    free: Free,
    /// Waiters listen here.
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
    /// Waiters: producers waiting for room, and consumers that found the
    /// channel closed waiting for records other consumers hold. Notifying
    /// an event takes its lock, so room given back notifies only when
    /// someone may be waiting.
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
            // The room guards no data (the channel carries the records):
            // relaxed. A waiter's look at it is ordered by the fence in
            // `take_waiting`.
            let exchanged =
                free.compare_exchange_weak(now, now - take, Ordering::Relaxed, Ordering::Relaxed);
            match exchanged {
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

    /// The room of `records` records a producer took out of the channel
    /// (a message dropped by `Overflow::DropOldest`), taken over whole for
    /// the records that take their place: it never was free, so no other
    /// producer can take it in between, and the depth never passes the
    /// capacity.
    pub(super) fn taken_over(&self, records: usize) -> Taken<'_, T> {
        Taken {
            room: self,
            records,
        }
    }

    /// Waits for room for up to `want` records; `None` once `closed` says
    /// no consumer is left (the last consumer wakes the waiters as it goes).
    pub(super) async fn take(
        &self,
        want: usize,
        closed: impl Fn() -> bool,
    ) -> Option<Taken<'_, T>> {
        let _waiting = self.waiting();
        loop {
            let listener = self.freed.listen();
            if closed() {
                return None;
            }
            if let Some(taken) = self.take_waiting(want) {
                return Some(taken);
            }
            listener.await;
        }
    }

    /// Counts a waiter (a producer waiting for room, or a consumer waiting
    /// for records other consumers hold) until the guard is dropped, also
    /// when its wait is dropped half way.
    pub(super) fn waiting(&self) -> Waiting<'_> {
        self.free.waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(&self.free.waiting)
    }

    /// `try_take` for a counted waiter, after it began to listen.
    ///
    /// A waiter counts itself, then looks at the room; room given back is
    /// added, then the count of waiters is looked at ([`free_up`]). Each
    /// side writes one word and reads the other's: without more, both reads
    /// may see the old values (the memory model allows it, and weakly
    /// ordered CPUs such as Arm do it), and the waiter would sleep on a full
    /// bridge while the room given back notifies nobody. A `SeqCst` fence on
    /// each side between its write and its read orders the two sides:
    /// either the waiter sees the room, or the side giving it back sees the
    /// waiter and notifies it. The waiter's listener is registered before
    /// its look at the room under the event's own lock, which `notify` takes
    /// too, so a notification that follows the look finds the listener.
    ///
    /// [`free_up`]: Room::free_up
    pub(super) fn take_waiting(&self, want: usize) -> Option<Taken<'_, T>> {
        fence(Ordering::SeqCst);
        self.try_take(want)
    }

    /// Gives room for `records` back and wakes the waiters.
    pub(super) fn give_back(&self, records: usize) {
        if self.free_up(records) {
            self.freed.notify(usize::MAX);
        }
    }

    /// Adds `records` to the free room: whether the waiters are to be
    /// notified (notifying takes the event's lock, so only when someone may
    /// be waiting, and once half the bridge is free). See
    /// [`take_waiting`](Room::take_waiting) for the fence.
    pub(super) fn free_up(&self, records: usize) -> bool {
        if records == 0 {
            return false;
        }
        let free = self.free.records.fetch_add(records, Ordering::Relaxed) + records;
        if free < self.wake_at {
            return false;
        }
        fence(Ordering::SeqCst);
        self.free.waiting.load(Ordering::Relaxed) > 0
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

    /// Keeps a batch that a consumer put back after the channel closed, and
    /// wakes the consumers waiting for it.
    pub(super) fn put_back(&self, message: Message<T>) {
        // An unbounded queue that is never closed takes every push.
        let _ = self.returned.push(message);
        self.freed.notify(usize::MAX);
    }

    /// For a consumer that found the channel closed and drained: a batch
    /// another consumer put back, or `None` once no consumer holds records
    /// (their room is still taken, so none is), waiting while one does.
    pub(super) async fn left(&self) -> Option<Message<T>> {
        let _waiting = self.waiting();
        loop {
            let listener = self.freed.listen();
            match self.look_left() {
                Left::Batch(message) => return Some(message),
                Left::Nothing => return None,
                Left::Held => listener.await,
            }
        }
    }

    /// [`left`](Room::left), blocking the thread while it waits.
    #[cfg(feature = "std")]
    pub(super) fn left_blocking(&self) -> Option<Message<T>> {
        let _waiting = self.waiting();
        loop {
            let listener = self.freed.listen();
            match self.look_left() {
                Left::Batch(message) => return Some(message),
                Left::Nothing => return None,
                Left::Held => listener.wait(),
            }
        }
    }

    /// [`left`](Room::left) as a poll, for a consumer's `poll_next`: the
    /// wait lives in `wait`, which the consumer keeps across polls (and
    /// ends with [`stop_waiting`](Room::stop_waiting) when it goes).
    pub(super) fn poll_left(
        &self,
        wait: &mut LeftWait,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Message<T>>> {
        if !wait.counted {
            self.free.waiting.fetch_add(1, Ordering::Relaxed);
            wait.counted = true;
        }
        loop {
            if let Some(listener) = wait.listener.as_mut() {
                ready!(Pin::new(listener).poll(cx));
                wait.listener = None;
            }
            let listener = self.freed.listen();
            let left = match self.look_left() {
                Left::Batch(message) => Some(message),
                Left::Nothing => None,
                Left::Held => {
                    wait.listener = Some(listener);
                    continue;
                }
            };
            self.stop_waiting(wait);
            return Poll::Ready(left);
        }
    }

    /// Ends a wait of [`poll_left`](Room::poll_left): no longer counted,
    /// no longer listening.
    pub(super) fn stop_waiting(&self, wait: &mut LeftWait) {
        wait.listener = None;
        if mem::take(&mut wait.counted) {
            self.free.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// What is left after the channel closed, for a counted waiter after it
    /// began to listen (the fence is the one of
    /// [`take_waiting`](Room::take_waiting), against [`free_up`](Room::free_up)).
    /// Every producer is gone, so no room is taken for a message being
    /// filled: room still taken is records that consumers hold, or put
    /// back.
    pub(super) fn look_left(&self) -> Left<T> {
        fence(Ordering::SeqCst);
        if let Ok(message) = self.returned.pop() {
            return Left::Batch(message);
        }
        if self.used() == 0 {
            return Left::Nothing;
        }
        Left::Held
    }
}

/// A consumer's wait for records other consumers hold, kept across polls.
#[derive(Default)]
pub(super) struct LeftWait {
    listener: Option<EventListener>,
    /// Counted among the waiters.
    counted: bool,
}

/// What a consumer finds after the channel closed and drained.
pub(super) enum Left<T> {
    /// A batch another consumer put back.
    Batch(Message<T>),
    /// No record is left anywhere: the end.
    Nothing,
    /// Other consumers still hold records: they hand them out, or put them
    /// back when dropped.
    Held,
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

/// A waiter, counted while its wait lasts.
pub(super) struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
