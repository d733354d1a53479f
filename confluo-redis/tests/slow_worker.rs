//! A live worker slower than `claim_after` over a whole read, but not over
//! one record, keeps its records: another consumer waiting for the same
//! partition claims none of them, and every record comes once.

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::{codec, records, within, RedisServer};
use confluo_redis::{Consumer, Producer, Run};

#[test]
fn a_slow_read_is_kept_from_other_consumers() {
    let server = RedisServer::start();
    let url = server.url();
    // One partition: the second consumer wants the records the first holds.
    let run = Run::new("slow")
        .partitions(1)
        .read_count(10)
        .claim_after(Duration::from_millis(500))
        .idle_poll(Duration::from_millis(5));
    within(Duration::from_secs(60), move || {
        let mut producer = Producer::open(&run, &url, 0, codec(), |r| r.0).unwrap();
        producer.send_all(records(1, 30)).unwrap();
        producer.finish().unwrap();

        let (started, first_record) = mpsc::channel();
        let slow = {
            let (run, url) = (run.clone(), url.clone());
            thread::spawn(move || {
                let mut consumer = Consumer::open(&run, &url, codec()).unwrap();
                let mut seqs = Vec::new();
                for delivery in consumer.by_ref() {
                    seqs.push(delivery.unwrap().1);
                    let _ = started.send(());
                    // The work: a read of 10 takes 600 ms, more than claim_after.
                    thread::sleep(Duration::from_millis(60));
                }
                (seqs, consumer.stats())
            })
        };
        first_record.recv().unwrap();
        let mut other = Consumer::open(&run, &url, codec()).unwrap();
        let other_seqs: Vec<u32> = other.by_ref().map(|d| d.unwrap().1).collect();
        let (slow_seqs, slow_stats) = slow.join().unwrap();

        assert_eq!(other.stats().redelivered + slow_stats.redelivered, 0);
        let mut all: Vec<u32> = slow_seqs.iter().chain(&other_seqs).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..30).collect::<Vec<_>>(), "every record once");
        assert!(slow_seqs.starts_with(&(0..10).collect::<Vec<_>>()));
        assert_eq!(run.status(&url).unwrap().redelivered, 0);
    });
}
