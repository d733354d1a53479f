//! The consuming side: a blocking iterator over the run's consumer group,
//! at least once.

use std::collections::VecDeque;
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;

use crate::link::{open_run, unique_name, Link};
use crate::status::{status_on, ProducerState};
use crate::{Codec, ConsumerStats, Delivery, Error, Run, RunEnd};

/// A record that could not be decoded, on its way to the dead letters.
struct DeadLetter {
    partition: u32,
    id: String,
    reason: String,
    data: Vec<u8>,
}

/// Takes records from a [`Run`]'s consumer group, one at a time, as a
/// blocking [`Iterator`] of [`Delivery`]s.
///
/// A record is acknowledged once the worker asks for the next one (in the
/// round trip that fetches the next read, so acknowledging costs no round
/// trip of its own): a worker that dies mid-record leaves it, and the rest
/// of its read, pending, and a live consumer claims them once they have
/// been idle for [`Run::claim_after`]. A live consumer keeps its read from
/// others as its worker asks for records, so a long read is not taken
/// from it. Records come at least once; [`Delivery::redelivered`] flags
/// those that came before.
///
/// Records of one partition (and so of one key) are worked on by one
/// consumer at a time, in the order they were added: a consumer reads a
/// partition only while no other consumer holds records of it.
///
/// The iterator ends (`None`) once every producer of the run has finished
/// or been declared dead and every record is acknowledged; then
/// [`end`](Consumer::end) says which producers died. It yields an error
/// once, and then ends, if Redis stayed out of reach for
/// [`Run::reconnect_for`].
///
/// A record that the codec cannot decode is moved to the dead-letter
/// stream ([`Run::dead_letter_key`]) with the reason, and skipped.
///
/// Dropped mid-run, a consumer acknowledges what its worker finished and
/// gives the rest of its read (the record in hand too) back for others to
/// claim at once.
///
/// # Examples
///
/// ```no_run
/// // no_run: needs a redis-server on 127.0.0.1:6379.
/// use confluo_redis::{Bytes, Consumer, Run};
///
/// let run = Run::new("blobs");
/// let mut bytes = 0;
/// for delivery in Consumer::open(&run, "redis://127.0.0.1:6379/", Bytes)? {
///     bytes += delivery?.len();
/// }
/// println!("{bytes} bytes");
/// # Ok::<(), confluo_redis::Error>(())
/// ```
pub struct Consumer<T, C> {
    run: Run,
    link: Link,
    codec: C,
    name: String,
    /// Read and not yet handed out.
    in_hand: VecDeque<Delivery<T>>,
    /// The record the worker has now.
    current: Option<(u32, String)>,
    /// Finished, to acknowledge in the next round trip.
    done: Vec<(u32, String)>,
    dead: Vec<DeadLetter>,
    /// The partition the next read starts from: reads go round.
    start: u32,
    /// When the records in hand were read, or last kept from others.
    read_at: Instant,
    stats: ConsumerStats,
    end: Option<RunEnd>,
    over: bool,
}

impl<T, C: Codec<T>> Consumer<T, C> {
    /// Joins `run`'s consumer group at the Redis of `addr` (a `redis://`
    /// URL), under a name of its own.
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] if Redis cannot be reached within
    /// [`Run::reconnect_for`]; [`Error::Mismatch`] if the run was opened
    /// with other settings.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let run = confluo_redis::Run::new("blobs");
    /// let consumer = confluo_redis::Consumer::open(&run, "redis://127.0.0.1:6379/", confluo_redis::Bytes)?;
    /// println!("consuming as {}", consumer.name());
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn open(run: &Run, addr: &str, codec: C) -> Result<Self, Error> {
        let mut link = Link::open(addr, run)?;
        open_run(&mut link, run)?;
        Ok(Consumer {
            run: run.clone(),
            link,
            codec,
            name: unique_name(),
            in_hand: VecDeque::new(),
            current: None,
            done: Vec::new(),
            dead: Vec::new(),
            start: 0,
            read_at: Instant::now(),
            stats: ConsumerStats::default(),
            end: None,
            over: false,
        })
    }

    /// This consumer's name in the group: the process id and a number,
    /// unique among the consumers of a run.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let run = confluo_redis::Run::new("blobs");
    /// let consumer = confluo_redis::Consumer::open(&run, "redis://127.0.0.1:6379/", confluo_redis::Bytes)?;
    /// assert!(consumer.name().starts_with(&std::process::id().to_string()));
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What this consumer did so far.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let run = confluo_redis::Run::new("blobs");
    /// let mut consumer = confluo_redis::Consumer::open(&run, "redis://127.0.0.1:6379/", confluo_redis::Bytes)?;
    /// let n = consumer.by_ref().count();
    /// assert_eq!(consumer.stats().delivered, n as u64);
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn stats(&self) -> ConsumerStats {
        ConsumerStats {
            reconnects: self.link.reconnects,
            ..self.stats
        }
    }

    /// How the run ended, once the iterator has ended because it did.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let run = confluo_redis::Run::new("blobs");
    /// let mut consumer = confluo_redis::Consumer::open(&run, "redis://127.0.0.1:6379/", confluo_redis::Bytes)?;
    /// assert!(consumer.end().is_none());
    /// consumer.by_ref().for_each(drop);
    /// println!("{:?}", consumer.end());
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn end(&self) -> Option<&RunEnd> {
        self.end.as_ref()
    }

    /// One round trip: dead letters and acknowledgements out, the next
    /// read in. `false` when there was nothing to read.
    fn fetch(&mut self) -> Result<bool, Error> {
        let run = &self.run;
        let mut pipe = redis::pipe();
        for letter in &self.dead {
            pipe.cmd("FCALL")
                .arg("confluo_dead_letter")
                .arg(2)
                .arg(run.dead_letter_key())
                .arg(run.key("stats"))
                .arg(run.dead_letters)
                .arg(letter.partition)
                .arg(&letter.id)
                .arg(&letter.reason)
                .arg(&letter.data[..]);
        }
        ack_in(&mut pipe, run, &mut self.done);
        pipe.cmd("FCALL")
            .arg("confluo_read")
            .arg(1 + run.partitions)
            .arg(run.key("stats"))
            .arg(run.partition_keys().collect::<Vec<_>>())
            .arg(Run::GROUP)
            .arg(&self.name)
            .arg(run.read_count)
            .arg(run.claim_after.as_millis() as u64)
            .arg(self.start);
        let mut replies: Vec<Value> = self.link.call(|con| pipe.query(con))?;
        self.read_at = Instant::now();
        let read = replies.pop().unwrap_or(Value::Nil);
        if !self.done.is_empty() {
            if let Some(Value::Int(acked)) = replies.pop() {
                self.stats.acknowledged += u64::try_from(acked).unwrap_or(0);
            }
        }
        self.stats.dead_lettered += self.dead.len() as u64;
        self.done.clear();
        self.dead.clear();
        let Value::Array(mut read) = read else {
            return Ok(false);
        };
        let entries = read.pop();
        let redelivered = matches!(read.get(1), Some(Value::Int(1)));
        let partition = match read.first() {
            Some(Value::Int(p)) => *p as u32,
            _ => 0,
        };
        self.start = (partition + 1) % run.partitions;
        let Some(Value::Array(entries)) = entries else {
            return Ok(false);
        };
        for entry in entries {
            let Some((id, data)) = id_and_data(entry) else {
                continue;
            };
            let Some(data) = data else {
                // Pending, but deleted from the stream: nothing to deliver,
                // and acknowledging it lets the run end.
                self.done.push((partition, id));
                continue;
            };
            match self.codec.decode(&data) {
                Ok(record) => self.in_hand.push_back(Delivery {
                    record,
                    partition,
                    id,
                    redelivered,
                }),
                Err(reason) => {
                    self.done.push((partition, id.clone()));
                    self.dead.push(DeadLetter {
                        partition,
                        id,
                        reason,
                        data,
                    });
                }
            }
        }
        Ok(true)
    }

    /// Acknowledges what the worker finished and resets the idle time of
    /// the records still in hand, so that no other consumer claims them
    /// while this one works through a long read: one round trip.
    fn keep(&mut self) -> Result<(), Error> {
        let run = &self.run;
        let mut pipe = redis::pipe();
        let acking = !self.done.is_empty();
        ack_in(&mut pipe, run, &mut self.done);
        let mut in_hand: Vec<(u32, &str)> = self
            .in_hand
            .iter()
            .map(|d| (d.partition, d.id.as_str()))
            .collect();
        in_hand.sort();
        for group in in_hand.chunk_by(|a, b| a.0 == b.0) {
            // Claimed by this consumer again, at once: only its idle time
            // changes (JUSTID: not counted as a delivery).
            let claim = pipe
                .cmd("XCLAIM")
                .arg(run.partition_key(group[0].0))
                .arg(Run::GROUP)
                .arg(&self.name)
                .arg(0);
            for (_, id) in group {
                claim.arg(*id);
            }
            claim.arg("JUSTID").ignore();
        }
        let replies: Vec<Value> = self.link.call(|con| pipe.query(con))?;
        if acking {
            if let Some(Value::Int(acked)) = replies.first() {
                self.stats.acknowledged += u64::try_from(*acked).unwrap_or(0);
            }
        }
        self.done.clear();
        self.read_at = Instant::now();
        Ok(())
    }

    /// The run's end, if it is over.
    fn look_for_end(&mut self) -> Result<Option<RunEnd>, Error> {
        let status = status_on(&mut self.link, &self.run)?;
        if !status.is_over() {
            return Ok(None);
        }
        let slots = |wanted: ProducerState| {
            (0u32..)
                .zip(&status.producers)
                .filter(|(_, state)| **state == wanted)
                .map(|(slot, _)| slot)
                .collect()
        };
        Ok(Some(RunEnd {
            finished: slots(ProducerState::Finished),
            died: slots(ProducerState::Dead),
        }))
    }
}

impl<T, C: Codec<T>> Iterator for Consumer<T, C> {
    type Item = Result<Delivery<T>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.over {
            return None;
        }
        if let Some(finished) = self.current.take() {
            self.done.push(finished);
        }
        if !self.in_hand.is_empty() && self.read_at.elapsed() >= self.run.claim_after / 3 {
            if let Err(err) = self.keep() {
                self.over = true;
                return Some(Err(err));
            }
        }
        let mut idle = Duration::from_millis(1);
        loop {
            if let Some(delivery) = self.in_hand.pop_front() {
                self.stats.delivered += 1;
                self.stats.redelivered += u64::from(delivery.redelivered);
                self.current = Some((delivery.partition, delivery.id.clone()));
                return Some(Ok(delivery));
            }
            let outcome = match self.fetch() {
                Ok(true) => continue,
                Ok(false) => self.look_for_end(),
                Err(err) => Err(err),
            };
            match outcome {
                Ok(Some(end)) => {
                    self.end = Some(end);
                    self.over = true;
                    return None;
                }
                Ok(None) => {
                    thread::sleep(idle);
                    idle = (idle * 2).min(self.run.idle_poll);
                }
                Err(err) => {
                    self.over = true;
                    return Some(Err(err));
                }
            }
        }
    }
}

impl<T, C> Drop for Consumer<T, C> {
    /// Acknowledges what the worker finished and gives back the rest, in
    /// one attempt: a drop does not wait for a Redis that is down (what it
    /// could not say is claimed by others after `claim_after`).
    fn drop(&mut self) {
        let run = &self.run;
        let give_back = self
            .current
            .iter()
            .cloned()
            .chain(self.in_hand.iter().map(|d| (d.partition, d.id.clone())));
        let mut pipe = redis::pipe();
        for (partition, id) in give_back {
            // Idle for a year: the next read of any other consumer claims
            // it. (An idle time longer than the server's clock reads as 0.)
            pipe.cmd("XCLAIM")
                .arg(run.partition_key(partition))
                .arg(Run::GROUP)
                .arg(&self.name)
                .arg(0)
                .arg(id)
                .arg("IDLE")
                .arg(365 * 24 * 3_600_000u64)
                .arg("JUSTID")
                .ignore();
        }
        ack_in(&mut pipe, run, &mut self.done);
        let _ = self.link.call_once(|con| pipe.exec(con));
    }
}

impl<T, C> std::fmt::Debug for Consumer<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("run", &self.run.name)
            .field("name", &self.name)
            .field("in_hand", &self.in_hand.len())
            .field("stats", &self.stats)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

/// Adds to `pipe` the acknowledgement of the records in `done`, by
/// partition, if there are any.
fn ack_in(pipe: &mut redis::Pipeline, run: &Run, done: &mut [(u32, String)]) {
    if done.is_empty() {
        return;
    }
    done.sort();
    let ack = pipe
        .cmd("FCALL")
        .arg("confluo_ack")
        .arg(2 + run.partitions)
        .arg(run.key("depth"))
        .arg(run.key("stats"))
        .arg(run.partition_keys().collect::<Vec<_>>())
        .arg(Run::GROUP);
    for group in done.chunk_by(|a, b| a.0 == b.0) {
        ack.arg(group[0].0).arg(group.len());
        for (_, id) in group {
            ack.arg(id);
        }
    }
}

/// A stream entry's id and its record's bytes (field `d`; empty without
/// it, which the codec then refuses); `None` for the bytes of an entry
/// deleted from the stream while pending.
fn id_and_data(entry: Value) -> Option<(String, Option<Vec<u8>>)> {
    let Value::Array(mut parts) = entry else {
        return None;
    };
    let fields = parts.pop()?;
    let id = match parts.pop()? {
        Value::BulkString(id) => String::from_utf8(id).ok()?,
        _ => return None,
    };
    let Value::Array(fields) = fields else {
        return Some((id, None));
    };
    let mut fields = fields.into_iter();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        if let (Value::BulkString(name), Value::BulkString(value)) = (name, value) {
            if name == b"d" {
                return Some((id, Some(value)));
            }
        }
    }
    Some((id, Some(Vec::new())))
}
