//! Records per second from an async stream to one consumer thread: through
//! the bridge (one record per message, and batched) against raw
//! `async-channel` (`send` + `recv_blocking`), in the same process; then
//! the async consumer (the bridge's `Stream`, on `smol::block_on` on the
//! consumer thread) against the blocking one (its `Iterator`), and raw
//! `recv().await` against raw `recv_blocking`; then each overflow policy,
//! with room for every record so that none is dropped: what a policy costs
//! a bridge that does not overflow. In every table, each repetition starts
//! one contender later, so that each runs first in turn.
//!
//! ```text
//! cargo bench --bench bridge
//! ```
//!
//! `CONFLUO_BENCH_ONLY=consumers` (or `bridge`, `policies`) runs one table;
//! `CONFLUO_BENCH_RECORDS` sets the records per run (for a profiler:
//! `CONFLUO_BENCH_ONLY=bridge CONFLUO_BENCH_RECORDS=200000 valgrind
//! --tool=callgrind target/release/deps/bridge-…`).
//!
//! Run without `--bench` (as `cargo test` does), it is a smoke run that checks
//! every contender delivered every record.

mod common;

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::thread;
use std::time::{Duration, Instant};

use confluo::{Bridge, Consumer, Overflow};
use futures::stream;

/// One contender's run: the sum of what the consumer got, and the time.
type Run<'a> = &'a dyn Fn() -> (u64, Duration);

fn raw(records: u64, capacity: usize) -> (u64, Duration) {
    raw_with(records, capacity, |receiver| {
        let mut sum = 0u64;
        while let Ok(record) = receiver.recv_blocking() {
            sum = sum.wrapping_add(record);
        }
        sum
    })
}

/// Raw `async-channel` with an async consumer: `recv().await` on
/// `smol::block_on` on the consumer thread.
fn raw_async(records: u64, capacity: usize) -> (u64, Duration) {
    raw_with(records, capacity, |receiver| {
        smol::block_on(async {
            let mut sum = 0u64;
            while let Ok(record) = receiver.recv().await {
                sum = sum.wrapping_add(record);
            }
            sum
        })
    })
}

/// Raw `async-channel`: `send` on `smol::block_on` here, `consume` on a
/// thread.
fn raw_with(
    records: u64,
    capacity: usize,
    consume: fn(async_channel::Receiver<u64>) -> u64,
) -> (u64, Duration) {
    let (sender, receiver) = async_channel::bounded(capacity);
    let start = Instant::now();
    let consumer = thread::spawn(move || consume(receiver));
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
    bridged_under(records, capacity, batch, Overflow::Block)
}

fn bridged_under(records: u64, capacity: usize, batch: usize, policy: Overflow) -> (u64, Duration) {
    bridged_with(records, capacity, batch, policy, |consumer| {
        consumer.into_iter().fold(0u64, u64::wrapping_add)
    })
}

/// The bridge with an async consumer: its `Stream`, on `smol::block_on` on
/// the consumer thread.
fn bridged_async(records: u64, capacity: usize, batch: usize) -> (u64, Duration) {
    bridged_with(records, capacity, batch, Overflow::Block, |consumer| {
        smol::block_on(futures::StreamExt::fold(
            consumer,
            0u64,
            |sum, record| async move { sum.wrapping_add(record) },
        ))
    })
}

/// The bridge: a pump on `smol::block_on` here, `consume` on a thread.
fn bridged_with(
    records: u64,
    capacity: usize,
    batch: usize,
    policy: Overflow,
    consume: fn(&mut Consumer<u64>) -> u64,
) -> (u64, Duration) {
    let (producer, consumer) = Bridge::new(NonZeroUsize::new(capacity).unwrap())
        .batch(NonZeroUsize::new(batch).unwrap())
        .overflow(policy)
        .open();
    let start = Instant::now();
    let consumer = thread::spawn(move || {
        let mut consumer = consumer;
        let sum = consume(&mut consumer);
        (sum, consumer.stats().dropped())
    });
    let pumped = smol::block_on(producer.pump(stream::iter(0..records)));
    assert_eq!(pumped.forwarded(), records);
    let (sum, dropped) = consumer.join().unwrap();
    let time = start.elapsed();
    assert_eq!(
        dropped, 0,
        "{policy:?}: the bridge has room for every record"
    );
    (black_box(sum), time)
}

fn main() {
    println!("Machine: {}", common::machine());
    let bench = std::env::args().any(|arg| arg == "--bench");
    let only = std::env::var("CONFLUO_BENCH_ONLY").unwrap_or_default();
    let (records, reps) = if bench { (2_000_000, 5) } else { (10_000, 1) };
    // Fewer records for a run under a profiler (valgrind is slow).
    let records = std::env::var("CONFLUO_BENCH_RECORDS")
        .ok()
        .and_then(|records| records.parse().ok())
        .unwrap_or(records);
    if "bridge".contains(&only) {
        for capacity in [1_024, 16_384] {
            measure(records, reps, capacity, bench);
        }
    }
    // Seven repetitions: each contender runs first once.
    let reps = if bench { 7 } else { 1 };
    if "consumers".contains(&only) {
        measure_consumers(records, reps, 16_384, bench);
    }
    if "policies".contains(&only) {
        measure_policies(records / 2, reps, bench);
    }
}

/// Runs each contender `reps` times and checks what it delivered. Each
/// repetition starts one contender later: the first to run after the
/// channels of the others were freed would otherwise always be the same one
/// (it pays for fresh memory, the next ones do not), and machine noise
/// would fall on the same contender.
fn take_turns(contenders: &[(&str, Run<'_>)], reps: usize, expected: u64) -> Vec<Vec<Duration>> {
    let mut times = vec![Vec::new(); contenders.len()];
    for r in 0..reps {
        for turn in 0..contenders.len() {
            let c = (turn + r) % contenders.len();
            let (name, run) = contenders[c];
            let (sum, time) = run();
            assert_eq!(sum, expected, "{name} lost or duplicated records");
            times[c].push(time);
        }
    }
    times
}

/// Million records per second of each run.
fn rates(records: u64, times: &[Duration]) -> Vec<f64> {
    times
        .iter()
        .map(|t| records as f64 / t.as_secs_f64() / 1e6)
        .collect()
}

/// Records per second of each run against `base`'s run of the same
/// repetition, sorted.
fn ratios(times: &[Duration], base: &[Duration]) -> Vec<f64> {
    let mut ratios: Vec<f64> = times
        .iter()
        .zip(base)
        .map(|(t, base)| base.as_secs_f64() / t.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Each policy with room for every record: none is dropped, and each send
/// takes the path it takes when the bridge has room.
fn measure_policies(records: u64, reps: usize, bench: bool) {
    let capacity = records as usize;
    let expected = records * (records - 1) / 2;
    let under = |batch, policy| move || bridged_under(records, capacity, batch, policy);
    let block_1 = under(1, Overflow::Block);
    let newest_1 = under(1, Overflow::DropNewest);
    let oldest_1 = under(1, Overflow::DropOldest);
    let block_64 = under(64, Overflow::Block);
    let newest_64 = under(64, Overflow::DropNewest);
    let oldest_64 = under(64, Overflow::DropOldest);
    let contenders: [(&str, Run<'_>); 7] = [
        ("raw async-channel send + recv_blocking", &|| {
            raw(records, capacity)
        }),
        ("Block, one record per message", &block_1),
        ("DropNewest, one record per message", &newest_1),
        ("DropOldest, one record per message", &oldest_1),
        ("Block, batches of up to 64", &block_64),
        ("DropNewest, batches of up to 64", &newest_64),
        ("DropOldest, batches of up to 64", &oldest_64),
    ];
    let times = take_turns(&contenders, reps, expected);
    if !bench {
        return;
    }
    println!("## Overflow policies: {records} records to one consumer thread, capacity {capacity} (nothing dropped), {reps} repetitions\n");
    println!("| contender | million records/s (median) | × raw: median | × Block of the same shape: median | min | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (c, (name, _)) in contenders.iter().enumerate() {
        // The Block of the same shape: one record per message, or batches.
        let block = if c <= 3 { 1 } else { 4 };
        let (raw, block) = (
            ratios(&times[c], &times[0]),
            ratios(&times[c], &times[block]),
        );
        println!(
            "| {name} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} |",
            median(rates(records, &times[c])),
            raw[reps / 2],
            block[reps / 2],
            block[0],
            block[reps - 1]
        );
    }
    println!();
}

/// The async consumer against the blocking one, and raw `async-channel`'s
/// two receives alike, one record per message and batched.
fn measure_consumers(records: u64, reps: usize, capacity: usize, bench: bool) {
    let expected = records * (records - 1) / 2;
    let contenders: [(&str, Run<'_>); 6] = [
        ("raw async-channel, recv_blocking", &|| {
            raw(records, capacity)
        }),
        ("raw async-channel, recv().await", &|| {
            raw_async(records, capacity)
        }),
        ("bridge, Iterator, one record per message", &|| {
            bridged(records, capacity, 1)
        }),
        ("bridge, Stream, one record per message", &|| {
            bridged_async(records, capacity, 1)
        }),
        ("bridge, Iterator, batches of up to 64", &|| {
            bridged(records, capacity, 64)
        }),
        ("bridge, Stream, batches of up to 64", &|| {
            bridged_async(records, capacity, 64)
        }),
    ];
    let times = take_turns(&contenders, reps, expected);
    if !bench {
        return;
    }
    println!("## Consumers: {records} records to one consumer thread, capacity {capacity}, {reps} repetitions\n");
    println!("| contender | million records/s (median) | × raw recv_blocking: median | × raw recv().await: median | × the blocking one of the same shape: median | min | max |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (c, (name, _)) in contenders.iter().enumerate() {
        // Each async contender is listed right after its blocking one.
        let blocking = c - c % 2;
        let same = ratios(&times[c], &times[blocking]);
        println!(
            "| {name} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            median(rates(records, &times[c])),
            median(ratios(&times[c], &times[0])),
            median(ratios(&times[c], &times[1])),
            same[reps / 2],
            same[0],
            same[reps - 1]
        );
    }
    println!();
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
    let times = take_turns(&contenders, reps, expected);
    if !bench {
        return;
    }
    println!("## Bridge: {records} records to one consumer thread, capacity {capacity}, {reps} repetitions\n");
    println!("| contender | million records/s (median) | × raw: median | min | max |");
    println!("|---|---:|---:|---:|---:|");
    for (c, (name, _)) in contenders.iter().enumerate() {
        let ratios = ratios(&times[c], &times[0]);
        println!(
            "| {name} | {:.1} | {:.2} | {:.2} | {:.2} |",
            median(rates(records, &times[c])),
            ratios[reps / 2],
            ratios[0],
            ratios[reps - 1]
        );
    }
    println!();
}
