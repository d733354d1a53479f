//! `gather_all` and `try_gather_all`: outputs in input order, O(woken) polls,
//! and fail-fast cancellation.

#![cfg(feature = "alloc")]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use common::{manual, poll_future, Counters, CountingWaker, Handle, Manual};
use confluo::{gather_all, try_gather_all};
use futures::StreamExt;

/// A future that completes with the first item its `Manual` source gets.
struct FirstItem<T>(Manual<T>);

impl<T> Future for FirstItem<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.0
            .poll_next_unpin(cx)
            .map(|item| item.expect("closed before an item"))
    }
}

fn first_items<T>(n: usize, counters: &Arc<Counters>) -> (Vec<FirstItem<T>>, Vec<Handle<T>>) {
    (0..n)
        .map(|_| {
            let (source, handle) = manual(counters);
            (FirstItem(source), handle)
        })
        .unzip()
}

#[test]
fn outputs_keep_input_order_whatever_the_completion_order() {
    let counters = Counters::new();
    let (futures, handles) = first_items::<usize>(5, &counters);
    let mut all = gather_all(futures);
    let (_, waker) = CountingWaker::new();
    assert_eq!(poll_future(&mut all, &waker), Poll::Pending);
    for i in [3, 0, 4, 1, 2] {
        handles[i].send(i * 10);
    }
    assert_eq!(
        poll_future(&mut all, &waker),
        Poll::Ready(vec![0, 10, 20, 30, 40])
    );
    assert_eq!(counters.drops(), 5);
}

#[test]
fn no_futures_complete_at_once() {
    let (_, waker) = CountingWaker::new();
    let mut none = gather_all(Vec::<std::future::Ready<u8>>::new());
    assert_eq!(poll_future(&mut none, &waker), Poll::Ready(vec![]));
    let mut none = try_gather_all(Vec::<std::future::Ready<Result<u8, ()>>>::new());
    assert_eq!(poll_future(&mut none, &waker), Poll::Ready(Ok(vec![])));
}

#[test]
fn only_woken_futures_are_polled() {
    let counters = Counters::new();
    let (futures, handles) = first_items::<usize>(10_000, &counters);
    let mut all = gather_all(futures);
    let (_, waker) = CountingWaker::new();
    assert_eq!(poll_future(&mut all, &waker), Poll::Pending);
    assert_eq!(counters.polls(), 10_000);
    for (i, handle) in handles.iter().enumerate().take(9_999) {
        handle.send(i);
        assert_eq!(poll_future(&mut all, &waker), Poll::Pending);
        assert_eq!(counters.polls(), 10_000 + i + 1, "one poll per wake");
        assert_eq!(
            counters.drops(),
            i + 1,
            "a finished future is dropped at once"
        );
    }
    handles[9_999].send(9_999);
    let Poll::Ready(outputs) = poll_future(&mut all, &waker) else {
        panic!("all futures are done");
    };
    assert_eq!(outputs, (0..10_000).collect::<Vec<_>>());
}

#[test]
fn collect_all_keeps_every_result() {
    let results = futures::executor::block_on(gather_all([
        futures::future::ready(Ok(1)),
        futures::future::ready(Err("offline")),
        futures::future::ready(Ok(3)),
    ]));
    assert_eq!(results, [Ok(1), Err("offline"), Ok(3)]);
}

#[test]
fn fail_fast_drops_every_other_future_at_the_first_error() {
    let counters = Counters::new();
    let (futures, handles) = first_items::<Result<u8, &str>>(4, &counters);
    let mut all = try_gather_all(futures);
    let (_, waker) = CountingWaker::new();
    assert_eq!(poll_future(&mut all, &waker), Poll::Pending);
    handles[1].send(Ok(1));
    assert_eq!(poll_future(&mut all, &waker), Poll::Pending);
    assert_eq!(counters.drops(), 1);
    handles[2].send(Err("sensor 2 offline"));
    assert_eq!(
        poll_future(&mut all, &waker),
        Poll::Ready(Err("sensor 2 offline"))
    );
    assert_eq!(
        counters.drops(),
        4,
        "dropped when the error is returned, not later"
    );
    drop(all);
    assert_eq!(counters.drops(), 4);
}

#[test]
fn fail_fast_returns_every_value_in_order_without_an_error() {
    let counters = Counters::new();
    let (futures, handles) = first_items::<Result<usize, ()>>(3, &counters);
    let mut all = try_gather_all(futures);
    let (_, waker) = CountingWaker::new();
    for i in [2, 1, 0] {
        assert_eq!(poll_future(&mut all, &waker), Poll::Pending);
        handles[i].send(Ok(i));
    }
    assert_eq!(
        poll_future(&mut all, &waker),
        Poll::Ready(Ok(vec![0, 1, 2]))
    );
}

#[test]
fn polling_after_completion_panics() {
    let (_, waker) = CountingWaker::new();
    let mut all = gather_all([futures::future::ready(1)]);
    assert_eq!(poll_future(&mut all, &waker), Poll::Ready(vec![1]));
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = poll_future(&mut all, &waker);
    }));
    assert!(again.is_err());
}

#[test]
fn a_panicking_future_propagates_and_the_rest_drop_once() {
    let counters = Counters::new();
    let (futures, handles) = first_items::<u8>(3, &counters);
    let futures: Vec<Pin<Box<dyn Future<Output = u8>>>> = futures
        .into_iter()
        .map(|f| Box::pin(f) as Pin<Box<dyn Future<Output = u8>>>)
        .chain(std::iter::once(
            Box::pin(async { panic!("read failed") as u8 }) as Pin<Box<dyn Future<Output = u8>>>,
        ))
        .collect();
    let mut all = gather_all(futures);
    let (_, waker) = CountingWaker::new();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = poll_future(&mut all, &waker);
    }));
    assert!(panic.is_err());
    assert_eq!(counters.drops(), 0);
    drop(all);
    assert_eq!(counters.drops(), 3);
    drop(handles);
    assert_eq!(counters.polls.load(Ordering::SeqCst), 3);
}
