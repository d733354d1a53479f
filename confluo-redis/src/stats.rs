//! What one producer or one consumer did, counted on its side.

use std::time::Duration;

/// What a [`Producer`](crate::Producer) did so far.
///
/// # Examples
///
/// ```
/// let stats = confluo_redis::ProducerStats::default();
/// assert_eq!(stats.produced, 0);
/// assert_eq!(stats.waited, std::time::Duration::ZERO);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProducerStats {
    /// Records Redis took.
    pub produced: u64,
    /// Round trips that added records (one per batch).
    pub batches: u64,
    /// Times a batch found the run full and waited.
    pub full: u64,
    /// The time spent waiting for room in the run.
    pub waited: Duration,
    /// Connections made again after a failure.
    pub reconnects: u64,
}

/// What a [`Consumer`](crate::Consumer) did so far.
///
/// # Examples
///
/// ```
/// let stats = confluo_redis::ConsumerStats::default();
/// assert_eq!(stats.delivered, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerStats {
    /// Records handed to the worker.
    pub delivered: u64,
    /// Of those, the records delivered before to some consumer (flagged
    /// [`Delivery::redelivered`](crate::Delivery::redelivered)).
    pub redelivered: u64,
    /// Records this consumer acknowledged (Redis counted them as done).
    pub acknowledged: u64,
    /// Records that could not be decoded, moved to the dead-letter stream.
    pub dead_lettered: u64,
    /// Connections made again after a failure.
    pub reconnects: u64,
}
