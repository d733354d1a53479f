//! Sampling at a fixed rate: a [`Schedule`] that says when each sample of
//! a source is due, and [`Ticks`], its stream on a [`Clock`](crate::time::Clock).
//!
//! | item | what it is | needs |
//! |---|---|---|
//! | [`Schedule`] | when each sample is due: plain state, driven by the caller's time | core |
//! | [`Period`], [`ZeroPeriod`] | the time between two samples, never zero; the error of a zero one | core |
//! | [`Tick`] | one slot that fires: its number, when it was due, how late, how many skipped | core |
//! | [`Missed`] | what happens to slots whose time passed: skip, burst or delay | core |
//! | [`Ticks`] | the ticks of a schedule as a stream, sleeping on a clock | core |
//! | [`Sampler`] | a source sampled on a schedule: a timeout per sample, a connection kept across reads, reconnects with backoff | core |
//! | [`Fleet`], [`MemberId`] | many sources of one kind sampled as a `Sampler` samples one, on one timer for them all, with a bound on the reads in flight | alloc |
//! | [`Sample`], [`Outcome`] | one sample: its slot, when it was due, how late, how long it took, what came of it | core |
//! | [`stable_hash`] | a hash of a key that is the same in every process and on every platform | core |
//! | [`Backoff`] | the wait between failed connects: capped, exponential, with jitter | core |
//! | [`Health`] | a sampled source's counters, latency, failures in a row and achieved rate | core |
//! | [`HealthTable`] | the health of many sources by key: which are down, the rate of all | alloc |
//!
//! # The rules
//!
//! **Fixed rate.** Sample `k` is due at `origin + k × period`, however
//! long the earlier reads took, as in Prometheus: the time a read takes
//! does not push the next one back, and the samples do not drift.
//!
//! **Phase.** The origin is the start plus a phase within the period,
//! given ([`Schedule::phase`]) or derived from the source's key
//! ([`Schedule::phase_from_key`]), so that a thousand sources with one
//! period spread over it instead of all firing in the same instant, and
//! each keeps its place from run to run.
//!
//! **Alignment.** [Aligned](Schedule::aligned) (Telegraf's
//! `round_interval`), the slots fall on multiples of the period on the
//! clock, plus the phase, whenever the schedule starts: every ten seconds
//! means at :00, :10, :20.
//!
//! **Missed ticks.** A slot is missed when the schedule is next asked
//! after the slot that follows it was due too; the [`Missed`] policy says
//! what happens to it. A read that takes 3.5 periods, from slot 0, on each
//! policy (`│` are the slots on the grid, `*` the ticks): `Skip` fires
//! slot 3, late, says that 1 and 2 were skipped, and fires slot 4 on the
//! grid; `Burst` fires 1, 2 and 3 at once, late, and slot 4 on the grid;
//! `Delay` fires slot 1, late, and moves the grid to it.
//!
//! ```text
//! slots:   │0        │1        │2        │3        │4        │5
//! read:    [══════════ 3.5 periods ═══════════]
//! Skip:    *                                  *3   *4        *5
//! Burst:   *                                  ***  *4        *5
//! Delay:   *                                  *1        *2        *3
//! ```
//!
//! A slot found late before the next one is due fires late under every
//! policy, so a caller that is always a little late (a timer's
//! granularity, a busy executor) still gets every slot. Under `Delay`, a
//! slot later than the [tolerance](Schedule::tolerance) moves the grid.
//!
//! A tick says which slot fired and how ([`Tick`]): its number `seq` on the
//! grid, when it was `due`, how `late` it fired, and how many slots were
//! `skipped` just before it.
//!
//! **Time.** The schedule holds no timer: [`Schedule::tick`] takes the
//! time as a [`Duration`](core::time::Duration) since the clock's start,
//! so a test drives it with plain numbers, and [`Ticks`] with any
//! [`Clock`](crate::time::Clock). A clock set back fires nothing until it
//! reaches the next slot again; every sum saturates, and a slot past
//! `Duration::MAX` never comes.
//!
//! # Examples
//!
//! Three sources every 10 s, spread over the period by their keys, the
//! ticks of the first on a manual clock:
//!
//! ```
//! use confluo::sample::{Period, Schedule};
//! use confluo::time::ManualClock;
//! use futures::{FutureExt, StreamExt};
//! use std::time::Duration;
//!
//! let every_10s = Schedule::every(Period::new(Duration::from_secs(10)).unwrap());
//! let schedules: Vec<Schedule> = ["boiler", "pump", "tank"]
//!     .iter()
//!     .map(|key| every_10s.clone().phase_from_key(key))
//!     .collect();
//! for (key, schedule) in ["boiler", "pump", "tank"].iter().zip(&schedules) {
//!     println!("{key}: first sample at {:?}", schedule.due().unwrap());
//! }
//!
//! let clock = ManualClock::new();
//! let first = schedules[0].due().unwrap();
//! let mut ticks = schedules[0].clone().ticks(clock.clone());
//! clock.advance(first + Duration::from_secs(10));
//! // The first look comes a period late: slot 0 is skipped (missed ticks
//! // are skipped by default), and slot 1 fires, on time.
//! let tick = ticks.next().now_or_never().flatten().unwrap();
//! assert_eq!((tick.seq, tick.skipped, tick.late), (1, 1, Duration::ZERO));
//! ```

mod backoff;
#[cfg(feature = "alloc")]
mod fleet;
mod grid;
mod health;
mod key;
mod outcome;
mod period;
mod sampler;
mod schedule;
#[cfg(feature = "alloc")]
mod table;
mod take;
mod ticks;

pub use self::backoff::Backoff;
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub use self::fleet::{Fleet, MemberId};
pub use self::health::Health;
pub use self::key::stable_hash;
pub use self::outcome::{Outcome, Sample};
pub use self::period::{Period, ZeroPeriod};
pub use self::sampler::Sampler;
pub use self::schedule::{Missed, Schedule, Tick};
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub use self::table::HealthTable;
pub use self::ticks::Ticks;
