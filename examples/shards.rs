//! Every core at work: sensors spread over one shard per core
//! (`KeyedGather::sharded`), each shard pumped on a task of its own into
//! one bridge through clones of one `Router`, on tokio's multi-thread
//! runtime or on a smol `Executor` run by one thread per core. Sensors
//! connect through the one `ShardedHandle` while the shards run; each key
//! lands on the same shard every time, and its readings reach one consumer
//! thread in order (each consumer checks). It prints what each shard
//! carried and the rate each sensor was read at.
//!
//! ```text
//! cargo run --release --example shards                       # smol, 20,000 sensors, 3 s
//! cargo run --release --example shards -- --runtime tokio
//! cargo run --release --example shards -- --sensors 100000 --seconds 5
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::thread;
use std::time::{Duration, Instant};

use confluo::sample::stable_hash;
use confluo::source::{Reading, Sensor, SensorFault};
use confluo::{Bridge, KeyedGather, Pumped};
use futures::Stream;

/// Every sensor answers after this long.
const LATENCY: Duration = Duration::from_millis(50);

type Record = (u32, Result<Reading, SensorFault>);
type BoxSensor = Pin<Box<dyn Stream<Item = Result<Reading, SensorFault>> + Send>>;
type Task = Pin<Box<dyn Future<Output = (usize, Pumped<Record>)> + Send>>;

/// The runtime's own timer, so each runtime drives its sensors itself.
#[derive(Clone, Copy, PartialEq)]
enum Runtime {
    Smol,
    Tokio,
}

impl Runtime {
    fn sensor(self, id: u32) -> BoxSensor {
        let sensor = Sensor::new(id, LATENCY);
        match self {
            Runtime::Smol => Box::pin(sensor.stream(smol::Timer::after)),
            Runtime::Tokio => Box::pin(sensor.stream(tokio::time::sleep)),
        }
    }

    /// Runs the shard tasks on `threads` threads until they all end.
    fn run(self, tasks: Vec<Task>, threads: usize) -> Vec<(usize, Pumped<Record>)> {
        match self {
            Runtime::Tokio => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads)
                    .enable_time()
                    .build()
                    .unwrap();
                let tasks: Vec<_> = tasks.into_iter().map(|task| runtime.spawn(task)).collect();
                runtime.block_on(async {
                    let mut done = Vec::new();
                    for task in tasks {
                        done.push(task.await.unwrap());
                    }
                    done
                })
            }
            Runtime::Smol => {
                let executor = async_executor::Executor::new();
                let tasks: Vec<_> = tasks.into_iter().map(|task| executor.spawn(task)).collect();
                let (stop, stopped) = async_channel::bounded::<()>(1);
                thread::scope(|scope| {
                    for _ in 1..threads {
                        scope.spawn(|| smol::block_on(executor.run(stopped.recv())));
                    }
                    let done = smol::block_on(executor.run(futures::future::join_all(tasks)));
                    drop(stop);
                    done
                })
            }
        }
    }
}

/// A consumer thread: counts readings and checks each sensor's come in
/// order. Returns (readings, sensors seen).
fn consume(consumer: confluo::Consumer<Record>) -> (u64, usize) {
    let mut last: HashMap<u32, u64> = HashMap::new();
    let mut readings = 0;
    for (sensor, reading) in consumer {
        let seq = reading.expect("these sensors never fail").seq;
        if let Some(before) = last.insert(sensor, seq) {
            assert_eq!(seq, before + 1, "sensor {sensor} out of order");
        }
        readings += 1;
    }
    (readings, last.len())
}

fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|arg| arg == name) {
        Some(at) => args
            .get(at + 1)
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("{name} takes a value")),
        None => default,
    }
}

fn main() {
    let runtime = match arg("--runtime", String::from("smol")).as_str() {
        "smol" => Runtime::Smol,
        "tokio" => Runtime::Tokio,
        other => panic!("--runtime is smol or tokio, not {other}"),
    };
    let sensors: u32 = arg("--sensors", 20_000);
    let seconds: u64 = arg("--seconds", 3);
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);

    let (handle, shards) =
        KeyedGather::<u32, BoxSensor>::sharded(NonZeroUsize::new(cores).unwrap());
    let (router, consumers) = Bridge::new(NonZeroUsize::new(4096).unwrap())
        .partitioned::<Record>(NonZeroUsize::new(2).unwrap());
    let consumers: Vec<_> = consumers
        .into_iter()
        .map(|consumer| thread::spawn(move || consume(consumer)))
        .collect();

    // Each shard: pumped into the bridge by the sensor's key until the
    // stop, then it reports how many sensors it held.
    let (stop, stopped) = async_channel::bounded::<()>(1);
    let tasks: Vec<Task> = shards
        .into_iter()
        .map(|mut shard| {
            let (router, stopped) = (router.clone(), stopped.clone());
            Box::pin(async move {
                let until_stop = shard.until(async move { stopped.recv().await.ok() });
                let pumped = router
                    .pump_by(until_stop, |(sensor, _)| stable_hash(sensor) as usize)
                    .await;
                (shard.len(), pumped)
            }) as Task
        })
        .collect();
    drop(router);

    // Sensors connect while the shards run, through the one handle.
    let registry = thread::spawn(move || {
        for id in 0..sensors {
            handle.insert(id, runtime.sensor(id)).unwrap();
        }
        thread::sleep(Duration::from_secs(seconds));
        drop(stop);
    });

    let name = if runtime == Runtime::Smol {
        "smol"
    } else {
        "tokio"
    };
    println!("{sensors} sensors, each read every {LATENCY:?}, over {cores} shards on {name}, for {seconds} s");
    let started = Instant::now();
    let done = runtime.run(tasks, cores);
    let elapsed = started.elapsed().as_secs_f64();
    registry.join().unwrap();

    let mut forwarded = 0;
    for (shard, (held, pumped)) in done.iter().enumerate() {
        println!(
            "shard {shard}: {held} sensors, {} readings forwarded",
            pumped.forwarded()
        );
        forwarded += pumped.forwarded();
    }
    let mut received = 0;
    for (partition, consumer) in consumers.into_iter().enumerate() {
        let (readings, seen) = consumer.join().unwrap();
        println!("consumer {partition}: {readings} readings from {seen} sensors, each in order");
        received += readings;
    }
    assert_eq!(received, forwarded, "a reading was lost");
    let rate = received as f64 / f64::from(sensors) / elapsed;
    println!(
        "each sensor read {rate:.1} times a second (one round trip of {LATENCY:?} allows {:.1})",
        1.0 / LATENCY.as_secs_f64()
    );
}
