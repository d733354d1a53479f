//! Records per second from one producer to 1 and 4 consumer threads,
//! through Redis (a `Run` on a local `redis-server`, append-only file
//! fsynced every second, Redis's default) against confluo's in-process
//! bridge, with batches of 1, 64 and 512 records on both sides.
//!
//! ```text
//! cargo bench -p confluo-redis --bench throughput
//! ```
//!
//! Run without `--bench` (as `cargo test` does), it is a smoke run at tiny
//! sizes that checks every contender delivered every record.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::thread;
use std::time::{Duration, Instant};

use confluo::Bridge;
use confluo_redis::{codec_fn, Codec, Consumer, Producer, Run};

/// Records of 16 bytes: a number and its double.
fn codec() -> impl Codec<u64> + Copy + Send {
    codec_fn(
        |n: &u64, out: &mut Vec<u8>| {
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(&(n * 2).to_le_bytes());
        },
        |b: &[u8]| Ok(u64::from_le_bytes(b[..8].try_into().map_err(|_| "short")?)),
    )
}

/// Through Redis: the sum the consumers got, and the time.
fn through_redis(
    url: &str,
    name: &str,
    records: u64,
    consumers: usize,
    batch: usize,
) -> (u64, Duration) {
    let run = Run::new(name)
        .partitions(8)
        .capacity(16_384)
        .batch(batch)
        .read_count(batch)
        .idle_poll(Duration::from_millis(1));
    // Opened before the clock starts: the consumer group and the scripts.
    run.status(url).unwrap();
    let start = Instant::now();
    let workers: Vec<_> = (0..consumers)
        .map(|_| {
            let (run, url) = (run.clone(), url.to_owned());
            thread::spawn(move || {
                Consumer::open(&run, &url, codec())
                    .unwrap()
                    .map(|d| *d.unwrap())
                    .fold(0u64, u64::wrapping_add)
            })
        })
        .collect();
    let mut producer = Producer::open(&run, url, 0, codec(), |n| *n).unwrap();
    producer.send_all(0..records).unwrap();
    producer.finish().unwrap();
    let sum = workers
        .into_iter()
        .map(|w| w.join().unwrap())
        .fold(0, u64::wrapping_add);
    (black_box(sum), start.elapsed())
}

/// Through confluo's bridge, in this process.
fn in_process(records: u64, consumers: usize, batch: usize) -> (u64, Duration) {
    let mut bridge = Bridge::new(NonZeroUsize::new(16_384).unwrap());
    if batch > 1 {
        bridge = bridge.batch(NonZeroUsize::new(batch).unwrap());
    }
    let (producer, consumer) = bridge.open::<u64>();
    let start = Instant::now();
    let workers: Vec<_> = (0..consumers)
        .map(|_| {
            let consumer = consumer.clone();
            thread::spawn(move || consumer.into_iter().fold(0u64, u64::wrapping_add))
        })
        .collect();
    drop(consumer);
    smol::block_on(producer.pump(futures::stream::iter(0..records)));
    let sum = workers
        .into_iter()
        .map(|w| w.join().unwrap())
        .fold(0, u64::wrapping_add);
    (black_box(sum), start.elapsed())
}

fn main() {
    let bench = std::env::args().any(|arg| arg == "--bench");
    let reps = if bench { 3 } else { 1 };
    let server = common::RedisServer::start_with_fsync("everysec");
    let url = server.url();
    println!("records/s, median of {reps}; in-process / Redis: how many times faster the bridge in one process is");
    println!(
        "consumers | batch | records | through Redis | in-process bridge | in-process / Redis"
    );
    let mut runs = 0;
    for consumers in [1, 4] {
        for batch in [1, 64, 512] {
            let records: u64 = match (bench, batch) {
                (false, _) => 1_000,
                (true, 1) => 20_000,
                (true, _) => 400_000,
            };
            let expected = records * (records - 1) / 2;
            let (mut redis, mut local) = (Vec::new(), Vec::new());
            for rep in 0..reps {
                // Taking turns at running first.
                let mut one_each = |redis_first: bool| {
                    for redis_now in [redis_first, !redis_first] {
                        let (sum, took) = if redis_now {
                            runs += 1;
                            through_redis(&url, &format!("bench-{runs}"), records, consumers, batch)
                        } else {
                            in_process(records, consumers, batch)
                        };
                        assert_eq!(sum, expected, "a contender lost or doubled records");
                        let rate = records as f64 / took.as_secs_f64();
                        if redis_now {
                            redis.push(rate)
                        } else {
                            local.push(rate)
                        }
                    }
                };
                one_each(rep % 2 == 0);
            }
            let median = |rates: &mut Vec<f64>| {
                rates.sort_by(f64::total_cmp);
                rates[rates.len() / 2]
            };
            let (r, l) = (median(&mut redis), median(&mut local));
            println!(
                "{consumers:>9} | {batch:>5} | {records:>7} | {r:>13.0} | {l:>17.0} | {:>18.0}",
                l / r
            );
        }
    }
}
