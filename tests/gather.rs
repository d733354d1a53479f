//! `Gather` over streams: every promise of its docs, pinned with
//! exact `Poll` sequences, counting wakers and poll counters.

#![cfg(feature = "alloc")]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use common::{manual, poll_once, Counters, CountingWaker, Repeat};
use confluo::{gather, Event, Gather};
use futures::stream::{self, StreamExt};
use futures_core::stream::{FusedStream, Stream};

#[test]
fn empty_gather_ends_at_once_and_again() {
    let mut empty: Gather<stream::Pending<u8>> = Gather::new();
    let (counter, waker) = CountingWaker::new();
    assert!(empty.is_terminated());
    assert_eq!(empty.size_hint(), (0, Some(0)));
    assert_eq!(poll_once(&mut empty, &waker), Poll::Ready(None));
    assert_eq!(poll_once(&mut empty, &waker), Poll::Ready(None));
    assert_eq!(counter.wakes(), 0);
}

#[test]
fn yields_every_item_keeping_per_source_order() {
    let sources = (0..5).map(|s| stream::iter((0..100).map(move |i| (s, i))));
    let items: Vec<(i32, i32)> = futures::executor::block_on(gather(sources).collect());
    assert_eq!(items.len(), 500);
    for s in 0..5 {
        let mine: Vec<i32> = items
            .iter()
            .filter(|(k, _)| *k == s)
            .map(|(_, i)| *i)
            .collect();
        assert_eq!(mine, (0..100).collect::<Vec<_>>());
    }
}

#[test]
fn ends_exactly_when_the_last_source_ends() {
    let counters = Counters::new();
    let (a, feed_a) = manual::<u8>(&counters);
    let (b, feed_b) = manual::<u8>(&counters);
    let mut gather = gather([a, b]);
    let (_, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    feed_a.close();
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(gather.len(), 1);
    assert!(!gather.is_terminated());
    feed_b.send(9);
    feed_b.close();
    assert_eq!(poll_once(&mut gather, &waker), Poll::Ready(Some(9)));
    assert_eq!(poll_once(&mut gather, &waker), Poll::Ready(None));
    assert!(gather.is_terminated());
    assert_eq!(poll_once(&mut gather, &waker), Poll::Ready(None));
    assert_eq!(counters.drops(), 2, "ended sources are dropped at once");
}

#[test]
fn events_carry_ids_and_ends() {
    let mut gather = Gather::new();
    let a = gather.push(stream::iter(vec!['a']));
    let b = gather.push(stream::iter(vec!['b']));
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    // A source keeps its turn while it has items, so its end comes next.
    assert_eq!(
        gather.poll_event(&mut cx),
        Poll::Ready(Some(Event::Item(a, 'a')))
    );
    assert_eq!(
        gather.poll_event(&mut cx),
        Poll::Ready(Some(Event::Ended(a)))
    );
    assert_eq!(
        gather.poll_event(&mut cx),
        Poll::Ready(Some(Event::Item(b, 'b')))
    );
    assert_eq!(
        gather.poll_event(&mut cx),
        Poll::Ready(Some(Event::Ended(b)))
    );
    assert_eq!(gather.poll_event(&mut cx), Poll::Ready(None));
}

#[test]
fn only_woken_sources_are_polled_among_100_000_idle_ones() {
    let idle = Counters::new();
    let busy = Counters::new();
    let mut gather = Gather::new();
    let mut handles = Vec::new();
    for _ in 0..100_000 {
        let (source, handle) = manual::<u32>(&idle);
        gather.push(source);
        handles.push(handle);
    }
    let (source, feed) = manual::<u32>(&busy);
    gather.push(source);
    let (_, waker) = CountingWaker::new();

    // The first poll meets every source once.
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(idle.polls(), 100_000);
    assert_eq!(busy.polls(), 1);

    for i in 0..1_000 {
        feed.send(i);
        assert_eq!(poll_once(&mut gather, &waker), Poll::Ready(Some(i)));
        assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    }
    // Per item: one poll that yields it, one that finds the source empty.
    assert_eq!(busy.polls(), 1 + 2 * 1_000);
    assert_eq!(idle.polls(), 100_000, "no idle source was polled again");
}

const TURN: usize = Gather::<stream::Empty<()>>::TURN as usize;

fn next_keys<S: Stream<Item = usize> + Unpin>(gather: &mut S, n: usize) -> Vec<usize> {
    let (_, waker) = CountingWaker::new();
    (0..n)
        .map(|_| match poll_once(gather, &waker) {
            Poll::Ready(Some(key)) => key,
            other => panic!("ready sources gave {other:?}"),
        })
        .collect()
}

#[test]
fn ready_sources_take_equal_turns() {
    let counters = Counters::new();
    let mut gather = gather((0..10).map(|key| Repeat {
        key,
        counters: counters.clone(),
    }));
    let rounds = 7;
    let keys = next_keys(&mut gather, 10 * TURN * rounds);
    let mut shares = [0usize; 10];
    for &key in &keys {
        shares[key] += 1;
    }
    assert_eq!(shares, [TURN * rounds; 10]);
    // Round-robin: each turn is `TURN` items of one source, and each round
    // gives every source one turn, in the same order.
    let turns: Vec<usize> = keys.chunks(TURN).map(|turn| turn[0]).collect();
    for (turn, chunk) in keys.chunks(TURN).enumerate() {
        assert!(
            chunk.iter().all(|&key| key == turns[turn]),
            "turn {turn}: {chunk:?}"
        );
    }
    for round in turns.chunks(10) {
        assert_eq!(round, &turns[..10]);
    }
    let mut first_round = turns[..10].to_vec();
    first_round.sort_unstable();
    assert_eq!(first_round, (0..10).collect::<Vec<_>>());
}

#[test]
fn a_woken_source_waits_at_most_one_turn_of_each_ready_one() {
    let counters = Counters::new();
    let mut gather = Gather::new();
    let (slow, feed) = manual::<usize>(&counters);
    gather.push(slow.boxed());
    for key in 0..2 {
        gather.push(
            Repeat {
                key,
                counters: counters.clone(),
            }
            .boxed(),
        );
    }
    let _ = next_keys(&mut gather, 5);
    feed.send(99);
    let next = next_keys(&mut gather, 2 * TURN + 1);
    assert!(next.contains(&99), "{next:?}");
}

/// Wakes itself and stays pending, like a badly written busy source.
struct SelfWaking {
    counters: std::sync::Arc<Counters>,
}

impl Stream for SelfWaking {
    type Item = ();
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.counters
            .polls
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_self_waking_source_is_polled_once_per_call_and_yields_to_the_executor() {
    let counters = Counters::new();
    let mut gather = gather([SelfWaking {
        counters: counters.clone(),
    }]);
    let (task, waker) = CountingWaker::new();
    for call in 1..=5 {
        assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
        assert_eq!(counters.polls(), call, "one poll per call");
        assert!(task.wakes() >= call, "the task is woken to come back");
    }
}

/// Yields `burst` items, then yields to the executor once (waking itself and
/// returning `Pending`), and again: the way `source::from_iter` runs.
struct Bursts {
    burst: usize,
    left: usize,
    counters: std::sync::Arc<Counters>,
}

impl Stream for Bursts {
    type Item = ();
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.counters
            .polls
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.left == 0 {
            self.left = self.burst;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.left -= 1;
        Poll::Ready(Some(()))
    }
}

#[test]
fn a_source_that_yields_in_the_middle_of_its_turn_is_polled_once_in_that_call() {
    let counters = Counters::new();
    let mut gather = gather([Bursts {
        burst: 3,
        left: 3,
        counters: counters.clone(),
    }]);
    let (task, waker) = CountingWaker::new();
    let mut outcomes = Vec::new();
    for call in 1..=8 {
        let wakes = task.wakes();
        let ready = poll_once(&mut gather, &waker).is_ready();
        assert_eq!(counters.polls(), call, "one poll per call");
        assert!(ready || task.wakes() > wakes, "a yield wakes the task");
        outcomes.push(ready);
    }
    assert_eq!(
        outcomes,
        [true, true, true, false, true, true, true, false],
        "three items, then the source and Gather yield"
    );
}

#[test]
fn two_sources_that_yield_make_gather_yield_without_polling_the_rest() {
    // Tokio's resources yield this way once a task's budget is spent: polling
    // every other source then only wastes work.
    let yielding = Counters::new();
    let waiting = Counters::new();
    let mut gather = Gather::new();
    for _ in 0..2 {
        gather.push(
            SelfWaking {
                counters: yielding.clone(),
            }
            .boxed(),
        );
    }
    let mut handles = Vec::new();
    for _ in 0..1_000 {
        let (source, handle) = manual::<()>(&waiting);
        gather.push(source.boxed());
        handles.push(handle);
    }
    let (task, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(yielding.polls(), 2);
    assert_eq!(waiting.polls(), 0, "the rest wait for the next call");
    assert!(task.wakes() >= 1, "and the task comes back for them");
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(
        waiting.polls(),
        1_000,
        "each polled once, before the yielders again"
    );
    assert_eq!(yielding.polls(), 4);
}

#[test]
fn a_source_pushed_while_pending_wakes_the_task() {
    let counters = Counters::new();
    let (a, _feed_a) = manual::<u8>(&counters);
    let mut gather = Gather::new();
    gather.push(a.boxed());
    let (task, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(task.wakes(), 0);
    gather.push(stream::iter([5u8]).boxed());
    assert_eq!(task.wakes(), 1);
    assert_eq!(poll_once(&mut gather, &waker), Poll::Ready(Some(5)));
}

#[test]
fn spurious_wakes_cost_one_poll() {
    let counters = Counters::new();
    let (source, handle) = manual::<u8>(&counters);
    let mut gather = gather([source]);
    let (task, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    let source_waker = handle.waker().expect("registered");
    for _ in 0..1_000 {
        source_waker.wake_by_ref();
    }
    assert_eq!(task.wakes(), 1, "the task is woken once, not per wake");
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(counters.polls(), 2, "a thousand wakes, one extra poll");
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(counters.polls(), 2);
}

#[test]
fn late_and_stale_wakes_only_cost_a_check() {
    let counters = Counters::new();
    let (old, old_handle) = manual::<u8>(&counters);
    let mut gather = Gather::new();
    let old_id = gather.push(old);
    let (task, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    let stale = old_handle.waker().expect("registered");

    // Wake queued, then the source removed before the Gather drains it.
    stale.wake_by_ref();
    assert!(gather.remove(old_id).is_some());
    assert_eq!(counters.drops(), 1);

    // A new source comes in while the stale wake is still pending (the old
    // slot waits for it to be taken); the stale waker must not reach it.
    let (new, _new_handle) = manual::<u8>(&counters);
    let new_id = gather.push(new);
    assert_ne!(old_id, new_id);
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(counters.polls(), 2, "old once, new once");
    let wakes_before = task.wakes();
    stale.wake_by_ref();
    stale.wake_by_ref();
    assert_eq!(task.wakes(), wakes_before, "a retired waker wakes nobody");
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(
        counters.polls(),
        2,
        "the new source was not polled for the old one"
    );

    // The stale wake was taken: the old slot serves its next source, which
    // the retired waker does not reach either.
    let (next, _next_handle) = manual::<u8>(&counters);
    let next_id = gather.push(next);
    assert_eq!(next_id.index(), old_id.index(), "the old slot, reused");
    assert_ne!(next_id, old_id);
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(counters.polls(), 3, "the next source, once");
    stale.wake_by_ref();
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(counters.polls(), 3, "not for the old one");

    // After the Gather is gone, wakes are harmless.
    drop(gather);
    stale.wake();
    assert_eq!(counters.drops(), 3);
}

#[test]
fn wakes_from_other_threads_deliver_every_item() {
    let counters = Counters::new();
    let mut sources = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..8 {
        let (source, handle) = manual::<(usize, usize)>(&counters);
        sources.push(source);
        handles.push(handle);
    }
    let gather = gather(sources);
    let producers: Vec<_> = handles
        .into_iter()
        .enumerate()
        .map(|(s, handle)| {
            std::thread::spawn(move || {
                for i in 0..2_000 {
                    handle.send((s, i));
                    if i % 64 == 0 {
                        std::thread::yield_now();
                    }
                }
                handle.close();
            })
        })
        .collect();
    let items: Vec<(usize, usize)> = futures::executor::block_on(gather.collect());
    for producer in producers {
        producer.join().unwrap();
    }
    assert_eq!(items.len(), 8 * 2_000);
    for s in 0..8 {
        let mine: Vec<usize> = items
            .iter()
            .filter(|(k, _)| *k == s)
            .map(|(_, i)| *i)
            .collect();
        assert_eq!(mine, (0..2_000).collect::<Vec<_>>());
    }
}

#[test]
fn a_wake_taken_before_its_source_left_skips_the_next_source_in_the_slot() {
    let counters = Counters::new();
    let (first, first_handle) = manual::<u8>(&counters);
    let (second, second_handle) = manual::<u8>(&counters);
    let mut gather = Gather::new();
    gather.push(first);
    let second_id = gather.push(second);
    let (_task, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);

    // Both wake; the first source's item ends the call while the second
    // source's wake is still in line.
    first_handle.send(1);
    second_handle.send(2);
    assert_eq!(poll_once(&mut gather, &waker), Poll::Ready(Some(1)));

    // The second source leaves and a new one takes its slot.
    assert!(gather.remove(second_id).is_some());
    let fresh = Counters::new();
    let (newcomer, _newcomer_handle) = manual::<u8>(&fresh);
    let newcomer_id = gather.push(newcomer);
    assert_eq!(newcomer_id.index(), second_id.index());

    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(fresh.polls(), 1, "polled for its own arrival only");
}

#[test]
fn a_source_pushed_into_a_slot_left_before_its_first_turn_is_polled_once() {
    let counters = Counters::new();
    let (first, _first_handle) = manual::<u8>(&counters);
    let (second, _second_handle) = manual::<u8>(&counters);
    let mut gather = Gather::new();
    let first_id = gather.push(first);
    gather.push(second);
    // The first source leaves before its first turn, and a newcomer takes
    // its slot: the line names that slot twice now.
    assert!(gather.remove(first_id).is_some());
    let fresh = Counters::new();
    let (newcomer, _newcomer_handle) = manual::<u8>(&fresh);
    assert_eq!(gather.push(newcomer).index(), first_id.index());

    let (_task, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(fresh.polls(), 1, "one poll per call");
    assert_eq!(counters.polls(), 1, "the second source, once");
}

#[test]
fn remove_returns_the_source_and_rejects_unknown_or_stale_ids() {
    let counters = Counters::new();
    let mut gather = Gather::new();
    let (a, _) = manual::<u8>(&counters);
    let (b, _) = manual::<u8>(&counters);
    let a_id = gather.push(a);
    let b_id = gather.push(b);

    let mut other = Gather::new();
    let (c, _) = manual::<u8>(&counters);
    other.push(c);
    let (d, _) = manual::<u8>(&counters);
    let unknown = {
        other.push(d);
        let (e, _) = manual::<u8>(&counters);
        other.push(e) // slot 2: beyond `gather`'s slots
    };
    assert!(gather.remove(unknown).is_none());

    let removed = gather.remove(a_id).expect("present");
    assert_eq!(counters.drops(), 0, "the caller holds it");
    drop(removed);
    assert_eq!(counters.drops(), 1);
    assert!(gather.remove(a_id).is_none(), "stale");
    assert_eq!(gather.len(), 1);
    assert!(gather.remove(b_id).is_some());
    assert!(gather.is_empty());
}

#[test]
fn removing_a_ready_source_ends_its_turn() {
    let counters = Counters::new();
    let mut gather = Gather::new();
    let a = gather.push(Repeat {
        key: 0,
        counters: counters.clone(),
    });
    gather.push(Repeat {
        key: 1,
        counters: counters.clone(),
    });
    assert_eq!(next_keys(&mut gather, 1), [0]);
    assert!(gather.remove(a).is_some());
    // The slot is reused at once: the new source neither inherits a's place
    // nor the rest of its turn.
    gather.push(Repeat {
        key: 2,
        counters: counters.clone(),
    });
    let next = next_keys(&mut gather, 3 * TURN);
    let expected: Vec<usize> = [1, 2, 1]
        .iter()
        .flat_map(|&key| std::iter::repeat(key).take(TURN))
        .collect();
    assert_eq!(next, expected);
}

#[test]
fn size_hint_sums_and_saturates() {
    let exact = gather([stream::iter(0..3).boxed(), stream::iter(0..4).boxed()]);
    assert_eq!(exact.size_hint(), (7, Some(7)));
    let huge = gather([
        Hinted(usize::MAX - 1, Some(usize::MAX - 1)),
        Hinted(5, Some(5)),
    ]);
    assert_eq!(huge.size_hint(), (usize::MAX, None));
    let unbounded = gather([Hinted(1, None), Hinted(2, Some(2))]);
    assert_eq!(unbounded.size_hint(), (3, None));
}

/// A pending stream with a fixed size hint.
struct Hinted(usize, Option<usize>);

impl Stream for Hinted {
    type Item = ();
    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<()>> {
        Poll::Pending
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0, self.1)
    }
}

/// Panics on its second poll.
struct Panicky {
    polls: usize,
    counters: std::sync::Arc<Counters>,
}

impl Stream for Panicky {
    type Item = u8;
    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<u8>> {
        self.polls += 1;
        assert!(self.polls < 2, "source broke");
        Poll::Ready(Some(1))
    }
}

impl Drop for Panicky {
    fn drop(&mut self) {
        self.counters
            .drops
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_panicking_source_propagates_and_every_source_drops_once() {
    let counters = Counters::new();
    let mut gather = Gather::new();
    gather.push(
        Panicky {
            polls: 0,
            counters: counters.clone(),
        }
        .boxed(),
    );
    for _ in 0..3 {
        let (source, _) = manual::<u8>(&counters);
        gather.push(source.boxed());
    }
    let (_, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut gather, &waker), Poll::Ready(Some(1)));
    let panic = catch_unwind(AssertUnwindSafe(|| {
        let _ = poll_once(&mut gather, &waker);
        let _ = poll_once(&mut gather, &waker);
    }));
    assert!(panic.is_err());
    // The source that panicked is dropped as the panic unwinds; the rest stay.
    assert_eq!((counters.drops(), gather.len()), (1, 3));
    drop(gather);
    assert_eq!(counters.drops(), 4);
}

#[test]
fn sources_need_not_be_unpin() {
    let not_unpin = |n: u32| {
        stream::unfold(0, move |i| async move {
            futures::future::ready(()).await;
            (i < n).then_some((i, i + 1))
        })
    };
    let sum: u32 = futures::executor::block_on(
        gather((1..=4).map(not_unpin)).fold(0, |a, b| async move { a + b }),
    );
    assert_eq!(sum, 1 + 3 + 6);
}

#[test]
fn extend_and_collect_build_the_same_gather() {
    let mut gather: Gather<_> = (0..3).map(|i| stream::iter([i])).collect();
    gather.extend((3..5).map(|i| stream::iter([i])));
    assert_eq!(gather.len(), 5);
    let mut items: Vec<i32> = futures::executor::block_on(gather.collect());
    items.sort_unstable();
    assert_eq!(items, [0, 1, 2, 3, 4]);
}

#[test]
fn a_million_sources() {
    let gather = gather((0..1_000_000u64).map(|i| stream::iter([i])));
    assert_eq!(gather.len(), 1_000_000);
    let sum = futures::executor::block_on(gather.fold(0u64, |a, b| async move { a + b }));
    assert_eq!(sum, 999_999 * 1_000_000 / 2);
}

#[test]
fn debug_shows_counts_not_sources() {
    let gather = gather([stream::iter([1])]);
    assert_eq!(format!("{gather:?}"), "Gather { len: 1, .. }");
}

/// Four threads feed `items` items to each of `sources` sources, in
/// interleaved order, then close them, while a `Gather` drains them on its
/// own thread. Every item must come out, in order per source, before a
/// deadline: a lost wake fails the test instead of hanging it.
fn feed_from_four_threads(sources: usize, items: usize) {
    let counters = Counters::new();
    let (streams, handles): (Vec<_>, Vec<_>) = (0..sources)
        .map(|_| manual::<(usize, usize)>(&counters))
        .unzip();
    let handles = std::sync::Arc::new(handles);
    let (done, finished) = std::sync::mpsc::channel();
    let drain = std::thread::spawn(move || {
        let all: Vec<(usize, usize)> = futures::executor::block_on(gather(streams).collect());
        done.send(all).unwrap();
    });
    let feeders: Vec<_> = (0..4)
        .map(|t| {
            let handles = std::sync::Arc::clone(&handles);
            std::thread::spawn(move || {
                for i in 0..items {
                    for s in (t..sources).step_by(4) {
                        handles[s].send((s, i));
                    }
                }
                for s in (t..sources).step_by(4) {
                    handles[s].close();
                }
            })
        })
        .collect();
    for feeder in feeders {
        feeder.join().unwrap();
    }
    let all = finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("every wake reaches the Gather");
    drain.join().unwrap();
    assert_eq!(all.len(), sources * items);
    let mut next = vec![0; sources];
    for (s, i) in all {
        assert_eq!(i, next[s], "source {s} out of order");
        next[s] += 1;
    }
}

#[test]
fn wakes_from_many_threads_across_many_sources_deliver_every_item() {
    // Ten thousand sources span many chunks of woken bits.
    feed_from_four_threads(10_000, 5);
}

#[test]
fn wakes_racing_on_few_chunks_are_never_lost() {
    // 192 sources in three chunks, woken over and over: chunks are linked
    // into the ready list and taken from it while other threads link them
    // again. A lost or duplicated link would lose an item or hang.
    feed_from_four_threads(192, 2_000);
}
