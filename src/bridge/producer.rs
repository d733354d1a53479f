//! The async end of a bridge: sends, with backpressure or by the bridge's
//! overflow policy, and what it tells of the bridge. Its pump is in
//! `pump.rs`, the paths of a full bridge under a drop policy in
//! `overflow.rs`.

use core::fmt;

use async_channel::{Sender, TrySendError as ChannelError};
use futures_core::Stream;

use super::pump;
use super::pumped::Pumped;
use super::room::{Room, Taken};
use super::send_error::{SendError, TrySendError};
use super::stats::Stats;
use super::{Bridge, Message, Overflow, Shared};
use crate::sync::Arc;

/// The async end of a bridge: sends records with backpressure, or by the
/// bridge's [`Overflow`] policy when it is full.
///
/// Cloning gives another producer of the same bridge; the bridge closes (the
/// consumers' end-of-stream) when the last producer is dropped.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
///
/// let (producer, consumer) = confluo::bridge(NonZeroUsize::new(2).unwrap());
/// let second = producer.clone();
/// smol::block_on(async {
///     producer.send(1).await.unwrap();
///     second.send(2).await.unwrap();
/// });
/// drop((producer, second));
/// assert_eq!(consumer.into_iter().collect::<Vec<_>>(), [1, 2]);
/// ```
pub struct Producer<T> {
    pub(super) sender: Sender<Message<T>>,
    pub(super) shared: Arc<Shared<T>>,
    pub(super) bridge: Bridge,
}

impl<T> Clone for Producer<T> {
    fn clone(&self) -> Self {
        Producer {
            sender: self.sender.clone(),
            shared: Arc::clone(&self.shared),
            bridge: self.bridge,
        }
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("bridge", &self.bridge)
            .field("stats", &self.stats())
            .finish()
    }
}

impl<T> Producer<T> {
    pub(super) fn new(sender: Sender<Message<T>>, shared: Arc<Shared<T>>, bridge: Bridge) -> Self {
        Producer {
            sender,
            shared,
            bridge,
        }
    }

    /// The most records the bridge holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, _) = confluo::bridge::<u8>(std::num::NonZeroUsize::new(3).unwrap());
    /// assert_eq!(producer.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.bridge.capacity.get()
    }

    /// A snapshot of the bridge's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, _consumer) = confluo::bridge(std::num::NonZeroUsize::new(3).unwrap());
    /// producer.try_send(()).unwrap();
    /// assert_eq!(producer.stats().depth(), 1);
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
    /// assert_eq!(producer.len(), 2);
    /// consumer.recv_blocking();
    /// assert_eq!(producer.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// Whether the bridge holds no record now ([`len`](Producer::len) is 0).
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, _consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// assert!(producer.is_empty());
    /// producer.try_send(1).unwrap();
    /// assert!(!producer.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the bridge for every end, as if every producer were gone:
    /// producers fail from now on (sends waiting for room too), and
    /// consumers drain the records already in the bridge, then end. Returns
    /// whether this call closed it (`false`: it was closed already).
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, consumer) = confluo::bridge(std::num::NonZeroUsize::new(4).unwrap());
    /// let other = producer.clone();
    /// producer.try_send(1).unwrap();
    /// assert!(producer.close());
    /// assert!(other.try_send(2).unwrap_err().is_closed());
    /// assert_eq!(consumer.into_iter().collect::<Vec<_>>(), [1]); // ends, though `other` lives
    /// ```
    pub fn close(&self) -> bool {
        self.shared.close(self.sender.close())
    }

    /// Whether the bridge is closed: every consumer is gone, or an end
    /// [closed](Producer::close) it. Sends fail then.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, consumer) = confluo::bridge::<u8>(std::num::NonZeroUsize::MIN);
    /// assert!(!producer.is_closed());
    /// consumer.close();
    /// assert!(producer.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Sends one record, waiting while the bridge is full; under a drop
    /// policy ([`Overflow`]) it never waits, and a full bridge drops a
    /// record instead: the oldest waiting, or this one.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the record when the bridge is closed (every
    /// consumer is gone, or an end closed it), also while it waits.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops the record with it; a
    /// record is either delivered whole or not at all.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// smol::block_on(producer.send("reading")).unwrap();
    /// assert_eq!(consumer.recv_blocking(), Some("reading"));
    /// ```
    pub async fn send(&self, record: T) -> Result<(), SendError<T>> {
        let Some(room) = &self.shared.room else {
            return self.send_bounded(record).await.map_err(SendError);
        };
        let taken = match room.try_take(1) {
            Some(taken) => taken,
            None if self.bridge.overflow != Overflow::Block => {
                return self
                    .send_one_into_room_dropping(room, record)
                    .map_err(SendError)
            }
            None => match self.wait_for_room(room, 1).await {
                Some(taken) => taken,
                None => return Err(SendError(record)),
            },
        };
        self.send_taken(Message::One(record), taken)
            .map_err(|message| SendError(message.into_one()))
    }

    /// Sends one record if the bridge has room now; under a drop policy
    /// ([`Overflow`]), a full bridge drops a record instead (the oldest
    /// waiting, or this one) and the send succeeds.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when the bridge is full (only under
    /// [`Overflow::Block`]), [`TrySendError::Closed`] when the bridge is
    /// closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, _consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// assert!(producer.try_send(1).is_ok());
    /// assert_eq!(producer.try_send(2).unwrap_err().to_string(), "sending into a full bridge");
    /// ```
    pub fn try_send(&self, record: T) -> Result<(), TrySendError<T>> {
        let Some(room) = &self.shared.room else {
            return self.try_send_bounded(record, false);
        };
        let Some(taken) = room.try_take(1) else {
            if self.bridge.overflow != Overflow::Block {
                return self
                    .send_one_into_room_dropping(room, record)
                    .map_err(TrySendError::Closed);
            }
            if self.sender.is_closed() {
                return Err(TrySendError::Closed(record));
            }
            self.saw_full();
            return Err(TrySendError::Full(record));
        };
        self.send_taken(Message::One(record), taken)
            .map_err(|message| TrySendError::Closed(message.into_one()))
    }

    /// Forwards every item of `stream` into the bridge, then ends; or ends at
    /// once when every consumer is gone or the bridge was closed, dropping
    /// the stream (and so releasing the sources behind it).
    ///
    /// While the bridge is full the pump waits and does not poll the stream:
    /// a `Gather` behind it stops reading its sources. Under a drop policy
    /// ([`Overflow`]) it never waits: a full bridge drops records (the
    /// oldest waiting, or those the pump has just taken), and the pump
    /// reads its stream at the stream's pace. The pump owns this producer;
    /// when the last producer is gone, consumers end after draining.
    ///
    /// # Cancel safety
    ///
    /// Dropping the pump drops the stream and any batch taken from it but not
    /// yet sent; every record already sent stays in the bridge.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// let (producer, consumer) = confluo::bridge(NonZeroUsize::new(2).unwrap());
    /// let sensors = confluo::gather((0..3).map(|s| futures::stream::iter([s; 4])));
    /// let worker = std::thread::spawn(move || consumer.into_iter().count());
    /// let pumped = smol::block_on(producer.pump(sensors));
    /// assert_eq!(pumped.forwarded(), 12);
    /// assert_eq!(worker.join().unwrap(), 12);
    /// ```
    pub async fn pump<S>(self, stream: S) -> Pumped<T>
    where
        S: Stream<Item = T>,
    {
        pump::pump(core::slice::from_ref(&self), stream, |_| 0).await
    }

    /// Sends one record into a bridge without batches, whose channel counts
    /// records: waits while it is full, counting the wait, or drops by the
    /// bridge's policy.
    async fn send_bounded(&self, record: T) -> Result<(), T> {
        match self.try_send_bounded(record, false) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(record)) => self.wait_to_send(record).await,
            Err(TrySendError::Closed(record)) => Err(record),
        }
    }

    /// Sends one record into a bridge without batches if it has room now,
    /// or by the bridge's drop policy; `Full` only under [`Overflow::Block`].
    /// A pump's path for each record: no future to make unless it waits.
    ///
    /// `sole`: no other producer of this bridge exists while the call runs,
    /// nor can one be made (a pump owns every producer of the bridge), so
    /// no other thread counts records sent meanwhile.
    pub(super) fn try_send_bounded(&self, record: T, sole: bool) -> Result<(), TrySendError<T>> {
        match self.sender.try_send(Message::One(record)) {
            Ok(()) => {
                self.count_sent(1, sole);
                Ok(())
            }
            Err(ChannelError::Full(message)) => {
                let record = message.into_one();
                if self.bridge.overflow != Overflow::Block {
                    return self.send_one_dropping(record).map_err(TrySendError::Closed);
                }
                self.saw_full();
                Err(TrySendError::Full(record))
            }
            Err(ChannelError::Closed(message)) => Err(TrySendError::Closed(message.into_one())),
        }
    }

    /// Sends one record into a bridge without batches that
    /// [`try_send_bounded`](Producer::try_send_bounded) found full, waiting
    /// for room, and counts the wait.
    pub(super) async fn wait_to_send(&self, record: T) -> Result<(), T> {
        self.shared.stats.waits();
        match self.sender.send(Message::One(record)).await {
            Ok(()) => {
                self.count_sent(1, false);
                Ok(())
            }
            Err(error) => Err(error.into_inner().into_one()),
        }
    }

    /// The room of a batching bridge.
    pub(super) fn room(&self) -> &Room<T> {
        self.shared
            .room
            .as_ref()
            .expect("only a batching bridge counts its room")
    }

    /// The batching bridge is full: waits for room for up to `want` records,
    /// counting the wait; `None` once every consumer is gone.
    pub(super) async fn wait_for_room<'a>(
        &self,
        room: &'a Room<T>,
        want: usize,
    ) -> Option<Taken<'a, T>> {
        self.saw_full();
        self.shared.stats.waits();
        room.take(want, || self.sender.is_closed()).await
    }

    /// Sends a message into a batching bridge, with room taken for it.
    pub(super) fn send_taken(
        &self,
        message: Message<T>,
        taken: Taken<'_, T>,
    ) -> Result<(), Message<T>> {
        let records = message.len();
        // The channel is unbounded: it fails only when it closed, and then
        // the room taken goes back with `taken`.
        match self.sender.try_send(message) {
            Ok(()) => {
                taken.sent();
                self.count_sent(records, false);
                Ok(())
            }
            Err(error) => Err(error.into_inner()),
        }
    }

    /// The bridge is full: the high-water mark is its capacity.
    pub(super) fn saw_full(&self) {
        self.shared.stats.saw_depth(self.capacity());
    }

    /// Counts `records` sent; `sole` as [`Producer::try_send_bounded`] says.
    pub(super) fn count_sent(&self, records: usize, sole: bool) {
        self.shared
            .stats
            .sent(records, sole, || match &self.shared.room {
                Some(room) => room.used(),
                None => self.sender.len(),
            });
    }
}
