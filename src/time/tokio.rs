use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::Clock;

/// A [`Clock`] on tokio's timer: its start is the tokio instant at which it
/// was created, its sleeps are `tokio::time::sleep_until`.
///
/// It reads time through `tokio::time::Instant`, so it follows tokio's
/// paused test time too (`#[tokio::test(start_paused = true)]`,
/// `tokio::time::pause` and `advance`): create it inside the runtime whose
/// time it should follow. The clock is `Copy`; copies share the start.
///
/// # Panics
///
/// [`sleep_until`](Clock::sleep_until) and [`sleep`](Clock::sleep) panic
/// outside a tokio runtime, or in one without its time driver
/// (`enable_time`), as `tokio::time::sleep_until` does.
///
/// # Examples
///
/// ```
/// use confluo::time::{Clock, TokioClock};
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let clock = TokioClock::new();
/// clock.sleep(Duration::from_millis(1)).await;
/// assert!(clock.now() >= Duration::from_millis(1));
/// # });
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokioClock {
    start: Instant,
}

impl TokioClock {
    /// A clock that starts now, by tokio's time.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::time::{Clock, TokioClock};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let clock = TokioClock::new();
    /// assert!(clock.now() < std::time::Duration::from_secs(1));
    /// # });
    /// ```
    pub fn new() -> Self {
        TokioClock {
            start: Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        TokioClock::new()
    }
}

impl Clock for TokioClock {
    type Sleep = TokioSleep;

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.start)
    }

    /// # Panics
    ///
    /// Outside a tokio runtime, or in one without its time driver
    /// (`enable_time`), as `tokio::time::sleep_until` does.
    fn sleep_until(&self, deadline: Duration) -> TokioSleep {
        TokioSleep {
            // A deadline past what an instant can hold is never reached.
            // The second of headroom is for tokio, which rounds a
            // deadline up to its next millisecond with a plain addition.
            timer: self
                .start
                .checked_add(deadline)
                .filter(|at| at.checked_add(Duration::from_secs(1)).is_some())
                .map(tokio::time::sleep_until),
        }
    }
}

impl fmt::Debug for TokioClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioClock").finish_non_exhaustive()
    }
}

pin_project! {
    /// Future for [`TokioClock`]'s [`Clock::sleep_until`] and
    /// [`Clock::sleep`]: a `tokio::time::Sleep`, or, for a deadline too
    /// far to reach, a future that stays pending and holds no timer.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::time::{Clock, TokioClock, TokioSleep};
    /// use std::time::Duration;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let clock = TokioClock::new();
    /// let sleep: TokioSleep = clock.sleep_until(Duration::ZERO);
    /// sleep.await; // in the past: at once
    /// # });
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct TokioSleep {
        #[pin]
        timer: Option<tokio::time::Sleep>,
    }
}

impl Future for TokioSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.project().timer.as_pin_mut() {
            Some(timer) => timer.poll(cx),
            None => Poll::Pending,
        }
    }
}

impl fmt::Debug for TokioSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioSleep")
            .field("never", &self.timer.is_none())
            .finish_non_exhaustive()
    }
}
