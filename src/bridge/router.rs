//! The router: one async end over several bridges (partitions), which
//! sends each record to the partition of its key, so that all records of a
//! key reach one consumer, in order.

use alloc::vec::Vec;
use core::fmt;
use core::num::NonZeroUsize;

use futures_core::Stream;

use super::overflow::{boxed, SharedOnDrop};
use super::pump;
use super::{Bridge, Consumer, OnDrop, Producer, Pumped, SendError, Stats};
use crate::sync::Arc;

/// Routes records by key to one of several bridges, each with consumers of
/// its own, so that all records of one key reach one consumer in order.
///
/// Several consumers of one bridge share its records with no order between
/// them; a rolling window per sensor needs all of a sensor's readings, in
/// order, on one thread. A `Router` keeps that: records with the same key
/// (`key % partitions`) always go to the same partition.
///
/// # Backpressure
///
/// A full partition makes the router wait, and so holds back records for the
/// other partitions too: partitions move at the pace of the slowest one.
/// Under a drop policy ([`Bridge::overflow`]) nothing waits: each partition
/// drops by its own policy, counted in its own stats, and the others go on.
///
/// Cloning gives another router to the same partitions (its producers
/// cloned): a partition's consumers end when every router is gone.
///
/// # Examples
///
/// ```
/// use confluo::Bridge;
/// use std::num::NonZeroUsize;
///
/// let (router, consumers) = Bridge::new(NonZeroUsize::new(16).unwrap())
///     .partitioned::<(usize, u32)>(NonZeroUsize::new(2).unwrap());
/// let threads: Vec<_> = consumers
///     .into_iter()
///     .map(|consumer| std::thread::spawn(move || consumer.into_iter().collect::<Vec<_>>()))
///     .collect();
/// let readings = futures::stream::iter((0..4).flat_map(|seq| (0..3).map(move |sensor| (sensor, seq))));
/// smol::block_on(router.pump_by(readings, |&(sensor, _)| sensor));
/// for thread in threads {
///     let got = thread.join().unwrap();
///     for sensor in 0..3 {
///         let seqs: Vec<u32> = got.iter().filter(|r| r.0 == sensor).map(|r| r.1).collect();
///         assert!(seqs.is_empty() || seqs == [0, 1, 2, 3]); // whole and in order
///     }
/// }
/// ```
pub struct Router<T> {
    partitions: Vec<Producer<T>>,
}

impl<D> Bridge<D> {
    /// Opens `partitions` bridges of this shape behind one [`Router`], and
    /// returns the router and one consumer per partition. They share the
    /// [`on_drop`](Bridge::on_drop) callback, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Bridge;
    /// use std::num::NonZeroUsize;
    ///
    /// let (router, consumers) = Bridge::new(NonZeroUsize::new(4).unwrap())
    ///     .partitioned::<u8>(NonZeroUsize::new(3).unwrap());
    /// assert_eq!((router.partitions(), consumers.len()), (3, 3));
    /// ```
    pub fn partitioned<T>(self, partitions: NonZeroUsize) -> (Router<T>, Vec<Consumer<T>>)
    where
        D: OnDrop<T> + 'static,
    {
        let shape = self.shape();
        let on_drop = Arc::new(self.on_drop);
        let (partitions, consumers) = (0..partitions.get())
            .map(|_| shape.open_with(boxed(SharedOnDrop(Arc::clone(&on_drop)))))
            .unzip();
        (Router { partitions }, consumers)
    }
}

impl<T> Clone for Router<T> {
    fn clone(&self) -> Self {
        Router {
            partitions: self.partitions.clone(),
        }
    }
}

impl<T> Router<T> {
    /// What the partitions have seen so far, summed: records sent,
    /// received, dropped and in the partitions now, waits for room; the high-water mark is the
    /// sum of each partition's, an upper bound of how deep they were at
    /// once. A partition's own counters are its consumers'
    /// [`Consumer::stats`].
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Bridge;
    /// use std::num::NonZeroUsize;
    ///
    /// let (router, consumers) = Bridge::new(NonZeroUsize::new(4).unwrap())
    ///     .partitioned(NonZeroUsize::new(2).unwrap());
    /// let pump = router.clone().pump_by(futures::stream::iter([1, 2, 3]), |&n| n);
    /// smol::block_on(pump);
    /// assert_eq!(consumers[1].stats().sent(), 2); // 1 and 3
    /// let stats = router.stats();
    /// assert_eq!((stats.sent(), stats.depth()), (3, 3));
    /// ```
    pub fn stats(&self) -> Stats {
        self.partitions
            .iter()
            .map(Producer::stats)
            .reduce(Stats::add)
            .expect("a router has a partition at least")
    }

    /// How many partitions there are.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Bridge;
    /// use std::num::NonZeroUsize;
    ///
    /// let (router, _) = Bridge::new(NonZeroUsize::MIN).partitioned::<u8>(NonZeroUsize::MIN);
    /// assert_eq!(router.partitions(), 1);
    /// ```
    pub fn partitions(&self) -> usize {
        self.partitions.len()
    }

    /// Records in the partitions now, summed: each as [`Producer::len`]
    /// counts them. A snapshot: other ends may change it at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Bridge;
    /// use std::num::NonZeroUsize;
    ///
    /// let (router, mut consumers) = Bridge::new(NonZeroUsize::new(4).unwrap())
    ///     .partitioned(NonZeroUsize::new(2).unwrap());
    /// smol::block_on(async {
    ///     router.send(0, "even").await.unwrap();
    ///     router.send(1, "odd").await.unwrap();
    /// });
    /// assert_eq!(router.len(), 2);
    /// consumers[1].recv_blocking();
    /// assert_eq!(router.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.partitions
            .iter()
            .map(Producer::len)
            .fold(0, usize::saturating_add)
    }

    /// Whether no partition holds a record now ([`len`](Router::len) is 0).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Bridge;
    /// use std::num::NonZeroUsize;
    ///
    /// let (router, _consumers) = Bridge::new(NonZeroUsize::MIN).partitioned(NonZeroUsize::MIN);
    /// assert!(router.is_empty());
    /// smol::block_on(router.send(0, 'x')).unwrap();
    /// assert!(!router.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes every partition, as [`Producer::close`] closes a bridge:
    /// sends fail from now on (those waiting for room too, and a
    /// [`pump_by`](Router::pump_by) ends), and each partition's consumers
    /// drain what it holds, then end. Returns whether this call closed any
    /// partition (`false`: every one was closed already).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Bridge;
    /// use std::num::NonZeroUsize;
    ///
    /// let (router, consumers) = Bridge::new(NonZeroUsize::new(4).unwrap())
    ///     .partitioned(NonZeroUsize::new(2).unwrap());
    /// let other = router.clone();
    /// smol::block_on(router.send(1, "late")).unwrap();
    /// assert!(router.close());
    /// assert!(!other.close()); // closed already
    /// assert!(smol::block_on(other.send(0, "never")).is_err());
    /// let got: Vec<Vec<_>> = consumers.into_iter().map(|c| c.into_iter().collect()).collect();
    /// assert_eq!(got, [vec![], vec!["late"]]); // they end, though `other` lives
    /// ```
    pub fn close(&self) -> bool {
        // Every partition, not only up to the first that closes now.
        self.partitions
            .iter()
            .map(Producer::close)
            .fold(false, |closed, now| closed | now)
    }

    /// Whether every partition is closed: [`close`](Router::close) was
    /// called, or each partition's consumers are gone or closed it. Every
    /// send fails then.
    ///
    /// A partition also closes alone, when its consumers go or one of them
    /// [closes](Consumer::close) it: sends of its keys fail, and a
    /// [`pump_by`](Router::pump_by) ends at its next record for it, while
    /// `is_closed` stays `false` as long as another partition is open.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Bridge;
    /// use std::num::NonZeroUsize;
    ///
    /// let (router, mut consumers) = Bridge::new(NonZeroUsize::MIN)
    ///     .partitioned::<u8>(NonZeroUsize::new(2).unwrap());
    /// drop(consumers.pop());
    /// assert!(!router.is_closed()); // partition 0 is open
    /// drop(consumers.pop());
    /// assert!(router.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.partitions.iter().all(Producer::is_closed)
    }

    /// The producer of the partition that `key` goes to.
    fn route(&self, key: usize) -> &Producer<T> {
        &self.partitions[key % self.partitions.len()]
    }

    /// Sends one record to the partition of `key`, waiting while it is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the record when that partition has no consumer.
    ///
    /// # Cancel safety
    ///
    /// As [`Producer::send`]: dropping the future drops the record.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Bridge;
    /// use std::num::NonZeroUsize;
    ///
    /// let (router, mut consumers) = Bridge::new(NonZeroUsize::MIN).partitioned(NonZeroUsize::new(2).unwrap());
    /// smol::block_on(router.send(3, "odd")).unwrap();
    /// assert_eq!(consumers[1].recv_blocking(), Some("odd"));
    /// ```
    pub async fn send(&self, key: usize, record: T) -> Result<(), SendError<T>> {
        self.route(key).send(record).await
    }

    /// Forwards every item of `stream` to the partition of its key, then
    /// ends; or ends, dropping the stream, once a record's partition has no
    /// consumer left (or was closed), handing back the records it took and
    /// could not send.
    ///
    /// With [`Bridge::batch`], records are batched per partition as
    /// [`Producer::pump`] batches them: of the records the stream has ready
    /// at once, those of one partition travel in one message, in the order
    /// they came. A record whose partition is full waits, under
    /// [`Overflow::Block`](super::Overflow::Block), until the batches
    /// taken for the other partitions are sent.
    ///
    /// # Cancel safety
    ///
    /// As [`Producer::pump`]: dropping the pump drops the stream and the
    /// record in hand; records already sent stay in their bridges.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::{Bridge, Pumped};
    /// use std::num::NonZeroUsize;
    ///
    /// let (router, mut consumers) = Bridge::new(NonZeroUsize::new(8).unwrap())
    ///     .batch(NonZeroUsize::new(4).unwrap())
    ///     .partitioned(NonZeroUsize::new(2).unwrap());
    /// let pumped = smol::block_on(router.pump_by(futures::stream::iter([1, 2, 3, 5]), |&n| n));
    /// assert_eq!(pumped, Pumped::Ended { forwarded: 4 });
    /// // Partition 1 got 1, 3 and 5 in one message: one left in the channel.
    /// assert_eq!(consumers[1].iter().size_hint(), (1, None));
    /// assert_eq!(consumers.remove(0).into_iter().collect::<Vec<_>>(), [2]);
    /// assert_eq!(consumers.remove(0).into_iter().collect::<Vec<_>>(), [1, 3, 5]);
    /// ```
    ///
    /// When a partition's consumers are gone, the records taken for it come
    /// back; those of the other partitions are sent:
    ///
    /// ```
    /// use confluo::{Bridge, Pumped};
    /// use std::num::NonZeroUsize;
    ///
    /// let (router, mut consumers) = Bridge::new(NonZeroUsize::new(8).unwrap())
    ///     .batch(NonZeroUsize::new(4).unwrap())
    ///     .partitioned(NonZeroUsize::new(2).unwrap());
    /// drop(consumers.pop()); // partition 1
    /// let pumped = smol::block_on(router.pump_by(futures::stream::iter([2, 3, 4]), |&n| n));
    /// assert_eq!(pumped, Pumped::ConsumersGone { forwarded: 1, unsent: vec![3] });
    /// assert_eq!(consumers.remove(0).into_iter().collect::<Vec<_>>(), [2]);
    /// ```
    pub async fn pump_by<S, K>(self, stream: S, mut key: K) -> Pumped<T>
    where
        S: Stream<Item = T>,
        K: FnMut(&T) -> usize,
    {
        let partitions = self.partitions.len();
        pump::pump(&self.partitions, stream, |record| key(record) % partitions).await
    }
}

impl<T> fmt::Debug for Router<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.partitions).finish()
    }
}
