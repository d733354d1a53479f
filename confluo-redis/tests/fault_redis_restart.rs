//! Redis killed (SIGKILL) and restarted mid-run, from its append-only file
//! (fsync on every write): producers and consumers reconnect with backoff
//! and the run completes with 0 records lost among those Redis
//! acknowledged; the duplicates are counted.

mod common;

use std::collections::HashSet;
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use common::{codec, records, within, Record, RedisServer};
use confluo_redis::{Consumer, Producer, Run};

const RECORDS: u32 = 5_000;
const BEFORE_RESTART: usize = 1_000;

#[test]
fn redis_restarted_mid_run() {
    let mut server = RedisServer::start();
    let url = server.url();
    let run = Run::new("restart")
        .partitions(4)
        .capacity(500)
        .batch(50)
        .read_count(25)
        .reconnect_for(Duration::from_secs(20))
        .idle_poll(Duration::from_millis(5));

    let seen: Arc<Mutex<Vec<Record>>> = Arc::default();
    // The consumers stop, mid-run, until the server is back.
    let gate = Arc::new(Barrier::new(3));
    let (reached, reached_rx) = mpsc::channel();
    let producer = {
        let (run, url) = (run.clone(), url.clone());
        thread::spawn(move || {
            let mut producer = Producer::open(&run, &url, 0, codec(), |r| r.0).unwrap();
            // Ok: Redis acknowledged every batch.
            producer.send_all(records(50, RECORDS / 50)).unwrap();
            producer.finish().unwrap()
        })
    };
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let (run, url, seen, gate, reached) = (
                run.clone(),
                url.clone(),
                seen.clone(),
                gate.clone(),
                reached.clone(),
            );
            thread::spawn(move || {
                let mut consumer = Consumer::open(&run, &url, codec()).unwrap();
                let mut waited = false;
                for delivery in consumer.by_ref() {
                    let record = delivery.unwrap().into_record();
                    let total = {
                        let mut seen = seen.lock().unwrap();
                        seen.push(record);
                        seen.len()
                    };
                    if !waited && total >= BEFORE_RESTART {
                        waited = true;
                        let _ = reached.send(());
                        gate.wait();
                    }
                }
                consumer.stats()
            })
        })
        .collect();

    let stats = within(Duration::from_secs(90), move || {
        reached_rx.recv().unwrap();
        let before = run.status(&url).unwrap();
        assert!(before.produced < u64::from(RECORDS), "mid-run: {before:?}");
        server.restart();
        gate.wait();
        let producer = producer.join().unwrap();
        let consumers: Vec<_> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
        let after = run.status(&url).unwrap();
        drop(server);
        (producer, consumers, after)
    });
    let (producer, consumers, after) = stats;

    let seen = seen.lock().unwrap();
    let unique: HashSet<Record> = seen.iter().copied().collect();
    let lost = records(50, RECORDS / 50)
        .filter(|r| !unique.contains(r))
        .count();
    let duplicates = seen.len() - unique.len();
    eprintln!(
        "redis restarted: lost {lost}, duplicates {duplicates}, reconnects: producer {}, consumers {:?}",
        producer.reconnects,
        consumers.iter().map(|c| c.reconnects).collect::<Vec<_>>()
    );
    assert_eq!(producer.produced, u64::from(RECORDS));
    assert_eq!(lost, 0);
    assert!(producer.reconnects >= 1);
    assert!(consumers.iter().all(|c| c.reconnects >= 1));
    // Nothing was added twice: a retried batch is recognised.
    assert_eq!(after.produced, u64::from(RECORDS));
    assert_eq!((after.depth, after.pending), (0, 0));
    assert!(after.is_over());
}
