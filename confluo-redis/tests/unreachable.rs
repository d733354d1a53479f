//! A Redis that cannot be reached gives a clear error within a bounded
//! time, on every side, never a hang; one that comes back within the time
//! is reached.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{codec, free_port, within, RedisServer};
use confluo_redis::{Consumer, Error, Producer, Run};

#[test]
fn nothing_listening_is_an_error_within_reconnect_for() {
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let run = Run::new("nowhere").reconnect_for(Duration::from_millis(400));
    within(Duration::from_secs(10), move || {
        let started = Instant::now();
        let producer = Producer::open(&run, &url, 0, codec(), |r| r.0).unwrap_err();
        let consumer = Consumer::open(&run, &url, codec()).unwrap_err();
        let took = started.elapsed();
        for err in [producer, consumer] {
            let Error::Unreachable {
                addr, tried_for, ..
            } = &err
            else {
                panic!("not Unreachable: {err}");
            };
            assert_eq!(addr, &url);
            assert!(*tried_for >= Duration::from_millis(400));
            assert!(err.to_string().contains("unreachable for"), "{err}");
        }
        assert!(took < Duration::from_secs(4), "took {took:?}");
    });
}

#[test]
fn an_address_that_drops_packets_is_an_error_within_reconnect_for() {
    // A TEST-NET-1 address (RFC 5737): connecting hangs or fails, never
    // answers.
    let run = Run::new("blackhole").reconnect_for(Duration::from_millis(500));
    within(Duration::from_secs(10), move || {
        let started = Instant::now();
        let err = Consumer::open(&run, "redis://192.0.2.1:6379/", codec()).unwrap_err();
        assert!(matches!(err, Error::Unreachable { .. }), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "took {:?}",
            started.elapsed()
        );
    });
}

#[test]
fn a_server_down_mid_run_is_an_error_on_the_consumer_not_a_hang() {
    let mut server = RedisServer::start();
    let url = server.url();
    let run = Run::new("down")
        .reconnect_for(Duration::from_millis(400))
        .idle_poll(Duration::from_millis(5));
    let mut consumer = Consumer::open(&run, &url, codec()).unwrap();
    server.kill();
    within(Duration::from_secs(10), move || {
        let err = consumer.next().expect("an error, not the end").unwrap_err();
        assert!(matches!(err, Error::Unreachable { .. }), "{err}");
        assert!(
            consumer.next().is_none(),
            "the consumer ends after its error"
        );
    });
}

#[test]
fn a_server_that_comes_back_in_time_is_reached() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.kill();
    let run = Run::new("back").reconnect_for(Duration::from_secs(20));
    let opening = thread::spawn(move || Run::status(&run, &url).map(|s| s.produced));
    thread::sleep(Duration::from_millis(200));
    server.restart();
    assert_eq!(opening.join().unwrap().unwrap(), 0);
}
