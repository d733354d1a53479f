//! The run as Redis holds it: what every side of it did, in one look.

use std::time::Duration;

use redis::Value;

use crate::link::{open_run, Link};
use crate::{Error, Run};

/// Where a producer slot of the run stands.
///
/// # Examples
///
/// ```
/// use confluo_redis::ProducerState;
/// assert_ne!(ProducerState::Finished, ProducerState::Dead);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProducerState {
    /// No producer joined this slot yet.
    Waiting,
    /// A producer holds the slot and its lease is live.
    Running,
    /// Its producer finished: it added everything it had.
    Finished,
    /// Its lease expired before it finished, or it never joined in time:
    /// what it added is delivered, it may add nothing more.
    Dead,
}

/// The run's counters, as Redis holds them for all its sides.
///
/// # Examples
///
/// ```no_run
/// // no_run: needs a redis-server on 127.0.0.1:6379.
/// let status = confluo_redis::Run::new("jobs").status("redis://127.0.0.1:6379/")?;
/// println!("lag {} pending {}", status.lag(), status.pending);
/// # Ok::<(), confluo_redis::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunStatus {
    /// Records added and not yet acknowledged: what the capacity bounds.
    pub depth: u64,
    /// Records a consumer took and has not acknowledged yet.
    pub pending: u64,
    /// Records the producers added.
    pub produced: u64,
    /// Records acknowledged.
    pub acknowledged: u64,
    /// Records delivered again: claimed from a consumer taken for dead, or
    /// read again after a lost reply.
    pub redelivered: u64,
    /// Records moved to the dead-letter stream.
    pub dead_lettered: u64,
    /// The time producers waited for room, all together, counted when a
    /// batch that waited was added.
    pub waited: Duration,
    /// Each producer slot's state, by slot.
    pub producers: Vec<ProducerState>,
}

impl RunStatus {
    /// Consumer lag: records waiting in Redis that no consumer took yet.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let status = confluo_redis::Run::new("jobs").status("redis://127.0.0.1:6379/")?;
    /// assert!(status.lag() <= status.depth);
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn lag(&self) -> u64 {
        self.depth.saturating_sub(self.pending)
    }

    /// Whether the run is over: every producer finished or is dead, and
    /// every record it added was acknowledged.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let status = confluo_redis::Run::new("jobs").status("redis://127.0.0.1:6379/")?;
    /// if status.is_over() {
    ///     println!("every record was worked on");
    /// }
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn is_over(&self) -> bool {
        self.depth == 0
            && self
                .producers
                .iter()
                .all(|state| matches!(state, ProducerState::Finished | ProducerState::Dead))
    }
}

impl Run {
    /// The run's status, from the Redis at `addr` (a `redis://` URL). Opens
    /// the run if it is not open yet. Looking declares dead the producers
    /// whose lease expired.
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] when Redis cannot be reached within
    /// [`reconnect_for`](Run::reconnect_for); [`Error::Mismatch`] when the
    /// run was opened with other settings.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let status = confluo_redis::Run::new("jobs").status("redis://127.0.0.1:6379/")?;
    /// println!("{} produced, {} acknowledged", status.produced, status.acknowledged);
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn status(&self, addr: &str) -> Result<RunStatus, Error> {
        let mut link = Link::open(addr, self)?;
        open_run(&mut link, self)?;
        status_on(&mut link, self)
    }
}

/// The run's status through an open link.
pub(crate) fn status_on(link: &mut Link, run: &Run) -> Result<RunStatus, Error> {
    let mut cmd = redis::cmd("FCALL");
    cmd.arg("confluo_status")
        .arg(4 + run.partitions)
        .arg(run.key("meta"))
        .arg(run.key("depth"))
        .arg(run.key("producers"))
        .arg(run.key("stats"))
        .arg(run.partition_keys().collect::<Vec<_>>())
        .arg(Run::GROUP)
        .arg(run.join_within.as_millis() as u64);
    let reply: Vec<Value> = link.call(|con| cmd.query(con))?;
    let number = |i: usize| match reply.get(i) {
        Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    let producers = reply
        .iter()
        .skip(7)
        .map(|state| match state {
            Value::BulkString(s) if s == b"running" => ProducerState::Running,
            Value::BulkString(s) if s == b"finished" => ProducerState::Finished,
            Value::BulkString(s) if s == b"dead" => ProducerState::Dead,
            _ => ProducerState::Waiting,
        })
        .collect();
    Ok(RunStatus {
        depth: number(0),
        pending: number(1),
        produced: number(2),
        acknowledged: number(3),
        redelivered: number(4),
        dead_lettered: number(5),
        waited: Duration::from_millis(number(6)),
        producers,
    })
}
