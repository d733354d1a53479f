//! A connection to Redis that comes back, and the names of the sides of a
//! run. A connection that comes back: on a dropped connection, a
//! refused connect or a server still loading its data after a restart, a
//! call is retried on a new connection, with backoff, for as long as the
//! run's `reconnect_for` allows, and then fails with a clear error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::{Client, Connection, RedisError, RedisResult};

use crate::{Error, Run};

/// The server side of the crate, loaded (again) on every connect: after a
/// restart it is back from the append-only file, and loading it again is
/// cheap.
const LIBRARY: &str = include_str!("library.lua");

/// The first wait between attempts; it doubles up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

pub(crate) struct Link {
    addr: String,
    client: Client,
    connection: Option<Connection>,
    reconnect_for: Duration,
    io_timeout: Duration,
    /// Connections made after the first.
    pub(crate) reconnects: u64,
}

impl Link {
    /// Connects to `addr` (a `redis://` URL), trying for as long as the
    /// run allows.
    pub(crate) fn open(addr: &str, run: &Run) -> Result<Link, Error> {
        let client = Client::open(addr).map_err(Error::Redis)?;
        let mut link = Link {
            addr: addr.to_owned(),
            client,
            connection: None,
            reconnect_for: run.reconnect_for,
            io_timeout: run.io_timeout,
            reconnects: 0,
        };
        link.call(|_| Ok(()))?;
        link.reconnects = 0;
        Ok(link)
    }

    /// Runs `f` on a live connection; retries it on a new one when the
    /// connection failed. `f` may so run more than once: what it does must
    /// be safe to repeat (the crate's functions are written so).
    pub(crate) fn call<R>(
        &mut self,
        mut f: impl FnMut(&mut Connection) -> RedisResult<R>,
    ) -> Result<R, Error> {
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let outcome = match self.connected() {
                Ok(connection) => f(connection),
                Err(err) => Err(err),
            };
            match outcome {
                Ok(value) => return Ok(value),
                Err(err) if is_transient(&err) => {
                    self.connection = None;
                    let tried_for = started.elapsed();
                    if tried_for >= self.reconnect_for {
                        return Err(Error::Unreachable {
                            addr: self.addr.clone(),
                            tried_for,
                            last: err,
                        });
                    }
                    thread::sleep(backoff.min(self.reconnect_for - tried_for));
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// Runs `f` once, on the connection there is or a new one: for a drop,
    /// which must not wait for a Redis that is down.
    pub(crate) fn call_once<R>(
        &mut self,
        f: impl FnOnce(&mut Connection) -> RedisResult<R>,
    ) -> RedisResult<R> {
        f(self.connected()?)
    }

    fn connected(&mut self) -> RedisResult<&mut Connection> {
        if self.connection.is_none() {
            let timeout = self
                .io_timeout
                .min(self.reconnect_for.max(Duration::from_millis(1)));
            let mut connection = self.client.get_connection_with_timeout(timeout)?;
            connection.set_read_timeout(Some(self.io_timeout))?;
            connection.set_write_timeout(Some(self.io_timeout))?;
            redis::cmd("FUNCTION")
                .arg("LOAD")
                .arg("REPLACE")
                .arg(LIBRARY)
                .exec(&mut connection)?;
            self.reconnects = self.reconnects.saturating_add(1);
            self.connection = Some(connection);
        }
        Ok(self.connection.as_mut().expect("connected above"))
    }
}

/// Failures that a new connection may cure.
fn is_transient(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
        || err.is_unrecoverable_error()
        || err.code() == Some("LOADING")
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("addr", &self.addr)
            .field("connected", &self.connection.is_some())
            .field("reconnects", &self.reconnects)
            .finish()
    }
}

/// Opens the run in Redis: its settings (checked against those there) and
/// each partition's consumer group.
pub(crate) fn open_run(link: &mut Link, run: &Run) -> Result<(), Error> {
    let mut cmd = redis::cmd("FCALL");
    cmd.arg("confluo_open")
        .arg(1 + run.partitions)
        .arg(run.key("meta"))
        .arg(run.partition_keys().collect::<Vec<_>>())
        .arg(Run::GROUP)
        .arg(run.partitions)
        .arg(run.capacity)
        .arg(run.producers);
    link.call(|con| cmd.exec(con))
}

/// A name for a consumer or a shard group member: the process id, the
/// time and a counter, unique among the sides of a run, also across
/// restarts of a process with the same id.
pub(crate) fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos:x}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
