//! [`ShardedHandle`]: sources spread over several [`KeyedGather`]s, each
//! driven on a task of its own, so that their I/O runs on every worker
//! thread, behind one handle that places each source by its key.

use alloc::vec::Vec;
use core::fmt;
use core::hash::Hash;
use core::num::NonZeroUsize;

use super::handle::PushError;
use super::keyed_handle::KeyedHandle;
use super::KeyedGather;
use crate::sample::stable_hash;

/// One handle over several [`KeyedGather`]s, the shards, that places each
/// source on a shard by its key.
///
/// One `Gather` is one task, and so one worker thread at a time: the I/O
/// of all its sources (system calls, parsing) runs there. Shards spread
/// the sources over K `KeyedGather`s, which you drive on K tasks of your
/// executor (one per worker thread, say); confluo spawns nothing. Made by
/// [`KeyedGather::sharded`]; cloned freely, usable from any thread.
///
/// # Placement
///
/// The shard of a key is [`stable_hash`]`(key) % K`: the same in every run
/// and every process, so a key always lands on the same shard, and an
/// insert under a key taken replaces its source there, as
/// [`KeyedHandle::insert`] says. [`shard_of`](ShardedHandle::shard_of)
/// tells it.
///
/// # Into one bridge
///
/// Each shard yields `(key, item)`. Pump every shard into one bridge
/// through clones of one [`Router`](crate::Router), routing by a hash of
/// the key, and a key's items reach one consumer in order, as they left
/// its source. Routed by [`stable_hash`] of the key, as the shards are
/// placed, with as many partitions as shards, each shard sends to one
/// partition only.
///
/// # The end
///
/// Each shard follows the channel rule of [`KeyedHandle`]: it waits while
/// it is empty and a `ShardedHandle` is left, and ends once every one is
/// gone and its sources have ended.
///
/// # Examples
///
/// Four shards, each on a task of a two-thread executor, pumping into two
/// partitions:
///
/// ```
/// use confluo::{sample::stable_hash, Bridge, KeyedGather};
/// use std::num::NonZeroUsize;
///
/// let executor = async_executor::Executor::new();
/// let (handle, shards) = KeyedGather::sharded(NonZeroUsize::new(4).unwrap());
/// let (router, consumers) = Bridge::new(NonZeroUsize::new(64).unwrap())
///     .partitioned::<(u32, u32)>(NonZeroUsize::new(2).unwrap());
/// let pumps: Vec<_> = shards
///     .into_iter()
///     .map(|shard| {
///         let router = router.clone();
///         executor.spawn(router.pump_by(shard, |(sensor, _)| stable_hash(sensor) as usize))
///     })
///     .collect();
/// drop(router);
/// for sensor in 0..10 {
///     handle.insert(sensor, futures::stream::iter(0..3)).unwrap();
/// }
/// drop(handle); // the shards end once their sources have
///
/// let consumers: Vec<_> = consumers
///     .into_iter()
///     .map(|consumer| std::thread::spawn(move || consumer.into_iter().collect::<Vec<_>>()))
///     .collect();
/// let (stop, stopped) = async_channel::bounded::<()>(1);
/// std::thread::scope(|scope| {
///     scope.spawn(|| smol::block_on(executor.run(stopped.recv())));
///     smol::block_on(executor.run(futures::future::join_all(pumps)));
///     drop(stop);
/// });
/// for consumer in consumers {
///     let readings = consumer.join().unwrap();
///     for sensor in 0..10 {
///         let seqs: Vec<u32> = readings.iter().filter(|r| r.0 == sensor).map(|r| r.1).collect();
///         assert!(seqs.is_empty() || seqs == [0, 1, 2]); // whole and in order
///     }
/// }
/// ```
pub struct ShardedHandle<K, S> {
    shards: Vec<KeyedHandle<K, S>>,
}

#[cfg(feature = "std")]
impl<K, S> KeyedGather<K, S> {
    /// Opens `shards` empty `KeyedGather`s behind one [`ShardedHandle`],
    /// each hashing keys with std's `RandomState`, and returns the handle
    /// and the shards, to drive on a task each.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::KeyedGather;
    /// use std::num::NonZeroUsize;
    ///
    /// let (handle, shards) =
    ///     KeyedGather::<&str, futures::stream::Empty<u8>>::sharded(NonZeroUsize::new(2).unwrap());
    /// assert_eq!((handle.shards(), shards.len()), (2, 2));
    /// ```
    pub fn sharded(shards: NonZeroUsize) -> (ShardedHandle<K, S>, Vec<KeyedGather<K, S>>) {
        Self::sharded_with_hasher(shards, Default::default())
    }
}

impl<K, S, H: Clone> KeyedGather<K, S, H> {
    /// [`sharded`](KeyedGather::sharded), with each shard hashing its keys
    /// with a clone of `hasher` (placement on shards is by [`stable_hash`]
    /// whatever the hasher).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::KeyedGather;
    /// use std::collections::hash_map::DefaultHasher;
    /// use std::hash::BuildHasherDefault;
    /// use std::num::NonZeroUsize;
    ///
    /// let (handle, shards) = KeyedGather::<u32, futures::stream::Empty<u8>, _>::sharded_with_hasher(
    ///     NonZeroUsize::new(3).unwrap(),
    ///     BuildHasherDefault::<DefaultHasher>::default(),
    /// );
    /// assert_eq!(handle.shards(), 3);
    /// ```
    // The pair, as `Bridge::partitioned` gives its router and consumers.
    #[allow(clippy::type_complexity)]
    pub fn sharded_with_hasher(
        shards: NonZeroUsize,
        hasher: H,
    ) -> (ShardedHandle<K, S>, Vec<KeyedGather<K, S, H>>) {
        let mut gathers: Vec<_> = (0..shards.get())
            .map(|_| KeyedGather::with_hasher(hasher.clone()))
            .collect();
        let handles = gathers.iter_mut().map(KeyedGather::handle).collect();
        (ShardedHandle { shards: handles }, gathers)
    }
}

impl<K: Hash, S> ShardedHandle<K, S> {
    /// Queues `source` under `key` on the shard of `key`: see
    /// [`KeyedHandle::insert`].
    ///
    /// # Errors
    ///
    /// If that shard was dropped, the source comes back in the error.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::KeyedGather;
    /// use futures::StreamExt;
    /// use std::num::NonZeroUsize;
    ///
    /// # smol::block_on(async {
    /// let (handle, mut shards) = KeyedGather::sharded(NonZeroUsize::new(2).unwrap());
    /// handle.insert("boiler", futures::stream::iter([71])).unwrap();
    /// let shard = &mut shards[handle.shard_of("boiler")];
    /// assert_eq!(shard.next().await, Some(("boiler", 71)));
    /// # });
    /// ```
    pub fn insert(&self, key: K, source: S) -> Result<(), PushError<S>> {
        self.shards[self.shard_of(&key)].insert(key, source)
    }

    /// Queues the removal of the source under `key` on the shard of `key`:
    /// see [`KeyedHandle::remove`]. False if that shard was dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::KeyedGather;
    /// use std::num::NonZeroUsize;
    ///
    /// let (handle, mut shards) = KeyedGather::sharded(NonZeroUsize::new(2).unwrap());
    /// handle.insert(7, futures::stream::pending::<u8>()).unwrap();
    /// assert!(handle.remove(7));
    /// let shard = &mut shards[handle.shard_of(&7)];
    /// assert!(shard.remove(&7).is_none()); // taken in, with the insert before it
    /// ```
    pub fn remove(&self, key: K) -> bool {
        self.shards[self.shard_of(&key)].remove(key)
    }
}

impl<K, S> ShardedHandle<K, S> {
    /// The shard of `key`: `stable_hash(key) % shards`. A key borrowed
    /// from `K` (a `&str` for a `String`) hashes as `K` does, as in
    /// `HashMap`.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::{sample::stable_hash, KeyedGather};
    /// use std::num::NonZeroUsize;
    ///
    /// let (handle, _shards) =
    ///     KeyedGather::<String, futures::stream::Empty<u8>>::sharded(NonZeroUsize::new(4).unwrap());
    /// assert_eq!(handle.shard_of("boiler"), (stable_hash("boiler") % 4) as usize);
    /// ```
    pub fn shard_of<Q>(&self, key: &Q) -> usize
    where
        K: core::borrow::Borrow<Q>,
        Q: Hash + ?Sized,
    {
        // The remainder is below the number of shards, a `usize`.
        (stable_hash(key) % self.shards.len() as u64) as usize
    }

    /// How many shards there are.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::KeyedGather;
    /// use std::num::NonZeroUsize;
    ///
    /// let (handle, _shards) =
    ///     KeyedGather::<u8, futures::stream::Empty<u8>>::sharded(NonZeroUsize::new(3).unwrap());
    /// assert_eq!(handle.shards(), 3);
    /// ```
    pub fn shards(&self) -> usize {
        self.shards.len()
    }
}

impl<K, S> Clone for ShardedHandle<K, S> {
    fn clone(&self) -> Self {
        ShardedHandle {
            shards: self.shards.clone(),
        }
    }
}

impl<K, S> fmt::Debug for ShardedHandle<K, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedHandle")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}
