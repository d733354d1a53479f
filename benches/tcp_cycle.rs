//! Sensor cycles over real TCP on loopback: N sensors, each a persistent
//! connection to a server that answers each request T = 50 ms after it
//! arrived; every sensor read once per cycle, 5 cycles after a warm-up.
//! Contenders, each in a process of its own (this binary, run again with
//! `--contender`), each on two threads:
//!
//! - `Gather/tokio`, `Gather/smol`: one `confluo::Gather` of the N sensor
//!   streams, on one task;
//! - `Shards/tokio`, `Shards/smol`: the sharded form, `KeyedGather::sharded`
//!   over 2 shards, a task each;
//! - `tasks/tokio`, `tasks/smol`: a task per sensor;
//!
//! on a 2-worker tokio runtime (sensors on `tokio::net::TcpStream`, tokio's
//! cooperative budget as users have it) or a smol executor run on 2 threads
//! (sensors on `smol::Async<std::net::TcpStream>`).
//!
//! The server (`--server`) is this binary too, a fresh process for each
//! contender, so that no contender meets the connections of the one before:
//! a task per connection on a 2-worker tokio runtime, one request in flight
//! per connection. A request is 8 bytes (the sensor and the cycle); the
//! reply, the same 8 bytes, leaves T after the request came in (tokio's
//! timer, whole milliseconds). Server and contender share the machine.
//!
//! A cycle, the same for every contender: one signal (an
//! `event_listener::Event`) starts it; each sensor, woken by it, sends its
//! request and awaits its reply, and hands the reading on (a `Gather`'s
//! sensors to its task, a shard's to the shard's task, a task's to itself),
//! where it is checked and counted; the reading that completes the N ends
//! the cycle and starts the next at once. A sensor waits for the next
//! signal before its next request, so a cycle is every sensor read once,
//! and never more. The N connections are made before the first cycle, which
//! warms up and is not measured.
//!
//! Reported, per contender: the cycle's median, its time beyond T (median,
//! min, max over the 5 cycles), and the contender process's CPU time (user
//! and system, all threads; none of the server's) per read, over the 5
//! cycles; and how late the server's replies left, from reading a request
//! to having written its reply, beyond T (mean and max, warm-up
//! included): its timer's part of the time beyond T, the same for every
//! contender. Below each N, the ratios of the target: the sharded form's time
//! beyond T at most a task per sensor's, and no more than one `Gather`'s.
//!
//! Each process holds a socket per sensor: both raise their soft limit of
//! open files to the hard limit (and say so), and stop if that leaves less
//! than N + 100.
//!
//! ```text
//! cargo bench --bench tcp_cycle      # N = 2,000 and 10,000, T = 50 ms
//! ```
//!
//! `CONFLUO_BENCH_ONLY` (a part of a contender's name) and `CONFLUO_BENCH_N`
//! select. Run without `--bench` (as `cargo test --release --bench
//! tcp_cycle` does), it is a smoke run: N = 50, T = 5 ms, 2 cycles, every
//! contender checked to deliver every reading once per cycle.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{selected, size_selected, spread};

#[path = "tcp_cycle/contenders.rs"]
mod contenders;
#[path = "tcp_cycle/cycles.rs"]
mod cycles;
#[path = "tcp_cycle/server.rs"]
mod server;

const CONTENDERS: [&str; 6] = [
    "Gather/tokio",
    "Shards/tokio",
    "tasks/tokio",
    "Gather/smol",
    "Shards/smol",
    "tasks/smol",
];

/// Open files a process needs beyond one per sensor: the runtime's own,
/// standard streams, the listener.
const HEADROOM: u64 = 100;

/// Raises this process's soft limit of open files to its hard limit, and
/// stops (naming `who`) if that is too few for `sensors`. Returns the limit
/// before and after.
fn open_files(sensors: u32, who: &str) -> (u64, u64) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    let before = limit.current.unwrap_or(u64::MAX);
    limit.current = limit.maximum;
    setrlimit(Resource::Nofile, limit)
        .unwrap_or_else(|e| panic!("{who}: raising the open-file limit: {e}"));
    let after = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    let needed = u64::from(sensors) + HEADROOM;
    assert!(
        after >= needed,
        "{who}: {sensors} sensors need {needed} open files, but the hard limit is {after}: \
         raise it (`ulimit -Hn`, or `nofile` in /etc/security/limits.conf)"
    );
    (before, after)
}

/// Runs contender `name` in this process and prints its result line.
fn contend(name: &str, sensors: u32, latency: Duration, measured: u32, port: u16) {
    open_files(sensors, name);
    // A panic on any thread (a lost connection, say) ends the process, so
    // that the run fails instead of waiting forever for a reading.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        std::process::exit(101);
    }));
    let cycles = Arc::new(cycles::Cycles::new(sensors, measured));
    let _running = contenders::start(name, sensors, port, &cycles);
    let patience = (latency + Duration::from_secs(30)) * (measured + 1);
    let report = cycles
        .run(patience)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let cycles: Vec<String> = report
        .cycles
        .iter()
        .map(|c| c.as_nanos().to_string())
        .collect();
    println!(
        "RESULT {name} {} {}",
        report.cpu.as_nanos(),
        cycles.join(" ")
    );
    std::io::stdout().flush().unwrap();
    // Not torn down: the process ends here, and the kernel closes the
    // sockets.
    std::process::exit(0);
}

/// What a contender measured.
struct Outcome {
    name: String,
    /// Each measured cycle, in milliseconds.
    cycles: Vec<f64>,
    cpu: Duration,
    /// How late the server's replies left: mean and max.
    server_late: (Duration, Duration),
}

/// Runs contender `name` against a server of its own, each a process.
fn measure(name: &str, sensors: u32, latency: Duration, measured: u32) -> Outcome {
    let exe = std::env::current_exe().unwrap();
    let latency_ms = latency.as_millis().to_string();
    let mut server = Command::new(&exe)
        .args(["--server", &sensors.to_string(), &latency_ms])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the benchmark runs itself");
    let mut said = BufReader::new(server.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let port = said
        .find_map(|line| line.strip_prefix("PORT ")?.parse::<u16>().ok())
        .expect("the server says its port");
    let output = Command::new(&exe)
        .args(["--contender", name, &sensors.to_string(), &latency_ms])
        .args([measured.to_string(), port.to_string()])
        .output()
        .expect("the benchmark runs itself");
    // The server ends when its input does, saying how late it was.
    drop(server.stdin.take());
    let late: Vec<u64> = said
        .find_map(|line| {
            let fields = line.strip_prefix("LATE ")?.split_whitespace();
            fields.map(|f| f.parse().ok()).collect()
        })
        .expect("the server says how late it was");
    server.wait().unwrap();
    let line = common::result_line(name, &output);
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(2)
        .map(|f| f.parse().unwrap())
        .collect();
    Outcome {
        name: name.to_string(),
        cycles: fields[1..].iter().map(|&ns| ns as f64 / 1e6).collect(),
        cpu: Duration::from_nanos(fields[0]),
        server_late: (Duration::from_nanos(late[0]), Duration::from_nanos(late[1])),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |at: usize| -> u32 { args[at].parse().expect("a number") };
    if let Some(at) = args.iter().position(|a| a == "--server") {
        server::serve(num(at + 1), Duration::from_millis(num(at + 2).into()));
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--contender") {
        let latency = Duration::from_millis(num(at + 3).into());
        let port = num(at + 5).try_into().expect("a port");
        contend(&args[at + 1], num(at + 2), latency, num(at + 4), port);
        return;
    }
    println!("Machine: {}", common::machine());
    let bench = args.iter().any(|a| a == "--bench");
    let (sizes, latency_ms, measured): (&[u32], u64, u32) = if bench {
        (&[2_000, 10_000], 50, 5)
    } else {
        (&[50], 5, 2)
    };
    let latency = Duration::from_millis(latency_ms);
    let sizes: Vec<u32> = sizes
        .iter()
        .copied()
        .filter(|&n| size_selected(n as usize))
        .collect();
    if let Some(&most) = sizes.iter().max() {
        let (before, after) = open_files(most, "the benchmark");
        println!(
            "Open files: the soft limit raised from {before} to {after} (the hard limit), \
             in the server's process and each contender's"
        );
    }
    for sensors in sizes {
        println!(
            "\nN = {sensors}, T = {latency_ms} ms, {measured} cycles after a warm-up, \
             over TCP on loopback\n"
        );
        println!(
            "| contender | cycle median | overhead beyond T: median | min | max | CPU per read (µs) | reads | server's reply late: mean | max |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        let mut outcomes = Vec::new();
        for name in CONTENDERS.iter().filter(|n| selected(n)) {
            let o = measure(name, sensors, latency, measured);
            let reads = u64::from(sensors) * o.cycles.len() as u64;
            let (_, cycle, _) = spread(o.cycles.clone());
            let (lo, mid, hi) = spread(o.overheads(latency));
            println!(
                "| {name} | {cycle:.2} ms | {mid:.2} ms | {lo:.2} ms | {hi:.2} ms | {:.2} | {reads} | {:.2} ms | {:.2} ms |",
                o.cpu.as_secs_f64() * 1e6 / reads as f64,
                o.server_late.0.as_secs_f64() * 1e3,
                o.server_late.1.as_secs_f64() * 1e3,
            );
            assert_eq!(o.cycles.len(), measured as usize, "{name}: cycles measured");
            assert!(
                o.cycles.iter().all(|&c| c >= latency_ms as f64),
                "{name}: a cycle shorter than T"
            );
            outcomes.push(o);
        }
        ratios(&outcomes, latency);
    }
}

impl Outcome {
    /// Each cycle's time beyond T, in milliseconds.
    fn overheads(&self, latency: Duration) -> Vec<f64> {
        let t = latency.as_secs_f64() * 1e3;
        self.cycles.iter().map(|c| c - t).collect()
    }
}

/// The target's ratios of median time beyond T: the sharded form's against
/// a task per sensor's and one `Gather`'s, on each runtime.
fn ratios(outcomes: &[Outcome], latency: Duration) {
    let median = |name: &str| {
        let o = outcomes.iter().find(|o| o.name == name)?;
        Some(spread(o.overheads(latency)).1)
    };
    let mut said = Vec::new();
    for other in ["tasks", "Gather"] {
        for runtime in ["tokio", "smol"] {
            let (shards, other) = (format!("Shards/{runtime}"), format!("{other}/{runtime}"));
            if let (Some(s), Some(o)) = (median(&shards), median(&other)) {
                said.push(format!("{shards} ÷ {other} {:.2}", s / o));
            }
        }
    }
    if !said.is_empty() {
        println!("\nOverhead beyond T, median, ratios: {}", said.join("; "));
    }
}
