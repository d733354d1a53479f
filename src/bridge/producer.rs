use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::poll_fn;
use core::pin::pin;
use core::task::Poll;

use async_channel::{Sender, TrySendError as ChannelError};
use futures_core::Stream;

use super::stats::{Counters, Stats};
use super::{Bridge, Message};

/// The async end of a bridge: sends records with backpressure.
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
    sender: Sender<Message<T>>,
    stats: Arc<Counters>,
    bridge: Bridge,
}

impl<T> Clone for Producer<T> {
    fn clone(&self) -> Self {
        Producer {
            sender: self.sender.clone(),
            stats: Arc::clone(&self.stats),
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

/// How a [`Producer::pump`] ended.
///
/// # Examples
///
/// ```
/// use confluo::Pumped;
/// use std::num::NonZeroUsize;
///
/// let (producer, consumer) = confluo::bridge(NonZeroUsize::new(4).unwrap());
/// drop(consumer);
/// let pumped = smol::block_on(producer.pump(futures::stream::iter([7, 8])));
/// assert_eq!(pumped, Pumped::ConsumersGone { forwarded: 0, unsent: vec![7] });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pumped<T> {
    /// The stream ended and every record was forwarded.
    Ended {
        /// Records forwarded into the bridge.
        forwarded: u64,
    },
    /// Every consumer went away; the stream was dropped at once.
    ConsumersGone {
        /// Records forwarded into the bridge before that.
        forwarded: u64,
        /// The records taken from the stream that could not be delivered.
        unsent: Vec<T>,
    },
}

impl<T> Pumped<T> {
    /// Records forwarded into the bridge.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, _consumer) = confluo::bridge(std::num::NonZeroUsize::new(4).unwrap());
    /// let pumped = smol::block_on(producer.pump(futures::stream::iter([1, 2, 3])));
    /// assert_eq!(pumped.forwarded(), 3);
    /// ```
    pub fn forwarded(&self) -> u64 {
        match self {
            Pumped::Ended { forwarded } | Pumped::ConsumersGone { forwarded, .. } => *forwarded,
        }
    }
}

/// Why a send failed: every consumer is gone. Holds the record.
///
/// # Examples
///
/// ```
/// let (producer, consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
/// drop(consumer);
/// let error = producer.try_send("late").unwrap_err();
/// assert_eq!(error.to_string(), "sending into a bridge with no consumer");
/// assert_eq!(error.into_inner(), "late");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The record that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let error = confluo::SendError(5);
    /// assert_eq!(error.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending into a bridge with no consumer")
    }
}

#[cfg(feature = "std")]
impl<T> std::error::Error for SendError<T> {}

/// Why a `try_send` failed: the bridge is full, or has no consumer.
///
/// # Examples
///
/// ```
/// use confluo::TrySendError;
///
/// let (producer, _consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
/// producer.try_send(1).unwrap();
/// assert!(matches!(producer.try_send(2), Err(TrySendError::Full(2))));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The bridge holds its capacity; try again after a consumer took some.
    Full(T),
    /// Every consumer is gone.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The record that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(confluo::TrySendError::Full(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(record) | TrySendError::Closed(record) => record,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending into a full bridge"),
            TrySendError::Closed(_) => f.write_str("sending into a bridge with no consumer"),
        }
    }
}

#[cfg(feature = "std")]
impl<T> std::error::Error for TrySendError<T> {}

impl<T> Producer<T> {
    pub(super) fn new(sender: Sender<Message<T>>, stats: Arc<Counters>, bridge: Bridge) -> Self {
        Producer {
            sender,
            stats,
            bridge,
        }
    }

    /// The most records the bridge holds (plus one batch, when batching).
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
        self.stats.snapshot()
    }

    /// Sends one record, waiting while the bridge is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the record when every consumer is gone.
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
        self.send_message(Message::One(record))
            .await
            .map_err(|message| match message {
                Message::One(record) => SendError(record),
                Message::Many(_) => unreachable!("sent one"),
            })
    }

    /// Sends one record if the bridge has room now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when the bridge is full,
    /// [`TrySendError::Closed`] when every consumer is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, _consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// assert!(producer.try_send(1).is_ok());
    /// assert_eq!(producer.try_send(2).unwrap_err().to_string(), "sending into a full bridge");
    /// ```
    pub fn try_send(&self, record: T) -> Result<(), TrySendError<T>> {
        match self.sender.try_send(Message::One(record)) {
            Ok(()) => {
                self.count_sent(1);
                Ok(())
            }
            Err(ChannelError::Full(Message::One(record))) => {
                self.saw_full();
                Err(TrySendError::Full(record))
            }
            Err(ChannelError::Closed(Message::One(record))) => Err(TrySendError::Closed(record)),
            Err(_) => unreachable!("sent one"),
        }
    }

    /// Forwards every item of `stream` into the bridge, then ends; or ends at
    /// once when every consumer is gone, dropping the stream (and so
    /// releasing the sources behind it).
    ///
    /// While the bridge is full the pump waits and does not poll the stream:
    /// a `Gather` behind it stops reading its sources. The pump owns this
    /// producer; when the last producer is gone, consumers end after
    /// draining.
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
        while !ended {
            let Some(first) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await else {
                break;
            };
            let message = if batch == 1 {
                Message::One(first)
            } else {
                let mut records = Vec::with_capacity(batch);
                records.push(first);
                // Take what is ready now, without waiting for more; a stream
                // that ended is not polled again.
                while records.len() < batch {
                    match poll_fn(|cx| Poll::Ready(stream.as_mut().poll_next(cx))).await {
                        Poll::Ready(Some(record)) => records.push(record),
                        Poll::Ready(None) => {
                            ended = true;
                            break;
                        }
                        Poll::Pending => break,
                    }
                }
                Message::Many(records)
            };
            let records = message.len() as u64;
            if let Err(message) = self.send_message(message).await {
                return Pumped::ConsumersGone {
                    forwarded,
                    unsent: message.into_records(),
                };
            }
            forwarded += records;
        }
        Pumped::Ended { forwarded }
    }

    /// Sends a message, counting it and the waits on a full channel.
    pub(super) async fn send_message(&self, message: Message<T>) -> Result<(), Message<T>> {
        let records = message.len();
        let message = match self.sender.try_send(message) {
            Ok(()) => {
                self.count_sent(records);
                return Ok(());
            }
            Err(ChannelError::Closed(message)) => return Err(message),
            Err(ChannelError::Full(message)) => message,
        };
        self.saw_full();
        #[cfg(feature = "std")]
        let start = std::time::Instant::now();
        let sent = self.sender.send(message).await;
        self.stats.waited(
            #[cfg(feature = "std")]
            start.elapsed(),
        );
        match sent {
            Ok(()) => {
                self.count_sent(records);
                Ok(())
            }
            Err(error) => Err(error.into_inner()),
        }
    }

    /// The channel is full: the high-water mark is the whole channel.
    fn saw_full(&self) {
        let capacity = self.sender.capacity().unwrap_or(usize::MAX);
        self.stats.saw_depth(capacity);
    }

    fn count_sent(&self, records: usize) {
        self.stats.sent(records, || self.sender.len());
    }
}
