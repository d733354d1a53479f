//! The sources: exact poll sequences, ends, cancellation, errors, panics.
#![cfg(feature = "std")]

mod common;

use std::future::Future;
use std::num::NonZeroUsize;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll};
use std::time::Duration;

use common::{manual, poll_once, Counters, CountingWaker, Manual};
use confluo::source::{from_blocking, from_iter, from_read, FromIter, Reading, Sensor};
use futures::StreamExt;
use futures_core::stream::{FusedStream, Stream};

/// A read in flight: completes with the first item its `Manual` gets, counts
/// its drop through the `Manual`.
struct PendingRead<T>(Manual<T>);

impl<T> Future for PendingRead<T> {
    type Output = Option<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.0.poll_next_unpin(cx)
    }
}

#[test]
fn from_read_yields_each_read_and_ends_on_none() {
    let counters = Counters::new();
    let (first, feed_first) = manual::<u32>(&counters);
    let (second, feed_second) = manual::<u32>(&counters);
    let mut reads = vec![PendingRead(second), PendingRead(first)];
    let calls = Arc::new(AtomicUsize::new(0));
    let mut stream = {
        let calls = Arc::clone(&calls);
        from_read(move || {
            calls.fetch_add(1, Ordering::SeqCst);
            reads.pop().expect("no more than two reads")
        })
    };
    let (task, waker) = CountingWaker::new();
    assert_eq!(stream.size_hint(), (0, None));
    assert_eq!(poll_once(&mut stream, &waker), Poll::Pending);
    assert_eq!(
        poll_once(&mut stream, &waker),
        Poll::Pending,
        "a spurious poll"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one read in flight, not two"
    );
    feed_first.send(10);
    assert_eq!(task.wakes(), 1);
    assert_eq!(poll_once(&mut stream, &waker), Poll::Ready(Some(10)));
    assert_eq!(counters.drops(), 1, "a finished read is dropped at once");
    assert_eq!(poll_once(&mut stream, &waker), Poll::Pending);
    feed_second.close();
    assert_eq!(poll_once(&mut stream, &waker), Poll::Ready(None));
    assert!(stream.is_terminated());
    assert_eq!(stream.size_hint(), (0, Some(0)));
    assert_eq!(poll_once(&mut stream, &waker), Poll::Ready(None));
    assert_eq!(calls.load(Ordering::SeqCst), 2, "no read after the end");
}

#[test]
fn from_read_passes_errors_through_as_items() {
    let mut outcomes = vec![Ok(1), Err("timeout"), Ok(3)].into_iter();
    let stream = from_read(move || std::future::ready(outcomes.next().unwrap_or(Err("gone"))));
    let first: Vec<Result<u8, &str>> = futures::executor::block_on(stream.take(4).collect());
    assert_eq!(first, [Ok(1), Err("timeout"), Ok(3), Err("gone")]);
}

#[test]
fn dropping_from_read_mid_read_drops_only_the_read_in_flight() {
    let counters = Counters::new();
    let (read, _feed) = manual::<u32>(&counters);
    let mut read = Some(PendingRead(read));
    let mut stream = from_read(move || read.take().expect("one read"));
    let (_, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut stream, &waker), Poll::Pending);
    assert_eq!(counters.drops(), 0);
    drop(stream);
    assert_eq!(counters.drops(), 1);
}

#[test]
fn a_panicking_read_propagates() {
    let mut stream = from_read(|| -> std::future::Ready<Option<u8>> { panic!("the driver broke") });
    let (_, waker) = CountingWaker::new();
    let panic = catch_unwind(AssertUnwindSafe(|| poll_once(&mut stream, &waker)));
    assert!(panic.is_err());
}

#[test]
fn from_iter_gives_the_executor_a_turn_every_budget_items() {
    let budget = FromIter::<std::ops::Range<u32>>::BUDGET;
    let mut stream = from_iter(0..2 * budget + 1);
    let (task, waker) = CountingWaker::new();
    assert_eq!(
        stream.size_hint(),
        (2 * budget as usize + 1, Some(2 * budget as usize + 1))
    );
    let mut expected = 0;
    for round in 0..2 {
        for _ in 0..budget {
            assert_eq!(poll_once(&mut stream, &waker), Poll::Ready(Some(expected)));
            expected += 1;
        }
        assert_eq!(poll_once(&mut stream, &waker), Poll::Pending);
        assert_eq!(task.wakes(), round + 1, "it wakes itself at once");
    }
    assert_eq!(poll_once(&mut stream, &waker), Poll::Ready(Some(expected)));
    assert_eq!(poll_once(&mut stream, &waker), Poll::Ready(None));
    assert!(stream.is_terminated());
    assert_eq!(poll_once(&mut stream, &waker), Poll::Ready(None));
}

#[test]
fn a_long_in_memory_source_does_not_starve_its_neighbours() {
    // A million-item source and a one-item source share a Gather: the short
    // one's item comes within the first turn or two, not after the million.
    let long = from_iter(0..1_000_000u32).map(|_| "long").boxed();
    let short = from_iter(["short"]).boxed();
    let gather = confluo::gather([long, short]);
    let first: Vec<&str> = futures::executor::block_on(gather.take(100).collect());
    let position = first.iter().position(|&s| s == "short");
    assert!(position.is_some_and(|p| p < 100), "{position:?}");
}

/// An iterator that tells the test when it is dropped, and counts its items.
struct Watched<I> {
    iter: I,
    produced: Arc<AtomicUsize>,
    dropped: mpsc::Sender<()>,
}

impl<I: Iterator> Iterator for Watched<I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        let item = self.iter.next();
        if item.is_some() {
            self.produced.fetch_add(1, Ordering::SeqCst);
        }
        item
    }
}

impl<I> Drop for Watched<I> {
    fn drop(&mut self) {
        let _ = self.dropped.send(());
    }
}

fn watched<I: Iterator>(iter: I) -> (Watched<I>, Arc<AtomicUsize>, mpsc::Receiver<()>) {
    let produced = Arc::new(AtomicUsize::new(0));
    let (dropped, on_drop) = mpsc::channel();
    (
        Watched {
            iter,
            produced: Arc::clone(&produced),
            dropped,
        },
        produced,
        on_drop,
    )
}

/// The bound on waiting for another thread: a failure, never a hang.
const PATIENCE: Duration = Duration::from_secs(10);

/// The bound on a read that waits for the executor: generous, so that only a
/// frozen executor, never a loaded machine, reaches it.
const FROZEN: Duration = Duration::from_secs(60);

#[test]
fn from_blocking_delivers_a_slow_iterator_without_blocking_the_executor() {
    // Each read blocks its thread until a task on the executor lets it go,
    // and that task lets a read go only once the read before it arrived. Had
    // the iterator blocked the executor's thread, the task could never run:
    // the read would wait for good (here, fail after `FROZEN`).
    let (let_go, gate) = mpsc::channel::<()>();
    let gated = (0..5).inspect(move |i| {
        gate.recv_timeout(FROZEN)
            .unwrap_or_else(|_| panic!("read {i} was never let go: the executor was frozen"));
    });
    let (iter, produced, on_drop) = watched(gated);
    let stream = from_blocking(iter, NonZeroUsize::new(2).unwrap());
    let (arrived, arrivals) = async_channel::unbounded::<i32>();
    let (items, let_go_count) = smol::block_on(async {
        let collect = stream
            .inspect(|&item| arrived.try_send(item).unwrap())
            .collect::<Vec<_>>();
        let keeper = async {
            let mut let_go_count = 0;
            for read in 0..5 {
                if read > 0 {
                    assert_eq!(arrivals.recv().await, Ok(read - 1), "in order");
                }
                let_go.send(()).unwrap();
                let_go_count += 1;
            }
            let_go_count
        };
        futures::join!(collect, keeper)
    });
    assert_eq!(items, [0, 1, 2, 3, 4]);
    assert_eq!(let_go_count, 5, "each read was let go by the task");
    assert_eq!(produced.load(Ordering::SeqCst), 5);
    on_drop
        .recv_timeout(PATIENCE)
        .expect("the iterator is dropped when it ends");
}

#[test]
fn from_blocking_stops_within_one_item_when_the_stream_is_dropped() {
    let (iter, produced, on_drop) = watched(0..u64::MAX);
    let capacity = 3;
    let mut stream = from_blocking(iter, NonZeroUsize::new(capacity).unwrap());
    assert_eq!(futures::executor::block_on(stream.next()), Some(0));
    drop(stream);
    on_drop
        .recv_timeout(PATIENCE)
        .expect("the thread drops its iterator once the stream is gone");
    // One taken, `capacity` read ahead, at most one more in hand at the drop.
    assert!(produced.load(Ordering::SeqCst) <= 1 + capacity + 1);
}

#[test]
fn a_panicking_blocking_iterator_surfaces_after_its_items() {
    let failing = (0..4).inspect(|&i| assert!(i < 3, "serial port unplugged"));
    let mut stream = from_blocking(failing, NonZeroUsize::new(8).unwrap());
    let mut got = Vec::new();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        futures::executor::block_on(async {
            while let Some(item) = stream.next().await {
                got.push(item);
            }
        })
    }));
    assert_eq!(got, [0, 1, 2]);
    let payload = outcome.expect_err("the panic is resumed on the stream side");
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or_default();
    assert!(message.contains("serial port unplugged"), "{message:?}");
}

#[test]
fn a_simulated_sensor_repeats_exactly_for_a_seed() {
    let run = |seed| -> Vec<Result<Reading, confluo::source::SensorFault>> {
        let sensor = Sensor::new(3, Duration::ZERO)
            .seed(seed)
            .failure_rate(0.3)
            .reads(200)
            .instant();
        futures::executor::block_on(sensor.collect())
    };
    let a = run(7);
    assert_eq!(a, run(7));
    assert_ne!(a, run(8));
    let faults = a.iter().filter(|r| r.is_err()).count();
    assert!(
        (30..=90).contains(&faults),
        "about 30% of 200 fail: {faults}"
    );
    for (seq, reading) in a.iter().enumerate() {
        match reading {
            Ok(r) => {
                assert_eq!((r.sensor, r.seq), (3, seq as u64));
                assert!((17.0..=23.0).contains(&r.value), "{r:?}");
            }
            Err(fault) => assert_eq!((fault.sensor, fault.seq), (3, seq as u64)),
        }
    }
}

#[test]
fn a_simulated_sensor_sleeps_its_latency_plus_bounded_jitter() {
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sensor = {
        let asked = Arc::clone(&asked);
        Sensor::new(1, Duration::from_millis(20))
            .jitter(Duration::from_millis(5))
            .reads(500)
            .stream(move |latency| {
                asked.lock().unwrap().push(latency);
                std::future::ready(())
            })
    };
    assert_eq!(futures::executor::block_on(sensor.count()), 500);
    let asked = asked.lock().unwrap();
    assert_eq!(asked.len(), 500, "one sleep per read");
    let (low, high) = (Duration::from_millis(15), Duration::from_millis(25));
    assert!(asked.iter().all(|l| (low..=high).contains(l)));
    assert!(asked.iter().any(|l| *l < Duration::from_millis(18)));
    assert!(asked.iter().any(|l| *l > Duration::from_millis(22)));
}

#[test]
fn a_simulated_sensor_draws_from_splitmix64_seeded_by_seed_and_id() {
    // SplitMix64's first outputs from state 0 (sensor 0, seed 0): the first
    // read's jitter, that read's noise, the second read's jitter.
    let outputs: [u64; 3] = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F];
    let (latency, jitter) = (Duration::from_millis(20), Duration::from_millis(5));
    let span = jitter.as_nanos() as u64 * 2 + 1;
    let expect_latency = |random: u64| latency + Duration::from_nanos(random % span) - jitter;
    let run = |id: u32, seed: u64| {
        let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sensor = {
            let asked = Arc::clone(&asked);
            Sensor::new(id, latency)
                .jitter(jitter)
                .seed(seed)
                .reads(2)
                .stream(move |latency| {
                    asked.lock().unwrap().push(latency);
                    std::future::ready(())
                })
        };
        let readings: Vec<Reading> =
            futures::executor::block_on(sensor.map(Result::unwrap).collect());
        let asked = asked.lock().unwrap().clone();
        (asked, readings[0].value)
    };
    let (asked, first_value) = run(0, 0);
    assert_eq!(
        asked,
        [expect_latency(outputs[0]), expect_latency(outputs[2])]
    );
    let noise = (outputs[1] & 0xFFFF) as f64 / 65_536.0 - 0.5;
    assert_eq!(first_value, 17.5 + noise);
    // The id goes into the high word of the starting state: sensor 1 with
    // seed 1 << 32 starts where sensor 0 with seed 0 does.
    assert_eq!(run(1, 1 << 32), run(0, 0));
    assert_ne!(run(1, 0), run(0, 0));
}

#[test]
fn dropping_a_sensor_mid_read_drops_its_sleep() {
    let counters = Counters::new();
    let mut handles = Vec::new();
    let mut sensor = Sensor::new(1, Duration::ZERO).stream(|_| {
        let (read, handle) = manual::<()>(&counters);
        handles.push(handle);
        PendingRead(read)
    });
    let (_, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut sensor, &waker), Poll::Pending);
    assert_eq!(counters.drops(), 0);
    drop(sensor);
    assert_eq!(counters.drops(), 1);
}

#[test]
fn ten_thousand_deterministic_sensors_gathered() {
    let sensors = (0..10_000).map(|id| Sensor::new(id, Duration::from_secs(1)).reads(3).instant());
    let readings: Vec<Reading> =
        futures::executor::block_on(confluo::gather(sensors).map(Result::unwrap).collect());
    assert_eq!(readings.len(), 30_000);
    let mut next_seq = vec![0u64; 10_000];
    for reading in readings {
        assert_eq!(
            reading.seq, next_seq[reading.sensor as usize],
            "per-sensor order"
        );
        next_seq[reading.sensor as usize] += 1;
    }
    assert!(next_seq.iter().all(|&n| n == 3));
}

#[test]
#[should_panic(expected = "a failure rate is within 0.0..=1.0")]
fn a_failure_rate_out_of_range_panics() {
    let _ = Sensor::new(1, Duration::ZERO).failure_rate(1.5);
}
