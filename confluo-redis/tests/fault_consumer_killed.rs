//! A consumer process killed with SIGKILL in the middle of a run, holding a
//! record it worked on and did not acknowledge, and the rest of its read:
//! the survivors claim them after `claim_after`, flagged redelivered; every
//! record is worked on at least once (0 lost), and the duplicates are
//! counted, each one flagged.
//!
//! The killed consumer is this test binary run again as a child process
//! (the ignored test `child_consumer`), which logs every record it works on
//! to a file and then stops dead after a set number, mid-read.

mod common;

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use common::{codec, records, spawn_child, within, Record, RedisServer};
use confluo_redis::{Consumer, Producer, Run};

const RECORDS: u32 = 3_000;
const CHILD_STOPS_AFTER: usize = 50;

fn run() -> Run {
    Run::new("killed")
        .partitions(4)
        .capacity(400)
        .batch(40)
        .read_count(16)
        .claim_after(Duration::from_millis(500))
        .idle_poll(Duration::from_millis(5))
}

/// The child: works on records, logging each to `CONFLUO_REDIS_FILE`, and
/// after `CHILD_STOPS_AFTER` stops dead, the last one in hand and not
/// acknowledged, until it is killed.
#[test]
#[ignore = "the consumer process of consumer_killed_mid_run, which starts it"]
fn child_consumer() {
    let url = std::env::var("CONFLUO_REDIS_URL").expect("started by consumer_killed_mid_run");
    let log = std::env::var("CONFLUO_REDIS_FILE").unwrap();
    let mut log = OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .unwrap();
    let consumer = Consumer::open(&run(), &url, codec()).unwrap();
    for (done, delivery) in consumer.enumerate() {
        let (key, seq) = delivery.unwrap().into_record();
        // One write(2) per record: on disk when the process is killed.
        writeln!(log, "{key} {seq}").unwrap();
        if done + 1 == CHILD_STOPS_AFTER {
            loop {
                thread::park();
            }
        }
    }
}

#[test]
fn consumer_killed_mid_run() {
    let server = RedisServer::start();
    let url = server.url();
    let dir = std::env::temp_dir().join(format!("confluo-redis-killed-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let log = dir.join("child.log");
    File::create(&log).unwrap();

    within(Duration::from_secs(60), move || {
        let producer = {
            let url = url.clone();
            thread::spawn(move || {
                let mut producer = Producer::open(&run(), &url, 0, codec(), |r| r.0).unwrap();
                producer.send_all(records(100, RECORDS / 100)).unwrap();
                producer.finish().unwrap()
            })
        };
        let mut child = spawn_child("child_consumer", &url, &log);
        let logged = || fs::read_to_string(&log).unwrap().lines().count();
        let deadline = Instant::now() + Duration::from_secs(30);
        while logged() < CHILD_STOPS_AFTER {
            assert!(
                Instant::now() < deadline,
                "the child worked on {} records",
                logged()
            );
            assert!(child.try_wait().unwrap().is_none(), "the child exited");
            thread::sleep(Duration::from_millis(5));
        }
        // SIGKILL: nothing of the child runs after this, no drop, no
        // acknowledgement.
        child.kill().unwrap();
        child.wait().unwrap();
        let by_child: Vec<Record> = fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|line| {
                let (k, s) = line.split_once(' ').unwrap();
                (k.parse().unwrap(), s.parse().unwrap())
            })
            .collect();
        assert_eq!(by_child.len(), CHILD_STOPS_AFTER);
        assert!(
            !producer.is_finished(),
            "the run is mid-way: 3,000 records do not fit in 400"
        );

        let by_survivors: Mutex<Vec<(Record, bool)>> = Mutex::default();
        let redelivered: u64 = thread::scope(|s| {
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    let (url, by_survivors) = (&url, &by_survivors);
                    s.spawn(move || {
                        let mut consumer = Consumer::open(&run(), url, codec()).unwrap();
                        for delivery in consumer.by_ref() {
                            let delivery = delivery.unwrap();
                            let flagged = delivery.redelivered();
                            by_survivors
                                .lock()
                                .unwrap()
                                .push((delivery.into_record(), flagged));
                        }
                        assert_eq!(consumer.end().unwrap().finished, vec![0]);
                        consumer.stats().redelivered
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        assert_eq!(producer.join().unwrap().produced, u64::from(RECORDS));

        let by_survivors = by_survivors.into_inner().unwrap();
        let child_set: HashSet<Record> = by_child.iter().copied().collect();
        let all: HashSet<Record> = child_set
            .iter()
            .copied()
            .chain(by_survivors.iter().map(|(r, _)| *r))
            .collect();
        let lost = records(100, RECORDS / 100)
            .filter(|r| !all.contains(r))
            .count();
        let duplicates = by_child.len() + by_survivors.len() - all.len();
        eprintln!(
            "consumer killed: lost {lost}, duplicates {duplicates}, redelivered {redelivered}"
        );
        assert_eq!(lost, 0);
        // The record in the child's hand was worked on and not
        // acknowledged: it comes again.
        assert!(duplicates >= 1);
        for (record, flagged) in &by_survivors {
            if child_set.contains(record) {
                assert!(flagged, "{record:?} came again unflagged");
            }
        }
        // The rest of the child's read came flagged too, never worked on.
        assert!(redelivered >= duplicates as u64);
        let status = run().status(&url).unwrap();
        assert_eq!((status.depth, status.pending), (0, 0));
        assert_eq!(status.redelivered, redelivered);
    });
    let _ = fs::remove_dir_all(&dir);
}
