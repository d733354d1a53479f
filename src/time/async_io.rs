use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use async_io::Timer;
use std::time::Instant;

use super::Clock;

/// A [`Clock`] on async-io's timer, the one smol runs on: its start is the
/// `std::time::Instant` at which it was created, its sleeps are
/// `async_io::Timer::at`.
///
/// async-io drives its timers from its own reactor thread when no executor
/// does, so these sleeps complete under any executor. The clock is `Copy`;
/// copies share the start.
///
/// # Examples
///
/// ```
/// use confluo::time::{AsyncIoClock, Clock};
/// use std::time::Duration;
///
/// # smol::block_on(async {
/// let clock = AsyncIoClock::new();
/// clock.sleep(Duration::from_millis(1)).await;
/// assert!(clock.now() >= Duration::from_millis(1));
/// # });
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AsyncIoClock {
    start: Instant,
}

impl AsyncIoClock {
    /// A clock that starts now.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::time::{AsyncIoClock, Clock};
    ///
    /// let clock = AsyncIoClock::new();
    /// assert!(clock.now() < std::time::Duration::from_secs(1));
    /// ```
    pub fn new() -> Self {
        AsyncIoClock {
            start: Instant::now(),
        }
    }
}

impl Default for AsyncIoClock {
    fn default() -> Self {
        AsyncIoClock::new()
    }
}

impl Clock for AsyncIoClock {
    type Sleep = AsyncIoSleep;

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.start)
    }

    fn sleep_until(&self, deadline: Duration) -> AsyncIoSleep {
        AsyncIoSleep {
            // A deadline past what an instant can hold is never reached.
            timer: self
                .start
                .checked_add(deadline)
                .map_or_else(Timer::never, Timer::at),
        }
    }
}

impl fmt::Debug for AsyncIoClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncIoClock").finish_non_exhaustive()
    }
}

/// Future for [`AsyncIoClock`]'s [`Clock::sleep_until`] and
/// [`Clock::sleep`]: an `async_io::Timer`, or `Timer::never()` for a
/// deadline too far to reach.
///
/// # Examples
///
/// ```
/// use confluo::time::{AsyncIoClock, AsyncIoSleep, Clock};
/// use std::time::Duration;
///
/// # smol::block_on(async {
/// let clock = AsyncIoClock::new();
/// let sleep: AsyncIoSleep = clock.sleep_until(Duration::ZERO);
/// sleep.await; // in the past: at once
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct AsyncIoSleep {
    timer: Timer,
}

impl Future for AsyncIoSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.timer).poll(cx).map(drop)
    }
}

impl fmt::Debug for AsyncIoSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncIoSleep")
            .field("timer", &self.timer)
            .finish()
    }
}
