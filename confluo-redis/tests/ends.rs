//! The end-of-stream across processes: consumers end after draining once
//! every producer finished, and a producer that died (its lease expired)
//! or never joined is reported, never waited for forever; what a dead
//! producer added before is still delivered, and what it sends after is
//! refused.

mod common;

use std::time::Duration;

use common::{codec, records, within, RedisServer};
use confluo_redis::{Consumer, Error, Producer, ProducerState, Run};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn a_producer_that_dies_is_reported_and_its_records_delivered() {
    let server = RedisServer::start();
    let url = server.url();
    let run = Run::new("died")
        .producers(2)
        .lease(Duration::from_millis(300))
        .idle_poll(Duration::from_millis(5));
    within(LIMIT, move || {
        let mut finishing = Producer::open(&run, &url, 0, codec(), |r| r.0).unwrap();
        let mut dying = Producer::open(&run, &url, 1, codec(), |r| r.0).unwrap();
        finishing.send_all(records(5, 10)).unwrap();
        dying
            .send_all(records(5, 10).map(|(k, n)| (k + 5, n)))
            .unwrap();
        finishing.finish().unwrap();
        // Dropped without finishing: it stops renewing its lease, as a
        // killed process would.
        drop(dying);

        let mut consumer = Consumer::open(&run, &url, codec()).unwrap();
        assert_eq!(consumer.by_ref().map(Result::unwrap).count(), 100);
        let end = consumer.end().unwrap();
        assert_eq!((end.finished.clone(), end.died.clone()), (vec![0], vec![1]));
        let status = run.status(&url).unwrap();
        assert_eq!(
            status.producers,
            vec![ProducerState::Finished, ProducerState::Dead]
        );
    });
}

#[test]
fn a_producer_declared_dead_may_not_add_or_join_again() {
    let server = RedisServer::start();
    let url = server.url();
    // A lease renewed every 20 s: no renewal comes during the test.
    let run = Run::new("expired").lease(Duration::from_secs(60));
    within(LIMIT, move || {
        let mut producer = Producer::open(&run, &url, 0, codec(), |r| r.0).unwrap();
        // Its lease goes (as when the process stalls past it), and a
        // consumer looking at the run declares it dead.
        let mut con = server.connection();
        let _: () = redis::cmd("DEL")
            .arg("{expired}:lease:0")
            .query(&mut con)
            .unwrap();
        assert_eq!(
            run.status(&url).unwrap().producers,
            vec![ProducerState::Dead]
        );
        let refused = producer.send_all(records(1, 1)).unwrap_err();
        assert!(matches!(refused, Error::Expired { slot: 0 }), "{refused}");
        assert!(matches!(producer.finish(), Err(Error::Expired { slot: 0 })));
        let again = Producer::open(&run, &url, 0, codec(), |r| r.0).unwrap_err();
        assert!(matches!(again, Error::Slot(_)), "{again}");
        assert_eq!(run.status(&url).unwrap().produced, 0);
    });
}

#[test]
fn a_producer_that_never_joins_is_reported_after_the_join_time() {
    let server = RedisServer::start();
    let url = server.url();
    let run = Run::new("absent")
        .producers(2)
        .join_within(Duration::from_millis(300))
        .idle_poll(Duration::from_millis(5));
    within(LIMIT, move || {
        let mut producer = Producer::open(&run, &url, 0, codec(), |r| r.0).unwrap();
        producer.send_all(records(3, 3)).unwrap();
        producer.finish().unwrap();
        let mut consumer = Consumer::open(&run, &url, codec()).unwrap();
        assert_eq!(consumer.by_ref().count(), 9);
        assert_eq!(consumer.end().unwrap().died, vec![1]);
    });
}

#[test]
fn a_slot_is_held_by_one_live_producer() {
    let server = RedisServer::start();
    let url = server.url();
    let run = Run::new("held").producers(2);
    let _holder = Producer::open(&run, &url, 1, codec(), |r| r.0).unwrap();
    let second = Producer::open(&run, &url, 1, codec(), |r| r.0).unwrap_err();
    assert!(
        second.to_string().contains("held by a live producer"),
        "{second}"
    );
    let out_of_range = Producer::open(&run, &url, 2, codec(), |r| r.0).unwrap_err();
    assert!(matches!(out_of_range, Error::Slot(_)), "{out_of_range}");
}

#[test]
fn sides_with_other_settings_are_refused() {
    let server = RedisServer::start();
    let url = server.url();
    Run::new("settings").partitions(4).status(&url).unwrap();
    let other = Run::new("settings").partitions(8).status(&url).unwrap_err();
    assert_eq!(
        other.to_string(),
        "run settings differ: the run has partitions = 4, this side asked for 8"
    );
}
