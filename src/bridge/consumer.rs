use alloc::vec::{self, Vec};
use core::fmt;
use core::mem;

use async_channel::{Receiver, WeakSender};

use super::stats::Stats;
use super::{Message, Shared};
use crate::sync::Arc;

/// The consuming end of a bridge: a blocking `Iterator` (with `std`) for
/// consumer threads, and [`recv`](Consumer::recv) for async consumers.
///
/// Both end after every producer is gone and every record was taken: the
/// closing is the end-of-stream sentinel. Cloning gives another consumer of
/// the same bridge; each record goes to exactly one consumer.
///
/// # Dropping
///
/// With [`Bridge::batch`](super::Bridge::batch), a consumer takes a batch
/// from the bridge at once and hands its records out one by one. Dropped
/// with some of them still in hand while other consumers stay, it gives them
/// back to the bridge as one message, behind the records already there, for
/// the others. Dropped as the last consumer, it closes the bridge:
/// producers fail, and records still in it, the rest of its batch included,
/// are dropped with it, never received.
///
/// So that no record given back is missed, a consumer ends only when every
/// producer is gone, the bridge is drained, and no other consumer holds
/// records of a batch. Until then, a consumer that finds the bridge drained
/// waits for the others to hand their records out (it then ends) or to be
/// dropped (it then takes what they gave back). A consumer that holds
/// records and neither hands them out nor is dropped keeps the others
/// waiting, as a consumer that stops reading keeps a bridge full: keep
/// reading every consumer, or drop it.
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
    /// Gives a batch in hand back, when this consumer goes and others stay;
    /// weak, so that consumers do not keep the bridge open.
    put_back: WeakSender<Message<T>>,
    /// The rest of a batch taken from the bridge.
    batch: vec::IntoIter<T>,
    /// The records of that batch, handed out or not: they leave the bridge
    /// (counted received, their room given back) when the last is handed out.
    batch_len: usize,
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Consumer<T> {
    /// Another consumer of the same bridge, with no batch in hand.
    fn clone(&self) -> Self {
        self.shared.consumer_came();
        Consumer::new(
            self.receiver.clone(),
            self.put_back.clone(),
            Arc::clone(&self.shared),
        )
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
    pub(super) fn new(
        receiver: Receiver<Message<T>>,
        put_back: WeakSender<Message<T>>,
        shared: Arc<Shared<T>>,
    ) -> Self {
        Consumer {
            receiver,
            put_back,
            batch: Vec::new().into_iter(),
            batch_len: 0,
            shared,
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
        self.shared.stats.snapshot()
    }

    /// Waits for the next record; `None` once every producer is gone, the
    /// bridge is drained, and no other consumer holds records of a batch
    /// (see [Dropping](Consumer#dropping)). For async consumers, and in
    /// `no_std`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a record is taken only when the future completes, and
    /// the rest of a batch stays in hand for the next call.
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
        if let Some(record) = self.next_in_hand() {
            return Some(record);
        }
        let message = match self.receiver.recv().await {
            Ok(message) => message,
            Err(_) => self.shared.room.as_ref()?.left().await?,
        };
        Some(self.unpack(message))
    }

    /// The next record of the batch in hand.
    #[inline]
    fn next_in_hand(&mut self) -> Option<T> {
        let record = self.batch.next()?;
        if self.batch.len() == 0 {
            // The batch is all handed out: it leaves the bridge.
            self.shared.handed_out(mem::take(&mut self.batch_len));
        }
        Some(record)
    }

    /// Takes a record from a message, keeping the rest of a batch in hand.
    fn unpack(&mut self, message: Message<T>) -> T {
        match message {
            Message::One(record) => {
                self.shared.handed_out(1);
                record
            }
            Message::Many(records) => {
                self.batch_len = records.len();
                self.batch = records.into_iter();
                self.next_in_hand()
                    .expect("a batch holds at least one record")
            }
        }
    }
}

impl<T> Drop for Consumer<T> {
    /// Gives the rest of a batch in hand back to the other consumers, or,
    /// as the last consumer, closes the bridge.
    fn drop(&mut self) {
        let rest = mem::replace(&mut self.batch, Vec::new().into_iter());
        // The records already handed out leave the bridge; the rest stay.
        self.shared
            .handed_out(mem::take(&mut self.batch_len) - rest.len());
        if self.shared.consumer_went() {
            self.receiver.close();
            if let Some(room) = &self.shared.room {
                room.closed();
            }
            return;
        }
        if rest.len() == 0 {
            return;
        }
        // Their room stays taken: the records are still in the bridge.
        let message = Message::Many(rest.collect());
        let message = match self.put_back.upgrade() {
            Some(sender) => match sender.try_send(message) {
                Ok(()) => return,
                Err(error) => error.into_inner(),
            },
            None => message,
        };
        // Every producer is gone: the others drain the bridge, then look here.
        if let Some(room) = &self.shared.room {
            room.put_back(message);
        }
    }
}

/// Blocks the thread until a record comes; `None` once every producer is
/// gone, the bridge is drained, and no other consumer holds records of a
/// batch (see [Dropping](Consumer#dropping)).
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl<T> Iterator for Consumer<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if let Some(record) = self.next_in_hand() {
            return Some(record);
        }
        let message = match self.receiver.recv_blocking() {
            Ok(message) => message,
            Err(_) => self.shared.room.as_ref()?.left_blocking()?,
        };
        Some(self.unpack(message))
    }

    /// At least the records in hand and in the bridge now.
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.batch.len().saturating_add(self.receiver.len()), None)
    }
}
