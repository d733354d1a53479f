//! Async and blocking consumers mixed on one bridge, on smol and on tokio:
//! consumers reading as a `Stream`, with `recv`, and as a blocking
//! `Iterator` on threads of their own, fed by several pumps at once. Every
//! record is received exactly once, each consumer sees each source's
//! records in the order they were sent, and every consumer ends once the
//! producers are gone, all under a deadline, so a lost wake fails instead of
//! hanging. With one record per message and with batches, and with a
//! capacity small enough that the pumps wait for room.
#![cfg(feature = "std")]

mod common;

use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::thread;

use confluo::{Bridge, Consumer, Producer};
use futures::stream;

/// A record: its source, and its place in that source's sequence.
type Record = (u32, u32);

const SOURCES: u32 = 3;
const PER_SOURCE: u32 = 5_000;

/// What one consumer got, and how it read.
type Got = (&'static str, Vec<Record>);

type Task<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// One pump per source, each sending its records in order.
fn pumps(producer: Producer<Record>) -> Vec<Task<u64>> {
    (0..SOURCES)
        .map(|source| {
            let records = stream::iter((0..PER_SOURCE).map(move |seq| (source, seq)));
            let pump = producer.clone().pump(records);
            Box::pin(async move { pump.await.forwarded() }) as Task<u64>
        })
        .collect()
}

/// Two consumers reading as a stream and one with `recv`.
fn async_consumers(consumer: &Consumer<Record>) -> Vec<Task<Got>> {
    let streams = (0..2).map(|_| {
        let consumer = consumer.clone();
        Box::pin(async move {
            let got = stream::StreamExt::collect::<Vec<_>>(consumer).await;
            ("stream", got)
        }) as Task<Got>
    });
    let mut by_recv = consumer.clone();
    let recv = Box::pin(async move {
        let mut got = Vec::new();
        while let Some(record) = by_recv.recv().await {
            got.push(record);
        }
        ("recv", got)
    }) as Task<Got>;
    streams.chain([recv]).collect()
}

/// Two consumers reading as a blocking iterator, each on a thread.
fn blocking_consumers(consumer: &Consumer<Record>) -> Vec<thread::JoinHandle<Got>> {
    (0..2)
        .map(|_| {
            let consumer = consumer.clone();
            thread::spawn(move || ("iterator", consumer.into_iter().collect()))
        })
        .collect()
}

/// Every record once, and each consumer's records of each source in order.
fn check(got: Vec<Got>, shape: &str) {
    let mut all = Vec::new();
    for (how, records) in got {
        for source in 0..SOURCES {
            let seqs: Vec<u32> = records
                .iter()
                .filter(|r| r.0 == source)
                .map(|r| r.1)
                .collect();
            assert!(
                seqs.windows(2).all(|pair| pair[0] < pair[1]),
                "{shape}: a consumer reading by {how} got source {source} out of order"
            );
        }
        all.extend(records);
    }
    all.sort_unstable();
    let expected: Vec<Record> = (0..SOURCES)
        .flat_map(|source| (0..PER_SOURCE).map(move |seq| (source, seq)))
        .collect();
    assert_eq!(
        all.len(),
        expected.len(),
        "{shape}: records lost or doubled"
    );
    assert_eq!(all, expected, "{shape}");
}

/// The bridges tried: (capacity, batch).
const SHAPES: [(usize, usize); 2] = [(8, 1), (64, 16)];

fn open(capacity: usize, batch: usize) -> (Producer<Record>, Consumer<Record>) {
    Bridge::new(NonZeroUsize::new(capacity).unwrap())
        .batch(NonZeroUsize::new(batch).unwrap())
        .open()
}

/// Opens a bridge, starts the pumps and the async consumers with `spawn`,
/// the blocking consumers on threads, and returns what every consumer got
/// once the pumps are done.
async fn mixed(
    (capacity, batch): (usize, usize),
    spawn_pump: impl Fn(Task<u64>) -> Task<u64>,
    spawn_consumer: impl Fn(Task<Got>) -> Task<Got>,
) -> Vec<Got> {
    let (producer, consumer) = open(capacity, batch);
    let blocking = blocking_consumers(&consumer);
    let tasks: Vec<_> = async_consumers(&consumer)
        .into_iter()
        .map(spawn_consumer)
        .collect();
    // A consumer that only looks at the counts at the end: several pumps
    // count their records at once.
    let counts = consumer.clone();
    drop(consumer);
    let pumps: Vec<_> = pumps(producer).into_iter().map(spawn_pump).collect();
    for pump in pumps {
        assert_eq!(pump.await, u64::from(PER_SOURCE));
    }
    let mut got = Vec::new();
    for task in tasks {
        got.push(task.await);
    }
    // The async consumers ended: the blocking ones end too.
    got.extend(blocking.into_iter().map(|t| t.join().unwrap()));
    let stats = counts.stats();
    let all = u64::from(SOURCES * PER_SOURCE);
    assert_eq!(
        (stats.sent(), stats.received(), stats.depth()),
        (all, all, 0)
    );
    got
}

/// Spawns on tokio's runtime; the task's result, when awaited.
fn on_tokio<T: Send + 'static>(task: Task<T>) -> Task<T> {
    let handle = tokio::spawn(task);
    Box::pin(async move { handle.await.unwrap() })
}

/// Spawns on smol's global executor, which runs threads of its own.
fn on_smol<T: Send + 'static>(task: Task<T>) -> Task<T> {
    Box::pin(smol::spawn(task))
}

#[test]
fn mixed_consumers_on_smol_get_every_record_once_in_order_per_source() {
    for shape in SHAPES {
        let got =
            common::within_on_a_thread(60, move || smol::block_on(mixed(shape, on_smol, on_smol)));
        check(got, &format!("{shape:?}"));
    }
}

#[test]
fn mixed_consumers_on_tokio_get_every_record_once_in_order_per_source() {
    for shape in SHAPES {
        for threads in [1, 2] {
            let got = common::within_on_a_thread(60, move || {
                let runtime = match threads {
                    1 => tokio::runtime::Builder::new_current_thread().build(),
                    n => tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(n)
                        .build(),
                }
                .unwrap();
                runtime.block_on(mixed(shape, on_tokio, on_tokio))
            });
            check(got, &format!("{shape:?}, {threads} worker threads"));
        }
    }
}
