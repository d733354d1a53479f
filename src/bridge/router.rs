use alloc::vec::Vec;
use core::fmt;
use core::future::poll_fn;
use core::num::NonZeroUsize;
use core::pin::pin;

use futures_core::Stream;

use super::overflow::{boxed, SharedOnDrop};
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
///     .map(|consumer| std::thread::spawn(move || consumer.collect::<Vec<_>>()))
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
    /// assert_eq!(consumers[1].next(), Some("odd"));
    /// ```
    pub async fn send(&self, key: usize, record: T) -> Result<(), SendError<T>> {
        self.route(key).send(record).await
    }

    /// Forwards every item of `stream` to the partition of its key, then
    /// ends; or ends at once, dropping the stream, when a record's partition
    /// has no consumer left. Records travel one per message: a router does
    /// not batch, whatever [`Bridge::batch`] says.
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
    ///     .partitioned(NonZeroUsize::new(2).unwrap());
    /// let pumped = smol::block_on(router.pump_by(futures::stream::iter([1, 2, 3, 5]), |&n| n));
    /// assert_eq!(pumped, Pumped::Ended { forwarded: 4 });
    /// assert_eq!(consumers.remove(0).collect::<Vec<_>>(), [2]);
    /// assert_eq!(consumers.remove(0).collect::<Vec<_>>(), [1, 3, 5]);
    /// ```
    pub async fn pump_by<S, K>(self, stream: S, mut key: K) -> Pumped<T>
    where
        S: Stream<Item = T>,
        K: FnMut(&T) -> usize,
    {
        let mut stream = pin!(stream);
        let mut forwarded = 0;
        while let Some(record) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
            let partition = self.route(key(&record));
            if let Err(SendError(record)) = partition.send(record).await {
                return Pumped::ConsumersGone {
                    forwarded,
                    unsent: alloc::vec![record],
                };
            }
            forwarded += 1;
        }
        Pumped::Ended { forwarded }
    }
}

impl<T> fmt::Debug for Router<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.partitions).finish()
    }
}
