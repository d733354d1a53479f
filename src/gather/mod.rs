//! Driving many sources at once: [`Gather`] over streams, [`gather_all()`] and
//! [`try_gather_all()`] over futures.
//!
//! One file per mechanism: `id.rs` (what users call sources by), `slots.rs`
//! (where sources live, and when a slot may serve the next one),
//! `occupied.rs` (what the slots give of their sources), `ready.rs`
//! (the wakers and the ready list: all that crosses threads), `line.rs` (who
//! is polled next, and why that is fair), `gather.rs` (`Gather` and its
//! methods), `poll.rs` (one call's loop), `budget.rs` (tokio's
//! cooperative budget), `events.rs` (items with their
//! ids), `access.rs` (a `Gather` as a container of sources), `handle.rs`
//! (pushes and removals from other threads) and `registry.rs` (what the
//! handles share with the `Gather`), `keyed.rs` (sources by keys of the
//! user's), `keys.rs` (the table of keys), `keyed_stream.rs` (polling it),
//! `keyed_handle.rs` (keyed changes from other threads), `sharded.rs` (keyed
//! sources spread over several tasks), `until.rs` (stopping at a
//! signal and keeping the sources), `future.rs` (futures gathered in input
//! order).

mod access;
mod budget;
mod events;
mod future;
#[allow(clippy::module_inception)]
mod gather;
mod handle;
mod id;
mod keyed;
mod keyed_handle;
mod keyed_stream;
mod keys;
mod line;
#[cfg(all(test, confluo_loom))]
mod model;
mod occupied;
mod poll;
mod ready;
mod registry;
mod sharded;
mod slots;
mod until;

pub use access::{IntoSources, Sources, SourcesMut};
pub use events::Events;
pub use future::{gather_all, try_gather_all, GatherAll, TryGatherAll};
pub use gather::{gather, Gather};
pub use handle::{GatherHandle, PushError};
pub use id::{Event, SourceId};
pub use keyed::KeyedGather;
pub use keyed_handle::KeyedHandle;
pub use sharded::ShardedHandle;
pub use until::Until;
