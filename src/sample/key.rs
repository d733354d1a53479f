//! A hash of a key that is the same in every run and on every platform,
//! for phases spread by key.

use core::hash::{Hash, Hasher};

/// FNV-1a over the bytes a key's `Hash` writes, with every integer written
/// little-endian and `usize`/`isize` widened to 64 bits, so that neither the
/// byte order nor the pointer width of the platform changes the result.
struct StableHasher(u64);

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Hasher for StableHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
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

    /// The SplitMix64 finalizer over the FNV-1a state: FNV-1a leaves the
    /// high bits weakly mixed by the last bytes, and the phase is taken
    /// from the high bits.
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A hash of `key` that every process computes the same, on every
/// platform and with every Rust release: the hash by which
/// [`Schedule::phase_from_key`](super::Schedule::phase_from_key) spreads
/// phases, for placing keys elsewhere alike (partitions, shards).
///
/// It is FNV-1a over the bytes the key's `Hash` writes, every integer
/// little-endian and `usize`/`isize` as 64 bits, then SplitMix64's
/// finalizer. It is not meant to resist keys chosen to collide.
///
/// # Examples
///
/// A key's partition, the same in every process:
///
/// ```
/// use confluo::sample::stable_hash;
///
/// let partition = |key: &str| stable_hash(key) % 8;
/// assert_eq!(partition("boiler"), partition("boiler"));
/// assert_eq!(stable_hash(&7u32), stable_hash(&7u32));
/// assert_eq!(stable_hash(&7usize), stable_hash(&7u64)); // widths agree
/// assert_eq!(stable_hash(&0u64), 0x813f_0174_a236_7c13); // pinned
/// ```
pub fn stable_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut hasher = StableHasher(FNV_OFFSET);
    key.hash(&mut hasher);
    hasher.finish()
}

/// `hash / 2^64` of `nanos`, rounded down: a point in `0..nanos` (for
/// `nanos > 0`), spread evenly as the hash is, without overflow for any
/// `nanos` a `Duration` holds (below 2^94).
pub(super) fn scale(hash: u64, nanos: u128) -> u128 {
    let high = nanos >> 64;
    let low = nanos & u128::from(u64::MAX);
    high * u128::from(hash) + ((low * u128::from(hash)) >> 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_of_known_bytes() {
        // The FNV-1a test vectors, before the finalizer.
        let mut hasher = StableHasher(FNV_OFFSET);
        assert_eq!(hasher.0, 0xcbf2_9ce4_8422_2325);
        hasher.write(b"a");
        assert_eq!(hasher.0, 0xaf63_dc4c_8601_ec8c);
        let mut hasher = StableHasher(FNV_OFFSET);
        hasher.write(b"foobar");
        assert_eq!(hasher.0, 0x8594_4171_f739_67e8);
    }

    #[test]
    fn integers_hash_as_their_little_endian_bytes() {
        let mut bytes = StableHasher(FNV_OFFSET);
        bytes.write(&[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(stable_hash(&1u64), bytes.finish());
        assert_eq!(stable_hash(&1usize), stable_hash(&1u64));
        assert_eq!(stable_hash(&-1isize), stable_hash(&-1i64));
    }

    #[test]
    fn scale_stays_below_the_span() {
        for nanos in [1u128, 7, 1 << 63, u128::from(u64::MAX), 1 << 64, 1 << 93] {
            for hash in [0, 1, u64::MAX / 2, u64::MAX] {
                assert!(scale(hash, nanos) < nanos, "{hash} {nanos}");
            }
        }
        assert_eq!(scale(u64::MAX / 2 + 1, 1000), 500);
        assert_eq!(scale(1 << 63, 1 << 80), 1 << 79);
    }
}
