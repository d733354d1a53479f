//! `ShardedHandle`: keyed sources spread over several `KeyedGather`s, each
//! on a task of its own, all pumped into one bridge through clones of one
//! `Router`. Pins, on tokio's multi-thread runtime and on a smol `Executor`
//! run by two threads: every item of every key arrives once, in order, on
//! the one consumer of its partition, through the shard its key names;
//! keys removed through the handle midway stop (their items a prefix); the
//! shards end by themselves once the handle is gone. Also: placement is
//! stable and even, and a dropped shard refuses its keys' sources.

#![cfg(feature = "std")]

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;

use confluo::sample::stable_hash;
use confluo::{Bridge, KeyedGather, Pumped, ShardedHandle};
use futures::stream::StreamExt;

const SHARDS: usize = 4;
const PARTITIONS: usize = 3;
const KEYS: u32 = 400;
const ITEMS: u32 = 30;

/// A reading: its sensor, its sequence number, and the shard it came from.
type Reading = (u32, u32, usize);
type Source = async_channel::Receiver<u32>;
type Pump = Pin<Box<dyn Future<Output = Pumped<Reading>> + Send>>;

/// Each shard pumped into one bridge of `PARTITIONS` partitions, fed from
/// a thread through the handle; `run` drives the pumps on an executor.
/// Returns what each consumer received.
fn shards_into_one_bridge(
    run: impl FnOnce(Vec<Pump>) -> Vec<Pumped<Reading>>,
) -> Vec<Vec<Reading>> {
    let (handle, shards): (ShardedHandle<u32, Source>, _) =
        KeyedGather::sharded(NonZeroUsize::new(SHARDS).unwrap());
    let (router, consumers) = Bridge::new(NonZeroUsize::new(64).unwrap())
        .partitioned::<Reading>(NonZeroUsize::new(PARTITIONS).unwrap());
    let pumps: Vec<Pump> = shards
        .into_iter()
        .enumerate()
        .map(|(shard, gather)| {
            let readings = gather.map(move |(key, seq)| (key, seq, shard));
            let pump = router
                .clone()
                .pump_by(readings, |r: &Reading| stable_hash(&r.0) as usize);
            Box::pin(pump) as Pump
        })
        .collect();
    drop(router);
    let consumers: Vec<_> = consumers
        .into_iter()
        .map(|consumer| std::thread::spawn(move || consumer.into_iter().collect::<Vec<_>>()))
        .collect();

    // Asked now: a handle kept would keep the shards from ending.
    let placement: Vec<usize> = (0..KEYS).map(|key| handle.shard_of(&key)).collect();
    let registry = std::thread::spawn(move || {
        let feeds: Vec<_> = (0..KEYS)
            .map(|key| {
                let (feed, source) = async_channel::unbounded();
                handle.insert(key, source).unwrap();
                feed
            })
            .collect();
        for seq in 0..ITEMS {
            for (key, feed) in (0..KEYS).zip(&feeds) {
                if key % 10 == 0 && seq == ITEMS / 2 {
                    assert!(handle.remove(key));
                }
                let _ = feed.try_send(seq);
            }
            std::thread::yield_now();
        }
        // The feeds close as they drop: each source ends after its items,
        // then the handle goes, and the shards end.
    });

    let pumped = run(pumps);
    registry.join().unwrap();
    for pumped in pumped {
        assert!(matches!(pumped, Pumped::Ended { .. }), "{pumped:?}");
    }
    let received: Vec<Vec<Reading>> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
    check(&received, &placement);
    received
}

/// Every key whole and in order (a prefix for the removed), on its own
/// partition, from its own shard.
fn check(received: &[Vec<Reading>], placement: &[usize]) {
    let mut per_key: HashMap<u32, Vec<u32>> = HashMap::new();
    for (partition, readings) in received.iter().enumerate() {
        for &(key, seq, shard) in readings {
            assert_eq!(
                partition,
                stable_hash(&key) as usize % PARTITIONS,
                "key {key}"
            );
            assert_eq!(shard, placement[key as usize], "key {key}");
            per_key.entry(key).or_default().push(seq);
        }
    }
    for key in 0..KEYS {
        let seqs = per_key.remove(&key).unwrap_or_default();
        if key % 10 == 0 {
            assert!(seqs.len() <= ITEMS as usize / 2 + 1, "{key}: {seqs:?}");
            assert_eq!(seqs, (0..seqs.len() as u32).collect::<Vec<_>>(), "{key}");
        } else {
            assert_eq!(seqs, (0..ITEMS).collect::<Vec<_>>(), "key {key}");
        }
    }
    assert!(per_key.is_empty());
}

#[test]
fn shards_fed_and_drained_on_tokios_multi_thread_runtime() {
    let received = common::within_on_a_thread(60, || {
        shards_into_one_bridge(|pumps| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap();
            let tasks: Vec<_> = pumps.into_iter().map(|pump| runtime.spawn(pump)).collect();
            runtime.block_on(async {
                let mut pumped = Vec::new();
                for task in tasks {
                    pumped.push(task.await.unwrap());
                }
                pumped
            })
        })
    });
    assert_eq!(received.len(), PARTITIONS);
}

#[test]
fn shards_fed_and_drained_on_a_multi_threaded_smol_executor() {
    let received = common::within_on_a_thread(60, || {
        shards_into_one_bridge(|pumps| {
            let executor = async_executor::Executor::new();
            let tasks: Vec<_> = pumps.into_iter().map(|pump| executor.spawn(pump)).collect();
            let (stop, stopped) = async_channel::bounded::<()>(1);
            std::thread::scope(|scope| {
                scope.spawn(|| smol::block_on(executor.run(stopped.recv())));
                let pumped = smol::block_on(executor.run(futures::future::join_all(tasks)));
                drop(stop);
                pumped
            })
        })
    });
    assert_eq!(received.len(), PARTITIONS);
}

#[test]
fn placement_is_stable_and_even() {
    let (handle, _shards) =
        KeyedGather::<u64, futures::stream::Empty<u8>>::sharded(NonZeroUsize::new(4).unwrap());
    // Pinned: the same in every process, on every platform.
    assert_eq!(
        handle.shard_of(&0u64),
        (0x813f_0174_a236_7c13u64 % 4) as usize
    );
    let mut counts = [0usize; 4];
    for key in 0..10_000u64 {
        counts[handle.shard_of(&key)] += 1;
    }
    for count in counts {
        assert!((2_250..=2_750).contains(&count), "{counts:?}");
    }
}

#[test]
fn a_dropped_shard_refuses_its_keys_and_the_others_go_on() {
    let (handle, mut shards) =
        KeyedGather::<u32, futures::stream::Iter<std::vec::IntoIter<u32>>>::sharded(
            NonZeroUsize::new(2).unwrap(),
        );
    let on = |shard: usize| (0..).find(|key| handle.shard_of(key) == shard).unwrap();
    let (lost, kept) = (on(1), on(0));
    drop(shards.pop());
    let refused = handle
        .insert(lost, futures::stream::iter(vec![1]))
        .unwrap_err();
    assert_eq!(refused.to_string(), "pushing into a dropped Gather");
    assert!(!handle.remove(lost));
    handle.insert(kept, futures::stream::iter(vec![2])).unwrap();
    drop(handle);
    let got: Vec<_> = common::within(5, shards.remove(0).collect());
    assert_eq!(got, [(kept, 2)]);
}
