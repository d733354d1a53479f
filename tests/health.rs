//! Health while a `Gather` drives the samplers: a table fed with their
//! samples tells, at any moment, which sources are down and the rate each
//! achieves; on a manual clock, with exact counts.
#![cfg(feature = "std")]

use std::future::{pending, ready, Future};
use std::pin::Pin;
use std::time::Duration;

use confluo::gather;
use confluo::sample::{Backoff, Health, HealthTable, Outcome, Period, Sample, Sampler, Schedule};
use confluo::time::ManualClock;
use futures::{FutureExt, Stream, StreamExt};

const fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

type Keyed = Pin<Box<dyn Stream<Item = (u32, Sample<u32, &'static str>)>>>;
type Fut<T> = Pin<Box<dyn Future<Output = T>>>;

/// Source `key` sampled every 100 ms; a read past `reads_before_hang`
/// reads hangs, and a source with `refuses` never connects.
fn sensor(clock: &ManualClock, key: u32, reads_before_hang: u32, refuses: bool) -> Keyed {
    let mut reads = 0;
    let sampler = Sampler::new(
        Schedule::every(Period::new(ms(100)).unwrap()),
        clock.clone(),
        move || -> Fut<Result<(), &'static str>> {
            Box::pin(ready(if refuses { Err("refused") } else { Ok(()) }))
        },
        move |()| -> Fut<(Option<()>, Result<u32, &'static str>)> {
            reads += 1;
            if reads > reads_before_hang {
                Box::pin(pending())
            } else {
                Box::pin(ready((Some(()), Ok(reads))))
            }
        },
    )
    .backoff(Backoff {
        first: ms(250),
        max: ms(1_000),
        jitter: 0,
        ..Backoff::default()
    });
    Box::pin(sampler.map(move |sample| (key, sample)))
}

#[test]
fn a_table_fed_from_a_gather_tells_which_sources_are_down_and_their_rates() {
    let clock = ManualClock::new();
    let mut sensors = gather([
        sensor(&clock, 0, u32::MAX, false), // always answers
        sensor(&clock, 1, 3, false),        // hangs after three reads
        sensor(&clock, 2, u32::MAX, true),  // refuses every connect
    ]);
    let mut table = HealthTable::new();
    let mut outcomes = [0u64; 3];
    // Ten seconds less a millisecond: slots 0 to 99 of each source.
    while clock.now() < ms(10_000) {
        while let Some(Some((key, sample))) = sensors.next().now_or_never() {
            assert!(sample.due <= clock.now());
            outcomes[key as usize] += 1;
            table.record(key, &sample);
        }
        clock.advance(ms(1));
    }

    let up = table.get(&0).unwrap();
    assert_eq!((up.taken, up.ok, up.consecutive_failures), (100, 100, 0));
    // Slot 3 timed out on a connection that had given readings: slot 4
    // connects again at once. Each later connection times out before a
    // reading, and the next connect waits 250 ms, 500 ms, then 1 s (the
    // cap): slots 8, 14, then every 11th; the slots between are
    // `Disconnected`.
    let hung = table.get(&1).unwrap();
    assert_eq!((hung.ok, hung.timeouts, hung.taken), (3, 11, 100));
    assert_eq!((hung.disconnected, hung.consecutive_failures), (86, 97));
    let refused = table.get(&2).unwrap();
    assert_eq!(refused.ok, 0);
    assert_eq!(refused.connect_failures + refused.disconnected, 100);
    assert!(refused.connect_failures >= 10); // at least one try a second

    let down: Vec<u32> = table.down().map(|(&key, _)| key).collect();
    assert_eq!(down, [1, 2]);
    assert_eq!(table.len(), 3);
    assert_eq!(outcomes, [100, 100, 100]);

    // Every 100 ms: 10 Hz where every slot gives a reading.
    assert_close(up.rate(), 10.0);
    assert_close(hung.rate(), 0.3);
    assert_eq!(refused.rate(), 0.0);
    assert_close(table.rate(), 10.3);
}

#[test]
fn no_rate_before_two_slots_at_different_times() {
    let mut health = Health::default();
    assert_eq!(health.rate(), 0.0);
    let at = |due| Sample {
        seq: 0,
        due,
        late: ms(0),
        took: ms(0),
        outcome: Outcome::<u8, ()>::Ok(1),
    };
    health.record(&at(ms(100)));
    assert_eq!(health.rate(), 0.0);
    health.record(&at(ms(100)));
    assert_eq!(health.rate(), 0.0); // no time between them
    health.record(&at(ms(300)));
    assert_close(health.rate(), 10.0);
}

fn assert_close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-9, "{got} is not {want}");
}

#[test]
fn health_counts_every_outcome_once() {
    let at = |seq: u64, took, outcome| Sample {
        seq,
        due: ms(100) * seq as u32,
        late: ms(0),
        took,
        outcome,
    };
    let mut table = HealthTable::new();
    let script: [Outcome<u8, &str>; 7] = [
        Outcome::Ok(1),
        Outcome::Err("busy"),
        Outcome::ConnectFailed("refused"),
        Outcome::TimedOut,
        Outcome::Disconnected,
        Outcome::Skipped { slots: 4 },
        Outcome::Ok(2),
    ];
    for (seq, outcome) in script.into_iter().enumerate() {
        table.record("s", &at(seq as u64, ms(10 * seq as u64), outcome));
    }
    let health = table.get("s").unwrap();
    assert_eq!(health.taken, 6); // the skipped sample stands for no read
    assert_eq!(
        (health.ok, health.errors, health.connect_failures),
        (2, 1, 1)
    );
    assert_eq!(
        (health.timeouts, health.disconnected, health.skipped),
        (1, 1, 4)
    );
    assert_eq!(health.last_latency, Some(ms(60)));
    assert_eq!(health.since, Some(ms(0)));
    assert!(health.is_up());
    // 2 readings in 10 slots (4 of them skipped), the 9 after the first
    // over the 600 ms from the first due time to the last: 3 Hz.
    assert_close(health.rate(), 3.0);
    assert_eq!(table.remove("s").map(|h| h.ok), Some(2));
    assert_eq!(table.rate(), 0.0);
}
