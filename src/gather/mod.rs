//! Driving many sources at once: [`Gather`] over streams, [`gather_all()`] and
//! [`try_gather_all()`] over futures.

mod future;
#[cfg(all(test, confluo_loom))]
mod model;
mod ready;
mod stream;

pub use future::{gather_all, try_gather_all, GatherAll, TryGatherAll};
pub use stream::{gather, Event, Events, Gather, SourceId};
