//! [`Fleet`]: many sources of one kind, sampled on one schedule, with one
//! timer for them all and a bound on the reads in flight; its settings.
//! Inserting, removing and looking up sources is in `access.rs`; how it
//! runs in `run.rs`; the timer wheel in `wheel.rs`; the slab of sources in
//! `members.rs`; a sample in flight in `flight.rs`.

mod access;
mod flight;
mod members;
mod run;
mod wheel;

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::num::NonZeroUsize;
use core::task::Waker;
use core::time::Duration;

use pin_project_lite::pin_project;

pub use self::members::MemberId;
use self::members::Members;
use self::run::Crew;
use self::wheel::Wheel;
use super::{Backoff, Schedule};
use crate::time::Clock;
use crate::Gather;

/// The shared timer's tick, unless set: a millisecond, as tokio's timer.
const RESOLUTION: Duration = Duration::from_millis(1);

pin_project! {
    /// Stream of the samples of many sources of one kind, each read at a
    /// fixed rate: a [`Sampler`](super::Sampler) for a million sources,
    /// which costs one timer, not a million, and keeps at most `K` reads
    /// in flight.
    ///
    /// A fleet is what a Prometheus *job* or a Telegraf *input* is: one
    /// way to connect and read (`connect` and `read` take the source's
    /// key), one [`Schedule`] (its period, alignment and missed-tick
    /// policy), one timeout and one [`Backoff`], and any number of
    /// sources, each named by a key of yours and spread over the period by
    /// it ([`Schedule::phase_from_key`]). It yields `(key, sample)`.
    ///
    /// Each source is sampled as a [`Sampler`](super::Sampler) samples
    /// its one: the same rules for slots, connections, reconnects with
    /// backoff and the [`Outcome`](super::Outcome)s (see there). What
    /// differs:
    ///
    /// - **One timer.** The fleet keeps every source's next slot and every
    ///   deadline in a timing wheel and sleeps on its clock only until the
    ///   earliest: sources due in the same tick of the
    ///   [resolution](Fleet::resolution) (a millisecond unless set) share
    ///   one sleep. So slots fire, and reads are cut, at the first tick at
    ///   or after their time, never before; a sample's `late` says by how
    ///   much.
    /// - **Reads in flight are bounded** when [`in_flight`](Fleet::in_flight)
    ///   sets a limit (file descriptors, a shared bus, a remote rate
    ///   limit). A source whose slot fires while the limit is reached waits
    ///   in line, in the order the slots fired, and its sample's `late`
    ///   counts the wait: lateness is reported, not hidden. Its deadline
    ///   runs from the moment its read starts.
    /// - **No counters per source.** The samples carry everything; feed
    ///   them to a [`HealthTable`](super::HealthTable) by key to keep each
    ///   source's [`Health`](super::Health).
    /// - **It never ends.** An empty fleet is pending, like a registry
    ///   waiting for sources; a source stays until it is
    ///   [removed](Fleet::remove), its slots giving
    ///   [`Disconnected`](super::Outcome::Disconnected) samples while it
    ///   is down and backed off.
    ///
    /// The reads in flight are driven by a [`Gather`] inside the fleet,
    /// which polls only the ones woken. They fly in boxed lanes kept from
    /// one sample to the next, as many as were ever in flight at once, so
    /// a sample allocates nothing.
    ///
    /// # Cancel safety
    ///
    /// A sample is taken from the fleet only when it is yielded: dropping
    /// a `next()` future loses nothing. Dropping the fleet drops every read
    /// in flight and every connection at once; [removing](Fleet::remove) a
    /// source drops its own.
    ///
    /// # Panics
    ///
    /// A panic in `connect`, `read` or their futures propagates to the
    /// caller of `poll_next`; the fleet should not be polled again.
    ///
    /// # Examples
    ///
    /// Three sensors read every second, at most two at a time, on a manual
    /// clock:
    ///
    /// ```
    /// use confluo::sample::{Fleet, Outcome, Period, Schedule};
    /// use confluo::time::ManualClock;
    /// use futures::{FutureExt, StreamExt};
    /// use std::num::NonZeroUsize;
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let mut fleet = Fleet::new(
    ///     Schedule::every(Period::new(Duration::from_secs(1)).unwrap()),
    ///     clock.clone(),
    ///     |_sensor: &&str| async { Ok::<(), ()>(()) },
    ///     |sensor: &&str, ()| {
    ///         let reading = sensor.len();
    ///         async move { (Some(()), Ok::<_, ()>(reading)) }
    ///     },
    /// )
    /// .in_flight(NonZeroUsize::new(2).unwrap());
    /// for sensor in ["boiler", "pump", "tank"] {
    ///     fleet.insert(sensor);
    /// }
    ///
    /// clock.advance(Duration::from_secs(1)); // every first slot is due
    /// let mut readings = Vec::new();
    /// while let Some(Some((sensor, sample))) = fleet.next().now_or_never() {
    ///     readings.push((sensor, sample.outcome));
    /// }
    /// readings.sort_by_key(|(sensor, _)| *sensor);
    /// assert_eq!(
    ///     readings,
    ///     [("boiler", Outcome::Ok(6)), ("pump", Outcome::Ok(4)), ("tank", Outcome::Ok(4))]
    /// );
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct Fleet<K, C: Clock, Conn, Connect, ConnectFut, Read, ReadFut> {
        crew: Crew<K, Conn, Connect, Read, ConnectFut, ReadFut>,
        clock: C,
        // The tick the sleep is set for.
        armed: Option<u64>,
        // The task that last polled the fleet, woken when an insert needs
        // the sleep set earlier.
        waker: Option<Waker>,
        // A sleep until the wheel's next tick.
        #[pin]
        sleep: Option<C::Sleep>,
    }
}

impl<K, C, Conn, Connect, ConnectFut, Read, ReadFut, T, E>
    Fleet<K, C, Conn, Connect, ConnectFut, Read, ReadFut>
where
    C: Clock,
    Connect: FnMut(&K) -> ConnectFut,
    ConnectFut: Future<Output = Result<Conn, E>>,
    Read: FnMut(&K, Conn) -> ReadFut,
    ReadFut: Future<Output = (Option<Conn>, Result<T, E>)>,
{
    /// A fleet sampled on `schedule`, on `clock`, with no source yet:
    /// `connect` opens a connection to the source with a key, `read` takes
    /// the key and the connection, reads once, and hands the connection
    /// back (or `None` if it broke) with the result.
    ///
    /// The timeout is the period, the backoff [`Backoff::default`], the
    /// reads in flight unbounded and the resolution a millisecond, until
    /// set. A source with no connection to keep takes
    /// `|_| async { Ok(()) }` as `connect`, and hands back `Some(())`.
    ///
    /// # Examples
    ///
    /// See [`Fleet`].
    pub fn new(schedule: Schedule, clock: C, connect: Connect, read: Read) -> Self {
        Fleet {
            crew: Crew {
                schedule,
                connect,
                read,
                timeout: None,
                backoff: Backoff::default(),
                random: 0x5eed,
                resolution: RESOLUTION,
                limit: usize::MAX,
                members: Members::new(),
                wheel: Wheel::new(),
                waiting: VecDeque::new(),
                flights: Gather::new(),
                idle: Vec::new(),
                flying: 0,
                read_ahead_left: 0,
            },
            clock,
            armed: None,
            waker: None,
            sleep: None,
        }
    }
}

impl<K, C: Clock, Conn, Connect, ConnectFut, Read, ReadFut>
    Fleet<K, C, Conn, Connect, ConnectFut, Read, ReadFut>
{
    /// Sets how long a sample may take, its connect included, before it
    /// is cut; the period by default. As for a
    /// [`Sampler`](super::Sampler::timeout), the deadline never lies past
    /// the next slot's due time while that is still ahead.
    ///
    /// # Panics
    ///
    /// If `timeout` is zero: every sample would be cut before it started.
    ///
    /// # Examples
    ///
    /// ```
    /// # let fleet = confluo::sample::Fleet::new(
    /// #     confluo::sample::Schedule::every(confluo::sample::Period::new(std::time::Duration::from_secs(1)).unwrap()),
    /// #     confluo::time::ManualClock::new(),
    /// #     |_: &u32| async { Ok::<(), ()>(()) },
    /// #     |_: &u32, ()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// # );
    /// use std::time::Duration;
    ///
    /// let fleet = fleet.timeout(Duration::from_millis(100));
    /// assert_eq!(fleet.sample_timeout(), Duration::from_millis(100));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        assert!(
            timeout > Duration::ZERO,
            "a fleet's timeout is zero: every sample would time out"
        );
        self.crew.timeout = Some(timeout);
        self
    }

    /// The timeout of each sample.
    ///
    /// # Examples
    ///
    /// ```
    /// # let fleet = confluo::sample::Fleet::new(
    /// #     confluo::sample::Schedule::every(confluo::sample::Period::new(std::time::Duration::from_secs(1)).unwrap()),
    /// #     confluo::time::ManualClock::new(),
    /// #     |_: &u32| async { Ok::<(), ()>(()) },
    /// #     |_: &u32, ()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// # );
    /// assert_eq!(fleet.sample_timeout(), std::time::Duration::from_secs(1)); // the period
    /// ```
    pub fn sample_timeout(&self) -> Duration {
        self.crew.timeout()
    }

    /// Sets the backoff between failed connects of each source;
    /// [`Backoff::default`] until set. One generator of jitter serves
    /// every source.
    ///
    /// # Examples
    ///
    /// ```
    /// # let fleet = confluo::sample::Fleet::new(
    /// #     confluo::sample::Schedule::every(confluo::sample::Period::new(std::time::Duration::from_secs(1)).unwrap()),
    /// #     confluo::time::ManualClock::new(),
    /// #     |_: &u32| async { Ok::<(), ()>(()) },
    /// #     |_: &u32, ()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// # );
    /// use confluo::sample::Backoff;
    /// use std::time::Duration;
    ///
    /// let fleet = fleet.backoff(Backoff { max: Duration::from_secs(30), ..Backoff::default() });
    /// # drop(fleet);
    /// ```
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.crew.backoff = backoff;
        self
    }

    /// Sets how many samples may be in flight at once (each a connect and
    /// a read); unbounded by default. A slot that fires while `limit`
    /// samples fly waits in line, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// # let fleet = confluo::sample::Fleet::new(
    /// #     confluo::sample::Schedule::every(confluo::sample::Period::new(std::time::Duration::from_secs(1)).unwrap()),
    /// #     confluo::time::ManualClock::new(),
    /// #     |_: &u32| async { Ok::<(), ()>(()) },
    /// #     |_: &u32, ()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// # );
    /// use std::num::NonZeroUsize;
    ///
    /// let fleet = fleet.in_flight(NonZeroUsize::new(64).unwrap());
    /// assert_eq!(fleet.flying(), 0);
    /// ```
    pub fn in_flight(mut self, limit: NonZeroUsize) -> Self {
        self.crew.limit = limit.get();
        self
    }

    /// Sets the tick of the shared timer: slots due within one tick share
    /// one sleep, and fire at its end. A millisecond by default; a
    /// coarser tick wakes the task less often and makes samples later.
    /// Where few slots fall due per millisecond, each wake costs more than
    /// the samples it serves: in BENCHMARKS.md, 10,000 sources sampled at
    /// 1 Hz on tokio cost 1.5 µs of CPU a sample with a 5 ms tick against
    /// 1.9 µs with the default, and started 4 ms late at the median
    /// instead of 1.2 ms.
    ///
    /// # Panics
    ///
    /// If `resolution` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// # let fleet = confluo::sample::Fleet::new(
    /// #     confluo::sample::Schedule::every(confluo::sample::Period::new(std::time::Duration::from_secs(1)).unwrap()),
    /// #     confluo::time::ManualClock::new(),
    /// #     |_: &u32| async { Ok::<(), ()>(()) },
    /// #     |_: &u32, ()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// # );
    /// use std::time::Duration;
    ///
    /// let fleet = fleet.resolution(Duration::from_millis(10));
    /// assert_eq!(fleet.tick(), Duration::from_millis(10));
    /// ```
    pub fn resolution(mut self, resolution: Duration) -> Self {
        assert!(resolution > Duration::ZERO, "a fleet's resolution is zero");
        self.crew.resolution = resolution;
        self
    }

    /// The tick of the shared timer.
    ///
    /// # Examples
    ///
    /// See [`resolution`](Fleet::resolution).
    pub fn tick(&self) -> Duration {
        self.crew.resolution
    }
}

impl<K, C: Clock, Conn, Connect, ConnectFut, Read, ReadFut> fmt::Debug
    for Fleet<K, C, Conn, Connect, ConnectFut, Read, ReadFut>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("schedule", &self.crew.schedule)
            .field("timeout", &self.crew.timeout())
            .field("backoff", &self.crew.backoff)
            .field("in_flight", &self.crew.limit)
            .field("resolution", &self.crew.resolution)
            .field("sources", &self.crew.members.len())
            .field("flying", &self.crew.flying)
            .field("waiting", &self.crew.waiting.len())
            .field("alarms", &self.crew.wheel.len())
            .finish_non_exhaustive()
    }
}
