//! The bridge's ends as users of channels expect them: the consumer as a
//! stream and with `try_recv`, `recv_timeout`, `close` and `release`; the
//! producer's `close`; cancel safety, counted record by record.
#![cfg(feature = "std")]

mod common;

use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use common::{poll_future, CountingWaker, XorShift};
use confluo::{Bridge, Consumer, Pumped, RecvTimeoutError, TryRecvError};
// `StreamExt` is named at each call, not imported: its methods and
// `Iterator`'s share names (`next`, `collect`), and a consumer has both.
use futures::stream::{self, FusedStream, Stream};

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

/// Polls the consumer as a stream once.
fn poll_stream<T>(consumer: &mut Consumer<T>, waker: &Waker) -> Poll<Option<T>> {
    Pin::new(consumer).poll_next(&mut Context::from_waker(waker))
}

/// Ready after `polls` polls, waking itself each time it is not: the other
/// side of a `select` that cancels a receive half-way.
struct After {
    polls: u64,
}

impl Future for After {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.polls == 0 {
            return Poll::Ready(());
        }
        self.polls -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Asserts that `got` holds each of `0..n` exactly once.
fn each_exactly_once(mut got: Vec<u32>, n: u32) {
    got.sort_unstable();
    let missing_or_twice: Vec<_> = got
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
        .collect();
    assert!(missing_or_twice.is_empty(), "twice: {missing_or_twice:?}");
    assert_eq!(got, (0..n).collect::<Vec<_>>());
}

#[test]
fn a_consumer_is_an_unpin_fused_stream_with_fused_iterators() {
    fn fused<T>()
    where
        T: FusedStream + Unpin + IntoIterator,
        T::IntoIter: std::iter::FusedIterator,
        for<'a> &'a mut T: IntoIterator,
        for<'a> <&'a mut T as IntoIterator>::IntoIter: std::iter::FusedIterator,
    {
    }
    fused::<Consumer<u8>>();
    // Records that are not `Unpin` do not matter: records are never pinned.
    fused::<Consumer<std::marker::PhantomPinned>>();
}

#[test]
fn the_stream_receives_every_record_in_order_on_smol() {
    for batch in [1, 7] {
        let (producer, mut consumer) = Bridge::new(nz(16)).batch(nz(batch)).open();
        let got: Vec<u32> = smol::block_on(async {
            let pump = smol::spawn(producer.pump(stream::iter(0..1_000u32)));
            let mut got = Vec::new();
            while let Some(record) = stream::StreamExt::next(&mut consumer).await {
                got.push(record);
            }
            assert_eq!(pump.await.forwarded(), 1_000);
            got
        });
        assert_eq!(got, (0..1_000).collect::<Vec<_>>(), "batch {batch}");
        assert!(consumer.is_terminated());
        let (_, waker) = CountingWaker::new();
        assert_eq!(poll_stream(&mut consumer, &waker), Poll::Ready(None));
        assert_eq!(consumer.recv_blocking(), None);
    }
}

async fn pump_and_collect_on_tokio(batch: usize) -> Vec<u32> {
    let (producer, consumer) = Bridge::new(nz(16)).batch(nz(batch)).open();
    let pump = tokio::spawn(producer.pump(stream::iter(0..2_000u32)));
    let got = tokio::spawn(stream::StreamExt::collect::<Vec<u32>>(consumer));
    assert_eq!(pump.await.unwrap().forwarded(), 2_000);
    got.await.unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn the_stream_receives_every_record_in_order_on_tokio_current_thread() {
    for batch in [1, 7] {
        let got = pump_and_collect_on_tokio(batch).await;
        assert_eq!(got, (0..2_000).collect::<Vec<_>>(), "batch {batch}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_receives_every_record_in_order_on_tokio_multi_thread() {
    for batch in [1, 7] {
        let got = pump_and_collect_on_tokio(batch).await;
        assert_eq!(got, (0..2_000).collect::<Vec<_>>(), "batch {batch}");
    }
}

#[test]
fn async_and_blocking_consumers_mixed_lose_nothing() {
    const N: u32 = 20_000;
    for batch in [1, 16] {
        let (producer, consumer) = Bridge::new(nz(64)).batch(nz(batch)).open();
        let blocking: Vec<_> = (0..2)
            .map(|_| {
                let consumer = consumer.clone();
                thread::spawn(move || consumer.into_iter().collect::<Vec<u32>>())
            })
            .collect();
        let streams: Vec<_> = (0..2)
            .map(|_| {
                let consumer = consumer.clone();
                thread::spawn(move || {
                    smol::block_on(stream::StreamExt::collect::<Vec<u32>>(consumer))
                })
            })
            .collect();
        let mut by_recv = consumer;
        let by_recv = thread::spawn(move || {
            smol::block_on(async {
                let mut got = Vec::new();
                while let Some(record) = by_recv.recv().await {
                    got.push(record);
                }
                got
            })
        });
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let producer = producer.clone();
                let records = stream::iter((p..N).step_by(2));
                thread::spawn(move || smol::block_on(producer.pump(records)))
            })
            .collect();
        drop(producer);
        for pump in producers {
            assert_eq!(pump.join().unwrap().forwarded(), u64::from(N / 2));
        }
        let mut got = Vec::new();
        for consumer in blocking.into_iter().chain(streams).chain([by_recv]) {
            got.extend(consumer.join().unwrap());
        }
        each_exactly_once(got, N);
    }
}

#[test]
fn try_recv_tells_empty_from_closed() {
    let (producer, mut consumer) = Bridge::new(nz(4)).open();
    assert_eq!(consumer.try_recv(), Err(TryRecvError::Empty));
    assert!(consumer.try_recv().unwrap_err().is_empty());
    producer.try_send(1).unwrap();
    producer.try_send(2).unwrap();
    assert_eq!(consumer.try_recv(), Ok(1));
    drop(producer);
    // Closed, but not drained: the record left comes first.
    assert_eq!(consumer.try_recv(), Ok(2));
    assert_eq!(consumer.try_recv(), Err(TryRecvError::Closed));
    assert!(consumer.try_recv().unwrap_err().is_closed());
    assert!(consumer.is_terminated());
}

#[test]
fn try_recv_is_empty_while_another_consumer_holds_a_batch() {
    let (producer, mut holder) = Bridge::new(nz(16)).batch(nz(8)).open();
    let mut other = holder.clone();
    smol::block_on(producer.pump(stream::iter(0..4u32)));
    assert_eq!(holder.try_recv(), Ok(0)); // holds 1, 2, 3
    assert_eq!(other.try_recv(), Err(TryRecvError::Empty));
    assert!(!other.is_terminated());
    holder.release();
    assert_eq!(
        [other.try_recv(), other.try_recv(), other.try_recv()],
        [Ok(1), Ok(2), Ok(3)]
    );
    assert_eq!(other.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(holder.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn recv_timeout_expires_on_an_empty_bridge() {
    let (producer, mut consumer) = Bridge::new(nz(4)).batch(nz(2)).open();
    for timeout in [Duration::ZERO, Duration::from_millis(20)] {
        let error = consumer.recv_timeout(timeout).unwrap_err();
        assert_eq!(error, RecvTimeoutError::Timeout);
        assert!(error.is_timeout());
    }
    // A record ready now comes even with no time to wait.
    producer.try_send(5).unwrap();
    assert_eq!(consumer.recv_timeout(Duration::ZERO), Ok(5));
    drop(producer);
    let error = consumer.recv_timeout(Duration::from_secs(60)).unwrap_err();
    assert_eq!(error, RecvTimeoutError::Closed);
    assert!(error.is_closed());
}

#[test]
fn recv_timeout_takes_a_record_sent_from_another_thread() {
    for batch in [1, 4] {
        let (producer, mut consumer) = Bridge::new(nz(4)).batch(nz(batch)).open();
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            smol::block_on(producer.send(9)).unwrap();
        });
        assert_eq!(consumer.recv_timeout(Duration::from_secs(60)), Ok(9));
        sender.join().unwrap();
        assert_eq!(
            consumer.recv_timeout(Duration::from_secs(60)),
            Err(RecvTimeoutError::Closed)
        );
    }
}

#[test]
fn recv_timeout_waits_for_a_batch_another_consumer_releases() {
    let (producer, mut holder) = Bridge::new(nz(16)).batch(nz(8)).open();
    let mut other = holder.clone();
    smol::block_on(producer.pump(stream::iter(0..3u32)));
    assert_eq!(holder.try_recv(), Ok(0));
    // Closed and drained, but the holder has 1 and 2: not the end.
    assert_eq!(
        other.recv_timeout(Duration::from_millis(10)),
        Err(RecvTimeoutError::Timeout)
    );
    let waiter = thread::spawn(move || {
        let mut got = Vec::new();
        loop {
            match other.recv_timeout(Duration::from_secs(60)) {
                Ok(record) => got.push(record),
                Err(error) => return (got, error),
            }
        }
    });
    holder.release();
    assert_eq!(
        waiter.join().unwrap(),
        (vec![1, 2], RecvTimeoutError::Closed)
    );
}

#[test]
fn a_consumer_closing_stops_the_producers_and_drains() {
    for batch in [1, 4] {
        let (producer, mut consumer) = Bridge::new(nz(8)).batch(nz(batch)).open();
        let other = consumer.clone();
        producer.try_send(0).unwrap();
        assert!(!consumer.is_closed() && !producer.is_closed());
        // A pump waiting for room fails as when every consumer is gone.
        let waiting = thread::spawn({
            let producer = producer.clone();
            move || smol::block_on(producer.pump(stream::iter(1..u32::MAX)))
        });
        while consumer.stats().full_waits() == 0 {
            thread::yield_now();
        }
        assert!(consumer.close());
        assert!(!consumer.close(), "closed already");
        assert!(consumer.is_closed() && producer.is_closed());
        match waiting.join().unwrap() {
            Pumped::ConsumersGone { forwarded, unsent } => {
                assert_eq!(forwarded, 7, "batch {batch}");
                assert!(!unsent.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert!(producer.try_send(99).unwrap_err().is_closed());
        assert!(smol::block_on(producer.send(99)).is_err());
        // The consumers drain the bridge, then end, with a producer alive.
        let mut got: Vec<u32> = consumer.iter().collect();
        got.extend(smol::block_on(stream::StreamExt::collect::<Vec<_>>(other)));
        assert_eq!(got, (0..8).collect::<Vec<_>>(), "batch {batch}");
        assert_eq!(consumer.try_recv(), Err(TryRecvError::Closed));
    }
}

#[test]
fn a_producer_closing_ends_the_consumers_though_others_live() {
    for batch in [1, 4] {
        let (producer, consumer) = Bridge::new(nz(8)).batch(nz(batch)).open();
        let stays = producer.clone();
        let blocking = consumer.clone();
        let blocking = thread::spawn(move || blocking.into_iter().collect::<Vec<u32>>());
        let streaming =
            thread::spawn(move || smol::block_on(stream::StreamExt::collect::<Vec<u32>>(consumer)));
        smol::block_on(async {
            for record in 0..5 {
                producer.send(record).await.unwrap();
            }
        });
        assert!(producer.close());
        assert!(stays.is_closed());
        assert!(stays.try_send(5).unwrap_err().is_closed());
        let mut got = blocking.join().unwrap();
        got.extend(streaming.join().unwrap());
        each_exactly_once(got, 5);
        drop(stays);
    }
}

#[test]
fn len_counts_records_in_the_bridge_and_in_hand() {
    let (producer, mut consumer) = Bridge::new(nz(16)).batch(nz(8)).open();
    assert!(producer.is_empty() && consumer.is_empty());
    smol::block_on(producer.clone().pump(stream::iter(0..5u32)));
    assert_eq!((producer.len(), consumer.len()), (5, 5));
    assert_eq!(consumer.try_recv(), Ok(0));
    // The other four are in hand, and still in the bridge.
    assert_eq!((producer.len(), consumer.len()), (5, 5));
    consumer.iter().take(4).for_each(drop);
    assert_eq!((producer.len(), consumer.len()), (0, 0));
    assert!(producer.is_empty());
}

#[test]
fn release_lets_another_consumer_end() {
    let (producer, mut holder) = Bridge::new(nz(16)).batch(nz(8)).open();
    let mut other = holder.clone();
    smol::block_on(producer.pump(stream::iter(0..8u32)));
    let (wakes, waker) = CountingWaker::new();
    assert_eq!(poll_stream(&mut holder, &waker), Poll::Ready(Some(0)));
    // The other finds the bridge closed and drained, and waits for the
    // records the holder has.
    assert_eq!(poll_stream(&mut other, &waker), Poll::Pending);
    assert_eq!(poll_stream(&mut other, &waker), Poll::Pending);
    assert_eq!(wakes.wakes(), 0);
    holder.release();
    assert!(wakes.wakes() > 0, "the waiting consumer was not woken");
    let mut got = Vec::new();
    loop {
        match poll_stream(&mut other, &waker) {
            Poll::Ready(Some(record)) => got.push(record),
            Poll::Ready(None) => break,
            Poll::Pending => panic!("pending after {got:?}"),
        }
    }
    assert_eq!(got, (1..8).collect::<Vec<_>>());
    assert!(other.is_terminated());
    // The holder gave everything back: it ends too, and nothing is left.
    assert_eq!(poll_stream(&mut holder, &waker), Poll::Ready(None));
    let stats = holder.stats();
    assert_eq!((stats.sent(), stats.received(), stats.depth()), (8, 8, 0));
}

#[test]
fn release_with_nothing_in_hand_does_nothing() {
    let (producer, mut consumer) = Bridge::new(nz(4)).open();
    consumer.release();
    producer.try_send(1).unwrap();
    assert_eq!(consumer.try_recv(), Ok(1));
    consumer.release();
    drop(producer);
    assert_eq!(consumer.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn a_recv_dropped_while_waiting_for_a_held_batch_loses_nothing() {
    let (producer, mut holder) = Bridge::new(nz(16)).batch(nz(8)).open();
    let mut other = holder.clone();
    smol::block_on(producer.pump(stream::iter(0..4u32)));
    let (_, waker) = CountingWaker::new();
    assert_eq!(smol::block_on(holder.recv()), Some(0));
    // Mid-batch: a recv created and dropped unpolled, or polled and dropped,
    // takes nothing.
    drop(holder.recv());
    {
        let mut recv = pin!(other.recv());
        assert!(poll_future(&mut recv, &waker).is_pending());
    }
    {
        let mut next = stream::StreamExt::next(&mut other);
        assert!(poll_future(&mut next, &waker).is_pending());
    }
    assert_eq!(smol::block_on(holder.recv()), Some(1));
    holder.release();
    let got: Vec<u32> = smol::block_on(async {
        let mut got = Vec::new();
        while let Some(record) = other.recv().await {
            got.push(record);
        }
        got
    });
    assert_eq!(got, [2, 3]);
    assert_eq!(smol::block_on(holder.recv()), None);
}

/// Receives on `consumer` until it ends, cancelling receives at random: each
/// receive (`recv`, or the stream's `next`) races a future ready after a
/// few polls, and is dropped when that one wins.
async fn receive_cancelling(mut consumer: Consumer<u32>, seed: u64) -> (Vec<u32>, u32) {
    let mut rng = XorShift(seed | 1);
    let mut got = Vec::new();
    let mut cancelled = 0u32;
    loop {
        let after = After {
            polls: rng.below(3),
        };
        let received = if rng.below(2) == 0 {
            let recv = pin!(consumer.recv());
            match futures::future::select(recv, pin!(after)).await {
                futures::future::Either::Left((record, _)) => Some(record),
                futures::future::Either::Right(_) => None,
            }
        } else {
            let next = stream::StreamExt::next(&mut consumer);
            match futures::future::select(next, pin!(after)).await {
                futures::future::Either::Left((record, _)) => Some(record),
                futures::future::Either::Right(_) => None,
            }
        };
        match received {
            Some(Some(record)) => got.push(record),
            Some(None) => break,
            None => cancelled += 1,
        }
        // Now and then, give back what is in hand.
        if rng.below(50) == 0 {
            consumer.release();
        }
    }
    (got, cancelled)
}

#[test]
fn receives_cancelled_at_random_lose_and_repeat_nothing() {
    const N: u32 = 5_000;
    // Over all schedules: one schedule may find its records taken by the
    // blocking consumer before any receive is cancelled.
    let mut cancelled = 0;
    for seed in 0..20u64 {
        let batch = [1, 8][(seed % 2) as usize];
        let (producer, consumer) = Bridge::new(nz(32)).batch(nz(batch)).open();
        let consumers: Vec<_> = (0..3)
            .map(|c| {
                let consumer = consumer.clone();
                thread::spawn(move || smol::block_on(receive_cancelling(consumer, seed * 3 + c)))
            })
            .collect();
        // A blocking consumer too, that stops and releases now and then.
        let mut blocking = consumer;
        let blocking = thread::spawn(move || {
            let mut got = Vec::new();
            while let Some(record) = blocking.recv_blocking() {
                got.push(record);
                if record % 97 == 0 {
                    blocking.release();
                }
            }
            got
        });
        let pumped = smol::block_on(producer.pump(stream::iter(0..N)));
        assert_eq!(pumped.forwarded(), u64::from(N));
        let mut got = blocking.join().unwrap();
        for consumer in consumers {
            let (records, cancels) = consumer.join().unwrap();
            got.extend(records);
            cancelled += cancels;
        }
        each_exactly_once(got, N);
    }
    assert!(
        cancelled > 0,
        "nothing was cancelled: the test tests nothing"
    );
}
