//! A hundred thousand samplers in one `Gather`, on a manual clock, over
//! simulated minutes: every slot of every source sampled once, in order,
//! on time to the clock's step, with one sleep per source and no more.
#![cfg(feature = "std")]

use std::future::ready;
use std::time::Duration;

use confluo::gather;
use confluo::sample::{Outcome, Period, Sampler, Schedule};
use confluo::time::ManualClock;
use futures::{FutureExt, StreamExt};

const SOURCES: u32 = 100_000;
const PERIOD: Duration = Duration::from_secs(10);
const SLOTS: u64 = 12; // two minutes
const STEP: Duration = Duration::from_millis(50);

#[test]
fn a_hundred_thousand_samplers_take_every_slot_once_in_order() {
    let clock = ManualClock::new();
    let every = Schedule::every(Period::new(PERIOD).unwrap());
    let mut sensors = gather((0..SOURCES).map(|key| {
        Sampler::new(
            every.clone().phase_from_key(&key),
            clock.clone(),
            move || ready(Ok::<u32, ()>(key)),
            |conn: u32| ready((Some(conn), Ok(conn))),
        )
    }));
    let mut next_seq = vec![0u64; SOURCES as usize];
    let mut samples = 0u64;
    let end = PERIOD * SLOTS as u32;
    loop {
        while let Some(Some(sample)) = sensors.next().now_or_never() {
            let key = match sample.outcome {
                Outcome::Ok(key) => key as usize,
                other => panic!("{other:?}"),
            };
            assert_eq!(sample.seq, next_seq[key]);
            assert!(sample.late < STEP, "{sample:?}");
            next_seq[key] += 1;
            samples += 1;
        }
        // Every source sleeps until its next slot, on one sleep each.
        assert_eq!(clock.sleepers(), SOURCES as usize);
        if clock.now() >= end {
            break;
        }
        clock.advance(STEP);
    }
    // Each source took the slots due by the end: its phase, then one a
    // period.
    for (key, &taken) in next_seq.iter().enumerate() {
        let phase = every.clone().phase_from_key(&(key as u32)).due().unwrap();
        let due = ((end - phase).as_nanos() / PERIOD.as_nanos()) as u64 + 1;
        assert_eq!(taken, due, "source {key}");
    }
    assert!(samples >= SLOTS * u64::from(SOURCES));
    drop(sensors);
    assert_eq!(clock.sleepers(), 0);
}
