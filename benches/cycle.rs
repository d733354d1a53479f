//! W3, sensor cycle time: N simulated sensors whose every read takes
//! T = 20 ms, read concurrently by each contender, under smol and under
//! tokio. A cycle is one reading from every sensor; each contender runs 5
//! cycles after one warm-up cycle, and the table gives the median cycle with
//! the fastest and slowest. Every contender uses the same sensor
//! (`confluo::source::Sensor`) and the runtime's own timer. Below each N, a
//! line compares `Gather`'s time beyond T with the best peer's, cycle by
//! cycle: median, min and max of the ratio.
//!
//! The contenders: confluo's `Gather`, futures' `select_all`,
//! futures-buffered's `MergeUnbounded`, futures-concurrency's `Merge` on a
//! `Vec` and its `StreamGroup`, tokio-stream's `StreamMap`, and a task per
//! sensor sending into one channel. W1 and W2 also run sets of futures
//! (`FuturesUnordered`, of futures and of futures-buffered); W3 runs merges
//! of streams only, as a sensor is a stream.
//!
//! ```text
//! cargo bench --bench cycle                      # N up to 10,000
//! CONFLUO_BENCH=full cargo bench --bench cycle   # N up to 1,000,000
//! ```
//!
//! `CONFLUO_BENCH_ONLY=Gather` runs only the contenders whose name holds that
//! text; `CONFLUO_BENCH_N=100000` only that N; `CONFLUO_BENCH_RUNTIME=smol`
//! (or `tokio`) only that runtime; `CONFLUO_BENCH_TOKIO=current_thread` runs
//! tokio's current-thread scheduler instead of its multi-thread one, and
//! `current_thread_unconstrained` (or `multi_thread_unconstrained`) runs the
//! ingestion future inside `tokio::task::unconstrained`. Run without
//! `--bench` (as `cargo test` does), it is a smoke run with a 1 ms latency
//! that checks every contender delivers every reading: each sensor's
//! readings in order, none lost or repeated, and every sensor read.

mod common;

use common::{selected, size_selected, spread};

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::time::{Duration, Instant};

use confluo::source::{Reading, Sensor, SensorFault, SimulatedSensor};
use futures::stream::{Stream, StreamExt};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// Where a measurement of peak memory starts.
struct Region {
    base: usize,
}

impl Region {
    /// Starts once the runtime has settled: the timers of what ran before
    /// are freed by the runtime a little later, and freed within the region
    /// they would hide as much of what it holds.
    fn new<R: Runtime>(rt: &R) -> Self {
        rt.block_on(rt.sleep(Duration::from_millis(50)));
        ALLOCATOR.reset_peak_usage();
        Region {
            base: ALLOCATOR.current_usage(),
        }
    }

    /// The most bytes held at once since the start, beyond what was held then.
    fn peak(&self) -> f64 {
        ALLOCATOR.peak_usage().saturating_sub(self.base) as f64
    }
}

type Item = Result<Reading, SensorFault>;
type BoxSensor = Pin<Box<dyn Stream<Item = Item> + Send>>;

/// What a contender measured: each cycle's time, and the most bytes it held
/// per sensor after the warm-up cycle (sensors, timers and merge included).
struct Measured {
    cycles: Vec<Duration>,
    bytes_per_sensor: f64,
}

impl Measured {
    fn median(&self) -> Duration {
        let mut sorted = self.cycles.clone();
        sorted.sort();
        sorted[sorted.len() / 2]
    }
}

/// Runs `rounds` cycles of `n` readings after one warm-up cycle. In a smoke
/// run, it also checks the readings (see [`Ledger`]); a run with `--bench`
/// measures the merge as it is.
async fn cycles<M: Stream<Item = Item> + Unpin>(
    mut merged: M,
    n: usize,
    rounds: u32,
    region: Region,
) -> Measured {
    if std::env::args().any(|arg| arg == "--bench") {
        return timed_cycles(merged, n, rounds, region).await;
    }
    let mut ledger = Ledger::new(n);
    let recorded = merged.by_ref().inspect(|item| ledger.record(item));
    let measured = timed_cycles(recorded, n, rounds, region).await;
    // A fair merge reads every sensor within a few cycles; one that lost a
    // sensor never does.
    for _ in 0..50 * n {
        if ledger.unread().is_none() {
            break;
        }
        let item = merged.next().await.expect("sensors never end");
        ledger.record(&item);
    }
    if let Some(sensor) = ledger.unread() {
        panic!("sensor {sensor} was never read");
    }
    measured
}

/// What each sensor delivered so far: its next read number.
struct Ledger {
    next_seq: Vec<u64>,
}

impl Ledger {
    fn new(n: usize) -> Self {
        Ledger {
            next_seq: vec![0; n],
        }
    }

    /// Fails if a reading of this sensor was lost, repeated or reordered.
    fn record(&mut self, item: &Item) {
        let (sensor, seq) = match item {
            Ok(reading) => (reading.sensor, reading.seq),
            Err(fault) => (fault.sensor, fault.seq),
        };
        let next = &mut self.next_seq[sensor as usize];
        assert_eq!(seq, *next, "sensor {sensor}: a reading lost or repeated");
        *next += 1;
    }

    /// A sensor not read yet, if there is one.
    fn unread(&self) -> Option<usize> {
        self.next_seq.iter().position(|&next| next == 0)
    }
}

/// Says which contender a failed check was running.
struct Naming<'a> {
    name: &'a str,
    n: usize,
    runtime: &'static str,
}

impl Drop for Naming<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("in {} at N = {} on {}", self.name, self.n, self.runtime);
        }
    }
}

/// The cycles as they are measured.
async fn timed_cycles<M: Stream<Item = Item> + Unpin>(
    mut merged: M,
    n: usize,
    rounds: u32,
    region: Region,
) -> Measured {
    for _ in 0..n {
        merged.next().await.expect("sensors never end").ok();
    }
    let mut times = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..n {
            black_box(merged.next().await.expect("sensors never end")).ok();
        }
        times.push(start.elapsed());
    }
    Measured {
        cycles: times,
        bytes_per_sensor: region.peak() / n as f64,
    }
}

/// A runtime: how to block on a future, sleep, and spawn.
trait Runtime {
    const NAME: &'static str;
    fn block_on<F: Future>(&self, future: F) -> F::Output;
    /// The sensor type, with the runtime's timer.
    type Sensor: Stream<Item = Item> + Send + 'static;
    fn sensor(&self, id: u32, latency: Duration) -> Self::Sensor;
    fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) -> Box<dyn Send>;
    /// The runtime's own sleep.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

struct Smol;

impl Runtime for Smol {
    const NAME: &'static str = "smol";
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        smol::block_on(future)
    }
    type Sensor = SimulatedSensor<fn(Duration) -> smol::Timer, smol::Timer>;
    fn sensor(&self, id: u32, latency: Duration) -> Self::Sensor {
        Sensor::new(id, latency).stream(smol::Timer::after as fn(Duration) -> smol::Timer)
    }
    fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) -> Box<dyn Send> {
        Box::new(smol::spawn(future))
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            smol::Timer::after(duration).await;
        })
    }
}

struct Tokio {
    runtime: tokio::runtime::Runtime,
    /// Runs the ingestion future inside `tokio::task::unconstrained`.
    unconstrained: bool,
}

/// Aborts a tokio task when dropped, like a smol task.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Runtime for Tokio {
    const NAME: &'static str = "tokio";
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        if self.unconstrained {
            return self.runtime.block_on(tokio::task::unconstrained(future));
        }
        self.runtime.block_on(future)
    }
    type Sensor = SimulatedSensor<fn(Duration) -> tokio::time::Sleep, tokio::time::Sleep>;
    fn sensor(&self, id: u32, latency: Duration) -> Self::Sensor {
        Sensor::new(id, latency).stream(tokio::time::sleep as fn(Duration) -> tokio::time::Sleep)
    }
    fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) -> Box<dyn Send> {
        Box::new(AbortOnDrop(self.runtime.spawn(future)))
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        // Made inside the future: a `Sleep` needs the runtime's context.
        Box::pin(async move { tokio::time::sleep(duration).await })
    }
}

/// The sensors, each boxed (as merges that need `Unpin` streams want them).
fn sensors<R: Runtime>(runtime: &R, n: usize, latency: Duration) -> Vec<BoxSensor> {
    (0..n as u32)
        .map(|id| Box::pin(runtime.sensor(id, latency)) as BoxSensor)
        .collect()
}

fn confluo_gather<R: Runtime>(rt: &R, n: usize, t: Duration, rounds: u32) -> Measured {
    let region = Region::new(rt);
    // `Gather` boxes each source itself: it takes the sensors as they are.
    let merged = confluo::gather((0..n as u32).map(|id| rt.sensor(id, t)));
    rt.block_on(cycles(merged, n, rounds, region))
}

fn select_all<R: Runtime>(rt: &R, n: usize, t: Duration, rounds: u32) -> Measured {
    let region = Region::new(rt);
    let merged = futures::stream::select_all(sensors(rt, n, t));
    rt.block_on(cycles(merged, n, rounds, region))
}

fn merge<R: Runtime>(rt: &R, n: usize, t: Duration, rounds: u32) -> Measured {
    use futures_concurrency::stream::Merge;
    let region = Region::new(rt);
    let merged = sensors(rt, n, t).merge();
    rt.block_on(cycles(merged, n, rounds, region))
}

fn stream_group<R: Runtime>(rt: &R, n: usize, t: Duration, rounds: u32) -> Measured {
    use futures_concurrency::stream::StreamGroup;
    let region = Region::new(rt);
    let merged: StreamGroup<_> = sensors(rt, n, t).into_iter().collect();
    rt.block_on(cycles(merged, n, rounds, region))
}

fn merge_unbounded<R: Runtime>(rt: &R, n: usize, t: Duration, rounds: u32) -> Measured {
    let region = Region::new(rt);
    let merged: futures_buffered::MergeUnbounded<_> = sensors(rt, n, t).into_iter().collect();
    rt.block_on(cycles(merged, n, rounds, region))
}

fn stream_map<R: Runtime>(rt: &R, n: usize, t: Duration, rounds: u32) -> Measured {
    let region = Region::new(rt);
    let mut map = tokio_stream::StreamMap::with_capacity(n);
    for (key, sensor) in sensors(rt, n, t).into_iter().enumerate() {
        map.insert(key, sensor);
    }
    rt.block_on(cycles(map.map(|(_, reading)| reading), n, rounds, region))
}

/// What many users write: a task per sensor, sending into one channel.
fn task_per_sensor<R: Runtime>(rt: &R, n: usize, t: Duration, rounds: u32) -> Measured {
    let region = Region::new(rt);
    let (sender, receiver) = async_channel::bounded(n.max(1));
    let tasks: Vec<Box<dyn Send>> = sensors(rt, n, t)
        .into_iter()
        .map(|mut sensor| {
            let sender = sender.clone();
            rt.spawn(async move {
                while let Some(reading) = sensor.next().await {
                    if sender.send(reading).await.is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(sender);
    let measured = rt.block_on(cycles(Box::pin(receiver), n, rounds, region));
    drop(tasks);
    measured
}

/// Peak bytes per sensor held by the sensors alone, each boxed, through one
/// whole cycle as a merge drives them: every read started, then (once all
/// are due) every reading taken and the next read started. What every
/// contender holds too, with the runtime's transients, before its share.
fn sensors_alone<R: Runtime>(rt: &R, n: usize, t: Duration) -> f64 {
    let region = Region::new(rt);
    let mut all = sensors(rt, n, t);
    rt.block_on(async {
        assert_eq!(poll_all(&mut all).await, 0);
        rt.sleep(t * 2).await;
        // Tokio's budget may hold some reads back for a while: poll again,
        // yielding in between, until there is a reading per sensor (a sensor
        // polled again after T gives a second one, which does no harm).
        let mut readings = 0;
        while readings < n {
            readings += poll_all(&mut all).await;
            yield_now().await;
        }
    });
    let peak = region.peak();
    drop(all);
    peak / n as f64
}

/// Returns `Pending` once, waking itself: lets the runtime run.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
}

/// Polls every sensor until it is pending; returns the readings it got.
async fn poll_all(all: &mut [BoxSensor]) -> usize {
    std::future::poll_fn(|cx| {
        let mut readings = 0;
        for sensor in all.iter_mut() {
            while sensor.as_mut().poll_next(cx).is_ready() {
                readings += 1;
            }
        }
        std::task::Poll::Ready(readings)
    })
    .await
}

fn sequential<R: Runtime>(rt: &R, n: usize, t: Duration) -> Duration {
    let mut all = sensors(rt, n, t);
    rt.block_on(async {
        let start = Instant::now();
        for sensor in &mut all {
            sensor.next().await.expect("sensors never end").ok();
        }
        start.elapsed()
    })
}

type Contender<R> = (&'static str, fn(&R, usize, Duration, u32) -> Measured);

fn contenders<R: Runtime>() -> [Contender<R>; 7] {
    [
        ("confluo Gather", confluo_gather::<R>),
        ("futures select_all", select_all::<R>),
        ("futures-buffered MergeUnbounded", merge_unbounded::<R>),
        ("futures-concurrency Merge (Vec)", merge::<R>),
        ("futures-concurrency StreamGroup", stream_group::<R>),
        ("tokio-stream StreamMap", stream_map::<R>),
        ("task per sensor + channel", task_per_sensor::<R>),
    ]
}

fn run<R: Runtime>(rt: &R, bench: bool, sizes: &[usize], latency: Duration, rounds: u32) {
    if bench {
        println!("### {}\n", R::NAME);
        println!(
            "| N | contender | cycle (median) | × T | beyond T: median | min | max | peak bytes per sensor | the merge's share |"
        );
        println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    }
    // A contender whose cycle passed 50 × T is not run at larger N: it would
    // take hours, and the table already shows how it scales.
    let mut given_up: Vec<&str> = Vec::new();
    for &n in sizes.iter().filter(|&&n| size_selected(n)) {
        let alone = if bench {
            sensors_alone(rt, n, latency)
        } else {
            0.0
        };
        if bench && n <= 100 {
            let time = sequential(rt, n, latency);
            println!(
                "| {n} | sequential loop (N × T) | {time:.1?} | {:.2} | {:.1?} | | | {alone:.0} | |",
                time.as_secs_f64() / latency.as_secs_f64(),
                time.saturating_sub(latency)
            );
        }
        // Each cycle's time beyond T (ms): `Gather`'s, and the best peer's.
        let mut gather = None;
        let mut best_peer: Option<Vec<f64>> = None;
        for (name, contender) in contenders::<R>() {
            if !selected(name) {
                continue;
            }
            if given_up.contains(&name) {
                if bench {
                    println!("| {n} | {name} | not run: over 50 × T at a smaller N | | | | | | |");
                }
                continue;
            }
            // StreamMap::insert scans every key: building it is O(N²).
            if name.contains("StreamMap") && n > 100_000 {
                if bench {
                    println!("| {n} | {name} | not run: building it takes O(N²) | | | | | | |");
                }
                continue;
            }
            if bench {
                eprint!("  {} N = {n}: {name}...\r", R::NAME);
            }
            let m = {
                let _naming = Naming {
                    name,
                    n,
                    runtime: R::NAME,
                };
                contender(rt, n, latency, rounds)
            };
            if bench {
                eprint!("{:70}\r", "");
            }
            let cycle = m.median();
            if cycle > latency * 50 {
                given_up.push(name);
            }
            let beyond: Vec<f64> = m
                .cycles
                .iter()
                .map(|c| c.saturating_sub(latency).as_secs_f64() * 1e3)
                .collect();
            if bench {
                let (lo, mid, hi) = spread(beyond.clone());
                println!(
                    "| {n} | {name} | {cycle:.1?} | {:.2} | {mid:.2}ms | {lo:.2}ms | {hi:.2}ms | {:.0} | {:.0} |",
                    cycle.as_secs_f64() / latency.as_secs_f64(),
                    m.bytes_per_sensor,
                    m.bytes_per_sensor - alone
                );
            }
            if name.contains("Gather") {
                gather = Some(beyond);
            } else {
                // The best peer in each cycle.
                best_peer = match best_peer {
                    None => Some(beyond),
                    Some(best) => Some(best.iter().zip(&beyond).map(|(a, b)| a.min(*b)).collect()),
                };
            }
        }
        // Below 10,000 sensors the times beyond T are tens of microseconds,
        // and their ratios mostly noise.
        if let (true, true, Some(gather), Some(best)) = (bench, n >= 10_000, gather, best_peer) {
            let ratios = gather.iter().zip(&best).map(|(g, b)| g / b).collect();
            let (lo, mid, hi) = spread(ratios);
            println!(
                "| {n} | `Gather`'s time beyond T ÷ the best peer's, per cycle | | | {mid:.2} | {lo:.2} | {hi:.2} | | |"
            );
        }
    }
    if bench {
        println!();
    }
}

fn main() {
    println!("Machine: {}", common::machine());
    let bench = std::env::args().any(|arg| arg == "--bench");
    let full = std::env::var("CONFLUO_BENCH").as_deref() == Ok("full");
    let (sizes, latency, rounds): (&[usize], _, _) = match (bench, full) {
        (false, _) => (&[10, 100], Duration::from_millis(1), 1),
        (true, false) => (&[10, 100, 1_000, 10_000], Duration::from_millis(20), 5),
        (true, true) => (
            &[10, 100, 1_000, 10_000, 100_000, 1_000_000],
            Duration::from_millis(20),
            5,
        ),
    };
    if bench {
        println!("## W3 sensor cycle time: T = {latency:?}, {rounds} cycles after a warm-up\n");
    }
    let runtime = std::env::var("CONFLUO_BENCH_RUNTIME").unwrap_or_default();
    if runtime != "tokio" {
        run(&Smol, bench, sizes, latency, rounds);
    }
    if runtime != "smol" {
        let flavor = std::env::var("CONFLUO_BENCH_TOKIO").unwrap_or_default();
        let runtime = if flavor.starts_with("current_thread") {
            tokio::runtime::Builder::new_current_thread()
        } else {
            tokio::runtime::Builder::new_multi_thread()
        }
        .enable_time()
        .build()
        .expect("a tokio runtime");
        let tokio = Tokio {
            runtime,
            unconstrained: flavor.ends_with("unconstrained"),
        };
        if bench && !flavor.is_empty() {
            println!("tokio flavor: {flavor}\n");
        }
        run(&tokio, bench, sizes, latency, rounds);
    }
}
