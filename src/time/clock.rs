use core::future::Future;
use core::time::Duration;

/// A source of time: what time it is, and a future that completes at a
/// given instant.
///
/// An instant is a [`Duration`] since the clock's own start: the moment a
/// `TokioClock` or an
/// `AsyncIoClock` was created, zero for a
/// [`ManualClock`](super::ManualClock). The instants of two clocks are not
/// comparable. This keeps the trait in `core`, with no type of its own for
/// instants: a clock is whatever can count time from some start and wake
/// a task.
///
/// # What a clock promises
///
/// - **Monotonic.** [`now`](Clock::now) never decreases, except on a clock
///   that is set back on purpose ([`ManualClock::set`](super::ManualClock::set)).
/// - **Never early.** The future of [`sleep_until`](Clock::sleep_until)
///   completes once `now() >= deadline`, never before; later by the
///   timer's granularity and the executor's delay.
/// - **The past is now.** A deadline at or before `now()` is due: its
///   sleep completes on its first poll.
/// - **The far future is never.** A deadline beyond what the clock can
///   reach gives a sleep that stays pending: no panic, no overflow, no busy
///   loop. On every clock here, a sleep of `Duration::MAX` waits forever (a
///   [`ManualClock`](super::ManualClock) gets there only when it is moved
///   to `Duration::MAX` itself, where its time stops).
/// - **Set back, wait longer.** When a clock goes back, a pending sleep
///   waits until the clock reaches its deadline again; going back never
///   completes a sleep.
///
/// Sleeps are deadlines, not durations: a task that samples every `P`
/// sleeps until `start + k × P`, so the time its work takes does not add
/// up into drift.
///
/// # Examples
///
/// A ticker that runs on any clock, driven here by a
/// [`ManualClock`](super::ManualClock) (time moves only when the test says
/// so):
///
/// ```
/// use confluo::time::{Clock, ManualClock};
/// use std::future::Future;
/// use std::task::{Context, Poll};
/// use std::time::Duration;
///
/// /// Ticks `n` times, every `period`, without drift; returns when it ended.
/// async fn ticks<C: Clock>(clock: &C, period: Duration, n: u32) -> Duration {
///     let start = clock.now();
///     for k in 1..=n {
///         clock.sleep_until(start + period * k).await;
///     }
///     clock.now()
/// }
///
/// let ms = Duration::from_millis;
/// let clock = ManualClock::new();
/// let mut ticking = Box::pin(ticks(&clock, ms(100), 3));
/// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
/// assert!(ticking.as_mut().poll(&mut cx).is_pending());
/// clock.advance(ms(250)); // the first two ticks are due
/// assert!(ticking.as_mut().poll(&mut cx).is_pending());
/// clock.advance(ms(50));
/// assert_eq!(ticking.as_mut().poll(&mut cx), Poll::Ready(ms(300)));
/// ```
pub trait Clock {
    /// The future of [`sleep_until`](Clock::sleep_until).
    type Sleep: Future<Output = ()>;

    /// The time since the clock's start.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::time::{Clock, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// assert_eq!(Clock::now(&clock), Duration::ZERO);
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(Clock::now(&clock), Duration::from_secs(2));
    /// ```
    fn now(&self) -> Duration;

    /// A future that completes once the clock reaches `deadline` (a time
    /// since the clock's start); at its first poll if the deadline is not
    /// in the future, never if it is too far to reach.
    ///
    /// # Cancel safety
    ///
    /// Dropping the sleep cancels it and leaves nothing behind; a new
    /// sleep until the same deadline completes at the same moment.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::time::{Clock, ManualClock};
    /// use futures::FutureExt;
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let mut sleep = clock.sleep_until(Duration::from_secs(1));
    /// assert_eq!((&mut sleep).now_or_never(), None);
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(sleep.now_or_never(), Some(()));
    /// // A deadline in the past is due at once.
    /// assert_eq!(clock.sleep_until(Duration::ZERO).now_or_never(), Some(()));
    /// ```
    fn sleep_until(&self, deadline: Duration) -> Self::Sleep;

    /// A future that completes once `duration` has passed from now: a
    /// sleep until `now() + duration`, saturating, so `Duration::MAX`
    /// sleeps forever.
    ///
    /// # Cancel safety
    ///
    /// Dropping the sleep cancels it and leaves nothing behind; a new
    /// sleep counts `duration` again from its own start.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::time::{Clock, ManualClock};
    /// use futures::FutureExt;
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// clock.advance(Duration::from_secs(5));
    /// let mut sleep = clock.sleep(Duration::from_secs(1)); // until 6 s
    /// clock.advance(Duration::from_millis(999));
    /// assert_eq!((&mut sleep).now_or_never(), None);
    /// clock.advance(Duration::from_millis(1));
    /// assert_eq!(sleep.now_or_never(), Some(()));
    /// ```
    fn sleep(&self, duration: Duration) -> Self::Sleep {
        self.sleep_until(self.now().saturating_add(duration))
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    type Sleep = C::Sleep;

    fn now(&self) -> Duration {
        (**self).now()
    }

    fn sleep_until(&self, deadline: Duration) -> Self::Sleep {
        (**self).sleep_until(deadline)
    }

    fn sleep(&self, duration: Duration) -> Self::Sleep {
        (**self).sleep(duration)
    }
}

#[cfg(all(feature = "alloc", target_has_atomic = "ptr"))]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
impl<C: Clock + ?Sized> Clock for alloc::sync::Arc<C> {
    type Sleep = C::Sleep;

    fn now(&self) -> Duration {
        (**self).now()
    }

    fn sleep_until(&self, deadline: Duration) -> Self::Sleep {
        (**self).sleep_until(deadline)
    }

    fn sleep(&self, duration: Duration) -> Self::Sleep {
        (**self).sleep(duration)
    }
}
