//! The sampled source: exact due times and outcomes over many slots, reads
//! cut at their deadline at every point, the backoff's waits with their
//! jitter, reconnects, the health counters, drops and panics; on a manual
//! clock, with every connect, read, poll and drop counted.
#![cfg(feature = "std")]

mod common;

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::CountingWaker;
use confluo::gather;
use confluo::sample::{Backoff, Outcome, Period, Sample, Sampler, Schedule};
use confluo::time::{Clock, ManualClock, ManualSleep};
use futures_core::stream::{FusedStream, Stream};

const fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

fn every(period: Duration) -> Schedule {
    Schedule::every(Period::new(period).unwrap())
}

/// What happened to the rig's connections and reads.
#[derive(Default)]
struct Counts {
    connects: AtomicUsize,
    conn_drops: AtomicUsize,
    reads: AtomicUsize,
    hang_polls: AtomicUsize,
    hang_drops: AtomicUsize,
}

fn get(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}

/// A connection that counts its drop.
struct Conn {
    counts: Arc<Counts>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.counts.conn_drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// What the next connect does.
#[derive(Clone, Copy, Debug)]
enum Connect {
    Ok,
    Err(&'static str),
    Hang,
}

/// What the next read does.
#[derive(Clone, Copy, Debug)]
enum Read {
    Ok(u32),
    /// A reading after this long on the clock.
    OkAfter(u32, Duration),
    Err(&'static str),
    /// An error, and the connection is broken.
    Break,
    Hang,
    Panic,
}

/// A scripted future: ready at once, ready at a time on the clock, never
/// (counting its polls and its drop), or a panic.
enum Step<O> {
    Now(Option<O>),
    At(ManualSleep, Option<O>),
    /// Never ready; holds the connection, if any, while it hangs.
    Hang(Arc<Counts>, #[allow(dead_code)] Option<Conn>),
    Panic,
}

impl<O> Drop for Step<O> {
    fn drop(&mut self) {
        if let Step::Hang(counts, _) = self {
            counts.hang_drops.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl<O: Unpin> Future for Step<O> {
    type Output = O;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        match &mut *self {
            Step::Now(out) => Poll::Ready(out.take().expect("polled after it completed")),
            Step::At(sleep, out) => match Pin::new(sleep).poll(cx) {
                Poll::Ready(()) => Poll::Ready(out.take().expect("polled after it completed")),
                Poll::Pending => Poll::Pending,
            },
            Step::Hang(counts, _) => {
                counts.hang_polls.fetch_add(1, Ordering::SeqCst);
                Poll::Pending
            }
            Step::Panic => panic!("the sensor's driver panicked"),
        }
    }
}

type Reading = (Option<Conn>, Result<u32, &'static str>);
type Sampled = Sampler<
    ManualClock,
    Conn,
    Box<dyn FnMut() -> Step<Result<Conn, &'static str>>>,
    Step<Result<Conn, &'static str>>,
    Box<dyn FnMut(Conn) -> Step<Reading>>,
    Step<Reading>,
>;

/// A sampler on a manual clock whose connects and reads follow scripts;
/// past its script, a connect succeeds and a read gives its number.
struct Rig {
    clock: ManualClock,
    counts: Arc<Counts>,
    connects: Arc<Mutex<VecDeque<Connect>>>,
    reads: Arc<Mutex<VecDeque<Read>>>,
    waker: Waker,
    wakes: Arc<CountingWaker>,
}

impl Rig {
    fn new(schedule: Schedule) -> (Rig, Sampled) {
        Rig::on(ManualClock::new(), schedule)
    }

    /// A rig on `clock`, shared with others.
    fn on(clock: ManualClock, schedule: Schedule) -> (Rig, Sampled) {
        let counts = Arc::new(Counts::default());
        let connects = Arc::new(Mutex::new(VecDeque::new()));
        let reads = Arc::new(Mutex::new(VecDeque::new()));
        let (wakes, waker) = CountingWaker::new();
        let connect: Box<dyn FnMut() -> Step<Result<Conn, &'static str>>> = {
            let (counts, script) = (Arc::clone(&counts), Arc::clone(&connects));
            Box::new(move || {
                counts.connects.fetch_add(1, Ordering::SeqCst);
                let conn = Conn {
                    counts: Arc::clone(&counts),
                };
                match script.lock().unwrap().pop_front().unwrap_or(Connect::Ok) {
                    Connect::Ok => Step::Now(Some(Ok(conn))),
                    Connect::Err(error) => Step::Now(Some(Err(error))),
                    Connect::Hang => Step::Hang(Arc::clone(&counts), None),
                }
            })
        };
        let read: Box<dyn FnMut(Conn) -> Step<Reading>> = {
            let (counts, script, clock) = (Arc::clone(&counts), Arc::clone(&reads), clock.clone());
            Box::new(move |conn: Conn| {
                let n = counts.reads.fetch_add(1, Ordering::SeqCst) as u32;
                match script.lock().unwrap().pop_front().unwrap_or(Read::Ok(n)) {
                    Read::Ok(v) => Step::Now(Some((Some(conn), Ok(v)))),
                    Read::OkAfter(v, after) => {
                        Step::At(clock.sleep(after), Some((Some(conn), Ok(v))))
                    }
                    Read::Err(error) => Step::Now(Some((Some(conn), Err(error)))),
                    Read::Break => Step::Now(Some((None, Err("broken")))),
                    Read::Hang => Step::Hang(Arc::clone(&counts), Some(conn)),
                    Read::Panic => Step::Panic,
                }
            })
        };
        let sampler = Sampler::new(schedule, clock.clone(), connect, read);
        let rig = Rig {
            clock,
            counts,
            connects,
            reads,
            waker,
            wakes,
        };
        (rig, sampler)
    }

    fn connects(&self, script: &[Connect]) {
        self.connects.lock().unwrap().extend(script);
    }

    fn reads(&self, script: &[Read]) {
        self.reads.lock().unwrap().extend(script);
    }

    fn poll(&self, sampler: &mut Sampled) -> Poll<Option<Sample<u32, &'static str>>> {
        Pin::new(sampler).poll_next(&mut Context::from_waker(&self.waker))
    }

    /// The sample that is ready now.
    fn next(&self, sampler: &mut Sampled) -> Sample<u32, &'static str> {
        match self.poll(sampler) {
            Poll::Ready(Some(sample)) => sample,
            other => panic!("no sample at {:?}: {other:?}", self.clock.now()),
        }
    }
}

fn sample(
    seq: u64,
    due: Duration,
    late: Duration,
    took: Duration,
    outcome: Outcome<u32, &'static str>,
) -> Sample<u32, &'static str> {
    Sample {
        seq,
        due,
        late,
        took,
        outcome,
    }
}

#[test]
fn samples_are_taken_at_their_due_times_over_many_slots() {
    let (rig, mut sampler) = Rig::new(every(ms(100)).phase(ms(30)));
    let reads: Vec<Read> = (0..1_000)
        .map(|k| Read::OkAfter(k * 3, ms(u64::from(k % 7) * 10)))
        .collect();
    rig.reads(&reads);
    for k in 0..1_000u32 {
        let due = ms(30) + ms(100) * k;
        let took = ms(u64::from(k % 7) * 10);
        assert_eq!(rig.poll(&mut sampler), Poll::Pending, "slot {k}");
        rig.clock.advance_to(due - Duration::from_nanos(1));
        assert_eq!(rig.poll(&mut sampler), Poll::Pending, "slot {k}");
        assert_eq!(get(&rig.counts.reads), k as usize); // not started early
        rig.clock.advance_to(due);
        if !took.is_zero() {
            assert_eq!(rig.poll(&mut sampler), Poll::Pending, "slot {k}");
            rig.clock.advance(took);
        }
        assert_eq!(
            rig.next(&mut sampler),
            sample(k.into(), due, ms(0), took, Outcome::Ok(k * 3))
        );
    }
    // One connection all along, every wake a sleep that became due.
    assert_eq!(get(&rig.counts.connects), 1);
    assert_eq!(get(&rig.counts.conn_drops), 0);
    assert!(sampler.is_connected());
    assert!(!sampler.is_terminated());
    let health = sampler.health();
    assert_eq!(
        (health.taken, health.ok, health.consecutive_failures),
        (1_000, 1_000, 0)
    );
    assert_eq!(health.last_latency, Some(ms(50))); // slot 999: 999 % 7 = 5
    assert!(rig.wakes.wakes() >= 1_000);
}

#[test]
fn a_hanging_read_is_cut_at_its_deadline_and_the_next_sample_is_on_time() {
    // Timeouts below the period, the period itself, and above it (cut at
    // the next slot all the same).
    for timeout in [1, 17, 40, 99, 100, 101, 250] {
        let (rig, sampler) = Rig::new(every(ms(100)));
        let mut sampler = sampler.timeout(ms(timeout));
        rig.reads(&[Read::Ok(7), Read::Hang, Read::Ok(9)]);
        assert_eq!(
            rig.next(&mut sampler),
            sample(0, ms(0), ms(0), ms(0), Outcome::Ok(7))
        );
        rig.clock.advance_to(ms(100));
        let cut = ms(100) + ms(timeout.min(100));
        let mut polls = 0;
        while rig.clock.now() < cut {
            assert_eq!(rig.poll(&mut sampler), Poll::Pending, "timeout {timeout}");
            polls += 1;
            assert_eq!(get(&rig.counts.hang_polls), polls);
            assert_eq!(get(&rig.counts.hang_drops), 0);
            rig.clock.advance(ms(1));
        }
        // At the deadline: polled once more (a read done by then would
        // win), then cut.
        assert_eq!(
            rig.next(&mut sampler),
            sample(1, ms(100), ms(0), ms(timeout.min(100)), Outcome::TimedOut),
            "timeout {timeout}"
        );
        assert_eq!(get(&rig.counts.hang_polls), polls + 1);
        assert_eq!(get(&rig.counts.hang_drops), 1);
        assert_eq!(get(&rig.counts.conn_drops), 1); // the connection went with it
        assert!(!sampler.is_connected());
        if cut < ms(200) {
            assert_eq!(rig.poll(&mut sampler), Poll::Pending);
        }
        // The next sample, on time, on a new connection.
        rig.clock.advance_to(ms(200));
        assert_eq!(
            rig.next(&mut sampler),
            sample(2, ms(200), ms(0), ms(0), Outcome::Ok(9)),
            "timeout {timeout}"
        );
        assert_eq!(get(&rig.counts.hang_polls), polls + 1); // never polled again
        assert_eq!(get(&rig.counts.connects), 2);
        assert_eq!(sampler.retry_at(), None); // a cut read is no failed connect
    }
}

/// SplitMix64, written again here: the waits are pinned to it.
fn split_mix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Runs a source whose connect fails `fails` times, sampled every 100 ms,
/// against a model of the backoff; returns the times of the connects.
fn backoff_run(backoff: Backoff, seed: u64, fails: usize) -> Vec<Duration> {
    let (rig, sampler) = Rig::new(every(ms(100)));
    let mut sampler = sampler.backoff(backoff).seed(seed);
    rig.connects(&vec![Connect::Err("refused"); fails]);
    let mut state = seed;
    let mut retry_at: Option<Duration> = None;
    let mut failures = 0u32;
    let mut attempts = Vec::new();
    for k in 0..200u32 {
        let now = ms(100) * k;
        rig.clock.advance_to(now);
        let got = rig.next(&mut sampler);
        assert_eq!((got.seq, got.due), (k.into(), now));
        let connected = attempts.len() > fails;
        let expected = if connected {
            Outcome::Ok(get(&rig.counts.reads) as u32 - 1)
        } else if retry_at.is_some_and(|at| now < at) {
            Outcome::Disconnected
        } else if attempts.len() < fails {
            attempts.push(now);
            failures += 1;
            let ceiling = backoff.delay(failures).as_nanos();
            let span = ceiling * u128::from(backoff.jitter) / 100;
            let off = (u128::from(split_mix(&mut state)) * (span + 1)) >> 64;
            let wait = Duration::from_nanos((ceiling - off) as u64);
            assert!(wait <= backoff.max);
            retry_at = Some(now + wait);
            Outcome::ConnectFailed("refused")
        } else {
            attempts.push(now);
            retry_at = None;
            Outcome::Ok(0)
        };
        assert_eq!(got.outcome, expected, "slot {k}");
        assert_eq!(sampler.retry_at(), retry_at, "slot {k}");
        assert_eq!(get(&rig.counts.connects), attempts.len(), "slot {k}");
    }
    attempts
}

#[test]
fn failed_connects_back_off_exactly_and_up_to_the_cap() {
    // No jitter: waits of 300, 600, then 1,000 ms (the cap), from each
    // failure, rounded up to a slot.
    let plain = Backoff {
        first: ms(300),
        max: ms(1_000),
        factor: 2,
        jitter: 0,
    };
    assert_eq!(
        backoff_run(plain, 7, 5),
        [0, 300, 900, 1_900, 2_900, 3_900].map(ms)
    );
    // With jitter: the waits the seeded generator gives, pinned here
    // (the same in every run), each within half of its ceiling.
    let jittered = Backoff {
        jitter: 50,
        ..plain
    };
    let attempts = backoff_run(jittered, 7, 5);
    assert_eq!(attempts, ATTEMPTS_SEED_7.map(ms));
    let other = backoff_run(jittered, 8, 5);
    assert_ne!(attempts, other); // another seed, other waits
}

const ATTEMPTS_SEED_7: [u64; 6] = [0, 300, 900, 1_500, 2_300, 3_100];

#[test]
fn a_connect_that_hangs_is_cut_and_backs_off() {
    let (rig, sampler) = Rig::new(every(ms(100)));
    let backoff = Backoff {
        first: ms(150),
        jitter: 0,
        ..Backoff::default()
    };
    let mut sampler = sampler.timeout(ms(50)).backoff(backoff);
    rig.connects(&[Connect::Hang]);
    assert_eq!(rig.poll(&mut sampler), Poll::Pending);
    rig.clock.advance(ms(50));
    assert_eq!(
        rig.next(&mut sampler),
        sample(0, ms(0), ms(0), ms(50), Outcome::TimedOut)
    );
    assert_eq!(get(&rig.counts.hang_drops), 1);
    assert_eq!(sampler.retry_at(), Some(ms(200))); // 50 ms + 150 ms
    rig.clock.advance_to(ms(100));
    assert_eq!(rig.next(&mut sampler).outcome, Outcome::Disconnected);
    rig.clock.advance_to(ms(200));
    assert_eq!(rig.next(&mut sampler).outcome, Outcome::Ok(0));
    assert_eq!(get(&rig.counts.connects), 2);
}

#[test]
fn a_broken_connection_is_opened_again_at_the_next_slot() {
    let (rig, mut sampler) = Rig::new(every(ms(100)));
    rig.reads(&[Read::Ok(1), Read::Ok(2), Read::Break, Read::Ok(4)]);
    let mut outcomes = Vec::new();
    for k in 0..4 {
        rig.clock.advance_to(ms(100) * k);
        outcomes.push(rig.next(&mut sampler).outcome);
        assert_eq!(get(&rig.counts.connects), if k < 3 { 1 } else { 2 });
        assert_eq!(get(&rig.counts.conn_drops), if k < 2 { 0 } else { 1 });
    }
    assert_eq!(
        outcomes,
        [
            Outcome::Ok(1),
            Outcome::Ok(2),
            Outcome::Err("broken"),
            Outcome::Ok(4)
        ]
    );
    assert_eq!(sampler.retry_at(), None); // no backoff
}

#[test]
fn slots_passed_while_not_polled_are_reported() {
    let (rig, mut sampler) = Rig::new(every(ms(10_000)));
    assert_eq!(rig.next(&mut sampler).seq, 0);
    rig.clock.advance(ms(35_000)); // slots 1, 2 and 3 have passed
    assert_eq!(
        rig.next(&mut sampler),
        sample(
            1,
            ms(10_000),
            ms(25_000),
            ms(0),
            Outcome::Skipped { slots: 2 }
        )
    );
    // Slot 3, the last one due, is sampled late; slot 4 on the grid.
    assert_eq!(
        rig.next(&mut sampler),
        sample(3, ms(30_000), ms(5_000), ms(0), Outcome::Ok(1))
    );
    assert_eq!(rig.poll(&mut sampler), Poll::Pending);
    rig.clock.advance(ms(5_000));
    assert_eq!(
        rig.next(&mut sampler),
        sample(4, ms(40_000), ms(0), ms(0), Outcome::Ok(2))
    );
    assert_eq!(get(&rig.counts.reads), 3);
    assert_eq!(sampler.health().skipped, 2);
}

#[test]
fn health_counts_a_scripted_run_exactly() {
    let (rig, sampler) = Rig::new(every(ms(100)));
    let backoff = Backoff {
        first: ms(150),
        jitter: 0,
        ..Backoff::default()
    };
    let mut sampler = sampler.timeout(ms(60)).backoff(backoff);
    rig.reads(&[
        Read::OkAfter(1, ms(40)), // 0: ok, 40 ms
        Read::Err("busy"),        // 1: error, 0 ms
        Read::Hang,               // 2: timed out at 60 ms
        Read::OkAfter(3, ms(8)),  // 5: ok after the reconnect, 8 ms
    ]);
    // 3: connect refused; 4: disconnected (until 450 ms); 5: connects.
    rig.connects(&[Connect::Ok, Connect::Err("refused")]);
    let mut outcomes = Vec::new();
    for k in 0..6u32 {
        rig.clock.advance_to(ms(100) * k);
        // Within the slot, a millisecond at a time.
        let got = (0..100)
            .find_map(|_| match rig.poll(&mut sampler) {
                Poll::Ready(Some(got)) => Some(got),
                _ => {
                    rig.clock.advance(ms(1));
                    None
                }
            })
            .unwrap_or_else(|| panic!("no sample in slot {k}"));
        outcomes.push((got.outcome, got.took));
    }
    assert_eq!(
        outcomes,
        [
            (Outcome::Ok(1), ms(40)),
            (Outcome::Err("busy"), ms(0)),
            (Outcome::TimedOut, ms(60)),
            (Outcome::ConnectFailed("refused"), ms(0)),
            (Outcome::Disconnected, ms(0)),
            (Outcome::Ok(3), ms(8)),
        ]
    );
    let health = sampler.health();
    assert_eq!(health.taken, 6);
    assert_eq!(health.ok, 2);
    assert_eq!(health.errors, 1);
    assert_eq!(health.timeouts, 1);
    assert_eq!(health.connect_failures, 1);
    assert_eq!(health.disconnected, 1);
    assert_eq!(health.skipped, 0);
    assert_eq!(health.consecutive_failures, 0);
    assert!(health.is_up());
    assert_eq!(health.last_latency, Some(ms(8)));
    // 40, then 40 - 40/8 = 35 (the error of 0 ms), then 35 - 27/8.
    assert_eq!(health.latency, Some(ms(35) - (ms(35) - ms(8)) / 8));
    assert_eq!(get(&rig.counts.connects), 3);
}

#[test]
fn dropping_the_sampler_mid_read_drops_the_read_and_the_connection() {
    let (rig, mut sampler) = Rig::new(every(ms(100)));
    rig.reads(&[Read::Ok(0), Read::Hang]);
    assert_eq!(rig.next(&mut sampler).outcome, Outcome::Ok(0));
    rig.clock.advance_to(ms(100));
    assert_eq!(rig.poll(&mut sampler), Poll::Pending);
    assert_eq!(rig.clock.sleepers(), 1); // the deadline
    assert_eq!(get(&rig.counts.conn_drops), 0);
    drop(sampler);
    assert_eq!(get(&rig.counts.hang_drops), 1);
    assert_eq!(get(&rig.counts.conn_drops), 1);
    assert_eq!(rig.clock.sleepers(), 0);
}

#[test]
fn a_panicking_read_propagates() {
    let (rig, mut sampler) = Rig::new(every(ms(100)));
    rig.reads(&[Read::Panic]);
    let panicked = catch_unwind(AssertUnwindSafe(|| rig.poll(&mut sampler)));
    let message = *panicked.unwrap_err().downcast::<&str>().unwrap();
    assert_eq!(message, "the sensor's driver panicked");
}

#[test]
fn gather_drives_samplers_like_any_other_source() {
    // Three sources every 100 ms, at phases 0, 30 and 60 ms, on one clock:
    // each sample comes at its time, woken by the clock alone.
    let clock = ManualClock::new();
    let sources = (0..3u64).map(|key| {
        let (rig, sampler) = Rig::on(clock.clone(), every(ms(100)).phase(ms(30 * key)));
        rig.reads(&[Read::Ok(0), Read::Err("busy"), Read::Ok(2)]);
        futures::StreamExt::map(sampler, move |s| (key, s.seq, s.due, s.outcome))
    });
    let mut gathered = gather(sources);
    let (wakes, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    let mut seen = Vec::new();
    for step in 0..30u32 {
        clock.advance_to(ms(10) * step);
        while let Poll::Ready(Some(item)) = Pin::new(&mut gathered).poll_next(&mut cx) {
            seen.push(item);
        }
    }
    let expected: Vec<_> = (0..3u64)
        .flat_map(|seq| {
            let outcome = [Outcome::Ok(0), Outcome::Err("busy"), Outcome::Ok(2)][seq as usize];
            (0..3u64).map(move |key| (key, seq, ms(100 * seq + 30 * key), outcome))
        })
        .collect();
    assert_eq!(seen, expected);
    assert!(wakes.wakes() >= 8); // every sample after the first three, woken
}

#[test]
fn a_sampler_of_send_parts_is_send_and_can_be_spawned() {
    fn send<T: Send>(_: &T) {}
    let sampler = Sampler::new(
        every(ms(100)),
        ManualClock::new(),
        || async { Ok::<u8, &str>(0) },
        |conn: u8| async move { (Some(conn), Ok::<u8, &str>(conn)) },
    );
    send(&sampler);
    assert!(format!("{sampler:?}").starts_with("Sampler {"));
}

#[test]
#[should_panic(expected = "timeout is zero")]
fn a_zero_timeout_is_refused() {
    let _ = Sampler::new(
        every(ms(1_000)),
        ManualClock::new(),
        || std::future::ready(Ok::<(), ()>(())),
        |()| std::future::ready((Some(()), Ok::<u8, ()>(1))),
    )
    .timeout(Duration::ZERO);
}

#[test]
fn a_sampler_gives_up_after_failures_in_a_row_and_ends() {
    // A device that accepts and then hangs: each connection is cut with a
    // read that timed out before any reading, a failure for the backoff.
    let clock = ManualClock::new();
    let connects = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connects);
    let sampler = Sampler::new(
        every(ms(100)),
        clock.clone(),
        move || {
            counted.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok::<(), ()>(()))
        },
        |()| std::future::pending::<(Option<()>, Result<u8, ()>)>(),
    )
    .timeout(ms(10))
    .backoff(Backoff {
        first: ms(150),
        max: ms(150),
        factor: 2,
        jitter: 0,
    })
    .give_up_after(std::num::NonZeroU32::new(3).unwrap());
    let mut sampler = Box::pin(sampler);
    let mut outcomes = Vec::new();
    let (_, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    for _ in 0..100 {
        match sampler.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(sample)) => outcomes.push((sample.seq, sample.outcome)),
            Poll::Ready(None) => break,
            Poll::Pending => {
                clock.advance(ms(5));
            }
        }
    }
    assert_eq!(
        outcomes,
        [
            (0, Outcome::TimedOut),
            (1, Outcome::Disconnected), // waits until 160 ms
            (2, Outcome::TimedOut),
            (3, Outcome::Disconnected), // until 360 ms
            (4, Outcome::TimedOut),
        ]
    );
    assert_eq!(get(&connects), 3);
    assert!(sampler.is_terminated());
    assert_eq!(sampler.as_mut().poll_next(&mut cx), Poll::Ready(None));
    assert_eq!(clock.sleepers(), 0);
}
