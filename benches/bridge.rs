//! Records per second from an async stream to one consumer thread: through
//! the bridge (one record per message, and batched) against raw
//! `async-channel` (`send` + `recv_blocking`), in the same process; then
//! each overflow policy, with room for every record so that none is
//! dropped: what a policy costs a bridge that does not overflow.
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

use confluo::{Bridge, Overflow};
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
    bridged_under(records, capacity, batch, Overflow::Block)
}

fn bridged_under(records: u64, capacity: usize, batch: usize, policy: Overflow) -> (u64, Duration) {
    let (producer, consumer) = Bridge::new(NonZeroUsize::new(capacity).unwrap())
        .batch(NonZeroUsize::new(batch).unwrap())
        .overflow(policy)
        .open();
    let start = Instant::now();
    let consumer = thread::spawn(move || {
        let mut consumer = consumer;
        let sum = consumer.by_ref().fold(0u64, u64::wrapping_add);
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
    let bench = std::env::args().any(|arg| arg == "--bench");
    let (records, reps) = if bench { (2_000_000, 5) } else { (10_000, 1) };
    for capacity in [1_024, 16_384] {
        measure(records, reps, capacity, bench);
    }
    // Seven repetitions: each contender runs first once.
    measure_policies(records / 2, if bench { 7 } else { 1 }, bench);
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
    // Each repetition starts one contender later: the first to run after
    // the large channels of the others were freed would otherwise always be
    // the same one (it paid for fresh memory, the next ones did not).
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
    if !bench {
        return;
    }
    println!("## Overflow policies: {records} records to one consumer thread, capacity {capacity} (nothing dropped), {reps} repetitions\n");
    println!("| contender | million records/s (median) | × raw: median | × Block of the same shape: median | min | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (c, (name, _)) in contenders.iter().enumerate() {
        // The Block of the same shape: one record per message, or batches.
        let block = if c <= 3 { 1 } else { 4 };
        let rates: Vec<f64> = times[c]
            .iter()
            .map(|t| records as f64 / t.as_secs_f64() / 1e6)
            .collect();
        let against = |base: usize| -> Vec<f64> {
            let mut ratios: Vec<f64> = times[c]
                .iter()
                .zip(&times[base])
                .map(|(t, base)| base.as_secs_f64() / t.as_secs_f64())
                .collect();
            ratios.sort_by(f64::total_cmp);
            ratios
        };
        let mut sorted = rates.clone();
        sorted.sort_by(f64::total_cmp);
        let (raw, block) = (against(0), against(block));
        println!(
            "| {name} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} |",
            sorted[reps / 2],
            raw[reps / 2],
            block[reps / 2],
            block[0],
            block[reps - 1]
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
