//! A source could be polled twice in one call of `Gather::poll_next`.
//!
//! A source that used up its turn waits at the back of the line with an
//! entry of its own. Woken while it waited, it got a second entry for the
//! wake. When its own entry came up and the poll returned `Pending`, the
//! wake's entry, further on in the same call, polled it again: one call
//! polled one source twice, which `Gather` promises never to do. The poll
//! that returned `Pending` had answered the wake already; now the wake's
//! entry skips the source.
#![cfg(feature = "std")]

mod common;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use common::{poll_once, CountingWaker};
use confluo::Gather;
use futures_core::Stream;

/// Yields `items` items, then waits; keeps the waker of every poll and
/// counts the polls.
struct Busy {
    items: u32,
    polls: Arc<AtomicUsize>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Stream for Busy {
    type Item = u32;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.items == 0 {
            return Poll::Pending;
        }
        self.items -= 1;
        Poll::Ready(Some(self.items))
    }
}

#[test]
fn a_source_woken_while_it_waits_for_its_next_turn_is_polled_once_in_a_call() {
    let polls = Arc::new(AtomicUsize::new(0));
    let waker = Arc::new(Mutex::new(None));
    let mut gather = Gather::new();
    let turn = gather.turn().get();
    gather.push(Busy {
        items: turn,
        polls: Arc::clone(&polls),
        waker: Arc::clone(&waker),
    });
    let (_, task) = CountingWaker::new();
    for _ in 0..turn {
        assert!(matches!(
            poll_once(&mut gather, &task),
            Poll::Ready(Some(_))
        ));
    }
    // Its turn is used up: it waits for the next one. Now it is woken.
    waker.lock().unwrap().take().expect("kept").wake();
    let before = polls.load(Ordering::SeqCst);
    assert_eq!(poll_once(&mut gather, &task), Poll::Pending);
    assert_eq!(
        polls.load(Ordering::SeqCst) - before,
        1,
        "one poll in one call"
    );
}
