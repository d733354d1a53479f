use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::vec::Vec;

use super::Clock;

/// A clock whose time moves only when told to: virtual time for tests.
///
/// It starts at zero. [`advance`](ManualClock::advance),
/// [`advance_to`](ManualClock::advance_to) and [`set`](ManualClock::set)
/// move it, and each wakes exactly the sleeps that became due, in deadline
/// order (sleeps with one deadline in the order they were created). No
/// real time passes and nothing waits: a test of an hour of sampling runs
/// in microseconds, and the same every time.
///
/// The clock is a handle: clones share one time and one set of sleeps, and
/// it is `Send + Sync`, so a test can keep one clone and give another to
/// the code under test.
///
/// # Examples
///
/// ```
/// use confluo::time::{Clock, ManualClock};
/// use futures::FutureExt;
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let sampler = clock.clone(); // the code under test gets a clone
/// let mut tick = sampler.sleep(Duration::from_secs(60));
/// assert_eq!((&mut tick).now_or_never(), None);
/// assert_eq!(clock.sleepers(), 1);
///
/// clock.advance(Duration::from_secs(60)); // a minute, at once
/// assert_eq!(clock.sleepers(), 0);
/// assert_eq!(tick.now_or_never(), Some(()));
/// ```
#[derive(Clone, Default)]
pub struct ManualClock {
    shared: Arc<Mutex<State>>,
}

/// The time and the sleeps waiting for it.
#[derive(Default)]
struct State {
    now: Duration,
    /// The wakers of the polled sleeps that are not due yet, by deadline
    /// and then by creation.
    sleepers: BTreeMap<(Duration, u64), Waker>,
    /// The number the next sleep gets.
    next: u64,
}

impl ManualClock {
    /// A clock at zero, with no sleeps.
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = confluo::time::ManualClock::new();
    /// assert_eq!(clock.now(), std::time::Duration::ZERO);
    /// ```
    pub fn new() -> Self {
        ManualClock::default()
    }

    /// The clock's time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let clock = confluo::time::ManualClock::new();
    /// clock.advance(Duration::from_millis(1500));
    /// assert_eq!(clock.now(), Duration::from_millis(1500));
    /// ```
    pub fn now(&self) -> Duration {
        self.lock().now
    }

    /// Moves the clock forward by `by` (saturating at `Duration::MAX`) and
    /// wakes the sleeps that became due; returns how many it woke.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::time::{Clock, ManualClock};
    /// use futures::FutureExt;
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let mut sleeps = [1, 2, 3].map(|s| clock.sleep(Duration::from_secs(s)));
    /// for sleep in &mut sleeps {
    ///     assert_eq!(sleep.now_or_never(), None); // polled: waiting
    /// }
    /// assert_eq!(clock.advance(Duration::from_secs(2)), 2); // 1 s and 2 s
    /// assert_eq!(clock.sleepers(), 1);
    /// ```
    pub fn advance(&self, by: Duration) -> usize {
        let state = self.lock();
        let to = state.now.saturating_add(by);
        Self::move_to(state, to)
    }

    /// Moves the clock forward to `to` and wakes the sleeps that became
    /// due; returns how many it woke. A time before the clock's is left
    /// alone: this never goes back ([`set`](ManualClock::set) does).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let clock = confluo::time::ManualClock::new();
    /// clock.advance_to(Duration::from_secs(10));
    /// clock.advance_to(Duration::from_secs(4)); // in the past: no change
    /// assert_eq!(clock.now(), Duration::from_secs(10));
    /// ```
    pub fn advance_to(&self, to: Duration) -> usize {
        let state = self.lock();
        let to = to.max(state.now);
        Self::move_to(state, to)
    }

    /// Sets the clock to `to`, forward or back; returns how many sleeps it
    /// woke.
    ///
    /// Forward, it wakes the sleeps that became due, as
    /// [`advance_to`](ManualClock::advance_to) does. Back, it wakes
    /// nothing, and a pending sleep waits until the clock reaches its
    /// deadline again; so does a sleep that was woken but not yet polled
    /// when the clock went back. A sleep that already completed stays
    /// completed.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::time::{Clock, ManualClock};
    /// use futures::FutureExt;
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// clock.set(Duration::from_secs(10));
    /// let mut sleep = clock.sleep_until(Duration::from_secs(11));
    /// assert_eq!((&mut sleep).now_or_never(), None);
    ///
    /// clock.set(Duration::from_secs(3)); // back: the sleep waits on
    /// clock.advance(Duration::from_secs(7));
    /// assert_eq!((&mut sleep).now_or_never(), None); // 10 s, not 11 s yet
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(sleep.now_or_never(), Some(()));
    /// ```
    pub fn set(&self, to: Duration) -> usize {
        Self::move_to(self.lock(), to)
    }

    /// How many sleeps wait for the clock: polled, not yet due, not
    /// dropped. A sleep that was never polled, or that was woken by the
    /// clock, is not counted.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::time::{Clock, ManualClock};
    /// use futures::FutureExt;
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let mut sleep = clock.sleep(Duration::from_secs(1));
    /// assert_eq!(clock.sleepers(), 0); // not polled yet
    /// assert_eq!((&mut sleep).now_or_never(), None);
    /// assert_eq!(clock.sleepers(), 1);
    /// drop(sleep);
    /// assert_eq!(clock.sleepers(), 0);
    /// ```
    pub fn sleepers(&self) -> usize {
        self.lock().sleepers.len()
    }

    /// Sets the time to `to`, then wakes the sleeps due by then, with the
    /// lock released (a waker may poll its sleep on the spot).
    fn move_to(mut state: MutexGuard<'_, State>, to: Duration) -> usize {
        state.now = to;
        let mut due = Vec::new();
        while let Some(entry) = state.sleepers.first_entry() {
            if entry.key().0 > to {
                break;
            }
            due.push(entry.remove());
        }
        drop(state);
        let woken = due.len();
        for waker in due {
            waker.wake();
        }
        woken
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code panics while holding the lock; if a waker's clone did,
        // the state is still whole.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    type Sleep = ManualSleep;

    fn now(&self) -> Duration {
        ManualClock::now(self)
    }

    fn sleep_until(&self, deadline: Duration) -> ManualSleep {
        let mut state = self.lock();
        let id = state.next;
        state.next += 1;
        ManualSleep {
            clock: self.clone(),
            deadline,
            id,
            done: false,
        }
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("ManualClock")
            .field("now", &state.now)
            .field("sleepers", &state.sleepers.len())
            .finish()
    }
}

/// Future for [`ManualClock`]'s [`Clock::sleep_until`] and [`Clock::sleep`]:
/// completes once the clock reaches its deadline.
///
/// Polled before the deadline, it leaves its waker with the clock (the
/// latest one, if polled again with another); dropped, it takes it back.
/// Once complete, it stays complete.
///
/// # Examples
///
/// ```
/// use confluo::time::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let sleep = clock.sleep_until(Duration::from_secs(3));
/// assert_eq!(sleep.deadline(), Duration::from_secs(3));
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ManualSleep {
    clock: ManualClock,
    deadline: Duration,
    /// The sleep's number: its place among sleeps with one deadline.
    id: u64,
    done: bool,
}

impl ManualSleep {
    /// The time at which the sleep completes.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::time::{Clock, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(clock.sleep(Duration::from_secs(2)).deadline(), Duration::from_secs(3));
    /// ```
    pub fn deadline(&self) -> Duration {
        self.deadline
    }
}

impl Future for ManualSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done {
            return Poll::Ready(());
        }
        let key = (self.deadline, self.id);
        let mut state = self.clock.lock();
        // A waker taken out is dropped after the lock: dropping the last
        // waker of a task may drop a sleep of this clock.
        let old = if state.now >= self.deadline {
            state.sleepers.remove(&key)
        } else {
            match state.sleepers.get_mut(&key) {
                Some(waker) if waker.will_wake(cx.waker()) => None,
                Some(waker) => Some(core::mem::replace(waker, cx.waker().clone())),
                None => state.sleepers.insert(key, cx.waker().clone()),
            }
        };
        let due = state.now >= self.deadline;
        drop(state);
        drop(old);
        if due {
            self.done = true;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for ManualSleep {
    fn drop(&mut self) {
        if !self.done {
            // The waker is dropped after the lock, as in `poll`.
            let waker = self.clock.lock().sleepers.remove(&(self.deadline, self.id));
            drop(waker);
        }
    }
}

impl fmt::Debug for ManualSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualSleep")
            .field("deadline", &self.deadline)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
