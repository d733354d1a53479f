use core::fmt;
use core::time::Duration;

/// The time between two samples of a [`Schedule`](super::Schedule): a
/// [`Duration`] that is never zero.
///
/// A schedule with a period of zero would be due again at once, forever;
/// this type makes it impossible to build one. Any other duration is a
/// period, up to `Duration::MAX`.
///
/// # Examples
///
/// ```
/// use confluo::sample::Period;
/// use std::time::Duration;
///
/// let period = Period::new(Duration::from_secs(10)).unwrap();
/// assert_eq!(period.get(), Duration::from_secs(10));
/// assert_eq!(Period::new(Duration::ZERO), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period(Duration);

impl Period {
    /// The period `duration`, or `None` if it is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::Period;
    /// use std::time::Duration;
    ///
    /// assert!(Period::new(Duration::from_nanos(1)).is_some());
    /// assert!(Period::new(Duration::MAX).is_some());
    /// assert!(Period::new(Duration::ZERO).is_none());
    /// ```
    pub const fn new(duration: Duration) -> Option<Period> {
        if duration.is_zero() {
            None
        } else {
            Some(Period(duration))
        }
    }

    /// The period as a [`Duration`], never zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::Period;
    /// use std::time::Duration;
    ///
    /// let period = Period::new(Duration::from_millis(250)).unwrap();
    /// assert_eq!(period.get(), Duration::from_millis(250));
    /// ```
    pub const fn get(self) -> Duration {
        self.0
    }
}

impl TryFrom<Duration> for Period {
    type Error = ZeroPeriod;

    /// The period `duration`.
    ///
    /// # Errors
    ///
    /// [`ZeroPeriod`] if `duration` is zero.
    fn try_from(duration: Duration) -> Result<Period, ZeroPeriod> {
        Period::new(duration).ok_or(ZeroPeriod)
    }
}

impl From<Period> for Duration {
    fn from(period: Period) -> Duration {
        period.0
    }
}

/// The error of turning a zero [`Duration`] into a [`Period`].
///
/// # Examples
///
/// ```
/// use confluo::sample::{Period, ZeroPeriod};
/// use std::time::Duration;
///
/// let zero = Period::try_from(Duration::ZERO);
/// assert_eq!(zero, Err(ZeroPeriod));
/// assert_eq!(ZeroPeriod.to_string(), "a period of zero");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ZeroPeriod;

impl fmt::Display for ZeroPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a period of zero")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ZeroPeriod {}

/// The duration of `nanos` nanoseconds, or `None` past `Duration::MAX`.
pub(super) fn from_nanos(nanos: u128) -> Option<Duration> {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).ok()?;
    // Below a second, so it fits and carries nothing.
    let subsec = (nanos % NANOS_PER_SEC) as u32;
    Some(Duration::new(secs, subsec))
}

/// `at` in whole nanoseconds as a `u64`, `u64::MAX` from 584 years on: the
/// compact time of the fleet's ticks and of a source's next connect.
pub(super) fn saturating_nanos(at: Duration) -> u64 {
    u64::try_from(at.as_nanos()).unwrap_or(u64::MAX)
}
