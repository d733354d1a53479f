//! confluo's bridge across processes: records from async ingestion to
//! synchronous workers through Redis Streams consumer groups, at least
//! once.
//!
//! ```text
//!  process A: sources → Gather → confluo bridge → Producer ─┐      ┌─ Consumer → worker (process C)
//!  process B: sources → Gather → confluo bridge → Producer ─┼─ Redis ─┼─ Consumer → worker (process D)
//!                                                           │  streams │
//!                       backpressure: a full run makes       └─ {run}:p:0..P ┘  acknowledged after work,
//!                       producers wait                                     claimed back from dead consumers
//! ```
//!
//! The contract is the in-process bridge's, carried over processes:
//!
//! | | |
//! |---|---|
//! | bounded | at most [`Run::capacity`] records wait in Redis (added, not yet acknowledged); a producer whose batch does not fit waits; acknowledged records are deleted, so memory stays bounded on a run of any length |
//! | ordered per key | a record goes to the partition of its key's hash; a partition is worked on by one consumer at a time, in order |
//! | at least once | a record is acknowledged after its worker is done with it; what a dead consumer held is claimed by a live one after [`Run::claim_after`], flagged [`Delivery::redelivered`] |
//! | ends | consumers end once every producer finished (or was declared dead: its lease expired) and every record was acknowledged |
//! | batched | one round trip per batch of records on both sides |
//!
//! | item | what it does |
//! |---|---|
//! | [`Run`] | the settings every side of one bridge shares; [`Run::status`] its counters |
//! | [`Producer`] | adds records from one producer slot; [`Producer::pump`] from a confluo bridge |
//! | [`Consumer`] | a blocking iterator of [`Delivery`]s |
//! | [`Codec`], [`codec_fn`], [`Bytes`], `Json` | how records become bytes: the user's choice |
//! | [`Shards`] | sources split among ingestion processes by leases in Redis and rendezvous hashing; a dead process's sources taken over |
//!
//! # Why a blocking producer
//!
//! The producer is synchronous, fed by confluo's bridge on a thread of its
//! own: async ingestion pumps into a [`confluo::bridge`], and
//! [`Producer::pump`] drains it into Redis. While the run is full the pump
//! takes nothing, the bridge fills, and confluo's pump stops polling the
//! sources: the backpressure reaches the sources through parts that already
//! carry it, and this crate needs no async runtime and no async Redis
//! client.
//!
//! # Example
//!
//! ```no_run
//! // no_run: needs a redis-server on 127.0.0.1:6379 (the crate's tests
//! // start their own).
//! use confluo_redis::{codec_fn, Consumer, Producer, Run};
//!
//! let addr = "redis://127.0.0.1:6379/";
//! let run = Run::new("readings").partitions(4).capacity(1_000).producers(1);
//! let codec = codec_fn(
//!     |r: &(u32, u32), out: &mut Vec<u8>| out.extend_from_slice(format!("{} {}", r.0, r.1).as_bytes()),
//!     |b: &[u8]| {
//!         let text = std::str::from_utf8(b).map_err(|e| e.to_string())?;
//!         let (sensor, value) = text.split_once(' ').ok_or("no space")?;
//!         Ok((sensor.parse().map_err(|_| "sensor")?, value.parse().map_err(|_| "value")?))
//!     },
//! );
//!
//! std::thread::scope(|s| {
//!     s.spawn(|| {
//!         let mut producer = Producer::open(&run, addr, 0, codec, |r| r.0)?;
//!         producer.send_all((0..10_000).map(|i| (i % 100, i)))?;
//!         producer.finish()
//!     });
//!     let mut sum = 0u64;
//!     for delivery in Consumer::open(&run, addr, codec)? {
//!         sum += u64::from(delivery?.1);
//!     }
//!     println!("sum {sum}");
//!     Ok::<(), confluo_redis::Error>(())
//! })?;
//! # Ok::<(), confluo_redis::Error>(())
//! ```
//!
//! # Features
//!
//! - `serde`: `Json`, a codec for serde types (serde_json).
//!
//! Needs a Redis 7 server (Streams, `XAUTOCLAIM`, functions).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod codec;
mod consumer;
mod delivery;
mod end;
mod error;
mod heartbeat;
#[cfg(feature = "serde")]
mod json;
mod link;
mod partition;
mod producer;
mod run;
mod shards;
mod stats;
mod status;

pub use codec::{codec_fn, Bytes, Codec, FnCodec};
pub use consumer::Consumer;
pub use delivery::Delivery;
pub use end::RunEnd;
pub use error::Error;
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub use json::Json;
pub use producer::Producer;
pub use run::Run;
pub use shards::{Rebalance, Shards};
pub use stats::{ConsumerStats, ProducerStats};
pub use status::{ProducerState, RunStatus};
