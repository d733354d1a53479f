//! With the `tokio` feature, a `Gather` stops its round once the task's
//! tokio budget is spent, and yields: the sources left in line are polled
//! on the next call, once each, instead of returning `Pending` (their wake
//! deferred by tokio) and being polled again. Counted in polls of the
//! sources, on tokio's current-thread runtime, where a task's budget is
//! 128 operations a poll; and inside `unconstrained`, where there is none.

#![cfg(feature = "tokio")]

mod common;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use confluo::Gather;
use futures::stream::{Stream, StreamExt};
use tokio_stream::wrappers::ReceiverStream;

const SOURCES: usize = 1_000;

/// A tokio channel's receiver (each receive spends a unit of the task's
/// budget), counting its polls.
struct Counted {
    inner: ReceiverStream<usize>,
    polls: Arc<AtomicUsize>,
}

impl Stream for Counted {
    type Item = usize;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// `SOURCES` channels with one item each, their senders kept open; returns
/// the gather's items, the polls of its sources, and the calls it took.
async fn drain_one_item_each(unconstrained: bool) -> (Vec<usize>, usize, usize) {
    let polls = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    let mut gather = Gather::new();
    for source in 0..SOURCES {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        sender.try_send(source).unwrap();
        senders.push(sender);
        gather.push(Counted {
            inner: ReceiverStream::new(receiver),
            polls: Arc::clone(&polls),
        });
    }
    let calls = AtomicUsize::new(0);
    let mut counted = futures::stream::poll_fn(|cx| {
        calls.fetch_add(1, Ordering::Relaxed);
        gather.poll_next_unpin(cx)
    })
    .take(SOURCES);
    let drain = async {
        let mut items = Vec::new();
        while let Some(item) = counted.next().await {
            items.push(item);
        }
        items
    };
    let mut items = if unconstrained {
        tokio::task::unconstrained(drain).await
    } else {
        drain.await
    };
    items.sort_unstable();
    (
        items,
        polls.load(Ordering::Relaxed),
        calls.load(Ordering::Relaxed),
    )
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn a_spent_budget_ends_the_round_and_no_source_is_polled_for_nothing() {
    let (items, polls, calls) = current_thread().block_on(drain_one_item_each(false));
    assert_eq!(items, (0..SOURCES).collect::<Vec<_>>());
    // Each source: its item, then `Pending` as its channel is empty; a
    // round cut short by the budget costs at most one more poll (the one
    // that found the budget gone). Without the check, every source after
    // the first 128 of a round would be polled once more.
    let rounds = SOURCES.div_ceil(128);
    assert!(
        polls <= 2 * SOURCES + rounds,
        "{polls} polls of {SOURCES} sources"
    );
    assert!(
        calls > rounds,
        "{calls} calls: the gather yielded as budgets ran out"
    );
}

#[test]
fn unconstrained_has_no_budget_to_spend() {
    let (items, polls, _) = current_thread().block_on(drain_one_item_each(true));
    assert_eq!(items, (0..SOURCES).collect::<Vec<_>>());
    assert!(polls <= 2 * SOURCES, "{polls} polls of {SOURCES} sources");
}
