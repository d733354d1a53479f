//! How a [`Fleet`] runs: its `poll_next`, one loop over "land what came
//! back → fire what is due → start what may fly → sleep until the next
//! tick".
//!
//! The state a fleet works on, all but its clock and sleep, is the
//! [`Crew`]; each of its steps does one unit of work and says whether it
//! has a sample to yield.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use futures_core::stream::Stream;

use super::flight::{Flight, Landed, Lane, Meta, Step};
use super::members::{Mark, Members, State};
use super::wheel::Wheel;
use super::Fleet;
use crate::sample::period::saturating_nanos;
use crate::sample::{Backoff, Outcome, Sample, Schedule, Tick};
use crate::time::Clock;
use crate::{Event, Gather, SourceId};

/// Units of work one poll does before it yields to the executor.
const BUDGET: usize = 1024;

/// Alarms whose records are read ahead together (see `Crew::read_ahead`).
const READ_AHEAD: usize = 16;

/// An alarm in the wheel: a slot due, or, for a source in flight, its
/// deadline.
#[derive(Clone, Copy, Debug)]
pub(super) struct Alarm(pub(super) Mark);

/// A source whose slot fired, waiting for a place in flight.
#[derive(Clone, Copy, Debug)]
pub(super) struct Waiting {
    mark: Mark,
    tick: Tick,
}

/// What a step of work came to.
enum Work<Item> {
    /// A sample to yield.
    Yield(Item),
    /// Something was done; there may be more.
    Did,
    /// A connect landed and its read was set in the flight: the read wants
    /// a poll (the `Gather` gives it one, the lane keeping its turn).
    Connected,
    /// Nothing is due before the wheel's next tick.
    Idle,
}

/// Everything a fleet works on but its clock and its sleep.
#[derive(Debug)]
pub(super) struct Crew<K, Conn, Connect, Read, ConnectFut, ReadFut> {
    pub(super) schedule: Schedule,
    pub(super) connect: Connect,
    pub(super) read: Read,
    pub(super) timeout: Option<Duration>,
    pub(super) backoff: Backoff,
    /// The state of the generator of the jitter, one for every source.
    pub(super) random: u64,
    pub(super) resolution: Duration,
    /// Samples in flight at most.
    pub(super) limit: usize,
    pub(super) members: Members<K, Conn>,
    pub(super) wheel: Wheel<Alarm>,
    pub(super) waiting: VecDeque<Waiting>,
    /// The lanes, each flying one sample or idle.
    pub(super) flights: Gather<Lane<ConnectFut, ReadFut>>,
    /// The idle lanes.
    pub(super) idle: Vec<SourceId>,
    /// Samples in flight.
    pub(super) flying: usize,
    /// How many of the alarms the wheel fires next have had their records
    /// read ahead and have not fired yet (see `read_ahead`).
    pub(super) read_ahead_left: usize,
}

impl<K, Conn, Connect, Read, ConnectFut, ReadFut>
    Crew<K, Conn, Connect, Read, ConnectFut, ReadFut>
{
    pub(super) fn timeout(&self) -> Duration {
        self.timeout.unwrap_or_else(|| self.schedule.period().get())
    }

    /// Ends the flight in lane `id` now, its connection with it, and
    /// returns its source's index, its slot, and whether it was still
    /// connecting; the lane goes idle.
    pub(super) fn ground(&mut self, id: SourceId) -> Option<(u32, Meta, bool)> {
        let done = self.flights.get_mut(id)?.clear()?;
        self.idle.push(id);
        self.flying -= 1;
        Some(done)
    }

    /// The resolution in nanoseconds, at least 1: a tick's length.
    fn tick_nanos(&self) -> u64 {
        saturating_nanos(self.resolution)
    }

    /// The wheel's tick under which `now` falls. In `u64` nanoseconds
    /// (584 years; beyond, the last tick), as divisions of `u128` cost
    /// several times more and come several times per sample.
    fn tick_at(&self, now: Duration) -> u64 {
        saturating_nanos(now) / self.tick_nanos()
    }

    /// When `tick` starts.
    fn time_of(&self, tick: u64) -> Duration {
        Duration::from_nanos(tick.saturating_mul(self.tick_nanos()))
    }

    /// Sets an alarm at the first tick at or after `at`, and returns that
    /// tick; none for `None` (a slot past `Duration::MAX`), nor for a time
    /// past the wheel's last tick: neither ever comes.
    pub(super) fn alarm(&mut self, at: Option<Duration>, alarm: Alarm) -> Option<u64> {
        let (at, tick) = (saturating_nanos(at?), self.tick_nanos());
        let tick = at / tick + u64::from(at % tick != 0);
        if at == u64::MAX || tick == u64::MAX {
            return None;
        }
        self.wheel.insert(tick, alarm);
        Some(tick)
    }
}

impl<K, Conn, Connect, Read, ConnectFut, ReadFut, T, E>
    Crew<K, Conn, Connect, Read, ConnectFut, ReadFut>
where
    K: Clone,
    Connect: FnMut(&K) -> ConnectFut,
    ConnectFut: Future<Output = Result<Conn, E>>,
    Read: FnMut(&K, Conn) -> ReadFut,
    ReadFut: Future<Output = (Option<Conn>, Result<T, E>)>,
{
    /// One unit of work, in the order: flights that landed, alarms due,
    /// sources waiting for a place in flight. Landings come first so that
    /// a fleet behind on its alarms still takes in the reads that came
    /// back, rather than cutting them at their deadlines.
    fn work(&mut self, now: Duration, cx: &mut Context<'_>) -> Work<(K, Sample<T, E>)> {
        match self.flights.poll_event(cx) {
            Poll::Ready(Some(Event::Item(id, (index, landed)))) => {
                return self.land(id, index, landed, now)
            }
            // Lanes never end.
            Poll::Ready(Some(Event::Ended(_))) => return Work::Did,
            Poll::Ready(None) | Poll::Pending => {}
        }
        if let Some((_, Alarm(mark))) = self.wheel.pop(self.tick_at(now)) {
            self.read_ahead();
            return self.fire(mark, now, cx);
        }
        if self.flying < self.limit {
            if let Some(waiting) = self.waiting.pop_front() {
                return self.start(waiting, now);
            }
        }
        Work::Idle
    }

    /// Once the alarms read ahead have fired, reads the records of the
    /// next [`READ_AHEAD`] at once: a million records do not fit in the
    /// cache, a record missed when its alarm fires stalls the fleet, and
    /// misses taken together overlap (a `perf` profile at 100,000 sources
    /// had a quarter of the fleet's time on that one load).
    fn read_ahead(&mut self) {
        self.read_ahead_left = self.read_ahead_left.saturating_sub(1);
        if self.read_ahead_left > 0 {
            return;
        }
        let mut epochs = 0;
        for Alarm(mark) in self.wheel.firing().take(READ_AHEAD) {
            epochs ^= self.members.touch(mark.index);
            self.read_ahead_left += 1;
        }
        core::hint::black_box(epochs);
    }

    /// An alarm went off: a slot is due, or a deadline passed.
    fn fire(&mut self, mark: Mark, now: Duration, cx: &mut Context<'_>) -> Work<(K, Sample<T, E>)> {
        let grid = self.schedule.grid;
        let Some(member) = self.members.marked(mark) else {
            return Work::Did; // stale
        };
        match member.state {
            State::Scheduled => {
                let Some(tick) = member.place.tick(&grid, now) else {
                    // Not due after all: the clock went back.
                    let due = member.place.due;
                    let mark = self.members.enter(mark.index, State::Scheduled);
                    self.alarm(due, Alarm(mark));
                    return Work::Did;
                };
                let key = (tick.skipped > 0).then(|| member.key.clone());
                let mark = self.members.enter(mark.index, State::Waiting);
                let waiting = Waiting { mark, tick };
                match key {
                    Some(key) => {
                        self.waiting.push_back(waiting);
                        Work::Yield((key, Sample::skipped(grid.period, tick, now)))
                    }
                    // With no one in line and a place free, it starts now,
                    // while its record is in the cache: a million records
                    // are not, and a start from the line would miss it.
                    None if self.waiting.is_empty() && self.flying < self.limit => {
                        self.start(waiting, now)
                    }
                    None => {
                        self.waiting.push_back(waiting);
                        Work::Did
                    }
                }
            }
            State::Flying(id) => self.deadline(id, now, cx),
            State::Waiting => Work::Did,
        }
    }

    /// A flight's deadline came. It is polled once more (a read done by
    /// its deadline wins, as with tokio's `timeout`, and a connect done by
    /// then hands its read a poll), then cut, its connection with it.
    fn deadline(
        &mut self,
        id: SourceId,
        now: Duration,
        cx: &mut Context<'_>,
    ) -> Work<(K, Sample<T, E>)> {
        for _ in 0..2 {
            // The flight, not the lane: the lane keeps the `Gather`'s waker.
            let Some(flight) = self.flights.get_mut(id).and_then(Lane::flight) else {
                return Work::Did;
            };
            match flight.poll_step(cx) {
                Poll::Ready((index, landed)) => match self.land(id, index, landed, now) {
                    Work::Connected => continue,
                    work => return work,
                },
                Poll::Pending => break,
            }
        }
        let Some((index, meta, connecting)) = self.ground(id) else {
            return Work::Did;
        };
        let Some(member) = self.members.at(index) else {
            return Work::Did;
        };
        if connecting {
            member.attempts.failed(now, &self.backoff, &mut self.random);
        } else {
            member.attempts.lost(now, &self.backoff, &mut self.random);
        }
        self.finish(index, meta, Outcome::TimedOut, now)
    }

    /// A waiting source takes a place in flight: its connect, or its read.
    fn start(&mut self, waiting: Waiting, now: Duration) -> Work<(K, Sample<T, E>)> {
        let timeout = self.timeout();
        let index = waiting.mark.index;
        let Some(member) = self.members.marked(waiting.mark) else {
            return Work::Did;
        };
        let tick = waiting.tick;
        let meta = Meta {
            seq: tick.seq,
            due: tick.due,
            late: now.saturating_sub(tick.due),
            started: now,
        };
        if member.conn.is_none() && member.attempts.waits(now) {
            return self.finish(index, meta, Outcome::Disconnected, now);
        }
        let mut deadline = now.saturating_add(timeout);
        if let Some(next) = member.place.due {
            if next > now {
                deadline = deadline.min(next);
            }
        }
        let step = match member.conn.take() {
            Some(conn) => Step::Reading {
                read: (self.read)(&member.key, conn),
            },
            None => Step::Connecting {
                connect: (self.connect)(&member.key),
            },
        };
        let flight = Flight { index, meta, step };
        let id = match self.idle.pop() {
            Some(id) => {
                if let Some(lane) = self.flights.get_mut(id) {
                    lane.set(flight);
                }
                id
            }
            None => self.flights.push(Lane::new(flight)),
        };
        self.flying += 1;
        let mark = self.members.enter(index, State::Flying(id));
        self.alarm(Some(deadline), Alarm(mark));
        self.take_off(id, now)
    }

    /// Polls the flight just set in lane `id`, as the `Gather` would once
    /// woken for it, but with no wake and no turn through its line; what
    /// lands is landed, and a connect that lands hands its read a poll.
    fn take_off(&mut self, id: SourceId, now: Duration) -> Work<(K, Sample<T, E>)> {
        for _ in 0..2 {
            let Some(lane) = self.flights.get_mut(id) else {
                break;
            };
            let Poll::Ready((index, landed)) = lane.poll_kept() else {
                break;
            };
            match self.land(id, index, landed, now) {
                Work::Connected => continue,
                work => return work,
            }
        }
        Work::Did
    }

    /// A flight's step came back.
    fn land(
        &mut self,
        id: SourceId,
        index: u32,
        landed: Landed<Conn, T, E>,
        now: Duration,
    ) -> Work<(K, Sample<T, E>)> {
        let Some(member) = self.members.at(index) else {
            return Work::Did;
        };
        let (backoff, random) = (&self.backoff, &mut self.random);
        let outcome = match landed {
            Landed::Connected(Ok(conn)) => {
                member.attempts.connected();
                let read = (self.read)(&member.key, conn);
                let flight = self.flights.get_mut(id).and_then(Lane::flight);
                if let Some(flight) = flight {
                    flight.project().step.set(Step::Reading { read });
                }
                return Work::Connected;
            }
            Landed::Connected(Err(error)) => {
                member.attempts.failed(now, backoff, random);
                Outcome::ConnectFailed(error)
            }
            Landed::Read(conn, result) => {
                if result.is_ok() {
                    member.attempts.reading();
                }
                if conn.is_none() {
                    member.attempts.lost(now, backoff, random);
                }
                member.conn = conn;
                match result {
                    Ok(value) => Outcome::Ok(value),
                    Err(error) => Outcome::Err(error),
                }
            }
        };
        let Some((_, meta, _)) = self.ground(id) else {
            return Work::Did;
        };
        self.finish(index, meta, outcome, now)
    }

    /// The sample of the slot in `meta` is done: it is yielded, and the
    /// source's next slot gets its alarm.
    fn finish(
        &mut self,
        index: u32,
        meta: Meta,
        outcome: Outcome<T, E>,
        now: Duration,
    ) -> Work<(K, Sample<T, E>)> {
        let sample = Sample {
            seq: meta.seq,
            due: meta.due,
            late: meta.late,
            took: now.saturating_sub(meta.started),
            outcome,
        };
        let mark = self.members.enter(index, State::Scheduled);
        let Some(member) = self.members.at(index) else {
            return Work::Did;
        };
        let (key, due) = (member.key.clone(), member.place.due);
        self.alarm(due, Alarm(mark));
        Work::Yield((key, sample))
    }
}

impl<K, C, Conn, Connect, ConnectFut, Read, ReadFut, T, E> Stream
    for Fleet<K, C, Conn, Connect, ConnectFut, Read, ReadFut>
where
    K: Clone,
    C: Clock,
    Connect: FnMut(&K) -> ConnectFut,
    ConnectFut: Future<Output = Result<Conn, E>>,
    Read: FnMut(&K, Conn) -> ReadFut,
    ReadFut: Future<Output = (Option<Conn>, Result<T, E>)>,
{
    type Item = (K, Sample<T, E>);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if !this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *this.waker = Some(cx.waker().clone());
        }
        let mut now = this.clock.now();
        for _ in 0..BUDGET {
            match this.crew.work(now, cx) {
                Work::Yield(item) => return Poll::Ready(Some(item)),
                Work::Did | Work::Connected => continue,
                Work::Idle => {}
            }
            // Nothing to do before the wheel's next tick: sleep until it.
            let Some(next) = this.crew.wheel.next_tick() else {
                this.sleep.set(None);
                *this.armed = None;
                return Poll::Pending;
            };
            if *this.armed != Some(next) || this.sleep.is_none() {
                let at = this.crew.time_of(next);
                this.sleep.set(Some(this.clock.sleep_until(at)));
                *this.armed = Some(next);
            }
            if let Some(sleep) = this.sleep.as_mut().as_pin_mut() {
                if sleep.poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
            this.sleep.set(None);
            *this.armed = None;
            now = this.clock.now();
        }
        // Work is left: let the executor run others first.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}
