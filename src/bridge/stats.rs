use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::Counter;
#[cfg(feature = "std")]
use core::time::Duration;

/// Counters shared by both ends of a bridge. Each end writes its own cache
/// line, so counting costs no cache-line ping-pong between threads.
#[derive(Debug)]
pub(super) struct Counters {
    producer: ProducerCounters,
    consumer: ConsumerCounters,
    /// The most records a message holds: the bridge's batch.
    per_message: usize,
}

/// The depth is read at one message in this many: reading it touches the
/// consumers' side of the channel, a cache miss per read.
const DEPTH_SAMPLE: u64 = 32;

#[derive(Debug, Default)]
#[repr(align(128))]
struct ProducerCounters {
    sent: Counter,
    messages: Counter,
    /// The most messages seen waiting in the channel right after a send.
    peak_messages: AtomicUsize,
    full_waits: Counter,
    full_wait_nanos: Counter,
}

#[derive(Debug, Default)]
#[repr(align(128))]
struct ConsumerCounters {
    received: Counter,
}

impl Counters {
    /// Counters for a bridge whose messages hold up to `per_message` records.
    pub(super) fn new(per_message: usize) -> Self {
        Counters {
            producer: ProducerCounters::default(),
            consumer: ConsumerCounters::default(),
            per_message,
        }
    }

    /// Counts a message of `records` sent; `waiting` tells how many messages
    /// the channel holds now, and is asked only now and then.
    pub(super) fn sent(&self, records: usize, waiting: impl FnOnce() -> usize) {
        let producer = &self.producer;
        producer.sent.add(records as u64);
        if producer.messages.add(1) % DEPTH_SAMPLE == 0 {
            self.saw_depth(waiting());
        }
    }

    /// Raises the high-water mark to `messages_waiting` if it is higher.
    pub(super) fn saw_depth(&self, messages_waiting: usize) {
        let peak = &self.producer.peak_messages;
        if messages_waiting > peak.load(Ordering::Relaxed) {
            peak.fetch_max(messages_waiting, Ordering::Relaxed);
        }
    }

    pub(super) fn received(&self, records: usize) {
        self.consumer.received.add(records as u64);
    }

    pub(super) fn waited(&self, #[cfg(feature = "std")] how_long: Duration) {
        self.producer.full_waits.add(1);
        #[cfg(feature = "std")]
        self.producer
            .full_wait_nanos
            .add(u64::try_from(how_long.as_nanos()).unwrap_or(u64::MAX));
    }

    pub(super) fn snapshot(&self) -> Stats {
        let received = self.consumer.received.get();
        let sent = self.producer.sent.get();
        Stats {
            sent,
            received,
            // In records: each message holds up to a batch.
            peak_depth: self
                .producer
                .peak_messages
                .load(Ordering::Relaxed)
                .saturating_mul(self.per_message),
            full_waits: self.producer.full_waits.get(),
            full_wait_nanos: self.producer.full_wait_nanos.get(),
        }
    }
}

/// What a bridge has seen so far: a snapshot, from
/// [`Producer::stats`](super::Producer::stats) or
/// [`Consumer::stats`](super::Consumer::stats).
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
/// assert_eq!(consumer.count(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    sent: u64,
    received: u64,
    peak_depth: usize,
    full_waits: u64,
    full_wait_nanos: u64,
}

impl Stats {
    /// Records sent into the bridge.
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

    /// Records taken out of the bridge by consumers.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// producer.try_send(1).unwrap();
    /// assert_eq!(consumer.next(), Some(1));
    /// assert_eq!(producer.stats().received(), 1);
    /// ```
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Records in the bridge now: sent and not yet received.
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
        self.sent.saturating_sub(self.received)
    }

    /// The high-water mark of [`depth`](Self::depth), as producers saw it:
    /// exact when the bridge filled up (a producer had to wait), otherwise
    /// the deepest seen at one send in 32 (reading the depth at every send
    /// would slow every send down). With batching it counts whole batches,
    /// so it may overstate by less than one batch per message.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::new(2).unwrap());
    /// producer.try_send(1).unwrap();
    /// producer.try_send(2).unwrap();
    /// assert!(producer.try_send(3).is_err()); // full
    /// consumer.next();
    /// assert_eq!(producer.stats().peak_depth(), 2);
    /// ```
    pub fn peak_depth(&self) -> usize {
        self.peak_depth
    }

    /// How many times a producer found the bridge full and had to wait.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, _consumer) = confluo::bridge::<u8>(std::num::NonZeroUsize::MIN);
    /// assert_eq!(producer.stats().full_waits(), 0);
    /// ```
    pub fn full_waits(&self) -> u64 {
        self.full_waits
    }

    /// How long producers waited on a full bridge, in all.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, _consumer) = confluo::bridge::<u8>(std::num::NonZeroUsize::MIN);
    /// assert_eq!(producer.stats().full_wait(), std::time::Duration::ZERO);
    /// ```
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn full_wait(&self) -> Duration {
        Duration::from_nanos(self.full_wait_nanos)
    }
}
