//! `GatherHandle`: pushes and removals from other tasks and threads while
//! the `Gather` is polled. Pins the channel rule (an empty `Gather` with
//! handles waits without spinning, counted in polls and wakes, and ends once
//! the last handle is gone and no source is left), the order of changes (a
//! removal queued before a poll keeps that poll off the source; a removal
//! of a push not yet taken in; stale ids after a slot is reused), ids from
//! handles and from `push` never clashing, sources queued when the `Gather`
//! is dropped being dropped, a push into a dropped `Gather` giving its
//! source back, and many threads pushing, feeding and removing sources
//! while the `Gather` is drained on another, with nothing lost, under a
//! deadline so that a lost wake fails instead of hanging.

#![cfg(feature = "std")]

mod common;

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use common::{poll_noop, repeat, within, Counters, CountingWaker, Repeat};
use confluo::{Event, Gather, PushError};
use futures::stream::{self, StreamExt};
use futures_core::stream::{FusedStream, Stream};

#[test]
fn a_push_through_a_handle_returns_its_id_at_once_and_wakes_the_task() {
    let mut gather = Gather::new();
    let handle = gather.handle();
    let (counter, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(gather.poll_event(&mut cx), Poll::Pending);
    assert_eq!(counter.wakes(), 0, "an empty gather with a handle sleeps");

    let id = handle.push(stream::iter(["reading"])).unwrap();
    assert_eq!(counter.wakes(), 1, "the push wakes the task");
    assert!(
        !gather.contains(id),
        "taken in by the next poll, not before"
    );
    assert_eq!(
        gather.poll_event(&mut cx),
        Poll::Ready(Some(Event::Item(id, "reading")))
    );
    assert_eq!(
        gather.poll_event(&mut cx),
        Poll::Ready(Some(Event::Ended(id)))
    );
    assert_eq!(gather.poll_event(&mut cx), Poll::Pending);
    assert_eq!(counter.wakes(), 1);

    drop(handle);
    assert_eq!(counter.wakes(), 2, "the last handle going wakes the task");
    assert_eq!(gather.poll_event(&mut cx), Poll::Ready(None));
}

#[test]
fn an_empty_gather_with_handles_is_not_terminated_and_has_no_upper_bound() {
    let mut gather = Gather::<stream::Iter<std::vec::IntoIter<u8>>>::new();
    assert!(gather.is_terminated());
    let handle = gather.handle();
    assert!(!gather.is_terminated());
    assert_eq!(gather.size_hint(), (0, None));
    let second = handle.clone();
    drop(handle);
    assert!(!gather.is_terminated(), "a clone is still there");
    drop(second);
    assert!(gather.is_terminated());
    assert_eq!(gather.size_hint(), (0, Some(0)));
}

#[test]
fn the_gather_ends_only_when_the_last_handle_is_gone_and_no_source_is_left() {
    let mut gather = Gather::new();
    let handle = gather.handle();
    let counters = Counters::new();
    let (source, feed) = common::manual::<u8>(&counters);
    let id = handle.push(source).unwrap();
    drop(handle);
    assert_eq!(poll_noop(&mut gather), Poll::Pending, "a source is left");
    assert!(gather.contains(id));
    feed.send(1);
    feed.close();
    assert_eq!(poll_noop(&mut gather), Poll::Ready(Some(1)));
    assert_eq!(poll_noop(&mut gather), Poll::Ready(None));
}

/// A registry that empties and refills, 200 times, on a real executor:
/// every poll of the `Gather` is counted, and there are a handful per
/// source, not millions (an empty `Gather` that returned `None` would spin).
#[test]
fn a_registry_that_empties_and_refills_does_not_spin() {
    const ROUNDS: usize = 200;
    let mut gather = Gather::new();
    let handle = gather.handle();
    let (ack, acked) = mpsc::channel::<()>();
    let registry = std::thread::spawn(move || {
        for round in 0..ROUNDS {
            handle.push(stream::iter([round])).unwrap();
            // The next source only once this one was read: the gather is
            // empty in between.
            acked.recv().unwrap();
        }
    });
    let polls = AtomicUsize::new(0);
    let counted = stream::poll_fn(|cx| {
        polls.fetch_add(1, Ordering::SeqCst);
        gather.poll_next_unpin(cx)
    });
    let read: Vec<usize> = within(20, async {
        let mut counted = std::pin::pin!(counted);
        let mut read = Vec::new();
        while let Some(round) = counted.next().await {
            read.push(round);
            let _ = ack.send(());
        }
        read
    });
    registry.join().unwrap();
    assert_eq!(read, (0..ROUNDS).collect::<Vec<_>>());
    let polls = polls.load(Ordering::SeqCst);
    assert!(polls <= 3 * ROUNDS, "{polls} polls for {ROUNDS} sources");
}

/// A busy source keeps its turn to its end; the removal is taken in then,
/// and the source is never polled again.
#[test]
fn a_removal_is_taken_in_at_the_end_of_the_turn_in_progress() {
    let counters = Counters::new();
    let mut gather = Gather::new().with_turn(NonZeroU32::new(3).unwrap());
    let handle = gather.handle();
    let busy = handle.push(repeat(1, &counters)).unwrap();
    assert_eq!(poll_noop(&mut gather), Poll::Ready(Some(1)));
    assert!(handle.remove(busy));
    assert_eq!(poll_noop(&mut gather), Poll::Ready(Some(1)));
    assert_eq!(counters.drops(), 0, "the turn goes on");
    assert_eq!(poll_noop(&mut gather), Poll::Ready(Some(1)));
    assert_eq!(counters.drops(), 1, "taken in as the turn ends");
    assert!(!gather.contains(busy));
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    assert_eq!(counters.polls(), 3, "never polled after its removal");
}

/// A source that is not in a turn is not polled once its removal is queued.
#[test]
fn a_removal_queued_before_a_poll_keeps_that_poll_off_a_source_out_of_its_turn() {
    let counters = Counters::new();
    let mut gather = Gather::new();
    let handle = gather.handle();
    let (source, feed) = common::manual::<u8>(&counters);
    let id = handle.push(source).unwrap();
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    feed.send(1);
    assert!(handle.remove(id));
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    assert_eq!(counters.polls(), 1, "the wake is never answered");
    assert_eq!(counters.drops(), 1);
}

#[test]
fn a_removal_of_a_push_not_yet_taken_in_removes_it_unpolled() {
    let counters = Counters::new();
    let mut gather = Gather::new();
    let handle = gather.handle();
    let id = handle.push(repeat(1, &counters)).unwrap();
    assert!(handle.remove(id));
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    assert_eq!((counters.polls(), counters.drops()), (0, 1));

    // The same through `&mut`: `Gather::remove` takes the push in first.
    let id = handle.push(repeat(2, &counters)).unwrap();
    let taken = gather.remove(id);
    assert!(taken.is_some(), "the queued push is found and handed back");
}

#[test]
fn a_stale_removal_never_reaches_the_slots_next_source() {
    let mut gather = Gather::new();
    let handle = gather.handle();
    let old = handle.push(stream::pending::<u8>()).unwrap();
    assert!(handle.remove(old));
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    let new = handle.push(stream::pending::<u8>()).unwrap();
    assert_eq!(new.index(), old.index(), "the slot is reused");
    assert_ne!(new, old);
    assert!(handle.remove(old), "queued: the gather is alive");
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    assert!(gather.contains(new), "the stale removal removed nothing");
    assert_eq!(gather.len(), 1);
}

/// Ids from `push`, freed slots from before the first handle, and ids from
/// handles all come from one place: no two sources share one.
#[test]
fn ids_from_handles_and_from_push_never_clash() {
    let mut gather = Gather::new();
    let before: Vec<_> = (0..6)
        .map(|_| gather.push(stream::pending::<u8>()))
        .collect();
    gather.remove(before[1]);
    gather.remove(before[4]);
    let handle = gather.handle();
    let mut ids: Vec<_> = before
        .iter()
        .copied()
        .filter(|&id| gather.contains(id))
        .collect();
    for round in 0..200 {
        let id = if round % 2 == 0 {
            handle.push(stream::pending()).unwrap()
        } else {
            gather.push(stream::pending())
        };
        ids.push(id);
    }
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    assert_eq!(gather.len(), ids.len());
    assert!(ids.iter().all(|&id| gather.contains(id)));
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    let slots: HashSet<usize> = ids.iter().map(|id| id.index()).collect();
    assert!(
        slots.contains(&1) && slots.contains(&4),
        "freed slots are reused"
    );
}

#[test]
fn sources_queued_when_the_gather_is_dropped_are_dropped_and_later_pushes_come_back() {
    let counters = Counters::new();
    let mut gather = Gather::new();
    let handle = gather.handle();
    for key in 0..3 {
        handle.push(repeat(key, &counters)).unwrap();
    }
    drop(gather);
    assert_eq!(counters.drops(), 3, "queued sources are not leaked");
    let refused: PushError<Repeat> = handle.push(repeat(9, &counters)).unwrap_err();
    assert_eq!(refused.to_string(), "pushing into a dropped Gather");
    assert_eq!(refused.into_inner().key, 9, "the source comes back");
    assert!(!handle.remove(confluo::Gather::new().push(stream::pending::<u8>())));
    assert_eq!(counters.polls(), 0);
}

#[test]
fn into_sources_and_clear_take_queued_pushes_first() {
    let mut gather = Gather::new();
    let handle = gather.handle();
    handle.push(stream::iter([1])).unwrap();
    gather.clear();
    assert!(gather.is_empty());
    handle.push(stream::iter([2])).unwrap();
    handle.push(stream::iter([3])).unwrap();
    assert_eq!(gather.into_sources().len(), 2);
}

/// What each pushing thread does with each of its sources.
const THREADS: usize = 4;
const SOURCES: usize = 50;
const ITEMS: usize = 20;
const DEADLINE: Duration = Duration::from_secs(20);

/// Four threads each push 50 channels into the `Gather` through clones of
/// one handle, and feed them from the thread (wakes from other threads);
/// every third source is removed through the handle halfway through its
/// items, and its thread waits until the `Gather` has dropped it. The
/// `Gather` is drained on the main thread. Every item of a kept source
/// arrives exactly once and in order, a removed source's items are a prefix
/// of those sent before its removal, and the `Gather` ends by itself once
/// the threads are done.
#[test]
fn handles_on_many_threads_race_the_gathers_polls_and_lose_nothing() {
    let mut gather = Gather::new();
    let handle = gather.handle();
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                let mut feeds = Vec::new();
                for source in 0..SOURCES {
                    let (feed, channel) = async_channel::unbounded();
                    let id = handle.push(channel).unwrap();
                    feeds.push((source, id, feed));
                }
                for item in 0..ITEMS {
                    for (source, id, feed) in &feeds {
                        if source % 3 == 0 && item == ITEMS / 2 {
                            assert!(handle.remove(*id));
                            // The gather, woken, takes the removal in and
                            // drops the channel's receiver: later sends fail.
                            let start = Instant::now();
                            while !feed.is_closed() {
                                assert!(start.elapsed() < DEADLINE, "removal never taken in");
                                std::thread::yield_now();
                            }
                        }
                        let _ = feed.try_send((thread, *source, item));
                    }
                    std::thread::yield_now();
                }
            })
        })
        .collect();
    drop(handle);

    let seen = within(30, gather.collect::<Vec<_>>());
    for thread in threads {
        thread.join().unwrap();
    }
    let mut per_source: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    for (thread, source, item) in seen {
        per_source.entry((thread, source)).or_default().push(item);
    }
    for thread in 0..THREADS {
        for source in 0..SOURCES {
            let items = per_source.remove(&(thread, source)).unwrap_or_default();
            if source % 3 == 0 {
                assert!(items.len() <= ITEMS / 2, "{thread}/{source}: {items:?}");
                assert_eq!(items, (0..items.len()).collect::<Vec<_>>());
            } else {
                assert_eq!(items, (0..ITEMS).collect::<Vec<_>>(), "{thread}/{source}");
            }
        }
    }
}
