//! The room of a batching bridge, model-checked with loom: every
//! interleaving (and every weak-memory outcome loom models) of a waiter
//! against room given back. The event the waiters listen on is not
//! loom-aware, and to loom each of its operations would be one indivisible
//! step: the model checks this crate's protocol around it, the room, the
//! count of waiters and their orderings.
//!
//! ```text
//! RUSTFLAGS="--cfg confluo_loom" cargo test --lib --release --no-default-features --features alloc loom
//! ```
//!
//! A waiter counts itself and, having begun to listen, looks once more; if
//! it finds nothing it sleeps until notified. Room given back notifies when
//! it sees a waiter. The property: once both sides are done, the waiter
//! found what it looked for, or the side giving room back saw it and
//! notifies it. Both sides run on threads of their own, so loom explores
//! every order of their steps.

use core::mem;

use loom::thread;

use super::room::{Left, Room};
use crate::sync::Arc;

/// A producer finds the bridge full and waits for room while a consumer
/// hands out the one record in it.
#[test]
fn loom_a_producer_waiting_for_room_is_never_left_asleep() {
    loom::model(|| {
        let room = Arc::new(Room::<u32>::new(1));
        // A record in the bridge: no room left.
        room.try_take(1).expect("an empty bridge has room").sent();
        let producer = {
            let room = Arc::clone(&room);
            thread::spawn(move || {
                // Counted until it is notified: it sleeps, as far as the
                // model goes.
                mem::forget(room.waiting());
                room.take_waiting(1).map(|taken| taken.sent()).is_some()
            })
        };
        let consumer = {
            let room = Arc::clone(&room);
            thread::spawn(move || room.free_up(1))
        };
        let took = producer.join().unwrap();
        let notified = consumer.join().unwrap();
        assert!(
            took || notified,
            "the producer sleeps on room given back, and nobody notifies it"
        );
    });
}

/// After every producer is gone, a consumer finds the channel drained while
/// another consumer holds the rest of a batch, and waits; the other hands
/// the batch out.
#[test]
fn loom_a_consumer_waiting_for_records_another_holds_is_never_left_asleep() {
    loom::model(|| {
        let room = Arc::new(Room::<u32>::new(4));
        // Two records of a batch held by the other consumer.
        room.try_take(2).expect("an empty bridge has room").sent();
        let waiter = {
            let room = Arc::clone(&room);
            thread::spawn(move || {
                mem::forget(room.waiting());
                matches!(room.look_left(), Left::Nothing)
            })
        };
        let holder = {
            let room = Arc::clone(&room);
            thread::spawn(move || room.free_up(2))
        };
        let ended = waiter.join().unwrap();
        let notified = holder.join().unwrap();
        assert!(
            ended || notified,
            "the consumer waits for records handed out, and nobody notifies it"
        );
    });
}
