//! The sensor pipeline spread over processes through Redis: 2 ingestion
//! processes share 10,000 simulated sensors (5,000 each, by shard leases),
//! sample them every cycle and add the readings to a run; 3 consumer
//! processes run the CPU stages (filter, normalize per sensor, rolling
//! features). Half-way, one consumer and one ingestion process are killed
//! with SIGKILL: the survivors claim the consumer's records and take over
//! the ingestion process's sensors. At the end it prints sampled,
//! delivered, redelivered and lost (0).
//!
//! ```text
//! cargo run --release -p confluo-redis --example sensors_redis
//! cargo run --release -p confluo-redis --example sensors_redis -- --sensors 1000 --cycles 10
//! cargo run --release -p confluo-redis --example sensors_redis -- --redis redis://127.0.0.1:6379/
//! ```
//!
//! Without `--redis`, it starts a `redis-server` of its own (it must be
//! installed) on a free port, in a temporary directory.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use confluo::source::Sensor;
use confluo_redis::{codec_fn, Codec, Consumer, Producer, Run, Shards};
use futures::StreamExt;

const INGESTERS: u32 = 2;
const CONSUMERS: usize = 3;
const SHARDS: u32 = 64;

/// One sample: which ingestion process took it, of which sensor, in which
/// cycle, and its value (NaN for a failed read).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    ingester: u32,
    sensor: u32,
    cycle: u32,
    value: f64,
}

impl Sample {
    /// What identifies a sample, for counting the lost and the duplicates.
    fn id(&self) -> (u32, u32, u32) {
        (self.ingester, self.sensor, self.cycle)
    }
}

/// 20 bytes: the three numbers and the value, little-endian.
fn codec() -> impl Codec<Sample> + Copy {
    codec_fn(
        |s: &Sample, out: &mut Vec<u8>| {
            out.extend_from_slice(&s.ingester.to_le_bytes());
            out.extend_from_slice(&s.sensor.to_le_bytes());
            out.extend_from_slice(&s.cycle.to_le_bytes());
            out.extend_from_slice(&s.value.to_le_bytes());
        },
        |b: &[u8]| {
            let b: &[u8; 20] = b
                .try_into()
                .map_err(|_| format!("{} bytes, not 20", b.len()))?;
            let u = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
            let value = f64::from_le_bytes(b[12..20].try_into().unwrap());
            Ok(Sample {
                ingester: u(0),
                sensor: u(4),
                cycle: u(8),
                value,
            })
        },
    )
}

/// The CPU stages of `examples/sensor_pipeline.rs`, one sample at a time:
/// keep plausible readings (failed reads are NaN), normalize against the
/// sensor's running moments, and give the features of the sensor's last
/// `WINDOW` readings. A consumer keeps the state of the sensors it saw:
/// partitions go from consumer to consumer, so stateful stages that must
/// see every reading of a sensor want a consumer per partition.
#[derive(Default)]
struct Stages {
    moments: HashMap<u32, (f64, f64, f64)>,
    windows: HashMap<u32, VecDeque<f64>>,
    kept: u64,
    features: u64,
}

const WINDOW: usize = 5;

impl Stages {
    fn take(&mut self, sample: Sample) {
        if !(17.0..=23.0).contains(&sample.value) {
            return;
        }
        self.kept += 1;
        let (n, mean, squares) = self.moments.entry(sample.sensor).or_default();
        *n += 1.0;
        let delta = sample.value - *mean;
        *mean += delta / *n;
        *squares += delta * (sample.value - *mean);
        let spread = if *n < 2.0 {
            0.0
        } else {
            (*squares / (*n - 1.0)).sqrt()
        };
        let z = if spread == 0.0 {
            0.0
        } else {
            (sample.value - *mean) / spread
        };
        let window = self.windows.entry(sample.sensor).or_default();
        window.push_back(z);
        if window.len() > WINDOW {
            window.pop_front();
        }
        if window.len() == WINDOW {
            let wildest = window.iter().fold(0.0f64, |m, z| m.max(z.abs()));
            self.features += u64::from(wildest.is_finite());
        }
    }
}

struct Args {
    redis: Option<String>,
    sensors: u32,
    cycles: u32,
    period: Duration,
    dir: PathBuf,
}

fn args() -> Args {
    let value = |name: &str| std::env::args().skip_while(|arg| arg != name).nth(1);
    let number =
        |name: &str, default: u64| value(name).map_or(default, |n| n.parse().expect("a number"));
    Args {
        redis: value("--redis"),
        sensors: number("--sensors", 10_000) as u32,
        cycles: number("--cycles", 40) as u32,
        period: Duration::from_millis(number("--period-ms", 200)),
        dir: value("--dir").map_or_else(std::env::temp_dir, PathBuf::from),
    }
}

fn run() -> Run {
    Run::new("sensors")
        .partitions(12)
        .capacity(20_000)
        .producers(INGESTERS)
        .batch(512)
        .read_count(128)
        .lease(Duration::from_millis(1_500))
        .claim_after(Duration::from_secs(2))
        .idle_poll(Duration::from_millis(10))
        .join_within(Duration::from_secs(30))
}

/// An ingestion process: samples the sensors of its shards every cycle,
/// into a confluo bridge that a thread pumps into Redis.
fn ingest(args: &Args, url: &str, slot: u32) {
    let run = run();
    let mut shards = Shards::join(&run, url, SHARDS).unwrap();
    let (tx, mut rx) = confluo::bridge::<Sample>(NonZeroUsize::new(8_192).unwrap());
    let pump = {
        let (run, url) = (run.clone(), url.to_owned());
        thread::spawn(move || {
            let mut producer = Producer::open(&run, &url, slot, codec(), |s| s.sensor).unwrap();
            producer.pump(&mut rx).unwrap();
            producer.finish().unwrap()
        })
    };
    let start = Instant::now();
    smol::block_on(async {
        for cycle in 0..args.cycles {
            let change = shards.refresh().unwrap();
            // Shards that had a holder before: handed over, or taken from
            // a dead process.
            let gaps: Vec<Duration> = change.gained.iter().filter_map(|(_, gap)| *gap).collect();
            if let Some(longest) = gaps.iter().max() {
                println!(
                    "ingester {slot}, cycle {cycle}: took {} shards from another process, unsampled for {longest:.1?} at most",
                    gaps.len()
                );
            }
            let mine = (0..args.sensors).filter(|sensor| shards.owns(sensor));
            let mut readings = confluo::gather(mine.map(|id| {
                Sensor::new(id, Duration::from_millis(20))
                    .jitter(Duration::from_millis(5))
                    .failure_rate(0.01)
                    .seed(u64::from(cycle) << 32 | u64::from(id))
                    .reads(1)
                    .stream(smol::Timer::after)
            }));
            while let Some(reading) = readings.next().await {
                let (sensor, value) = match reading {
                    Ok(r) => (r.sensor, r.value),
                    Err(fault) => (fault.sensor, f64::NAN),
                };
                let sample = Sample {
                    ingester: slot,
                    sensor,
                    cycle,
                    value,
                };
                tx.send(sample).await.expect("the pump thread is alive");
            }
            smol::Timer::at(start + args.period * (cycle + 1)).await;
        }
    });
    drop(tx);
    let stats = pump.join().unwrap();
    println!(
        "ingester {slot}: added {} samples in {} batches, waited {:.1?} for room",
        stats.produced, stats.batches, stats.waited
    );
}

/// A consumer process: the CPU stages, logging each sample's id to `log`
/// before it asks for the next one (so before it is acknowledged).
fn consume(url: &str, log: &Path) {
    let mut log = OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .unwrap();
    let mut consumer = Consumer::open(&run(), url, codec()).unwrap();
    let mut stages = Stages::default();
    for delivery in consumer.by_ref() {
        let sample = delivery.unwrap().into_record();
        let (i, s, c) = sample.id();
        log.write_all(&[i.to_le_bytes(), s.to_le_bytes(), c.to_le_bytes()].concat())
            .unwrap();
        stages.take(sample);
    }
    let stats = consumer.stats();
    println!(
        "consumer {}: {} delivered ({} redelivered), {} kept, {} feature windows; run end {:?}",
        std::process::id(),
        stats.delivered,
        stats.redelivered,
        stages.kept,
        stages.features,
        consumer.end()
    );
}

fn spawn(role: &str, url: &str, extra: &[String]) -> Child {
    let passed: Vec<String> = std::env::args().skip(1).collect();
    Command::new(std::env::current_exe().unwrap())
        .args(&passed)
        .args(["--role", role, "--redis", url])
        .args(extra)
        .spawn()
        .unwrap()
}

fn main() {
    let args = args();
    let role = std::env::args().skip_while(|a| a != "--role").nth(1);
    match role.as_deref() {
        Some("ingest") => {
            let slot = std::env::args()
                .skip_while(|a| a != "--slot")
                .nth(1)
                .unwrap();
            return ingest(&args, args.redis.as_deref().unwrap(), slot.parse().unwrap());
        }
        Some("consume") => {
            let log = std::env::args()
                .skip_while(|a| a != "--log")
                .nth(1)
                .unwrap();
            return consume(args.redis.as_deref().unwrap(), Path::new(&log));
        }
        _ => {}
    }

    let server = args.redis.is_none().then(common::RedisServer::start);
    let url = args
        .redis
        .clone()
        .unwrap_or_else(|| server.as_ref().unwrap().url());
    let run = run();
    let dir = args
        .dir
        .join(format!("confluo-redis-example-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    println!(
        "{} sensors over {INGESTERS} ingestion processes, {} cycles of {:?}, {CONSUMERS} consumer processes, redis at {url}",
        args.sensors, args.cycles, args.period
    );
    let started = Instant::now();
    let logs: Vec<PathBuf> = (0..CONSUMERS)
        .map(|i| dir.join(format!("consumer-{i}.log")))
        .collect();
    let mut consumers: Vec<Child> = logs
        .iter()
        .map(|log| {
            File::create(log).unwrap();
            spawn(
                "consume",
                &url,
                &["--log".into(), log.display().to_string()],
            )
        })
        .collect();
    let mut ingesters: Vec<Child> = (0..INGESTERS)
        .map(|slot| spawn("ingest", &url, &["--slot".into(), slot.to_string()]))
        .collect();

    // Half-way: one consumer and one ingestion process die.
    let expected = u64::from(args.sensors) * u64::from(args.cycles);
    while run.status(&url).unwrap().produced < expected / 2 {
        thread::sleep(Duration::from_millis(20));
    }
    consumers[0].kill().unwrap();
    ingesters[1].kill().unwrap();
    println!(
        "half-way ({:.1?}): killed consumer 0 and ingester 1 (SIGKILL)",
        started.elapsed()
    );

    for child in ingesters.iter_mut().chain(&mut consumers) {
        child.wait().unwrap();
    }
    let status = run.status(&url).unwrap();
    let mut delivered = 0u64;
    let mut unique = HashSet::new();
    for log in &logs {
        let bytes = fs::read(log).unwrap();
        for id in bytes.chunks_exact(12) {
            delivered += 1;
            unique.insert(id.to_vec());
        }
    }
    let lost = status.produced - unique.len() as u64;
    println!("\nafter {:.1?}:", started.elapsed());
    println!("sampled and added to Redis: {}", status.produced);
    println!(
        "delivered: {delivered} ({} unique, {} duplicates)",
        unique.len(),
        delivered - unique.len() as u64
    );
    println!("redelivered: {}", status.redelivered);
    println!("lost: {lost}");
    println!("producers: {:?}", status.producers);
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(lost, 0, "records Redis acknowledged were never delivered");
}
