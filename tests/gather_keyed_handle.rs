//! `KeyedHandle`: inserts and removals by key from other tasks and threads
//! while the `KeyedGather` is polled. Pins the channel rule (an empty
//! `KeyedGather` with handles waits, woken by an insert and by the last
//! handle going), the order of changes (an insert and a removal of a key
//! queued before a poll; `&mut` calls that take changes in first; `clear`
//! dropping what is queued), a key inserted twice (the old source dropped),
//! keys reused after removal, changes queued when the `KeyedGather` is
//! dropped being dropped, an insert into a dropped one giving its source
//! back, and many threads inserting, feeding and removing by key while the
//! `KeyedGather` is drained on another, under a deadline.

#![cfg(feature = "std")]

mod common;

use std::collections::HashMap;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use common::{poll_noop, repeat, within, Counters, CountingWaker, Repeat};
use confluo::{Event, KeyedGather};
use futures::stream::{self, StreamExt};
use futures_core::stream::FusedStream;

#[test]
fn an_insert_wakes_the_task_and_the_last_handle_going_ends_it() {
    let mut sensors = KeyedGather::new();
    let handle = sensors.handle();
    let (counter, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(sensors.poll_event(&mut cx), Poll::Pending);
    assert!(!sensors.is_terminated());
    assert_eq!(
        counter.wakes(),
        0,
        "an empty KeyedGather with a handle sleeps"
    );

    handle.insert("boiler", stream::iter([71])).unwrap();
    assert_eq!(counter.wakes(), 1, "the insert wakes the task");
    assert!(!sensors.contains("boiler"), "taken in by the next poll");
    assert_eq!(
        sensors.poll_event(&mut cx),
        Poll::Ready(Some(Event::Item("boiler", 71)))
    );
    assert_eq!(
        sensors.poll_event(&mut cx),
        Poll::Ready(Some(Event::Ended("boiler")))
    );
    assert_eq!(sensors.poll_event(&mut cx), Poll::Pending);

    let clone = handle.clone();
    drop(handle);
    assert!(!sensors.is_terminated(), "a clone is left");
    drop(clone);
    assert_eq!(counter.wakes(), 2, "the last handle going wakes the task");
    assert!(sensors.is_terminated());
    assert_eq!(sensors.poll_event(&mut cx), Poll::Ready(None));
}

/// The last handle inserts, then goes, before the `KeyedGather` looks: the
/// `Gather` within would end, but the insert is taken in first.
#[test]
fn changes_queued_by_the_last_handle_before_it_went_are_taken_in() {
    let mut sensors = KeyedGather::new();
    let handle = sensors.handle();
    handle.insert(1, stream::iter(vec![10, 11])).unwrap();
    handle.insert(2, stream::iter(vec![20])).unwrap();
    drop(handle);
    assert!(!sensors.is_terminated(), "two inserts are queued");
    let mut seen: Vec<(u8, u8)> = within(5, sensors.collect());
    seen.sort();
    assert_eq!(seen, [(1, 10), (1, 11), (2, 20)]);
}

#[test]
fn a_key_inserted_twice_through_a_handle_drops_the_old_source() {
    let counters = Counters::new();
    let mut sensors = KeyedGather::new();
    let handle = sensors.handle();
    handle.insert("boiler", repeat(1, &counters)).unwrap();
    handle.insert("boiler", repeat(2, &counters)).unwrap();
    assert_eq!(poll_noop(&mut sensors), Poll::Ready(Some(("boiler", 2))));
    assert_eq!(counters.drops(), 1, "the first source, never polled");
    assert_eq!(counters.polls(), 1);
    assert_eq!(sensors.len(), 1);
}

#[test]
fn a_removal_queued_before_a_poll_keeps_that_poll_off_the_source() {
    let counters = Counters::new();
    let mut sensors = KeyedGather::new();
    let handle = sensors.handle();
    let (source, feed) = common::manual::<u8>(&counters);
    handle.insert(7, source).unwrap();
    assert_eq!(poll_noop(&mut sensors), Poll::Pending);
    feed.send(1);
    assert!(handle.remove(7));
    assert!(handle.remove(8), "an unknown key: queued, removes nothing");
    assert_eq!(poll_noop(&mut sensors), Poll::Pending);
    assert_eq!(counters.polls(), 1, "the wake is never answered");
    assert_eq!(counters.drops(), 1);
    assert!(sensors.is_empty());
}

/// `insert`, `remove` and `get_mut` through `&mut` see the handles'
/// changes queued before them; `clear` drops them with the rest.
#[test]
fn mut_calls_take_queued_changes_first_and_clear_drops_them() {
    let counters = Counters::new();
    let mut sensors = KeyedGather::new();
    let handle = sensors.handle();
    handle.insert(1, repeat(1, &counters)).unwrap();
    assert!(sensors.get_mut(&1).is_some(), "the queued insert is found");
    handle.remove(1);
    assert!(sensors.insert(1, repeat(10, &counters)).is_none());
    assert_eq!(counters.drops(), 1, "the handle's removal came first");
    handle.insert(2, repeat(2, &counters)).unwrap();
    assert!(sensors.remove(&2).is_some());

    handle.insert(3, repeat(3, &counters)).unwrap();
    sensors.clear();
    assert!(sensors.is_empty() && !sensors.contains(&3));
    assert_eq!(poll_noop(&mut sensors), Poll::Pending);
    assert!(sensors.is_empty(), "the queued insert went with the rest");
    assert_eq!(counters.polls(), 0);

    handle.insert(4, repeat(4, &counters)).unwrap();
    assert_eq!(
        sensors.into_gather().len(),
        1,
        "taken in before the keys go"
    );
}

#[test]
fn a_key_is_reused_after_its_removal() {
    let mut sensors = KeyedGather::new();
    let handle = sensors.handle();
    for round in 0..50u32 {
        handle
            .insert("boiler", stream::iter([round]).chain(stream::pending()))
            .unwrap();
        assert_eq!(
            poll_noop(&mut sensors),
            Poll::Ready(Some(("boiler", round)))
        );
        assert!(handle.remove("boiler"));
        assert_eq!(poll_noop(&mut sensors), Poll::Pending);
        assert!(sensors.is_empty());
    }
}

#[test]
fn changes_queued_when_it_is_dropped_are_dropped_and_later_inserts_come_back() {
    let counters = Counters::new();
    let mut sensors = KeyedGather::<u8, Repeat>::new();
    let handle = sensors.handle();
    for key in 0..3 {
        handle.insert(key, repeat(key.into(), &counters)).unwrap();
    }
    drop(sensors);
    assert_eq!(counters.drops(), 3, "queued sources are not leaked");
    let refused = handle.insert(9, repeat(9, &counters)).unwrap_err();
    assert_eq!(refused.into_inner().key, 9, "the source comes back");
    assert!(!handle.remove(1));
    assert_eq!(counters.polls(), 0);
}

const THREADS: usize = 4;
const SOURCES: usize = 50;
const ITEMS: usize = 20;
const DEADLINE: Duration = Duration::from_secs(20);

/// Four threads each insert 50 channels under keys of their own through
/// clones of one handle and feed them; every third is removed by key
/// halfway through, and its thread waits until the `KeyedGather` has
/// dropped it. Drained on the main thread: every item of a kept source
/// arrives once, in order, with its key; a removed source's items are a
/// prefix; the `KeyedGather` ends by itself.
#[test]
fn handles_on_many_threads_race_the_polls_and_lose_nothing() {
    let mut sensors = KeyedGather::new();
    let handle = sensors.handle();
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                let feeds: Vec<_> = (0..SOURCES)
                    .map(|source| {
                        let (feed, channel) = async_channel::unbounded();
                        handle.insert((thread, source), channel).unwrap();
                        feed
                    })
                    .collect();
                for item in 0..ITEMS {
                    for (source, feed) in feeds.iter().enumerate() {
                        if source % 3 == 0 && item == ITEMS / 2 {
                            assert!(handle.remove((thread, source)));
                            let start = Instant::now();
                            while !feed.is_closed() {
                                assert!(start.elapsed() < DEADLINE, "removal never taken in");
                                std::thread::yield_now();
                            }
                        }
                        let _ = feed.try_send(item);
                    }
                    std::thread::yield_now();
                }
            })
        })
        .collect();
    drop(handle);

    let seen = within(30, sensors.collect::<Vec<_>>());
    for thread in threads {
        thread.join().unwrap();
    }
    let mut per_key: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    for (key, item) in seen {
        per_key.entry(key).or_default().push(item);
    }
    for thread in 0..THREADS {
        for source in 0..SOURCES {
            let items = per_key.remove(&(thread, source)).unwrap_or_default();
            if source % 3 == 0 {
                assert!(items.len() <= ITEMS / 2, "{thread}/{source}: {items:?}");
                assert_eq!(items, (0..items.len()).collect::<Vec<_>>());
            } else {
                assert_eq!(items, (0..ITEMS).collect::<Vec<_>>(), "{thread}/{source}");
            }
        }
    }
    assert!(per_key.is_empty());
}

/// A source that, polled, inserts a source under another key through the
/// handle it holds, then waits: the change comes after the `KeyedGather`
/// looked, so it must yield and come back for it.
#[test]
fn a_change_made_during_a_poll_is_not_left_waiting() {
    let mut sensors = KeyedGather::new();
    let handle = sensors.handle();
    let mut inserter = Some(handle.clone());
    let first = stream::poll_fn(move |_| {
        if let Some(handle) = inserter.take() {
            let later = stream::iter(vec![2]).boxed();
            handle.insert(2, later).unwrap();
        }
        Poll::Pending
    });
    sensors.insert(1, first.boxed());
    let (counter, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(sensors.poll_event(&mut cx), Poll::Pending);
    assert_eq!(counter.wakes(), 1, "woken to take the insert in");
    assert_eq!(
        sensors.poll_event(&mut cx),
        Poll::Ready(Some(Event::Item(2, 2)))
    );
    drop(handle);
}

/// The last handle inserts and goes while the `KeyedGather` is polled
/// without pause on another thread (so that the two land between each
/// other's steps): however they interleave, the insert is taken in and its
/// item arrives before the end.
#[test]
fn an_insert_racing_the_last_handle_going_is_never_lost() {
    common::within_on_a_thread(30, || {
        for round in 0..1_000u32 {
            let mut sensors = KeyedGather::new();
            let handle = sensors.handle();
            let inserter = std::thread::spawn(move || {
                handle.insert(round, stream::iter([round])).unwrap();
            });
            let mut seen = Vec::new();
            loop {
                match poll_noop(&mut sensors) {
                    Poll::Ready(Some(item)) => seen.push(item),
                    Poll::Ready(None) => break,
                    Poll::Pending => std::hint::spin_loop(),
                }
            }
            inserter.join().unwrap();
            assert_eq!(seen, [(round, round)], "round {round}");
        }
    });
}
