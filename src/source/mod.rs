//! Sources: hand-written streams that turn reads into records.
//!
//! | function | source |
//! |---|---|
//! | [`from_read`] | an async read, repeated: `Option` ends on `None`, `Result` yields errors as items |
//! | [`from_iter`] | an in-memory iterator, yielding to the executor every [`FromIter::BUDGET`] items |
//! | [`from_blocking`] | a blocking iterator on a thread of its own (`std`) |
//! | [`Sensor`] | a simulated sensor with latency, jitter and failures, for examples and tests |
//!
//! Each is a plain `poll_next` state machine: moving a source from a
//! synchronous `Iterator` to an async stream keeps its shape.

#[cfg(feature = "std")]
mod blocking;
mod iter;
mod read;
mod sensor;

#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use blocking::{from_blocking, FromBlocking};
pub use iter::{from_iter, FromIter};
pub use read::{from_read, FromRead, ReadOutcome};
pub use sensor::{Reading, Sensor, SensorFault, SimulatedSensor, YieldOnce};
