//! Which partition a record goes to: confluo's stable hash of its key
//! ([`confluo::sample::stable_hash`]), which every process computes the
//! same on every platform and with every Rust release, so that records of
//! one key from any producer share one partition.

use std::hash::Hash;

use confluo::sample::stable_hash;

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
