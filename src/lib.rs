//! Concurrent ingestion from many slow sources, on any executor.
//!
//! A program that reads N slow sources one after another (sensors polled over
//! the network, sockets, services), each with a round trip T, waits N × T per
//! cycle: every source is sampled N times more slowly than it could be. Driven
//! concurrently, a cycle costs about one round trip T, whatever N is.
//!
//! ```text
//! sequential:  [s1 ──T──][s2 ──T──][s3 ──T──] ... [sN ──T──]   = N × T
//! gathered:    [s1 ──T──]
//!              [s2 ──T──]
//!              [sN ──T──]                                      ≈ T
//! ```
//!
//! confluo is the toolkit for that ingestion layer. It names no executor and
//! no timer, forbids `unsafe`, and its core needs only `core` and `alloc`.
//!
//! | item | what it does |
//! |---|---|
//! | [`gather()`], [`Gather`] | drives any number of streams concurrently and yields their items as they come; polls only the sources that were woken; fair |
//! | [`gather_all()`] | runs futures concurrently, outputs in input order (`asyncio.gather`) |
//! | [`try_gather_all()`] | the same, failing fast at the first error and dropping the rest |
//! | [`source`] | hand-written streams: a repeated async read, an in-memory iterator, a blocking iterator on a thread, a simulated sensor |
//! | [`guard`] | drop guards: a release action that runs exactly once, told why; an async close with a goodbye, for one source or a whole `Gather` |
//! | [`bridge()`], [`Bridge`] | a bounded channel from async [`Producer`]s (with [`Producer::pump`]) to [`Consumer`]s on threads; backpressure when full; its closing ends the consumers |
//! | [`sample`] | sampling at a fixed rate: a [`sample::Schedule`] (period, phase, alignment, missed ticks) and its ticks as a stream on a clock |
//! | [`time`] | a clock taken from the caller: the [`time::Clock`] trait, a manual clock for tests with virtual time, tokio and async-io adapters |
//!
//! # Quick start
//!
//! Three sensors, read concurrently: their round trips overlap, so a cycle
//! takes one round trip, not three.
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use confluo::gather;
//! use futures::StreamExt;
//! use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
//! use std::time::Duration;
//!
//! # smol::block_on(async {
//! let in_flight = AtomicUsize::new(0); // round trips under way now
//! let most = AtomicUsize::new(0); // and the most at one time
//! let sensor = |id: u32| {
//!     let (in_flight, most) = (&in_flight, &most);
//!     futures::stream::unfold(0, move |reads| async move {
//!         if reads == 2 {
//!             return None;
//!         }
//!         most.fetch_max(in_flight.fetch_add(1, SeqCst) + 1, SeqCst);
//!         smol::Timer::after(Duration::from_millis(100)).await; // one network round trip
//!         in_flight.fetch_sub(1, SeqCst);
//!         Some(((id, reads), reads + 1))
//!     })
//! };
//!
//! let readings: Vec<(u32, u32)> = gather((0..3).map(sensor)).collect().await;
//! assert_eq!(readings.len(), 6);
//! // All three sensors wait on their round trip at once: two cycles take
//! // about 2 × T, not 6 × T.
//! assert_eq!(most.load(SeqCst), 3);
//! # });
//! # }
//! ```
//!
//! # Cleaning up sources
//!
//! In Python, an async generator abandoned mid-stream keeps its connection
//! open until someone calls `aclose()` or the garbage collector gets to it;
//! in a long-running server, that exhausts sockets. In Rust, dropping a
//! stream runs its destructors at once, so a source that owns its resources
//! is released the moment it is abandoned: a `break`, a cancelled task, a
//! `Gather` dropped or a source removed from it, a fail-fast error elsewhere
//! in [`try_gather_all()`], a panic unwinding.
//!
//! [`guard::guard`] adds what destructors alone do not: a release action that
//! runs exactly once and is told why ([`guard::Release`]), for resources
//! shared with other tasks (a pool slot, a registry entry, a metric). The
//! async close, [`guard::Guarded::close`] and [`guard::close_all`], is worth
//! it when a source has something to say before it goes: a protocol
//! goodbye, a flush, an unsubscribe. It is bounded by a deadline future of
//! your runtime, and whatever it does not finish is dropped, and so released
//! all the same.
//!
//! Cancel safety of the public futures: `Producer::send` and `Router::send`
//! drop their record if dropped; `Consumer::recv`, `Consumer::recv_timeout`
//! and the `Consumer`'s `Stream` lose nothing, also with a batch in hand (a
//! consumer dropped with a batch in hand, or that calls `release`, gives it
//! back to the others, which end only once no consumer holds records of a
//! batch);
//! `Producer::pump` and `Router::pump_by` drop their stream and the batch in
//! hand, records already sent stay in the bridge; [`gather_all()`] and
//! [`try_gather_all()`] drop the futures still running; `Guarded::close`
//! leaves the goodbye where it stopped, and the guard still releases once;
//! `close_all` drops, and so releases, the sources not yet closed.
//!
//! # Features
//!
//! - `std` (default): implies `alloc`; the parts that need threads:
//!   `source::from_blocking`, the bridge's blocking iterators, the
//!   `Release::Panicked` reason of guards, and `time::ManualClock`.
//! - `alloc`: `Gather`, `gather_all()`, `try_gather_all()`,
//!   `guard::close_all` and the bridge.
//! - `portable-atomic`: implies `alloc`; atomics and `Arc` from
//!   portable-atomic, for targets without compare-and-swap
//!   (`thumbv6m-none-eabi`).
//! - `tokio`: `time::TokioClock`, a clock on tokio's timer; and `Gather`
//!   yields once the task's tokio cooperative budget is spent, instead of
//!   polling sources that can only return `Pending` (turn it on where a
//!   `Gather` runs on tokio).
//! - `async-io`: implies `std`; `time::AsyncIoClock`, a clock on
//!   async-io's timer (smol's).
//! - With none, `core` only: the sources `from_read`, `from_iter` and
//!   `Sensor`, the guards, the `time::Clock` trait, and `sample`'s
//!   schedule and ticks.
//!
//! Without default features the crate is `#![no_std]`, and with `alloc` it
//! builds where only 32-bit atomics exist (`thumbv7em-none-eabihf`,
//! `riscv32imac-unknown-none-elf`). Everything here works on any executor:
//! smol, tokio, `futures::executor`, or one of your own.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The docs link to the items behind the `std` feature too; built without
// it, those links have nothing to point at. The builds with `std`
// (`.ci/run`, docs.rs) check every link.
#![cfg_attr(not(feature = "std"), allow(rustdoc::broken_intra_doc_links))]
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod guard;
pub mod sample;
pub mod source;
pub mod time;

#[cfg(feature = "alloc")]
mod bridge;
#[cfg(feature = "alloc")]
mod gather;
#[cfg(feature = "alloc")]
mod sync;

/// The README's examples run as doctests.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub use bridge::{
    bridge, Bridge, Consumer, OnDrop, Overflow, Producer, Pumped, RecvTimeoutError, Router,
    SendError, Stats, TryRecvError, TrySendError,
};
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use bridge::{IntoRecords, Records};
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub use gather::{
    gather, gather_all, try_gather_all, Event, Events, Gather, GatherAll, GatherHandle,
    IntoSources, KeyedGather, KeyedHandle, PushError, ShardedHandle, SourceId, Sources, SourcesMut,
    TryGatherAll, Until,
};
