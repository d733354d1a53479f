//! A router as one end of several bridges: `len`, `close` and `is_closed`
//! over its partitions; `pump_by` batching per partition (the records of a
//! partition that the stream has ready at once travel in one message, each
//! key's records in order), sending the other partitions' batches before it
//! waits for a full one, dropping by each partition's policy, and handing
//! back what it could not send.
#![cfg(feature = "std")]

mod common;

use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use confluo::{Bridge, Consumer, Overflow, Pumped, TryRecvError};
use futures::stream::{self, Stream};

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

/// Yields its groups one after another: each group's records are ready at
/// once, and between two groups the stream is pending once (it wakes
/// itself), so a pump sends what it holds.
struct Groups<T> {
    groups: std::vec::IntoIter<Vec<T>>,
    group: std::vec::IntoIter<T>,
}

fn groups<T>(groups: Vec<Vec<T>>) -> Groups<T> {
    Groups {
        groups: groups.into_iter(),
        group: Vec::new().into_iter(),
    }
}

impl<T: Unpin> Stream for Groups<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(record) = self.group.next() {
            return Poll::Ready(Some(record));
        }
        match self.groups.next() {
            Some(group) => {
                self.group = group.into_iter();
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            None => Poll::Ready(None),
        }
    }
}

/// The messages waiting in a consumer's bridge, while it holds no record
/// of a batch: its size hint counts records in hand and messages waiting.
fn messages_waiting<T>(consumer: &Consumer<T>) -> usize {
    Stream::size_hint(consumer).0
}

#[test]
fn pump_by_sends_the_ready_records_of_a_partition_in_one_message() {
    // Ten groups; in each, keys 0 to 5 once: two keys per partition.
    let records: Vec<Vec<(usize, u32)>> = (0..10)
        .map(|seq| (0..6).map(|key| (key, seq)).collect())
        .collect();
    for (batch, messages) in [(64, 10), (1, 20)] {
        let (router, consumers) = Bridge::new(nz(1_024)).batch(nz(batch)).partitioned(nz(3));
        let pumped = smol::block_on(router.pump_by(groups(records.clone()), |&(key, _)| key));
        assert_eq!(pumped, Pumped::Ended { forwarded: 60 });
        for (partition, consumer) in consumers.into_iter().enumerate() {
            assert_eq!(consumer.len(), 20, "partition {partition}");
            assert_eq!(
                messages_waiting(&consumer),
                messages,
                "batch {batch}, partition {partition}: one message per group"
            );
            let got: Vec<(usize, u32)> = consumer.into_iter().collect();
            for key in [partition, partition + 3] {
                let seqs: Vec<u32> = got.iter().filter(|r| r.0 == key).map(|r| r.1).collect();
                assert_eq!(seqs, (0..10).collect::<Vec<_>>(), "key {key}");
            }
        }
    }
}

#[test]
fn pump_by_fills_no_message_past_the_batch() {
    let (router, consumers) = Bridge::new(nz(1_024)).batch(nz(8)).partitioned(nz(2));
    // One group of 40 records per partition, interleaved.
    let pumped = smol::block_on(router.pump_by(stream::iter(0..80usize), |&n| n));
    assert_eq!(pumped.forwarded(), 80);
    for (partition, consumer) in consumers.into_iter().enumerate() {
        // Batches of 8: at least five messages for forty records.
        assert!(messages_waiting(&consumer) >= 5, "partition {partition}");
        let got: Vec<usize> = consumer.into_iter().collect();
        let expected: Vec<usize> = (partition..80).step_by(2).collect();
        assert_eq!(got, expected);
    }
}

#[test]
fn pump_by_sends_the_other_batches_before_it_waits_for_a_full_partition() {
    let (router, mut consumers) = Bridge::new(nz(4)).batch(nz(4)).partitioned(nz(2));
    let odd = consumers.pop().unwrap();
    let mut even = consumers.pop().unwrap();
    // Partition 1 is full: key 1 must wait for room.
    smol::block_on(async {
        for seq in 0..4 {
            router.send(1, seq).await.unwrap();
        }
    });
    let pump =
        thread::spawn(move || smol::block_on(router.pump_by(stream::iter([0, 1, 2]), |&n| n)));
    // Were key 0's batch held while the pump waits for room for key 1, it
    // would never come.
    assert_eq!(even.recv_timeout(Duration::from_secs(60)), Ok(0));
    let got = common::within_on_a_thread(60, move || {
        let odd: Vec<usize> = odd.into_iter().collect();
        (
            odd,
            even.into_iter().collect::<Vec<_>>(),
            pump.join().unwrap(),
        )
    });
    assert_eq!(
        got,
        (vec![0, 1, 2, 3, 1], vec![2], Pumped::Ended { forwarded: 3 })
    );
}

#[test]
fn pump_by_hands_back_what_a_closed_partition_would_take() {
    let (router, mut consumers) = Bridge::new(nz(8)).batch(nz(4)).partitioned(nz(2));
    drop(consumers.pop());
    let even = consumers.pop().unwrap();
    // Key 1 finds its partition closed when it comes: the pump ends there,
    // having sent key 0's batch, and never takes 4.
    let pumped = smol::block_on(router.pump_by(stream::iter([0, 2, 1, 4]), |&n| n));
    assert_eq!(
        pumped,
        Pumped::ConsumersGone {
            forwarded: 2,
            unsent: vec![1]
        }
    );
    assert_eq!(even.into_iter().collect::<Vec<_>>(), [0, 2]);
}

#[test]
fn len_sums_the_partitions() {
    let (router, mut consumers) = Bridge::new(nz(8)).batch(nz(4)).partitioned(nz(3));
    assert!(router.is_empty());
    let pumped = smol::block_on(router.clone().pump_by(stream::iter(0..7usize), |&n| n));
    assert_eq!(pumped.forwarded(), 7);
    assert_eq!((router.len(), router.is_empty()), (7, false));
    let lens: Vec<usize> = consumers.iter().map(Consumer::len).collect();
    assert_eq!(lens, [3, 2, 2]);
    // A batch counts until it is all handed out: 0 is, 3 and 6 are in hand.
    assert_eq!(consumers[0].try_recv(), Ok(0));
    assert_eq!(router.len(), 7);
    assert_eq!(
        (consumers[0].try_recv(), consumers[0].try_recv()),
        (Ok(3), Ok(6))
    );
    assert_eq!(router.len(), 4);
    for consumer in &mut consumers {
        while consumer.try_recv().is_ok() {}
    }
    assert!(router.is_empty());
}

#[test]
fn close_closes_every_partition_and_the_consumers_drain() {
    let (router, mut consumers) = Bridge::new(nz(4)).partitioned(nz(3));
    let other = router.clone();
    smol::block_on(router.send(2, "kept")).unwrap();
    assert!(!router.is_closed());
    assert!(router.close());
    assert!(router.is_closed() && other.is_closed());
    assert!(!other.close(), "closed already");
    for key in 0..3 {
        let error = smol::block_on(other.send(key, "late")).unwrap_err();
        assert_eq!(error.into_inner(), "late");
    }
    assert_eq!(consumers[2].try_recv(), Ok("kept"));
    for consumer in &mut consumers {
        assert!(consumer.is_closed());
        assert_eq!(consumer.try_recv(), Err(TryRecvError::Closed));
    }
}

#[test]
fn close_counts_a_partition_its_consumer_closed_and_closes_the_rest() {
    let (router, consumers) = Bridge::new(nz(4)).partitioned::<u8>(nz(2));
    assert!(consumers[0].close());
    assert!(!router.is_closed(), "partition 1 is open");
    assert!(router.close(), "this call closed partition 1");
    assert!(consumers[1].is_closed());
}

#[test]
fn close_ends_a_pump_waiting_for_room() {
    for batch in [1, 4] {
        let (router, consumers) = Bridge::new(nz(2)).batch(nz(batch)).partitioned(nz(2));
        let closer = router.clone();
        // Nobody reads: the pump fills partition 0 and waits for room.
        let pump =
            thread::spawn(move || smol::block_on(router.pump_by(stream::iter(0..10usize), |_| 0)));
        let start = Instant::now();
        while closer.len() < 2 {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the pump never filled the partition"
            );
            thread::yield_now();
        }
        assert!(closer.close());
        let pumped = common::within_on_a_thread(60, move || pump.join().unwrap());
        let Pumped::ConsumersGone { forwarded, unsent } = pumped else {
            panic!("the pump ended as if its stream had: batch {batch}");
        };
        assert_eq!((forwarded, unsent), (2, vec![2]), "batch {batch}");
        let got: Vec<Vec<usize>> = consumers
            .into_iter()
            .map(|c| c.into_iter().collect())
            .collect();
        assert_eq!(got, [vec![0, 1], vec![]]);
    }
}

#[test]
fn pump_by_drops_by_each_partitions_policy_and_keeps_per_key_order() {
    for policy in [Overflow::DropNewest, Overflow::DropOldest] {
        let dropped = Arc::new(Mutex::new(Vec::new()));
        let (router, consumers) = Bridge::new(nz(4))
            .batch(nz(3))
            .overflow(policy)
            .on_drop({
                let dropped = Arc::clone(&dropped);
                move |record: usize| dropped.lock().unwrap().push(record)
            })
            .partitioned(nz(2));
        // Nobody reads until the end: each partition overflows.
        let pumped = smol::block_on(router.clone().pump_by(stream::iter(0..40usize), |&n| n));
        assert_eq!(pumped, Pumped::Ended { forwarded: 40 }, "{policy:?}");
        drop(router);
        let mut dropped = std::mem::take(&mut *dropped.lock().unwrap());
        let mut kept = Vec::new();
        for (partition, consumer) in consumers.into_iter().enumerate() {
            let stats = consumer.stats();
            assert_eq!(stats.sent(), 20, "{policy:?}, partition {partition}");
            assert!(stats.depth() <= 4, "{policy:?}: over the capacity");
            let got: Vec<usize> = consumer.into_iter().collect();
            assert_eq!(got.len() as u64 + stats.dropped(), 20, "{policy:?}");
            assert!(
                got.iter().all(|n| n % 2 == partition),
                "{policy:?}: a key left its partition"
            );
            assert!(
                got.windows(2).all(|w| w[0] < w[1]),
                "{policy:?}: out of order: {got:?}"
            );
            kept.extend(got);
        }
        // Every record kept or handed to the callback, once.
        kept.append(&mut dropped);
        kept.sort_unstable();
        assert_eq!(kept, (0..40).collect::<Vec<_>>(), "{policy:?}");
    }
}
