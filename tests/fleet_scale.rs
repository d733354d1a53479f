//! A million sources in one `sample::Fleet`, on a manual clock stepped a
//! millisecond at a time over simulated minutes: every slot of every
//! source sampled once, in order, due exactly where its phase puts it,
//! fired within the tick it falls in, on one sleep for the whole fleet.
#![cfg(feature = "std")]

use std::future::ready;
use std::time::Duration;

use confluo::sample::{Fleet, Outcome, Period, Schedule};
use confluo::time::ManualClock;
use futures::{FutureExt, StreamExt};

const SOURCES: u32 = 1_000_000;
const PERIOD: Duration = Duration::from_secs(60);
const SLOTS: u32 = 2;
const STEP: Duration = Duration::from_millis(1);

#[test]
fn a_million_sources_take_every_slot_once_on_time_on_one_sleep() {
    let clock = ManualClock::new();
    let every = Schedule::every(Period::new(PERIOD).unwrap());
    let mut fleet = Box::pin(Fleet::new(
        every.clone(),
        clock.clone(),
        |_: &u32| ready(Ok::<(), ()>(())),
        |&key: &u32, ()| ready((Some(()), Ok::<u32, ()>(key))),
    ));
    for key in 0..SOURCES {
        fleet.insert(key);
    }
    let phases: Vec<Duration> = (0..SOURCES)
        .map(|key| every.clone().phase_from_key(&key).due().unwrap())
        .collect();
    let mut next_seq = vec![0u64; SOURCES as usize];
    let end = PERIOD * SLOTS;
    loop {
        while let Some(Some((key, sample))) = fleet.next().now_or_never() {
            assert_eq!(sample.outcome, Outcome::Ok(key));
            let source = key as usize;
            assert_eq!(sample.seq, next_seq[source], "source {key}");
            let due = phases[source] + PERIOD * sample.seq as u32;
            assert_eq!(sample.due, due, "source {key}");
            assert!(sample.late < STEP, "source {key}: {sample:?}");
            assert_eq!(clock.now() - sample.due, sample.late);
            next_seq[source] += 1;
        }
        assert!(clock.sleepers() <= 1, "{} sleeps", clock.sleepers());
        if clock.now() >= end {
            break;
        }
        clock.advance(STEP);
    }
    for (key, &taken) in next_seq.iter().enumerate() {
        let due = ((end - phases[key]).as_nanos() / PERIOD.as_nanos()) as u64 + 1;
        assert_eq!(taken, due, "source {key}");
    }
    drop(fleet);
    assert_eq!(clock.sleepers(), 0);
}
