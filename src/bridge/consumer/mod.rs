//! The consuming end of a bridge: what it holds (the rest of a batch taken
//! from the channel), how it gives that back when it goes, and what it
//! tells of the bridge. How it receives is in `receive.rs`, and on a
//! thread of its own in `blocking.rs`.

#[cfg(feature = "std")]
mod blocking;
mod receive;

#[cfg(feature = "std")]
pub use blocking::{IntoRecords, Records};

use alloc::boxed::Box;
use alloc::vec::{self, Vec};
use core::fmt;
use core::mem;
use core::pin::Pin;

use async_channel::{Receiver, WeakSender};

use super::room::LeftWait;
use super::stats::Stats;
use super::{Message, Shared};
use crate::sync::Arc;

/// The consuming end of a bridge: a `Stream` (or [`recv`](Consumer::recv))
/// for async consumers, and, with `std`, blocking iterators for consumer
/// threads: `for record in consumer`, [`iter`](Consumer::iter),
/// [`recv_blocking`](Consumer::recv_blocking).
///
/// All of them end after every producer is gone (or the bridge was
/// [closed](Consumer::close)) and every record was taken: the closing is the
/// end-of-stream sentinel. Once ended, they stay ended (`FusedStream`,
/// `FusedIterator`). Cloning gives another consumer of the same bridge; each
/// record goes to exactly one consumer, whether it is read as a stream,
/// through an iterator, or both.
///
/// A consumer is not itself an `Iterator`, as std's `mpsc::Receiver` is
/// not: the iterator's methods and `StreamExt`'s share names (`next`,
/// `count`, `map`...), and with the futures traits in scope every call
/// would have to say which it meant.
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
/// waits for the others to hand their records out (it then ends) or to give
/// them back (it then takes them). A consumer that holds records and
/// neither hands them out nor gives them back keeps the others waiting, as
/// a consumer that stops reading keeps a bridge full: a consumer that stops
/// reading for a while calls [`release`](Consumer::release) first, which
/// gives back the records in hand as dropping does, and stays a consumer.
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
///         std::thread::spawn(move || consumer.into_iter().sum::<u64>())
///     })
///     .collect();
/// drop(consumer);
/// smol::block_on(producer.pump(futures::stream::iter(1..=100u64)));
/// let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
/// assert_eq!(total, 5050);
/// ```
///
/// As a stream:
///
/// ```
/// use futures::StreamExt;
/// use std::num::NonZeroUsize;
///
/// let (producer, consumer) = confluo::bridge(NonZeroUsize::new(8).unwrap());
/// smol::block_on(async {
///     let pump = producer.pump(futures::stream::iter(1..=3));
///     let doubled = consumer.map(|x| x * 2).collect::<Vec<_>>();
///     let (_, doubled) = futures::join!(pump, doubled);
///     assert_eq!(doubled, [2, 4, 6]);
/// });
/// ```
pub struct Consumer<T> {
    /// Boxed so that the consumer is `Unpin`: the channel's receiver is not,
    /// and its stream listener lives in it across polls.
    receiver: Pin<Box<Receiver<Message<T>>>>,
    /// Gives a batch in hand back, when this consumer goes and others stay;
    /// weak, so that consumers do not keep the bridge open.
    put_back: WeakSender<Message<T>>,
    /// The rest of a batch taken from the bridge.
    batch: vec::IntoIter<T>,
    /// The records of that batch, handed out or not: they leave the bridge
    /// (counted received, their room given back) when the last is handed out.
    batch_len: usize,
    /// A `poll_next` waiting for records other consumers hold.
    left: LeftWait,
    /// Returned `None` (or found the bridge closed and drained): it always
    /// will.
    ended: bool,
    shared: Arc<Shared<T>>,
}

/// Nothing in a consumer is pinned (the channel's receiver is boxed), and
/// its records are only moved: a consumer of any records is `Unpin`, a
/// `Stream` to poll with no pinning.
impl<T> Unpin for Consumer<T> {}

impl<T> Clone for Consumer<T> {
    /// Another consumer of the same bridge, with no batch in hand.
    fn clone(&self) -> Self {
        self.shared.consumer_came();
        Consumer::new(
            (*self.receiver).clone(),
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
            receiver: Box::pin(receiver),
            put_back,
            batch: Vec::new().into_iter(),
            batch_len: 0,
            left: LeftWait::default(),
            ended: false,
            shared,
        }
    }

    /// A snapshot of the bridge's counters, the same that
    /// [`Producer::stats`](super::Producer::stats) reads. A batch counts as
    /// received once this consumer has handed out its last record.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Bridge;
    /// use std::num::NonZeroUsize;
    ///
    /// let (producer, mut consumer) = Bridge::new(NonZeroUsize::new(4).unwrap())
    ///     .batch(NonZeroUsize::new(2).unwrap())
    ///     .open();
    /// smol::block_on(producer.pump(futures::stream::iter([1, 2])));
    /// consumer.recv_blocking();
    /// assert_eq!((consumer.stats().sent(), consumer.stats().received()), (2, 0));
    /// consumer.recv_blocking();
    /// assert_eq!(consumer.stats().received(), 2);
    /// ```
    pub fn stats(&self) -> Stats {
        self.shared.stats.snapshot()
    }

    /// Records in the bridge now, as [`Producer::len`](super::Producer::len)
    /// counts them: the rest of a batch in this consumer's hand included.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::new(4).unwrap());
    /// producer.try_send(1).unwrap();
    /// producer.try_send(2).unwrap();
    /// assert_eq!(consumer.len(), 2);
    /// consumer.try_recv().unwrap();
    /// assert_eq!(consumer.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// Whether the bridge holds no record now ([`len`](Consumer::len) is
    /// 0): not the end, which only a closed bridge brings.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, consumer) = confluo::bridge::<u8>(std::num::NonZeroUsize::MIN);
    /// assert!(consumer.is_empty() && !consumer.is_closed());
    /// drop(producer);
    /// assert!(consumer.is_empty() && consumer.is_closed());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the bridge for every end, as
    /// [`Producer::close`](super::Producer::close) does: sends fail from now
    /// on, and a [`pump`](super::Producer::pump) ends, giving back the
    /// records it could not send, as when every consumer is gone. Consumers
    /// still drain the records in the bridge, then end. Returns whether
    /// this call closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::new(4).unwrap());
    /// producer.try_send(1).unwrap();
    /// assert!(consumer.close());
    /// assert!(producer.try_send(2).unwrap_err().is_closed());
    /// assert_eq!(consumer.recv_blocking(), Some(1)); // drained
    /// assert_eq!(consumer.recv_blocking(), None);
    /// ```
    pub fn close(&self) -> bool {
        self.shared.close(self.receiver.close())
    }

    /// Whether the bridge is closed: every producer is gone, or an end
    /// [closed](Consumer::close) it. Records may still be in it, to drain.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, consumer) = confluo::bridge::<u8>(std::num::NonZeroUsize::MIN);
    /// assert!(!consumer.is_closed());
    /// drop(producer);
    /// assert!(consumer.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.receiver.is_closed()
    }

    /// Gives back the records this consumer holds from a batch, as dropping
    /// it does, and stays a consumer: they go back into the bridge as one
    /// message, behind the records already there, for any consumer (this one
    /// too). Call it before a consumer stops reading for a while, so that it
    /// keeps no record from the others, nor the others from ending (see
    /// [Dropping](Consumer#dropping)). Without batches, or with nothing in
    /// hand, it does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Bridge;
    /// use std::num::NonZeroUsize;
    ///
    /// let (producer, mut consumer) = Bridge::new(NonZeroUsize::new(16).unwrap())
    ///     .batch(NonZeroUsize::new(8).unwrap())
    ///     .open();
    /// let other = consumer.clone();
    /// smol::block_on(producer.pump(futures::stream::iter(0..4)));
    /// assert_eq!(consumer.recv_blocking(), Some(0)); // takes the batch, holds 1, 2, 3
    /// consumer.release();
    /// assert_eq!(other.into_iter().collect::<Vec<_>>(), [1, 2, 3]); // and ends
    /// ```
    pub fn release(&mut self) {
        if let Some(message) = self.take_in_hand() {
            self.give_back(message);
        }
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

    /// Takes the rest of the batch in hand, to give back: the records
    /// already handed out leave the bridge; the rest stay in it, their room
    /// still taken.
    fn take_in_hand(&mut self) -> Option<Message<T>> {
        let rest = mem::replace(&mut self.batch, Vec::new().into_iter());
        self.shared
            .handed_out(mem::take(&mut self.batch_len) - rest.len());
        if rest.len() == 0 {
            return None;
        }
        Some(Message::Many(rest.collect()))
    }

    /// Gives records taken back to the bridge, behind the records there.
    fn give_back(&self, message: Message<T>) {
        let message = match self.put_back.upgrade() {
            Some(sender) => match sender.try_send(message) {
                Ok(()) => return,
                Err(error) => error.into_inner(),
            },
            None => message,
        };
        // The channel closed: the consumers drain it, then look here.
        if let Some(room) = &self.shared.room {
            room.put_back(message);
        }
    }
}

impl<T> Drop for Consumer<T> {
    /// Gives the rest of a batch in hand back to the other consumers, or,
    /// as the last consumer, closes the bridge.
    fn drop(&mut self) {
        if let Some(room) = &self.shared.room {
            room.stop_waiting(&mut self.left);
        }
        let rest = self.take_in_hand();
        if self.shared.consumer_went() {
            self.shared.close(self.receiver.close());
            return;
        }
        if let Some(message) = rest {
            self.give_back(message);
        }
    }
}
