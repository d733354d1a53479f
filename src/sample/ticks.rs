use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::{Schedule, Tick};
use crate::time::Clock;

/// How many sleeps one poll completes before it yields to the executor: a
/// sleep that completes while the clock reads earlier than its deadline (a
/// clock set back in between) must not make a stream loop.
const ROUNDS: usize = 3;

/// Sleeps on `clock`, in `sleep`, until the schedule's next slot is due,
/// then fires it: the tick, and the clock's reading it fired at. Pending,
/// holding no sleep, once no slot is due again. Completes at most
/// [`ROUNDS`] sleeps in one call (nothing fires when the clock went back or
/// the slots were skipped), then wakes the task and yields. [`Ticks`] and
/// the `Sampler` both wait for their slots with it.
pub(super) fn poll_tick<C: Clock>(
    schedule: &mut Schedule,
    clock: &C,
    mut sleep: Pin<&mut Option<C::Sleep>>,
    cx: &mut Context<'_>,
) -> Poll<(Tick, Duration)> {
    for _ in 0..ROUNDS {
        let Some(due) = schedule.due() else {
            // No slot is ever due again.
            sleep.set(None);
            return Poll::Pending;
        };
        if sleep.is_none() {
            sleep.set(Some(clock.sleep_until(due)));
        }
        if let Some(sleeping) = sleep.as_mut().as_pin_mut() {
            if sleeping.poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        sleep.set(None);
        let now = clock.now();
        if let Some(tick) = schedule.tick(now) {
            return Poll::Ready((tick, now));
        }
    }
    cx.waker().wake_by_ref();
    Poll::Pending
}

pin_project! {
    /// Stream for [`Schedule::ticks`]: the schedule's [`Tick`]s, each
    /// yielded once the clock reaches its slot.
    ///
    /// Each poll sleeps, with the clock's
    /// [`sleep_until`](Clock::sleep_until), until the next slot is due, then
    /// yields [`Schedule::tick`] at the clock's [`now`](Clock::now). One
    /// sleep is pending at a time, created when the previous tick was
    /// yielded and kept across polls; the stream holds no other timer and
    /// does no work between polls, so a slow consumer finds missed slots
    /// at its next poll, and the schedule's [`Missed`](super::Missed)
    /// policy decides what it gets: with `Burst`, the missed ticks one per
    /// poll without sleeping.
    ///
    /// The stream never ends. Once the next slot would lie past
    /// `Duration::MAX`, it stays pending forever, holding no sleep.
    /// `size_hint` is at most the slots left before `Duration::MAX`, and at
    /// least zero, since skipped slots never fire.
    ///
    /// # Cancel safety
    ///
    /// A tick is taken from the schedule only when it is yielded: dropping
    /// a `next()` future loses nothing, and the pending sleep stays with
    /// the stream. Dropping the stream drops its pending sleep.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Schedule, Tick};
    /// use confluo::time::ManualClock;
    /// use futures::{FutureExt, StreamExt};
    /// use std::time::Duration;
    ///
    /// let ms = Duration::from_millis;
    /// let clock = ManualClock::new();
    /// let mut ticks = Schedule::every(Period::new(ms(100)).unwrap())
    ///     .phase(ms(20))
    ///     .ticks(clock.clone());
    /// let mut next = || ticks.next().now_or_never().flatten();
    /// assert_eq!(next(), None); // slot 0 is due at 20 ms
    /// clock.advance(ms(20));
    /// assert_eq!(next(), Some(Tick { seq: 0, due: ms(20), late: ms(0), skipped: 0 }));
    /// clock.advance(ms(103));
    /// assert_eq!(next(), Some(Tick { seq: 1, due: ms(120), late: ms(3), skipped: 0 }));
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct Ticks<C: Clock> {
        schedule: Schedule,
        clock: C,
        // A sleep until the schedule's `due()`.
        #[pin]
        sleep: Option<C::Sleep>,
    }
}

impl<C: Clock> Ticks<C> {
    pub(super) fn new(schedule: Schedule, clock: C) -> Ticks<C> {
        Ticks {
            schedule,
            clock,
            sleep: None,
        }
    }

    /// The schedule, as it stands: [`due`](Schedule::due) is when the next
    /// tick is due.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Schedule};
    /// use confluo::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let s = Duration::from_secs;
    /// let ticks = Schedule::every(Period::new(s(10)).unwrap())
    ///     .phase(s(4))
    ///     .ticks(ManualClock::new());
    /// assert_eq!(ticks.schedule().due(), Some(s(4)));
    /// ```
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Schedule};
    /// use confluo::time::{Clock, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let ticks = Schedule::every(Period::new(Duration::from_secs(1)).unwrap()).ticks(&clock);
    /// clock.advance(Duration::from_secs(3));
    /// assert_eq!(ticks.clock().now(), Duration::from_secs(3));
    /// ```
    pub fn clock(&self) -> &C {
        &self.clock
    }
}

impl<C: Clock> Stream for Ticks<C> {
    type Item = Tick;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Tick>> {
        let this = self.project();
        poll_tick(this.schedule, this.clock, this.sleep, cx).map(|(tick, _)| Some(tick))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.schedule.due().map_or(0, |due| {
            (Duration::MAX - due).as_nanos() / self.schedule.period().get().as_nanos() + 1
        });
        (0, usize::try_from(left).ok())
    }
}

impl<C: Clock> FusedStream for Ticks<C> {
    /// Never: the stream does not end.
    fn is_terminated(&self) -> bool {
        false
    }
}

impl<C: Clock> fmt::Debug for Ticks<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticks")
            .field("schedule", &self.schedule)
            .field("sleeping", &self.sleep.is_some())
            .finish_non_exhaustive()
    }
}
