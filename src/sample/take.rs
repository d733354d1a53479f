//! How a [`Sampler`] takes a sample: its `poll_next`, one state machine
//! of a slot, a connect, a read and a deadline.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use futures_core::stream::Stream;

use super::ticks::poll_tick;
use super::{Health, Outcome, Sample, Sampler, Tick};
use crate::time::Clock;

impl<C, Conn, Connect, ConnectFut, Read, ReadFut, T, E> Stream
    for Sampler<C, Conn, Connect, ConnectFut, Read, ReadFut>
where
    C: Clock,
    Connect: FnMut() -> ConnectFut,
    ConnectFut: Future<Output = Result<Conn, E>>,
    Read: FnMut(Conn) -> ReadFut,
    ReadFut: Future<Output = (Option<Conn>, Result<T, E>)>,
{
    type Item = Sample<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Sample<T, E>>> {
        let mut this = self.project();
        if this.retry.gave_up() {
            this.sleep.set(None);
            return Poll::Ready(None);
        }
        loop {
            if let Some(connect) = this.connecting.as_mut().as_pin_mut() {
                if let Poll::Ready(result) = connect.poll(cx) {
                    this.connecting.set(None);
                    match result {
                        Ok(conn) => {
                            this.retry.attempts.connected();
                            this.reading.set(Some((this.read)(conn)));
                        }
                        Err(error) => {
                            this.sleep.set(None);
                            let now = this.clock.now();
                            this.retry.failed(now);
                            let outcome = Outcome::ConnectFailed(error);
                            return finish(this.tick, this.health, *this.started, now, outcome);
                        }
                    }
                }
            }
            if let Some(read) = this.reading.as_mut().as_pin_mut() {
                if let Poll::Ready((conn, result)) = read.poll(cx) {
                    this.reading.set(None);
                    this.sleep.set(None);
                    let now = this.clock.now();
                    if result.is_ok() {
                        this.retry.attempts.reading();
                    }
                    if conn.is_none() {
                        this.retry.lost(now);
                    }
                    *this.conn = conn;
                    let outcome = match result {
                        Ok(value) => Outcome::Ok(value),
                        Err(error) => Outcome::Err(error),
                    };
                    return finish(this.tick, this.health, *this.started, now, outcome);
                }
            }
            if this.connecting.is_some() || this.reading.is_some() {
                // Pending: the deadline decides, after the poll, so a read
                // done by its deadline wins (as with tokio's `timeout`).
                let passed = match this.sleep.as_mut().as_pin_mut() {
                    Some(sleep) => sleep.poll(cx).is_ready(),
                    None => false,
                };
                if !passed {
                    return Poll::Pending;
                }
                this.sleep.set(None);
                let connecting = this.connecting.is_some();
                this.connecting.set(None);
                this.reading.set(None);
                let now = this.clock.now();
                if connecting {
                    this.retry.failed(now);
                } else {
                    this.retry.lost(now);
                }
                return finish(
                    this.tick,
                    this.health,
                    *this.started,
                    now,
                    Outcome::TimedOut,
                );
            }

            // Nothing in flight: start the sample of the slot at hand, or
            // wait for the next slot.
            if this.tick.is_none() {
                let (tick, now) = core::task::ready!(poll_tick(
                    this.schedule,
                    this.clock,
                    this.sleep.as_mut(),
                    cx
                ));
                *this.tick = Some(tick);
                if tick.skipped > 0 {
                    let sample = Sample::skipped(this.schedule.period(), tick, now);
                    this.health.record(&sample);
                    return Poll::Ready(Some(sample));
                }
            }
            let now = this.clock.now();
            *this.started = now;
            if this.conn.is_none() && this.retry.attempts.waits(now) {
                return finish(this.tick, this.health, now, now, Outcome::Disconnected);
            }
            let timeout = this.timeout.unwrap_or_else(|| this.schedule.period().get());
            let mut deadline = now.saturating_add(timeout);
            if let Some(next) = this.schedule.due() {
                if next > now {
                    deadline = deadline.min(next);
                }
            }
            this.sleep.set(Some(this.clock.sleep_until(deadline)));
            match this.conn.take() {
                Some(conn) => this.reading.set(Some((this.read)(conn))),
                None => this.connecting.set(Some((this.connect)())),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

/// The sample of the slot at hand, counted; the slot is done.
fn finish<T, E>(
    tick: &mut Option<Tick>,
    health: &mut Health,
    started: Duration,
    now: Duration,
    outcome: Outcome<T, E>,
) -> Poll<Option<Sample<T, E>>> {
    let (seq, due, late) = tick
        .take()
        .map_or((0, Duration::ZERO, Duration::ZERO), |t| {
            (t.seq, t.due, t.late)
        });
    let sample = Sample {
        seq,
        due,
        late,
        took: now.saturating_sub(started),
        outcome,
    };
    health.record(&sample);
    Poll::Ready(Some(sample))
}
