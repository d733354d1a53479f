//! `Gather` as a container of sources: lookups by id (never reaching the
//! next source of a slot with a stale id), going over the sources, `clear`
//! (every source dropped at once, no stale wake reaching a later source,
//! counted with poll counters), the three `IntoIterator`s and
//! `with_capacity`.

#![cfg(feature = "alloc")]

mod common;

use std::num::NonZeroU32;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use common::{manual, poll_noop, poll_once, Counters, CountingWaker, Handle, Manual, Repeat};
use confluo::{Gather, IntoSources, SourceId, Sources, SourcesMut};
use futures::stream::{self, StreamExt};
use futures_core::stream::{FusedStream, Stream};

/// Ready with its key `left` times, then ends; counts its own polls, which
/// the test reads and resets through the `Gather`.
struct Meter {
    key: usize,
    left: usize,
    polls: usize,
}

impl Meter {
    fn new(key: usize, left: usize) -> Self {
        Meter {
            key,
            left,
            polls: 0,
        }
    }
}

impl Stream for Meter {
    type Item = usize;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<usize>> {
        self.polls += 1;
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(self.key))
    }
}

/// Always ready sources, one per key, all counted by `counters`.
fn repeats(keys: Range<usize>, counters: &Arc<Counters>) -> impl Iterator<Item = Repeat> + '_ {
    keys.map(|key| Repeat {
        key,
        counters: Arc::clone(counters),
    })
}

/// `n` sources driven by hand, all counted by `counters`, and their handles.
fn manuals(n: usize, counters: &Arc<Counters>) -> (Vec<Manual<usize>>, Vec<Handle<usize>>) {
    (0..n).map(|_| manual(counters)).unzip()
}

/// Each handle sends an item from a thread of its own, all done on return.
fn send_from_threads(handles: &[Handle<usize>]) {
    std::thread::scope(|scope| {
        for (i, handle) in handles.iter().enumerate() {
            scope.spawn(move || handle.send(i));
        }
    });
}

#[test]
fn contains_get_and_get_mut_find_the_sources_held() {
    let counters = Counters::new();
    let mut gather = Gather::new();
    let ids: Vec<SourceId> = repeats(0..3, &counters)
        .map(|source| gather.push(source))
        .collect();
    for (key, &id) in ids.iter().enumerate() {
        assert!(gather.contains(id));
        assert_eq!(gather.get(id).map(|source| source.key), Some(key));
    }
    gather.get_mut(ids[1]).expect("held").key = 10;
    // The first source's turn: its items come first.
    let keys: Vec<usize> = (0..3).map(|_| gather.next_item()).collect();
    assert_eq!(keys, [0, 0, 0]);
    assert_eq!(gather.get(ids[1]).map(|source| source.key), Some(10));
    assert_eq!(counters.polls(), 3, "lookups poll nothing");
}

trait NextItem {
    fn next_item(&mut self) -> usize;
}

impl<S: Stream<Item = usize> + Unpin> NextItem for S {
    fn next_item(&mut self) -> usize {
        match poll_noop(self) {
            Poll::Ready(Some(item)) => item,
            other => panic!("expected an item, got {other:?}"),
        }
    }
}

/// Asserts that `id` names nothing in `gather`.
fn assert_stale<S: Stream>(gather: &mut Gather<S>, id: SourceId) {
    assert!(!gather.contains(id), "{id:?} is stale");
    assert!(gather.get(id).is_none());
    assert!(gather.get_mut(id).is_none());
    assert!(gather.remove(id).is_none());
}

#[test]
fn stale_ids_name_nothing_even_when_a_new_source_takes_their_slot() {
    let counters = Counters::new();
    let mut gather = Gather::new();
    let removed = gather.push(Meter::new(0, 5));
    let ended = gather.push(Meter::new(1, 0));
    // Removed.
    assert!(gather.remove(removed).is_some());
    assert_stale(&mut gather, removed);
    // Ended: the `Gather` drops a source once it returns `None`.
    assert_eq!(poll_noop(&mut gather), Poll::Ready(None));
    assert_stale(&mut gather, ended);
    // Both slots serve new sources now; the old ids reach neither.
    let again: Vec<SourceId> = (2..4).map(|key| gather.push(Meter::new(key, 1))).collect();
    let mut slots: Vec<usize> = again.iter().map(|id| id.index()).collect();
    slots.sort_unstable();
    assert_eq!(slots, [removed.index(), ended.index()]);
    assert_stale(&mut gather, removed);
    assert_stale(&mut gather, ended);
    assert_eq!(gather.len(), 2, "the new sources stay");
    for &id in &again {
        assert!(gather.contains(id));
        assert_eq!(gather.get(id).map(|source| source.polls), Some(0));
    }
    // An id of another `Gather`, past this one's slots.
    let mut other = Gather::new();
    let (a, _) = manual::<u8>(&counters);
    let (b, _) = manual::<u8>(&counters);
    let (c, _) = manual::<u8>(&counters);
    other.extend([a, b]);
    let unknown = other.push(c);
    assert_stale(&mut gather, unknown);
}

#[test]
fn items_taken_through_get_mut_are_the_callers_and_so_are_the_wakes() {
    let counters = Counters::new();
    let (source, handle) = manual::<usize>(&counters);
    let mut gather = Gather::new();
    let id = gather.push(source);
    let (task, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);

    // An item taken out through `get_mut` never comes out of the `Gather`.
    handle.send(1);
    assert_eq!(task.wakes(), 1);
    let (mine, my_waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&my_waker);
    let source = gather.get_mut(id).expect("held");
    assert_eq!(source.poll_next(&mut cx), Poll::Ready(Some(1)));
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(counters.polls(), 3, "the Gather polled it for the wake");

    // Polled here while pending, the source keeps this waker: its next
    // wake comes here, and the `Gather` does not poll it.
    let source = gather.get_mut(id).expect("held");
    assert_eq!(source.poll_next(&mut cx), Poll::Pending);
    handle.send(2);
    assert_eq!((mine.wakes(), task.wakes()), (1, 1));
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!(counters.polls(), 4);
    let source = gather.get_mut(id).expect("held");
    assert_eq!(source.poll_next(&mut cx), Poll::Ready(Some(2)));
    // It holds no waker of the `Gather`'s now, which polls it no more.
    handle.send(3);
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    assert_eq!((counters.polls(), task.wakes()), (5, 1));
}

#[test]
fn iter_and_iter_mut_go_over_every_source_in_slot_order_with_an_exact_len() {
    // Turns of one item: the sources are polled in rotation.
    let mut gather = Gather::new().with_turn(NonZeroU32::MIN);
    let ids: Vec<SourceId> = (0..5).map(|key| gather.push(Meter::new(key, 10))).collect();
    assert!(gather.remove(ids[0]).is_some());
    assert!(gather.remove(ids[3]).is_some());
    let held = [ids[1], ids[2], ids[4]];

    let mut sources = gather.iter();
    assert_eq!(sources.len(), 3);
    assert_eq!(sources.size_hint(), (3, Some(3)));
    let (first, source) = sources.next().expect("three held");
    assert_eq!((first, source.key), (ids[1], 1));
    assert_eq!(sources.len(), 2);
    assert_eq!(format!("{sources:?}"), "Sources { len: 2, .. }");
    let rest: Vec<SourceId> = sources.clone().map(|(id, _)| id).collect();
    assert_eq!(rest, held[1..]);
    assert_eq!(sources.by_ref().count(), 2);
    assert_eq!((sources.len(), sources.next().is_none()), (0, true));
    assert!(sources.next().is_none(), "fused");

    // Reach every source: read and reset the poll count each keeps.
    for _ in 0..9 {
        let _ = poll_noop(&mut gather);
    }
    let mut polls = Vec::new();
    let mut sources: SourcesMut<'_, Meter> = gather.iter_mut();
    assert_eq!(sources.len(), 3);
    for (id, mut source) in sources.by_ref() {
        polls.push((id, source.polls));
        source.polls = 0;
    }
    assert!(sources.next().is_none(), "fused");
    assert_eq!(polls, held.iter().map(|&id| (id, 3)).collect::<Vec<_>>());
    assert!(gather.iter().all(|(_, source)| source.polls == 0));
}

#[test]
fn iter_mut_pins_sources_that_are_not_unpin() {
    let countdown = |n: u32| {
        stream::unfold(n, |left| async move {
            futures::future::ready(()).await;
            left.checked_sub(1).map(|left| (left, left))
        })
    };
    let mut gather = confluo::gather([countdown(2), countdown(3)]);
    let mut cx = Context::from_waker(Waker::noop());
    let firsts: Vec<Poll<Option<u32>>> = gather
        .iter_mut()
        .map(|(_, mut source)| source.as_mut().poll_next(&mut cx))
        .collect();
    assert_eq!(firsts, [Poll::Ready(Some(1)), Poll::Ready(Some(2))]);
    let mut rest: Vec<u32> = futures::executor::block_on(gather.collect());
    rest.sort_unstable();
    assert_eq!(rest, [0, 0, 1]);
}

#[test]
fn clear_drops_every_source_at_once_and_leaves_a_gather_that_works() {
    let counters = Counters::new();
    let (sources, handles) = manuals(3, &counters);
    let mut gather = Gather::with_capacity(3);
    let old: Vec<SourceId> = sources
        .into_iter()
        .map(|s| gather.push(s.boxed()))
        .collect();
    let (task, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut gather, &waker), Poll::Pending);
    gather.clear();
    assert_eq!(counters.drops(), 3, "released at once");
    assert!(gather.is_empty() && gather.is_terminated());
    assert_eq!(gather.iter().len(), 0);
    for id in old {
        assert_stale(&mut gather, id);
    }
    assert_eq!(poll_once(&mut gather, &waker), Poll::Ready(None));
    gather.clear(); // nothing to clear
                    // The task waiting on the `Gather` is still the one woken for a push.
    let wakes = task.wakes();
    gather.push(stream::iter(vec![7, 8]).boxed());
    assert_eq!(task.wakes(), wakes + 1);
    drop(handles);
    let items: Vec<usize> = futures::executor::block_on(gather.collect());
    assert_eq!(items, [7, 8]);
}

#[test]
fn no_stale_wake_of_a_cleared_source_reaches_a_later_source_in_its_slot() {
    // 130 sources over three chunks of woken bits.
    const N: usize = 130;
    let old = Counters::new();
    let (sources, handles) = manuals(N, &old);
    let mut gather: Gather<Manual<usize>> = sources.into_iter().collect();
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    let stale: Vec<Waker> = handles.iter().filter_map(Handle::waker).collect();
    assert_eq!((stale.len(), old.polls()), (N, N));

    // Mid-stream: a third of the sources were woken from other threads and
    // one yielded an item (its turn goes on), with the rest of that third
    // in line; another third woke after that, their wakes not taken yet.
    send_from_threads(&handles[..N / 3]);
    assert!(matches!(poll_noop(&mut gather), Poll::Ready(Some(_))));
    send_from_threads(&handles[N / 3..2 * N / 3]);
    let polled = old.polls();

    gather.clear();
    assert_eq!(old.drops(), N, "every source released at once");
    assert!(gather.is_empty());

    // New sources in the slots of the cleared ones: each is polled once,
    // for its arrival, whatever wakes of the old ones were pending.
    let fresh = Counters::new();
    let (sources, fresh_handles) = manuals(N, &fresh);
    let first: Vec<SourceId> = sources.into_iter().map(|s| gather.push(s)).collect();
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    assert_eq!(fresh.polls(), N, "each new source once");
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    assert_eq!(fresh.polls(), N, "and not again for an old wake");

    // The old wakers, fired now from other threads, reach nobody.
    std::thread::scope(|scope| {
        for waker in &stale {
            scope.spawn(move || waker.wake_by_ref());
        }
    });
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    assert_eq!((fresh.polls(), old.polls()), (N, polled));

    // Cleared again: the slots of the new sources serve the next ones, which
    // are polled once each, whatever the wakers of the sources before do.
    gather.clear();
    let newer = Counters::new();
    let (sources, newer_handles) = manuals(N, &newer);
    let second: Vec<SourceId> = sources.into_iter().map(|s| gather.push(s)).collect();
    let reused = second
        .iter()
        .filter(|id| first.iter().any(|old| old.index() == id.index()))
        .count();
    assert_eq!(reused, N, "every slot reused");
    let fresh_stale: Vec<Waker> = fresh_handles.iter().filter_map(Handle::waker).collect();
    assert_eq!(fresh_stale.len(), N);
    for waker in stale.iter().chain(&fresh_stale) {
        waker.wake_by_ref();
    }
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    assert_eq!(poll_noop(&mut gather), Poll::Pending);
    assert_eq!(newer.polls(), N);
    assert_eq!(fresh.drops(), N);

    // And they deliver every item.
    send_from_threads(&newer_handles);
    newer_handles.iter().for_each(Handle::close);
    let mut items: Vec<usize> = futures::executor::block_on(gather.collect());
    items.sort_unstable();
    assert_eq!(items, (0..N).collect::<Vec<_>>());
    drop((handles, fresh_handles));
}

#[test]
fn clear_ends_the_turn_in_progress() {
    let counters = Counters::new();
    let mut gather: Gather<Repeat> = repeats(0..2, &counters).collect();
    assert_eq!(gather.next_item(), 0, "slot 0's turn begins");
    gather.clear();
    gather.extend(repeats(2..4, &counters));
    let polls = counters.polls();
    // The new source in slot 0 does not inherit the rest of the old turn:
    // each source gets whole turns of its own.
    let turn = Gather::<Repeat>::TURN as usize;
    let keys: Vec<usize> = (0..2 * turn).map(|_| gather.next_item()).collect();
    let (first, second) = keys.split_at(turn);
    assert!(first.iter().all(|&key| key == first[0]), "{keys:?}");
    assert!(second.iter().all(|&key| key == second[0]), "{keys:?}");
    assert_eq!(first[0] + second[0], 2 + 3);
    assert_eq!(counters.polls(), polls + 2 * turn, "one poll per item");
    assert_eq!(counters.drops(), 2);
}

/// Panics when dropped.
struct PanicsOnDrop;

impl Stream for PanicsOnDrop {
    type Item = ();
    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<()>> {
        Poll::Pending
    }
}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("a source that panics when dropped");
    }
}

#[test]
fn a_source_that_panics_when_cleared_leaves_the_sources_before_it() {
    let counters = Counters::new();
    let mut gather = Gather::new();
    let first = gather.push(manual::<()>(&counters).0.boxed());
    let panicky = gather.push(PanicsOnDrop.boxed());
    let last = gather.push(manual::<()>(&counters).0.boxed());
    let panic = catch_unwind(AssertUnwindSafe(|| gather.clear()));
    assert!(panic.is_err());
    assert_eq!(counters.drops(), 1, "the last slot's source is gone");
    assert!(gather.contains(first));
    assert!(!gather.contains(panicky) && !gather.contains(last));
    assert_eq!(gather.len(), 1);
    gather.clear();
    assert_eq!(counters.drops(), 2);
}

#[test]
fn into_iterator_by_value_takes_the_sources_out_in_slot_order() {
    let counters = Counters::new();
    let gather: Gather<Repeat> = repeats(0..3, &counters).collect();
    let mut sources: IntoSources<Repeat> = gather.into_iter();
    assert_eq!(sources.len(), 3);
    assert_eq!(format!("{sources:?}"), "IntoSources { len: 3, .. }");
    let mut first = sources.next().expect("three");
    assert_eq!((first.key, sources.len()), (0, 2));
    assert_eq!(counters.drops(), 0, "the caller holds them");
    // A source taken out is the caller's to poll, with a waker of theirs.
    assert_eq!(poll_noop(&mut first), Poll::Ready(Some(0)));
    drop(sources);
    assert_eq!(counters.drops(), 2, "the rest dropped with the iterator");

    let gather = confluo::gather((3..5).map(|key| Meter::new(key, 0)));
    let keys: Vec<usize> = gather.into_sources().map(|source| source.key).collect();
    assert_eq!(keys, [3, 4]);
    let mut none = Gather::<Meter>::new().into_iter();
    assert!(none.next().is_none() && none.next().is_none());
}

#[test]
fn into_iterator_by_reference_gives_what_iter_and_iter_mut_give() {
    let mut gather = Gather::new();
    let ids: Vec<SourceId> = (0..3).map(|key| gather.push(Meter::new(key, 1))).collect();
    let mut seen = Vec::new();
    for (id, source) in &gather {
        seen.push((id, source.key));
    }
    assert_eq!(
        seen,
        ids.iter()
            .zip(0..)
            .map(|(&id, k)| (id, k))
            .collect::<Vec<_>>()
    );
    for (_, mut source) in &mut gather {
        source.key += 10;
    }
    let by_ref: Sources<'_, Meter> = (&gather).into_iter();
    assert_eq!(by_ref.map(|(_, s)| s.key).collect::<Vec<_>>(), [10, 11, 12]);
    let by_mut: SourcesMut<'_, Meter> = (&mut gather).into_iter();
    assert_eq!(by_mut.len(), 3);
}

#[test]
fn with_capacity_builds_an_empty_gather_that_numbers_slots_from_zero() {
    for capacity in [0, 1, 64, 65, 1_000] {
        let mut gather = Gather::with_capacity(capacity);
        assert!(gather.is_empty() && gather.is_terminated());
        assert_eq!(poll_noop(&mut gather), Poll::Ready(None));
        let n = capacity.max(3);
        for key in 0..n {
            assert_eq!(gather.push(Meter::new(key, 1)).index(), key);
        }
        let mut items: Vec<usize> = futures::executor::block_on(gather.collect());
        items.sort_unstable();
        assert_eq!(items, (0..n).collect::<Vec<_>>());
    }
}

#[test]
fn the_iterators_are_send_and_sync_as_their_sources_are() {
    fn send_sync<T: Send + Sync>() {}
    type Plain = stream::Iter<std::vec::IntoIter<u8>>;
    send_sync::<Sources<'static, Plain>>();
    send_sync::<SourcesMut<'static, Plain>>();
    send_sync::<IntoSources<Plain>>();
    fn unpin<T: Unpin>() {}
    unpin::<IntoSources<std::marker::PhantomPinned>>();
}
