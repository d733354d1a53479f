//! The capacity of a bridge counts records, as its docs say. With
//! `Bridge::new(8).batch(4)` the channel was bounded in messages (8 / 4 = 2),
//! so `try_send` took only 2 single records before it said the bridge was
//! full, while `capacity()` said 8; a pump filled it with whole batches only,
//! 8 records of a capacity of 10. Now a batching bridge counts its room in
//! records: single records fill it to the capacity, and batches never take
//! more than the room left.
#![cfg(feature = "std")]

use std::num::NonZeroUsize;
use std::thread;

use confluo::{Bridge, TrySendError};
use futures::stream;

mod common;
use common::{poll_future, CountingWaker};

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

#[test]
fn try_send_fills_the_bridge_to_its_capacity_in_records() {
    for (capacity, batch) in [(8, 4), (8, 1), (5, 3), (3, 8), (1, 2), (64, 64)] {
        let (producer, mut consumer) = Bridge::new(nz(capacity)).batch(nz(batch)).open();
        assert_eq!(producer.capacity(), capacity);
        for record in 0..capacity {
            assert!(
                producer.try_send(record).is_ok(),
                "capacity {capacity}, batch {batch}: record {record} refused"
            );
        }
        assert!(
            matches!(producer.try_send(capacity), Err(TrySendError::Full(_))),
            "capacity {capacity}, batch {batch}: a record past the capacity accepted"
        );
        let stats = producer.stats();
        assert_eq!(
            (stats.depth(), stats.peak_depth()),
            (capacity as u64, capacity)
        );

        // Each record handed out makes room for one more.
        assert_eq!(consumer.recv_blocking(), Some(0));
        assert!(producer.try_send(capacity).is_ok());
        assert!(matches!(producer.try_send(0), Err(TrySendError::Full(_))));
    }
}

#[test]
fn a_batching_pump_fills_the_bridge_to_its_capacity_and_no_more() {
    let (producer, mut consumer) = Bridge::new(nz(10)).batch(nz(4)).open();
    let mut pump = Box::pin(producer.clone().pump(stream::iter(0..100u32)));
    let (wakes, waker) = CountingWaker::new();
    assert!(poll_future(&mut pump, &waker).is_pending());
    // Batches of 4, 4, then 2: the room left.
    assert_eq!(producer.stats().depth(), 10);
    assert_eq!(producer.stats().full_waits(), 1);

    // A batch in hand is still in the bridge until all of it is handed out.
    assert_eq!(consumer.recv_blocking(), Some(0));
    assert!(poll_future(&mut pump, &waker).is_pending());
    assert_eq!(producer.stats().depth(), 10);
    for expected in 1..4 {
        assert_eq!(consumer.recv_blocking(), Some(expected));
    }
    assert_eq!(producer.stats().depth(), 6);
    // The waiting pump is woken once half the bridge is free.
    assert_eq!(wakes.wakes(), 0);
    for expected in 4..8 {
        assert_eq!(consumer.recv_blocking(), Some(expected));
    }
    assert_eq!(wakes.wakes(), 1, "room given back wakes the waiting pump");
    assert!(poll_future(&mut pump, &waker).is_pending());
    // Two more batches of 4: full again.
    let stats = producer.stats();
    assert_eq!((stats.sent(), stats.received(), stats.depth()), (18, 8, 10));
    assert_eq!((stats.peak_depth(), stats.full_waits()), (10, 2));
}

#[test]
fn a_bridge_never_holds_more_than_its_capacity() {
    for (capacity, batch) in [(1, 1), (8, 4), (5, 3), (16, 16), (3, 64), (100, 7)] {
        let (producer, mut consumer) = Bridge::new(nz(capacity)).batch(nz(batch)).open();
        let pump = thread::spawn(move || smol::block_on(producer.pump(stream::iter(0..2_000u32))));
        let mut expected = 0;
        while let Some(record) = consumer.recv_blocking() {
            assert_eq!(record, expected);
            expected += 1;
            let depth = consumer.stats().depth() as usize;
            assert!(
                depth <= capacity,
                "depth {depth} > capacity {capacity} (batch {batch})"
            );
        }
        assert_eq!(pump.join().unwrap().forwarded(), 2_000);
        let stats = consumer.stats();
        assert!(stats.peak_depth() <= capacity);
        assert_eq!((stats.sent(), stats.received()), (2_000, 2_000));
    }
}
