use alloc::sync::Arc;
use alloc::vec;
use core::fmt;

use async_channel::Receiver;

use super::stats::{Counters, Stats};
use super::Message;

/// The consuming end of a bridge: a blocking `Iterator` (with `std`) for
/// consumer threads, and [`recv`](Consumer::recv) for async consumers.
///
/// Both end after every producer is gone and every record was taken: the
/// closing is the end-of-stream sentinel. Cloning gives another consumer of
/// the same bridge; each record goes to exactly one consumer.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
///
/// let (producer, consumer) = confluo::bridge(NonZeroUsize::new(8).unwrap());
/// let threads: Vec<_> = (0..2)
///     .map(|_| {
///         let consumer = consumer.clone();
///         std::thread::spawn(move || consumer.sum::<u64>())
///     })
///     .collect();
/// drop(consumer);
/// smol::block_on(producer.pump(futures::stream::iter(1..=100u64)));
/// let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
/// assert_eq!(total, 5050);
/// ```
pub struct Consumer<T> {
    receiver: Receiver<Message<T>>,
    /// The rest of a batch taken from the channel.
    batch: vec::IntoIter<T>,
    stats: Arc<Counters>,
}

impl<T> Clone for Consumer<T> {
    /// Another consumer of the same bridge, with no batch in hand.
    fn clone(&self) -> Self {
        Consumer::new(self.receiver.clone(), Arc::clone(&self.stats))
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("in_hand", &self.batch.len())
            .field("stats", &self.stats())
            .finish()
    }
}

impl<T> Consumer<T> {
    pub(super) fn new(receiver: Receiver<Message<T>>, stats: Arc<Counters>) -> Self {
        Consumer {
            receiver,
            batch: alloc::vec::Vec::new().into_iter(),
            stats,
        }
    }

    /// A snapshot of the bridge's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// producer.try_send(1).unwrap();
    /// assert_eq!(consumer.stats().sent(), 1);
    /// ```
    pub fn stats(&self) -> Stats {
        self.stats.snapshot()
    }
}

impl<T> Consumer<T> {
    /// Waits for the next record; `None` once every producer is gone and the
    /// bridge is drained. For async consumers, and in `no_std`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a record is taken only when the future completes.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// smol::block_on(async {
    ///     producer.send(1).await.unwrap();
    ///     drop(producer);
    ///     assert_eq!(consumer.recv().await, Some(1));
    ///     assert_eq!(consumer.recv().await, None);
    /// });
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        if let Some(record) = self.batch.next() {
            return Some(record);
        }
        let message = self.receiver.recv().await.ok()?;
        Some(unpack(message, &mut self.batch, &self.stats))
    }
}

/// Takes a record from a message, keeping the rest of a batch in hand.
fn unpack<T>(message: Message<T>, batch: &mut vec::IntoIter<T>, stats: &Counters) -> T {
    stats.received(message.len());
    match message {
        Message::One(record) => record,
        Message::Many(records) => {
            *batch = records.into_iter();
            batch.next().expect("a batch holds at least one record")
        }
    }
}

/// Blocks the thread until a record comes; `None` once every producer is
/// gone and the bridge is drained.
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl<T> Iterator for Consumer<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if let Some(record) = self.batch.next() {
            return Some(record);
        }
        let message = self.receiver.recv_blocking().ok()?;
        Some(unpack(message, &mut self.batch, &self.stats))
    }

    /// At least the records in hand and in the bridge now.
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.batch.len().saturating_add(self.receiver.len()), None)
    }
}
