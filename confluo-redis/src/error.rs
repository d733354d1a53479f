//! The one error type of the crate: what went wrong between this process
//! and Redis, said in words a person can act on.

use std::fmt;
use std::time::Duration;

/// What can go wrong talking to the run in Redis.
///
/// # Examples
///
/// ```
/// use confluo_redis::{Error, Run};
/// use std::time::Duration;
///
/// // Nothing listens on port 1: the error comes after `reconnect_for`.
/// let run = Run::new("demo").reconnect_for(Duration::from_millis(200));
/// let err = run.status("redis://127.0.0.1:1/").unwrap_err();
/// assert!(matches!(err, Error::Unreachable { .. }));
/// assert!(err.to_string().starts_with("redis at redis://127.0.0.1:1/ unreachable"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Redis could not be reached (refused, timed out, dropped) for as long
    /// as [`Run::reconnect_for`](crate::Run::reconnect_for) allows.
    Unreachable {
        /// The address, as given.
        addr: String,
        /// How long this side tried, reconnecting with backoff.
        tried_for: Duration,
        /// The last failure.
        last: redis::RedisError,
    },
    /// Redis answered with an error this crate did not expect (a bad
    /// address, a key of the run's name holding another type, ...).
    Redis(redis::RedisError),
    /// The run in Redis was opened with other settings (partitions,
    /// capacity, producers) than this side's [`Run`](crate::Run).
    Mismatch(String),
    /// This producer's slot is not its to use: finished or declared dead
    /// before, or held by a live producer.
    Slot(String),
    /// This producer's lease expired, and the run declared it dead: what it
    /// added before is delivered, what it sends now is refused.
    Expired {
        /// The producer's slot.
        slot: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unreachable {
                addr,
                tried_for,
                last,
            } => write!(
                f,
                "redis at {addr} unreachable for {tried_for:?}, reconnecting with backoff: {last}"
            ),
            Error::Redis(err) => write!(f, "redis error: {err}"),
            Error::Mismatch(what) => write!(f, "run settings differ: {what}"),
            Error::Slot(what) => write!(f, "{what}"),
            Error::Expired { slot } => write!(
                f,
                "producer slot {slot} lost its lease and was declared dead: it may not add records"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Unreachable { last, .. } | Error::Redis(last) => Some(last),
            _ => None,
        }
    }
}

impl From<redis::RedisError> for Error {
    /// Our functions' own refusals become their variants; the rest stays a
    /// Redis error.
    fn from(err: redis::RedisError) -> Self {
        let detail = || err.detail().unwrap_or_default().to_owned();
        match err.code() {
            Some("CONFLUO_MISMATCH") => Error::Mismatch(detail()),
            Some("CONFLUO_SLOT") => Error::Slot(detail()),
            _ => Error::Redis(err),
        }
    }
}
