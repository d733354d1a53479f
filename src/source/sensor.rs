use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

/// One reading of a simulated sensor.
///
/// # Examples
///
/// ```
/// use confluo::source::{Reading, Sensor};
/// use futures::StreamExt;
///
/// # smol::block_on(async {
/// let mut sensor = Sensor::new(7, std::time::Duration::ZERO).instant();
/// let Reading { sensor, seq, value } = sensor.next().await.unwrap().unwrap();
/// assert_eq!((sensor, seq), (7, 0));
/// assert!((17.0..23.0).contains(&value));
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// The sensor's id.
    pub sensor: u32,
    /// The read's number, counting from zero for each sensor.
    pub seq: u64,
    /// The value read: a sawtooth between 17.5 and 22.5 plus noise of ±0.5.
    pub value: f64,
}

/// A failed read of a simulated sensor.
///
/// # Examples
///
/// ```
/// use confluo::source::SensorFault;
///
/// let fault = SensorFault { sensor: 3, seq: 17 };
/// assert_eq!(fault.to_string(), "sensor 3 failed read 17");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SensorFault {
    /// The sensor's id.
    pub sensor: u32,
    /// The number of the read that failed.
    pub seq: u64,
}

impl fmt::Display for SensorFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sensor {} failed read {}", self.sensor, self.seq)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SensorFault {}

/// A simulated sensor for examples, tests and benchmarks: every read takes a
/// round trip (its latency, with optional seeded jitter), then yields a
/// [`Reading`] or, at the given failure rate, a [`SensorFault`].
///
/// The sensor names no timer: [`stream`](Sensor::stream) takes the sleep from
/// the caller (`smol::Timer::after`, `tokio::time::sleep`, ...), and
/// [`instant`](Sensor::instant) needs no time at all. Jitter, noise and
/// failures come from a SplitMix64 generator seeded by the seed and the id
/// (see [`seed`](Sensor::seed)), so runs repeat exactly.
///
/// # Examples
///
/// Gathered, every sensor's read is in flight at once, so a cycle takes one
/// latency, not one per sensor. The sleep below counts the sensors asleep in
/// a read at the same moment:
///
/// ```
/// use confluo::{gather, source::Sensor};
/// use futures::StreamExt;
/// use std::{cell::Cell, rc::Rc, time::Duration};
///
/// # smol::block_on(async {
/// let (asleep, most) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
/// let sensors = (0..100).map(|id| {
///     let (asleep, most) = (Rc::clone(&asleep), Rc::clone(&most));
///     Sensor::new(id, Duration::from_millis(20))
///         .reads(2)
///         .stream(move |latency| {
///             let (asleep, most) = (Rc::clone(&asleep), Rc::clone(&most));
///             async move {
///                 asleep.set(asleep.get() + 1);
///                 most.set(most.get().max(asleep.get()));
///                 smol::Timer::after(latency).await;
///                 asleep.set(asleep.get() - 1);
///             }
///         })
/// });
/// let readings = gather(sensors).collect::<Vec<_>>().await;
/// assert_eq!(readings.len(), 200);
/// // All 100 at once: about 2 × 20 ms in all, where reading one after
/// // another would take 200 × 20 ms = 4 s.
/// assert_eq!(most.get(), 100);
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sensor {
    id: u32,
    latency: Duration,
    jitter: Duration,
    /// Failure probability in units of 2⁻³².
    failure_threshold: u64,
    seed: u64,
    reads: Option<u64>,
}

impl Sensor {
    /// A sensor whose every read takes `latency`; no jitter, no failures,
    /// reads forever. A latency of zero is fine.
    ///
    /// # Examples
    ///
    /// ```
    /// let sensor = confluo::source::Sensor::new(1, std::time::Duration::from_millis(100));
    /// assert_eq!(sensor.id(), 1);
    /// ```
    pub fn new(id: u32, latency: Duration) -> Self {
        Sensor {
            id,
            latency,
            jitter: Duration::ZERO,
            failure_threshold: 0,
            seed: 0,
            reads: None,
        }
    }

    /// The sensor's id.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(confluo::source::Sensor::new(9, Default::default()).id(), 9);
    /// ```
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Each read takes the latency plus or minus up to `jitter` (uniform,
    /// never below zero).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let sensor = confluo::source::Sensor::new(1, Duration::from_millis(20))
    ///     .jitter(Duration::from_millis(5));
    /// # let _ = sensor;
    /// ```
    pub fn jitter(self, jitter: Duration) -> Self {
        Sensor { jitter, ..self }
    }

    /// The share of reads that fail, from 0.0 (never) to 1.0 (always).
    ///
    /// # Panics
    ///
    /// If `rate` is not within `0.0..=1.0` (NaN included).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::source::Sensor;
    /// use futures::StreamExt;
    ///
    /// # smol::block_on(async {
    /// let always = Sensor::new(4, Default::default()).failure_rate(1.0).reads(3).instant();
    /// let faults = always.filter(|r| futures::future::ready(r.is_err())).count().await;
    /// assert_eq!(faults, 3);
    /// # });
    /// ```
    pub fn failure_rate(self, rate: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&rate),
            "a failure rate is within 0.0..=1.0, not {rate}"
        );
        Sensor {
            // 2^32 stands for 1.0, so a rate of 1.0 fails every read.
            failure_threshold: (rate * 4_294_967_296.0) as u64,
            ..self
        }
    }

    /// Seeds the generator behind jitter, noise and failures (mixed with the
    /// id, so sensors with one seed still differ). The generator is
    /// SplitMix64, started at `seed ^ (id << 32)`; the default seed is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let sensor = confluo::source::Sensor::new(1, Default::default()).seed(42);
    /// # let _ = sensor;
    /// ```
    pub fn seed(self, seed: u64) -> Self {
        Sensor { seed, ..self }
    }

    /// Ends the stream after `reads` reads.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// # smol::block_on(async {
    /// let sensor = confluo::source::Sensor::new(1, Default::default()).reads(5).instant();
    /// assert_eq!(sensor.count().await, 5);
    /// # });
    /// ```
    pub fn reads(self, reads: u64) -> Self {
        Sensor {
            reads: Some(reads),
            ..self
        }
    }

    /// The sensor as a stream; `sleep(latency)` returns the future that
    /// stands for one round trip.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use std::time::Duration;
    ///
    /// # smol::block_on(async {
    /// let sensor = confluo::source::Sensor::new(1, Duration::from_millis(1)).reads(2);
    /// let readings = sensor.stream(smol::Timer::after).collect::<Vec<_>>().await;
    /// assert_eq!(readings.len(), 2);
    /// # });
    /// ```
    pub fn stream<F, Fut>(self, sleep: F) -> SimulatedSensor<F, Fut>
    where
        F: FnMut(Duration) -> Fut,
        Fut: Future,
    {
        SimulatedSensor {
            rng: SplitMix64::new(self.seed ^ (u64::from(self.id) << 32)),
            config: self,
            seq: 0,
            sleep,
            sleeping: None,
        }
    }

    /// The sensor as a stream that needs no time: each read yields to the
    /// executor once instead of sleeping, so tests are deterministic.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// let sensor = confluo::source::Sensor::new(1, std::time::Duration::from_secs(3600));
    /// let first = futures::executor::block_on(sensor.instant().next());
    /// assert!(first.is_some()); // at once, whatever the latency
    /// ```
    pub fn instant(self) -> SimulatedSensor<fn(Duration) -> YieldOnce, YieldOnce> {
        self.stream(|_| YieldOnce { yielded: false })
    }
}

pin_project! {
    /// Stream for [`Sensor::stream`] and [`Sensor::instant`].
    #[must_use = "streams do nothing unless polled"]
    pub struct SimulatedSensor<F, Fut> {
        config: Sensor,
        rng: SplitMix64,
        seq: u64,
        sleep: F,
        #[pin]
        sleeping: Option<Fut>,
    }
}

impl<F, Fut> Stream for SimulatedSensor<F, Fut>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future,
{
    type Item = Result<Reading, SensorFault>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        let config = *this.config;
        if config.reads.is_some_and(|reads| *this.seq >= reads) {
            return Poll::Ready(None);
        }
        if this.sleeping.is_none() {
            let latency = jittered(config.latency, config.jitter, this.rng.next());
            this.sleeping.set(Some((this.sleep)(latency)));
        }
        if let Some(sleeping) = this.sleeping.as_mut().as_pin_mut() {
            core::task::ready!(sleeping.poll(cx));
        }
        this.sleeping.set(None);
        let seq = *this.seq;
        *this.seq += 1;
        let draw = this.rng.next();
        if draw >> 32 < config.failure_threshold {
            return Poll::Ready(Some(Err(SensorFault {
                sensor: config.id,
                seq,
            })));
        }
        // A sawtooth of period 50 reads between 17.5 and 22.5, plus ±0.5 noise.
        let sawtooth = 17.5 + (seq % 50) as f64 * 0.1;
        let noise = (draw & 0xFFFF) as f64 / 65_536.0 - 0.5;
        Poll::Ready(Some(Ok(Reading {
            sensor: config.id,
            seq,
            value: sawtooth + noise,
        })))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.config.reads {
            Some(reads) => {
                let left = usize::try_from(reads.saturating_sub(self.seq)).unwrap_or(usize::MAX);
                (left, Some(left))
            }
            None => (usize::MAX, None),
        }
    }
}

impl<F, Fut> FusedStream for SimulatedSensor<F, Fut>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future,
{
    fn is_terminated(&self) -> bool {
        self.config.reads.is_some_and(|reads| self.seq >= reads)
    }
}

impl<F, Fut> fmt::Debug for SimulatedSensor<F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatedSensor")
            .field("config", &self.config)
            .field("seq", &self.seq)
            .field("reading", &self.sleeping.is_some())
            .finish_non_exhaustive()
    }
}

/// The latency of one read: `latency ± jitter`, drawn from `random`.
fn jittered(latency: Duration, jitter: Duration, random: u64) -> Duration {
    if jitter.is_zero() {
        return latency;
    }
    // A uniform offset in 0..=2 × jitter, in nanoseconds, then shifted down.
    let span = jitter.as_nanos().saturating_mul(2).saturating_add(1);
    let offset = Duration::from_nanos(u64::try_from(u128::from(random) % span).unwrap_or(0));
    (latency + offset).saturating_sub(jitter)
}

/// SplitMix64 (Steele, Lea and Flood; Vigna's reference version): a Weyl
/// sequence of one word of state, each step passed through a mixing
/// function. Small and good, and every seed starts a sequence of period
/// 2⁶⁴.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The Weyl sequence's step: 2⁶⁴ divided by the golden ratio, odd.
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

    fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(Self::GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Future for [`Sensor::instant`]'s reads: pending once (waking itself at
/// once), then ready.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct YieldOnce {
    yielded: bool,
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::SplitMix64;

    #[test]
    fn splitmix64_gives_the_reference_outputs_for_seed_zero() {
        let mut rng = SplitMix64::new(0);
        let first = [0; 5].map(|_| rng.next());
        assert_eq!(
            first,
            [
                0xE220_A839_7B1D_CDAF,
                0x6E78_9E6A_A1B9_65F4,
                0x06C4_5D18_8009_454F,
                0xF88B_B8A8_724C_81EC,
                0x1B39_896A_51A8_749B,
            ]
        );
    }

    #[test]
    fn splitmix64_steps_its_state_by_the_golden_gamma() {
        let mut rng = SplitMix64::new(7);
        rng.next();
        rng.next();
        assert_eq!(
            rng.state,
            7u64.wrapping_add(SplitMix64::GAMMA.wrapping_mul(2))
        );
    }
}
