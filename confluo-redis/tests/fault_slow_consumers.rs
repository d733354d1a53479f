//! Consumers slower than the producer for a long run: Redis memory
//! (`INFO memory`) stays under a bound set by the capacity, whatever the
//! run's length, because acknowledged records are deleted; the producer
//! waits for room; nothing is dropped.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{within, RedisServer};
use confluo_redis::{Bytes, Consumer, Producer, Run};

const RECORDS: usize = 50_000;
const RECORD_BYTES: usize = 200;
const CAPACITY: u64 = 1_000;

#[test]
fn memory_stays_bounded_and_the_producer_waits() {
    let server = Arc::new(RedisServer::start());
    let url = server.url();
    let run = Run::new("slow")
        .partitions(4)
        .capacity(CAPACITY)
        .batch(100)
        .read_count(50)
        .idle_poll(Duration::from_millis(5));
    let baseline = server.used_memory();
    // Without deleting, the run's records alone would take 10 MB; the
    // bound is three times the capacity's bytes (stream entries carry
    // their id and field name, and a node is freed when all its entries
    // are gone), plus 1 MiB for Redis's own buffers.
    let bound = baseline + 3 * CAPACITY * RECORD_BYTES as u64 + (1 << 20);

    let (peak, produced, stats, consumed) = within(Duration::from_secs(120), move || {
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (server, done) = (server.clone(), done.clone());
            thread::spawn(move || {
                let mut peak = 0;
                while !done.load(Ordering::SeqCst) {
                    peak = peak.max(server.used_memory());
                    thread::sleep(Duration::from_millis(10));
                }
                peak
            })
        };
        let producer = {
            let (run, url) = (run.clone(), url.clone());
            thread::spawn(move || {
                let mut producer =
                    Producer::open(&run, &url, 0, Bytes, |r: &Vec<u8>| r[0]).unwrap();
                let record = |i: usize| {
                    let mut bytes = vec![(i % 251) as u8; RECORD_BYTES];
                    bytes[1..9].copy_from_slice(&(i as u64).to_le_bytes());
                    bytes
                };
                producer.send_all((0..RECORDS).map(record)).unwrap();
                producer.finish().unwrap()
            })
        };
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (run, url) = (run.clone(), url.clone());
                thread::spawn(move || {
                    let mut count = 0usize;
                    for delivery in Consumer::open(&run, &url, Bytes).unwrap() {
                        assert_eq!(delivery.unwrap().len(), RECORD_BYTES);
                        count += 1;
                        if count.is_multiple_of(25) {
                            // The work of a slow worker.
                            thread::sleep(Duration::from_millis(1));
                        }
                    }
                    count
                })
            })
            .collect();
        let consumed: usize = consumers.into_iter().map(|c| c.join().unwrap()).sum();
        let stats = producer.join().unwrap();
        done.store(true, Ordering::SeqCst);
        (sampler.join().unwrap(), stats.produced, stats, consumed)
    });
    eprintln!(
        "slow consumers: peak used_memory {peak} B (baseline {baseline}, bound {bound}), producer waited {:?} in {} waits",
        stats.waited, stats.full
    );
    assert_eq!(produced, RECORDS as u64);
    assert_eq!(consumed, RECORDS, "nothing dropped, nothing twice");
    assert!(stats.full >= 1 && stats.waited > Duration::ZERO);
    assert!(peak <= bound, "peak {peak} above the bound {bound}");
}
