//! The bridge: no loss, bounded memory, backpressure, and every way an end can
//! go away.
#![cfg(feature = "std")]

mod common;

use std::num::NonZeroUsize;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;

use common::{jittery, poll_future, Counters, CountingWaker, Repeat, XorShift};
use confluo::{Bridge, Pumped};
use futures::stream;

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

#[test]
fn every_record_arrives_once_in_order_under_random_schedules() {
    // CONFLUO_SCHEDULES=10000 for the full run.
    let schedules: u64 = std::env::var("CONFLUO_SCHEDULES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    for schedule in 0..schedules {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ schedule);
        let capacity = 1 + rng.below(64) as usize;
        let batch = 1 + rng.below(8) as usize;
        let records = rng.below(400);
        let consumer_pause = rng.below(4);
        let (producer, consumer) = Bridge::new(nz(capacity)).batch(nz(batch)).open();
        let seed = rng.below(u64::MAX);
        let worker = thread::spawn(move || {
            let mut rng = XorShift(seed | 1);
            let mut got = Vec::new();
            for record in consumer {
                if rng.below(4) < consumer_pause {
                    thread::yield_now();
                }
                got.push(record);
            }
            got
        });
        let pumped = smol::block_on(producer.pump(jittery(0..records, seed, 3)));
        assert_eq!(pumped, Pumped::Ended { forwarded: records });
        let got = worker.join().unwrap();
        assert_eq!(
            got,
            (0..records).collect::<Vec<_>>(),
            "schedule {schedule}: capacity {capacity}, batch {batch}"
        );
    }
}

#[test]
fn consumers_dropped_mid_batch_lose_nothing_under_random_schedules() {
    // CONFLUO_SCHEDULES=10000 for the full run.
    let schedules: u64 = std::env::var("CONFLUO_SCHEDULES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    for schedule in 0..schedules {
        let mut rng = XorShift(0xD1B5_4A32_D192_ED03 ^ schedule);
        let capacity = 1 + rng.below(64) as usize;
        let batch = 1 + rng.below(8) as usize;
        let records = rng.below(400);
        let (producer, survivor) = Bridge::new(nz(capacity)).batch(nz(batch)).open();
        // One to three consumers that each go away after a few records,
        // most likely with the rest of a batch in hand.
        let droppers: Vec<_> = (0..1 + rng.below(3))
            .map(|_| {
                let mut consumer = survivor.clone();
                let limit = rng.below(40) as usize;
                thread::spawn(move || consumer.iter().take(limit).collect::<Vec<u64>>())
            })
            .collect();
        let survivor = thread::spawn(move || {
            let mut survivor = survivor;
            let got = survivor.iter().collect::<Vec<u64>>();
            (survivor, got)
        });
        let pumped = smol::block_on(producer.pump(jittery(0..records, rng.below(u64::MAX), 3)));
        assert_eq!(pumped.forwarded(), records);
        let mut got: Vec<u64> = droppers
            .into_iter()
            .flat_map(|dropper| dropper.join().unwrap())
            .collect();
        // One `collect` on the survivor gets every record the droppers gave
        // back, also those given back after it had found the bridge drained.
        let (survivor, survived) = survivor.join().unwrap();
        got.extend(survived);
        got.sort_unstable();
        assert_eq!(
            got,
            (0..records).collect::<Vec<_>>(),
            "schedule {schedule}: capacity {capacity}, batch {batch}"
        );
        let stats = survivor.stats();
        assert_eq!(
            (stats.sent(), stats.received(), stats.depth()),
            (records, records, 0),
            "schedule {schedule}"
        );
        assert!(stats.peak_depth() <= capacity, "schedule {schedule}");
    }
}

#[test]
fn a_full_bridge_stops_the_pump_from_polling_its_sources() {
    let counters = Counters::new();
    let sources = confluo::gather((0..3).map(|key| Repeat {
        key,
        counters: counters.clone(),
    }));
    let (producer, consumer) = Bridge::new(nz(4)).open();
    let mut pump = Box::pin(producer.pump(sources));
    let (_, waker) = CountingWaker::new();
    assert!(poll_future(&mut pump, &waker).is_pending());
    // Four records fill the bridge; the fifth waits in the pending send.
    assert_eq!(counters.polls(), 5);
    for _ in 0..10 {
        assert!(poll_future(&mut pump, &waker).is_pending());
    }
    assert_eq!(
        counters.polls(),
        5,
        "no source is read while the bridge is full"
    );
    assert_eq!(consumer.stats().depth(), 4);

    // Taking one record makes room for exactly one more.
    let mut consumer = consumer;
    assert!(consumer.recv_blocking().is_some());
    assert!(poll_future(&mut pump, &waker).is_pending());
    assert_eq!(consumer.stats().depth(), 4);
    assert_eq!(counters.polls(), 6);
}

#[test]
fn a_slow_consumer_never_sees_more_than_capacity_plus_a_batch_in_flight() {
    for (capacity, batch) in [(1, 1), (8, 1), (8, 4), (16, 16), (5, 3)] {
        let (producer, mut consumer) = Bridge::new(nz(capacity)).batch(nz(batch)).open();
        let pump = thread::spawn(move || smol::block_on(producer.pump(stream::iter(0..2_000u32))));
        let mut expected = 0;
        while let Some(record) = consumer.recv_blocking() {
            assert_eq!(record, expected);
            expected += 1;
            let depth = consumer.stats().depth() as usize;
            assert!(
                depth <= capacity + batch,
                "depth {depth} > {capacity} + {batch}"
            );
            if expected % 97 == 0 {
                thread::yield_now();
            }
        }
        assert_eq!(expected, 2_000);
        assert_eq!(pump.join().unwrap().forwarded(), 2_000);
        let stats = consumer.stats();
        assert!(stats.peak_depth() <= capacity + batch);
        assert_eq!((stats.sent(), stats.received()), (2_000, 2_000));
    }
}

/// Counts its drops, to see a pump release its stream.
struct DropCount<S>(S, Arc<AtomicUsize>);

impl<S> Drop for DropCount<S> {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

impl<S: futures_core::Stream + Unpin> futures_core::Stream for DropCount<S> {
    type Item = S::Item;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<S::Item>> {
        futures::StreamExt::poll_next_unpin(&mut self.0, cx)
    }
}

#[test]
fn when_every_consumer_is_gone_the_pump_stops_and_releases_its_stream() {
    // Without batching the pump waits on the channel; with batching, for room.
    for batch in [1, 4] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (producer, consumer) = Bridge::new(nz(2)).batch(nz(batch)).open();
        let source = DropCount(stream::iter(0..u32::MAX), Arc::clone(&drops));
        let mut pump = Box::pin(producer.pump(source));
        let (wakes, waker) = CountingWaker::new();
        assert!(poll_future(&mut pump, &waker).is_pending());
        drop(consumer);
        assert!(
            wakes.wakes() > 0,
            "batch {batch}: the waiting pump is woken"
        );
        match poll_future(&mut pump, &waker) {
            Poll::Ready(Pumped::ConsumersGone { forwarded, unsent }) => {
                assert_eq!(forwarded, 2);
                assert_eq!(unsent, [2], "the record in hand is handed back, not lost");
            }
            other => panic!("batch {batch}: {other:?}"),
        }
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "released when the pump ended"
        );
    }
}

#[test]
fn a_cancelled_pump_lets_the_consumer_drain_and_end() {
    let (producer, consumer) = Bridge::new(nz(3)).open();
    let worker = thread::spawn(move || consumer.into_iter().collect::<Vec<u32>>());
    {
        let mut pump = pin!(producer.pump(stream::iter(0..u32::MAX)));
        let (_, waker) = CountingWaker::new();
        for _ in 0..5 {
            let _ = poll_future(&mut pump, &waker);
        }
    } // cancelled here: the pump and its producer are dropped
    let got = worker.join().unwrap();
    assert!(!got.is_empty());
    assert_eq!(got, (0..got.len() as u32).collect::<Vec<_>>());
}

#[test]
fn a_panicking_consumer_loses_no_record_of_the_others() {
    let (producer, consumer) = Bridge::new(nz(4)).open();
    let taken_by_panicker = Arc::new(AtomicUsize::new(0));
    let panicker = {
        let mut consumer = consumer.clone();
        let taken = Arc::clone(&taken_by_panicker);
        thread::spawn(move || {
            for _ in 0..10 {
                if consumer.recv_blocking().is_some() {
                    taken.fetch_add(1, Ordering::SeqCst);
                }
            }
            panic!("a stage broke");
        })
    };
    let survivor = thread::spawn(move || consumer.into_iter().count());
    let pumped = smol::block_on(producer.pump(stream::iter(0..5_000u32)));
    assert_eq!(pumped.forwarded(), 5_000);
    assert!(panicker.join().is_err());
    let survived = survivor.join().unwrap();
    assert_eq!(survived + taken_by_panicker.load(Ordering::SeqCst), 5_000);
}

#[test]
fn the_pump_stops_when_the_last_consumer_panics() {
    let (producer, mut consumer) = Bridge::new(nz(2)).open();
    let worker = thread::spawn(move || {
        consumer.recv_blocking();
        panic!("the only stage broke");
    });
    let pumped = smol::block_on(producer.pump(stream::iter(0..u32::MAX)));
    assert!(worker.join().is_err());
    assert!(matches!(pumped, Pumped::ConsumersGone { .. }), "{pumped:?}");
}

#[test]
fn async_consumers_receive_every_record() {
    let (producer, consumer) = Bridge::new(nz(8)).batch(nz(3)).open();
    let got: Vec<u32> = smol::block_on(async {
        let pump = smol::spawn(producer.pump(stream::iter(0..100u32)));
        let mut consumer = consumer;
        let mut got = Vec::new();
        while let Some(record) = consumer.recv().await {
            got.push(record);
        }
        assert_eq!(pump.await.forwarded(), 100);
        got
    });
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

#[test]
fn a_recv_dropped_half_way_loses_nothing() {
    let (producer, mut consumer) = Bridge::new(nz(16)).batch(nz(4)).open();
    let (_, waker) = CountingWaker::new();
    // The bridge is empty: a recv waits; dropped, it takes nothing.
    {
        let mut recv = pin!(consumer.recv());
        assert!(poll_future(&mut recv, &waker).is_pending());
    }
    // Batches of 4 and 2.
    smol::block_on(producer.clone().pump(stream::iter(0..6u32)));
    // Each recv is polled once and dropped: with a batch in hand, or one
    // waiting in the bridge, it completes at that poll, and the rest of the
    // batch stays in hand for the next.
    let mut got = Vec::new();
    for _ in 0..6 {
        let mut recv = pin!(consumer.recv());
        match poll_future(&mut recv, &waker) {
            Poll::Ready(Some(record)) => got.push(record),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, (0..6).collect::<Vec<_>>());
    {
        let mut recv = pin!(consumer.recv());
        assert!(poll_future(&mut recv, &waker).is_pending());
    }
    smol::block_on(producer.clone().pump(stream::iter(6..10u32)));
    drop(producer);
    let rest: Vec<u32> = smol::block_on(async {
        let mut rest = Vec::new();
        while let Some(record) = consumer.recv().await {
            rest.push(record);
        }
        rest
    });
    assert_eq!(rest, (6..10).collect::<Vec<_>>());
    let stats = consumer.stats();
    assert_eq!((stats.sent(), stats.received(), stats.depth()), (10, 10, 0));
}

#[test]
fn several_producers_waiting_for_room_all_finish() {
    for (capacity, batch) in [(1, 2), (4, 3), (7, 64)] {
        let (producer, consumer) = Bridge::new(nz(capacity)).batch(nz(batch)).open();
        let producers: Vec<_> = (0..4u64)
            .map(|p| {
                let producer = producer.clone();
                thread::spawn(move || {
                    smol::block_on(producer.pump(stream::iter(p * 10_000..p * 10_000 + 5_000)))
                })
            })
            .collect();
        drop(producer);
        let got = thread::spawn(move || consumer.into_iter().collect::<Vec<u64>>());
        for pump in producers {
            assert_eq!(pump.join().unwrap().forwarded(), 5_000);
        }
        let got = got.join().unwrap();
        assert_eq!(got.len(), 20_000, "capacity {capacity}, batch {batch}");
        for p in 0..4u64 {
            let mine: Vec<u64> = got.iter().copied().filter(|r| r / 10_000 == p).collect();
            let expected: Vec<u64> = (p * 10_000..p * 10_000 + 5_000).collect();
            assert_eq!(mine, expected, "each producer's records arrive in order");
        }
    }
}

#[test]
fn a_full_bridge_counts_the_waits() {
    let (producer, consumer) = Bridge::new(nz(1)).open();
    let worker = thread::spawn(move || consumer.into_iter().count());
    smol::block_on(producer.clone().pump(stream::iter(0..1_000u32)));
    let stats = producer.stats();
    drop(producer);
    assert_eq!(worker.join().unwrap(), 1_000);
    assert!(
        stats.full_waits() > 0,
        "a capacity of one makes the producer wait"
    );
}

#[test]
fn a_router_keeps_each_keys_records_whole_and_in_order_on_one_consumer() {
    let (router, consumers) = Bridge::new(nz(8)).partitioned::<(usize, u32)>(nz(3));
    let threads: Vec<_> = consumers
        .into_iter()
        .map(|consumer| thread::spawn(move || consumer.into_iter().collect::<Vec<_>>()))
        .collect();
    let records = stream::iter((0..200u32).flat_map(|seq| (0..50usize).map(move |key| (key, seq))));
    let pumped = smol::block_on(router.pump_by(records, |&(key, _)| key));
    assert_eq!(pumped, Pumped::Ended { forwarded: 10_000 });
    let mut seen_keys = Vec::new();
    for (partition, thread) in threads.into_iter().enumerate() {
        let got = thread.join().unwrap();
        for key in 0..50 {
            let seqs: Vec<u32> = got.iter().filter(|r| r.0 == key).map(|r| r.1).collect();
            if key % 3 == partition {
                assert_eq!(seqs, (0..200).collect::<Vec<_>>(), "key {key}");
                seen_keys.push(key);
            } else {
                assert!(
                    seqs.is_empty(),
                    "key {key} leaked into partition {partition}"
                );
            }
        }
    }
    seen_keys.sort_unstable();
    assert_eq!(seen_keys, (0..50).collect::<Vec<_>>());
}

#[test]
fn a_router_stops_when_a_records_partition_has_no_consumer() {
    let (router, mut consumers) = Bridge::new(nz(4)).partitioned::<usize>(nz(2));
    drop(consumers.remove(1));
    let keep = consumers.remove(0);
    let pumped = smol::block_on(router.pump_by(stream::iter([0, 2, 4, 1, 6]), |&key| key));
    assert_eq!(
        pumped,
        Pumped::ConsumersGone {
            forwarded: 3,
            unsent: vec![1]
        }
    );
    assert_eq!(keep.into_iter().collect::<Vec<_>>(), [0, 2, 4]);
}

#[test]
fn a_batching_pump_does_not_poll_its_stream_after_the_end() {
    // Three records, then the end; a poll after the end is a bug the
    // stream reports by panicking, as streams may.
    let mut left = 3;
    let mut ended = false;
    let records = stream::poll_fn(move |_| {
        assert!(!ended, "polled after its end");
        if left == 0 {
            ended = true;
            return Poll::Ready(None);
        }
        left -= 1;
        Poll::Ready(Some(left))
    });
    let (producer, consumer) = Bridge::new(nz(16)).batch(nz(8)).open();
    let pumped = smol::block_on(producer.pump(records));
    assert_eq!(pumped.forwarded(), 3);
    assert_eq!(consumer.into_iter().collect::<Vec<_>>(), [2, 1, 0]);
}
