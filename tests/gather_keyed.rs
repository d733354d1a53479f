//! `KeyedGather`: sources by keys of the user's. Pins items and ends tagged
//! with their keys, a key inserted twice (the old source handed back and
//! never polled again), removal and lookups of unknown keys (`None`, no
//! panic), keys reused after a removal and after an end (no stale wake
//! reaches the new source, counted in polls), borrowed lookups, a source
//! that panics, another hasher, and thousands of keys coming and going,
//! checked step by step against std's `HashMap`.

#![cfg(feature = "std")]

mod common;

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use common::{manual, Counters};
use confluo::{Event, KeyedGather};
use futures::stream::{self, StreamExt};
use futures_core::stream::{FusedStream, Stream};

fn cx() -> Context<'static> {
    Context::from_waker(futures::task::noop_waker_ref())
}

#[test]
fn items_and_ends_come_with_their_keys() {
    let mut sensors = KeyedGather::new();
    sensors.insert("boiler", stream::iter(vec![71, 72]));
    sensors.insert("intake", stream::iter(vec![12]));
    let mut events = Vec::new();
    while let Poll::Ready(Some(event)) = sensors.poll_event(&mut cx()) {
        events.push(event);
    }
    assert_eq!(
        events,
        [
            Event::Item("boiler", 71),
            Event::Item("boiler", 72),
            Event::Ended("boiler"),
            Event::Item("intake", 12),
            Event::Ended("intake"),
        ]
    );
    assert!(sensors.is_terminated());
    assert!(!sensors.contains("boiler"), "an ended source takes its key");
}

#[test]
fn a_key_inserted_twice_replaces_its_source_and_hands_the_old_one_back() {
    let counters = Counters::new();
    let (old, old_feed) = manual::<u8>(&counters);
    let (new, new_feed) = manual::<u8>(&counters);
    let mut sensors = KeyedGather::new();
    assert!(sensors.insert(7, old).is_none());
    assert_eq!(sensors.poll_event(&mut cx()), Poll::Pending);
    let stale = old_feed.waker().expect("the old source was polled");
    let handed_back = sensors.insert(7, new).expect("the old source");
    assert_eq!(sensors.len(), 1);
    assert_eq!(sensors.poll_event(&mut cx()), Poll::Pending);
    assert_eq!(counters.polls(), 2, "each polled once");

    // The old source's wake reaches nobody; the new one's items come as 7.
    stale.wake();
    assert_eq!(sensors.poll_event(&mut cx()), Poll::Pending);
    assert_eq!(counters.polls(), 2, "a stale wake polls nothing");
    new_feed.send(1);
    assert_eq!(
        sensors.poll_event(&mut cx()),
        Poll::Ready(Some(Event::Item(7, 1)))
    );
    drop(handed_back);
    assert_eq!(counters.drops(), 1);
}

#[test]
fn unknown_keys_give_none_and_never_panic() {
    let mut sensors = KeyedGather::<u32, stream::Pending<u8>>::new();
    assert!(sensors.remove(&1).is_none());
    assert!(sensors.get(&1).is_none());
    assert!(sensors.get_mut(&1).is_none());
    assert!(!sensors.contains(&1));
    sensors.insert(1, stream::pending());
    assert!(sensors.remove(&2).is_none());
    assert!(sensors.remove(&1).is_some());
    assert!(sensors.remove(&1).is_none(), "removed twice");
    assert!(sensors.is_empty());
}

#[test]
fn keys_are_reused_after_a_removal_and_after_an_end() {
    let counters = Counters::new();
    let mut sensors = KeyedGather::new();
    let (first, first_feed) = manual::<u8>(&counters);
    sensors.insert("a", first);
    assert_eq!(sensors.poll_event(&mut cx()), Poll::Pending);
    let stale = first_feed.waker().unwrap();
    assert!(sensors.remove("a").is_some());

    let (second, second_feed) = manual::<u8>(&counters);
    assert!(sensors.insert("a", second).is_none(), "the key was free");
    stale.wake();
    assert_eq!(sensors.poll_event(&mut cx()), Poll::Pending);
    assert_eq!(
        counters.polls(),
        2,
        "the old wake does not reach the new source"
    );
    second_feed.send(5);
    second_feed.close();
    assert_eq!(
        sensors.poll_event(&mut cx()),
        Poll::Ready(Some(Event::Item("a", 5)))
    );
    assert_eq!(
        sensors.poll_event(&mut cx()),
        Poll::Ready(Some(Event::Ended("a")))
    );

    let (third, third_feed) = manual::<u8>(&counters);
    assert!(
        sensors.insert("a", third).is_none(),
        "free again after the end"
    );
    third_feed.send(6);
    assert_eq!(
        sensors.poll_event(&mut cx()),
        Poll::Ready(Some(Event::Item("a", 6)))
    );
}

#[test]
fn string_keys_are_looked_up_by_str() {
    let mut sensors = KeyedGather::new();
    sensors.insert(String::from("boiler"), stream::iter(vec![1, 2]));
    assert!(sensors.contains("boiler"));
    assert_eq!(
        sensors.get("boiler").map(|s| s.size_hint()),
        Some((2, Some(2)))
    );
    let first = smol::block_on(sensors.get_mut("boiler").unwrap().next());
    assert_eq!(first, Some(1));
    let rest: Vec<(String, i32)> = smol::block_on(sensors.collect());
    assert_eq!(rest, [(String::from("boiler"), 2)]);
}

/// Panics on its first poll.
struct Panics;

impl Stream for Panics {
    type Item = u8;
    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<u8>> {
        panic!("a faulty sensor")
    }
}

#[test]
fn a_source_that_panics_loses_its_key_and_the_key_can_be_inserted_again() {
    let mut sensors: KeyedGather<&str, stream::BoxStream<'static, u8>> = KeyedGather::new();
    sensors.insert("faulty", Panics.boxed());
    let panicked = catch_unwind(AssertUnwindSafe(|| sensors.poll_event(&mut cx())));
    assert!(panicked.is_err());
    assert!(!sensors.contains("faulty"));
    assert!(sensors.get("faulty").is_none());
    // Its slot serves the next source; the stale key goes then.
    sensors.insert("other", stream::iter(vec![3]).boxed());
    assert!(!sensors.contains("faulty"));
    assert!(sensors
        .insert("faulty", stream::iter(vec![4]).boxed())
        .is_none());
    let mut items: Vec<_> = smol::block_on(sensors.collect());
    items.sort();
    assert_eq!(items, [("faulty", 4), ("other", 3)]);
}

#[test]
fn another_hasher_can_be_named() {
    type Hasher = BuildHasherDefault<std::collections::hash_map::DefaultHasher>;
    let mut sensors: KeyedGather<u64, _, Hasher> = KeyedGather::with_hasher(Hasher::default());
    sensors.insert(1, stream::iter(vec![10]));
    let collected: KeyedGather<u64, _, Hasher> =
        [(2, stream::iter(vec![20]))].into_iter().collect();
    assert_eq!(collected.len(), 1);
    assert_eq!(smol::block_on(sensors.collect::<Vec<_>>()), [(1, 10)]);
}

/// A small generator of pseudo-random numbers: the same run every time.
fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

/// Thousands of inserts, replacements and removals over a few hundred keys,
/// each checked against a `HashMap` holding what each key should name.
#[test]
fn keys_coming_and_going_agree_with_a_hash_map() {
    let mut sensors = KeyedGather::new();
    let mut model: HashMap<u64, u64> = HashMap::new();
    let mut state = 7;
    for step in 0..20_000u64 {
        let key = lcg(&mut state) % 300;
        match lcg(&mut state) % 3 {
            0 | 1 => {
                let old = sensors.insert(key, stream::iter(vec![step]));
                let expected = model.insert(key, step);
                let old = old.map(|mut old| smol::block_on(old.next()).unwrap());
                assert_eq!(old, expected, "insert {key} at {step}");
            }
            _ => {
                let removed = sensors.remove(&key);
                let removed = removed.map(|mut removed| smol::block_on(removed.next()).unwrap());
                assert_eq!(removed, model.remove(&key), "remove {key} at {step}");
            }
        }
        assert_eq!(sensors.len(), model.len());
    }
    for (key, &step) in &model {
        assert!(sensors.contains(key));
        let source = sensors.get(key).unwrap();
        assert_eq!(source.size_hint(), (1, Some(1)), "{key} named {step}");
    }
    let mut items: Vec<(u64, u64)> = smol::block_on(sensors.collect());
    items.sort();
    let mut expected: Vec<(u64, u64)> = model.into_iter().collect();
    expected.sort();
    assert_eq!(items, expected);
}

#[test]
fn clear_and_into_gather_drop_or_hand_over_every_source() {
    let counters = Counters::new();
    let mut sensors = KeyedGather::new();
    for key in 0..3 {
        sensors.insert(key, manual::<u8>(&counters).0);
    }
    sensors.clear();
    assert_eq!(counters.drops(), 3);
    assert!(!sensors.contains(&0));
    for key in 0..2 {
        sensors.insert(key, manual::<u8>(&counters).0);
    }
    assert_eq!(sensors.into_gather().len(), 2);
}
