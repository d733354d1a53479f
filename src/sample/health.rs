use core::time::Duration;

use super::Outcome;

/// How a sampled source is doing: counters of its samples, its latency,
/// and its failures in a row.
///
/// A [`Sampler`](super::Sampler) keeps one, as plain numbers updated with
/// each sample it yields, and hands out a copy with
/// [`Sampler::health`](super::Sampler::health): nothing shared, nothing
/// locked.
///
/// # Examples
///
/// ```
/// use confluo::sample::{Outcome, Health};
/// use std::time::Duration;
///
/// let mut health = Health::default();
/// health.record(&Outcome::<u8, ()>::Ok(1), Duration::from_millis(80));
/// health.record(&Outcome::<u8, ()>::TimedOut, Duration::from_millis(500));
/// assert_eq!((health.taken, health.ok, health.timeouts), (2, 1, 1));
/// assert_eq!(health.consecutive_failures, 1);
/// assert!(!health.is_up());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Health {
    /// Slots sampled: every sample but the skipped ones.
    pub taken: u64,
    /// Reads that returned a reading.
    pub ok: u64,
    /// Reads that returned an error.
    pub errors: u64,
    /// Connects that returned an error.
    pub connect_failures: u64,
    /// Connects and reads cut at their deadline.
    pub timeouts: u64,
    /// Slots with no connection and no try, waiting for the backoff.
    pub disconnected: u64,
    /// Slots skipped.
    pub skipped: u64,
    /// How long the last read that returned (a reading or an error) took,
    /// its connect included.
    pub last_latency: Option<Duration>,
    /// The smoothed latency of the reads that returned: an exponentially
    /// weighted moving average, each new latency weighing 1/8 (as TCP
    /// smooths its round-trip time), rounded down to the nanosecond.
    pub latency: Option<Duration>,
    /// Slots sampled since the last reading: 0 right after a reading.
    pub consecutive_failures: u64,
}

impl Health {
    /// Counts a sample with `outcome` that took `took`.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Outcome, Health};
    /// use std::time::Duration;
    ///
    /// let ms = Duration::from_millis;
    /// let mut health = Health::default();
    /// health.record(&Outcome::<u8, ()>::Ok(1), ms(80));
    /// health.record(&Outcome::<u8, ()>::Ok(1), ms(160));
    /// assert_eq!(health.last_latency, Some(ms(160)));
    /// assert_eq!(health.latency, Some(ms(90))); // 80 + (160 - 80) / 8
    /// ```
    pub fn record<T, E>(&mut self, outcome: &Outcome<T, E>, took: Duration) {
        if let Outcome::Skipped { slots } = *outcome {
            self.skipped = self.skipped.saturating_add(slots);
            return;
        }
        self.taken = self.taken.saturating_add(1);
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let counter = match outcome {
            Outcome::Ok(_) => {
                self.consecutive_failures = 0;
                &mut self.ok
            }
            Outcome::Err(_) => &mut self.errors,
            Outcome::ConnectFailed(_) => &mut self.connect_failures,
            Outcome::TimedOut => &mut self.timeouts,
            Outcome::Disconnected => &mut self.disconnected,
            Outcome::Skipped { .. } => return,
        };
        *counter = counter.saturating_add(1);
        if let Outcome::Ok(_) | Outcome::Err(_) = outcome {
            self.last_latency = Some(took);
            self.latency = Some(match self.latency {
                None => took,
                Some(average) if took >= average => average + (took - average) / 8,
                Some(average) => average - (average - took) / 8,
            });
        }
    }

    /// Whether the source is up: its last sample returned a reading.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Outcome, Health};
    /// use std::time::Duration;
    ///
    /// let mut health = Health::default();
    /// assert!(!health.is_up()); // no reading yet
    /// health.record(&Outcome::<u8, ()>::Ok(1), Duration::ZERO);
    /// assert!(health.is_up());
    /// health.record(&Outcome::<u8, ()>::Skipped { slots: 2 }, Duration::ZERO);
    /// assert!(health.is_up()); // skipped slots say nothing of the source
    /// ```
    pub fn is_up(&self) -> bool {
        self.ok > 0 && self.consecutive_failures == 0
    }
}
