//! The atomics and the shared pointer the crate is built on, chosen in one
//! place: `core`'s and `alloc`'s by default; portable-atomic's with the
//! `portable-atomic` feature, for targets without compare-and-swap; loom's
//! under `--cfg confluo_loom`, for the model check of the wake path.
//!
//! Targets without 64-bit atomics (`thumbv7em`, `riscv32imac`, ...) take a
//! 32-bit path: a word of woken bits covers 32 sources instead of 64, and
//! the bridge's counters are 32 bits wide (they wrap at 2³²).
//! `--cfg confluo_no_atomic64` takes that path on any target, so the host's
//! tests cover it.

#[cfg(all(not(confluo_loom), not(feature = "portable-atomic")))]
pub(crate) use core::sync::atomic;
#[cfg(confluo_loom)]
pub(crate) use loom::sync::atomic;
#[cfg(all(not(confluo_loom), feature = "portable-atomic"))]
pub(crate) use portable_atomic as atomic;

#[cfg(not(feature = "portable-atomic"))]
pub(crate) use alloc::{sync::Arc, task::Wake};
#[cfg(feature = "portable-atomic")]
pub(crate) use portable_atomic_util::{task::Wake, Arc};

use atomic::Ordering;

/// The widest word the target's atomics handle natively: 64 bits, or 32
/// where 64-bit atomics are missing.
#[cfg(all(target_has_atomic = "64", not(confluo_no_atomic64)))]
pub(crate) type Word = u64;
#[cfg(all(target_has_atomic = "64", not(confluo_no_atomic64)))]
pub(crate) type AtomicWord = atomic::AtomicU64;
#[cfg(not(all(target_has_atomic = "64", not(confluo_no_atomic64))))]
pub(crate) type Word = u32;
#[cfg(not(all(target_has_atomic = "64", not(confluo_no_atomic64))))]
pub(crate) type AtomicWord = atomic::AtomicU32;

/// A count that only grows, kept with relaxed atomics: 64 bits wide where
/// the target has 64-bit atomics, else 32 bits, wrapping at 2³².
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicWord);

impl Counter {
    /// Adds `n` and returns the count before, wrapping where the counter
    /// is 32 bits wide.
    pub(crate) fn add(&self, n: u64) -> u64 {
        // Truncation is the documented wrap of a 32-bit counter.
        #[allow(clippy::useless_conversion)]
        u64::from(self.0.fetch_add(n as _, Ordering::Relaxed))
    }

    /// [`add`](Counter::add) for a counter that no other thread adds to
    /// meanwhile: a load and a store, not a read-modify-write, which on
    /// x86 is a full barrier. Adds from another thread at the same time
    /// would be lost.
    pub(crate) fn add_alone(&self, n: u64) -> u64 {
        let before = self.0.load(Ordering::Relaxed);
        // Truncation is the documented wrap of a 32-bit counter.
        #[allow(clippy::useless_conversion)]
        self.0.store(before.wrapping_add(n as _), Ordering::Relaxed);
        #[allow(clippy::useless_conversion)]
        u64::from(before)
    }

    /// The count so far.
    pub(crate) fn get(&self) -> u64 {
        #[allow(clippy::useless_conversion)]
        u64::from(self.0.load(Ordering::Relaxed))
    }

    /// How far the count `ahead` is past `behind`, two counts of counters
    /// of this width: right across a wrap, as long as they are less than
    /// half the width's range apart; 0 when `ahead` is behind after all.
    // Truncation to the counter's width is the point; on the 64-bit path
    // the casts and the conversion do nothing.
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    pub(crate) fn distance(ahead: u64, behind: u64) -> u64 {
        let distance = (ahead as Word).wrapping_sub(behind as Word);
        if distance > Word::MAX / 2 {
            0
        } else {
            u64::from(distance)
        }
    }
}
