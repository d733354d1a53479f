//! Drop guards: release exactly once on every path, counted, never timed.
#![cfg(feature = "std")]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use common::{manual, poll_future, poll_once, Counters, CountingWaker, Handle, Manual};
use confluo::guard::{close_all, guard, Close, Closed, Release};
use confluo::{gather, try_gather_all, Gather};
use futures::stream::{self, StreamExt};

/// Every release, in order: (source, why).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(usize, Release)>>>);

impl Log {
    fn release(&self, id: usize) -> impl FnOnce(Release) {
        let log = self.clone();
        move |why| log.0.lock().unwrap().push((id, why))
    }
    fn all(&self) -> Vec<(usize, Release)> {
        let mut all = self.0.lock().unwrap().clone();
        all.sort_by_key(|(id, _)| *id);
        all
    }
}

#[test]
fn exhaustion_releases_once_as_ended_and_drops_the_stream_then() {
    let log = Log::default();
    let counters = Counters::new();
    let (source, feed) = manual::<u8>(&counters);
    let mut guarded = guard(source, log.release(0));
    let (_, waker) = CountingWaker::new();
    feed.send(1);
    feed.close();
    assert_eq!(poll_once(&mut guarded, &waker), Poll::Ready(Some(1)));
    assert!(log.all().is_empty());
    assert_eq!(poll_once(&mut guarded, &waker), Poll::Ready(None));
    assert_eq!(log.all(), [(0, Release::Ended)]);
    assert_eq!(counters.drops(), 1, "the stream is dropped when it ends");
    assert_eq!(poll_once(&mut guarded, &waker), Poll::Ready(None));
    drop(guarded);
    assert_eq!(log.all(), [(0, Release::Ended)], "exactly once");
}

#[test]
fn dropping_after_k_items_releases_once_for_every_k() {
    for k in 0..=5 {
        let log = Log::default();
        let mut guarded = guard(stream::iter(0..5), log.release(k));
        let taken: Vec<i32> = futures::executor::block_on((&mut guarded).take(k).collect());
        assert_eq!(taken.len(), k);
        drop(guarded);
        assert_eq!(log.all(), [(k, Release::Dropped)], "after {k} items");
    }
}

#[test]
fn dropping_while_a_read_is_in_flight_releases_once_and_drops_the_read() {
    let log = Log::default();
    let counters = Counters::new();
    let (read, _feed) = manual::<u32>(&counters);
    let mut read = Some(read);
    let source = confluo::source::from_read(move || {
        let mut pending: Manual<u32> = read.take().expect("one read");
        async move { pending.next().await }
    });
    let mut guarded = Box::pin(guard(source, log.release(0)));
    let (_, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut guarded, &waker), Poll::Pending);
    drop(guarded);
    assert_eq!(counters.drops(), 1);
    assert_eq!(log.all(), [(0, Release::Dropped)]);
}

#[test]
fn closing_says_goodbye_then_releases_once_and_twice_is_harmless() {
    let log = Log::default();
    let said = Arc::new(Mutex::new(0));
    let counters = Counters::new();
    let (goodbye_wait, goodbye_feed): (Manual<()>, Handle<()>) = manual(&counters);
    let mut goodbye_wait = Some(goodbye_wait);
    let source = guard(stream::pending::<u8>(), log.release(0)).goodbye({
        let said = Arc::clone(&said);
        move || async move {
            goodbye_wait.take().unwrap().next().await;
            *said.lock().unwrap() += 1;
        }
    });
    let mut source = pin!(source);
    let (_, waker) = CountingWaker::new();
    {
        let mut closing = source.as_mut().close();
        assert_eq!(
            poll_future(&mut closing, &waker),
            Poll::Pending,
            "the goodbye waits"
        );
    } // the close dropped half-way: the goodbye waits inside the guard
    assert!(log.all().is_empty());
    assert!(source.is_terminated_for_test());
    goodbye_feed.send(());
    let mut closing = source.as_mut().close();
    assert_eq!(poll_future(&mut closing, &waker), Poll::Ready(()));
    assert_eq!(*said.lock().unwrap(), 1);
    assert_eq!(log.all(), [(0, Release::Closed)]);
    let mut again = source.as_mut().close();
    assert_eq!(poll_future(&mut again, &waker), Poll::Ready(()));
    assert_eq!(*said.lock().unwrap(), 1);
    assert_eq!(log.all(), [(0, Release::Closed)]);
}

trait Terminated {
    fn is_terminated_for_test(&self) -> bool;
}

impl<T: futures_core::stream::FusedStream> Terminated for std::pin::Pin<&mut T> {
    fn is_terminated_for_test(&self) -> bool {
        self.as_ref().get_ref().is_terminated()
    }
}

#[test]
fn dropping_a_close_half_way_then_the_guard_releases_once_as_dropped() {
    let log = Log::default();
    let mut source = Box::pin(
        guard(stream::pending::<u8>(), log.release(0)).goodbye(futures::future::pending::<()>),
    );
    let (_, waker) = CountingWaker::new();
    assert!(source
        .as_mut()
        .poll_close(&mut std::task::Context::from_waker(&waker))
        .is_pending());
    drop(source);
    assert_eq!(log.all(), [(0, Release::Dropped)]);
}

#[test]
fn removal_from_a_gather_and_dropping_the_gather_release_each_once() {
    let log = Log::default();
    let mut sources = Gather::new();
    let ids: Vec<_> = (0..4)
        .map(|id| sources.push(guard(stream::pending::<u8>(), log.release(id))))
        .collect();
    let (_, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut sources, &waker), Poll::Pending);
    drop(sources.remove(ids[1]));
    assert_eq!(log.all(), [(1, Release::Dropped)]);
    drop(sources);
    assert_eq!(
        log.all(),
        [0, 1, 2, 3].map(|id| (id, Release::Dropped)),
        "each once"
    );
}

#[test]
fn fail_fast_cancellation_releases_every_sibling_at_once() {
    let log = Log::default();
    let counters = Counters::new();
    let mut feeds = Vec::new();
    let futures: Vec<_> = (0..4)
        .map(|id| {
            let (source, feed) = manual::<Result<u8, &str>>(&counters);
            feeds.push(feed);
            let mut guarded = guard(source, log.release(id));
            async move { guarded.next().await.unwrap() }
        })
        .collect();
    let mut all = try_gather_all(futures);
    let (_, waker) = CountingWaker::new();
    assert_eq!(poll_future(&mut all, &waker), Poll::Pending);
    feeds[2].send(Err("sensor 2 offline"));
    assert_eq!(
        poll_future(&mut all, &waker),
        Poll::Ready(Err("sensor 2 offline"))
    );
    assert_eq!(
        log.all(),
        [0, 1, 2, 3].map(|id| (id, Release::Dropped)),
        "released when the error came, before the gathered future is dropped"
    );
}

/// A source that panics on its first poll.
struct Boom;

impl futures_core::Stream for Boom {
    type Item = u8;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<u8>> {
        panic!("sensor firmware crashed")
    }
}

#[test]
fn a_panic_in_a_sibling_releases_every_source_as_panicked() {
    let log = Log::default();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut sources = Gather::new();
        for id in 0..3 {
            sources.push(guard(stream::pending::<u8>().boxed(), log.release(id)));
        }
        sources.push(guard(Boom.boxed(), log.release(3)));
        futures::executor::block_on(sources.next())
    }));
    assert!(outcome.is_err());
    assert_eq!(log.all(), [0, 1, 2, 3].map(|id| (id, Release::Panicked)));
}

#[test]
fn a_panicking_release_propagates_once_and_never_runs_twice() {
    let runs = Arc::new(Mutex::new(0));
    let guarded = guard(stream::iter([1]), {
        let runs = Arc::clone(&runs);
        move |_| {
            *runs.lock().unwrap() += 1;
            panic!("release failed");
        }
    });
    let outcome = catch_unwind(AssertUnwindSafe(move || drop(guarded)));
    assert!(
        outcome.is_err(),
        "a release that panics outside unwinding propagates"
    );
    assert_eq!(*runs.lock().unwrap(), 1);
}

#[test]
fn a_release_that_panics_while_unwinding_does_not_abort() {
    let runs = Arc::new(Mutex::new(Vec::new()));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let _guarded = guard(stream::iter([1]), {
            let runs = Arc::clone(&runs);
            move |why| {
                runs.lock().unwrap().push(why);
                panic!("release failed too");
            }
        });
        panic!("the task failed");
    }));
    let payload = outcome.expect_err("the first panic goes on");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the task failed"));
    assert_eq!(*runs.lock().unwrap(), [Release::Panicked]);
}

#[test]
fn close_all_closes_concurrently_and_cuts_the_slow_ones_short() {
    let log = Log::default();
    let counters = Counters::new();
    let mut feeds = Vec::new();
    let sources = gather((0..5).map(|id| {
        let (wait, feed) = manual::<()>(&counters);
        feeds.push(feed);
        let mut wait = Some(wait);
        guard(stream::pending::<u8>(), log.release(id)).goodbye(move || async move {
            wait.take().unwrap().next().await;
        })
    }));
    let (deadline, fire) = manual::<()>(&counters);
    let mut deadline = Some(deadline);
    let deadline = async move {
        deadline.take().unwrap().next().await;
    };
    let mut closing = Box::pin(close_all(sources, deadline));
    let (_, waker) = CountingWaker::new();
    assert!(poll_future(&mut closing, &waker).is_pending());
    for feed in &feeds[..3] {
        feed.send(());
    }
    assert!(poll_future(&mut closing, &waker).is_pending());
    assert_eq!(log.all(), [0, 1, 2].map(|id| (id, Release::Closed)));
    fire.send(());
    assert_eq!(
        poll_future(&mut closing, &waker),
        Poll::Ready(Closed {
            gracefully: 3,
            cut_short: 2
        })
    );
    let mut expected: Vec<_> = [0, 1, 2].map(|id| (id, Release::Closed)).to_vec();
    expected.extend([3, 4].map(|id| (id, Release::Dropped)));
    assert_eq!(log.all(), expected);
}

/// Panics when dropped.
struct PanicsOnDrop;

impl futures_core::Stream for PanicsOnDrop {
    type Item = u8;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<u8>> {
        Poll::Pending
    }
}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("the connection's destructor failed");
    }
}

#[test]
fn a_stream_that_panics_when_dropped_is_still_released_once() {
    let log = Log::default();
    let guarded = guard(PanicsOnDrop, log.release(0));
    let outcome = catch_unwind(AssertUnwindSafe(move || drop(guarded)));
    let payload = outcome.expect_err("the destructor's panic goes on");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"the connection's destructor failed")
    );
    assert_eq!(log.all(), [(0, Release::Dropped)]);
}
