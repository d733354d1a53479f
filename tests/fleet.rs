//! `sample::Fleet`, on a manual clock: a source sampled by a fleet gets the
//! very samples a `Sampler` gives it (a differential test over random
//! scripts of connects and reads); the limit on reads in flight keeps the
//! order in which slots fired and reports the wait as lateness; sources
//! added and removed while the fleet sleeps; the one sleep set earlier for
//! a source due sooner; deadlines cut reads and drop their connections.
#![cfg(feature = "std")]

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::{ready, Ready};
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use common::CountingWaker;
use confluo::sample::{Backoff, Fleet, Outcome, Period, Sample, Sampler, Schedule};
use confluo::time::{Clock, ManualClock};
use futures::{FutureExt, Stream, StreamExt};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Everything `stream` yields while the clock moves to `until` in steps of
/// `step`, polled with no waker between steps.
fn run<S: Stream + Unpin>(
    stream: &mut S,
    clock: &ManualClock,
    step: Duration,
    until: Duration,
) -> Vec<S::Item> {
    let mut out = Vec::new();
    loop {
        while let Some(Some(item)) = stream.next().now_or_never() {
            out.push(item);
        }
        if clock.now() >= until {
            return out;
        }
        clock.advance(step);
    }
}

/// What one connect or read does.
#[derive(Clone, Copy, Debug)]
enum Act {
    Ok,
    Fail,
    /// A read that answers but breaks the connection.
    Break,
    /// Takes this long on the clock, then succeeds.
    Slow(u64),
    Hang,
}

fn script(seed: u64, len: usize) -> Vec<Act> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            match state % 10 {
                0 => Act::Fail,
                1 => Act::Break,
                2 => Act::Slow(state / 10 % 400),
                3 => Act::Hang,
                _ => Act::Ok,
            }
        })
        .collect()
}

/// A source that follows a script: connects and reads take the next act
/// of theirs, on `clock`.
#[derive(Clone)]
struct Scripted {
    clock: ManualClock,
    connects: Rc<RefCell<std::vec::IntoIter<Act>>>,
    reads: Rc<RefCell<std::vec::IntoIter<Act>>>,
}

impl Scripted {
    fn new(clock: &ManualClock, seed: u64) -> Scripted {
        Scripted {
            clock: clock.clone(),
            connects: Rc::new(RefCell::new(script(seed, 500).into_iter())),
            reads: Rc::new(RefCell::new(script(seed ^ 0xabcd, 500).into_iter())),
        }
    }

    fn connect(&self) -> impl std::future::Future<Output = Result<u32, &'static str>> {
        let act = self.connects.borrow_mut().next().unwrap_or(Act::Ok);
        let clock = self.clock.clone();
        async move {
            match act {
                Act::Ok | Act::Break => Ok(0),
                Act::Fail => Err("refused"),
                Act::Slow(n) => {
                    clock.sleep(ms(n)).await;
                    Ok(0)
                }
                Act::Hang => std::future::pending().await,
            }
        }
    }

    fn read(
        &self,
        conn: u32,
    ) -> impl std::future::Future<Output = (Option<u32>, Result<u32, &'static str>)> {
        let act = self.reads.borrow_mut().next().unwrap_or(Act::Ok);
        let clock = self.clock.clone();
        async move {
            match act {
                Act::Ok => (Some(conn + 1), Ok(conn)),
                Act::Fail => (Some(conn + 1), Err("bad reading")),
                Act::Break => (None, Err("reset")),
                Act::Slow(n) => {
                    clock.sleep(ms(n)).await;
                    (Some(conn + 1), Ok(conn))
                }
                Act::Hang => std::future::pending().await,
            }
        }
    }
}

/// The end of the millisecond tick in which `at` falls: when a slot due
/// at `at` fires.
fn tick_end(at: Duration) -> Duration {
    let tick = Duration::from_millis(1).as_nanos();
    Duration::from_nanos(((at.as_nanos() + tick - 1) / tick * tick) as u64)
}

fn every(period: Duration) -> Schedule {
    Schedule::every(Period::new(period).unwrap())
}

/// A fleet of sources read every second that answer at once with their
/// key, and no connection to keep.
#[allow(clippy::type_complexity)]
fn instant_fleet(
    clock: &ManualClock,
) -> Pin<
    Box<
        Fleet<
            u32,
            ManualClock,
            (),
            impl FnMut(&u32) -> Ready<Result<(), ()>>,
            Ready<Result<(), ()>>,
            impl FnMut(&u32, ()) -> Ready<(Option<()>, Result<u32, ()>)>,
            Ready<(Option<()>, Result<u32, ()>)>,
        >,
    >,
> {
    Box::pin(Fleet::new(
        every(ms(1_000)),
        clock.clone(),
        |_: &u32| ready(Ok(())),
        |key: &u32, ()| ready((Some(()), Ok(*key))),
    ))
}

const NO_JITTER: Backoff = Backoff {
    first: Duration::from_millis(1500),
    max: Duration::from_secs(5),
    factor: 2,
    jitter: 0,
};

#[test]
fn a_fleet_samples_a_source_as_a_sampler_does() {
    for seed in 1..=40u64 {
        let key = seed as u32;
        let schedule = every(ms(1_000)).phase_from_key(&key);
        let timeout = ms(300);
        let until = Duration::from_secs(90);

        let clock = ManualClock::new();
        let source = Scripted::new(&clock, seed);
        let (a, b) = (source.clone(), source);
        let mut sampler = Box::pin(
            Sampler::new(
                schedule.clone(),
                clock.clone(),
                move || a.connect(),
                move |conn| b.read(conn),
            )
            .timeout(timeout)
            .backoff(NO_JITTER),
        );
        let expected = run(&mut sampler, &clock, ms(1), until);

        let clock = ManualClock::new();
        let source = Scripted::new(&clock, seed);
        let (a, b) = (source.clone(), source);
        let mut fleet = Box::pin(
            Fleet::new(
                every(ms(1_000)),
                clock.clone(),
                move |_: &u32| a.connect(),
                move |_: &u32, conn| b.read(conn),
            )
            .timeout(timeout)
            .backoff(NO_JITTER)
            .resolution(Duration::from_nanos(1)),
        );
        fleet.insert(key);
        let got: Vec<Sample<u32, &str>> = run(&mut fleet, &clock, ms(1), until)
            .into_iter()
            .map(|(k, sample)| {
                assert_eq!(k, key);
                sample
            })
            .collect();
        assert_eq!(got, expected, "seed {seed}");
        // The scripts are rich enough to test something.
        let kinds = |samples: &[Sample<u32, &str>]| {
            let mut kinds: Vec<_> = samples
                .iter()
                .map(|s| std::mem::discriminant(&s.outcome))
                .collect();
            kinds.sort_by_key(|d| format!("{d:?}"));
            kinds.dedup();
            kinds.len()
        };
        assert!(
            expected.len() >= 80 && kinds(&expected) >= 3,
            "seed {seed}: {expected:?}"
        );
    }
}

/// Reads that wait until the test lets them go.
#[derive(Clone, Default)]
struct Gates {
    open: Rc<RefCell<HashMap<u32, bool>>>,
    wakers: Rc<RefCell<HashMap<u32, std::task::Waker>>>,
    started: Rc<RefCell<Vec<u32>>>,
}

impl Gates {
    fn open(&self, key: u32) {
        self.open.borrow_mut().insert(key, true);
        if let Some(waker) = self.wakers.borrow_mut().remove(&key) {
            waker.wake();
        }
    }
}

struct Gate {
    gates: Gates,
    key: u32,
}

impl std::future::Future for Gate {
    type Output = (Option<()>, Result<u32, ()>);
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.gates.open.borrow().get(&self.key) == Some(&true) {
            Poll::Ready((Some(()), Ok(self.key)))
        } else {
            let waker = cx.waker().clone();
            self.gates.wakers.borrow_mut().insert(self.key, waker);
            Poll::Pending
        }
    }
}

/// Keys whose slots, every second, fall within the first tenth of it.
fn early_keys(n: usize) -> Vec<u32> {
    (0..)
        .filter(|key: &u32| every(ms(1_000)).phase_from_key(key).due().unwrap() < ms(100))
        .take(n)
        .collect()
}

#[test]
fn reads_beyond_the_limit_wait_in_order_and_report_the_wait() {
    let clock = ManualClock::new();
    let gates = Gates::default();
    let g = gates.clone();
    let mut fleet = Box::pin(
        Fleet::new(
            every(ms(1_000)),
            clock.clone(),
            |_: &u32| async { Ok::<(), ()>(()) },
            move |key: &u32, ()| {
                g.started.borrow_mut().push(*key);
                Gate {
                    gates: g.clone(),
                    key: *key,
                }
            },
        )
        .in_flight(NonZeroUsize::new(2).unwrap())
        // One tick for the whole first tenth: the slots fire together, in
        // the order the sources were inserted.
        .resolution(ms(100)),
    );
    let keys = early_keys(5);
    for &key in &keys {
        fleet.insert(key);
    }
    clock.advance(ms(100));
    assert!(fleet.next().now_or_never().is_none());
    assert_eq!(*gates.started.borrow(), keys[..2]);
    assert_eq!(fleet.flying(), 2);

    // 300 ms later the first read answers; the third source takes its place.
    clock.advance(ms(300));
    gates.open(keys[0]);
    let (key, sample) = fleet.next().now_or_never().flatten().unwrap();
    assert_eq!((key, sample.outcome), (keys[0], Outcome::Ok(keys[0])));
    assert!(fleet.next().now_or_never().is_none());
    assert_eq!(*gates.started.borrow(), keys[..3]);

    // Every read answers; each sample says how long it waited for its
    // place: the last three started at 400 ms, not at their slot.
    for &key in &keys {
        gates.open(key);
    }
    let mut samples: HashMap<u32, Sample<u32, ()>> = HashMap::new();
    while let Some(Some((key, sample))) = fleet.next().now_or_never() {
        samples.insert(key, sample);
    }
    assert_eq!(*gates.started.borrow(), keys);
    assert_eq!(samples.len(), 4);
    for &key in &keys[2..] {
        let sample = &samples[&key];
        assert_eq!(sample.late, ms(400) - sample.due, "{key}");
        assert_eq!(sample.outcome, Outcome::Ok(key));
    }
    assert_eq!(samples[&keys[1]].late, ms(100) - samples[&keys[1]].due);
}

/// Counts the connections alive.
struct Conn(Arc<AtomicUsize>);

impl Drop for Conn {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connect that opens a counted connection at once.
fn counted(alive: &Arc<AtomicUsize>) -> impl FnMut(&u32) -> std::future::Ready<Result<Conn, ()>> {
    let alive = Arc::clone(alive);
    move |_| {
        alive.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(Conn(Arc::clone(&alive))))
    }
}

#[test]
fn a_deadline_cuts_the_read_and_drops_its_connection() {
    let clock = ManualClock::new();
    let alive = Arc::new(AtomicUsize::new(0));
    let mut fleet = Box::pin(
        Fleet::new(
            every(ms(1_000)),
            clock.clone(),
            counted(&alive),
            |_: &u32, conn: Conn| async move {
                let _held = conn;
                std::future::pending::<(Option<Conn>, Result<u8, ()>)>().await
            },
        )
        .timeout(ms(250)),
    );
    let key = early_keys(1)[0];
    fleet.insert(key);
    let due = every(ms(1_000)).phase_from_key(&key).due().unwrap();
    clock.advance_to(due);
    assert!(fleet.next().now_or_never().is_none());
    assert_eq!(
        alive.load(Ordering::SeqCst),
        0,
        "slots fire at the end of their tick"
    );
    clock.advance_to(tick_end(due));
    assert!(fleet.next().now_or_never().is_none());
    assert_eq!(alive.load(Ordering::SeqCst), 1);
    clock.advance(ms(249));
    assert!(fleet.next().now_or_never().is_none());
    clock.advance(ms(1)); // the deadline, on a tick
    let (_, sample) = fleet.next().now_or_never().flatten().unwrap();
    assert_eq!(sample.outcome, Outcome::TimedOut);
    assert_eq!((sample.due, sample.took), (due, ms(250)));
    assert_eq!(sample.late, tick_end(due) - due);
    assert_eq!(alive.load(Ordering::SeqCst), 0);
}

#[test]
fn a_source_inserted_while_the_fleet_sleeps_wakes_it_and_is_sampled_on_time() {
    let clock = ManualClock::new();
    let mut fleet = instant_fleet(&clock);
    let (wakes, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    let phase = |key: &u32| every(ms(1_000)).phase_from_key(key).due().unwrap();
    let late = (0..).find(|k| phase(k) > ms(800)).unwrap();
    let early = (0..).find(|k| phase(k) < ms(200)).unwrap();

    fleet.insert(late);
    assert!(fleet.as_mut().poll_next(&mut cx).is_pending());
    assert_eq!(clock.sleepers(), 1);
    let before = wakes.wakes();

    // The new source's slot comes first: the fleet is woken to sleep less.
    fleet.insert(early);
    assert_eq!(wakes.wakes(), before + 1);
    assert!(fleet.as_mut().poll_next(&mut cx).is_pending());
    assert_eq!(clock.sleepers(), 1);
    clock.advance_to(tick_end(phase(&early)));
    assert!(
        wakes.wakes() > before + 1,
        "the sleep set for the early slot woke the fleet"
    );
    match fleet.as_mut().poll_next(&mut cx) {
        Poll::Ready(Some((key, sample))) => {
            assert_eq!(key, early);
            assert_eq!(sample.due, phase(&early));
            assert_eq!(sample.late, tick_end(phase(&early)) - phase(&early));
        }
        other => panic!("{other:?}"),
    }
    // A source due later than the sleep does not wake the fleet.
    assert!(fleet.as_mut().poll_next(&mut cx).is_pending());
    let before = wakes.wakes();
    let later = (0..).find(|k| phase(k) > ms(900)).unwrap();
    fleet.insert(later);
    assert_eq!(wakes.wakes(), before);
}

#[test]
fn a_removed_source_is_sampled_no_more_wherever_it_stood() {
    let clock = ManualClock::new();
    let alive = Arc::new(AtomicUsize::new(0));
    let gates = Gates::default();
    let g = gates.clone();
    let mut fleet = Box::pin(
        Fleet::new(
            every(ms(1_000)),
            clock.clone(),
            counted(&alive),
            move |key: &u32, conn: Conn| {
                g.started.borrow_mut().push(*key);
                let gate = Gate {
                    gates: g.clone(),
                    key: *key,
                };
                async move {
                    let (_, result) = gate.await;
                    (Some(conn), result)
                }
            },
        )
        .in_flight(NonZeroUsize::new(1).unwrap())
        .resolution(ms(100)),
    );
    let keys = early_keys(3);
    let ids: Vec<_> = keys.iter().map(|&key| fleet.insert(key)).collect();
    clock.advance(ms(100));
    assert!(fleet.next().now_or_never().is_none());
    // keys[0] flies, keys[1] and keys[2] wait.
    assert_eq!(*gates.started.borrow(), [keys[0]]);
    assert_eq!(alive.load(Ordering::SeqCst), 1);

    // Removed in flight: its read and connection are dropped at once.
    assert_eq!(fleet.remove(ids[0]), Some(keys[0]));
    assert_eq!(alive.load(Ordering::SeqCst), 0);
    // Removed while waiting: it never starts.
    assert_eq!(fleet.remove(ids[1]), Some(keys[1]));
    assert_eq!(fleet.remove(ids[1]), None);
    assert!(fleet.next().now_or_never().is_none());
    assert_eq!(*gates.started.borrow(), [keys[0], keys[2]]);
    gates.open(keys[2]);
    let (key, _) = fleet.next().now_or_never().flatten().unwrap();
    assert_eq!(key, keys[2]);

    // Removed while scheduled: nothing fires for it, ever.
    assert_eq!(fleet.remove(ids[2]), Some(keys[2]));
    assert!(fleet.is_empty());
    let rest = run(&mut fleet, &clock, ms(100), Duration::from_secs(10));
    assert!(rest.is_empty(), "{:?}", rest.len());
    assert_eq!(*gates.started.borrow(), [keys[0], keys[2]]);
    assert_eq!(clock.sleepers(), 0, "an empty fleet sleeps on nothing");
}

#[test]
fn a_slow_consumer_is_told_of_the_slots_it_missed() {
    let clock = ManualClock::new();
    let mut fleet = instant_fleet(&clock);
    let key = early_keys(1)[0];
    fleet.insert(key);
    let due = every(ms(1_000)).phase_from_key(&key).due().unwrap();
    clock.advance_to(due + ms(3_500));
    let samples: Vec<_> = std::iter::from_fn(|| fleet.next().now_or_never().flatten())
        .map(|(_, s)| (s.seq, s.outcome))
        .collect();
    assert_eq!(
        samples,
        [(0, Outcome::Skipped { slots: 3 }), (3, Outcome::Ok(key))]
    );
}
