//! The clocks: the manual clock's wakes, counted, with no real time; the
//! tokio adapter under paused time; the async-io adapter as a smoke test.
#![cfg(feature = "std")]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use common::CountingWaker;
use confluo::time::{Clock, ManualClock, ManualSleep};

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn poll(sleep: &mut ManualSleep, waker: &Waker) -> Poll<()> {
    Pin::new(sleep).poll(&mut Context::from_waker(waker))
}

/// A waker that writes its number into a shared log when woken.
struct Recorder {
    id: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl Wake for Recorder {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.log.lock().unwrap().push(self.id);
    }
}

#[test]
fn advancing_wakes_exactly_the_sleeps_that_became_due() {
    let clock = ManualClock::new();
    let counters: Vec<_> = (0..4).map(|_| CountingWaker::new()).collect();
    let mut sleeps: Vec<_> = [1, 2, 2, 5]
        .iter()
        .map(|&s| clock.sleep_until(secs(s)))
        .collect();
    for (sleep, (_, waker)) in sleeps.iter_mut().zip(&counters) {
        assert_eq!(poll(sleep, waker), Poll::Pending);
    }
    let wakes = || counters.iter().map(|(c, _)| c.wakes()).collect::<Vec<_>>();
    assert_eq!(clock.sleepers(), 4);
    assert_eq!(wakes(), [0, 0, 0, 0]);

    assert_eq!(clock.advance(Duration::from_millis(999)), 0);
    assert_eq!(wakes(), [0, 0, 0, 0]);
    assert_eq!(clock.advance(Duration::from_millis(1)), 1); // at 1 s
    assert_eq!(wakes(), [1, 0, 0, 0]);
    assert_eq!(clock.advance(secs(3)), 2); // at 4 s: both 2 s sleeps
    assert_eq!(wakes(), [1, 1, 1, 0]);
    assert_eq!(clock.advance(Duration::ZERO), 0);
    assert_eq!(clock.advance_to(secs(5)), 1);
    assert_eq!(wakes(), [1, 1, 1, 1]);
    assert_eq!(clock.sleepers(), 0);
    assert_eq!(clock.advance(secs(100)), 0); // nothing is woken twice
    assert_eq!(wakes(), [1, 1, 1, 1]);

    for (sleep, (_, waker)) in sleeps.iter_mut().zip(&counters) {
        assert_eq!(poll(sleep, waker), Poll::Ready(()));
        assert_eq!(poll(sleep, waker), Poll::Ready(())); // and stays so
    }
}

#[test]
fn a_sleep_in_the_past_or_present_is_ready_at_once_and_registers_nothing() {
    let clock = ManualClock::new();
    clock.advance(secs(10));
    let (counter, waker) = CountingWaker::new();
    for mut sleep in [
        clock.sleep_until(secs(3)),
        clock.sleep_until(secs(10)),
        clock.sleep(Duration::ZERO),
    ] {
        assert_eq!(poll(&mut sleep, &waker), Poll::Ready(()));
    }
    assert_eq!(clock.sleepers(), 0);
    assert_eq!(counter.wakes(), 0);
}

#[test]
fn a_far_future_deadline_neither_panics_nor_completes() {
    let clock = ManualClock::new();
    clock.advance(secs(1));
    let (counter, waker) = CountingWaker::new();
    // `sleep` saturates: 1 s + Duration::MAX is Duration::MAX.
    let mut sleeps = [clock.sleep_until(Duration::MAX), clock.sleep(Duration::MAX)];
    for sleep in &mut sleeps {
        assert_eq!(sleep.deadline(), Duration::MAX);
        assert_eq!(poll(sleep, &waker), Poll::Pending);
    }
    // Centuries pass; the sleeps wait on, and nothing overflows.
    assert_eq!(clock.advance(secs(100 * 365 * 24 * 3600)), 0);
    assert_eq!(clock.advance(secs(u64::MAX / 2)), 0);
    for sleep in &mut sleeps {
        assert_eq!(poll(sleep, &waker), Poll::Pending);
    }
    assert_eq!(counter.wakes(), 0);
    assert_eq!(clock.sleepers(), 2);
    // Only the very end of time is due; advancing past it saturates.
    assert_eq!(clock.advance(Duration::MAX), 2);
    assert_eq!(clock.now(), Duration::MAX);
    assert_eq!(counter.wakes(), 2);
}

#[test]
fn a_dropped_sleep_leaves_nothing_behind() {
    let clock = ManualClock::new();
    let (counter, waker) = CountingWaker::new();

    drop(clock.sleep(secs(1))); // never polled
    assert_eq!(clock.sleepers(), 0);

    let mut polled = clock.sleep(secs(1));
    let mut kept = clock.sleep(secs(1));
    assert_eq!(poll(&mut polled, &waker), Poll::Pending);
    assert_eq!(poll(&mut kept, &waker), Poll::Pending);
    assert_eq!(clock.sleepers(), 2);
    drop(polled);
    assert_eq!(clock.sleepers(), 1);
    assert_eq!(clock.advance(secs(1)), 1); // only the one kept is woken
    assert_eq!(counter.wakes(), 1);

    // Woken, then dropped before its poll.
    let mut woken = clock.sleep(secs(1));
    assert_eq!(poll(&mut woken, &waker), Poll::Pending);
    clock.advance(secs(1));
    drop(woken);
    assert_eq!(clock.sleepers(), 0);
}

#[test]
fn polling_again_with_another_waker_replaces_the_old_one() {
    let clock = ManualClock::new();
    let (old, old_waker) = CountingWaker::new();
    let (new, new_waker) = CountingWaker::new();
    let mut sleep = clock.sleep(secs(1));
    assert_eq!(poll(&mut sleep, &old_waker), Poll::Pending);
    assert_eq!(poll(&mut sleep, &new_waker), Poll::Pending);
    assert_eq!(poll(&mut sleep, &new_waker), Poll::Pending);
    assert_eq!(clock.sleepers(), 1);
    clock.advance(secs(1));
    assert_eq!((old.wakes(), new.wakes()), (0, 1));
}

#[test]
fn setting_the_clock_back_does_not_complete_a_sleep_early() {
    let clock = ManualClock::new();
    let (counter, waker) = CountingWaker::new();
    clock.set(secs(8));
    let mut sleep = clock.sleep_until(secs(10));
    assert_eq!(poll(&mut sleep, &waker), Poll::Pending);

    assert_eq!(clock.set(secs(2)), 0); // back
    assert_eq!(clock.now(), secs(2));
    assert_eq!(clock.advance_to(secs(9)), 0);
    assert_eq!(poll(&mut sleep, &waker), Poll::Pending);
    assert_eq!(counter.wakes(), 0);

    // Woken at 10 s, then set back before its poll: it waits again.
    assert_eq!(clock.advance(secs(1)), 1);
    assert_eq!(clock.set(secs(5)), 0);
    assert_eq!(poll(&mut sleep, &waker), Poll::Pending);
    assert_eq!(clock.sleepers(), 1);
    assert_eq!(clock.set(secs(10)), 1); // forward with set wakes, too
    assert_eq!(counter.wakes(), 2);
    assert_eq!(poll(&mut sleep, &waker), Poll::Ready(()));

    // Complete stays complete, whatever the clock does next.
    clock.set(Duration::ZERO);
    assert_eq!(poll(&mut sleep, &waker), Poll::Ready(()));
}

#[test]
fn advance_to_never_goes_back() {
    let clock = ManualClock::new();
    clock.advance_to(secs(7));
    assert_eq!(clock.advance_to(secs(3)), 0);
    assert_eq!(clock.now(), secs(7));
}

#[test]
fn one_advance_wakes_many_sleeps_in_deadline_order() {
    const SLEEPS: usize = 100_000;
    let clock = ManualClock::new();
    let log = Arc::new(Mutex::new(Vec::with_capacity(SLEEPS)));
    // Deadlines from 1 ms to 1000 ms, scattered, about a hundred sleeps
    // sharing each.
    let deadline = |i: usize| Duration::from_millis(1 + (i * 7919 % 1000) as u64);
    let mut sleeps: Vec<_> = (0..SLEEPS)
        .map(|i| {
            let waker = Waker::from(Arc::new(Recorder {
                id: i,
                log: Arc::clone(&log),
            }));
            (clock.sleep_until(deadline(i)), waker)
        })
        .collect();
    for (sleep, waker) in &mut sleeps {
        assert_eq!(poll(sleep, waker), Poll::Pending);
    }
    assert_eq!(clock.sleepers(), SLEEPS);
    assert!(log.lock().unwrap().is_empty());

    assert_eq!(clock.advance(secs(1)), SLEEPS);
    // By deadline, and by creation among sleeps with one deadline.
    let mut expected: Vec<usize> = (0..SLEEPS).collect();
    expected.sort_by_key(|&i| (deadline(i), i));
    assert_eq!(*log.lock().unwrap(), expected);
    assert_eq!(clock.sleepers(), 0);
    for (sleep, waker) in &mut sleeps {
        assert_eq!(poll(sleep, waker), Poll::Ready(()));
    }
}

#[test]
fn a_waker_may_use_the_clock_while_it_is_woken() {
    // The clock wakes with its lock released: a waker that reads the
    // clock, or drops a sleep of it, does not deadlock.
    struct Reentrant {
        clock: ManualClock,
        seen: Mutex<Option<(Duration, usize)>>,
        other: Mutex<Option<ManualSleep>>,
    }
    impl Wake for Reentrant {
        fn wake(self: Arc<Self>) {
            drop(self.other.lock().unwrap().take());
            *self.seen.lock().unwrap() = Some((self.clock.now(), self.clock.sleepers()));
        }
    }
    let clock = ManualClock::new();
    let (_, idle) = CountingWaker::new();
    let mut other = clock.sleep(secs(9));
    assert_eq!(poll(&mut other, &idle), Poll::Pending);
    let reentrant = Arc::new(Reentrant {
        clock: clock.clone(),
        seen: Mutex::new(None),
        other: Mutex::new(Some(other)),
    });
    let mut sleep = clock.sleep(secs(1));
    assert_eq!(
        poll(&mut sleep, &Waker::from(Arc::clone(&reentrant))),
        Poll::Pending
    );
    assert_eq!(clock.advance(secs(2)), 1);
    assert_eq!(*reentrant.seen.lock().unwrap(), Some((secs(2), 0)));
}

#[test]
fn a_sleep_awaited_on_another_thread_completes_when_the_clock_gets_there() {
    let clock = ManualClock::new();
    let sleeper = {
        let clock = clock.clone();
        std::thread::spawn(move || futures::executor::block_on(clock.sleep(secs(3600))))
    };
    while clock.sleepers() == 0 {
        std::thread::yield_now();
    }
    assert_eq!(clock.advance(secs(3600)), 1);
    sleeper.join().unwrap();
}

#[test]
fn clocks_behind_references_and_arcs_are_clocks() {
    fn now_of(clock: impl Clock) -> Duration {
        clock.now()
    }
    let clock = ManualClock::new();
    clock.advance(secs(4));
    assert_eq!(now_of(&clock), secs(4));
    assert_eq!(now_of(Arc::new(clock.clone())), secs(4));
    let mut sleep = Arc::new(clock.clone()).sleep(secs(1));
    let (_, waker) = CountingWaker::new();
    assert_eq!(poll(&mut sleep, &waker), Poll::Pending);
    assert_eq!(clock.advance(secs(1)), 1);
}

#[test]
fn the_manual_clock_and_its_sleep_cross_threads() {
    fn send_sync_unpin<T: Send + Sync + Unpin>() {}
    send_sync_unpin::<ManualClock>();
    send_sync_unpin::<ManualSleep>();
}

#[cfg(feature = "tokio")]
mod tokio_clock {
    use std::pin::pin;
    use std::time::Duration;

    use confluo::time::{Clock, TokioClock, TokioSleep};
    use futures::FutureExt;

    use super::secs;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_time() {
        let clock = TokioClock::new();
        assert_eq!(clock.now(), Duration::ZERO);
        clock.sleep(secs(3600)).await; // an hour, auto-advanced
        let now = clock.now();
        // tokio's timer rounds deadlines up to its millisecond.
        assert!(now >= secs(3600) && now < secs(3601), "{now:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn completes_when_tokio_time_is_advanced_to_the_deadline() {
        let clock = TokioClock::new();
        let mut sleep = pin!(clock.sleep_until(secs(10)));
        assert_eq!(sleep.as_mut().now_or_never(), None);
        tokio::time::advance(Duration::from_millis(9_999)).await;
        assert_eq!(sleep.as_mut().now_or_never(), None);
        tokio::time::advance(Duration::from_millis(2)).await;
        assert_eq!(sleep.now_or_never(), Some(()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_in_the_past_is_ready_at_once() {
        let clock = TokioClock::new();
        tokio::time::advance(secs(5)).await;
        assert_eq!(pin!(clock.sleep_until(secs(2))).now_or_never(), Some(()));
        assert_eq!(pin!(clock.sleep(Duration::ZERO)).now_or_never(), Some(()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_far_future_deadline_neither_panics_nor_completes() {
        let clock = TokioClock::new();
        let a_century = secs(100 * 365 * 24 * 3600);
        for sleep in [clock.sleep_until(Duration::MAX), clock.sleep(Duration::MAX)] {
            let waited = tokio::time::timeout(a_century, sleep).await;
            assert!(waited.is_err());
        }
    }

    #[test]
    fn the_clock_and_its_sleep_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<TokioClock>();
        send_sync::<TokioSleep>();
    }
}

#[cfg(feature = "async-io")]
mod async_io_clock {
    use std::time::Duration;

    use confluo::time::{AsyncIoClock, AsyncIoSleep, Clock};
    use futures::FutureExt;

    // Real time: these check that sleeps complete (or do not), never how
    // long they took.

    #[test]
    fn a_short_sleep_completes() {
        let clock = AsyncIoClock::new();
        smol::block_on(clock.sleep(Duration::from_millis(1)));
        futures::executor::block_on(clock.sleep_until(clock.now() + Duration::from_millis(1)));
    }

    #[test]
    fn a_deadline_in_the_past_is_ready_at_once() {
        let clock = AsyncIoClock::new();
        assert_eq!(clock.sleep_until(Duration::ZERO).now_or_never(), Some(()));
    }

    #[test]
    fn a_far_future_deadline_neither_panics_nor_completes() {
        let clock = AsyncIoClock::new();
        for sleep in [clock.sleep_until(Duration::MAX), clock.sleep(Duration::MAX)] {
            let mut sleep = sleep;
            assert_eq!((&mut sleep).now_or_never(), None);
            let raced = smol::block_on(futures::future::select(
                sleep,
                clock.sleep(Duration::from_millis(1)),
            ));
            assert!(matches!(raced, futures::future::Either::Right(_)));
        }
    }

    #[test]
    fn the_clock_and_its_sleep_cross_threads() {
        fn send_sync_unpin<T: Send + Sync + Unpin>() {}
        send_sync_unpin::<AsyncIoClock>();
        send_sync_unpin::<AsyncIoSleep>();
    }
}
