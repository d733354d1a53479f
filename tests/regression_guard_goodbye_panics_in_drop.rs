//! A guard dropped in the middle of a close, whose goodbye future panics in
//! its own `Drop`, was never released.
//!
//! The guard's drop dropped the goodbye in progress first and ran the release
//! after it; the goodbye's panic left the drop before the release, and the
//! release action was then thrown away with the guard's other fields, never
//! called. Had the guard been dropped while its thread was already
//! unwinding, the same panic was a second one, and aborted the process.
//!
//! Now every piece of the source's teardown (the goodbye in progress, the
//! goodbye not said, the stream) is dropped on every path, whatever panics
//! before it, and the release runs after them, exactly once.
#![cfg(feature = "std")]

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use confluo::guard::{close_all, guard, Close, Goodbye, Guarded, Release};
use futures_core::Stream;

/// What happened to one guarded source, counted.
#[derive(Default)]
struct Counts {
    releases: AtomicUsize,
    /// Why each release ran.
    reasons: Mutex<Vec<Release>>,
    stream_drops: AtomicUsize,
    /// How many streams had been dropped when each release ran.
    streams_dropped_at_release: Mutex<Vec<usize>>,
}

impl Counts {
    fn release(self: &Arc<Self>) -> impl FnOnce(Release) {
        let counts = Arc::clone(self);
        move |why| {
            counts.releases.fetch_add(1, Ordering::SeqCst);
            counts.reasons.lock().unwrap().push(why);
            let dropped = counts.stream_drops.load(Ordering::SeqCst);
            counts
                .streams_dropped_at_release
                .lock()
                .unwrap()
                .push(dropped);
        }
    }
    fn releases(&self) -> usize {
        self.releases.load(Ordering::SeqCst)
    }
    fn reasons(&self) -> Vec<Release> {
        self.reasons.lock().unwrap().clone()
    }
}

/// A source that never yields, and counts its drop.
struct Idle(Arc<Counts>);

impl Stream for Idle {
    type Item = u8;
    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<u8>> {
        Poll::Pending
    }
}

impl Drop for Idle {
    fn drop(&mut self) {
        self.0.stream_drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A goodbye that never finishes, and panics when dropped half-way.
struct Farewell;

impl Future for Farewell {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for Farewell {
    fn drop(&mut self) {
        panic!("the goodbye's destructor failed");
    }
}

fn source(counts: &Arc<Counts>) -> Guarded<Idle, impl FnOnce(Release), impl Goodbye> {
    guard(Idle(Arc::clone(counts)), counts.release()).goodbye(|| Farewell)
}

fn message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload.downcast_ref::<&str>().copied().unwrap_or("?")
}

#[test]
fn dropped_mid_close_with_a_goodbye_that_panics_when_dropped_releases_once() {
    let counts = Arc::new(Counts::default());
    let mut source = Box::pin(source(&counts));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(source.as_mut().poll_close(&mut cx).is_pending());
    assert_eq!(counts.releases(), 0, "the goodbye is still being said");

    let outcome = catch_unwind(AssertUnwindSafe(move || drop(source)));

    let payload = outcome.expect_err("the goodbye's panic goes on");
    assert_eq!(message(&*payload), "the goodbye's destructor failed");
    assert_eq!(counts.releases(), 1, "released exactly once");
    assert_eq!(counts.reasons(), [Release::Dropped]);
    assert_eq!(
        *counts.streams_dropped_at_release.lock().unwrap(),
        [1],
        "the stream is dropped before the release runs"
    );
}

#[test]
fn dropped_mid_close_while_unwinding_releases_once_as_panicked() {
    let counts = Arc::new(Counts::default());
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut source = Box::pin(source(&counts));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(source.as_mut().poll_close(&mut cx).is_pending());
        panic!("the task failed");
    }));
    let payload = outcome.expect_err("the task's panic goes on, without an abort");
    assert_eq!(message(&*payload), "the task failed");
    assert_eq!(counts.releases(), 1);
    assert_eq!(counts.reasons(), [Release::Panicked]);
    assert_eq!(counts.stream_drops.load(Ordering::SeqCst), 1);
}

#[test]
fn close_all_cutting_short_goodbyes_that_panic_when_dropped_releases_each_once() {
    let counts: Vec<_> = (0..3).map(|_| Arc::new(Counts::default())).collect();
    let sources = confluo::gather(counts.iter().map(source));
    // The deadline has passed already: every goodbye is cut short.
    let closing = close_all(sources, std::future::ready(()));
    let outcome = catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(closing)));
    let payload = outcome.expect_err("the first goodbye's panic goes on");
    assert_eq!(message(&*payload), "the goodbye's destructor failed");
    for counts in &counts {
        assert_eq!(counts.releases(), 1);
        assert_eq!(counts.stream_drops.load(Ordering::SeqCst), 1);
    }
}

/// A goodbye not yet said, whose captured state panics when dropped.
struct Unsaid;

impl Drop for Unsaid {
    fn drop(&mut self) {
        panic!("the goodbye's state failed");
    }
}

#[test]
fn a_goodbye_that_panics_when_dropped_unsaid_is_dropped_before_the_release() {
    let counts = Arc::new(Counts::default());
    let unsaid = Unsaid;
    let source = guard(Idle(Arc::clone(&counts)), counts.release()).goodbye(move || {
        let _said = &unsaid;
        std::future::ready(())
    });
    let outcome = catch_unwind(AssertUnwindSafe(move || drop(source)));
    let payload = outcome.expect_err("the goodbye's panic goes on");
    assert_eq!(message(&*payload), "the goodbye's state failed");
    assert_eq!(counts.releases(), 1);
    assert_eq!(counts.reasons(), [Release::Dropped]);
    assert_eq!(*counts.streams_dropped_at_release.lock().unwrap(), [1]);
}

/// A stream that panics when dropped.
struct Brittle;

impl Stream for Brittle {
    type Item = u8;
    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<u8>> {
        Poll::Pending
    }
}

impl Drop for Brittle {
    fn drop(&mut self) {
        panic!("the connection's destructor failed");
    }
}

#[test]
fn every_piece_of_the_teardown_panicking_still_releases_once() {
    // The goodbye in progress panics first; the stream's panic then comes
    // while unwinding, and must neither abort nor skip the release.
    let counts = Arc::new(Counts::default());
    let mut source = Box::pin(guard(Brittle, counts.release()).goodbye(|| Farewell));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(source.as_mut().poll_close(&mut cx).is_pending());
    let outcome = catch_unwind(AssertUnwindSafe(move || drop(source)));
    let payload = outcome.expect_err("the first panic goes on");
    assert_eq!(message(&*payload), "the goodbye's destructor failed");
    assert_eq!(counts.releases(), 1);
    assert_eq!(counts.reasons(), [Release::Dropped]);
}

#[test]
fn a_stream_that_panics_when_dropped_at_its_close_is_released_as_closed() {
    let counts = Arc::new(Counts::default());
    let mut source = Box::pin(guard(Brittle, counts.release()));
    let mut cx = Context::from_waker(Waker::noop());
    let outcome = catch_unwind(AssertUnwindSafe(|| source.as_mut().poll_close(&mut cx)));
    let payload = outcome.expect_err("the stream's panic goes on");
    assert_eq!(message(&*payload), "the connection's destructor failed");
    assert_eq!(counts.reasons(), [Release::Closed]);
    assert!(source.is_released());
    drop(source);
    assert_eq!(counts.releases(), 1, "and never again");
}

#[test]
fn replacing_a_goodbye_that_panics_when_dropped_releases_once() {
    let counts = Arc::new(Counts::default());
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let unsaid = Unsaid;
        guard(Idle(Arc::clone(&counts)), counts.release())
            .goodbye(move || {
                let _said = &unsaid;
                std::future::ready(())
            })
            .goodbye(|| std::future::ready(()))
    }));
    let payload = outcome.expect_err("the replaced goodbye's panic goes on");
    assert_eq!(message(&*payload), "the goodbye's state failed");
    assert_eq!(counts.releases(), 1);
    assert_eq!(counts.reasons(), [Release::Panicked]);
    assert_eq!(counts.stream_drops.load(Ordering::SeqCst), 1);
}
