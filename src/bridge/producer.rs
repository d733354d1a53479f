use alloc::vec::Vec;
use core::fmt;
use core::future::poll_fn;
use core::pin::{pin, Pin};
use core::task::{Context, Poll};

use async_channel::{Sender, TrySendError as ChannelError};
use futures_core::Stream;

use super::overflow::Made;
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
/// assert_eq!(consumer.collect::<Vec<_>>(), [1, 2]);
/// ```
pub struct Producer<T> {
    pub(super) sender: Sender<Message<T>>,
    pub(super) shared: Arc<Shared<T>>,
    bridge: Bridge,
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
    /// consumer.next();
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
    /// assert_eq!(consumer.collect::<Vec<_>>(), [1]); // ends, though `other` lives
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
    /// assert_eq!(consumer.next(), Some("reading"));
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
            return match self.sender.try_send(Message::One(record)) {
                Ok(()) => {
                    self.count_sent(1);
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
            };
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
    /// let worker = std::thread::spawn(move || consumer.count());
    /// let pumped = smol::block_on(producer.pump(sensors));
    /// assert_eq!(pumped.forwarded(), 12);
    /// assert_eq!(worker.join().unwrap(), 12);
    /// ```
    pub async fn pump<S>(self, stream: S) -> Pumped<T>
    where
        S: Stream<Item = T>,
    {
        let mut stream = pin!(stream);
        let batch = self.bridge.batch.get();
        let mut forwarded = 0u64;
        let mut ended = false;
        // Records in the last message: what the next one is allocated for.
        let mut last = 0;
        while !ended {
            let Some(first) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await else {
                break;
            };
            let Some(room) = &self.shared.room else {
                // One record per message.
                if let Err(record) = self.send_bounded(first).await {
                    return Pumped::ConsumersGone {
                        forwarded,
                        unsent: alloc::vec![record],
                    };
                }
                forwarded += 1;
                continue;
            };
            // Room for up to a batch, with the first record in hand; from
            // here to the send nothing waits, so the room taken comes back
            // at once if the pump is dropped or the stream panics.
            let mut dropped = None;
            let mut taken = match room.try_take(batch) {
                Some(taken) => taken,
                None if self.bridge.overflow != Overflow::Block => {
                    match self.make_room(room, batch) {
                        Made::Room(taken, oldest) => {
                            dropped = Some(oldest);
                            taken
                        }
                        Made::DropNewest => {
                            self.drop_newest(first);
                            forwarded += 1;
                            continue;
                        }
                        Made::Closed => {
                            return Pumped::ConsumersGone {
                                forwarded,
                                unsent: alloc::vec![first],
                            }
                        }
                    }
                }
                None => match self.wait_for_room(room, batch).await {
                    Some(taken) => taken,
                    None => {
                        return Pumped::ConsumersGone {
                            forwarded,
                            unsent: alloc::vec![first],
                        }
                    }
                },
            };
            let mut first = Some(first);
            let message = poll_fn(|cx| {
                let first = first.take().expect("polled once: it is ready at once");
                Poll::Ready(fill(
                    stream.as_mut(),
                    cx,
                    first,
                    taken.records(),
                    last,
                    &mut ended,
                ))
            })
            .await;
            let records = message.len();
            last = records;
            taken.keep(records);
            let sent = self.send_taken(message, taken);
            // Last: a callback that panics finds the message sent.
            if let Some(dropped) = dropped {
                self.hand_over(dropped);
            }
            if let Err(message) = sent {
                return Pumped::ConsumersGone {
                    forwarded,
                    unsent: message.into_records(),
                };
            }
            forwarded += records as u64;
        }
        Pumped::Ended { forwarded }
    }

    /// Sends one record into a bridge without batches, whose channel counts
    /// records: waits while it is full, counting the wait, or drops by the
    /// bridge's policy.
    async fn send_bounded(&self, record: T) -> Result<(), T> {
        let sent = match self.sender.try_send(Message::One(record)) {
            Ok(()) => Ok(()),
            Err(ChannelError::Closed(message)) => Err(message),
            Err(ChannelError::Full(message)) => {
                if self.bridge.overflow != Overflow::Block {
                    return self.send_one_dropping(message.into_one());
                }
                self.saw_full();
                self.shared.stats.waits();
                self.sender
                    .send(message)
                    .await
                    .map_err(|error| error.into_inner())
            }
        };
        match sent {
            Ok(()) => {
                self.count_sent(1);
                Ok(())
            }
            Err(message) => Err(message.into_one()),
        }
    }

    /// The batching bridge is full: waits for room for up to `want` records,
    /// counting the wait; `None` once every consumer is gone.
    async fn wait_for_room<'a>(&self, room: &'a Room<T>, want: usize) -> Option<Taken<'a, T>> {
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
                self.count_sent(records);
                Ok(())
            }
            Err(error) => Err(error.into_inner()),
        }
    }

    /// The bridge is full: the high-water mark is its capacity.
    pub(super) fn saw_full(&self) {
        self.shared.stats.saw_depth(self.capacity());
    }

    pub(super) fn count_sent(&self, records: usize) {
        self.shared.stats.sent(records, || match &self.shared.room {
            Some(room) => room.used(),
            None => self.sender.len(),
        });
    }
}

/// The least a message of several records is first allocated for.
const FIRST_ALLOCATION: usize = 16;

/// A message of `first` and what `stream` has ready now, up to `room`
/// records in all, without waiting for more; a stream that ended (it sets
/// `ended`) is not polled again.
///
/// The Vec is first allocated for as many records as the `last` message
/// held (at least 16, at most the room) and grows with what is ready,
/// doubling: a stream that fills its batches fills each message in one
/// allocation, and a message is allocated for at most the largest of 16,
/// the last message's length and twice what is ready now, never more than
/// the room. It is sized neither by the room alone (a large batch would
/// cost its size per message) nor by the stream's `size_hint` (which may
/// overstate, and costs a `Gather` a walk over its sources).
fn fill<S: Stream>(
    mut stream: Pin<&mut S>,
    cx: &mut Context<'_>,
    first: S::Item,
    room: usize,
    last: usize,
    ended: &mut bool,
) -> Message<S::Item> {
    if room == 1 {
        return Message::One(first);
    }
    let second = match stream.as_mut().poll_next(cx) {
        Poll::Ready(Some(record)) => record,
        Poll::Ready(None) => {
            *ended = true;
            return Message::One(first);
        }
        Poll::Pending => return Message::One(first),
    };
    let mut records = Vec::with_capacity(room.min(last.max(FIRST_ALLOCATION)));
    records.push(first);
    records.push(second);
    while records.len() < room {
        match stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(record)) => records.push(record),
            Poll::Ready(None) => {
                *ended = true;
                break;
            }
            Poll::Pending => break,
        }
    }
    Message::Many(records)
}
