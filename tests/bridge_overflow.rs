//! The bridge's overflow policies: bounded depth, exact counts of what is
//! dropped (`sent = received + dropped + depth`), per-source order of what
//! is kept, no record a consumer took ever dropped, a callback that panics,
//! and random schedules of every end's moves per policy.
#![cfg(feature = "std")]

mod common;

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::thread;

use common::{jittery, poll_future, CountingWaker, XorShift};
use confluo::{Bridge, Consumer, Overflow, Producer, Pumped, TrySendError};
use futures::stream;

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

const POLICIES: [Overflow; 3] = [Overflow::Block, Overflow::DropNewest, Overflow::DropOldest];
const DROPPING: [Overflow; 2] = [Overflow::DropNewest, Overflow::DropOldest];

/// Opens a bridge whose dropped records are kept, in the order dropped.
#[allow(clippy::type_complexity)]
fn open_keeping<T: Send + 'static>(
    capacity: usize,
    batch: usize,
    policy: Overflow,
) -> (Producer<T>, Consumer<T>, Arc<Mutex<Vec<T>>>) {
    let dropped = Arc::new(Mutex::new(Vec::new()));
    let (producer, consumer) = Bridge::new(nz(capacity))
        .batch(nz(batch))
        .overflow(policy)
        .on_drop({
            let dropped = Arc::clone(&dropped);
            move |record| dropped.lock().unwrap().push(record)
        })
        .open();
    (producer, consumer, dropped)
}

fn taken<T: Clone>(kept: &Mutex<Vec<T>>) -> Vec<T> {
    kept.lock().unwrap().clone()
}

#[test]
fn the_default_policy_blocks() {
    assert_eq!(Overflow::default(), Overflow::Block);
    let (producer, _consumer) = Bridge::new(nz(1)).open();
    producer.try_send(1).unwrap();
    assert!(matches!(producer.try_send(2), Err(TrySendError::Full(2))));
    assert_eq!(producer.stats().dropped(), 0);
}

#[test]
fn try_send_under_a_drop_policy_never_says_full() {
    for batch in [1, 4] {
        for policy in DROPPING {
            let (producer, consumer, dropped) = open_keeping(4, batch, policy);
            for record in 0..20u32 {
                assert_eq!(producer.try_send(record), Ok(()), "{policy:?}");
            }
            let stats = producer.stats();
            let at = format!("{policy:?}, batch {batch}");
            assert_eq!(
                (stats.sent(), stats.dropped(), stats.depth()),
                (20, 16, 4),
                "{at}"
            );
            assert_eq!((stats.peak_depth(), stats.full_waits()), (4, 0), "{at}");
            drop(producer);
            let kept: Vec<u32> = consumer.into_iter().collect();
            let (want_kept, want_dropped): (Vec<u32>, Vec<u32>) = match policy {
                Overflow::DropNewest => ((0..4).collect(), (4..20).collect()),
                _ => ((16..20).collect(), (0..16).collect()),
            };
            assert_eq!(kept, want_kept, "{at}");
            assert_eq!(taken(&dropped), want_dropped, "{at}");
        }
    }
}

#[test]
fn send_under_a_drop_policy_completes_at_its_first_poll() {
    for batch in [1, 4] {
        for policy in DROPPING {
            let (producer, _consumer, dropped) = open_keeping(2, batch, policy);
            let (wakes, waker) = CountingWaker::new();
            for record in 0..10u32 {
                let mut send = pin!(producer.send(record));
                assert_eq!(poll_future(&mut send, &waker), Poll::Ready(Ok(())));
            }
            assert_eq!(wakes.wakes(), 0);
            assert_eq!(producer.stats().dropped(), 8);
            assert_eq!(taken(&dropped).len(), 8);
        }
    }
}

#[test]
fn a_batching_pump_under_drop_oldest_drops_whole_messages_and_counts_each_record() {
    let (producer, consumer, dropped) = open_keeping(8, 4, Overflow::DropOldest);
    let pumped = smol::block_on(producer.clone().pump(stream::iter(0..20u32)));
    assert_eq!(pumped, Pumped::Ended { forwarded: 20 });
    // Messages of 0..4 and 4..8 fill the bridge; each later message takes
    // the room of the oldest, dropped whole.
    let stats = producer.stats();
    assert_eq!((stats.sent(), stats.dropped(), stats.depth()), (20, 12, 8));
    assert_eq!(taken(&dropped), (0..12).collect::<Vec<_>>());
    drop(producer);
    assert_eq!(
        consumer.into_iter().collect::<Vec<_>>(),
        (12..20).collect::<Vec<_>>()
    );
}

#[test]
fn a_pump_under_drop_newest_keeps_the_first_records() {
    for batch in [1, 4] {
        let (producer, consumer, dropped) = open_keeping(8, batch, Overflow::DropNewest);
        let pumped = smol::block_on(producer.pump(stream::iter(0..20u32)));
        assert_eq!(pumped, Pumped::Ended { forwarded: 20 });
        assert_eq!(consumer.stats().dropped(), 12);
        assert_eq!(taken(&dropped), (8..20).collect::<Vec<_>>());
        assert_eq!(
            consumer.into_iter().collect::<Vec<_>>(),
            (0..8).collect::<Vec<_>>()
        );
    }
}

#[test]
fn drop_oldest_never_drops_a_record_a_consumer_took() {
    let (producer, mut consumer, dropped) = open_keeping(4, 4, Overflow::DropOldest);
    smol::block_on(producer.clone().pump(stream::iter(0..4u32)));
    // The consumer takes the batch: 1, 2, 3 in hand, and the bridge is full
    // with nothing waiting in it to drop.
    assert_eq!(consumer.recv_blocking(), Some(0));
    producer.try_send(4).unwrap();
    assert_eq!(taken(&dropped), [4], "the new record goes, not one in hand");
    assert_eq!(
        (
            consumer.recv_blocking(),
            consumer.recv_blocking(),
            consumer.recv_blocking()
        ),
        (Some(1), Some(2), Some(3))
    );
    // The batch is handed out: there is room again.
    producer.try_send(5).unwrap();
    producer.try_send(6).unwrap();
    assert_eq!(consumer.recv_blocking(), Some(5));
    let stats = producer.stats();
    assert_eq!(
        (
            stats.sent(),
            stats.received(),
            stats.dropped(),
            stats.depth()
        ),
        (7, 5, 1, 1)
    );

    // Without batches, a record taken has left the channel: only records
    // waiting go.
    let (producer, mut consumer, dropped) = open_keeping(2, 1, Overflow::DropOldest);
    producer.try_send(0).unwrap();
    producer.try_send(1).unwrap();
    assert_eq!(consumer.recv_blocking(), Some(0));
    producer.try_send(2).unwrap();
    producer.try_send(3).unwrap();
    assert_eq!(taken(&dropped), [1]);
    drop(producer);
    assert_eq!(consumer.into_iter().collect::<Vec<_>>(), [2, 3]);
}

/// What a slow consumer got, and how deep it saw the bridge.
fn consume_slowly(mut consumer: Consumer<u64>, seed: u64) -> (Vec<u64>, Consumer<u64>, usize) {
    let mut rng = XorShift(seed | 1);
    let mut got = Vec::new();
    let mut deepest = 0;
    while let Some(record) = consumer.recv_blocking() {
        got.push(record);
        // Read on the consumer's own thread: its count of records received
        // is exact, and the producer counts a drop before the record that
        // takes its place.
        deepest = deepest.max(consumer.len());
        for _ in 0..rng.below(40) {
            thread::yield_now();
        }
    }
    (got, consumer, deepest)
}

#[test]
fn a_slow_consumer_and_a_burst_keep_the_depth_bounded_and_the_counts_exact() {
    const N: u64 = 5_000;
    for policy in POLICIES {
        for (capacity, batch) in [(1, 1), (16, 1), (16, 4), (64, 16), (5, 8)] {
            let at = format!("{policy:?}, capacity {capacity}, batch {batch}");
            let (producer, consumer, dropped) = open_keeping(capacity, batch, policy);
            let slow = thread::spawn(move || consume_slowly(consumer, 7));
            let pumped = smol::block_on(producer.pump(jittery(0..N, 11, 4)));
            assert_eq!(pumped, Pumped::Ended { forwarded: N }, "{at}");
            let (got, consumer, deepest) = slow.join().unwrap();
            let dropped = taken(&dropped);
            let stats = consumer.stats();
            assert!(deepest <= capacity, "{at}: depth {deepest}");
            assert!(stats.peak_depth() <= capacity, "{at}");
            assert_eq!(stats.sent(), N, "{at}");
            assert_eq!(
                (stats.received(), stats.dropped(), stats.depth()),
                (got.len() as u64, dropped.len() as u64, 0),
                "{at}"
            );
            // What is kept arrives in order; what was dropped went to the
            // callback in order; together, each record exactly once.
            assert!(got.windows(2).all(|w| w[0] < w[1]), "{at}");
            assert!(dropped.windows(2).all(|w| w[0] < w[1]), "{at}");
            let mut all: Vec<u64> = got.iter().chain(&dropped).copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..N).collect::<Vec<_>>(), "{at}");
            match policy {
                Overflow::Block => assert!(dropped.is_empty(), "{at}"),
                // A burst far past the capacity into a slow consumer.
                _ => assert!(!dropped.is_empty(), "{at}: nothing dropped"),
            }
            if policy == Overflow::DropOldest && (batch == 1 || batch < capacity) {
                // The last record sent is the freshest: it is never dropped
                // (nothing came after it to push it out). Only a consumer
                // holding the whole capacity in hand could make it go.
                assert_eq!(got.last(), Some(&(N - 1)), "{at}");
            }
        }
    }
}

#[test]
fn several_producers_keep_their_own_order_under_every_policy() {
    const EACH: u64 = 5_000;
    for policy in POLICIES {
        for batch in [1, 8] {
            let at = format!("{policy:?}, batch {batch}");
            let (producer, consumer, dropped) = open_keeping(32, batch, policy);
            let pumps: Vec<_> = (0..3u64)
                .map(|p| {
                    let producer = producer.clone();
                    let records = jittery(p * 1_000_000..p * 1_000_000 + EACH, p + 3, 4);
                    thread::spawn(move || smol::block_on(producer.pump(records)))
                })
                .collect();
            drop(producer);
            let (got, consumer, _) = consume_slowly(consumer, 5);
            for pump in pumps {
                assert_eq!(pump.join().unwrap().forwarded(), EACH, "{at}");
            }
            let dropped = taken(&dropped);
            let stats = consumer.stats();
            assert!(stats.peak_depth() <= 32, "{at}");
            assert_eq!(
                (stats.sent(), stats.received(), stats.dropped()),
                (3 * EACH, got.len() as u64, dropped.len() as u64),
                "{at}"
            );
            for p in 0..3 {
                let mine: Vec<u64> = got.iter().copied().filter(|r| r / 1_000_000 == p).collect();
                assert!(mine.windows(2).all(|w| w[0] < w[1]), "{at}: source {p}");
            }
            let mut all: Vec<u64> = got.iter().chain(&dropped).copied().collect();
            all.sort_unstable();
            let sent: Vec<u64> = (0..3)
                .flat_map(|p| p * 1_000_000..p * 1_000_000 + EACH)
                .collect();
            assert_eq!(all, sent, "{at}");
        }
    }
}

#[test]
fn a_drop_policy_pump_stops_when_every_consumer_is_gone() {
    for policy in DROPPING {
        for batch in [1, 4] {
            let (producer, mut consumer) =
                Bridge::new(nz(4)).batch(nz(batch)).overflow(policy).open();
            let reader = thread::spawn(move || {
                // A few records, then the only consumer goes.
                for _ in 0..3 {
                    consumer.recv_blocking();
                }
            });
            let pumped = smol::block_on(producer.pump(jittery(0..u64::MAX, 1, 4)));
            reader.join().unwrap();
            match pumped {
                Pumped::ConsumersGone { unsent, .. } => assert!(!unsent.is_empty()),
                other => panic!("{policy:?}, batch {batch}: {other:?}"),
            }
        }
    }
}

#[test]
fn a_drop_oldest_bridge_ends_its_consumers_when_its_producers_are_gone_or_it_closes() {
    for batch in [1, 4] {
        // Producers gone: the bridge's own receiving end keeps nothing open.
        // Room for two batches: the consumer never holds all of it, so the
        // last record is never dropped.
        let (producer, consumer) = Bridge::new(nz(8))
            .batch(nz(batch))
            .overflow(Overflow::DropOldest)
            .open();
        let worker = thread::spawn(move || consumer.into_iter().collect::<Vec<u32>>());
        smol::block_on(producer.pump(stream::iter(0..100u32)));
        let got = worker.join().unwrap();
        assert!(got.windows(2).all(|w| w[0] < w[1]) && got.last() == Some(&99));

        // Closed by either end while a producer lives.
        let (producer, mut consumer) = Bridge::new(nz(4))
            .batch(nz(batch))
            .overflow(Overflow::DropOldest)
            .open();
        producer.try_send(1).unwrap();
        assert!(consumer.close());
        assert!(producer.try_send(2).unwrap_err().is_closed());
        assert!(smol::block_on(producer.send(3)).is_err());
        assert_eq!(consumer.recv_blocking(), Some(1));
        assert_eq!(consumer.recv_blocking(), None);
        let (producer, consumer) = Bridge::new(nz(4))
            .batch(nz(batch))
            .overflow(Overflow::DropOldest)
            .open();
        let other = producer.clone();
        for record in 0..6 {
            producer.try_send(record).unwrap();
        }
        assert!(other.close());
        assert!(producer.try_send(9).unwrap_err().is_closed());
        assert_eq!(consumer.into_iter().collect::<Vec<_>>(), [2, 3, 4, 5]);
    }
}

#[test]
fn a_router_drops_by_partition_into_one_callback() {
    let dropped = Arc::new(Mutex::new(Vec::new()));
    let (router, consumers) = Bridge::new(nz(2))
        .overflow(Overflow::DropOldest)
        .on_drop({
            let dropped = Arc::clone(&dropped);
            move |record: usize| dropped.lock().unwrap().push(record)
        })
        .partitioned(nz(2));
    let pumped = smol::block_on(router.clone().pump_by(stream::iter(0..10usize), |&r| r));
    assert_eq!(pumped.forwarded(), 10);
    let stats = router.stats();
    assert_eq!((stats.sent(), stats.dropped(), stats.depth()), (10, 6, 4));
    drop(router);
    let kept: Vec<Vec<usize>> = consumers
        .into_iter()
        .map(|c| c.into_iter().collect())
        .collect();
    assert_eq!(kept, [vec![6, 8], vec![7, 9]]);
    assert_eq!(taken(&dropped), [0, 1, 2, 3, 4, 5]);
}

/// A callback that panics at the records `panics_at` says.
fn open_panicking(
    capacity: usize,
    batch: usize,
    policy: Overflow,
    panics_at: fn(u32) -> bool,
) -> (Producer<u32>, Consumer<u32>, Arc<Mutex<Vec<u32>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (producer, consumer) = Bridge::new(nz(capacity))
        .batch(nz(batch))
        .overflow(policy)
        .on_drop({
            let seen = Arc::clone(&seen);
            move |record: u32| {
                if panics_at(record) {
                    panic!("the callback broke at {record}");
                }
                seen.lock().unwrap().push(record);
            }
        })
        .open();
    (producer, consumer, seen)
}

#[test]
fn a_panicking_callback_reaches_the_sender_and_loses_nothing_else() {
    for batch in [1, 4] {
        for policy in DROPPING {
            let at = format!("{policy:?}, batch {batch}");
            let (producer, mut consumer, seen) = open_panicking(2, batch, policy, |r| r == 2);
            producer.try_send(0).unwrap();
            producer.try_send(1).unwrap();
            let panicked = catch_unwind(AssertUnwindSafe(|| match policy {
                // Drops 0, then 1, then 2: the callback panics, with 4 in.
                Overflow::DropOldest => {
                    for record in 2..=4 {
                        let _ = producer.try_send(record);
                    }
                }
                // Drops 2 itself: the callback panics.
                _ => {
                    let _ = smol::block_on(producer.send(2));
                }
            }));
            assert!(panicked.is_err(), "{at}: the panic reaches the caller");
            // Not poisoned: sends and receives go on, counts are exact.
            producer.try_send(10).unwrap();
            let stats = producer.stats();
            assert_eq!(stats.depth(), 2, "{at}");
            assert_eq!(stats.sent(), stats.dropped() + 2, "{at}");
            let first = consumer.recv_blocking().unwrap();
            producer.try_send(11).unwrap();
            drop(producer);
            let mut got = vec![first];
            got.extend(consumer.iter());
            let stats = consumer.stats();
            assert_eq!(
                stats.sent(),
                stats.received() + stats.dropped(),
                "{at}: {got:?}, seen {:?}",
                taken(&seen)
            );
            assert_eq!(stats.received(), got.len() as u64, "{at}");
            match policy {
                // The record that panicked the callback was dropped; the
                // one that made it go is kept.
                Overflow::DropOldest => assert_eq!(got, [4, 10, 11], "{at}"),
                _ => assert_eq!(got, [0, 1, 11], "{at}"),
            }
        }
    }
}

#[test]
fn a_panicking_callback_unwinds_out_of_the_pump_with_the_bridge_consistent() {
    for batch in [1, 4] {
        let (producer, mut consumer, seen) =
            open_panicking(8, batch, Overflow::DropOldest, |r| r == 13);
        let pumped = catch_unwind(AssertUnwindSafe(|| {
            smol::block_on(producer.pump(stream::iter(0..100u32)))
        }));
        assert!(pumped.is_err(), "batch {batch}");
        // The pump and its producer are gone: the consumer drains and ends.
        let got: Vec<u32> = consumer.iter().collect();
        let stats = consumer.stats();
        assert_eq!(
            stats.sent(),
            stats.received() + stats.dropped(),
            "batch {batch}"
        );
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "batch {batch}: {got:?}"
        );
        assert_eq!(got.len(), 8, "batch {batch}: the bridge stayed full");
        // The records the callback saw, the one it panicked at, and what was
        // received: nothing twice.
        let seen = taken(&seen);
        assert!(seen.iter().all(|r| !got.contains(r) && *r < 13));
        assert!(!got.contains(&13));
    }
}

/// One move of a random schedule.
#[derive(Debug, Clone, Copy)]
enum Move {
    TrySend(usize),
    Send(usize),
    Pump(usize, u64),
    Receive(usize),
    TryReceive(usize),
    Release(usize),
    CloneConsumer(usize),
    DropConsumer(usize),
}

/// What the schedules went through, so that a test that tests nothing
/// shows.
#[derive(Debug, Default)]
struct Seen {
    full: u64,
    dropped: u64,
    dropped_new_under_drop_oldest: u64,
    closed: u64,
    pending: u64,
    several_consumers: u64,
}

/// One random schedule on one thread, against what the policy promises at
/// each move; then the end: every record offered was received, dropped
/// (and handed to the callback) or never sent, exactly once.
fn run_schedule(policy: Overflow, seed: u64, seen: &mut Seen) {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D ^ seed);
    let capacity = 1 + rng.below(12) as usize;
    let batch = 1 + rng.below(6) as usize;
    let producers_n = 1 + rng.below(3) as usize;
    let (producer, consumer, dropped) = open_keeping::<u64>(capacity, batch, policy);
    let producers: Vec<Producer<u64>> = (0..producers_n).map(|_| producer.clone()).collect();
    drop(producer);
    let mut consumers: Vec<Option<Consumer<u64>>> = vec![Some(consumer)];
    let mut next = vec![0u64; producers_n];
    let mut got: Vec<Vec<u64>> = vec![Vec::new()];
    let mut gave_back = false;
    let (_, waker) = CountingWaker::new();
    let record = |p: usize, seq: u64| p as u64 * 1_000_000 + seq;
    let at =
        |m: &Move| format!("{policy:?} schedule {seed}: capacity {capacity}, batch {batch}, {m:?}");
    for _ in 0..rng.below(120) {
        let step = match rng.below(16) {
            0..=3 => Move::TrySend(rng.below(producers_n as u64) as usize),
            4..=5 => Move::Send(rng.below(producers_n as u64) as usize),
            6..=7 => Move::Pump(rng.below(producers_n as u64) as usize, 1 + rng.below(20)),
            8..=11 => Move::Receive(rng.below(consumers.len() as u64) as usize),
            12 => Move::TryReceive(rng.below(consumers.len() as u64) as usize),
            13 => Move::Release(rng.below(consumers.len() as u64) as usize),
            14 => Move::CloneConsumer(rng.below(consumers.len() as u64) as usize),
            // Rarely: the last consumer's going closes the bridge for good.
            _ if rng.below(3) == 0 => {
                Move::DropConsumer(rng.below(consumers.len() as u64) as usize)
            }
            _ => Move::Receive(rng.below(consumers.len() as u64) as usize),
        };
        let before = producers[0].stats();
        let full = before.depth() as usize == capacity;
        let closed = producers[0].is_closed();
        let dropped_before = dropped.lock().unwrap().len();
        seen.full += u64::from(full);
        seen.closed += u64::from(closed);
        seen.several_consumers += u64::from(consumers.iter().flatten().count() > 1);
        match step {
            Move::TrySend(p) => {
                let r = record(p, next[p]);
                next[p] += 1;
                match producers[p].try_send(r) {
                    Ok(()) => assert!(
                        !closed && (!full || policy != Overflow::Block),
                        "{}",
                        at(&step)
                    ),
                    Err(TrySendError::Full(_)) => {
                        assert!(full && policy == Overflow::Block, "{}", at(&step))
                    }
                    Err(TrySendError::Closed(_)) => assert!(closed, "{}", at(&step)),
                }
            }
            Move::Send(p) => {
                let r = record(p, next[p]);
                next[p] += 1;
                let mut send = pin!(producers[p].send(r));
                match poll_future(&mut send, &waker) {
                    Poll::Ready(Ok(())) => assert!(!closed, "{}", at(&step)),
                    Poll::Ready(Err(_)) => assert!(closed, "{}", at(&step)),
                    Poll::Pending => {
                        seen.pending += 1;
                        assert!(full && policy == Overflow::Block, "{}", at(&step))
                    }
                }
                // Dropped pending: the record is dropped with it, never sent.
            }
            Move::Pump(p, n) => {
                let from = record(p, next[p]);
                next[p] += n;
                let mut pump = Box::pin(producers[p].clone().pump(stream::iter(from..from + n)));
                match poll_future(&mut pump, &waker) {
                    Poll::Ready(Pumped::Ended { forwarded }) => {
                        assert_eq!(forwarded, n, "{}", at(&step))
                    }
                    Poll::Ready(Pumped::ConsumersGone { .. }) => assert!(closed, "{}", at(&step)),
                    // Cancelled: what it sent stays, what it held goes.
                    Poll::Pending => assert_eq!(policy, Overflow::Block, "{}", at(&step)),
                }
            }
            Move::Receive(c) => {
                if let Some(consumer) = consumers[c].as_mut() {
                    // Polled once; dropped if pending, taking nothing.
                    let mut recv = pin!(consumer.recv());
                    if let Poll::Ready(Some(r)) = poll_future(&mut recv, &waker) {
                        got[c].push(r);
                    }
                }
            }
            Move::TryReceive(c) => {
                if let Some(consumer) = consumers[c].as_mut() {
                    if let Ok(r) = consumer.try_recv() {
                        got[c].push(r);
                    }
                }
            }
            Move::Release(c) => {
                if let Some(consumer) = consumers[c].as_mut() {
                    gave_back |= batch > 1;
                    consumer.release();
                }
            }
            Move::CloneConsumer(c) => {
                if let Some(consumer) = consumers[c].as_ref() {
                    consumers.push(Some(consumer.clone()));
                    got.push(Vec::new());
                }
            }
            Move::DropConsumer(c) => {
                gave_back |= consumers[c].take().is_some() && batch > 1;
            }
        }
        let after = producers[0].stats();
        let at = at(&step);
        // Single-threaded: the counts are exact at every step.
        assert!(
            after.depth() as usize <= capacity,
            "{at}: depth {}",
            after.depth()
        );
        assert!(after.peak_depth() <= capacity, "{at}");
        assert_eq!(
            after.dropped(),
            dropped.lock().unwrap().len() as u64,
            "{at}"
        );
        if policy == Overflow::Block {
            assert_eq!(after.dropped(), 0, "{at}");
        }
        let newly: Vec<u64> = dropped.lock().unwrap()[dropped_before..].to_vec();
        seen.dropped += newly.len() as u64;
        if let (Move::TrySend(p) | Move::Send(p), false) = (step, newly.is_empty()) {
            let r = record(p, next[p] - 1);
            match policy {
                // Only the record that found the bridge full.
                Overflow::DropNewest => assert_eq!(newly, [r], "{at}"),
                // The oldest waiting, or the new one if nothing waits;
                // either way the bridge was full.
                _ => {
                    assert!(full, "{at}");
                    assert!(newly == [r] || !newly.contains(&r), "{at}: {newly:?}");
                    seen.dropped_new_under_drop_oldest += u64::from(newly == [r]);
                }
            }
        }
    }
    // The end: producers go, the consumers left drain. Several give back
    // what they hold first (one would wait for the others' batches), and
    // what they drain then is out of order.
    let alive: Vec<usize> = (0..consumers.len())
        .filter(|&c| consumers[c].is_some())
        .collect();
    if alive.len() > 1 {
        for &c in &alive {
            consumers[c].as_mut().unwrap().release();
        }
    }
    drop(producers);
    let mut rest = Vec::new();
    for &c in &alive {
        let consumer = consumers[c].as_mut().unwrap();
        if alive.len() == 1 {
            got[c].extend(consumer.iter());
        } else {
            rest.extend(consumer.iter());
        }
    }
    let last = consumers.iter().flatten().next().map(Consumer::stats);
    let dropped = taken(&dropped);
    let mut all: Vec<u64> = got
        .iter()
        .flatten()
        .chain(&rest)
        .chain(&dropped)
        .copied()
        .collect();
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "{policy:?} schedule {seed}: a record twice");
    let offered: HashSet<u64> = (0..producers_n)
        .flat_map(|p| (0..next[p]).map(move |s| record(p, s)))
        .collect();
    assert!(
        all.iter().all(|r| offered.contains(r)),
        "{policy:?} schedule {seed}"
    );
    if let Some(stats) = last {
        // A consumer was left: everything sent was received or dropped.
        assert_eq!(
            (stats.sent(), stats.depth()),
            (stats.received() + stats.dropped(), 0),
            "{policy:?} schedule {seed}"
        );
        assert_eq!(n as u64, stats.sent(), "{policy:?} schedule {seed}");
    }
    if !gave_back {
        // Per source, each consumer got its records in order.
        for records in &got {
            let mut last_of: HashMap<u64, u64> = HashMap::new();
            for &r in records {
                if let Some(&before) = last_of.get(&(r / 1_000_000)) {
                    assert!(before < r, "{policy:?} schedule {seed}: {records:?}");
                }
                last_of.insert(r / 1_000_000, r);
            }
        }
    }
}

#[test]
fn random_schedules_keep_every_promise_of_each_policy() {
    // CONFLUO_SCHEDULES=10000 for the full run (in all, over the policies).
    let schedules: u64 = std::env::var("CONFLUO_SCHEDULES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let mut seen = Seen::default();
    for schedule in 0..schedules {
        run_schedule(POLICIES[(schedule % 3) as usize], schedule, &mut seen);
    }
    assert!(
        seen.full > 0
            && seen.dropped > 0
            && seen.dropped_new_under_drop_oldest > 0
            && seen.closed > 0
            && seen.pending > 0
            && seen.several_consumers > 0,
        "the schedules missed a case: {seen:?}"
    );
}
