//! Which partition a record goes to: a hash of its key that every process,
//! on every platform and with every Rust release, computes the same, so
//! that records of one key from any producer share one partition.
//!
//! confluo's core has such a hash for the phases of its schedules, but keeps
//! it private; this is the same construction (FNV-1a over the bytes a key's
//! `Hash` writes, integers little-endian, then SplitMix64's finalizer).

use std::hash::{Hash, Hasher};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

struct StableHasher(u64);

impl Hasher for StableHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
        }
    }

    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }

    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }

    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }

    fn write_u128(&mut self, i: u128) {
        self.write(&i.to_le_bytes());
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn write_isize(&mut self, i: isize) {
        self.write_u64(i as i64 as u64);
    }

    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The stable hash of `key`.
pub(crate) fn stable_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut hasher = StableHasher(FNV_OFFSET);
    key.hash(&mut hasher);
    hasher.finish()
}

/// The partition of `key` among `partitions`.
pub(crate) fn partition_of<K: Hash + ?Sized>(key: &K, partitions: u32) -> u32 {
    (stable_hash(key) % u64::from(partitions)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_pinned() {
        // A change here moves every key to another partition: runs mixing
        // old and new producers would break per-key order.
        assert_eq!(stable_hash(&7u32), stable_hash(&7u32));
        assert_eq!(stable_hash(&7usize), stable_hash(&7u64));
        // FNV-1a of eight zero bytes, then SplitMix64's finalizer, computed apart from this code.
        assert_eq!(stable_hash(&0u64), 0x813f_0174_a236_7c13);
    }

    #[test]
    fn keys_spread_over_partitions() {
        let mut counts = [0u32; 4];
        for key in 0..4_000u32 {
            counts[partition_of(&key, 4) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&n| (800..1_200).contains(&n)),
            "{counts:?}"
        );
    }
}
