//! Sampling at scale over real TCP: thousands of sensors on loopback, each
//! read on its own fixed-rate schedule with a timeout, its connection kept
//! from one read to the next, all driven by one `gather`.
//!
//! ```text
//! cargo run --release --example poll_tcp --features async-io
//! cargo run --release --example poll_tcp --features async-io -- --sensors 500 --seconds 5 --period-ms 100
//! ```
//!
//! A sensor server on 127.0.0.1 (a listener on an ephemeral port per 100
//! sensors) plays five kinds of sensor: most answer in 2–8 ms, some take
//! 300 ms (past the 100 ms timeout), some never answer, some drop their
//! connection at every seventh request, and some go down for the middle
//! third of the run and come back.
//! Every second a line says the rate achieved per sensor, the samples that
//! started late, the timeouts and the sensors down; at the end, a table per
//! kind compares the rate with reading the sensors one after another.
//! Dropping the gather then closes every connection: the server's count
//! and the process's open file descriptors go back to where they started.
//!
//! Each sensor holds two sockets (client and server side), so N sensors
//! need an open-file limit above 2 × N: `ulimit -n 10000` for the default
//! 2,000, or pass a smaller `--sensors`.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use confluo::gather;
use confluo::sample::{Backoff, HealthTable, Outcome, Period, Sample, Sampler, Schedule};
use confluo::time::{AsyncIoClock, Clock};
use futures::{AsyncReadExt, AsyncWriteExt, Stream, StreamExt};
use smol::net::{TcpListener, TcpStream};

const TIMEOUT: Duration = Duration::from_millis(100);
const LATE: Duration = Duration::from_millis(10);

/// What a sensor does, by its id: 14 in 20 are fast, 1 is slow, 1 hangs,
/// 2 drop their connection, 2 go down for a while.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Fast,
    Slow,
    Hangs,
    Drops,
    GoesDown,
}
use Kind::*;

const KINDS: [Kind; 5] = [Fast, Slow, Hangs, Drops, GoesDown];

impl Kind {
    fn of(id: u32) -> Kind {
        match id % 20 {
            0..=13 => Fast,
            14 => Slow,
            15 => Hangs,
            16 | 17 => Drops,
            _ => GoesDown,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Fast => "answer in 2-8 ms",
            Slow => "answer in 300 ms, past the timeout",
            Hangs => "never answer",
            Drops => "drop their connection at every 7th request",
            GoesDown => "go down for the middle third of the run, then come back",
        }
    }
}

/// The sensor server: its open connections, and when the sensors that go
/// down are down (the middle third of the run).
struct Server {
    open: AtomicUsize,
    start: Instant,
    run: Duration,
}

impl Server {
    fn is_down(&self) -> bool {
        let t = self.start.elapsed();
        t >= self.run / 3 && t < self.run * 2 / 3
    }

    async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let connection = match listener.accept().await {
                Ok((connection, _)) => connection,
                Err(e) if e.raw_os_error() == Some(EMFILE) => out_of_files(e.to_string()),
                Err(e) => {
                    eprintln!("accept: {e}");
                    continue;
                }
            };
            self.open.fetch_add(1, SeqCst);
            let server = Arc::clone(&self);
            smol::spawn(async move {
                let _ = server.answer(connection).await; // closes it
                server.open.fetch_sub(1, SeqCst);
            })
            .detach();
        }
    }

    /// A hello (the sensor's id) and an ack, then a reading (8 bytes) for
    /// each request (1 byte), the way the sensor's kind answers.
    async fn answer(&self, mut connection: TcpStream) -> io::Result<()> {
        let mut hello = [0u8; 4];
        connection.read_exact(&mut hello).await?;
        let id = u32::from_le_bytes(hello);
        let kind = Kind::of(id);
        if kind == GoesDown && self.is_down() {
            return Ok(()); // a refused handshake
        }
        connection.write_all(&[1]).await?;
        let mut request = [0u8; 1];
        for n in 1u64.. {
            connection.read_exact(&mut request).await?;
            let wait = match kind {
                Hangs => continue,
                Slow => Duration::from_millis(300),
                Drops if n % 7 == 0 => return Ok(()),
                GoesDown if self.is_down() => return Ok(()),
                _ => Duration::from_millis(2 + (u64::from(id) * 31 + n * 17) % 7),
            };
            smol::Timer::after(wait).await;
            let reading = 20.0 + (n % 10) as f64 / 10.0;
            connection.write_all(&reading.to_le_bytes()).await?;
        }
        Ok(())
    }
}

/// Sensor `id` sampled every `period`, its samples tagged with its id.
/// Counts its connects, failed ones included, in `connects`.
fn sensor(
    id: u32,
    address: SocketAddr,
    clock: AsyncIoClock,
    period: Period,
    connects: Arc<[AtomicU64; 5]>,
) -> impl Stream<Item = (u32, Sample<f64, io::Error>)> {
    let connect = move || {
        connects[Kind::of(id) as usize].fetch_add(1, SeqCst);
        async move {
            let mut connection = TcpStream::connect(address).await?;
            connection.write_all(&id.to_le_bytes()).await?;
            connection.read_exact(&mut [0u8; 1]).await?;
            Ok(connection)
        }
    };
    let read = |mut connection: TcpStream| async move {
        let mut answer = [0u8; 8];
        let asked = async {
            connection.write_all(b"R").await?;
            connection.read_exact(&mut answer).await
        };
        match asked.await {
            Ok(()) => (Some(connection), Ok(f64::from_le_bytes(answer))),
            Err(error) => (None, Err(error)), // broken: the next sample reconnects
        }
    };
    let backoff = Backoff {
        first: period.get(),
        max: Duration::from_secs(1),
        ..Backoff::default()
    };
    let schedule = Schedule::every(period).phase_from_key(&id);
    Sampler::new(schedule, clock, connect, read)
        .timeout(TIMEOUT)
        .backoff(backoff)
        .map(move |sample| (id, sample))
}

fn main() -> io::Result<()> {
    let sensors = arg("--sensors", 2_000) as u32;
    let run = Duration::from_secs(arg("--seconds", 10));
    let period = Period::new(Duration::from_millis(arg("--period-ms", 200))).expect("a period");
    smol::block_on(async {
        let (open, start) = (AtomicUsize::new(0), Instant::now());
        let server = Arc::new(Server { open, start, run });
        // A listener per 100 sensors: the listen queue of one (128, std's)
        // would overflow when 2,000 sensors connect within a period.
        let mut addresses = Vec::new();
        for _ in 0..(sensors + 99) / 100 {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            addresses.push(listener.local_addr()?);
            smol::spawn(Arc::clone(&server).serve(listener)).detach();
        }
        let fds_at_start = open_fds();
        println!(
            "{sensors} sensors behind {} listeners on 127.0.0.1, every {:?}, timeout {TIMEOUT:?}, for {run:?}:",
            addresses.len(),
            period.get()
        );
        for kind in KINDS {
            let n = (0..sensors).filter(|&id| Kind::of(id) == kind).count();
            println!("  {n:>5} {kind:?}: {}", kind.what());
        }

        let clock = AsyncIoClock::new();
        let connects = Arc::new(KINDS.map(|_| AtomicU64::new(0)));
        let address = |id| addresses[id as usize % addresses.len()];
        let sensor = |id| sensor(id, address(id), clock, period, Arc::clone(&connects));
        let mut all = gather((0..sensors).map(sensor));
        let mut table = HealthTable::new();
        // Per sensor: the time its tries took, each capped at the timeout, and how many.
        let mut reads = vec![(Duration::ZERO, 0u32); sensors as usize];
        let (mut late, mut timeouts, mut second) = (0, 0, Duration::from_secs(1));
        let mut report = clock.sleep_until(second);
        while second <= run {
            // The report first: a steady flow of samples cannot hold it back.
            let report_due = async {
                (&mut report).await;
                None
            };
            let Some((id, sample)) = smol::future::or(report_due, all.next()).await else {
                let hz = table.rate() / table.len().max(1) as f64;
                let down = table.down().count();
                println!("{second:>4.0?}  {hz:5.2} Hz per sensor  {late:>5} late > {LATE:?}  {timeouts:>5} timeouts  {down:>5} down");
                (late, timeouts, second) = (0, 0, second + Duration::from_secs(1));
                report = clock.sleep_until(second);
                continue;
            };
            match &sample.outcome {
                Outcome::Err(e) | Outcome::ConnectFailed(e) if e.raw_os_error() == Some(EMFILE) => {
                    out_of_files(e.to_string())
                }
                Outcome::Disconnected | Outcome::Skipped { .. } => {}
                outcome => {
                    let tries = &mut reads[id as usize];
                    *tries = (tries.0 + sample.took.min(TIMEOUT), tries.1 + 1);
                    late += usize::from(sample.late > LATE);
                    timeouts += usize::from(matches!(outcome, Outcome::TimedOut));
                }
            }
            table.record(id, &sample);
        }
        summary(&table, &reads, &connects);

        // Dropping the gather closes every connection at once; the server
        // notices each on its own time (a slow sensor's when its answer is due).
        let fds = |n: Option<usize>| n.map_or("-".into(), |n| n.to_string());
        let (dropped, mut show) = (Instant::now(), Duration::ZERO);
        drop(all);
        let took = dropped.elapsed();
        let at_start = fds(fds_at_start);
        println!("\ndropped the gather in {took:.1?} ({at_start} file descriptors open at start):");
        loop {
            let (open, now) = (server.open.load(SeqCst), open_fds());
            let done = open == 0 && now == fds_at_start;
            let after = dropped.elapsed();
            if done || after >= show {
                let now = fds(now);
                println!("  after {after:>7.1?}: {open:>5} connections open at the server, {now:>5} file descriptors");
                show = after * 2;
            }
            assert!(
                after < Duration::from_secs(10),
                "connections or file descriptors left open"
            );
            if done {
                break;
            }
            smol::Timer::after(Duration::from_micros(100)).await;
        }
        Ok(())
    })
}

/// The table per kind: the rate achieved against reading one sensor after
/// another, timeouts, reconnects, and how many are up at the end.
fn summary(table: &HealthTable<u32>, reads: &[(Duration, u32)], connects: &[AtomicU64; 5]) {
    let cycle: Duration = reads
        .iter()
        .filter(|r| r.1 > 0)
        .map(|&(took, n)| took / n)
        .sum();
    let sequential = 1.0 / cycle.as_secs_f64();
    println!("\nOne after another, each read taking its sensor's mean read time in this run");
    println!("(capped at the timeout), a cycle of {} sensors takes {cycle:.1?}: {sequential:.3} Hz per sensor.\n", reads.len());
    println!(
        "kind      sensors  Hz sequential  Hz sampled  speed-up  timeouts  reconnects  up at end"
    );
    for kind in KINDS {
        let of_kind: Vec<_> = table
            .iter()
            .filter(|(&id, _)| Kind::of(id) == kind)
            .map(|(_, h)| h)
            .collect();
        let n = of_kind.len();
        let sampled = of_kind.iter().map(|h| h.rate()).sum::<f64>() / n as f64;
        let timeouts: u64 = of_kind.iter().map(|h| h.timeouts).sum();
        let reconnects = connects[kind as usize]
            .load(SeqCst)
            .saturating_sub(n as u64);
        let up = of_kind.iter().filter(|h| h.is_up()).count();
        let speed_up = match sampled / sequential {
            x if x > 0.0 => format!("{x:.0}x"),
            _ => "-".into(),
        };
        let kind = format!("{kind:?}");
        println!("{kind:<9} {n:>7} {sequential:>14.3} {sampled:>11.2} {speed_up:>9} {timeouts:>9} {reconnects:>11} {up:>10}");
    }
}

/// Too many open files (the errno on Linux and the BSDs).
const EMFILE: i32 = 24;

/// Ends the process, out of file descriptors, with advice (once: the
/// server's thread and the samplers' may run out together).
fn out_of_files(why: String) -> ! {
    static ONCE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _only_me = ONCE.lock();
    eprintln!("out of file descriptors ({why}): `ulimit -n 10000`, or a smaller --sensors");
    std::process::exit(1)
}

/// The process's open file descriptors, from /proc (Linux only).
fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

/// The number after `name` on the command line, or `default`.
fn arg(name: &str, default: u64) -> u64 {
    let mut args = std::env::args().skip_while(|arg| arg != name).skip(1);
    args.next()
        .map_or(default, |n| n.parse().expect("a number"))
}
