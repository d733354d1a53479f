//! The users' keys of a [`KeyedGather`](super::KeyedGather): a key to the
//! id of its source, and a slot to its source's key, both in O(1).
//!
//! # Why a table of our own
//!
//! The core of the crate is `no_std` + `alloc`, where there is no
//! `HashMap`. A `BTreeMap` would need `Ord` keys and cost O(log n) per
//! lookup; std's `HashMap` behind the `std` feature would give the keyed
//! form other bounds with and without `std` (features must only add); a
//! hash table crate would grow the dependency tree. This one is small:
//! open addressing with linear probing over a power-of-two table kept at
//! most half full, and deletion by shifting back the entries behind the
//! hole (no tombstones, so lookups stay short however many keys come and
//! go). The hasher is a `BuildHasher` of the user's (std's `RandomState` by
//! default, so a peer cannot pick keys that collide).
//!
//! A table entry is the slot of the source and 32 bits of its key's hash;
//! the key itself lives by slot, where an item's key is found by its
//! source's id.

use alloc::vec::Vec;
use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash, Hasher};

use super::id::SourceId;

/// An empty place in the table.
const EMPTY: u32 = u32::MAX;

/// A place in the table: a slot, and the low bits of its key's hash.
#[derive(Clone, Copy)]
struct Entry {
    slot: u32,
    hash: u32,
}

const VACANT: Entry = Entry {
    slot: EMPTY,
    hash: 0,
};

/// Keys by hash, and by slot.
pub(super) struct Keys<K, H> {
    hasher: H,
    /// A power of two long (or empty), at most half full.
    table: Vec<Entry>,
    /// The key of the source in each slot, with the source's id.
    by_slot: Vec<Option<(K, SourceId)>>,
    len: usize,
}

impl<K, H> Keys<K, H> {
    pub(super) fn with_hasher(hasher: H) -> Self {
        Keys {
            hasher,
            table: Vec::new(),
            by_slot: Vec::new(),
            len: 0,
        }
    }

    pub(super) fn hasher(&self) -> &H {
        &self.hasher
    }

    /// The key of the source `id`, if it has one.
    pub(super) fn key_of(&self, id: SourceId) -> Option<&K> {
        match self.by_slot.get(id.slot() as usize) {
            Some(Some((key, held))) if *held == id => Some(key),
            _ => None,
        }
    }

    /// Drops every key; the table keeps its room.
    pub(super) fn clear(&mut self) {
        self.table.iter_mut().for_each(|entry| *entry = VACANT);
        self.by_slot.iter_mut().for_each(|key| *key = None);
        self.len = 0;
    }
}

impl<K: Hash + Eq, H: BuildHasher> Keys<K, H> {
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u32 {
        let mut hasher = self.hasher.build_hasher();
        key.hash(&mut hasher);
        // The low bits pick the place; a table never has 2³² places.
        hasher.finish() as u32
    }

    fn mask(&self) -> usize {
        self.table.len().wrapping_sub(1)
    }

    /// The place of `key` in the table, if it is there.
    fn find<Q>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.len == 0 {
            return None;
        }
        let hash = self.hash(key);
        let mask = self.mask();
        let mut place = hash as usize & mask;
        loop {
            let entry = self.table[place];
            if entry.slot == EMPTY {
                return None;
            }
            if entry.hash == hash {
                if let Some((held, _)) = &self.by_slot[entry.slot as usize] {
                    if held.borrow() == key {
                        return Some(place);
                    }
                }
            }
            place = (place + 1) & mask;
        }
    }

    /// The id of the source named `key`, if any.
    pub(super) fn get<Q>(&self, key: &Q) -> Option<SourceId>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let place = self.find(key)?;
        let slot = self.table[place].slot as usize;
        self.by_slot[slot].as_ref().map(|(_, id)| *id)
    }

    /// Names the source `id` with `key`, which must not be in the table.
    pub(super) fn insert(&mut self, key: K, id: SourceId) {
        debug_assert!(self.find(&key).is_none(), "a key is inserted once");
        // The key of a source that left with no word to us (it panicked)
        // goes when its slot serves the next source.
        if let Some(Some((_, old))) = self.by_slot.get(id.slot() as usize) {
            let old = *old;
            if old != id {
                self.remove_id(old);
            }
        }
        if (self.len + 1) * 2 > self.table.len() {
            self.grow();
        }
        let hash = self.hash(&key);
        self.place(Entry {
            slot: id.slot(),
            hash,
        });
        let slot = id.slot() as usize;
        if self.by_slot.len() <= slot {
            self.by_slot.resize_with(slot + 1, || None);
        }
        self.by_slot[slot] = Some((key, id));
        self.len += 1;
    }

    /// Takes `key` out, with the id of its source.
    pub(super) fn remove<Q>(&mut self, key: &Q) -> Option<(K, SourceId)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let place = self.find(key)?;
        let slot = self.table[place].slot as usize;
        self.take_out(place);
        self.by_slot[slot].take()
    }

    /// Takes the key of the source `id` out, if it has one.
    pub(super) fn remove_id(&mut self, id: SourceId) -> Option<K> {
        let place = self.find(self.key_of(id)?)?;
        self.take_out(place);
        self.by_slot[id.slot() as usize].take().map(|(key, _)| key)
    }

    /// Empties `place`, and shifts back the entries of its run that may
    /// move, so every entry stays reachable from its own place.
    fn take_out(&mut self, place: usize) {
        let mask = self.mask();
        let mut hole = place;
        let mut next = (place + 1) & mask;
        while self.table[next].slot != EMPTY {
            let home = self.table[next].hash as usize & mask;
            // The entry may fill the hole if the hole lies between its home
            // place and where it is now.
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(hole) & mask {
                self.table[hole] = self.table[next];
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.table[hole] = VACANT;
        self.len -= 1;
    }

    /// Puts `entry` at the first empty place from its home on.
    fn place(&mut self, entry: Entry) {
        let mask = self.mask();
        let mut place = entry.hash as usize & mask;
        while self.table[place].slot != EMPTY {
            place = (place + 1) & mask;
        }
        self.table[place] = entry;
    }

    /// Doubles the table (8 places at first) and places every entry anew.
    fn grow(&mut self) {
        let size = (self.table.len() * 2).max(8);
        let old = core::mem::replace(&mut self.table, alloc::vec![VACANT; size]);
        for entry in old.into_iter().filter(|entry| entry.slot != EMPTY) {
            self.place(entry);
        }
    }
}

#[cfg(all(test, not(confluo_loom)))]
mod tests {
    use super::*;
    use core::hash::BuildHasherDefault;

    /// A hasher that keeps the last value written: keys pick their places,
    /// so runs and wraps are made on purpose.
    #[derive(Default)]
    struct Identity(u64);

    impl Hasher for Identity {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for &byte in bytes {
                self.0 = self.0 << 8 | u64::from(byte);
            }
        }
        fn write_u64(&mut self, value: u64) {
            self.0 = value;
        }
    }

    type Table = Keys<u64, BuildHasherDefault<Identity>>;

    fn id(slot: u32) -> SourceId {
        SourceId::new(slot, 0)
    }

    #[test]
    fn keys_are_found_by_key_and_by_id() {
        let mut keys = Table::with_hasher(Default::default());
        for slot in 0..100 {
            keys.insert(1000 + u64::from(slot), id(slot));
        }
        for slot in 0..100 {
            assert_eq!(keys.get(&(1000 + u64::from(slot))), Some(id(slot)));
            assert_eq!(keys.key_of(id(slot)), Some(&(1000 + u64::from(slot))));
        }
        assert_eq!(keys.get(&7), None);
        assert_eq!(keys.key_of(SourceId::new(3, 1)), None, "a stale id");
        assert!(keys.table.len() >= 200, "at most half full");
    }

    /// Keys that share a home place, in a run that wraps past the end of the
    /// table: taking any one out leaves every other one reachable.
    #[test]
    fn taking_a_key_out_of_a_run_keeps_the_rest_reachable() {
        for gone in 0..6u32 {
            let mut keys = Table::with_hasher(Default::default());
            // Sixteen places once grown: homes 14, 15, 14, 15, 14 and 0,
            // one run from place 14 to place 3.
            let homes = [14u64, 15, 30, 31, 46, 16];
            for (slot, &key) in homes.iter().enumerate() {
                keys.insert(key, id(slot as u32));
            }
            assert_eq!(keys.table.len(), 16, "grown once");
            let removed = keys.remove(&homes[gone as usize]);
            assert_eq!(removed, Some((homes[gone as usize], id(gone))));
            for (slot, key) in homes.iter().enumerate() {
                let found = keys.get(key);
                if slot as u32 == gone {
                    assert_eq!(found, None);
                } else {
                    assert_eq!(found, Some(id(slot as u32)), "key {key} after {gone} left");
                }
            }
            assert_eq!(
                keys.remove_id(id((gone + 1) % 6)),
                Some(homes[(gone as usize + 1) % 6])
            );
            assert_eq!(keys.len, 4);
        }
    }

    #[test]
    fn keys_come_and_go_without_filling_the_table() {
        let mut keys = Table::with_hasher(Default::default());
        for round in 0..10_000u64 {
            keys.insert(round, id((round % 3) as u32 + 10));
            if round >= 2 {
                assert_eq!(
                    keys.remove(&(round - 2)).map(|(key, _)| key),
                    Some(round - 2)
                );
            }
        }
        assert_eq!(keys.len, 2);
        assert_eq!(keys.table.len(), 8, "no tombstones: the table never grew");
        keys.clear();
        assert_eq!(keys.get(&9_999), None);
    }
}
