use core::fmt;
use core::hash::Hash;
use core::time::Duration;

use super::grid::{Grid, Place};
use super::key;
use super::period::from_nanos;
use super::{Period, Ticks};
use crate::time::Clock;

/// What a [`Schedule`] does with slots whose time passed before it was
/// asked: the policy for missed ticks.
///
/// A slot is *missed* when [`Schedule::tick`] is first called after the
/// next slot was due too (a read that took longer than a period, a busy
/// executor, a suspended machine). A slot found late but before the next
/// one is due fires late, whatever the policy; only under `Delay` does
/// lateness beyond the schedule's [tolerance](Schedule::tolerance) move
/// the grid.
///
/// # Examples
///
/// ```
/// use confluo::sample::{Missed, Period, Schedule};
/// use std::time::Duration;
///
/// let s = Duration::from_secs;
/// let every = |missed| Schedule::every(Period::new(s(10)).unwrap()).missed(missed);
///
/// // Slot 0 fires at 0 s; the next look comes at 35 s, when slots 1, 2
/// // and 3 (10, 20, 30 s) have passed.
/// let mut skip = every(Missed::Skip);
/// skip.tick(s(0));
/// let last = skip.tick(s(35)).unwrap(); // slot 3, late; 1 and 2 skipped
/// assert_eq!((last.seq, last.late, last.skipped), (3, s(5), 2));
/// assert_eq!(skip.due(), Some(s(40))); // on the grid
///
/// let mut burst = every(Missed::Burst);
/// burst.tick(s(0));
/// let late: Vec<_> = std::iter::from_fn(|| burst.tick(s(35))).map(|t| t.late).collect();
/// assert_eq!(late, [s(25), s(15), s(5)]); // all three, late
/// assert_eq!(burst.due(), Some(s(40))); // on the grid
///
/// let mut delay = every(Missed::Delay);
/// delay.tick(s(0));
/// assert_eq!(delay.tick(s(35)).unwrap().late, s(25)); // slot 1, late
/// assert_eq!(delay.due(), Some(s(45))); // the grid moved
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Missed {
    /// The last slot due fires at once, late, and the missed slots before
    /// it are passed over, counted in its [`Tick::skipped`]; the next slot
    /// is on the grid. Samples stay on the grid, one per slot at most, and
    /// a caller that is always a little late still gets every slot, late
    /// (tokio's `MissedTickBehavior::Skip`). The default.
    #[default]
    Skip,
    /// Missed slots are fired at once, one per call, each late, until the
    /// schedule has caught up; the grid stays where it was. Every slot
    /// gets its sample, some of them late.
    Burst,
    /// The first missed slot is fired at once, late, and the grid starts
    /// over from that moment: the next slot is one period later. Nothing
    /// is skipped or bunched up; the phase is lost.
    Delay,
}

/// One slot of a [`Schedule`] that fires: which one, when it was due, and
/// how late it fires.
///
/// # Examples
///
/// ```
/// use confluo::sample::{Period, Schedule, Tick};
/// use std::time::Duration;
///
/// let ms = Duration::from_millis;
/// let mut schedule = Schedule::every(Period::new(ms(100)).unwrap());
/// schedule.tick(ms(0));
/// let tick = schedule.tick(ms(102)).unwrap();
/// assert_eq!(tick, Tick { seq: 1, due: ms(100), late: ms(2), skipped: 0 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tick {
    /// The slot's number on the schedule's grid, from 0. It grows by one
    /// per tick, plus the slots skipped before it.
    pub seq: u64,
    /// When the slot was due, on the clock of the schedule's caller.
    pub due: Duration,
    /// How long after `due` the slot fires.
    pub late: Duration,
    /// How many slots were passed over just before this one, missed
    /// ([`Missed::Skip`] only; 0 otherwise).
    pub skipped: u64,
}

/// The default [`Schedule::tolerance`].
const TOLERANCE: Duration = Duration::from_millis(5);

/// When to sample: every period, at a fixed rate, as plain state with no
/// timer in it.
///
/// Slot `k` of a schedule is due at `origin + k × period`, however long
/// the earlier reads took, so the samples do not drift. The origin is the
/// start plus the phase, or, [aligned](Schedule::aligned), the first
/// multiple of the period plus the phase at or after the start. What
/// happens to slots that were missed is the [`Missed`] policy.
///
/// The schedule is driven by the caller's time: [`due`](Schedule::due)
/// says when the next slot is due, [`tick`](Schedule::tick) fires it once
/// that time has come. [`ticks`](Schedule::ticks) does both on a
/// [`Clock`], as a stream. All times are [`Duration`]s since the clock's
/// start, as in [`crate::time`].
///
/// All arithmetic saturates: a period or a start near `Duration::MAX`
/// never panics. A slot whose due time would lie past `Duration::MAX` is
/// never due, and the schedule stops there.
///
/// # Examples
///
/// ```
/// use confluo::sample::{Period, Schedule};
/// use std::time::Duration;
///
/// let ms = Duration::from_millis;
/// let mut schedule = Schedule::every(Period::new(ms(100)).unwrap()).phase(ms(30));
/// assert_eq!(schedule.due(), Some(ms(30)));
/// assert_eq!(schedule.tick(ms(10)), None); // not yet
/// assert_eq!(schedule.tick(ms(30)).unwrap().seq, 0);
/// // The read took 60 ms; slot 1 is due at 130 ms all the same.
/// assert_eq!(schedule.due(), Some(ms(130)));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Schedule {
    pub(super) grid: Grid,
    /// Less than the period.
    phase: Duration,
    start: Duration,
    aligned: bool,
    pub(super) place: Place,
}

impl Schedule {
    /// A schedule with a slot every `period`, from time zero, with no
    /// phase, not aligned, missed ticks skipped and a tolerance of 5 ms.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Schedule};
    /// use std::time::Duration;
    ///
    /// let schedule = Schedule::every(Period::new(Duration::from_secs(15)).unwrap());
    /// assert_eq!(schedule.due(), Some(Duration::ZERO));
    /// ```
    pub fn every(period: Period) -> Schedule {
        Schedule {
            grid: Grid {
                period,
                missed: Missed::Skip,
                tolerance: TOLERANCE,
            },
            phase: Duration::ZERO,
            start: Duration::ZERO,
            aligned: false,
            place: Place {
                seq: 0,
                due: Some(Duration::ZERO),
            },
        }
    }

    /// Starts the schedule at `start` (a time on the caller's clock)
    /// instead of zero: slot 0 is due at `start + phase`, or, aligned, at
    /// the first slot of the grid at or after `start`.
    ///
    /// This and the other settings of the grid ([`phase`](Schedule::phase),
    /// [`phase_from_key`](Schedule::phase_from_key),
    /// [`aligned`](Schedule::aligned)) start the schedule over from slot 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Schedule};
    /// use confluo::time::{Clock, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// clock.advance(Duration::from_secs(7));
    /// let schedule = Schedule::every(Period::new(Duration::from_secs(10)).unwrap())
    ///     .starting_at(clock.now());
    /// assert_eq!(schedule.due(), Some(Duration::from_secs(7)));
    /// ```
    pub fn starting_at(mut self, start: Duration) -> Schedule {
        self.start = start;
        self.restart()
    }

    /// Offsets every slot by `phase` within the period (taken modulo the
    /// period), so that schedules with one period can be spread over it.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Schedule};
    /// use std::time::Duration;
    ///
    /// let s = Duration::from_secs;
    /// let every_10 = Schedule::every(Period::new(s(10)).unwrap());
    /// assert_eq!(every_10.clone().phase(s(3)).due(), Some(s(3)));
    /// assert_eq!(every_10.phase(s(23)).due(), Some(s(3))); // modulo 10 s
    /// ```
    pub fn phase(mut self, phase: Duration) -> Schedule {
        let p = self.grid.period.get().as_nanos();
        self.phase = from_nanos(phase.as_nanos() % p).unwrap_or(Duration::ZERO);
        self.restart()
    }

    /// Offsets every slot by a phase derived from `key`, so that many
    /// sources with one period spread evenly over it instead of all
    /// firing at once, and each source keeps its phase from run to run.
    ///
    /// The phase is a hash of what `key`'s [`Hash`] implementation writes
    /// (FNV-1a over its bytes, integers little-endian and `usize` as 64
    /// bits, then a mixing step), scaled into the period. It is the same
    /// in every run, process and platform, for one version of this crate
    /// and one `Hash` implementation of the key; a new version of confluo
    /// may change it, and so may a change of the key type's `Hash` (the
    /// standard library does not promise its own to stay the same across
    /// Rust releases; integers and tuples of them are the safest keys).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Schedule};
    /// use std::time::Duration;
    ///
    /// let every = Schedule::every(Period::new(Duration::from_secs(10)).unwrap());
    /// let a = every.clone().phase_from_key("sensor-a").due().unwrap();
    /// let b = every.clone().phase_from_key("sensor-b").due().unwrap();
    /// assert!(a < Duration::from_secs(10) && b < Duration::from_secs(10));
    /// assert_ne!(a, b);
    /// assert_eq!(every.phase_from_key("sensor-a").due(), Some(a)); // the same key, the same phase
    /// ```
    pub fn phase_from_key<K: Hash + ?Sized>(mut self, key: &K) -> Schedule {
        let p = self.grid.period.get().as_nanos();
        let phase = key::scale(key::stable_hash(key), p);
        self.phase = from_nanos(phase).unwrap_or(Duration::ZERO);
        self.restart()
    }

    /// Aligns the grid to multiples of the period (Telegraf's
    /// `round_interval`): slots are due at `m × period + phase` on the
    /// clock, and the first is the first of those at or after the start.
    /// Not aligned (the default), slot 0 is due at `start + phase`.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Schedule};
    /// use std::time::Duration;
    ///
    /// let s = Duration::from_secs;
    /// let every_10 = Schedule::every(Period::new(s(10)).unwrap()).starting_at(s(23));
    /// assert_eq!(every_10.clone().due(), Some(s(23)));
    /// assert_eq!(every_10.clone().aligned(true).due(), Some(s(30)));
    /// assert_eq!(every_10.aligned(true).phase(s(4)).due(), Some(s(24)));
    /// ```
    pub fn aligned(mut self, aligned: bool) -> Schedule {
        self.aligned = aligned;
        self.restart()
    }

    /// Sets what happens to missed slots; [`Missed::Skip`] by default.
    /// The schedule keeps its place.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Missed, Period, Schedule};
    /// use std::time::Duration;
    ///
    /// let schedule = Schedule::every(Period::new(Duration::from_secs(1)).unwrap())
    ///     .missed(Missed::Burst);
    /// # drop(schedule);
    /// ```
    pub fn missed(mut self, missed: Missed) -> Schedule {
        self.grid.missed = missed;
        self
    }

    /// Sets how late a slot may fire under [`Missed::Delay`] and still
    /// keep the grid; 5 ms by default. It absorbs the granularity of
    /// timers and the delay of executors: without it, a real timer that
    /// wakes a little after the due time would move the grid at every
    /// tick. The other policies keep the grid anyway. The schedule keeps
    /// its place.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Missed, Period, Schedule};
    /// use std::time::Duration;
    ///
    /// let ms = Duration::from_millis;
    /// let mut strict = Schedule::every(Period::new(ms(100)).unwrap())
    ///     .missed(Missed::Delay)
    ///     .tolerance(ms(1));
    /// assert_eq!(strict.tick(ms(1)).unwrap().late, ms(1)); // the grid stays
    /// assert_eq!(strict.due(), Some(ms(100)));
    /// assert_eq!(strict.tick(ms(102)).unwrap().late, ms(2)); // the grid moves
    /// assert_eq!(strict.due(), Some(ms(202)));
    /// ```
    pub fn tolerance(mut self, tolerance: Duration) -> Schedule {
        self.grid.tolerance = tolerance;
        self
    }

    /// The period.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Schedule};
    /// use std::time::Duration;
    ///
    /// let period = Period::new(Duration::from_secs(1)).unwrap();
    /// assert_eq!(Schedule::every(period).period(), period);
    /// ```
    pub fn period(&self) -> Period {
        self.grid.period
    }

    /// When the next slot is due, or `None` if it would be due past
    /// `Duration::MAX`: then no slot is ever due again.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Schedule};
    /// use std::time::Duration;
    ///
    /// let s = Duration::from_secs;
    /// let mut schedule = Schedule::every(Period::new(s(5)).unwrap());
    /// assert_eq!(schedule.due(), Some(s(0)));
    /// schedule.tick(s(0));
    /// assert_eq!(schedule.due(), Some(s(5)));
    ///
    /// // A period of Duration::MAX from 1 s: slot 1 is past the end of time.
    /// let mut once = Schedule::every(Period::new(Duration::MAX).unwrap()).starting_at(s(1));
    /// once.tick(s(1));
    /// assert_eq!(once.due(), None);
    /// ```
    pub fn due(&self) -> Option<Duration> {
        self.place.due
    }

    /// Fires the slot due by `now`, if any, and moves on.
    ///
    /// - Before the next slot is due, this returns `None` and changes
    ///   nothing; so it does when `now` is earlier than an earlier call's
    ///   (a clock set back): the schedule waits for the clock to reach
    ///   the next slot again, and no slot fires twice.
    /// - Otherwise a slot fires, and the [`Missed`] policy says which:
    ///   `Skip` fires the last slot due by `now`, counting the slots it
    ///   passed over, and moves to the next slot on the grid; `Burst`
    ///   fires the oldest slot due (call again for the next one); `Delay`
    ///   fires it too, and, if it is later than the
    ///   [tolerance](Schedule::tolerance), restarts the grid one period
    ///   after `now`.
    ///
    /// One call fires at most one slot and takes constant time, however
    /// far `now` is ahead.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Schedule, Tick};
    /// use std::time::Duration;
    ///
    /// let s = Duration::from_secs;
    /// let mut schedule = Schedule::every(Period::new(s(10)).unwrap());
    /// assert_eq!(schedule.tick(s(0)).map(|t| t.seq), Some(0));
    /// assert_eq!(schedule.tick(s(5)), None); // slot 1 is due at 10 s
    /// assert_eq!(schedule.tick(s(10)).map(|t| t.seq), Some(1));
    /// assert_eq!(schedule.tick(s(3)), None); // the clock went back
    /// assert_eq!(schedule.tick(s(20)).map(|t| t.seq), Some(2));
    /// ```
    pub fn tick(&mut self, now: Duration) -> Option<Tick> {
        self.place.tick(&self.grid, now)
    }

    /// A stream of this schedule's ticks, on `clock`: it sleeps until the
    /// next slot is due, then yields the tick fired at the clock's time.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Schedule};
    /// use confluo::time::ManualClock;
    /// use futures::{FutureExt, StreamExt};
    /// use std::time::Duration;
    ///
    /// let s = Duration::from_secs;
    /// let clock = ManualClock::new();
    /// let mut ticks = Schedule::every(Period::new(s(10)).unwrap()).ticks(clock.clone());
    /// assert_eq!(ticks.next().now_or_never().flatten().map(|t| t.seq), Some(0));
    /// assert!(ticks.next().now_or_never().is_none()); // waits for 10 s
    /// clock.advance(s(10));
    /// assert_eq!(ticks.next().now_or_never().flatten().map(|t| t.seq), Some(1));
    /// ```
    pub fn ticks<C: Clock>(self, clock: C) -> Ticks<C> {
        Ticks::new(self, clock)
    }

    /// Starts over from slot 0, at the origin of the grid.
    fn restart(mut self) -> Schedule {
        self.place = Place {
            seq: 0,
            due: self.origin(),
        };
        self
    }

    /// When slot 0 is due.
    fn origin(&self) -> Option<Duration> {
        if !self.aligned {
            return self.start.checked_add(self.phase);
        }
        // Below 2^94 each, so nothing here overflows a u128.
        let (start, phase) = (self.start.as_nanos(), self.phase.as_nanos());
        let period = self.grid.period.get().as_nanos();
        let first = if start <= phase {
            phase
        } else {
            phase + (start - phase + period - 1) / period * period
        };
        from_nanos(first)
    }
}

/// Flat, as the builder sets it: the grid's rule and the next slot.
impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schedule")
            .field("period", &self.grid.period.get())
            .field("phase", &self.phase)
            .field("start", &self.start)
            .field("aligned", &self.aligned)
            .field("missed", &self.grid.missed)
            .field("tolerance", &self.grid.tolerance)
            .field("seq", &self.place.seq)
            .field("due", &self.place.due)
            .finish()
    }
}
