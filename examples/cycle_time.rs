//! How long one ingestion cycle takes: N sensors, each read costing one round
//! trip T, read one after another (N × T) and gathered (≈ T).
//!
//! ```text
//! cargo run --release --example cycle_time            # T = 100 ms, up to 100,000 sensors
//! cargo run --release --example cycle_time -- --quick # T = 20 ms, up to 10,000 sensors
//! ```

use std::io::Write;
use std::time::{Duration, Instant};

use confluo::gather;
use confluo::source::{Reading, Sensor, SensorFault};
use futures::stream::{Stream, StreamExt};

/// A simulated sensor whose every reading takes one round trip.
fn sensor(id: u32, round_trip: Duration) -> impl Stream<Item = Result<Reading, SensorFault>> {
    Sensor::new(id, round_trip).stream(smol::Timer::after)
}

/// One cycle per round: every sensor read once, one after another.
async fn sequential(sensors: u32, round_trip: Duration, rounds: u32) -> Duration {
    let mut all: Vec<_> = (0..sensors)
        .map(|id| Box::pin(sensor(id, round_trip)))
        .collect();
    let start = Instant::now();
    for _ in 0..rounds {
        for sensor in &mut all {
            sensor.next().await.expect("sensors never end").ok();
        }
    }
    start.elapsed() / rounds
}

/// One cycle per round: every sensor read once, all at the same time.
async fn gathered(sensors: u32, round_trip: Duration, rounds: u32) -> Duration {
    let mut all = gather((0..sensors).map(|id| sensor(id, round_trip)));
    let start = Instant::now();
    for _ in 0..rounds {
        for _ in 0..sensors {
            all.next().await.expect("sensors never end").ok();
        }
    }
    start.elapsed() / rounds
}

fn show(duration: Duration) -> String {
    if duration >= Duration::from_secs(100) {
        format!("{:.0} s", duration.as_secs_f64())
    } else if duration >= Duration::from_secs(1) {
        format!("{:.2} s", duration.as_secs_f64())
    } else {
        format!("{:.1} ms", duration.as_secs_f64() * 1e3)
    }
}

fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let (round_trip, sizes, sequential_up_to) = if quick {
        (
            Duration::from_millis(20),
            &[10, 100, 1_000, 10_000][..],
            100,
        )
    } else {
        (
            Duration::from_millis(100),
            &[10, 100, 10_000, 100_000][..],
            100,
        )
    };
    let rounds = 3;

    println!(
        "One cycle reads every sensor once; each read takes T = {} (a network round trip).",
        show(round_trip)
    );
    println!();
    println!(
        "{:>9} | {:>12} | {:>12} | {:>9}",
        "sensors", "sequential", "gathered", "speed-up"
    );
    println!("{:->9}-+-{:->12}-+-{:->12}-+-{:->9}", "", "", "", "");
    smol::block_on(async {
        for &n in sizes {
            eprint!("  measuring {} sensors...\r", thousands(n));
            std::io::stderr().flush().ok();
            let sequential = if n <= sequential_up_to {
                Some(sequential(n, round_trip, 1).await)
            } else {
                None
            };
            let gathered = gathered(n, round_trip, rounds).await;
            eprint!("{:40}\r", "");
            match sequential {
                Some(sequential) => println!(
                    "{:>9} | {:>12} | {:>12} | {:>8.0}×",
                    thousands(n),
                    show(sequential),
                    show(gathered),
                    sequential.as_secs_f64() / gathered.as_secs_f64()
                ),
                None => println!(
                    "{:>9} | {:>12} | {:>12} |",
                    thousands(n),
                    format!("(~{})", show(round_trip * n)),
                    show(gathered),
                ),
            }
        }
    });
    println!();
    println!(
        "Sequential reads cost N × T per cycle; gathered, a cycle costs about T whatever N is."
    );
}
