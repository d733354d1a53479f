use core::time::Duration;

use super::{Outcome, Sample};

/// How a sampled source is doing: counters of its samples, its latency,
/// its failures in a row, and the rate it was read at.
///
/// A [`Sampler`](super::Sampler) keeps one, as plain numbers updated with
/// each sample it yields, and hands out a copy with
/// [`Sampler::health`](super::Sampler::health): nothing shared, nothing
/// locked. Whoever consumes the samples of many sources (from a `Gather`,
/// say) keeps the health of each with [`record`](Health::record), or all
/// of them in a [`HealthTable`](super::HealthTable).
///
/// # Examples
///
/// ```
/// use confluo::sample::{Health, Outcome, Sample};
/// use std::time::Duration;
///
/// let ms = Duration::from_millis;
/// let sample = |seq, took, outcome| Sample { seq, due: ms(100) * seq as u32, late: ms(0), took, outcome };
/// let mut health = Health::default();
/// health.record(&sample(0, ms(80), Outcome::<u8, ()>::Ok(1)));
/// health.record(&sample(1, ms(100), Outcome::<u8, ()>::TimedOut));
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
    /// When the first slot recorded was due.
    pub since: Option<Duration>,
    /// When the last slot recorded was due.
    pub last: Option<Duration>,
}

impl Health {
    /// Counts `sample`.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Health, Outcome, Sample};
    /// use std::time::Duration;
    ///
    /// let ms = Duration::from_millis;
    /// let read = |took| Sample { seq: 0, due: ms(0), late: ms(0), took, outcome: Outcome::<u8, ()>::Ok(1) };
    /// let mut health = Health::default();
    /// health.record(&read(ms(80)));
    /// health.record(&read(ms(160)));
    /// assert_eq!(health.last_latency, Some(ms(160)));
    /// assert_eq!(health.latency, Some(ms(90))); // 80 + (160 - 80) / 8
    /// ```
    pub fn record<T, E>(&mut self, sample: &Sample<T, E>) {
        self.since.get_or_insert(sample.due);
        self.last = self.last.max(Some(sample.due));
        let outcome = &sample.outcome;
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
            let took = sample.took;
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
    /// use confluo::sample::{Health, Outcome, Sample};
    /// use std::time::Duration;
    ///
    /// let at = |outcome| Sample { seq: 0, due: Duration::ZERO, late: Duration::ZERO, took: Duration::ZERO, outcome };
    /// let mut health = Health::default();
    /// assert!(!health.is_up()); // no reading yet
    /// health.record(&at(Outcome::<u8, ()>::Ok(1)));
    /// assert!(health.is_up());
    /// health.record(&at(Outcome::<u8, ()>::Skipped { slots: 2 }));
    /// assert!(health.is_up()); // skipped slots say nothing of the source
    /// ```
    pub fn is_up(&self) -> bool {
        self.ok > 0 && self.consecutive_failures == 0
    }

    /// The achieved sampling rate, in hertz: the share of the slots
    /// recorded that gave a reading, times the rate of those slots (one
    /// less than their number, over the time from the first's due time to
    /// the last's). A source read on every slot of a 200 ms period reads
    /// 5 Hz from its second slot on, whatever moment it is asked; a source
    /// read on half of them, 2.5 Hz; one that went down falls as its
    /// failed slots are recorded. Zero until two slots, due at different
    /// times, are recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Health, Outcome, Sample};
    /// use std::time::Duration;
    ///
    /// let ms = Duration::from_millis;
    /// let mut health = Health::default();
    /// for seq in 0..50u32 {
    ///     // Every 200 ms; one read in ten times out.
    ///     let outcome = if seq % 10 == 9 { Outcome::TimedOut } else { Outcome::<u8, ()>::Ok(1) };
    ///     health.record(&Sample { seq: seq.into(), due: ms(200) * seq, late: ms(0), took: ms(5), outcome });
    /// }
    /// assert_eq!(health.rate(), 4.5); // 5 Hz, nine reads in ten
    /// ```
    pub fn rate(&self) -> f64 {
        let slots = self.taken.saturating_add(self.skipped);
        match (self.since, self.last) {
            (Some(first), Some(last)) if last > first && slots > 1 => {
                let slot_rate = (slots - 1) as f64 / (last - first).as_secs_f64();
                self.ok as f64 / slots as f64 * slot_rate
            }
            _ => 0.0,
        }
    }
}
