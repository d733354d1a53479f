//! A consumer of a batching bridge that found the bridge closed and drained
//! ended at once, even while another consumer still held the rest of a
//! batch. When that other consumer was dropped afterwards, it put its
//! records back for consumers that had already ended: a `for` loop over the
//! survivor had finished, and records the bridge had accepted were never
//! received. A consumer now ends only when no other consumer holds records:
//! until then it waits for them to be handed out or given back.
#![cfg(feature = "std")]

use std::num::NonZeroUsize;
use std::pin::pin;
use std::task::Poll;
use std::thread;

use confluo::Bridge;
use futures::stream;

mod common;
use common::{poll_future, CountingWaker};

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

fn sorted(mut records: Vec<u32>) -> Vec<u32> {
    records.sort_unstable();
    records
}

#[test]
fn an_async_consumer_waits_for_the_batch_another_holds_and_gets_it_back() {
    let (producer, consumer) = Bridge::new(nz(64)).batch(nz(8)).open();
    // The pump owns the only producer: the bridge is closed once it ends.
    smol::block_on(producer.pump(stream::iter(0..16u32)));

    let mut holder = consumer.clone();
    assert_eq!(smol::block_on(holder.recv()), Some(0));

    let mut survivor = consumer;
    let (wakes, waker) = CountingWaker::new();
    let mut all = pin!(async move {
        let mut got = Vec::new();
        while let Some(record) = survivor.recv().await {
            got.push(record);
        }
        (survivor, got)
    });
    // The survivor drains the other batch, then finds the bridge closed and
    // drained while the holder has seven records in hand.
    assert!(
        poll_future(&mut all, &waker).is_pending(),
        "the survivor ended while another consumer held records"
    );
    drop(holder);
    assert_eq!(wakes.wakes(), 1, "the batch given back wakes the survivor");
    let Poll::Ready((survivor, got)) = poll_future(&mut all, &waker) else {
        panic!("the survivor got the batch back and ended");
    };
    assert_eq!(sorted(got), (1..16).collect::<Vec<_>>());
    let stats = survivor.stats();
    assert_eq!((stats.sent(), stats.received(), stats.depth()), (16, 16, 0));
}

#[test]
fn an_async_consumer_ends_once_the_batch_another_holds_is_handed_out() {
    let (producer, consumer) = Bridge::new(nz(64)).batch(nz(8)).open();
    smol::block_on(producer.pump(stream::iter(0..16u32)));

    let mut holder = consumer.clone();
    assert_eq!(smol::block_on(holder.recv()), Some(0));

    let mut survivor = consumer;
    let (wakes, waker) = CountingWaker::new();
    let mut all = pin!(async move {
        let mut got = Vec::new();
        while let Some(record) = survivor.recv().await {
            got.push(record);
        }
        got
    });
    assert!(poll_future(&mut all, &waker).is_pending());
    let held: Vec<u32> = (0..7).map(|_| holder.recv_blocking().unwrap()).collect();
    assert_eq!(held, (1..8).collect::<Vec<_>>());
    assert!(
        wakes.wakes() > 0,
        "the last record handed out wakes the survivor"
    );
    assert_eq!(
        poll_future(&mut all, &waker),
        Poll::Ready((8..16).collect::<Vec<_>>())
    );
    assert_eq!(holder.recv_blocking(), None);
}

#[test]
fn a_for_loop_over_the_survivor_gets_the_batch_given_back_after_it_drained() {
    let (producer, consumer) = Bridge::new(nz(64)).batch(nz(8)).open();
    smol::block_on(producer.pump(stream::iter(0..16u32)));

    let mut holder = consumer.clone();
    assert_eq!(holder.recv_blocking(), Some(0));

    let stats = consumer.clone();
    let survivor = thread::spawn(move || {
        let mut got = Vec::new();
        for record in consumer {
            got.push(record);
        }
        got
    });
    // The survivor hands out the other batch (received counts a batch once
    // all of it is handed out), then finds the bridge drained; give it
    // every chance to end there before the holder goes.
    while stats.stats().received() < 8 {
        thread::yield_now();
    }
    for _ in 0..10_000 {
        if survivor.is_finished() {
            break;
        }
        thread::yield_now();
    }
    drop(holder);
    let got = survivor.join().unwrap();
    assert_eq!(sorted(got), (1..16).collect::<Vec<_>>());
    let stats = stats.stats();
    assert_eq!((stats.sent(), stats.received(), stats.depth()), (16, 16, 0));
}
