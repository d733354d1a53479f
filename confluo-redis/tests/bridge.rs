//! The distributed bridge without faults: every record delivered exactly
//! once, per-key order held across several consumers, the end reached
//! once the producers finished and everything was acknowledged, the
//! capacity held, and a full run making its producer wait.

mod common;

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{codec, records, within, RedisServer};
use confluo_redis::{Consumer, Producer, ProducerState, Run};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn every_record_once_in_key_order_across_consumers() {
    let server = RedisServer::start();
    let url = server.url();
    let run = Run::new("once")
        .partitions(4)
        .capacity(500)
        .producers(2)
        .batch(32)
        .read_count(16)
        .idle_poll(Duration::from_millis(5));
    within(LIMIT, move || {
        // The last seq seen per key, checked as each worker takes a record.
        let last: Arc<Mutex<HashMap<u32, u32>>> = Arc::default();
        thread::scope(|s| {
            for slot in 0..2u32 {
                let (run, url) = (&run, &url);
                s.spawn(move || {
                    let mut producer = Producer::open(run, url, slot, codec(), |r| r.0).unwrap();
                    // Each producer its own keys: per-key order is one sequence.
                    let mine = records(50, 40).map(|(k, n)| (k * 2 + slot, n));
                    assert_eq!(producer.send_all(mine).unwrap(), 2_000);
                    producer.finish().unwrap()
                });
            }
            let workers: Vec<_> = (0..3)
                .map(|_| {
                    let (run, url, last) = (&run, &url, &last);
                    s.spawn(move || {
                        let mut consumer = Consumer::open(run, url, codec()).unwrap();
                        let mut seen = 0u64;
                        for delivery in consumer.by_ref() {
                            let delivery = delivery.unwrap();
                            assert!(!delivery.redelivered());
                            let (key, seq) = *delivery.record();
                            let before = last.lock().unwrap().insert(key, seq);
                            assert_eq!(before.map_or(0, |b| b + 1), seq, "key {key} out of order");
                            seen += 1;
                        }
                        let end = consumer.end().cloned().expect("ended by the run's end");
                        assert_eq!(end.finished, vec![0, 1]);
                        assert!(end.died.is_empty());
                        assert_eq!(consumer.stats().delivered, seen);
                        assert_eq!(consumer.stats().acknowledged, seen);
                        seen
                    })
                })
                .collect();
            let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
            assert_eq!(total, 4_000);
        });
        let last = last.lock().unwrap();
        assert_eq!(last.len(), 100);
        assert!(last.values().all(|&seq| seq == 39));
        let status = run.status(&url).unwrap();
        assert_eq!((status.produced, status.acknowledged), (4_000, 4_000));
        assert_eq!(
            (status.depth, status.pending, status.redelivered),
            (0, 0, 0)
        );
        assert!(status.is_over());
        assert_eq!(status.producers, vec![ProducerState::Finished; 2]);
    });
}

#[test]
fn a_full_run_makes_its_producer_wait_and_acknowledged_records_are_deleted() {
    let server = RedisServer::start();
    let url = server.url();
    let run = Run::new("full").partitions(2).capacity(100).batch(10);
    within(LIMIT, move || {
        let (done_tx, done_rx) = mpsc::channel();
        let producer = {
            let (run, url) = (run.clone(), url.clone());
            thread::spawn(move || {
                let mut producer = Producer::open(&run, &url, 0, codec(), |r| r.0).unwrap();
                producer.send_all(records(10, 30)).unwrap();
                done_tx.send(()).unwrap();
                producer.finish().unwrap()
            })
        };
        // The run fills to its capacity, and the producer cannot go on.
        let deadline = Instant::now() + LIMIT;
        while run.status(&url).unwrap().depth < 100 {
            assert!(Instant::now() < deadline);
            thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(run.status(&url).unwrap().depth, 100);
        assert!(done_rx.try_recv().is_err(), "300 records do not fit in 100");

        let consumer = Consumer::open(&run, &url, codec()).unwrap();
        assert_eq!(consumer.count(), 300);
        let stats = producer.join().unwrap();
        assert_eq!(stats.produced, 300);
        assert!(
            stats.full >= 1 && stats.waited > Duration::ZERO,
            "{stats:?}"
        );
        // The run counts it too, in whole milliseconds: the producer waited
        // at least while this consumer connected and made its first read.
        let waited = run.status(&url).unwrap().waited;
        assert!(
            waited >= Duration::from_millis(1) && waited <= stats.waited,
            "{waited:?}"
        );
        let mut con = server.connection();
        for p in 0..2 {
            let len: u64 = redis::cmd("XLEN")
                .arg(format!("{{full}}:p:{p}"))
                .query(&mut con)
                .unwrap();
            assert_eq!(len, 0, "acknowledged records are deleted");
        }
    });
}
