//! The full pipeline, as it runs in production: simulated sensors are read
//! concurrently (`Gather`), pumped through a bridge partitioned by sensor,
//! and processed by synchronous stages on threads: filter, normalize per
//! sensor, rolling features per sensor. It prints a summary.
//!
//! ```text
//! cargo run --release --example sensor_pipeline
//! cargo run --release --example sensor_pipeline -- --sensors 10000 --reads 20
//! ```
//!
//! The stages are plain iterator adapters with unit tests that use no async
//! (`cargo test --example sensor_pipeline`).

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroUsize;
use std::ops::RangeInclusive;
use std::thread;
use std::time::{Duration, Instant};

use confluo::source::{Reading, Sensor, SensorFault};
use confluo::{gather, Bridge};

/// Readings outside the sensors' calibrated range are dropped.
const PLAUSIBLE: RangeInclusive<f64> = 17.8..=22.2;
/// Readings per rolling window.
const WINDOW: usize = 10;

/// Stage 1: keep the readings that are in range; faults and outliers go.
fn plausible(reading: Result<Reading, SensorFault>) -> Option<Reading> {
    reading.ok().filter(|r| PLAUSIBLE.contains(&r.value))
}

/// A reading as a z-score against its own sensor's history so far.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Normalized {
    sensor: u32,
    seq: u64,
    value: f64,
    z: f64,
}

/// Running mean and variance (Welford), one per sensor.
#[derive(Default)]
struct Moments {
    count: f64,
    mean: f64,
    squares: f64,
}

impl Moments {
    fn add(&mut self, value: f64) {
        self.count += 1.0;
        let delta = value - self.mean;
        self.mean += delta / self.count;
        self.squares += delta * (value - self.mean);
    }

    fn std_dev(&self) -> f64 {
        if self.count < 2.0 {
            0.0
        } else {
            (self.squares / (self.count - 1.0)).sqrt()
        }
    }
}

/// Stage 2: normalize each reading against its sensor's running moments.
fn normalize(readings: impl Iterator<Item = Reading>) -> impl Iterator<Item = Normalized> {
    let mut moments: HashMap<u32, Moments> = HashMap::new();
    readings.map(move |r| {
        let m = moments.entry(r.sensor).or_default();
        m.add(r.value);
        let spread = m.std_dev();
        let z = if spread == 0.0 {
            0.0
        } else {
            (r.value - m.mean) / spread
        };
        Normalized {
            sensor: r.sensor,
            seq: r.seq,
            value: r.value,
            z,
        }
    })
}

/// Features of a sensor's last `WINDOW` readings.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Features {
    sensor: u32,
    mean: f64,
    min: f64,
    max: f64,
    std_dev: f64,
    /// The largest |z| in the window: how unusual its wildest reading was.
    max_abs_z: f64,
}

/// Stage 3: rolling features, one per reading once a sensor has a full window.
fn rolling(
    readings: impl Iterator<Item = Normalized>,
    window: usize,
) -> impl Iterator<Item = Features> {
    let mut windows: HashMap<u32, VecDeque<Normalized>> = HashMap::new();
    readings.filter_map(move |r| {
        let w = windows.entry(r.sensor).or_default();
        w.push_back(r);
        if w.len() > window {
            w.pop_front();
        }
        (w.len() == window).then(|| {
            let mut moments = Moments::default();
            w.iter().for_each(|r| moments.add(r.value));
            Features {
                sensor: r.sensor,
                mean: moments.mean,
                min: w.iter().map(|r| r.value).fold(f64::INFINITY, f64::min),
                max: w.iter().map(|r| r.value).fold(f64::NEG_INFINITY, f64::max),
                std_dev: moments.std_dev(),
                max_abs_z: w.iter().map(|r| r.z.abs()).fold(0.0, f64::max),
            }
        })
    })
}

/// What one consumer thread saw.
#[derive(Default)]
struct Summary {
    received: u64,
    kept: u64,
    features: u64,
    latest: HashMap<u32, Features>,
}

fn arg(name: &str, default: usize) -> usize {
    std::env::args()
        .skip_while(|arg| arg != name)
        .nth(1)
        .map_or(default, |n| n.parse().expect("a number"))
}

fn main() {
    let sensors = arg("--sensors", 1_000) as u32;
    let reads = arg("--reads", 50) as u64;
    let threads = NonZeroUsize::new(arg("--threads", 2)).expect("at least one thread");
    let latency = Duration::from_millis(20);

    let (router, consumers) = Bridge::new(NonZeroUsize::new(1_024).unwrap()).partitioned(threads);
    let workers: Vec<_> = consumers
        .into_iter()
        .map(|consumer| {
            thread::spawn(move || {
                let stats = consumer.clone();
                let mut summary = Summary::default();
                let received = consumer.into_iter().inspect(|_| summary.received += 1);
                let kept = received
                    .filter_map(plausible)
                    .inspect(|_| summary.kept += 1);
                let features: Vec<Features> = rolling(normalize(kept), WINDOW).collect();
                summary.features = features.len() as u64;
                for f in features {
                    summary.latest.insert(f.sensor, f);
                }
                (summary, stats.stats())
            })
        })
        .collect();

    let start = Instant::now();
    let readings = gather((0..sensors).map(|id| {
        Sensor::new(id, latency)
            .jitter(Duration::from_millis(5))
            .failure_rate(0.01)
            .seed(2026)
            .reads(reads)
            .stream(smol::Timer::after)
    }));
    let pumped = smol::block_on(router.pump_by(readings, |r| match r {
        Ok(reading) => reading.sensor as usize,
        Err(fault) => fault.sensor as usize,
    }));
    let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let elapsed = start.elapsed();

    println!(
        "{sensors} sensors × {reads} reads, T = {latency:?} ± 5 ms, 1% faults, {} consumer threads",
        threads
    );
    println!(
        "ingestion: {} records in {elapsed:.2?} ({} cycles of {:.1?}; sequential reads would take {:.0?})",
        pumped.forwarded(),
        reads,
        elapsed / reads as u32,
        latency * sensors * reads as u32,
    );
    let mut total = Summary::default();
    for (thread, (summary, stats)) in results.iter().enumerate() {
        println!(
            "thread {thread}: received {}, kept {} in range, {} feature windows; bridge peak depth {}, producer waited {} times",
            summary.received,
            summary.kept,
            summary.features,
            stats.peak_depth(),
            stats.full_waits()
        );
        total.received += summary.received;
        total.kept += summary.kept;
        total.features += summary.features;
        total
            .latest
            .extend(summary.latest.iter().map(|(k, v)| (*k, *v)));
    }
    println!(
        "dropped: {} faults or outliers of {}; every record arrived: {}",
        total.received - total.kept,
        total.received,
        total.received == pumped.forwarded()
    );
    println!("\nlatest window of the first sensors:");
    println!("sensor |   mean |    min |    max | std dev | max |z|");
    for sensor in 0..sensors.min(5) {
        if let Some(f) = total.latest.get(&sensor) {
            println!(
                "{:>6} | {:>6.2} | {:>6.2} | {:>6.2} | {:>7.3} | {:>6.2}",
                f.sensor, f.mean, f.min, f.max, f.std_dev, f.max_abs_z
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(sensor: u32, seq: u64, value: f64) -> Reading {
        Reading { sensor, seq, value }
    }

    #[test]
    fn plausible_drops_faults_and_outliers() {
        assert_eq!(
            plausible(Ok(reading(1, 0, 20.0))),
            Some(reading(1, 0, 20.0))
        );
        assert_eq!(plausible(Ok(reading(1, 1, 30.0))), None);
        assert_eq!(plausible(Ok(reading(1, 2, 17.0))), None);
        assert_eq!(plausible(Err(SensorFault { sensor: 1, seq: 3 })), None);
    }

    #[test]
    fn normalize_scores_each_sensor_against_its_own_history() {
        let readings = [
            reading(1, 0, 10.0),
            reading(2, 0, 100.0),
            reading(1, 1, 20.0),
            reading(2, 1, 100.0),
        ];
        let z: Vec<(u32, f64)> = normalize(readings.into_iter())
            .map(|n| (n.sensor, n.z))
            .collect();
        // Sensor 1: mean 15, sample std dev √50 after two readings.
        let expected = 5.0 / 50f64.sqrt();
        assert_eq!(z[0], (1, 0.0));
        assert_eq!(z[1], (2, 0.0));
        assert_eq!(z[2].0, 1);
        assert!((z[2].1 - expected).abs() < 1e-12);
        assert_eq!(z[3], (2, 0.0), "a constant sensor has no spread");
    }

    #[test]
    fn rolling_features_cover_the_last_window_per_sensor() {
        let values = [1.0, 2.0, 3.0, 4.0, 10.0];
        let readings = values.iter().enumerate().map(|(i, &v)| Normalized {
            sensor: 7,
            seq: i as u64,
            value: v,
            z: -(i as f64),
        });
        let features: Vec<Features> = rolling(readings, 3).collect();
        assert_eq!(features.len(), 3, "one per reading once the window is full");
        let last = features[2];
        assert_eq!((last.sensor, last.min, last.max), (7, 3.0, 10.0));
        assert!((last.mean - 17.0 / 3.0).abs() < 1e-12);
        let variance = ((3.0f64 - 17.0 / 3.0).powi(2)
            + (4.0f64 - 17.0 / 3.0).powi(2)
            + (10.0f64 - 17.0 / 3.0).powi(2))
            / 2.0;
        assert!((last.std_dev - variance.sqrt()).abs() < 1e-12);
        assert_eq!(last.max_abs_z, 4.0);
    }

    #[test]
    fn windows_of_different_sensors_do_not_mix() {
        let readings = (0..6).map(|i| Normalized {
            sensor: i % 2,
            seq: u64::from(i / 2),
            value: f64::from(i % 2) * 100.0,
            z: 0.0,
        });
        let features: Vec<Features> = rolling(readings, 3).collect();
        assert_eq!(features.len(), 2);
        assert!(features.iter().all(|f| f.min == f.max), "{features:?}");
    }
}
