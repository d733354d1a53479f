use core::time::Duration;

use super::period::from_nanos;
use super::{Period, Tick};

/// One sample of a [`Sampler`](super::Sampler): which slot, when it was
/// due, how late it started, how long it took, and what came of it.
///
/// A sample does not carry its source's key, which a sampler does not
/// need: tag the samples of many sources with
/// `sampler.map(move |sample| (key, sample))` before they are gathered,
/// or take the `SourceId` that a `Gather`'s `events()` gives each item.
///
/// # Examples
///
/// ```
/// use confluo::sample::{Outcome, Sample};
/// use std::time::Duration;
///
/// let sample: Sample<f32, &str> = Sample {
///     seq: 7,
///     due: Duration::from_secs(70),
///     late: Duration::ZERO,
///     took: Duration::from_millis(12),
///     outcome: Outcome::Ok(21.5),
/// };
/// assert_eq!(sample.ok(), Some(21.5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sample<T, E> {
    /// The slot's number on the schedule's grid, from 0. A
    /// [`Skipped`](Outcome::Skipped) sample stands for `slots` slots from
    /// `seq`; every other for one. So the samples of a source cover every
    /// slot, each once, in order.
    pub seq: u64,
    /// When the slot was due, on the sampler's clock.
    pub due: Duration,
    /// How long after `due` the sample started.
    pub late: Duration,
    /// How long the sample took, from its start to its outcome: the
    /// connect, if one was made for it, and the read. Zero for
    /// [`Skipped`](Outcome::Skipped) and
    /// [`Disconnected`](Outcome::Disconnected).
    pub took: Duration,
    /// What came of it.
    pub outcome: Outcome<T, E>,
}

impl<T, E> Sample<T, E> {
    /// The sample that reports the slots skipped just before `tick`,
    /// which fired at `now` on a grid of `period`.
    pub(super) fn skipped(period: Period, tick: Tick, now: Duration) -> Sample<T, E> {
        let slots = tick.skipped;
        // The skipped slots lie on the grid just before the tick's; the
        // first of them is due at or after zero.
        let back = period.get().as_nanos().saturating_mul(u128::from(slots));
        let due = tick.due.as_nanos().saturating_sub(back);
        let due = from_nanos(due).unwrap_or(Duration::MAX);
        Sample {
            seq: tick.seq.saturating_sub(slots),
            due,
            late: now.saturating_sub(due),
            took: Duration::ZERO,
            outcome: Outcome::Skipped { slots },
        }
    }

    /// The reading, if the read succeeded.
    ///
    /// With it, plain readings are one adapter away:
    /// `samples.filter_map(|s| futures::future::ready(s.ok()))`.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Outcome, Sample};
    /// use std::time::Duration;
    ///
    /// let at = |seq, outcome| Sample { seq, due: Duration::ZERO, late: Duration::ZERO, took: Duration::ZERO, outcome };
    /// assert_eq!(at(0, Outcome::<u8, ()>::Ok(3)).ok(), Some(3));
    /// assert_eq!(at(1, Outcome::<u8, ()>::TimedOut).ok(), None);
    /// ```
    pub fn ok(self) -> Option<T> {
        match self.outcome {
            Outcome::Ok(value) => Some(value),
            _ => None,
        }
    }
}

/// What came of one [`Sample`].
///
/// # Examples
///
/// ```
/// use confluo::sample::Outcome;
///
/// let outcomes: [Outcome<u8, &str>; 3] = [Outcome::Ok(1), Outcome::Err("busy"), Outcome::TimedOut];
/// assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome<T, E> {
    /// The read returned a reading.
    Ok(T),
    /// The read returned an error.
    Err(E),
    /// The source had no connection, and connecting, tried for this
    /// sample, returned an error. The next try waits for the
    /// [backoff](super::Backoff).
    ConnectFailed(E),
    /// The connect or the read did not finish by the sample's deadline: it
    /// was dropped, and with it the connection. A connect that timed out,
    /// or a read on a connection that has given no reading yet, counts as
    /// a failed connect for the backoff.
    TimedOut,
    /// The source had no connection, and the next try to connect waits for
    /// the [backoff](super::Backoff): nothing was tried for this sample.
    Disconnected,
    /// `slots` slots, from the sample's `seq`, passed before the sampler
    /// was polled again, and were not sampled (with
    /// [`Missed::Skip`](super::Missed::Skip); the other policies sample
    /// every slot).
    Skipped {
        /// How many slots.
        slots: u64,
    },
}

impl<T, E> Outcome<T, E> {
    /// Whether the read returned a reading.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::Outcome;
    ///
    /// assert!(Outcome::<u8, ()>::Ok(0).is_ok());
    /// assert!(!Outcome::<u8, ()>::Disconnected.is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }
}
