//! Records per second from an async stream to one consumer thread: through
//! the bridge (one record per message, and batched) against raw
//! `async-channel` (`send` + `recv_blocking`), in the same process.
//!
//! ```text
//! cargo bench --bench bridge
//! ```
//!
//! Run without `--bench` (as `cargo test` does), it is a smoke run that checks
//! every contender delivered every record.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::thread;
use std::time::{Duration, Instant};

use confluo::Bridge;
use futures::stream;

/// One contender's run: the sum of what the consumer got, and the time.
type Run<'a> = &'a dyn Fn() -> (u64, Duration);

fn raw(records: u64, capacity: usize) -> (u64, Duration) {
    let (sender, receiver) = async_channel::bounded(capacity);
    let start = Instant::now();
    let consumer = thread::spawn(move || {
        let mut sum = 0u64;
        while let Ok(record) = receiver.recv_blocking() {
            sum = sum.wrapping_add(record);
        }
        sum
    });
    smol::block_on(async {
        for record in 0..records {
            sender.send(record).await.unwrap();
        }
    });
    drop(sender);
    let sum = consumer.join().unwrap();
    (black_box(sum), start.elapsed())
}

fn bridged(records: u64, capacity: usize, batch: usize) -> (u64, Duration) {
    let (producer, consumer) = Bridge::new(NonZeroUsize::new(capacity).unwrap())
        .batch(NonZeroUsize::new(batch).unwrap())
        .open();
    let start = Instant::now();
    let consumer = thread::spawn(move || consumer.fold(0u64, u64::wrapping_add));
    let pumped = smol::block_on(producer.pump(stream::iter(0..records)));
    assert_eq!(pumped.forwarded(), records);
    let sum = consumer.join().unwrap();
    (black_box(sum), start.elapsed())
}

fn main() {
    let bench = std::env::args().any(|arg| arg == "--bench");
    let (records, reps) = if bench { (2_000_000, 5) } else { (10_000, 1) };
    for capacity in [1_024, 16_384] {
        measure(records, reps, capacity, bench);
    }
}

fn measure(records: u64, reps: usize, capacity: usize, bench: bool) {
    let expected = records * (records - 1) / 2;
    let contenders: [(&str, Run<'_>); 4] = [
        ("raw async-channel send + recv_blocking", &|| {
            raw(records, capacity)
        }),
        ("bridge, one record per message", &|| {
            bridged(records, capacity, 1)
        }),
        ("bridge, batches of up to 64", &|| {
            bridged(records, capacity, 64)
        }),
        ("bridge, batches of up to 256", &|| {
            bridged(records, capacity, 256)
        }),
    ];
    let mut times = vec![Vec::new(); contenders.len()];
    for _ in 0..reps {
        for (c, (name, run)) in contenders.iter().enumerate() {
            let (sum, time) = run();
            assert_eq!(sum, expected, "{name} lost or duplicated records");
            times[c].push(time);
        }
    }
    if !bench {
        return;
    }
    println!("## Bridge: {records} records to one consumer thread, capacity {capacity}, {reps} repetitions\n");
    println!("| contender | million records/s (median) | × raw: median | min | max |");
    println!("|---|---:|---:|---:|---:|");
    for (c, (name, _)) in contenders.iter().enumerate() {
        let mut rates: Vec<f64> = times[c]
            .iter()
            .map(|t| records as f64 / t.as_secs_f64() / 1e6)
            .collect();
        let mut ratios: Vec<f64> = times[c]
            .iter()
            .zip(&times[0])
            .map(|(t, raw)| raw.as_secs_f64() / t.as_secs_f64())
            .collect();
        rates.sort_by(f64::total_cmp);
        ratios.sort_by(f64::total_cmp);
        println!(
            "| {name} | {:.1} | {:.2} | {:.2} | {:.2} |",
            rates[reps / 2],
            ratios[reps / 2],
            ratios[0],
            ratios[reps - 1]
        );
    }
    println!();
}
