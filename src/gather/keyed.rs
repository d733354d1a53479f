//! [`KeyedGather`]: a [`Gather`] whose sources go by keys of the user's,
//! as in tokio-stream's `StreamMap` and futures-concurrency's
//! `StreamGroup`. The `Gather` does the polling; `keys.rs` finds a key's
//! source, and a source's key, in O(1); `keyed_stream.rs` polls it.

use alloc::boxed::Box;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::iter::FromIterator;
use core::num::NonZeroU32;
use core::pin::Pin;

use super::keyed_handle::Inbox;
use super::keys::Keys;
use super::Gather;
#[cfg(doc)]
use super::{KeyedHandle, ShardedHandle};

/// The struct, with std's `RandomState` as its default hasher where there
/// is std (features only add: without std, the hasher is named).
macro_rules! keyed_gather {
    ($($default:tt)*) => {
        /// A [`Gather`] whose sources go by keys of yours: items come with
        /// their source's key, and a source is removed, looked up or
        /// replaced by its key, in O(1), with no map of your own beside it.
        ///
        /// It polls as `Gather` does (only woken sources, in fair turns,
        /// see [`Gather`]), and yields `(key, item)`; a source that ends is
        /// dropped with its key, as
        /// [`poll_event`](KeyedGather::poll_event) reports
        /// ([`Event::Ended`](crate::Event::Ended) with the key). It ends when no source is left.
        ///
        /// # Keys
        ///
        /// Keys are `Hash + Eq`, as in `HashMap`, and hashed with `H`: std's
        /// `RandomState` by default (with the `std` feature), so that keys
        /// chosen by a peer cannot make the lookups slow. Without `std`,
        /// name a `BuildHasher` (from `foldhash`, `ahash` or `rustc-hash`,
        /// say) and build with [`with_hasher`](KeyedGather::with_hasher).
        /// Items carry a clone of their key: use cheap keys (numbers,
        /// `Arc<str>`).
        ///
        /// [`insert`](KeyedGather::insert) with a key already present
        /// replaces its source, as `HashMap::insert` does, and hands the old
        /// one back (a device that reconnects under its name replaces its
        /// old connection in one call); to refuse instead, ask
        /// [`contains`](KeyedGather::contains) first.
        ///
        /// # From other threads, and on every core
        ///
        /// [`handle`](KeyedGather::handle) gives a [`KeyedHandle`] that
        /// inserts and removes by key from any task or thread while the
        /// `KeyedGather` is polled; [`sharded`](KeyedGather::sharded) opens
        /// several `KeyedGather`s, to drive on a task each, behind one
        /// [`ShardedHandle`] that places each key on one of them.
        ///
        /// # Examples
        ///
        /// ```
        /// use confluo::KeyedGather;
        /// use futures::StreamExt;
        ///
        /// # smol::block_on(async {
        /// let mut sensors = KeyedGather::new();
        /// sensors.insert("boiler", futures::stream::iter(vec![71, 72]));
        /// sensors.insert("intake", futures::stream::iter(vec![12]));
        /// let mut readings: Vec<(&str, i32)> = sensors.collect().await;
        /// readings.sort();
        /// assert_eq!(readings, [("boiler", 71), ("boiler", 72), ("intake", 12)]);
        /// # });
        /// ```
        #[doc(alias = "StreamMap")]
        #[doc(alias = "StreamGroup")]
        #[must_use = "streams do nothing unless polled"]
        pub struct KeyedGather<K, S, H $($default)*> {
            pub(super) gather: Gather<S>,
            pub(super) keys: Keys<K, H>,
            pub(super) inbox: Inbox<K, S>,
        }
    };
}

#[cfg(feature = "std")]
keyed_gather!(= std::collections::hash_map::RandomState);
#[cfg(not(feature = "std"))]
keyed_gather!();

#[cfg(feature = "std")]
impl<K, S> KeyedGather<K, S> {
    /// An empty `KeyedGather`, hashing keys with std's `RandomState`.
    ///
    /// # Examples
    ///
    /// ```
    /// let sensors: confluo::KeyedGather<u32, futures::stream::Empty<u8>> =
    ///     confluo::KeyedGather::new();
    /// assert!(sensors.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_hasher(Default::default())
    }
}

#[cfg(feature = "std")]
impl<K, S> Default for KeyedGather<K, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, S, H> KeyedGather<K, S, H> {
    /// An empty `KeyedGather` that hashes keys with `hasher`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::hash::BuildHasherDefault;
    /// use std::collections::hash_map::DefaultHasher;
    ///
    /// let sensors: confluo::KeyedGather<u32, futures::stream::Empty<u8>, _> =
    ///     confluo::KeyedGather::with_hasher(BuildHasherDefault::<DefaultHasher>::default());
    /// assert!(sensors.is_empty());
    /// ```
    pub fn with_hasher(hasher: H) -> Self {
        KeyedGather {
            gather: Gather::new(),
            keys: Keys::with_hasher(hasher),
            inbox: Inbox::new(),
        }
    }

    /// Sets the turn of the `Gather` within: see [`Gather::with_turn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let sensors = confluo::KeyedGather::<u8, futures::stream::Empty<u8>>::new()
    ///     .with_turn(std::num::NonZeroU32::MIN);
    /// assert_eq!(sensors.turn().get(), 1);
    /// ```
    pub fn with_turn(mut self, items: NonZeroU32) -> Self {
        self.gather = self.gather.with_turn(items);
        self
    }

    /// The most items a ready source yields in a row: see
    /// [`Gather::with_turn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let sensors = confluo::KeyedGather::<u8, futures::stream::Empty<u8>>::new();
    /// assert_eq!(sensors.turn().get(), 64);
    /// ```
    pub fn turn(&self) -> NonZeroU32 {
        self.gather.turn()
    }

    /// The number of sources that have not ended or been removed.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut sensors = confluo::KeyedGather::new();
    /// sensors.insert(7, futures::stream::pending::<u8>());
    /// assert_eq!(sensors.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.gather.len()
    }

    /// True when no source is left.
    ///
    /// # Examples
    ///
    /// ```
    /// let sensors = confluo::KeyedGather::<u8, futures::stream::Empty<u8>>::new();
    /// assert!(sensors.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.gather.is_empty()
    }

    /// The hasher of the keys.
    ///
    /// # Examples
    ///
    /// ```
    /// let sensors = confluo::KeyedGather::<u8, futures::stream::Empty<u8>>::new();
    /// let _: &std::collections::hash_map::RandomState = sensors.hasher();
    /// ```
    pub fn hasher(&self) -> &H {
        self.keys.hasher()
    }

    /// Drops every source, and its key, now: see [`Gather::clear`].
    ///
    /// # Examples
    ///
    /// ```
    /// let mut sensors = confluo::KeyedGather::new();
    /// sensors.insert(7, futures::stream::pending::<u8>());
    /// sensors.clear();
    /// assert!(sensors.is_empty() && !sensors.contains(&7));
    /// ```
    pub fn clear(&mut self) {
        self.inbox.drop_changes();
        self.gather.clear();
        self.keys.clear();
    }
}

impl<K: Hash + Eq, S, H: BuildHasher> KeyedGather<K, S, H> {
    /// Adds `source` under `key`, and returns the source `key` named
    /// before, if any: it is taken out (not polled again) and handed back,
    /// with whatever it had not yielded yet. The new source is polled on
    /// the next call, as [`Gather::push`] says.
    ///
    /// # Panics
    ///
    /// If the `KeyedGather` already holds `u32::MAX - 1` sources.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::KeyedGather;
    /// use futures::StreamExt;
    ///
    /// # smol::block_on(async {
    /// let mut sensors = KeyedGather::new();
    /// assert!(sensors.insert("boiler", futures::stream::iter([1])).is_none());
    /// let old = sensors.insert("boiler", futures::stream::iter([2]));
    /// assert_eq!(old.unwrap().next().await, Some(1));
    /// assert_eq!(sensors.next().await, Some(("boiler", 2)));
    /// # });
    /// ```
    pub fn insert(&mut self, key: K, source: S) -> Option<Pin<Box<S>>> {
        self.take_changes();
        self.insert_taken(key, source)
    }

    /// [`insert`](Self::insert), once the handles' changes are taken in.
    pub(super) fn insert_taken(&mut self, key: K, source: S) -> Option<Pin<Box<S>>> {
        let old = self.remove_taken(&key);
        let id = self.gather.push(source);
        self.keys.insert(key, id);
        old
    }

    /// Removes the source named `key` and returns it, or `None` if no
    /// source goes by that key (it never did, it ended, or it was removed).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut sensors = confluo::KeyedGather::new();
    /// sensors.insert(String::from("boiler"), futures::stream::pending::<u8>());
    /// assert!(sensors.remove("boiler").is_some());
    /// assert!(sensors.remove("boiler").is_none());
    /// ```
    pub fn remove<Q>(&mut self, key: &Q) -> Option<Pin<Box<S>>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.take_changes();
        self.remove_taken(key)
    }

    /// [`remove`](Self::remove), once the handles' changes are taken in.
    pub(super) fn remove_taken<Q>(&mut self, key: &Q) -> Option<Pin<Box<S>>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (_, id) = self.keys.remove(key)?;
        self.gather.remove(id)
    }

    /// True if a source goes by `key`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut sensors = confluo::KeyedGather::new();
    /// sensors.insert(7, futures::stream::pending::<u8>());
    /// assert!(sensors.contains(&7));
    /// assert!(!sensors.contains(&8));
    /// ```
    #[doc(alias = "contains_key")]
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.keys
            .get(key)
            .is_some_and(|id| self.gather.contains(id))
    }

    /// The source named `key`, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::stream::{self, Stream};
    ///
    /// let mut sensors = confluo::KeyedGather::new();
    /// sensors.insert(7, stream::iter([1, 2]));
    /// assert_eq!(sensors.get(&7).map(|source| source.size_hint()), Some((2, Some(2))));
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Option<Pin<&S>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.gather.get(self.keys.get(key)?)
    }

    /// The source named `key`, pinned, if any. What polling it yourself
    /// means is said at [`Gather::get_mut`].
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// # smol::block_on(async {
    /// let mut sensors = confluo::KeyedGather::new();
    /// sensors.insert(7, futures::stream::iter([1, 2]));
    /// assert_eq!(sensors.get_mut(&7).unwrap().next().await, Some(1));
    /// assert_eq!(sensors.next().await, Some((7, 2)));
    /// # });
    /// ```
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<Pin<&mut S>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.take_changes();
        self.gather.get_mut(self.keys.get(key)?)
    }

    /// The sources without their keys, as a `Gather`: to close them all
    /// with [`close_all`](crate::guard::close_all), say. The changes
    /// queued by handles are taken in first; a [`KeyedHandle`] left can
    /// no longer insert (its source comes back), and the `Gather` waits
    /// for it to go before it ends, as for a handle of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut sensors = confluo::KeyedGather::new();
    /// sensors.insert("boiler", futures::stream::pending::<u8>());
    /// let gather: confluo::Gather<_> = sensors.into_gather();
    /// assert_eq!(gather.len(), 1);
    /// ```
    pub fn into_gather(mut self) -> Gather<S> {
        self.take_changes();
        self.gather
    }
}

/// Inserts each pair in turn: a key given twice keeps its last source.
impl<K: Hash + Eq, S, H: BuildHasher + Default> FromIterator<(K, S)> for KeyedGather<K, S, H> {
    fn from_iter<I: IntoIterator<Item = (K, S)>>(sources: I) -> Self {
        let mut keyed = KeyedGather::with_hasher(H::default());
        keyed.extend(sources);
        keyed
    }
}

/// Inserts each pair in turn: a key given twice keeps its last source.
impl<K: Hash + Eq, S, H: BuildHasher> Extend<(K, S)> for KeyedGather<K, S, H> {
    fn extend<I: IntoIterator<Item = (K, S)>>(&mut self, sources: I) {
        for (key, source) in sources {
            self.insert(key, source);
        }
    }
}

/// Nothing in it is pinned: the sources are boxed, and the keys and the
/// hasher are never handed out pinned.
impl<K, S, H> Unpin for KeyedGather<K, S, H> {}

impl<K, S, H> fmt::Debug for KeyedGather<K, S, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedGather")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
