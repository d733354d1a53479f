//! The bridge's counters, each end writing its own cache line, and the
//! snapshot of them that users read ([`Stats`]).

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::Counter;

/// Counters shared by both ends of a bridge. Each end writes its own cache
/// line, so counting costs no cache-line ping-pong between threads.
#[derive(Debug)]
pub(super) struct Counters {
    producer: ProducerCounters,
    consumer: ConsumerCounters,
}

/// The depth is read each time this many more records were sent: without
/// batching, reading it touches the consumers' side of the channel, a cache
/// miss per read (with batching it is read from the room, which the
/// producer has just written: no miss).
const DEPTH_SAMPLE: u64 = 32;

#[derive(Debug, Default)]
#[repr(align(128))]
struct ProducerCounters {
    sent: Counter,
    /// The most records seen in the bridge right after a send.
    peak_records: AtomicUsize,
    full_waits: Counter,
    /// Records an overflow policy dropped.
    dropped: Counter,
}

#[derive(Debug, Default)]
#[repr(align(128))]
struct ConsumerCounters {
    received: Counter,
}

impl Counters {
    pub(super) fn new() -> Self {
        Counters {
            producer: ProducerCounters::default(),
            consumer: ConsumerCounters::default(),
        }
    }

    /// Counts a message of `records` sent; `waiting` tells how many records
    /// the bridge holds now, and is asked only now and then. `sole`: the
    /// caller is the only one that can count records sent now (a pump that
    /// owns every producer of the bridge), so it adds without a
    /// read-modify-write, which would cost a record sent alone a full
    /// barrier on x86.
    pub(super) fn sent(&self, records: usize, sole: bool, waiting: impl FnOnce() -> usize) {
        let before = if sole {
            self.producer.sent.add_alone(records as u64)
        } else {
            self.producer.sent.add(records as u64)
        };
        if before / DEPTH_SAMPLE != (before + records as u64) / DEPTH_SAMPLE {
            self.saw_depth(waiting());
        }
    }

    /// Raises the high-water mark to `records_waiting` if it is higher.
    pub(super) fn saw_depth(&self, records_waiting: usize) {
        let peak = &self.producer.peak_records;
        if records_waiting > peak.load(Ordering::Relaxed) {
            peak.fetch_max(records_waiting, Ordering::Relaxed);
        }
    }

    pub(super) fn received(&self, records: usize) {
        self.consumer.received.add(records as u64);
    }

    /// An overflow policy dropped `records` records. Counted before the
    /// records that take their place are counted sent, so that the depth
    /// read after the sent count never counts both.
    pub(super) fn dropped(&self, records: usize) {
        self.producer.dropped.add(records as u64);
    }

    /// A producer found the bridge full and waits.
    pub(super) fn waits(&self) {
        self.producer.full_waits.add(1);
    }

    pub(super) fn snapshot(&self) -> Stats {
        let received = self.consumer.received.get();
        let sent = self.producer.sent.get();
        // After `sent`: a drop is counted before the record that took its
        // place is counted sent.
        let dropped = self.producer.dropped.get();
        Stats {
            sent,
            received,
            dropped,
            peak_depth: self.producer.peak_records.load(Ordering::Relaxed),
            full_waits: self.producer.full_waits.get(),
        }
    }
}

/// What a bridge has seen so far: a snapshot, from
/// [`Producer::stats`](super::Producer::stats) or
/// [`Consumer::stats`](super::Consumer::stats); or what the bridges of a
/// [`Router`](super::Router) have seen together, from
/// [`Router::stats`](super::Router::stats).
///
/// Every record sent is received, dropped by the bridge's
/// [`Overflow`](super::Overflow) policy, or still in the bridge:
/// `sent = received + dropped + depth`.
///
/// On targets without 64-bit atomics the counts are 32 bits wide: `sent`,
/// `received`, `dropped` and `full_waits` wrap at 2³², and the depth stays
/// right across the wrap.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
///
/// let (producer, consumer) = confluo::bridge(NonZeroUsize::new(8).unwrap());
/// smol::block_on(producer.pump(futures::stream::iter(0..5)));
/// let stats = consumer.stats();
/// assert_eq!((stats.sent(), stats.received(), stats.depth()), (5, 0, 5));
/// assert_eq!(consumer.into_iter().count(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    sent: u64,
    received: u64,
    dropped: u64,
    peak_depth: usize,
    full_waits: u64,
}

impl Stats {
    /// The counts of two bridges together: sums, the high-water marks too
    /// (an upper bound of how deep both were at once).
    pub(super) fn add(self, other: Stats) -> Stats {
        Stats {
            sent: self.sent.wrapping_add(other.sent),
            received: self.received.wrapping_add(other.received),
            dropped: self.dropped.wrapping_add(other.dropped),
            peak_depth: self.peak_depth.saturating_add(other.peak_depth),
            full_waits: self.full_waits.wrapping_add(other.full_waits),
        }
    }

    /// Records sent into the bridge: taken by a send, a `try_send` or a
    /// pump, the records its [`Overflow`](super::Overflow) policy dropped
    /// included (see [`dropped`](Self::dropped)).
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, _consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// producer.try_send(1).unwrap();
    /// assert_eq!(producer.stats().sent(), 1);
    /// ```
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Records consumers handed out. A consumer counts the records of a
    /// batch when it has handed out the last of them, or when it is dropped:
    /// records it holds are still in the bridge, and records it puts back
    /// are not received until another consumer hands them out.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// producer.try_send(1).unwrap();
    /// assert_eq!(consumer.recv_blocking(), Some(1));
    /// assert_eq!(producer.stats().received(), 1);
    /// ```
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Records in the bridge now: sent and neither received nor dropped by
    /// the overflow policy. Records still in the bridge when its last
    /// consumer went stay counted here: they were dropped with the bridge,
    /// never received.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, _consumer) = confluo::bridge(std::num::NonZeroUsize::new(4).unwrap());
    /// producer.try_send('x').unwrap();
    /// producer.try_send('y').unwrap();
    /// assert_eq!(producer.stats().depth(), 2);
    /// ```
    pub fn depth(&self) -> u64 {
        // The counts wrap where the counters are 32 bits wide, `sent` first.
        Counter::distance(self.sent, self.received.wrapping_add(self.dropped))
    }

    /// Records the bridge's [`Overflow`](super::Overflow) policy dropped:
    /// records that found the bridge full under
    /// [`DropNewest`](super::Overflow::DropNewest), and records that waited
    /// in it and made room for newer ones under
    /// [`DropOldest`](super::Overflow::DropOldest). Exact: each record
    /// dropped counts once. Always 0 under [`Block`](super::Overflow::Block).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::{Bridge, Overflow};
    /// use std::num::NonZeroUsize;
    ///
    /// let (producer, mut consumer) = Bridge::new(NonZeroUsize::new(2).unwrap())
    ///     .overflow(Overflow::DropOldest)
    ///     .open();
    /// for record in 0..5 {
    ///     producer.try_send(record).unwrap(); // never full
    /// }
    /// let stats = producer.stats();
    /// assert_eq!((stats.sent(), stats.dropped(), stats.depth()), (5, 3, 2));
    /// assert_eq!((consumer.recv_blocking(), consumer.recv_blocking()), (Some(3), Some(4)));
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The high-water mark of [`depth`](Self::depth), as producers saw it:
    /// exact when the bridge filled up (a producer found it full, and waited
    /// or dropped by the overflow policy), otherwise
    /// the deepest seen each time 32 more records were sent (reading the
    /// depth at every send would slow every send down). With batching it
    /// counts the room taken, which includes a batch a producer is filling.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::new(2).unwrap());
    /// producer.try_send(1).unwrap();
    /// producer.try_send(2).unwrap();
    /// assert!(producer.try_send(3).is_err()); // full
    /// consumer.recv_blocking();
    /// assert_eq!(producer.stats().peak_depth(), 2);
    /// ```
    pub fn peak_depth(&self) -> usize {
        self.peak_depth
    }

    /// How many times a producer found the bridge full and had to wait (a
    /// wait counts once, however long it lasts). Under a drop policy no
    /// producer waits: 0. The bridge reads no clock:
    /// to know how long producers wait, time the pump with your runtime's.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// smol::block_on(async {
    ///     producer.send(1).await.unwrap();
    ///     let mut second = std::pin::pin!(producer.send(2));
    ///     assert!(futures::poll!(second.as_mut()).is_pending()); // full: it waits
    ///     assert_eq!(consumer.recv_blocking(), Some(1));
    ///     second.await.unwrap();
    /// });
    /// assert_eq!(producer.stats().full_waits(), 1);
    /// ```
    pub fn full_waits(&self) -> u64 {
        self.full_waits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counters that start `at`, as if that many records had gone through.
    fn counters_at(at: u64) -> Counters {
        let counters = Counters::new();
        counters.producer.sent.add(at);
        counters.consumer.received.add(at);
        counters
    }

    #[test]
    fn the_depth_stays_right_when_the_sent_count_wraps_first() {
        // A sole sender adds as others do, the wrap included.
        for sole in [false, true] {
            // Two records short of 2³²: `sent` passes it, `received` does not.
            let counters = counters_at((1 << 32) - 2);
            counters.sent(5, sole, || 0);
            counters.received(1);
            let stats = counters.snapshot();
            assert_eq!(stats.depth(), 4, "sole: {sole}");
            counters.received(4);
            assert_eq!(counters.snapshot().depth(), 0, "sole: {sole}");
        }
    }

    #[test]
    fn records_dropped_leave_the_depth_also_across_the_wrap() {
        for at in [0, (1 << 32) - 3, 1 << 32] {
            let counters = counters_at(at);
            counters.sent(6, false, || 0);
            counters.dropped(2);
            counters.received(1);
            let stats = counters.snapshot();
            assert_eq!((stats.depth(), stats.dropped()), (3, 2), "at {at}");
            counters.dropped(1);
            counters.received(2);
            assert_eq!(counters.snapshot().depth(), 0, "at {at}");
        }
    }

    #[test]
    fn the_depth_is_never_negative() {
        // A consumer may count a record before its producer has.
        for at in [0, (1 << 32) - 1, 1 << 32] {
            let counters = counters_at(at);
            counters.received(1);
            assert_eq!(counters.snapshot().depth(), 0, "at {at}");
        }
    }
}
