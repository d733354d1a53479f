//! Time, taken from the caller: a [`Clock`] trait, a [`ManualClock`] for
//! tests, and adapters for tokio's and async-io's timers.
//!
//! confluo takes a clock instead of calling one, for three reasons:
//!
//! - **No runtime named.** A timer belongs to a runtime (tokio's, async-io's
//!   under smol, an embedded HAL's); the crate works on all of them, so the
//!   caller says which.
//! - **No clock where there is none.** `std::time::Instant::now` panics on
//!   `wasm32-unknown-unknown`, and `no_std` targets have no `std` clock at
//!   all; a [`Clock`] is built on whatever the target has.
//! - **Virtual time in tests.** With a [`ManualClock`], a test moves time by
//!   hand: an hour of sampling every second runs in microseconds, with no
//!   real sleep, and the same way every time.
//!
//! | item | what it is | needs |
//! |---|---|---|
//! | [`Clock`] | now, and a future that completes at an instant; instants are `Duration`s since the clock's start | core |
//! | [`ManualClock`], [`ManualSleep`] | virtual time that a test advances; wakes exactly the sleeps that became due | `std` |
//! | `TokioClock`, `TokioSleep` | tokio's timer, paused test time included | `tokio` |
//! | `AsyncIoClock`, `AsyncIoSleep` | async-io's timer, for smol | `async-io` |
//!
//! `Clock` is also implemented for `&C` and, with `alloc`, for `Arc<C>`.
//!
//! # Examples
//!
//! Code that waits takes a clock; its test drives a [`ManualClock`]:
//!
//! ```
//! use confluo::time::{Clock, ManualClock};
//! use futures::FutureExt;
//! use std::time::Duration;
//!
//! /// Waits a read's timeout, then reports it (a stand-in for real work).
//! async fn timed_out<C: Clock>(clock: C, timeout: Duration) -> &'static str {
//!     clock.sleep(timeout).await;
//!     "timed out"
//! }
//!
//! let clock = ManualClock::new();
//! let mut read = Box::pin(timed_out(clock.clone(), Duration::from_secs(5)));
//! assert_eq!(read.as_mut().now_or_never(), None);
//! clock.advance(Duration::from_secs(5)); // five seconds, no waiting
//! assert_eq!(read.now_or_never(), Some("timed out"));
//! ```

mod clock;
#[cfg(feature = "std")]
mod manual;

#[cfg(feature = "async-io")]
mod async_io;
#[cfg(feature = "tokio")]
mod tokio;

#[cfg(feature = "async-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-io")))]
pub use self::async_io::{AsyncIoClock, AsyncIoSleep};
pub use self::clock::Clock;
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use self::manual::{ManualClock, ManualSleep};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use self::tokio::{TokioClock, TokioSleep};
