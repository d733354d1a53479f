//! Test sources and wakers that count what happens to them, a small
//! deterministic generator, and deadlines that turn a lost wake into a
//! failure.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures_core::Stream;

/// A waker that counts its wakes.
#[derive(Default)]
pub struct CountingWaker {
    wakes: AtomicUsize,
}

impl CountingWaker {
    pub fn new() -> (Arc<Self>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(Arc::clone(&counter));
        (counter, waker)
    }

    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// Counts polls and drops across any number of sources.
#[derive(Default, Debug)]
pub struct Counters {
    pub polls: AtomicUsize,
    pub drops: AtomicUsize,
}

impl Counters {
    pub fn new() -> Arc<Self> {
        Arc::new(Counters::default())
    }
    pub fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }
    pub fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
}

#[derive(Default)]
struct Feed<T> {
    items: VecDeque<T>,
    closed: bool,
    waker: Option<Waker>,
}

/// The test's end of a [`Manual`] source: feeds it items, closes it, and
/// holds on to the waker it registered.
pub struct Handle<T> {
    feed: Arc<Mutex<Feed<T>>>,
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        Handle {
            feed: Arc::clone(&self.feed),
        }
    }
}

impl<T> Handle<T> {
    /// Queues an item and wakes the source.
    pub fn send(&self, item: T) {
        let waker = {
            let mut feed = self.feed.lock().unwrap();
            feed.items.push_back(item);
            feed.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Ends the source after the queued items, and wakes it.
    pub fn close(&self) {
        let waker = {
            let mut feed = self.feed.lock().unwrap();
            feed.closed = true;
            feed.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The last waker the source registered (a clone), if any.
    pub fn waker(&self) -> Option<Waker> {
        self.feed.lock().unwrap().waker.clone()
    }
}

/// A source driven by hand: pending until the test sends an item or closes
/// it; counts its polls and its drop.
pub struct Manual<T> {
    feed: Arc<Mutex<Feed<T>>>,
    counters: Arc<Counters>,
}

pub fn manual<T>(counters: &Arc<Counters>) -> (Manual<T>, Handle<T>) {
    let feed = Arc::new(Mutex::new(Feed {
        items: VecDeque::new(),
        closed: false,
        waker: None,
    }));
    (
        Manual {
            feed: Arc::clone(&feed),
            counters: Arc::clone(counters),
        },
        Handle { feed },
    )
}

impl<T> Stream for Manual<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.counters.polls.fetch_add(1, Ordering::SeqCst);
        let mut feed = self.feed.lock().unwrap();
        if let Some(item) = feed.items.pop_front() {
            return Poll::Ready(Some(item));
        }
        if feed.closed {
            return Poll::Ready(None);
        }
        feed.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> Drop for Manual<T> {
    fn drop(&mut self) {
        self.counters.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A source that is always ready with its key, counting polls and drops.
pub struct Repeat {
    pub key: usize,
    pub counters: Arc<Counters>,
}

impl Stream for Repeat {
    type Item = usize;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<usize>> {
        self.counters.polls.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Some(self.key))
    }
}

impl Drop for Repeat {
    fn drop(&mut self) {
        self.counters.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// An always-ready source with `key`, counted by `counters`.
pub fn repeat(key: usize, counters: &Arc<Counters>) -> Repeat {
    Repeat {
        key,
        counters: Arc::clone(counters),
    }
}

/// Polls a stream once with a waker that does nothing.
pub fn poll_noop<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    poll_once(stream, futures::task::noop_waker_ref())
}

/// Polls a stream once with the given waker.
pub fn poll_once<S: Stream + Unpin>(stream: &mut S, waker: &Waker) -> Poll<Option<S::Item>> {
    Pin::new(stream).poll_next(&mut Context::from_waker(waker))
}

/// Polls a future once with the given waker.
pub fn poll_future<F: std::future::Future + Unpin>(
    future: &mut F,
    waker: &Waker,
) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// Runs `future` on smol, failing if it takes longer than `seconds`: a lost
/// wake fails the test instead of hanging it.
pub fn within<T>(seconds: u64, future: impl std::future::Future<Output = T>) -> T {
    smol::block_on(smol::future::or(future, async move {
        smol::Timer::after(std::time::Duration::from_secs(seconds)).await;
        panic!("no progress for {seconds} s: a lost wake");
    }))
}

/// Runs `work` on a thread of its own and waits at most `seconds` for it:
/// a lost wake in threaded code fails the test instead of hanging it.
pub fn within_on_a_thread<R: Send + 'static>(
    seconds: u64,
    work: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(work()));
    result
        .recv_timeout(std::time::Duration::from_secs(seconds))
        .unwrap_or_else(|_| panic!("still running after {seconds} s: a lost wake"))
}

/// A small deterministic generator (xorshift64), so failing schedules can
/// be replayed from their seed.
pub struct XorShift(pub u64);

impl XorShift {
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A stream of `range` that, one poll in `one_in`, returns `Pending` after
/// waking itself, the way a source waits for I/O.
pub fn jittery(range: std::ops::Range<u64>, seed: u64, one_in: u64) -> impl Stream<Item = u64> {
    let mut rng = XorShift(seed | 1);
    let mut next = range.start;
    futures::stream::poll_fn(move |cx| {
        if next == range.end {
            return Poll::Ready(None);
        }
        if rng.below(one_in) == 0 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        next += 1;
        Poll::Ready(Some(next - 1))
    })
}
