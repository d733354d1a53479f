//! A schedule that skips missed slots fired nothing, ever, for a caller
//! that always came a little late.
//!
//! `Missed::Skip` passed over every slot found more than the tolerance
//! (5 ms) after it was due and waited for the next one on the grid. A
//! stream woken by a timer that fires 6 ms late each time (a coarse timer,
//! a busy executor with thousands of sources) found every slot missed, and
//! its ticks and samples never came; the skipped slots were reported only
//! with a tick that never fired.
//!
//! Now `Skip` fires the last slot due, late, and passes over only the slots
//! before it, as tokio's `MissedTickBehavior::Skip` does: a caller that is
//! always late gets every slot, late, and nothing is skipped.
#![cfg(feature = "std")]

use std::time::Duration;

use confluo::sample::{Outcome, Period, Sampler, Schedule, Tick};
use confluo::time::ManualClock;
use futures::{FutureExt, StreamExt};

const PERIOD: Duration = Duration::from_millis(100);
const LATE: Duration = Duration::from_millis(6);

#[test]
fn ticks_woken_late_every_time_fire_every_slot() {
    let clock = ManualClock::new();
    let mut ticks = Schedule::every(Period::new(PERIOD).unwrap()).ticks(clock.clone());
    for k in 0..1_000u32 {
        let due = PERIOD * k;
        clock.advance_to(due + LATE);
        let tick = ticks.next().now_or_never().flatten();
        assert_eq!(
            tick,
            Some(Tick {
                seq: k.into(),
                due,
                late: LATE,
                skipped: 0
            })
        );
    }
}

#[test]
fn a_sampler_woken_late_every_time_samples_every_slot() {
    let clock = ManualClock::new();
    let mut sampler = Box::pin(Sampler::new(
        Schedule::every(Period::new(PERIOD).unwrap()),
        clock.clone(),
        || async { Ok::<(), ()>(()) },
        |()| async { (Some(()), Ok::<u32, ()>(7)) },
    ));
    for k in 0..1_000u32 {
        clock.advance_to(PERIOD * k + LATE);
        let sample = sampler.next().now_or_never().flatten().unwrap();
        assert_eq!((sample.seq, sample.late), (k.into(), LATE));
        assert_eq!(sample.outcome, Outcome::Ok(7));
    }
    let health = sampler.health();
    assert_eq!((health.ok, health.skipped), (1_000, 0));
}
