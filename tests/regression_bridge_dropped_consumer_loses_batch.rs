//! A consumer of a batching bridge takes a whole batch off the channel and
//! hands its records out one by one. With `Bridge::new(64).batch(8)`, a
//! cloned consumer that took one record and was then dropped lost the other
//! seven of its batch: the remaining consumers never saw them, and
//! `Stats::received` counted them as received all the same. A consumer
//! dropped with records in hand now gives them back to the others, and
//! `received` counts only records handed out.
#![cfg(feature = "std")]

use std::num::NonZeroUsize;
use std::pin::pin;
use std::task::Poll;

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
fn a_dropped_consumer_gives_its_batch_back_while_producers_remain() {
    let (producer, consumer) = Bridge::new(nz(64)).batch(nz(8)).open();
    let pumped = smol::block_on(producer.clone().pump(stream::iter(0..16u32)));
    assert_eq!(pumped.forwarded(), 16);

    let mut clone = consumer.clone();
    assert_eq!(clone.recv_blocking(), Some(0));
    drop(clone);
    assert_eq!(consumer.stats().received(), 1, "one record was handed out");
    assert_eq!(consumer.stats().depth(), 15);

    drop(producer);
    let got = consumer.into_iter().collect::<Vec<_>>();
    assert_eq!(sorted(got), (1..16).collect::<Vec<_>>());
}

#[test]
fn a_dropped_consumer_gives_its_batch_back_after_the_producers_are_gone() {
    let (producer, consumer) = Bridge::new(nz(64)).batch(nz(8)).open();
    // The pump owns the only producer: the bridge is closed once it ends.
    smol::block_on(producer.pump(stream::iter(0..16u32)));

    let mut clone = consumer.clone();
    assert_eq!(clone.recv_blocking(), Some(0));
    drop(clone);

    let stats_at = consumer.clone();
    let got = consumer.into_iter().collect::<Vec<_>>();
    assert_eq!(sorted(got), (1..16).collect::<Vec<_>>());
    let stats = stats_at.stats();
    assert_eq!((stats.sent(), stats.received(), stats.depth()), (16, 16, 0));
}

#[test]
fn an_async_consumer_gets_the_batch_a_dropped_one_gave_back() {
    let (producer, consumer) = Bridge::new(nz(64)).batch(nz(8)).open();
    let got = smol::block_on(async {
        producer.clone().pump(stream::iter(0..16u32)).await;
        let mut clone = consumer.clone();
        assert_eq!(clone.recv().await, Some(0));
        assert_eq!(clone.recv().await, Some(1));
        drop(clone);
        drop(producer);
        let mut consumer = consumer;
        let mut got = Vec::new();
        while let Some(record) = consumer.recv().await {
            got.push(record);
        }
        got
    });
    assert_eq!(sorted(got), (2..16).collect::<Vec<_>>());
}

#[test]
fn a_consumer_parked_on_an_empty_bridge_is_woken_by_a_batch_given_back() {
    let (producer, consumer) = Bridge::new(nz(64)).batch(nz(8)).open();
    smol::block_on(producer.clone().pump(stream::iter(0..8u32)));

    let mut taker = consumer.clone();
    assert_eq!(taker.recv_blocking(), Some(0));
    let mut waiter = consumer;
    let (wakes, waker) = CountingWaker::new();
    {
        let mut recv = pin!(waiter.recv());
        assert!(
            poll_future(&mut recv, &waker).is_pending(),
            "the bridge is empty"
        );
        drop(taker);
        assert_eq!(
            wakes.wakes(),
            1,
            "the batch given back wakes the waiting consumer"
        );
        assert!(matches!(
            poll_future(&mut recv, &waker),
            Poll::Ready(Some(_))
        ));
    }
    drop(producer);
}

#[test]
fn records_left_when_the_last_consumer_goes_stay_counted_in_the_depth() {
    let (producer, mut consumer) = Bridge::new(nz(64)).batch(nz(8)).open();
    smol::block_on(producer.clone().pump(stream::iter(0..16u32)));
    assert_eq!(consumer.recv_blocking(), Some(0));
    drop(consumer);
    // Dropped with the bridge, never received: one record left, fifteen
    // stay in the depth.
    let stats = producer.stats();
    assert_eq!((stats.sent(), stats.received(), stats.depth()), (16, 1, 15));
    assert!(producer.try_send(16).is_err(), "no consumer is left");
}
