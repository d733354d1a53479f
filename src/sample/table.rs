use alloc::collections::BTreeMap;
use core::borrow::Borrow;

use super::{Health, Sample};

/// The [`Health`] of many sampled sources, by key: fed with their samples,
/// asked at any moment which sources are down and what rate each and all
/// of them achieve.
///
/// When a `Gather` drives the samplers, their own [`Health`] is out of
/// reach while it runs; the samples are not. Whoever consumes them records
/// each in the table, tagged with its source's key, and reads the table
/// between samples: a progress line, a `/health` endpoint, an alert. The
/// table is plain data (a `BTreeMap`, sorted by key), with no lock or
/// atomic in it; to read it from another thread, put it in a `Mutex`.
///
/// Recording a sample is one map lookup, O(log n) in the number of
/// sources; [`rate`](HealthTable::rate) and [`down`](HealthTable::down)
/// walk every source.
///
/// # Examples
///
/// ```
/// use confluo::sample::{HealthTable, Outcome, Sample};
/// use std::time::Duration;
///
/// let ms = Duration::from_millis;
/// let mut table = HealthTable::new();
/// for seq in 0..10u32 {
///     let due = ms(100) * seq;
///     for sensor in ["boiler", "pump", "tank"] {
///         let outcome = match sensor {
///             "pump" if seq >= 5 => Outcome::TimedOut, // the pump hangs
///             _ => Outcome::<f32, ()>::Ok(20.5),
///         };
///         table.record(sensor, &Sample { seq: seq.into(), due, late: ms(0), took: ms(3), outcome });
///     }
/// }
/// let down: Vec<&str> = table.down().map(|(&sensor, _)| sensor).collect();
/// assert_eq!(down, ["pump"]);
/// assert_eq!(table.get("pump").unwrap().timeouts, 5);
/// assert_eq!(table.get("tank").unwrap().rate(), 10.0); // every 100 ms
/// assert_eq!(table.get("pump").unwrap().rate(), 5.0); // half of the slots
/// assert_eq!(table.rate(), 25.0); // all three
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthTable<K> {
    sources: BTreeMap<K, Health>,
}

impl<K: Ord> HealthTable<K> {
    /// An empty table.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::HealthTable;
    ///
    /// let table = HealthTable::<u32>::new();
    /// assert!(table.is_empty());
    /// ```
    pub fn new() -> Self {
        HealthTable {
            sources: BTreeMap::new(),
        }
    }

    /// Counts `sample` in the health of the source `key`, which it adds to
    /// the table if it was not there.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{HealthTable, Outcome, Sample};
    /// use std::time::Duration;
    ///
    /// let mut table = HealthTable::new();
    /// let sample = Sample { seq: 0, due: Duration::ZERO, late: Duration::ZERO, took: Duration::ZERO, outcome: Outcome::<u8, ()>::Ok(1) };
    /// table.record(7, &sample);
    /// assert_eq!(table.get(&7).unwrap().ok, 1);
    /// ```
    pub fn record<T, E>(&mut self, key: K, sample: &Sample<T, E>) {
        self.sources.entry(key).or_default().record(sample);
    }

    /// The health of the source `key`, if it is in the table.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::HealthTable;
    ///
    /// let table = HealthTable::<String>::new();
    /// assert_eq!(table.get("boiler"), None);
    /// ```
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&Health>
    where
        K: Borrow<Q>,
    {
        self.sources.get(key)
    }

    /// Takes the source `key` out of the table (a source removed for good),
    /// with its health.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{HealthTable, Outcome, Sample};
    /// use std::time::Duration;
    ///
    /// let mut table = HealthTable::new();
    /// let sample = Sample { seq: 0, due: Duration::ZERO, late: Duration::ZERO, took: Duration::ZERO, outcome: Outcome::<u8, ()>::TimedOut };
    /// table.record("pump", &sample);
    /// assert_eq!(table.remove("pump").map(|h| h.timeouts), Some(1));
    /// assert!(table.is_empty());
    /// ```
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<Health>
    where
        K: Borrow<Q>,
    {
        self.sources.remove(key)
    }

    /// Every source with its health, in key order.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{HealthTable, Outcome, Sample};
    /// use std::time::Duration;
    ///
    /// let mut table = HealthTable::new();
    /// for key in [3, 1, 2] {
    ///     let sample = Sample { seq: 0, due: Duration::ZERO, late: Duration::ZERO, took: Duration::ZERO, outcome: Outcome::<u8, ()>::Ok(key) };
    ///     table.record(key, &sample);
    /// }
    /// let keys: Vec<u8> = table.iter().map(|(&key, _)| key).collect();
    /// assert_eq!(keys, [1, 2, 3]);
    /// ```
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &Health)> + ExactSizeIterator {
        self.sources.iter()
    }

    /// The sources that are down (not [up](Health::is_up): no reading
    /// yet, or a failure since the last one), in key order.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{HealthTable, Outcome, Sample};
    /// use std::time::Duration;
    ///
    /// let mut table = HealthTable::new();
    /// let at = |outcome| Sample { seq: 0, due: Duration::ZERO, late: Duration::ZERO, took: Duration::ZERO, outcome };
    /// table.record("boiler", &at(Outcome::<u8, ()>::Ok(1)));
    /// table.record("pump", &at(Outcome::<u8, ()>::TimedOut));
    /// let down: Vec<&str> = table.down().map(|(&key, _)| key).collect();
    /// assert_eq!(down, ["pump"]);
    /// ```
    pub fn down(&self) -> impl DoubleEndedIterator<Item = (&K, &Health)> {
        self.sources.iter().filter(|(_, health)| !health.is_up())
    }

    /// The achieved sampling rate of all the sources: the sum of their
    /// [rates](Health::rate), in hertz. Divided by
    /// [`len`](HealthTable::len), it is the mean rate per source.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{HealthTable, Outcome, Sample};
    /// use std::time::Duration;
    ///
    /// let ms = Duration::from_millis;
    /// let mut table = HealthTable::new();
    /// for seq in 0..11u32 {
    ///     // Two sources read every 100 ms for a second.
    ///     for key in [1, 2] {
    ///         let sample = Sample { seq: seq.into(), due: ms(100) * seq, late: ms(0), took: ms(2), outcome: Outcome::<u8, ()>::Ok(key) };
    ///         table.record(key, &sample);
    ///     }
    /// }
    /// assert!((table.rate() - 20.0).abs() < 1e-9); // 10 Hz each
    /// ```
    pub fn rate(&self) -> f64 {
        self.sources.values().map(Health::rate).sum()
    }

    /// How many sources the table holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::HealthTable;
    ///
    /// assert_eq!(HealthTable::<u32>::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Whether the table holds no source.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::HealthTable;
    ///
    /// assert!(HealthTable::<u32>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}

impl<K: Ord> Default for HealthTable<K> {
    fn default() -> Self {
        HealthTable::new()
    }
}
