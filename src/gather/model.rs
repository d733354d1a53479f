//! The wake path, model-checked with loom: every interleaving (and every
//! weak-memory outcome loom models) of wakes from other threads against the
//! `Gather`'s side of `ready.rs`. The one-element queue that holds the
//! task's waker keeps its own atomics: to loom each of its operations is
//! one indivisible step, so the model checks this crate's protocol around
//! it (the park on the list's head, the handles' fence, and the orderings
//! of the list and the words).
//!
//! ```text
//! RUSTFLAGS="--cfg confluo_loom" cargo test --lib --release --no-default-features --features alloc loom
//! ```
//!
//! The `Gather`'s side is what a poll does when it finds nothing else to
//! do: take the woken chunks, store the task's waker, and park (which
//! fails if a chunk was linked meanwhile). A handle's change is queued
//! from another thread, then the task woken, against a poll that takes
//! the changes, parks, fences and looks at the queue once more (the queue,
//! like the waker's cell, is one step to loom). The property is the one `Gather` promises: no wake is lost.
//! Once both sides are done, every wake was taken by a poll, or the task
//! was woken (or saw a wake pending) after it stored its waker, so it
//! polls again.

extern crate std;

use alloc::sync::Arc as StdArc;
use alloc::vec::Vec;
use core::task::Waker;
use std::task::Wake as StdWake;

use loom::sync::atomic::{fence, AtomicUsize, Ordering};
use loom::thread;

use super::id::SourceId;
use super::ready::{Chunk, Node, Shared};
use super::registry::{Change, Ids, Registry};
use crate::sync::{Arc, Word};

/// The task polling the `Gather`: counts its wakes.
#[derive(Default)]
struct Task {
    wakes: AtomicUsize,
}

impl StdWake for Task {
    fn wake(self: StdArc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// The `Gather`'s side: chunks, the task's waker, and the one it stored last.
struct Side {
    shared: Arc<Shared>,
    chunks: Vec<Arc<Chunk>>,
    task: StdArc<Task>,
    waker: Waker,
    last: Option<Waker>,
}

impl Side {
    fn new(chunks: u32) -> Side {
        let shared = Shared::new();
        let chunks = (0..chunks).map(|id| Chunk::new(&shared, id)).collect();
        let task = StdArc::new(Task::default());
        let waker = Waker::from(StdArc::clone(&task));
        Side {
            shared,
            chunks,
            task,
            waker,
            last: None,
        }
    }

    /// The waker of the source in `slot` (of the first chunk).
    fn source(&self, slot: u32) -> Waker {
        Waker::from(Node::new(&self.chunks[0], slot, 0))
    }

    /// What a poll does when no source has an item: takes the woken bits
    /// (added to `taken`), stores the task's waker and parks, and tells
    /// whether a wake is pending already (the task would then wake itself).
    fn poll(&mut self, taken: &mut Word) -> bool {
        self.shared
            .take_woken(&self.chunks, |_, bits| *taken |= bits);
        !self.shared.park(&self.waker, &mut self.last)
    }

    fn task_wakes(&self) -> usize {
        self.task.wakes.load(Ordering::SeqCst)
    }
}

/// A wake from another thread against one poll: taken, or the task woken.
/// (Both sides run on threads of their own: loom then explores every order
/// of their steps.)
#[test]
fn loom_a_wake_racing_a_poll_is_never_lost() {
    loom::model(|| {
        let mut side = Side::new(1);
        let source = side.source(3);
        let waking = thread::spawn(move || source.wake());
        let polling = thread::spawn(move || {
            let mut taken = 0;
            let again = side.poll(&mut taken);
            (side, taken, again)
        });
        waking.join().unwrap();
        let (side, taken, again) = polling.join().unwrap();
        assert!(
            taken == 1 << 3 || again || side.task_wakes() > 0,
            "a lost wake: not taken, and the task sleeps"
        );
    });
}

/// Two wakers on one chunk, from two threads, against two polls in a row
/// (the second stores the same waker again): every bit is taken by a poll,
/// or left for a poll the task is woken for.
#[test]
fn loom_wakes_on_one_chunk_from_two_threads_are_never_lost() {
    loom::model(|| {
        let mut side = Side::new(1);
        let (a, b) = (side.source(0), side.source(5));
        let waking_a = thread::spawn(move || a.wake());
        let waking_b = thread::spawn(move || b.wake());
        let polling = thread::spawn(move || {
            let mut taken = 0;
            let again = side.poll(&mut taken) && side.poll(&mut taken);
            (side, taken, again)
        });
        waking_a.join().unwrap();
        waking_b.join().unwrap();
        let (mut side, mut taken, again) = polling.join().unwrap();
        if taken != 0b10_0001 {
            let woken = again || side.task_wakes() > 0;
            assert!(woken, "a lost wake: {taken:#b} taken, and the task sleeps");
            // The poll the task comes back for takes the rest.
            side.poll(&mut taken);
            assert_eq!(taken, 0b10_0001);
        }
    });
}

/// Parks `side` (of two chunks) with nothing pending, then wakes a source
/// of each chunk from a thread of its own: bits `0b11`, taken together.
fn park_then_wake_both_chunks(side: &mut Side) -> [thread::JoinHandle<()>; 2] {
    let mut taken = 0;
    assert!(!side.poll(&mut taken), "nothing pending: parked");
    let wakers = [
        side.source(1),
        Waker::from(Node::new(&side.chunks[1], 64, 0)),
    ];
    wakers.map(|waker| thread::spawn(move || waker.wake()))
}

/// Two wakes on two chunks against two polls in a row, the first parked
/// already: the wake that unparks the second park may find the waker taken
/// by the wake that unparked the first. Every bit is still taken, or the
/// last poll sees it pending, or the task is woken after that poll began.
#[test]
fn loom_a_wake_that_finds_the_waker_taken_is_never_lost() {
    loom::model(|| {
        let mut side = Side::new(2);
        let waking = park_then_wake_both_chunks(&mut side);
        let polling = thread::spawn(move || {
            let mut taken = 0;
            let mut last = (0, false);
            for _ in 0..2 {
                let wakes = side.task_wakes();
                last = (wakes, side.poll(&mut taken));
            }
            (side, taken, last)
        });
        for thread in waking {
            thread.join().unwrap();
        }
        let (side, taken, (wakes, again)) = polling.join().unwrap();
        if taken != 0b11 {
            assert!(
                again || side.task_wakes() > wakes,
                "a lost wake: {taken:#b} taken, and the task sleeps"
            );
        }
    });
}

/// The `Gather` parked under one task, then polled by another, while two
/// wakes race with that poll: each is taken by the new task's poll, or the
/// poll sees it pending, or the new task is woken. A wake that reaches the
/// first task instead would be lost: that task no longer polls.
#[test]
fn loom_a_wake_after_the_gather_moved_to_another_task_reaches_the_new_one() {
    loom::model(|| {
        let mut side = Side::new(2);
        // Made before any thread starts, so that every thread sees it made.
        let other = StdArc::new(Task::default());
        let moved = Waker::from(StdArc::clone(&other));
        let waking = park_then_wake_both_chunks(&mut side);
        let polling = thread::spawn(move || {
            side.waker = moved;
            let mut taken = 0;
            let again = side.poll(&mut taken);
            (side, taken, again)
        });
        for thread in waking {
            thread.join().unwrap();
        }
        let (_side, taken, again) = polling.join().unwrap();
        assert!(
            taken == 0b11 || again || other.wakes.load(Ordering::SeqCst) > 0,
            "a lost wake: {taken:#b} taken, and the new task sleeps"
        );
    });
}

/// A stale wake against the retirement of its source, while the slot's
/// next source is woken: the stale wake marks the slot or does nothing
/// (never hangs, never panics), and the next source's wake is never lost.
#[test]
fn loom_a_wake_racing_its_sources_removal_never_hides_the_next_sources_wake() {
    loom::model(|| {
        let mut side = Side::new(1);
        let old = Node::new(&side.chunks[0], 2, 0);
        let stale = Waker::from(Arc::clone(&old));
        let next = Waker::from(Node::new(&side.chunks[0], 2, 1));
        let waking_stale = thread::spawn(move || stale.wake());
        let waking_next = thread::spawn(move || next.wake());
        let polling = thread::spawn(move || {
            old.retire();
            let mut taken = 0;
            let again = side.poll(&mut taken);
            (side, taken, again)
        });
        waking_stale.join().unwrap();
        waking_next.join().unwrap();
        let (side, taken, again) = polling.join().unwrap();
        assert!(
            taken & 1 << 2 != 0 || again || side.task_wakes() > 0,
            "a lost wake: the next source's wake was not taken, and the task sleeps"
        );
    });
}

/// Wakes while the `Gather` is dropped: each links its chunk before the
/// close or nothing after it, ends (no endless retry), and wakes the task
/// at most once.
#[test]
fn loom_a_wake_racing_the_drop_of_the_gather_is_harmless() {
    loom::model(|| {
        let mut side = Side::new(2);
        let mut taken = 0;
        side.poll(&mut taken);
        let (a, b) = (
            side.source(1),
            Waker::from(Node::new(&side.chunks[1], 64, 0)),
        );
        let waking_a = thread::spawn(move || a.wake());
        let waking_b = thread::spawn(move || b.wake());
        let closing = thread::spawn(move || {
            side.shared.close();
            side
        });
        waking_a.join().unwrap();
        waking_b.join().unwrap();
        let side = closing.join().unwrap();
        assert!(side.task_wakes() <= 1);
        // Later wakes only cost a check.
        side.source(7).wake();
        assert!(side.task_wakes() <= 1);
    });
}

/// A push through a handle and the last handle's drop, on two threads,
/// against a poll: the change is taken, or the task polls again (woken or
/// seeing it pending); the handle's going is seen, or the task is woken.
#[test]
fn loom_a_handles_change_and_its_going_are_never_lost() {
    loom::model(|| {
        let mut side = Side::new(1);
        let registry = StdArc::new(Registry::new(
            Arc::new(Ids::new(0)),
            Arc::clone(&side.shared),
        ));
        registry.add_handle();
        registry.add_handle();
        let (pushing, going) = (StdArc::clone(&registry), StdArc::clone(&registry));
        let pusher = thread::spawn(move || {
            let id = pushing.push(7u8).unwrap();
            pushing.drop_handle();
            id
        });
        let leaver = thread::spawn(move || going.drop_handle());
        let polling = thread::spawn(move || {
            let mut taken = Vec::new();
            for _ in 0..registry.queued() {
                if let Some(Change::Push(id, source)) = registry.next_change() {
                    taken.push((id, source));
                }
            }
            let handles = registry.has_handles();
            let mut taken_bits = 0;
            side.poll(&mut taken_bits);
            // With handles, the poll fences once parked (`poll.rs`).
            fence(Ordering::SeqCst);
            let again = registry.has_changes() || !registry.has_handles();
            (side, registry, taken, handles, again)
        });
        let id = pusher.join().unwrap();
        leaver.join().unwrap();
        let (side, registry, taken, handles_seen, again) = polling.join().unwrap();
        let woken = again || side.task_wakes() > 0;
        if taken != [(id, 7)] {
            assert!(woken, "a lost change: not taken, and the task sleeps");
            assert!(registry.has_changes());
        }
        if handles_seen {
            assert!(woken, "the last handle went, and the task sleeps");
        }
        assert_eq!(id, SourceId::new(0, 0));
    });
}
