//! Sampling at scale: N sensors, each sampled every P = 1 s for 10 s, each
//! read a 5 ms round trip (a sleep of the runtime in use, the same for
//! every contender) under a timeout of 100 ms, each sensor's first slot
//! spread over the period by its key. Contenders, each in a process of its
//! own (this binary, run again with `--contender`), each on two threads:
//!
//! - `Fleet/smol`, `Fleet/tokio`: `sample::Fleet`s, one per 500,000
//!   sensors (split by key), one task each, on a 2-thread smol executor or
//!   a 2-worker tokio runtime (in `tokio::task::unconstrained`, as the
//!   docs advise);
//! - `tasks/tokio`: a task per sensor with `tokio::time::interval` (missed
//!   ticks skipped) and `tokio::time::timeout`;
//! - `tasks/smol`: a task per sensor with `async_io::Timer::interval_at`
//!   and a race against `Timer::after` for the timeout;
//! - `Gather/smol`, `Gather/tokio`: `Gather`s of per-sensor interval
//!   streams, each mapped to its read with `then` (the way before
//!   `Fleet`), shared out as the fleets are.
//!
//! Reported: samples taken (a read that returned within the timeout, for a
//! slot due within the 10 s) against scheduled (10 × N), the achieved rate
//! per sensor (mean and 1st percentile), lateness of each read's start
//! against its slot (p50, p99, max), CPU time per sample (the process's CPU
//! clock: user + system, as getrusage counts them, over the 10 s) and peak heap per sensor.
//!
//! ```text
//! cargo bench --bench sampling                       # N = 10,000 and 100,000
//! CONFLUO_BENCH=full cargo bench --bench sampling    # and 1,000,000
//! ```
//!
//! `CONFLUO_BENCH_ONLY` and `CONFLUO_BENCH_N` select contenders and sizes;
//! `CONFLUO_BENCH_RESOLUTION_MS=5` gives the fleets a tick of 5 ms instead
//! of their default 1 ms (`Fleet::resolution`), to weigh CPU against
//! lateness.
//! Run without `--bench` (as `cargo test` does), it is a smoke run: 200
//! sensors every 100 ms for a second, each contender checked to take
//! nearly every sample.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{selected, size_selected};
use peak_alloc::PeakAlloc;

#[path = "sampling/contenders.rs"]
mod contenders;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

const READ: Duration = Duration::from_millis(5);
const TIMEOUT: Duration = Duration::from_millis(100);
const CONTENDERS: [&str; 6] = [
    "Fleet/smol",
    "Fleet/tokio",
    "tasks/tokio",
    "tasks/smol",
    "Gather/smol",
    "Gather/tokio",
];

/// One run's shape.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run {
    pub(crate) sensors: u32,
    pub(crate) period: Duration,
    pub(crate) slots: u32,
    pub(crate) read: Duration,
    pub(crate) timeout: Duration,
    /// The fleets' tick, if not their default.
    pub(crate) resolution: Option<Duration>,
}

impl Run {
    /// The phase of a sensor: its first slot's offset from the start, as
    /// `Schedule::phase_from_key` spreads it (every contender uses it).
    pub(crate) fn phase(&self, key: u32) -> Duration {
        let every =
            confluo::sample::Schedule::every(confluo::sample::Period::new(self.period).unwrap());
        every.phase_from_key(&key).due().unwrap()
    }

    fn length(&self) -> Duration {
        self.period * self.slots
    }
}

/// The fleets' tick that `CONFLUO_BENCH_RESOLUTION_MS` asks for, if any:
/// read by the benchmark and by each contender's process, which inherits it.
fn resolution() -> Option<Duration> {
    let ms = std::env::var("CONFLUO_BENCH_RESOLUTION_MS").ok()?;
    let ms = ms
        .parse()
        .expect("CONFLUO_BENCH_RESOLUTION_MS is a whole number of milliseconds");
    Some(Duration::from_millis(ms))
}

/// What the contenders record, shared by their tasks.
pub(crate) struct Record {
    /// Samples taken, per sensor.
    taken: Vec<AtomicU32>,
    /// Lateness in buckets of 10 µs; the last holds everything beyond.
    /// One histogram per thread (of the first `LANES` to record), so the
    /// threads do not fight over the same counters: the cost of recording
    /// stays out of the figures.
    late: Vec<Vec<AtomicU64>>,
    late_max: Vec<AtomicU64>,
    length: Duration,
}

const BUCKET: Duration = Duration::from_micros(10);
const LANES: usize = 4;

/// This thread's lane of the histograms.
fn lane() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    thread_local!(static LANE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % LANES);
    LANE.with(|lane| *lane)
}
const BUCKETS: usize = 200_000; // 2 s

impl Record {
    fn new(run: &Run) -> Record {
        Record {
            taken: (0..run.sensors).map(|_| AtomicU32::new(0)).collect(),
            late: (0..LANES)
                .map(|_| (0..BUCKETS).map(|_| AtomicU64::new(0)).collect())
                .collect(),
            late_max: (0..LANES).map(|_| AtomicU64::new(0)).collect(),
            length: run.length(),
        }
    }

    /// A read of `key` for the slot due at `due` (from the start) started
    /// `late`, and came back in time (`ok`) or not.
    pub(crate) fn sample(&self, key: u32, due: Duration, late: Duration, ok: bool) {
        if due >= self.length {
            return;
        }
        // In 10 µs, with no division of `u128`s.
        let tens_of_micros = late.as_secs() * 100_000 + u64::from(late.subsec_nanos() / 10_000);
        let bucket = (tens_of_micros as usize).min(BUCKETS - 1);
        let lane = lane();
        self.late[lane][bucket].fetch_add(1, Ordering::Relaxed);
        let late = late.as_nanos() as u64;
        if late > self.late_max[lane].load(Ordering::Relaxed) {
            self.late_max[lane].fetch_max(late, Ordering::Relaxed);
        }
        if ok {
            self.taken[key as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn quantile(&self, q: f64) -> Duration {
        let count = |i: usize| -> u64 {
            self.late
                .iter()
                .map(|lane| lane[i].load(Ordering::Relaxed))
                .sum()
        };
        let total: u64 = (0..BUCKETS).map(count).sum();
        let target = ((total as f64) * q).ceil() as u64;
        let mut seen = 0;
        for i in 0..BUCKETS {
            seen += count(i);
            if seen >= target.max(1) {
                return BUCKET * (i as u32 + 1);
            }
        }
        Duration::MAX
    }
}

/// CPU time of this process so far, user and system, every thread: what
/// getrusage's `ru_utime + ru_stime` count, from the process's CPU clock.
fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Runs one contender in this process and prints its result line.
fn contend(name: &str, run: Run) {
    let record = Arc::new(Record::new(&run));
    let base = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    // Every contender starts its sensors' slots at `start`, after a margin
    // for building them; CPU time is counted from `start`.
    let margin = Duration::from_millis(500) + Duration::from_micros(5) * run.sensors;
    let start = Instant::now() + margin;
    let cpu = Arc::new(AtomicU64::new(0));
    let (c, length) = (Arc::clone(&cpu), run.length());
    let measure = move || {
        std::thread::sleep(start.saturating_duration_since(Instant::now()));
        let before = cpu_time();
        std::thread::sleep(length + TIMEOUT * 2);
        c.store((cpu_time() - before).as_nanos() as u64, Ordering::SeqCst);
    };
    contenders::run(name, run, start, Arc::clone(&record), measure);
    let peak = ALLOCATOR.peak_usage().saturating_sub(base);
    let taken: u64 = record
        .taken
        .iter()
        .map(|t| u64::from(t.load(Ordering::Relaxed)))
        .sum();
    let mut per_sensor: Vec<u32> = record
        .taken
        .iter()
        .map(|t| t.load(Ordering::Relaxed))
        .collect();
    per_sensor.sort_unstable();
    let seconds = length.as_secs_f64();
    let hz_mean = taken as f64 / f64::from(run.sensors) / seconds;
    let hz_p1 = f64::from(per_sensor[per_sensor.len() / 100]) / seconds;
    let cpu = Duration::from_nanos(cpu.load(Ordering::SeqCst));
    println!(
        "RESULT {name} {} {} {taken} {hz_mean:.3} {hz_p1:.3} {} {} {} {:.2} {}",
        run.sensors,
        u64::from(run.sensors) * u64::from(run.slots),
        record.quantile(0.5).as_micros(),
        record.quantile(0.99).as_micros(),
        record
            .late_max
            .iter()
            .map(|m| m.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
            / 1_000,
        cpu.as_secs_f64() * 1e6 / taken.max(1) as f64,
        peak / run.sensors as usize,
    );
}

/// A parsed result line.
struct Outcome {
    name: String,
    scheduled: u64,
    taken: u64,
    hz_mean: f64,
    hz_p1: f64,
    late_us: [u64; 3],
    cpu_us: f64,
    bytes: u64,
}

fn spawn(name: &str, run: Run) -> Outcome {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--contender", name])
        .args([run.sensors, run.period.as_millis() as u32, run.slots].map(|n| n.to_string()))
        .output()
        .expect("the benchmark runs itself");
    let line = common::result_line(name, &output);
    let f: Vec<&str> = line.split_whitespace().collect();
    let n = |i: usize| f[i].parse::<f64>().unwrap();
    Outcome {
        name: f[1].to_string(),
        scheduled: n(3) as u64,
        taken: n(4) as u64,
        hz_mean: n(5),
        hz_p1: n(6),
        late_us: [n(7) as u64, n(8) as u64, n(9) as u64],
        cpu_us: n(10),
        bytes: n(11) as u64,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--contender") {
        let num = |i: usize| args[at + i].parse::<u32>().unwrap();
        let run = Run {
            sensors: num(2),
            period: Duration::from_millis(u64::from(num(3))),
            slots: num(4),
            read: READ,
            timeout: TIMEOUT,
            resolution: resolution(),
        };
        contend(&args[at + 1], run);
        return;
    }
    println!("Machine: {}", common::machine());
    let bench = args.iter().any(|a| a == "--bench");
    let full = std::env::var("CONFLUO_BENCH").is_ok_and(|v| v == "full");
    let sizes: &[u32] = match (bench, full) {
        (false, _) => &[200],
        (true, false) => &[10_000, 100_000],
        (true, true) => &[10_000, 100_000, 1_000_000],
    };
    let (period, slots) = if bench { (1_000, 10) } else { (100, 10) };
    for &sensors in sizes.iter().filter(|&&n| size_selected(n as usize)) {
        let run = Run {
            sensors,
            period: Duration::from_millis(period),
            slots,
            read: READ,
            timeout: TIMEOUT,
            resolution: resolution(),
        };
        let tick = run
            .resolution
            .map_or(String::new(), |r| format!(", fleets' tick {r:?}"));
        println!(
            "\nN = {sensors}, P = {period} ms, {slots} slots, read {READ:?}, timeout {TIMEOUT:?}{tick}"
        );
        println!("| contender | taken / scheduled | Hz mean | Hz p1 | late p50 | late p99 | late max | CPU/sample | heap/sensor |");
        println!("|---|---|---|---|---|---|---|---|---|");
        let mut outcomes = Vec::new();
        for name in CONTENDERS.iter().filter(|n| selected(n)) {
            let o = spawn(name, run);
            println!(
                "| {} | {:.2}% | {:.3} | {:.3} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} µs | {} B |",
                o.name,
                100.0 * o.taken as f64 / o.scheduled as f64,
                o.hz_mean,
                o.hz_p1,
                o.late_us[0] as f64 / 1e3,
                o.late_us[1] as f64 / 1e3,
                o.late_us[2] as f64 / 1e3,
                o.cpu_us,
                o.bytes,
            );
            if !bench {
                assert!(
                    o.taken * 100 >= o.scheduled * 95,
                    "{}: {} of {}",
                    o.name,
                    o.taken,
                    o.scheduled
                );
            }
            outcomes.push(o);
        }
        ratios(&outcomes);
    }
}

/// The targets' ratios: Fleet's CPU per sample against the best task per
/// sensor on its runtime, and its heap per sensor against the leanest.
fn ratios(outcomes: &[Outcome]) {
    let get = |name: &str| outcomes.iter().find(|o| o.name == name);
    let tasks: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.name.starts_with("tasks/"))
        .collect();
    let Some(leanest) = tasks.iter().map(|o| o.bytes).min() else {
        return;
    };
    for runtime in ["smol", "tokio"] {
        if let (Some(fleet), Some(task)) = (
            get(&format!("Fleet/{runtime}")),
            get(&format!("tasks/{runtime}")),
        ) {
            println!(
                "Fleet/{runtime}: CPU per sample {:.2}× tasks/{runtime}'s; heap per sensor {:.2}× the leanest task per sensor's",
                fleet.cpu_us / task.cpu_us,
                fleet.bytes as f64 / leanest as f64,
            );
        }
    }
}
