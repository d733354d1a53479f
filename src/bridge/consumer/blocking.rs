//! A consumer on a thread of its own (with `std`): [`Consumer::recv_blocking`]
//! and the blocking iterators over the records, [`Records`] and
//! [`IntoRecords`].
//!
//! `Consumer` is a `Stream` and not itself an `Iterator`: the two traits'
//! methods share names (`next`, `map`, `count`...), and a consumer thread
//! with the futures traits in scope would have to say which one it means
//! at every call. `for record in consumer` and `consumer.iter()` read much
//! as they do for std's `mpsc::Receiver` (whose `iter` borrows it shared,
//! where a consumer's borrows it `&mut`).

use core::fmt;
use core::iter::FusedIterator;

use async_channel::TryRecvError as ChannelError;

use super::Consumer;
use crate::bridge::Message;

impl<T> Consumer<T> {
    /// Blocks the thread until a record comes; `None` once every producer
    /// is gone (or the bridge was closed), the bridge is drained, and no
    /// other consumer holds records of a batch (see
    /// [Dropping](Consumer#dropping)). What [`iter`](Consumer::iter) and
    /// `for record in consumer` call for each record.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// let sender = std::thread::spawn(move || smol::block_on(producer.send(7)).unwrap());
    /// assert_eq!(consumer.recv_blocking(), Some(7));
    /// sender.join().unwrap();
    /// assert_eq!(consumer.recv_blocking(), None);
    /// ```
    pub fn recv_blocking(&mut self) -> Option<T> {
        if let Some(record) = self.next_in_hand() {
            return Some(record);
        }
        let message = match self.spin_then_recv_blocking() {
            Ok(message) => Some(message),
            Err(_) => match &self.shared.room {
                Some(room) => room.left_blocking(),
                None => None,
            },
        };
        self.record_of(message)
    }

    /// The records as they come, blocking the thread for each, until the
    /// bridge ends (as [`recv_blocking`](Consumer::recv_blocking)); the
    /// consumer stays, to be used again.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::new(4).unwrap());
    /// for reading in [1, 2, 3] {
    ///     producer.try_send(reading).unwrap();
    /// }
    /// drop(producer);
    /// let sum: i32 = consumer.iter().sum();
    /// assert_eq!(sum, 6);
    /// assert_eq!(consumer.stats().received(), 3);
    /// ```
    pub fn iter(&mut self) -> Records<'_, T> {
        Records { consumer: self }
    }

    /// The next message: a few looks with short pauses before the thread
    /// parks, since a producer that is running, or was just woken for
    /// room, sends its next message sooner than a parked thread wakes up.
    fn spin_then_recv_blocking(&self) -> Result<Message<T>, async_channel::RecvError> {
        for round in 0..SPIN_ROUNDS {
            match self.receiver.try_recv() {
                Ok(message) => return Ok(message),
                Err(ChannelError::Closed) => break,
                Err(ChannelError::Empty) => {
                    for _ in 0..1u32 << round {
                        core::hint::spin_loop();
                    }
                }
            }
        }
        self.receiver.recv_blocking()
    }
}

/// Looks before a blocking consumer parks, each pause twice the last: 255
/// spin-loop hints in all, about 6 µs on the AMD EPYC of BENCHMARKS.md.
/// Shorter did not cover a woken producer's way back to its core there
/// (3 µs of spinning gave batches 5× raw at a capacity of 1,024, 1.5 µs
/// under 3×), and a park and its wake cost more than the spin.
const SPIN_ROUNDS: u32 = 8;

/// Iterator for the [`Consumer::iter`] method: the records, each waited
/// for on this thread. Once `None`, always `None`: no record enters a
/// closed bridge.
///
/// # Examples
///
/// ```
/// use confluo::Records;
///
/// let (producer, mut consumer) = confluo::bridge::<u8>(std::num::NonZeroUsize::MIN);
/// drop(producer);
/// let mut records: Records<'_, u8> = consumer.iter();
/// assert_eq!(records.next(), None);
/// ```
#[must_use = "iterators do nothing unless iterated"]
pub struct Records<'a, T> {
    consumer: &'a mut Consumer<T>,
}

/// Iterator for `Consumer`'s `IntoIterator`: the records, each waited for
/// on this thread, the consumer going with the iterator. Once `None`,
/// always `None`.
///
/// # Examples
///
/// ```
/// let (producer, consumer) = confluo::bridge(std::num::NonZeroUsize::new(2).unwrap());
/// let reader = std::thread::spawn(move || consumer.into_iter().collect::<Vec<u32>>());
/// smol::block_on(async {
///     for reading in 0..5 {
///         producer.send(reading).await.unwrap(); // waits while the bridge is full
///     }
/// });
/// drop(producer); // the end of the stream
/// assert_eq!(reader.join().unwrap(), [0, 1, 2, 3, 4]);
/// ```
#[must_use = "iterators do nothing unless iterated"]
pub struct IntoRecords<T> {
    consumer: Consumer<T>,
}

impl<T> IntoRecords<T> {
    /// The consumer back, to be used otherwise (as a `Stream`, say).
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, consumer) = confluo::bridge(std::num::NonZeroUsize::new(2).unwrap());
    /// producer.try_send(1).unwrap();
    /// let mut records = consumer.into_iter();
    /// assert_eq!(records.next(), Some(1));
    /// let consumer = records.into_inner();
    /// assert_eq!(consumer.stats().received(), 1);
    /// ```
    pub fn into_inner(self) -> Consumer<T> {
        self.consumer
    }
}

/// The iterator traits of `Records` and `IntoRecords`, passed on to the consumer
/// each holds (`consumer`, by reference or by value).
macro_rules! records_iterator {
    ($name:ident<$($lifetime:lifetime,)? $t:ident>) => {
        impl<$($lifetime,)? $t> Iterator for $name<$($lifetime,)? $t> {
            type Item = $t;

            fn next(&mut self) -> Option<$t> {
                self.consumer.recv_blocking()
            }

            /// At least the records in hand and in the bridge now.
            fn size_hint(&self) -> (usize, Option<usize>) {
                self.consumer.size()
            }
        }

        impl<$($lifetime,)? $t> FusedIterator for $name<$($lifetime,)? $t> {}

        impl<$($lifetime,)? $t> fmt::Debug for $name<$($lifetime,)? $t> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("consumer", &self.consumer)
                    .finish()
            }
        }
    };
}

records_iterator!(Records<'a, T>);
records_iterator!(IntoRecords<T>);

/// The records, each waited for on this thread: `for record in consumer`.
impl<T> IntoIterator for Consumer<T> {
    type Item = T;
    type IntoIter = IntoRecords<T>;

    fn into_iter(self) -> IntoRecords<T> {
        IntoRecords { consumer: self }
    }
}

/// The records, each waited for on this thread, the consumer staying:
/// `for record in &mut consumer`.
impl<'a, T> IntoIterator for &'a mut Consumer<T> {
    type Item = T;
    type IntoIter = Records<'a, T>;

    fn into_iter(self) -> Records<'a, T> {
        self.iter()
    }
}
