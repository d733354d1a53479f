use core::fmt;
use core::future::Future;
use core::num::NonZeroU32;
use core::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::backoff::Retry;
use super::{Backoff, Health, Schedule, Tick};
use crate::time::Clock;

pin_project! {
    /// Stream for [`Sampler::new`]: a source sampled at a fixed rate, with
    /// a timeout per sample, a connection kept across reads, reconnects
    /// with backoff, and [`Health`] counters.
    ///
    /// # How a sample is taken
    ///
    /// When a slot of the [`Schedule`] comes (on the sampler's [`Clock`]),
    /// the sampler starts its sample:
    ///
    /// - **Connected**, it calls `read` with the connection, by value.
    ///   The read hands it back with its result, or hands back `None` when
    ///   the connection is broken: the next sample connects again, at
    ///   once. So a connection that is not `Clone` (a `TcpStream`) lives
    ///   from one read to the next, with no lock around it.
    /// - **Not connected**, it calls `connect`, and then `read` with the
    ///   new connection, both within the sample. A connect that fails
    ///   gives [`Outcome::ConnectFailed`], and the next try waits for the
    ///   [`Backoff`]: until then, each slot gives
    ///   [`Outcome::Disconnected`] at its time, with no try. Every slot
    ///   gets its sample, and connects are tried only on slots, so a
    ///   source that is down is tried no more often than it is sampled.
    ///
    /// A connection lost before it gave a reading (broken, or cut with a
    /// read that timed out) counts as a failed connect too: a device that
    /// accepts connections and then hangs, or closes them at once, is
    /// backed off, not connected to on every slot. A reading ends the run
    /// of failures, and a connection lost after one is opened again at the
    /// next slot, with no wait.
    ///
    /// A sample has a deadline: its start plus the
    /// [timeout](Sampler::timeout), and never past the next slot's due
    /// time while that is still ahead. A connect or read that has not
    /// finished by then is dropped, and the connection with it, and the
    /// sample is [`Outcome::TimedOut`]: a read that hangs never delays
    /// the next sample. The deadline is checked after each poll of the
    /// connect or read that leaves it pending, so one that is done when
    /// its deadline is found passed still counts, as with tokio's
    /// `timeout`.
    ///
    /// Slots that passed while the sampler was not polled (a slow
    /// consumer) follow the schedule's [`Missed`](super::Missed) policy;
    /// with `Skip`, one [`Outcome::Skipped`] sample reports them before
    /// the next sample. Every slot is so reported, in order.
    ///
    /// The stream ends only when it [gives up](Sampler::give_up_after);
    /// once no slot is ever due again, it stays pending. It is a `Stream` like any
    /// other source: `Gather` drives it, and
    /// `filter_map(|s| future::ready(s.ok()))` keeps the readings.
    ///
    /// On a [`ManualClock`](crate::time::ManualClock) over real I/O (a
    /// test), a connect or read moves only while the sampler is polled,
    /// and moving the clock to a deadline cuts what is in flight, whether
    /// or not its I/O would have been done by then in real time.
    ///
    /// # Cancel safety
    ///
    /// A sample is taken from the sampler only when it is yielded:
    /// dropping a `next()` future loses nothing, and the connect, read or
    /// sleep in flight stays with the sampler. Dropping the sampler drops
    /// them at once, the connection (held by the read in flight, or by the
    /// sampler between reads) included.
    ///
    /// # Panics
    ///
    /// A panic in `connect`, `read` or their futures propagates to the
    /// caller of `poll_next`; the sampler should not be polled again.
    ///
    /// # Examples
    ///
    /// See [`Sampler::new`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Sampler<C: Clock, Conn, Connect, ConnectFut, Read, ReadFut> {
        pub(super) schedule: Schedule,
        pub(super) clock: C,
        pub(super) connect: Connect,
        pub(super) read: Read,
        pub(super) timeout: Option<Duration>,
        pub(super) retry: Retry,
        // Held between reads; moved into the read in flight.
        pub(super) conn: Option<Conn>,
        pub(super) health: Health,
        // The slot whose sample is next or in flight.
        pub(super) tick: Option<Tick>,
        // When the sample in flight started.
        pub(super) started: Duration,
        // A sleep until the next slot, or until the deadline of the sample
        // in flight.
        #[pin]
        pub(super) sleep: Option<C::Sleep>,
        #[pin]
        pub(super) connecting: Option<ConnectFut>,
        #[pin]
        pub(super) reading: Option<ReadFut>,
    }
}

impl<C, Conn, Connect, ConnectFut, Read, ReadFut, T, E>
    Sampler<C, Conn, Connect, ConnectFut, Read, ReadFut>
where
    C: Clock,
    Connect: FnMut() -> ConnectFut,
    ConnectFut: Future<Output = Result<Conn, E>>,
    Read: FnMut(Conn) -> ReadFut,
    ReadFut: Future<Output = (Option<Conn>, Result<T, E>)>,
{
    /// A source sampled on `schedule`, on `clock`: `connect` opens a
    /// connection, `read` takes it, reads once, and hands it back (or
    /// `None` if it broke) with the result.
    ///
    /// The timeout is the period, and the backoff [`Backoff::default`],
    /// until set; the jitter's generator is seeded with the schedule's
    /// first due time, so sources spread by
    /// [`phase_from_key`](Schedule::phase_from_key) also back off apart.
    ///
    /// A source with no connection to keep takes `|| async { Ok(()) }`
    /// as `connect`, and hands back `Some(())`.
    ///
    /// # Examples
    ///
    /// A sensor read every second over a connection, here a counter that
    /// breaks at the third read:
    ///
    /// ```
    /// use confluo::sample::{Outcome, Period, Sampler, Schedule};
    /// use confluo::time::ManualClock;
    /// use futures::{FutureExt, StreamExt};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let mut opened = 0;
    /// let sampler = Sampler::new(
    ///     Schedule::every(Period::new(Duration::from_secs(1)).unwrap()),
    ///     clock.clone(),
    ///     move || {
    ///         opened += 1;
    ///         let conn = (opened, 0);
    ///         async move { Ok::<_, &str>(conn) }
    ///     },
    ///     |(id, reads): (u32, u32)| async move {
    ///         if reads == 2 {
    ///             (None, Err("connection reset")) // broken: reconnect
    ///         } else {
    ///             (Some((id, reads + 1)), Ok(format!("conn {id}, read {reads}")))
    ///         }
    ///     },
    /// );
    /// let mut sampler = Box::pin(sampler);
    /// let mut seen = Vec::new();
    /// for _ in 0..5 {
    ///     let sample = sampler.next().now_or_never().flatten().unwrap();
    ///     println!("{} at {:?}: {:?}", sample.seq, sample.due, sample.outcome);
    ///     seen.push(sample.outcome);
    ///     clock.advance(Duration::from_secs(1));
    /// }
    /// assert_eq!(seen[2], Outcome::Err("connection reset"));
    /// assert_eq!(seen[3], Outcome::Ok("conn 2, read 0".to_string()));
    /// assert_eq!(sampler.health().ok, 4);
    /// ```
    pub fn new(
        schedule: Schedule,
        clock: C,
        connect: Connect,
        read: Read,
    ) -> Sampler<C, Conn, Connect, ConnectFut, Read, ReadFut> {
        let seed = schedule.due().map_or(0, |due| due.as_nanos() as u64);
        Sampler {
            schedule,
            clock,
            connect,
            read,
            timeout: None,
            retry: Retry::new(Backoff::default(), seed),
            conn: None,
            health: Health::default(),
            tick: None,
            started: Duration::ZERO,
            sleep: None,
            connecting: None,
            reading: None,
        }
    }
}

impl<C: Clock, Conn, Connect, ConnectFut, Read, ReadFut>
    Sampler<C, Conn, Connect, ConnectFut, Read, ReadFut>
{
    /// Sets how long a sample may take, its connect included, before it
    /// is cut; the period by default. The deadline never lies past the
    /// next slot's due time, so a timeout longer than the period acts as
    /// the period (except for slots fired late, when the next one is due
    /// already).
    ///
    /// # Panics
    ///
    /// If `timeout` is zero: every sample would be cut before it started
    /// (as tokio's `interval` refuses a zero period).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Sampler, Schedule};
    /// use confluo::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let sampler = Sampler::new(
    ///     Schedule::every(Period::new(Duration::from_secs(10)).unwrap()),
    ///     ManualClock::new(),
    ///     || async { Ok::<(), ()>(()) },
    ///     |()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// );
    /// assert_eq!(sampler.timeout(Duration::from_secs(2)).sample_timeout(), Duration::from_secs(2));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        assert!(
            timeout > Duration::ZERO,
            "a sampler's timeout is zero: every sample would time out"
        );
        self.timeout = Some(timeout);
        self
    }

    /// The timeout of each sample.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Sampler, Schedule};
    /// use confluo::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let sampler = Sampler::new(
    ///     Schedule::every(Period::new(Duration::from_secs(10)).unwrap()),
    ///     ManualClock::new(),
    ///     || async { Ok::<(), ()>(()) },
    ///     |()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// );
    /// assert_eq!(sampler.sample_timeout(), Duration::from_secs(10)); // the period
    /// ```
    pub fn sample_timeout(&self) -> Duration {
        self.timeout.unwrap_or_else(|| self.schedule.period().get())
    }

    /// Sets the backoff between failed connects; [`Backoff::default`]
    /// until set.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Backoff, Period, Sampler, Schedule};
    /// use confluo::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let sampler = Sampler::new(
    ///     Schedule::every(Period::new(Duration::from_secs(1)).unwrap()),
    ///     ManualClock::new(),
    ///     || async { Ok::<(), ()>(()) },
    ///     |()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// )
    /// .backoff(Backoff { max: Duration::from_secs(30), ..Backoff::default() });
    /// # drop(sampler);
    /// ```
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.retry.backoff = backoff;
        self
    }

    /// Gives up after `failures` failed connects in a row (see
    /// [`Backoff`] for what fails): the sample of the last failure is the
    /// stream's last item, and the sampler ends, so a `Gather` driving it
    /// reports its end. By default a sampler never gives up.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Outcome, Period, Sampler, Schedule};
    /// use confluo::time::ManualClock;
    /// use futures::{FutureExt, StreamExt};
    /// use std::num::NonZeroU32;
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let sampler = Sampler::new(
    ///     Schedule::every(Period::new(Duration::from_secs(1)).unwrap()),
    ///     clock.clone(),
    ///     || async { Err::<(), _>("refused") },
    ///     |()| async { (Some(()), Ok::<u8, _>(1)) },
    /// )
    /// .give_up_after(NonZeroU32::new(2).unwrap());
    /// let mut sampler = Box::pin(sampler);
    /// let mut outcomes = Vec::new();
    /// while let Some(Some(sample)) = sampler.next().now_or_never() {
    ///     outcomes.push(sample.outcome);
    ///     clock.advance(Duration::from_secs(1));
    /// }
    /// // Refused, then waiting out the backoff (1 s at most), refused again:
    /// // given up.
    /// assert_eq!(outcomes.iter().filter(|o| **o == Outcome::ConnectFailed("refused")).count(), 2);
    /// assert_eq!(outcomes.last(), Some(&Outcome::ConnectFailed("refused")));
    /// assert!(futures::stream::FusedStream::is_terminated(&sampler));
    /// ```
    pub fn give_up_after(mut self, failures: NonZeroU32) -> Self {
        self.retry.give_up = Some(failures);
        self
    }

    /// Seeds the generator of the backoff's jitter with `seed`: the same
    /// seed, the same waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Sampler, Schedule};
    /// use confluo::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let sampler = Sampler::new(
    ///     Schedule::every(Period::new(Duration::from_secs(1)).unwrap()),
    ///     ManualClock::new(),
    ///     || async { Ok::<(), ()>(()) },
    ///     |()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// )
    /// .seed(42);
    /// # drop(sampler);
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.retry.random = seed;
        self
    }

    /// The source's health so far: a copy of its counters.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Sampler, Schedule};
    /// use confluo::time::ManualClock;
    /// use futures::{FutureExt, StreamExt};
    /// use std::time::Duration;
    ///
    /// let mut sampler = Box::pin(Sampler::new(
    ///     Schedule::every(Period::new(Duration::from_secs(1)).unwrap()),
    ///     ManualClock::new(),
    ///     || async { Ok::<(), ()>(()) },
    ///     |()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// ));
    /// assert!(!sampler.health().is_up());
    /// sampler.next().now_or_never();
    /// assert!(sampler.health().is_up());
    /// ```
    pub fn health(&self) -> Health {
        self.health
    }

    /// Whether the sampler holds a connection between reads (during a
    /// read, the read holds it, and this is `false`).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Sampler, Schedule};
    /// use confluo::time::ManualClock;
    /// use futures::{FutureExt, StreamExt};
    /// use std::time::Duration;
    ///
    /// let mut sampler = Box::pin(Sampler::new(
    ///     Schedule::every(Period::new(Duration::from_secs(1)).unwrap()),
    ///     ManualClock::new(),
    ///     || async { Ok::<(), ()>(()) },
    ///     |()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// ));
    /// assert!(!sampler.is_connected());
    /// sampler.next().now_or_never();
    /// assert!(sampler.is_connected());
    /// ```
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// When the next connect may be tried, after failed connects: `None`
    /// when it may be tried at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Backoff, Outcome, Period, Sampler, Schedule};
    /// use confluo::time::ManualClock;
    /// use futures::{FutureExt, StreamExt};
    /// use std::time::Duration;
    ///
    /// let s = Duration::from_secs;
    /// let sampler = Sampler::new(
    ///     Schedule::every(Period::new(s(1)).unwrap()),
    ///     ManualClock::new(),
    ///     || async { Err::<(), _>("refused") },
    ///     |()| async { (Some(()), Ok::<u8, _>(1)) },
    /// )
    /// .backoff(Backoff { first: s(5), jitter: 0, ..Backoff::default() });
    /// let mut sampler = Box::pin(sampler);
    /// let sample = sampler.next().now_or_never().flatten().unwrap();
    /// assert_eq!(sample.outcome, Outcome::ConnectFailed("refused"));
    /// assert_eq!(sampler.retry_at(), Some(s(5)));
    /// ```
    pub fn retry_at(&self) -> Option<Duration> {
        self.retry.attempts.at()
    }

    /// The schedule, as it stands: [`due`](Schedule::due) is when the
    /// next slot is due.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Sampler, Schedule};
    /// use confluo::time::ManualClock;
    /// use std::time::Duration;
    ///
    /// let sampler = Sampler::new(
    ///     Schedule::every(Period::new(Duration::from_secs(1)).unwrap()).phase(Duration::from_millis(300)),
    ///     ManualClock::new(),
    ///     || async { Ok::<(), ()>(()) },
    ///     |()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// );
    /// assert_eq!(sampler.schedule().due(), Some(Duration::from_millis(300)));
    /// ```
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::sample::{Period, Sampler, Schedule};
    /// use confluo::time::{Clock, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let sampler = Sampler::new(
    ///     Schedule::every(Period::new(Duration::from_secs(1)).unwrap()),
    ///     &clock,
    ///     || async { Ok::<(), ()>(()) },
    ///     |()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// );
    /// clock.advance(Duration::from_secs(3));
    /// assert_eq!(sampler.clock().now(), Duration::from_secs(3));
    /// ```
    pub fn clock(&self) -> &C {
        &self.clock
    }
}

impl<C: Clock, Conn, Connect, ConnectFut, Read, ReadFut> FusedStream
    for Sampler<C, Conn, Connect, ConnectFut, Read, ReadFut>
where
    Self: Stream,
{
    /// Once the sampler [gave up](Sampler::give_up_after); never
    /// otherwise.
    fn is_terminated(&self) -> bool {
        self.retry.gave_up()
    }
}

impl<C: Clock, Conn, Connect, ConnectFut, Read, ReadFut> fmt::Debug
    for Sampler<C, Conn, Connect, ConnectFut, Read, ReadFut>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sampler")
            .field("schedule", &self.schedule)
            .field("timeout", &self.sample_timeout())
            .field("backoff", &self.retry.backoff)
            .field("health", &self.health)
            .field("connected", &self.conn.is_some())
            .field("connecting", &self.connecting.is_some())
            .field("reading", &self.reading.is_some())
            .field("retry_at", &self.retry.attempts.at())
            .finish_non_exhaustive()
    }
}
