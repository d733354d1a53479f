use alloc::boxed::Box;
use alloc::vec::{self, Vec};
use core::fmt;
use core::mem;
use core::pin::Pin;
use core::task::{ready, Context, Poll};
#[cfg(feature = "std")]
use std::time::Duration;

use async_channel::{Receiver, TryRecvError as ChannelError, WeakSender};
use futures_core::stream::{FusedStream, Stream};

#[cfg(feature = "std")]
use super::recv_error::RecvTimeoutError;
use super::recv_error::TryRecvError;
use super::room::{Left, LeftWait};
use super::stats::Stats;
use super::{Message, Shared};
use crate::sync::Arc;

/// The consuming end of a bridge: a blocking `Iterator` (with `std`) for
/// consumer threads, and a `Stream` (or [`recv`](Consumer::recv)) for async
/// consumers.
///
/// Both end after every producer is gone (or the bridge was
/// [closed](Consumer::close)) and every record was taken: the closing is the
/// end-of-stream sentinel. Once ended, they stay ended (`FusedIterator`,
/// `FusedStream`). Cloning gives another consumer of the same bridge; each
/// record goes to exactly one consumer, whether it is read as an iterator,
/// a stream, or both.
///
/// The iterator's `next` and `StreamExt::next` share a name: with the
/// futures traits in scope, say which one you mean
/// (`StreamExt::next(&mut consumer)`), or use [`recv`](Consumer::recv).
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
///         std::thread::spawn(move || consumer.sum::<u64>())
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
///     // `map` of `StreamExt`, not of `Iterator`: say which.
///     let doubled = StreamExt::map(consumer, |x| x * 2).collect::<Vec<_>>();
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

    /// Records in the bridge now, as [`Stats::depth`] counts them: sent and
    /// not yet received, the records of a batch a consumer holds included.
    /// A snapshot: other ends may change it at once.
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

    /// Whether the bridge holds no record now ([`len`](Consumer::len) is 0).
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// assert!(consumer.is_empty());
    /// producer.try_send(1).unwrap();
    /// assert!(!consumer.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the bridge for every end: producers fail from now on (a
    /// [`Producer::pump`](super::Producer::pump) ends and gives back the
    /// records it could not send, as when every consumer is gone), and
    /// consumers drain the records already in the bridge, then end. Returns
    /// whether this call closed it (`false`: it was closed already).
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::new(4).unwrap());
    /// producer.try_send(1).unwrap();
    /// assert!(consumer.close());
    /// assert!(producer.try_send(2).unwrap_err().is_closed());
    /// assert_eq!(consumer.next(), Some(1)); // drained
    /// assert_eq!(consumer.next(), None);
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
    /// assert_eq!(consumer.next(), Some(0)); // takes the batch, holds 1, 2, 3
    /// consumer.release();
    /// assert_eq!(other.collect::<Vec<_>>(), [1, 2, 3]); // and ends
    /// ```
    pub fn release(&mut self) {
        if let Some(message) = self.take_in_hand() {
            self.give_back(message);
        }
    }

    /// Waits for the next record; `None` once every producer is gone (or the
    /// bridge was closed), the bridge is drained, and no other consumer
    /// holds records of a batch (see [Dropping](Consumer#dropping)). For
    /// async consumers, and in `no_std`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a record is taken only when the future completes, and
    /// the rest of a batch stays in hand for the next call. The same holds
    /// for the `Stream`: a `next()` dropped before it completes took nothing.
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
            Ok(message) => Some(message),
            Err(_) => match &self.shared.room {
                Some(room) => room.left().await,
                None => None,
            },
        };
        self.record_of(message)
    }

    /// Takes the next record if one is ready now, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when no record is ready now (also while the
    /// bridge is closed and drained but another consumer still holds
    /// records of a batch, which may come back), [`TryRecvError::Closed`]
    /// when no record will ever come.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::TryRecvError;
    ///
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// assert_eq!(consumer.try_recv(), Err(TryRecvError::Empty));
    /// producer.try_send(7).unwrap();
    /// assert_eq!(consumer.try_recv(), Ok(7));
    /// drop(producer);
    /// assert_eq!(consumer.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if let Some(record) = self.next_in_hand() {
            return Ok(record);
        }
        let message = match self.receiver.try_recv() {
            Ok(message) => Some(message),
            Err(ChannelError::Empty) => return Err(TryRecvError::Empty),
            Err(ChannelError::Closed) => match &self.shared.room {
                Some(room) => match room.look_left() {
                    Left::Batch(message) => Some(message),
                    Left::Nothing => None,
                    Left::Held => return Err(TryRecvError::Empty),
                },
                None => None,
            },
        };
        self.record_of(message).ok_or(TryRecvError::Closed)
    }

    /// Blocks the thread until a record comes, for at most `timeout`.
    ///
    /// A record ready now is returned even with a timeout of zero.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] when no record came in time,
    /// [`RecvTimeoutError::Closed`] when no record will ever come (as the
    /// iterator's `None`).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::RecvTimeoutError;
    /// use std::time::Duration;
    ///
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// let timeout = Duration::from_millis(10);
    /// assert_eq!(consumer.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
    /// std::thread::spawn(move || producer.try_send("late").unwrap());
    /// assert_eq!(consumer.recv_timeout(Duration::from_secs(60)), Ok("late"));
    /// ```
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        use super::park::{block_until, deadline_after};

        if let Some(record) = self.next_in_hand() {
            return Ok(record);
        }
        let deadline = deadline_after(timeout);
        let message = match block_until(self.receiver.recv(), deadline) {
            None => return Err(RecvTimeoutError::Timeout),
            Some(Ok(message)) => Some(message),
            Some(Err(_)) => match &self.shared.room {
                Some(room) => match block_until(room.left(), deadline) {
                    None => return Err(RecvTimeoutError::Timeout),
                    Some(left) => left,
                },
                None => None,
            },
        };
        self.record_of(message).ok_or(RecvTimeoutError::Closed)
    }

    /// The next record, polled: the `Stream`'s `poll_next`.
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(record) = self.next_in_hand() {
            return Poll::Ready(Some(record));
        }
        let message = match ready!(self.receiver.as_mut().poll_next(cx)) {
            Some(message) => Some(message),
            None => match &self.shared.room {
                Some(room) => ready!(room.poll_left(&mut self.left, cx)),
                None => None,
            },
        };
        Poll::Ready(self.record_of(message))
    }

    /// The first record of a message taken, or the end.
    fn record_of(&mut self, message: Option<Message<T>>) -> Option<T> {
        match message {
            Some(message) => Some(self.unpack(message)),
            None => {
                self.ended = true;
                None
            }
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

/// Blocks the thread until a record comes; `None` once every producer is
/// gone (or the bridge was closed), the bridge is drained, and no other
/// consumer holds records of a batch (see [Dropping](Consumer#dropping)).
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl<T> Iterator for Consumer<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if let Some(record) = self.next_in_hand() {
            return Some(record);
        }
        let message = match self.receiver.recv_blocking() {
            Ok(message) => Some(message),
            Err(_) => match &self.shared.room {
                Some(room) => room.left_blocking(),
                None => None,
            },
        };
        self.record_of(message)
    }

    /// At least the records in hand and in the bridge now.
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.size()
    }
}

/// Once `None`, always `None`: no record enters a closed bridge.
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl<T> core::iter::FusedIterator for Consumer<T> {}

/// Waits for the next record; ends as the iterator does. Polls allocate
/// nothing: the listener of a wait lives in the consumer.
///
/// # Cancel safety
///
/// A record is taken only when `poll_next` returns it; the rest of a batch
/// stays in hand for the next poll.
impl<T> Stream for Consumer<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }

    /// At least the records in hand and in the bridge now.
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.size()
    }
}

impl<T> FusedStream for Consumer<T> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<T> Consumer<T> {
    /// The size hint of both the iterator and the stream. Messages in the
    /// channel hold at least one record each.
    fn size(&self) -> (usize, Option<usize>) {
        if self.ended {
            return (0, Some(0));
        }
        (self.batch.len().saturating_add(self.receiver.len()), None)
    }
}
