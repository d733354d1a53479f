//! The bridge between async ingestion and synchronous consumers: a bounded
//! channel with backpressure, whose closing is the end-of-stream sentinel.
//!
//! What a full bridge does is its [`Overflow`] policy: wait (`Block`, the
//! default: lossless pipelines), drop the oldest record waiting
//! (`DropOldest`: live dashboards, the freshest data), or drop the record
//! that found it full (`DropNewest`: when the past matters more than the
//! latest). Under each, the bridge holds at most its capacity; what is
//! dropped is counted exactly and handed to an [`OnDrop`] callback, whose
//! panic reaches the sender's caller once the bridge is consistent
//! (`overflow.rs`).

mod consumer;
#[cfg(all(test, confluo_loom))]
mod model;
mod overflow;
#[cfg(feature = "std")]
mod park;
mod producer;
mod pump;
mod pumped;
mod recv_error;
mod room;
mod router;
mod send_error;
mod shared;
mod stats;

use alloc::boxed::Box;
use core::fmt;
use core::num::NonZeroUsize;

use crate::sync::atomic::AtomicUsize;
use crate::sync::Arc;
use room::Room;
use shared::{Message, Shared};

pub use consumer::Consumer;
#[cfg(feature = "std")]
pub use consumer::{IntoRecords, Records};
pub use overflow::{OnDrop, Overflow};
pub use producer::Producer;
pub use pumped::Pumped;
pub use recv_error::{RecvTimeoutError, TryRecvError};
pub use router::Router;
pub use send_error::{SendError, TrySendError};
pub use stats::Stats;

/// Builds a bridge: a bounded channel from async [`Producer`]s to
/// [`Consumer`]s, which may block on threads (`for record in consumer`).
///
/// # Backpressure and memory
///
/// At most `capacity` records are in the bridge: sent and not yet handed out
/// by a consumer, counting the rest of a batch a consumer has begun. A
/// producer that finds it full waits (under the default
/// [`Overflow::Block`]), so the stream it pumps is not polled, and the
/// sources behind it are not read, until a consumer hands records out.
///
/// # Ending
///
/// When every producer is gone (dropped, or its pump ended), or an end
/// closed the bridge ([`Producer::close`], [`Consumer::close`]), consumers
/// drain what is left and then end: the closing is the sentinel, so they need not
/// know how many records will come. When every consumer is gone, or an end
/// closed the bridge, producers fail at once, and a pump drops its stream; records still in the bridge
/// then are dropped with it, never received ([`Stats::depth`] counts them).
/// A consumer that goes while others stay hands the rest of its batch back
/// to them, and so consumers end only once no consumer holds records of a
/// batch (see [`Consumer`]).
///
/// # Overflow
///
/// What a producer does when it finds the bridge full is the bridge's
/// [`Overflow`] policy, set with [`overflow`](Bridge::overflow): wait, as
/// above ([`Overflow::Block`], the default: lossless pipelines), or never
/// wait and drop a record, counted in [`Stats::dropped`] and handed to an
/// [`on_drop`](Bridge::on_drop) callback: the oldest waiting
/// ([`Overflow::DropOldest`]: live dashboards, the freshest data) or the one
/// that found the bridge full ([`Overflow::DropNewest`]: when the past
/// matters more than the latest). The bridge holds at most `capacity`
/// records under each.
///
/// # Ordering
///
/// Records from one producer arrive in the order they were sent. With one
/// consumer, that is all: in particular a `Gather`'s per-source order is kept.
/// With several consumers, each record goes to exactly one of them and no
/// order holds across consumers. To keep per-source order with several
/// consumers, use [`Bridge::partitioned`]: a [`Router`] sends all records of
/// one key (a sensor id, say) to the same consumer.
///
/// # Examples
///
/// ```
/// use confluo::Bridge;
/// use std::num::NonZeroUsize;
///
/// let (producer, consumer) = Bridge::new(NonZeroUsize::new(64).unwrap()).open();
/// let worker = std::thread::spawn(move || consumer.into_iter().map(|x: u32| x * 2).sum::<u32>());
/// smol::block_on(async {
///     for x in 1..=3 {
///         producer.send(x).await.unwrap();
///     }
/// });
/// drop(producer); // the sentinel: the consumer ends after draining
/// assert_eq!(worker.join().unwrap(), 12);
/// ```
///
/// The type parameter is the [`OnDrop`] callback's type, `()` (none) until
/// [`on_drop`](Bridge::on_drop) sets one.
#[derive(Clone, Copy)]
pub struct Bridge<D = ()> {
    capacity: NonZeroUsize,
    batch: NonZeroUsize,
    overflow: Overflow,
    on_drop: D,
}

impl<D> fmt::Debug for Bridge<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge")
            .field("capacity", &self.capacity)
            .field("batch", &self.batch)
            .field("overflow", &self.overflow)
            .finish_non_exhaustive()
    }
}

impl Bridge {
    /// A bridge that holds at most `capacity` records. A capacity of zero is
    /// not representable: a rendezvous would not bound anything more.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Bridge;
    /// use std::num::NonZeroUsize;
    ///
    /// let (producer, _consumer) = Bridge::new(NonZeroUsize::new(8).unwrap()).open::<u8>();
    /// assert_eq!(producer.capacity(), 8);
    /// ```
    pub fn new(capacity: NonZeroUsize) -> Self {
        Bridge {
            capacity,
            batch: NonZeroUsize::MIN,
            overflow: Overflow::Block,
            on_drop: (),
        }
    }
}

impl<D> Bridge<D> {
    /// Moves up to `records` records per channel message when a pump finds
    /// them ready at once, for throughput. Consumers still see one record at
    /// a time; a partial batch is sent as soon as the stream has nothing
    /// ready, so batching adds no latency. A batch never takes more than the
    /// room left, so the capacity still counts records. A message is
    /// allocated for what the last message held (at least 16 records) and
    /// grows with what is ready, so a large batch costs memory only as far
    /// as the stream fills it: after a full batch, the next message
    /// reserves a full batch too, even when fewer records are ready. A
    /// producer that found a batching bridge full goes on once
    /// half of it is free, and fills many batches before it waits again: a
    /// record waits as long as it would behind a full bridge, and producers
    /// are woken far less often.
    ///
    /// Give the bridge room for many batches (a capacity of a few hundred
    /// batches or more): with room for only a few, the consumer thread
    /// drains them, parks, and is woken once per batch, which costs most of
    /// what batching saves (see `BENCHMARKS.md`).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Bridge;
    /// use std::num::NonZeroUsize;
    ///
    /// let (producer, consumer) = Bridge::new(NonZeroUsize::new(1024).unwrap())
    ///     .batch(NonZeroUsize::new(64).unwrap())
    ///     .open();
    /// let pumped = smol::block_on(producer.pump(futures::stream::iter(0..1000u32)));
    /// assert_eq!(pumped.forwarded(), 1000);
    /// assert_eq!(consumer.into_iter().sum::<u32>(), 999 * 1000 / 2);
    /// ```
    pub fn batch(self, records: NonZeroUsize) -> Self {
        Bridge {
            batch: records,
            ..self
        }
    }

    /// What a producer does when it finds the bridge full: wait
    /// ([`Overflow::Block`], the default), or drop a record
    /// ([`Overflow::DropNewest`], [`Overflow::DropOldest`]; see
    /// [`Overflow`] for which fits which use).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::{Bridge, Overflow};
    /// use std::num::NonZeroUsize;
    ///
    /// // A live dashboard: the three freshest readings, whatever the pace.
    /// let (producer, consumer) = Bridge::new(NonZeroUsize::new(3).unwrap())
    ///     .overflow(Overflow::DropOldest)
    ///     .open();
    /// let pumped = smol::block_on(producer.pump(futures::stream::iter(0..10)));
    /// assert_eq!(pumped.forwarded(), 10); // never waited
    /// assert_eq!(consumer.stats().dropped(), 7);
    /// assert_eq!(consumer.into_iter().collect::<Vec<_>>(), [7, 8, 9]);
    /// ```
    pub fn overflow(self, policy: Overflow) -> Self {
        Bridge {
            overflow: policy,
            ..self
        }
    }

    /// Hands every record the [`Overflow`] policy drops to `on_drop`, on
    /// the thread of the send that dropped it, once the bridge is
    /// consistent again (see [`OnDrop`], also for a callback that panics).
    /// Under [`Overflow::Block`] nothing is dropped, and it is never called.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::{Bridge, Overflow};
    /// use std::num::NonZeroUsize;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    ///
    /// let lost = Arc::new(AtomicU32::new(0));
    /// let (producer, _consumer) = Bridge::new(NonZeroUsize::new(1).unwrap())
    ///     .overflow(Overflow::DropNewest)
    ///     .on_drop({
    ///         let lost = Arc::clone(&lost);
    ///         move |reading: u32| {
    ///             lost.fetch_add(reading, Ordering::Relaxed);
    ///         }
    ///     })
    ///     .open();
    /// for reading in [1, 10, 100] {
    ///     producer.try_send(reading).unwrap();
    /// }
    /// assert_eq!(lost.load(Ordering::Relaxed), 110); // the two that found it full
    /// ```
    pub fn on_drop<F>(self, on_drop: F) -> Bridge<F> {
        Bridge {
            capacity: self.capacity,
            batch: self.batch,
            overflow: self.overflow,
            on_drop,
        }
    }

    /// The shape of the bridge, without its callback: what each producer
    /// keeps.
    fn shape(&self) -> Bridge {
        Bridge {
            capacity: self.capacity,
            batch: self.batch,
            overflow: self.overflow,
            on_drop: (),
        }
    }

    /// Opens the bridge: its first producer and first consumer. Both can be
    /// cloned.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Bridge;
    /// use std::num::NonZeroUsize;
    ///
    /// let (producer, consumer) = Bridge::new(NonZeroUsize::new(4).unwrap()).open();
    /// producer.try_send("reading").unwrap();
    /// drop(producer);
    /// assert_eq!(consumer.into_iter().collect::<Vec<_>>(), ["reading"]);
    /// ```
    pub fn open<T>(self) -> (Producer<T>, Consumer<T>)
    where
        D: OnDrop<T> + 'static,
    {
        let shape = self.shape();
        shape.open_with(overflow::boxed(self.on_drop))
    }
}

impl Bridge {
    /// Opens a bridge of this shape with its callback.
    fn open_with<T>(self, on_drop: Box<dyn OnDrop<T>>) -> (Producer<T>, Consumer<T>) {
        let capacity = self.capacity.get();
        // One record per message: the channel's own bound counts records.
        // Batches: the room counts them, and the channel need not.
        let ((sender, receiver), room) = if self.batch.get() == 1 {
            (async_channel::bounded(capacity), None)
        } else {
            (async_channel::unbounded(), Some(Room::new(capacity)))
        };
        let oldest = match self.overflow {
            Overflow::DropOldest => Some(receiver.clone()),
            Overflow::Block | Overflow::DropNewest => None,
        };
        let shared = Arc::new(Shared {
            stats: stats::Counters::new(),
            room,
            consumers: AtomicUsize::new(1),
            oldest,
            on_drop,
        });
        let put_back = sender.downgrade();
        (
            Producer::new(sender, Arc::clone(&shared), self),
            Consumer::new(receiver, put_back, shared),
        )
    }
}

/// Opens a bridge that holds at most `capacity` records: shorthand for
/// `Bridge::new(capacity).open()`.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
///
/// let (producer, consumer) = confluo::bridge(NonZeroUsize::new(16).unwrap());
/// let pump = producer.pump(futures::stream::iter(["a", "b"]));
/// assert_eq!(smol::block_on(pump).forwarded(), 2);
/// assert_eq!(consumer.into_iter().collect::<Vec<_>>(), ["a", "b"]);
/// ```
pub fn bridge<T>(capacity: NonZeroUsize) -> (Producer<T>, Consumer<T>) {
    Bridge::new(capacity).open()
}
