//! Shutting a live `Gather` down: pumping stops at a signal in the middle of
//! a burst and the `Gather` comes back with every source; then `close_all`
//! closes them within a second deadline. Pins that nothing the sources gave
//! is lost (what they yielded = what the pump forwarded = what the consumer
//! received, each source's records in order with no gap), that every source
//! is closed gracefully or cut short at the deadline and released once,
//! that a signal already done polls no source, that the `Gather` goes on
//! where it stopped, and that sources queued through a handle are closed
//! too. Everything runs under a deadline.

#![cfg(feature = "std")]

mod common;

use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll};

use common::{poll_once, within, Counters, Repeat};
use confluo::guard::{close_all, guard, Closed, Release};
use confluo::{Gather, Until};
use futures::channel::oneshot;
use futures::stream::{self, StreamExt};
use futures_core::stream::{FusedStream, Stream};

/// Always ready: yields `(source, 0)`, `(source, 1)`, ... and counts every
/// item it gives in `taken`.
struct Burst {
    source: u64,
    next: u64,
    taken: Arc<AtomicU64>,
}

impl Stream for Burst {
    type Item = (u64, u64);
    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<(u64, u64)>> {
        let item = (self.source, self.next);
        self.next += 1;
        self.taken.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Some(item))
    }
}

const SOURCES: u64 = 8;

#[test]
fn a_stop_in_the_middle_of_a_burst_loses_nothing_the_bridge_accepted() {
    let taken = Arc::new(AtomicU64::new(0));
    let (released, reasons) = mpsc::channel();
    let mut sensors = confluo::gather((0..SOURCES).map(|source| {
        let released = released.clone();
        let burst = Burst {
            source,
            next: 0,
            taken: Arc::clone(&taken),
        };
        guard(burst, move |why| released.send((source, why)).unwrap()).goodbye(|| async {})
    }));
    // A small bridge: the pump waits for room throughout the burst.
    let (producer, consumer) = confluo::bridge(NonZeroUsize::new(16).unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = std::thread::spawn(move || {
        let mut stop = Some(stop);
        let mut received = Vec::new();
        for record in consumer {
            received.push(record);
            if received.len() == 5_000 {
                stop.take().unwrap().send(()).unwrap();
            }
        }
        received
    });

    let (pumped, closed) = within(30, async {
        let pumped = producer.pump(sensors.until(stopped)).await;
        assert_eq!(sensors.len() as u64, SOURCES, "every source is still there");
        let closed = close_all(sensors, futures::future::pending::<()>()).await;
        (pumped, closed)
    });
    let received = worker.join().unwrap();

    let taken = taken.load(Ordering::SeqCst);
    assert!(taken >= 5_000, "stopped mid-burst, not before");
    assert_eq!(pumped.forwarded(), taken, "every item taken was forwarded");
    assert_eq!(received.len() as u64, taken, "and received");
    for source in 0..SOURCES {
        let sequence: Vec<u64> = received
            .iter()
            .filter(|(from, _)| *from == source)
            .map(|&(_, seq)| seq)
            .collect();
        assert_eq!(sequence, (0..sequence.len() as u64).collect::<Vec<_>>());
    }
    assert_eq!(
        closed,
        Closed {
            gracefully: SOURCES as usize,
            cut_short: 0
        }
    );
    let mut reasons: Vec<(u64, Release)> = reasons.try_iter().collect();
    reasons.sort_by_key(|&(source, _)| source);
    let expected: Vec<_> = (0..SOURCES)
        .map(|source| (source, Release::Closed))
        .collect();
    assert_eq!(reasons, expected, "each released once, as closed");
}

#[test]
fn a_goodbye_that_hangs_is_cut_short_at_the_second_deadline() {
    let (released, reasons) = mpsc::channel();
    let mut sensors = confluo::gather((0..3u32).map(|source| {
        let released = released.clone();
        guard(stream::repeat(source), move |why| {
            released.send((source, why)).unwrap()
        })
        .goodbye(move || async move {
            if source == 1 {
                futures::future::pending::<()>().await;
            }
        })
    }));
    let (stop, stopped) = oneshot::channel::<()>();
    let (deadline, deadline_passed) = oneshot::channel::<()>();
    let closed = within(30, async {
        let mut until = sensors.until(stopped);
        assert_eq!(until.next().await.map(|_| ()), Some(()));
        stop.send(()).unwrap();
        assert_eq!(until.next().await, None);
        let mut closing = std::pin::pin!(close_all(sensors, deadline_passed));
        assert!(
            futures::poll!(closing.as_mut()).is_pending(),
            "one goodbye hangs"
        );
        deadline.send(()).unwrap();
        closing.await
    });
    assert_eq!(
        closed,
        Closed {
            gracefully: 2,
            cut_short: 1
        }
    );
    let mut reasons: Vec<_> = reasons.try_iter().collect();
    reasons.sort_by_key(|&(source, _)| source);
    assert_eq!(
        reasons,
        [
            (0, Release::Closed),
            (1, Release::Dropped),
            (2, Release::Closed)
        ]
    );
}

#[test]
fn a_signal_already_done_polls_no_source_and_the_gather_goes_on_where_it_stopped() {
    let counters = Counters::new();
    let mut gather: Gather<Repeat> = (0..2)
        .map(|key| Repeat {
            key,
            counters: Arc::clone(&counters),
        })
        .collect();
    let mut until: Until<'_, _, _> = gather.until(std::future::ready(()));
    assert_eq!(
        poll_once(&mut until, futures::task::noop_waker_ref()),
        Poll::Ready(None)
    );
    assert!(until.is_stopped() && until.is_terminated());
    assert_eq!(until.size_hint(), (0, Some(0)));
    assert_eq!(counters.polls(), 0, "no source polled");

    let (stop, stopped) = oneshot::channel::<()>();
    let mut stop = Some(stop);
    let mut until = gather.until(stopped);
    assert!(!until.is_terminated());
    let mut first = Vec::new();
    while let Some(key) = within(10, until.next()) {
        first.push(key);
        if first.len() == 3 {
            stop.take().unwrap().send(()).unwrap();
        }
    }
    assert_eq!(first.len(), 3, "the item in hand, then the stop");
    assert_eq!(counters.polls(), 3, "nothing taken that was not yielded");
    let next = within(10, gather.next());
    assert_eq!(next, Some(first[2]), "the turn goes on where it stopped");
}

/// Sources pushed through a handle but not yet taken in when pumping stops
/// are closed with the rest, not lost.
#[test]
fn sources_queued_through_a_handle_are_closed_with_the_rest() {
    let (released, reasons) = mpsc::channel();
    let mut sensors = Gather::new();
    let handle = sensors.handle();
    let sensor = |source: u32| {
        let released = released.clone();
        guard(stream::repeat(source), move |why| {
            released.send((source, why)).unwrap()
        })
        .goodbye(|| async {})
    };
    handle.push(sensor(0)).unwrap();
    let closed = within(30, async {
        let mut until = sensors.until(std::future::ready(()));
        assert_eq!(until.next().await, None);
        handle.push(sensor(1)).unwrap();
        close_all(sensors, futures::future::pending::<()>()).await
    });
    assert_eq!(
        closed,
        Closed {
            gracefully: 2,
            cut_short: 0
        }
    );
    assert_eq!(reasons.try_iter().count(), 2);
    assert!(handle.push(sensor(2)).is_err(), "the gather is gone");
}
