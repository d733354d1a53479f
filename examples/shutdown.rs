//! A live registry of sensors, stopped cleanly: sensors connect and
//! disconnect on another thread through a `GatherHandle` while the `Gather`
//! is pumped into a bridge; at the stop signal the pump stops
//! (`Gather::until`) and hands the `Gather` back, and `close_all` lets every
//! sensor say goodbye within a one-second deadline. It prints what was read
//! and how each sensor was released; nothing the pump took is lost.
//!
//! ```text
//! cargo run --release --example shutdown                 # stops at Ctrl-C, or after 10 s
//! cargo run --release --example shutdown -- --seconds 2  # stops by itself after 2 s
//! ```
//!
//! The stop signal is Ctrl-C (SIGINT, through the `async-signal` crate, on
//! Unix), or the time given: any future can be the signal.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use confluo::guard::{close_all, guard, Close, Release};
use confluo::source::{Reading, Sensor, SensorFault};
use confluo::Gather;
use futures::Stream;

/// How the sensors were released, counted as it happens.
#[derive(Default)]
struct Releases {
    closed: AtomicUsize,
    dropped: AtomicUsize,
    other: AtomicUsize,
}

/// A sensor read every 50 ms, whose goodbye takes 5 ms; every tenth one's
/// goodbye hangs, so the close deadline has something to cut short.
fn sensor(
    id: u32,
    releases: Arc<Releases>,
) -> impl Stream<Item = Result<Reading, SensorFault>> + Close + Send {
    let readings = Sensor::new(id, Duration::from_millis(50)).stream(smol::Timer::after);
    guard(readings, move |why| {
        let count = match why {
            Release::Closed => &releases.closed,
            Release::Dropped => &releases.dropped,
            _ => &releases.other,
        };
        count.fetch_add(1, Ordering::Relaxed);
    })
    .goodbye(move || async move {
        let goodbye = if id % 10 == 9 { 3_600 } else { 0 };
        smol::Timer::after(Duration::from_millis(5) + Duration::from_secs(goodbye)).await;
    })
}

/// Completes at the first Ctrl-C (SIGINT); never where signals cannot be
/// caught.
#[cfg(unix)]
async fn ctrl_c() -> &'static str {
    use futures::StreamExt;
    match async_signal::Signals::new([async_signal::Signal::Int]) {
        Ok(mut signals) => {
            signals.next().await;
            "Ctrl-C"
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn ctrl_c() -> &'static str {
    std::future::pending().await
}

fn seconds_from_args() -> u64 {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|arg| arg == "--seconds") {
        Some(at) => args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .expect("--seconds takes a whole number"),
        None => 10,
    }
}

fn main() {
    let seconds = seconds_from_args();
    let releases = Arc::new(Releases::default());
    let mut sensors = Gather::new();
    let handle = sensors.handle();

    // Devices come and go: one connects every 10 ms, and every third one
    // that connected disconnects again 20 connections later.
    let running = Arc::new(AtomicBool::new(true));
    let devices = thread::spawn({
        let (running, releases) = (Arc::clone(&running), Arc::clone(&releases));
        move || {
            let mut ids = Vec::new();
            let (mut connected, mut disconnected) = (0u32, 0u32);
            while running.load(Ordering::Relaxed) && connected < 500 {
                match handle.push(sensor(connected, Arc::clone(&releases))) {
                    Ok(id) => ids.push(id),
                    // The gather is closed and gone: no more devices.
                    Err(_) => break,
                }
                connected += 1;
                if connected > 20 && (connected - 20) % 3 == 0 {
                    handle.remove(ids[(connected - 21) as usize]);
                    disconnected += 1;
                }
                thread::sleep(Duration::from_millis(10));
            }
            (connected, disconnected)
        }
    });

    let (producer, consumer) = confluo::bridge(NonZeroUsize::new(1024).unwrap());
    let tally = thread::spawn(move || consumer.into_iter().count());

    println!("reading sensors: Ctrl-C stops them (or wait {seconds} s)");
    let started = Instant::now();
    let (pumped, why, closed, close_took) = smol::block_on(async {
        // The stop signal: Ctrl-C, or the time given.
        let signal = smol::future::or(ctrl_c(), async {
            smol::Timer::after(Duration::from_secs(seconds)).await;
            "time"
        });
        let why = std::cell::Cell::new("");
        let pumped = producer
            .pump(sensors.until(async { why.set(signal.await) }))
            .await;
        // No more devices: the handle goes, and the gather holds what is left.
        running.store(false, Ordering::Relaxed);
        let closing = Instant::now();
        let closed = close_all(sensors, smol::Timer::after(Duration::from_secs(1))).await;
        (pumped, why.get(), closed, closing.elapsed())
    });
    let (connected, disconnected) = devices.join().unwrap();
    let received = tally.join().unwrap();

    println!(
        "stopped by {why} after {:.2} s",
        started.elapsed().as_secs_f64() - close_took.as_secs_f64()
    );
    println!("sensors: {connected} connected, {disconnected} disconnected on the way");
    println!(
        "readings: {} forwarded by the pump, {received} received",
        pumped.forwarded()
    );
    assert_eq!(received as u64, pumped.forwarded(), "a reading was lost");
    println!(
        "closing: {} said goodbye, {} cut short at the 1 s deadline, in {:.0} ms",
        closed.gracefully,
        closed.cut_short,
        close_took.as_secs_f64() * 1e3
    );
    println!(
        "released: {} closed, {} dropped (disconnected or cut short), {} otherwise",
        releases.closed.load(Ordering::Relaxed),
        releases.dropped.load(Ordering::Relaxed),
        releases.other.load(Ordering::Relaxed)
    );
}
