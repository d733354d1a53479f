use core::num::NonZeroU32;
use core::time::Duration;

use super::key;
use super::period::{from_nanos, saturating_nanos};

/// How long a [`Sampler`](super::Sampler) waits before it tries to connect
/// again after failed connects: capped exponential backoff with jitter.
///
/// A failed connect is one that returned an error or timed out, or a
/// connection lost before it gave a reading; a reading ends the run.
/// After `n` failed connects in a row, the ceiling of the wait is
/// `first × factorⁿ⁻¹`, at most `max` ([`delay`](Backoff::delay)). The
/// wait itself is that ceiling less a random part of up to `jitter`
/// percent of it, so that sources that lost their connection at the same
/// moment do not all come back in the same instant; it never exceeds the
/// ceiling, so `max` is a hard cap. The random part comes from a small
/// generator (SplitMix64) seeded per source ([`Sampler::seed`](super::Sampler::seed)),
/// so the same source waits the same times in every run.
///
/// A `factor` of 0 counts as 1 (a constant wait), a `jitter` above 100 as
/// 100. With a `first` of zero, a failed connect is tried again at the
/// next slot.
///
/// # Examples
///
/// ```
/// use confluo::sample::Backoff;
/// use std::time::Duration;
///
/// let s = Duration::from_secs;
/// let backoff = Backoff { first: s(1), max: s(10), factor: 3, jitter: 0 };
/// let waits: Vec<_> = (1..=5).map(|n| backoff.delay(n)).collect();
/// assert_eq!(waits, [s(1), s(3), s(9), s(10), s(10)]);
/// assert_eq!(Backoff::default(), Backoff { first: s(1), max: s(60), factor: 2, jitter: 20 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Backoff {
    /// The wait after the first failed connect (its ceiling, with jitter).
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
    /// How much longer each wait is than the one before.
    pub factor: u32,
    /// How much of each wait, in percent, may be taken off at random.
    pub jitter: u8,
}

impl Default for Backoff {
    /// 1 s, then twice as long each time, at most a minute, up to 20 %
    /// less at random.
    fn default() -> Backoff {
        Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(60),
            factor: 2,
            jitter: 20,
        }
    }
}

impl Backoff {
    /// The ceiling of the wait after `failures` failed connects in a row
    /// (1 for the first): `first × factor^(failures - 1)`, at most `max`;
    /// zero for zero failures. The wait is this, less its jitter.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::Backoff;
    /// use std::time::Duration;
    ///
    /// let ms = Duration::from_millis;
    /// let backoff = Backoff { first: ms(100), max: ms(1000), ..Backoff::default() };
    /// assert_eq!(backoff.delay(1), ms(100));
    /// assert_eq!(backoff.delay(4), ms(800));
    /// assert_eq!(backoff.delay(5), ms(1000)); // capped
    /// assert_eq!(backoff.delay(u32::MAX), ms(1000));
    /// ```
    pub fn delay(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let max = self.max.as_nanos();
        let factor = u128::from(self.factor.max(1));
        let mut nanos = self.first.as_nanos().min(max);
        for _ in 1..failures {
            if nanos >= max || factor == 1 {
                break;
            }
            nanos = nanos.saturating_mul(factor).min(max);
        }
        from_nanos(nanos).unwrap_or(Duration::MAX)
    }

    /// The wait after `failures` failed connects, with its jitter taken
    /// from `random`.
    pub(super) fn jittered(&self, failures: u32, random: u64) -> Duration {
        let ceiling = self.delay(failures).as_nanos();
        let span = ceiling * u128::from(self.jitter.min(100)) / 100;
        from_nanos(ceiling - key::scale(random, span + 1)).unwrap_or(Duration::MAX)
    }
}

/// One source's failures in a row and when it may connect again: the
/// state a [`Backoff`] drives. A [`Sampler`](super::Sampler) keeps it in
/// a [`Retry`]; a [`Fleet`](super::Fleet) keeps one per source, beside
/// one backoff and one generator of jitter for them all.
///
/// A failure is a connect that failed or timed out, or a connection lost
/// (broken, or cut with a read that timed out) before it gave a reading.
/// A reading ends the run of failures; a connection lost after one is
/// opened again at the next slot, with no wait.
#[derive(Clone, Debug, Default)]
pub(super) struct Attempts {
    failures: u32,
    /// Whether the connection in use gave a reading.
    proven: bool,
    /// No connect before this time, in nanoseconds (0: at once). Eight
    /// bytes, not an `Option<Duration>`'s sixteen: a fleet holds one per
    /// source; times past 584 years are held as the latest one.
    at: u64,
}

impl Attempts {
    /// Counts a failure at `now`: the next connect waits for `backoff`,
    /// jittered with the next number of `random`.
    pub(super) fn failed(&mut self, now: Duration, backoff: &Backoff, random: &mut u64) {
        self.failures = self.failures.saturating_add(1);
        let wait = backoff.jittered(self.failures, split_mix(random));
        self.at = saturating_nanos(now.saturating_add(wait));
    }

    /// A connect succeeded: the connection has yet to prove itself.
    pub(super) fn connected(&mut self) {
        self.proven = false;
        self.at = 0;
    }

    /// A reading came: the run of failures is over.
    pub(super) fn reading(&mut self) {
        self.failures = 0;
        self.proven = true;
    }

    /// The connection was lost at `now`: a failure, unless it gave a
    /// reading.
    pub(super) fn lost(&mut self, now: Duration, backoff: &Backoff, random: &mut u64) {
        if !self.proven {
            self.failed(now, backoff, random);
        }
    }

    /// Failures in a row.
    pub(super) fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether a connect must wait at `now`.
    pub(super) fn waits(&self, now: Duration) -> bool {
        saturating_nanos(now) < self.at
    }

    /// When the next connect may be tried; `None`: at once.
    pub(super) fn at(&self) -> Option<Duration> {
        (self.at > 0).then(|| Duration::from_nanos(self.at))
    }
}

/// The [`Attempts`] of one [`Sampler`](super::Sampler), with its backoff,
/// its generator of jitter and when it gives up.
#[derive(Clone, Debug)]
pub(super) struct Retry {
    pub(super) backoff: Backoff,
    /// The state of the generator of the jitter.
    pub(super) random: u64,
    /// Failures in a row after which the source ends.
    pub(super) give_up: Option<NonZeroU32>,
    pub(super) attempts: Attempts,
}

impl Retry {
    pub(super) fn new(backoff: Backoff, seed: u64) -> Retry {
        Retry {
            backoff,
            random: seed,
            give_up: None,
            attempts: Attempts::default(),
        }
    }

    /// See [`Attempts::failed`].
    pub(super) fn failed(&mut self, now: Duration) {
        self.attempts.failed(now, &self.backoff, &mut self.random);
    }

    /// See [`Attempts::lost`].
    pub(super) fn lost(&mut self, now: Duration) {
        self.attempts.lost(now, &self.backoff, &mut self.random);
    }

    /// Whether the source has failed as many times in a row as it may.
    pub(super) fn gave_up(&self) -> bool {
        self.give_up
            .is_some_and(|n| self.attempts.failures() >= n.get())
    }
}

/// The next number of a SplitMix64 generator whose state is `state`.
fn split_mix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_mix_of_known_seeds() {
        // The first outputs of SplitMix64 from seed 0 (Vigna's reference).
        let mut state = 0;
        assert_eq!(split_mix(&mut state), 0xe220_a839_7b1d_cdaf);
        assert_eq!(split_mix(&mut state), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn jitter_stays_within_its_share() {
        let backoff = Backoff {
            first: Duration::from_secs(10),
            max: Duration::from_secs(10),
            factor: 2,
            jitter: 30,
        };
        assert_eq!(backoff.jittered(1, 0), Duration::from_secs(10));
        assert_eq!(backoff.jittered(1, u64::MAX), Duration::from_secs(7));
        let none = Backoff {
            jitter: 0,
            ..backoff
        };
        assert_eq!(none.jittered(1, u64::MAX), Duration::from_secs(10));
    }
}
