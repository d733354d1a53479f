//! A source whose `poll_next` panicked was never polled again, and the
//! `Gather` never ended.
//!
//! When the panic was caught (with `catch_unwind`, as servers and test
//! harnesses do) outside a turn in progress, the source stayed marked as
//! scheduled: its wakes were skipped, `len()` still counted it, and the
//! `Gather` returned `Pending` forever, also once every other source had
//! ended. `gather_all`, `try_gather_all` and `close_all`, which run on a
//! `Gather`, stalled the same way when polled after a caught panic.
//!
//! Now a source that panics is dropped as the panic unwinds, as
//! futures-util's `FuturesUnordered` does, and the `Gather` goes on with the
//! others. These tests make a source panic at every point where a `Gather`
//! polls one, and poll on a bounded number of times, so a stall fails
//! instead of hanging.
#![cfg(feature = "std")]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use common::{manual, poll_future, Counters, CountingWaker};
use confluo::guard::{close_all, guard, Release};
use confluo::{gather_all, try_gather_all, Event, Gather};
use futures::future::{pending, ready, BoxFuture, FutureExt};
use futures::stream::BoxStream;
use futures_core::Stream;

/// What a scripted source does at each poll.
#[derive(Clone, Copy)]
enum Step {
    Item(u32),
    /// Pending until woken; the waker is kept for the test.
    Pending,
    /// Wakes itself and returns `Pending`: it yields to the executor.
    Yield,
    Panic,
}

/// A source that follows a script, counts its drops and keeps the waker it
/// was last given. Past the script it would wait forever.
struct Scripted {
    steps: std::vec::IntoIter<Step>,
    drops: Arc<AtomicUsize>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Stream for Scripted {
    type Item = u32;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        match self.steps.next() {
            Some(Step::Item(item)) => Poll::Ready(Some(item)),
            Some(Step::Pending) | None => {
                *self.waker.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            }
            Some(Step::Yield) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(Step::Panic) => panic!("the source broke"),
        }
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// How a test reads the `Gather`: as a stream of items, or as events.
#[derive(Clone, Copy, Debug)]
enum Read {
    Items,
    Events,
}

impl Read {
    /// One poll, reported as an item; ends of sources are passed over.
    fn poll(
        self,
        gather: &mut Gather<BoxStream<'static, u32>>,
        waker: &Waker,
    ) -> Poll<Option<u32>> {
        let mut cx = Context::from_waker(waker);
        loop {
            return match self {
                Read::Items => Pin::new(&mut *gather).poll_next(&mut cx),
                Read::Events => match gather.poll_event(&mut cx) {
                    Poll::Ready(Some(Event::Item(_, item))) => Poll::Ready(Some(item)),
                    Poll::Ready(Some(Event::Ended(_))) => continue,
                    Poll::Ready(None) => Poll::Ready(None),
                    Poll::Pending => Poll::Pending,
                },
            };
        }
    }
}

/// Enough polls for anything left to finish; a stalled `Gather` uses them up.
const PATIENCE: usize = 1_000;

/// A `Gather` of a scripted source (pushed first) and a companion that
/// yields 1, 2 and 3 and ends; polls until the scripted source panics, and
/// checks what follows: the source was dropped once, the companion goes on,
/// and the `Gather` ends.
fn panics_at(script: Vec<Step>, read: Read, wake_between: bool) {
    let drops = Arc::new(AtomicUsize::new(0));
    let kept = Arc::new(Mutex::new(None));
    let scripted = Scripted {
        steps: script.into_iter(),
        drops: Arc::clone(&drops),
        waker: Arc::clone(&kept),
    };
    let mut gather: Gather<BoxStream<'static, u32>> = Gather::new();
    gather.push(Box::pin(scripted));
    gather.push(Box::pin(futures::stream::iter([1, 2, 3])));
    let (_, waker) = CountingWaker::new();

    let mut items = Vec::new();
    let mut polls = 0;
    let panicked = loop {
        assert!(polls < PATIENCE, "{read:?}: the source never panicked");
        polls += 1;
        if wake_between {
            if let Some(waker) = kept.lock().unwrap().take() {
                waker.wake();
            }
        }
        match catch_unwind(AssertUnwindSafe(|| read.poll(&mut gather, &waker))) {
            Ok(Poll::Ready(Some(item))) => items.push(item),
            Ok(Poll::Ready(None)) => panic!("{read:?}: ended before the source panicked"),
            Ok(Poll::Pending) => {}
            Err(_) => break true,
        }
    };
    assert!(panicked);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "{read:?}: dropped as the panic unwinds"
    );
    // A wake of the dropped source, late, is harmless.
    if let Some(waker) = kept.lock().unwrap().take() {
        waker.wake();
    }

    let mut polls = 0;
    loop {
        assert!(
            polls < PATIENCE,
            "{read:?}: the Gather stalled after the panic"
        );
        polls += 1;
        match read.poll(&mut gather, &waker) {
            Poll::Ready(Some(item)) => items.push(item),
            Poll::Ready(None) => break,
            Poll::Pending => {}
        }
    }
    items.retain(|&item| item < 10);
    assert_eq!(
        items,
        [1, 2, 3],
        "{read:?}: the companion's items, all of them"
    );
    assert!(gather.is_empty());
    assert_eq!(drops.load(Ordering::SeqCst), 1, "{read:?}: dropped once");
}

fn both_ways(script: Vec<Step>, wake_between: bool) {
    for read in [Read::Items, Read::Events] {
        panics_at(script.clone(), read, wake_between);
    }
}

#[test]
fn a_source_that_panics_at_its_first_poll_is_dropped_and_the_rest_go_on() {
    both_ways(vec![Step::Panic], false);
}

#[test]
fn a_source_that_panics_when_polled_for_a_wake_is_dropped_and_the_rest_go_on() {
    both_ways(vec![Step::Pending, Step::Panic], true);
}

#[test]
fn a_source_that_panics_in_the_middle_of_its_turn_is_dropped_and_the_rest_go_on() {
    both_ways(vec![Step::Item(10), Step::Item(11), Step::Panic], false);
}

#[test]
fn a_source_that_panics_at_the_start_of_its_next_turn_is_dropped_and_the_rest_go_on() {
    let turn = Gather::<BoxStream<'static, u32>>::TURN;
    let mut script: Vec<Step> = (0..turn).map(|i| Step::Item(10 + i)).collect();
    script.push(Step::Panic);
    both_ways(script, false);
}

#[test]
fn a_source_that_panics_after_yielding_to_the_executor_is_dropped_and_the_rest_go_on() {
    both_ways(vec![Step::Yield, Step::Panic], false);
}

#[test]
fn the_slot_of_a_source_that_panicked_serves_the_next_source_with_no_stale_wake() {
    let drops = Arc::new(AtomicUsize::new(0));
    let kept = Arc::new(Mutex::new(None));
    let mut gather: Gather<BoxStream<'static, u32>> = Gather::new();
    gather.push(Box::pin(Scripted {
        steps: vec![Step::Pending, Step::Panic].into_iter(),
        drops: Arc::clone(&drops),
        waker: Arc::clone(&kept),
    }));
    let (_, waker) = CountingWaker::new();
    assert_eq!(Read::Items.poll(&mut gather, &waker), Poll::Pending);
    let stale = kept.lock().unwrap().take().expect("registered");
    stale.wake_by_ref();
    assert!(catch_unwind(AssertUnwindSafe(|| Read::Items.poll(&mut gather, &waker))).is_err());
    assert_eq!((gather.len(), drops.load(Ordering::SeqCst)), (0, 1));

    let counters = Counters::new();
    let (source, handle) = manual::<u32>(&counters);
    gather.push(Box::pin(source));
    assert_eq!(Read::Items.poll(&mut gather, &waker), Poll::Pending);
    stale.wake();
    assert_eq!(Read::Items.poll(&mut gather, &waker), Poll::Pending);
    assert_eq!(
        counters.polls(),
        1,
        "the old source's wake never reaches the new one"
    );
    handle.send(5);
    assert_eq!(Read::Items.poll(&mut gather, &waker), Poll::Ready(Some(5)));
}

/// The panic's message, as `catch_unwind` hands it back.
fn message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn broken() -> BoxFuture<'static, Result<u32, u32>> {
    async { panic!("the read broke") }.boxed()
}

#[test]
fn gather_all_polled_after_a_future_panicked_says_so_instead_of_waiting_forever() {
    let mut all = gather_all([broken(), ready(Ok(1)).boxed(), pending().boxed()]);
    let (_, waker) = CountingWaker::new();
    let first = catch_unwind(AssertUnwindSafe(|| poll_future(&mut all, &waker)));
    assert_eq!(message(first.unwrap_err()), "the read broke");
    let again = catch_unwind(AssertUnwindSafe(|| poll_future(&mut all, &waker)));
    assert_eq!(
        message(again.expect_err("a panic, not a stall")),
        "`GatherAll` polled after one of its futures panicked"
    );
}

#[test]
fn try_gather_all_polled_after_a_future_panicked_says_so_instead_of_waiting_forever() {
    let mut all = try_gather_all([broken(), ready(Ok(1)).boxed(), pending().boxed()]);
    let (_, waker) = CountingWaker::new();
    assert!(catch_unwind(AssertUnwindSafe(|| poll_future(&mut all, &waker))).is_err());
    let again = catch_unwind(AssertUnwindSafe(|| poll_future(&mut all, &waker)));
    assert_eq!(
        message(again.expect_err("a panic, not a stall")),
        "`TryGatherAll` polled after one of its futures panicked"
    );
}

#[test]
fn close_all_polled_after_a_goodbye_panicked_closes_the_rest_and_releases_each_once() {
    let released = Arc::new(Mutex::new(Vec::new()));
    let sources = confluo::gather((0..3).map(|id| {
        let released = Arc::clone(&released);
        guard(futures::stream::pending::<u8>(), move |why| {
            released.lock().unwrap().push((id, why))
        })
        .goodbye(move || async move {
            if id == 0 {
                panic!("the goodbye broke");
            }
        })
    }));
    let mut closing = close_all(sources, pending::<()>());
    let (_, waker) = CountingWaker::new();
    let first = catch_unwind(AssertUnwindSafe(|| poll_future(&mut closing, &waker)));
    assert_eq!(message(first.unwrap_err()), "the goodbye broke");
    assert_eq!(*released.lock().unwrap(), [(0, Release::Panicked)]);

    let mut polls = 0;
    let closed = loop {
        assert!(polls < PATIENCE, "close_all stalled after the panic");
        polls += 1;
        if let Poll::Ready(closed) = poll_future(&mut closing, &waker) {
            break closed;
        }
    };
    assert_eq!((closed.gracefully, closed.cut_short), (2, 0));
    let mut released = released.lock().unwrap().clone();
    released.sort_by_key(|(id, _)| *id);
    assert_eq!(
        released,
        [
            (0, Release::Panicked),
            (1, Release::Closed),
            (2, Release::Closed)
        ]
    );
}
