//! Sampling schedules: exact due times, phases, alignment, the missed-tick
//! policies, a clock set back, the end of time, and the stream of ticks on
//! a manual clock, its polls and wakes counted, with no real time.
#![cfg(feature = "std")]

mod common;

use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::CountingWaker;
use confluo::sample::{Missed, Period, Schedule, Tick, Ticks, ZeroPeriod};
use confluo::time::{Clock, ManualClock};
use futures_core::stream::{FusedStream, Stream};

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

fn every(period: Duration) -> Schedule {
    Schedule::every(Period::new(period).unwrap())
}

fn tick(seq: u64, due: Duration, late: Duration, skipped: u64) -> Tick {
    Tick {
        seq,
        due,
        late,
        skipped,
    }
}

fn poll<C: Clock + Unpin>(ticks: &mut Ticks<C>, waker: &Waker) -> Poll<Option<Tick>>
where
    C::Sleep: Unpin,
{
    Pin::new(ticks).poll_next(&mut Context::from_waker(waker))
}

#[test]
fn a_period_is_never_zero() {
    assert_eq!(Period::new(Duration::ZERO), None);
    assert_eq!(Period::try_from(Duration::ZERO), Err(ZeroPeriod));
    assert_eq!(ZeroPeriod.to_string(), "a period of zero");
    let one = Period::try_from(Duration::from_nanos(1)).unwrap();
    assert_eq!(Duration::from(one), Duration::from_nanos(1));
    assert_eq!(Period::new(Duration::MAX).unwrap().get(), Duration::MAX);
}

#[test]
fn slots_are_due_at_start_plus_phase_plus_k_periods() {
    // 1,000 schedules, periods from a nanosecond to 10 s, phases given
    // beyond the period (taken modulo), starts from 0 to 13 s; each fired
    // exactly at its due times, 100 times, and never a nanosecond early.
    for i in 0..1_000u64 {
        let period = Duration::from_nanos(1 + i.wrapping_mul(2_654_435_761) % 10_000_000_000);
        let phase = Duration::from_nanos(i.wrapping_mul(40_503) % 30_000_000_000);
        let start = ms(i * 13);
        let p = period.as_nanos() as u64;
        let expected_phase = Duration::from_nanos(phase.as_nanos() as u64 % p);
        let mut schedule = every(period).phase(phase).starting_at(start);
        for k in 0..100u32 {
            let due = start + expected_phase + period * k;
            assert_eq!(schedule.due(), Some(due), "schedule {i}, slot {k}");
            if let Some(early) = due.checked_sub(Duration::from_nanos(1)) {
                assert_eq!(schedule.tick(early), None, "schedule {i}, slot {k}");
            }
            assert_eq!(
                schedule.tick(due),
                Some(tick(k.into(), due, Duration::ZERO, 0)),
                "schedule {i}, slot {k}"
            );
            assert_eq!(schedule.tick(due), None); // fired once
        }
    }
}

#[test]
fn the_time_a_read_takes_does_not_push_the_next_slot_back() {
    let mut schedule = every(ms(100));
    for k in 0..1_000u32 {
        // Each read takes from 0 to 4 ms, within the tolerance.
        let now = ms(100) * k + ms(u64::from(k % 5));
        let fired = schedule.tick(now).unwrap();
        assert_eq!(fired.seq, u64::from(k));
        assert_eq!(fired.due, ms(100) * k);
        assert_eq!(fired.late, ms(u64::from(k % 5)));
    }
    assert_eq!(schedule.due(), Some(secs(100)));
}

#[test]
fn the_phase_from_a_key_is_pinned() {
    let period = every(secs(10));
    // The same values in every run and on every platform; a change here
    // moves every user's sources, and belongs in the changelog. Each is
    // floor(h × 10 s in ns / 2^64), h the SplitMix64 finalizer of FNV-1a
    // over the key's bytes as `Hash` writes them (integers little-endian,
    // a str followed by 0xff).
    let pinned = |key: &dyn Fn(Schedule) -> Schedule| key(period.clone()).due().unwrap();
    assert_eq!(
        pinned(&|s| s.phase_from_key(&42u64)),
        Duration::from_nanos(PHASE_OF_42)
    );
    assert_eq!(
        pinned(&|s| s.phase_from_key(&42usize)),
        Duration::from_nanos(PHASE_OF_42)
    );
    assert_eq!(
        pinned(&|s| s.phase_from_key(&(7u32, 3u16))),
        Duration::from_nanos(PHASE_OF_7_3)
    );
    assert_eq!(
        pinned(&|s| s.phase_from_key("boiler")),
        Duration::from_nanos(PHASE_OF_BOILER)
    );
    // The phase is within the period, and the start does not change it.
    let started = period
        .clone()
        .starting_at(secs(1000))
        .phase_from_key(&42u64);
    assert_eq!(
        started.due(),
        Some(secs(1000) + Duration::from_nanos(PHASE_OF_42))
    );
}

const PHASE_OF_42: u64 = 8_803_563_115;
const PHASE_OF_7_3: u64 = 8_579_906_142;
const PHASE_OF_BOILER: u64 = 5_946_804_782;

#[test]
fn phases_from_keys_spread_over_the_period() {
    const KEYS: u32 = 10_000;
    let period = every(secs(1));
    let mut tenths = [0u32; 10];
    for key in 0..KEYS {
        let phase = period.clone().phase_from_key(&key).due().unwrap();
        assert!(phase < secs(1));
        tenths[(phase.as_nanos() / 100_000_000) as usize] += 1;
    }
    // About 1,000 each; a uniform spread is within ±150 with near
    // certainty (the standard deviation is 30).
    for (tenth, &count) in tenths.iter().enumerate() {
        assert!((850..=1_150).contains(&count), "tenth {tenth}: {tenths:?}");
    }
    // Neighbouring keys are far apart, not in neighbouring nanoseconds.
    let a = period.clone().phase_from_key(&1u32).due().unwrap();
    let b = period.phase_from_key(&2u32).due().unwrap();
    assert!(a.abs_diff(b) > ms(1), "{a:?} {b:?}");
}

#[test]
fn aligned_slots_fall_on_multiples_of_the_period_plus_the_phase() {
    // Against a brute-force search for the first grid point at or after
    // the start.
    for period_ms in [1u64, 7, 10, 250, 1_000] {
        for phase_ms in [0u64, 1, 3, 6] {
            let phase_ms = phase_ms % period_ms;
            for start_ms in (0..2_500).step_by(37) {
                let first = (0..)
                    .map(|m| m * period_ms + phase_ms)
                    .find(|&t| t >= start_ms)
                    .unwrap();
                let mut schedule = every(ms(period_ms))
                    .aligned(true)
                    .phase(ms(phase_ms))
                    .starting_at(ms(start_ms));
                assert_eq!(schedule.due(), Some(ms(first)));
                for k in 0..10 {
                    let due = ms(first + k * period_ms);
                    assert_eq!(schedule.tick(due).map(|t| (t.seq, t.due)), Some((k, due)));
                }
            }
        }
    }
    // Telegraf's example: every 10 s, started at 23 s, samples at 30, 40...
    let schedule = every(secs(10)).starting_at(secs(23));
    assert_eq!(schedule.clone().aligned(true).due(), Some(secs(30)));
    assert_eq!(schedule.clone().aligned(false).due(), Some(secs(23)));
    assert_eq!(
        schedule.starting_at(secs(30)).aligned(true).due(),
        Some(secs(30))
    );
}

/// Slot 0 fires at 0 s; the read it starts takes 3.5 periods of 10 s, so
/// the schedule is next asked at 35 s, after slots 1, 2 and 3.
fn overrun(missed: Missed) -> Schedule {
    let mut schedule = every(secs(10)).missed(missed);
    assert_eq!(schedule.tick(secs(0)), Some(tick(0, secs(0), secs(0), 0)));
    schedule
}

#[test]
fn skip_fires_the_last_slot_due_late_and_stays_on_the_grid() {
    let mut schedule = overrun(Missed::Skip);
    assert_eq!(schedule.tick(secs(35)), Some(tick(3, secs(30), secs(5), 2)));
    assert_eq!(schedule.due(), Some(secs(40)));
    assert_eq!(schedule.tick(secs(35)), None);
    assert_eq!(schedule.tick(secs(39)), None);
    assert_eq!(schedule.tick(secs(40)), Some(tick(4, secs(40), secs(0), 0)));
    assert_eq!(schedule.tick(secs(50)), Some(tick(5, secs(50), secs(0), 0)));

    // Skip is the default.
    assert_eq!(every(secs(10)).missed(Missed::default()), every(secs(10)));
    assert_eq!(Missed::default(), Missed::Skip);

    // Looked at just after a later slot, that slot fires, and the ones
    // before it are skipped.
    let mut schedule = overrun(Missed::Skip);
    assert_eq!(
        schedule.tick(secs(30) + ms(4)),
        Some(tick(3, secs(30), ms(4), 2))
    );
    assert_eq!(schedule.due(), Some(secs(40)));
}

#[test]
fn burst_fires_every_missed_slot_late_then_is_back_on_the_grid() {
    let mut schedule = overrun(Missed::Burst);
    assert_eq!(
        schedule.tick(secs(35)),
        Some(tick(1, secs(10), secs(25), 0))
    );
    assert_eq!(
        schedule.tick(secs(35)),
        Some(tick(2, secs(20), secs(15), 0))
    );
    assert_eq!(schedule.tick(secs(35)), Some(tick(3, secs(30), secs(5), 0)));
    assert_eq!(schedule.tick(secs(35)), None);
    assert_eq!(schedule.tick(secs(40)), Some(tick(4, secs(40), secs(0), 0)));
}

#[test]
fn delay_fires_the_first_missed_slot_late_and_moves_the_grid() {
    let mut schedule = overrun(Missed::Delay);
    assert_eq!(
        schedule.tick(secs(35)),
        Some(tick(1, secs(10), secs(25), 0))
    );
    assert_eq!(schedule.tick(secs(35)), None);
    assert_eq!(schedule.due(), Some(secs(45)));
    assert_eq!(schedule.tick(secs(45)), Some(tick(2, secs(45), secs(0), 0)));
    assert_eq!(schedule.tick(secs(55)), Some(tick(3, secs(55), secs(0), 0)));

    // Within the tolerance, the grid stays.
    let mut schedule = overrun(Missed::Delay);
    assert_eq!(
        schedule.tick(secs(10) + ms(5)),
        Some(tick(1, secs(10), ms(5), 0))
    );
    assert_eq!(schedule.due(), Some(secs(20)));
}

#[test]
fn a_late_slot_fires_under_every_policy_and_the_tolerance_moves_only_delay() {
    for (missed, strict_next) in [
        (Missed::Skip, secs(20)),
        (Missed::Burst, secs(20)),
        (Missed::Delay, secs(10) + ms(20) + secs(10)),
    ] {
        // 20 ms late, before slot 2: slot 1 fires, late, whatever the
        // tolerance; only Delay moves the grid, and only past it.
        for (tolerance, next) in [(ms(10), strict_next), (ms(20), secs(20))] {
            let mut schedule = every(secs(10)).missed(missed).tolerance(tolerance);
            schedule.tick(secs(0));
            assert_eq!(
                schedule.tick(secs(10) + ms(20)),
                Some(tick(1, secs(10), ms(20), 0)),
                "{missed:?}"
            );
            assert_eq!(schedule.due(), Some(next), "{missed:?} {tolerance:?}");
        }
    }
}

#[test]
fn a_clock_set_back_fires_nothing_until_it_reaches_the_next_slot_again() {
    for missed in [Missed::Skip, Missed::Burst, Missed::Delay] {
        let mut schedule = every(secs(10)).missed(missed);
        assert_eq!(schedule.tick(secs(0)).map(|t| t.seq), Some(0));
        assert_eq!(schedule.tick(secs(10)).map(|t| t.seq), Some(1));
        let before = schedule.clone();
        for back in [secs(3), secs(0), secs(19)] {
            assert_eq!(schedule.tick(back), None, "{missed:?}");
        }
        assert_eq!(schedule, before); // nothing moved
        assert_eq!(schedule.tick(secs(20)), Some(tick(2, secs(20), secs(0), 0)));
    }
}

#[test]
fn the_end_of_time_neither_panics_nor_loops() {
    // A period of Duration::MAX: slot 0, then nothing past the end.
    let mut once = every(Duration::MAX).starting_at(secs(1));
    assert_eq!(once.tick(secs(1)).map(|t| t.seq), Some(0));
    assert_eq!(once.due(), None);
    assert_eq!(once.tick(Duration::MAX), None);
    // From zero, slot 1 is due at exactly Duration::MAX, and is the last.
    let mut twice = every(Duration::MAX);
    twice.tick(secs(0));
    assert_eq!(twice.due(), Some(Duration::MAX));
    assert_eq!(
        twice.tick(Duration::MAX),
        Some(tick(1, Duration::MAX, secs(0), 0))
    );
    assert_eq!(twice.due(), None);

    // A start at the end of time, with a phase or aligned: never due.
    assert_eq!(
        every(secs(1)).starting_at(Duration::MAX).due(),
        Some(Duration::MAX)
    );
    assert_eq!(
        every(secs(1)).starting_at(Duration::MAX).phase(ms(1)).due(),
        None
    );
    assert_eq!(
        every(secs(7))
            .starting_at(Duration::MAX)
            .aligned(true)
            .due(),
        None
    );
    assert_eq!(
        every(Duration::MAX).phase(Duration::MAX).due(),
        Some(Duration::ZERO)
    );
    assert!(every(Duration::MAX).phase_from_key(&1u8).due().unwrap() < Duration::MAX);

    // A clock that jumps to the end of time, on a period of a nanosecond.
    let ns = Duration::from_nanos(1);
    let mut skip = every(ns);
    let fired = skip.tick(Duration::MAX).unwrap();
    assert_eq!((fired.seq, fired.skipped), (u64::MAX, u64::MAX)); // saturated
    assert_eq!((fired.due, fired.late), (Duration::MAX, secs(0)));
    assert_eq!(skip.due(), None);

    let mut burst = every(ns).missed(Missed::Burst);
    for k in 0..3 {
        let fired = burst.tick(Duration::MAX).unwrap();
        assert_eq!((fired.seq, fired.due), (k, ns * k as u32));
    }
    let mut delay = every(ns).missed(Missed::Delay);
    assert_eq!(
        delay.tick(Duration::MAX).map(|t| t.late),
        Some(Duration::MAX)
    );
    assert_eq!(delay.due(), None);

    // Skip, a long period and a far jump: constant time, exact count.
    let mut skip = every(secs(10));
    skip.tick(secs(0));
    let year = secs(365 * 24 * 3600);
    assert_eq!(
        skip.tick(year * 1_000 + ms(3)).map(|t| t.skipped),
        Some(year.as_secs() * 100 - 1)
    );
}

#[test]
fn ticks_yield_exactly_the_due_ticks_on_a_manual_clock() {
    let clock = ManualClock::new();
    let (counter, waker) = CountingWaker::new();
    let mut ticks = every(secs(10)).phase(secs(3)).ticks(clock.clone());
    let mut polls = 0;
    let mut poll = |ticks: &mut Ticks<ManualClock>| {
        polls += 1;
        poll(ticks, &waker)
    };

    for k in 0..100u32 {
        let due = secs(3) + secs(10) * k;
        // Before the slot: pending, one sleep registered with the clock.
        assert_eq!(poll(&mut ticks), Poll::Pending);
        assert_eq!(clock.sleepers(), 1);
        clock.advance_to(due - Duration::from_nanos(1));
        assert_eq!(counter.wakes(), k as usize); // not woken early
        assert_eq!(clock.advance(Duration::from_nanos(1)), 1);
        assert_eq!(counter.wakes(), k as usize + 1);
        assert_eq!(
            poll(&mut ticks),
            Poll::Ready(Some(tick(k.into(), due, secs(0), 0)))
        );
        assert_eq!(clock.sleepers(), 0);
    }
    // Two polls per tick, one wake per tick: no spurious polls or wakes.
    assert_eq!(polls, 200);
    assert_eq!(counter.wakes(), 100);
    assert!(!ticks.is_terminated());
}

#[test]
fn ticks_after_a_slow_consumer_follow_the_missed_policy() {
    let expected = [
        (
            Missed::Skip,
            vec![tick(3, secs(30), secs(5), 2), tick(4, secs(40), secs(0), 0)],
        ),
        (
            Missed::Burst,
            vec![
                tick(1, secs(10), secs(25), 0),
                tick(2, secs(20), secs(15), 0),
                tick(3, secs(30), secs(5), 0),
                tick(4, secs(40), secs(0), 0),
            ],
        ),
        (
            Missed::Delay,
            vec![
                tick(1, secs(10), secs(25), 0),
                tick(2, secs(45), secs(0), 0),
            ],
        ),
    ];
    for (missed, expected) in expected {
        let clock = ManualClock::new();
        let (counter, waker) = CountingWaker::new();
        let mut ticks = every(secs(10)).missed(missed).ticks(&clock);
        assert_eq!(
            poll(&mut ticks, &waker),
            Poll::Ready(Some(tick(0, secs(0), secs(0), 0)))
        );
        clock.advance(secs(35)); // the consumer is busy: nobody polls
        let mut seen = Vec::new();
        let mut wakes = 0;
        while seen.len() < expected.len() {
            match poll(&mut ticks, &waker) {
                Poll::Ready(Some(tick)) => seen.push(tick),
                Poll::Ready(None) => unreachable!("ticks never end"),
                Poll::Pending => {
                    // Sleeping until the next slot: move the clock there.
                    clock.advance_to(ticks.schedule().due().unwrap());
                    wakes += 1;
                    assert_eq!(counter.wakes(), wakes, "{missed:?}");
                }
            }
        }
        assert_eq!(seen, expected, "{missed:?}");
    }
}

#[test]
fn ticks_wait_again_when_the_clock_is_set_back() {
    let clock = ManualClock::new();
    let (counter, waker) = CountingWaker::new();
    let mut ticks = every(secs(10)).ticks(clock.clone());
    assert_eq!(
        poll(&mut ticks, &waker),
        Poll::Ready(Some(tick(0, secs(0), secs(0), 0)))
    );
    clock.advance(secs(8));
    assert_eq!(poll(&mut ticks, &waker), Poll::Pending);
    clock.set(secs(2));
    clock.advance(secs(7)); // at 9 s
    assert_eq!(poll(&mut ticks, &waker), Poll::Pending);
    assert_eq!(counter.wakes(), 0);
    clock.advance(secs(1));
    assert_eq!(counter.wakes(), 1);
    assert_eq!(
        poll(&mut ticks, &waker),
        Poll::Ready(Some(tick(1, secs(10), secs(0), 0)))
    );

    // Woken at the slot, then set back before the poll: the sleep waits
    // again, and no tick comes early.
    assert_eq!(poll(&mut ticks, &waker), Poll::Pending);
    clock.advance(secs(10));
    assert_eq!(counter.wakes(), 2);
    clock.set(secs(15));
    assert_eq!(poll(&mut ticks, &waker), Poll::Pending);
    assert_eq!(clock.sleepers(), 1);
    clock.set(secs(20));
    assert_eq!(
        poll(&mut ticks, &waker),
        Poll::Ready(Some(tick(2, secs(20), secs(0), 0)))
    );
}

#[test]
fn ticks_on_a_clock_whose_sleeps_end_early_yield_instead_of_looping() {
    // A broken clock: every sleep completes at once, and time stands at 0.
    // The stream must not spin on it: it asks to be polled again and
    // returns, with no tick before its time.
    struct Early;
    impl Clock for Early {
        type Sleep = std::future::Ready<()>;
        fn now(&self) -> Duration {
            Duration::ZERO
        }
        fn sleep_until(&self, _: Duration) -> Self::Sleep {
            std::future::ready(())
        }
    }
    let (counter, waker) = CountingWaker::new();
    let mut ticks = every(secs(10)).phase(secs(1)).ticks(Early);
    for polls in 1..=3 {
        assert_eq!(poll(&mut ticks, &waker), Poll::Pending);
        assert_eq!(counter.wakes(), polls);
    }
    assert_eq!(ticks.schedule().due(), Some(secs(1)));
}

#[test]
fn ticks_past_the_end_of_time_stay_pending_and_hold_no_sleep() {
    let clock = ManualClock::new();
    let (counter, waker) = CountingWaker::new();
    let mut ticks = every(Duration::MAX).starting_at(secs(1)).ticks(&clock);
    assert_eq!(ticks.size_hint(), (0, Some(1)));
    clock.advance(secs(1));
    assert!(matches!(poll(&mut ticks, &waker), Poll::Ready(Some(_))));
    assert_eq!(ticks.size_hint(), (0, Some(0)));
    for _ in 0..3 {
        assert_eq!(poll(&mut ticks, &waker), Poll::Pending);
    }
    assert_eq!(clock.sleepers(), 0);
    clock.advance(Duration::MAX);
    assert_eq!(poll(&mut ticks, &waker), Poll::Pending);
    assert_eq!(counter.wakes(), 0);
    assert!(!ticks.is_terminated());
}

#[test]
fn ticks_size_hint_counts_the_slots_left_before_the_end_of_time() {
    let ticks = every(secs(1)).ticks(ManualClock::new());
    // u64::MAX seconds and a bit: more than usize can say on 64 bits.
    assert_eq!(ticks.size_hint(), (0, None));
    let ticks = every(Duration::MAX / 4).ticks(ManualClock::new());
    assert_eq!(ticks.size_hint(), (0, Some(5)));
}

#[test]
fn dropping_ticks_drops_the_pending_sleep() {
    let clock = ManualClock::new();
    let (counter, waker) = CountingWaker::new();
    let mut ticks = every(secs(1)).phase(ms(500)).ticks(clock.clone());
    assert_eq!(poll(&mut ticks, &waker), Poll::Pending);
    assert_eq!(clock.sleepers(), 1);
    drop(ticks);
    assert_eq!(clock.sleepers(), 0);
    clock.advance(secs(1));
    assert_eq!(counter.wakes(), 0);
}

#[test]
fn debug_shows_the_schedule_and_whether_it_sleeps() {
    let clock = ManualClock::new();
    let mut ticks = every(secs(1)).phase(ms(500)).ticks(clock);
    let (_, waker) = CountingWaker::new();
    assert!(format!("{ticks:?}").contains("sleeping: false"));
    assert_eq!(poll(&mut ticks, &waker), Poll::Pending);
    let debug = format!("{ticks:?}");
    assert!(debug.starts_with("Ticks { schedule: Schedule {"), "{debug}");
    assert!(debug.contains("sleeping: true"), "{debug}");
}

#[test]
fn many_schedules_over_simulated_hours() {
    // 100,000 sources every 10 s, spread by key, looked at every 7 minutes
    // and 3 ms for 6 hours by a consumer that is always late: each look
    // fires the last slot due, in constant time, and the counts add up.
    const SOURCES: u64 = 100_000;
    let period = secs(10);
    let look = secs(7 * 60) + ms(3);
    let mut schedules: Vec<Schedule> = (0..SOURCES)
        .map(|key| every(period).phase_from_key(&key))
        .collect();
    let mut looks = 0u64;
    let mut fired = 0u64;
    let mut skipped = 0u64;
    let mut now = Duration::ZERO;
    while now < secs(6 * 3600) {
        now += look;
        looks += 1;
        for schedule in &mut schedules {
            let tick = schedule.tick(now).unwrap();
            assert!(tick.due <= now && now < tick.due + period, "{tick:?}");
            assert_eq!(tick.late, now - tick.due);
            assert_eq!(schedule.due(), Some(tick.due + period));
            fired += 1;
            skipped += tick.skipped;
        }
    }
    // Every slot due by the last look was either fired or skipped, once:
    // slot k of a source is due at its phase plus k periods.
    let slots: u64 = (0..SOURCES)
        .map(|key| {
            let origin = every(period).phase_from_key(&key).due().unwrap();
            ((now - origin).as_nanos() / period.as_nanos()) as u64 + 1
        })
        .sum();
    assert_eq!(fired, looks * SOURCES);
    assert_eq!(fired + skipped, slots);
    assert!(schedules.iter_mut().all(|s| s.tick(now).is_none()));
}

#[test]
fn schedules_and_ticks_cross_threads() {
    fn send_sync_unpin<T: Send + Sync + Unpin>() {}
    send_sync_unpin::<Schedule>();
    send_sync_unpin::<Tick>();
    send_sync_unpin::<Period>();
    send_sync_unpin::<Ticks<ManualClock>>();
}
