//! The producing side: records into the run's partition streams, in
//! pipelined batches (one round trip per batch), waiting while the run is
//! full.

use std::hash::Hash;
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;

use crate::heartbeat::Heartbeat;
use crate::link::{open_run, Link};
use crate::partition::partition_of;
use crate::{Codec, Error, ProducerStats, Run};

/// Adds records to a [`Run`], from one producer slot.
///
/// A record goes to the partition of its key's hash, so records of one key
/// keep their order from this producer to the consumers. Records go in
/// batches of at most [`Run::batch`], each in one round trip; a batch that
/// does not fit the run's [capacity](Run::capacity) waits, and so does the
/// caller: a thread pumping a confluo bridge stops taking from it, the
/// bridge fills, and the async side stops polling its sources.
///
/// A batch is added whole or not at all, and exactly once: a batch retried
/// after a lost connection is recognised by its number and not added again.
///
/// The producer's lease is renewed by a thread of its own. Call
/// [`finish`](Producer::finish) when done: consumers end once every
/// producer of the run finished. A producer dropped without finishing (a
/// panic, a killed process) stops renewing its lease, and the run declares
/// it dead once the lease has expired.
///
/// # Examples
///
/// ```no_run
/// // no_run: needs a redis-server on 127.0.0.1:6379.
/// use confluo_redis::{codec_fn, Producer, Run};
///
/// let run = Run::new("readings").producers(1);
/// let codec = codec_fn(
///     |r: &(u32, f64), out: &mut Vec<u8>| out.extend_from_slice(format!("{} {}", r.0, r.1).as_bytes()),
///     |_| Err("this side only produces".to_string()),
/// );
/// let mut producer = Producer::open(&run, "redis://127.0.0.1:6379/", 0, codec, |r| r.0)?;
/// producer.send_all((0..1_000).map(|i| (i % 10, f64::from(i))))?;
/// let stats = producer.finish()?;
/// assert_eq!(stats.produced, 1_000);
/// # Ok::<(), confluo_redis::Error>(())
/// ```
pub struct Producer<T, C> {
    run: Run,
    slot: u32,
    link: Link,
    codec: C,
    partition: Box<dyn Fn(&T) -> u32 + Send>,
    /// The number of the last batch added.
    seq: u64,
    heartbeat: Heartbeat,
    stats: ProducerStats,
    /// The records a round trip carries at most.
    chunk: usize,
}

impl<T, C: Codec<T>> Producer<T, C> {
    /// Joins `run`, at the Redis of `addr` (a `redis://` URL), as the
    /// producer of `slot` (in `0..run.get_producers()`); `key` gives a
    /// record's key, whose hash picks its partition.
    ///
    /// A producer may join a slot again after its process restarted, as
    /// long as the run has not declared the slot dead: it goes on with the
    /// batch numbers where the slot left them.
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] if Redis cannot be reached within
    /// [`Run::reconnect_for`]; [`Error::Mismatch`] if the run was opened
    /// with other settings; [`Error::Slot`] if `slot` is out of range,
    /// finished, dead, or held by a live producer.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// use confluo_redis::{Bytes, Producer, Run};
    ///
    /// let run = Run::new("blobs");
    /// let producer = Producer::open(&run, "redis://127.0.0.1:6379/", 0, Bytes, |b: &Vec<u8>| b.len())?;
    /// producer.finish()?;
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn open<K, F>(run: &Run, addr: &str, slot: u32, codec: C, key: F) -> Result<Self, Error>
    where
        K: Hash,
        F: Fn(&T) -> K + Send + 'static,
    {
        if slot >= run.producers {
            return Err(Error::Slot(format!(
                "producer slot {slot} is out of range: the run has {} producers",
                run.producers
            )));
        }
        let mut link = Link::open(addr, run)?;
        open_run(&mut link, run)?;
        let mut join = run.slot_call("confluo_join", slot);
        join.arg(run.lease.as_millis() as u64);
        let seq: u64 = link.call(|con| join.query(con))?;
        let partitions = run.partitions;
        Ok(Producer {
            heartbeat: Heartbeat::start(run, addr, slot),
            chunk: run
                .batch
                .min(usize::try_from(run.capacity).unwrap_or(usize::MAX)),
            run: run.clone(),
            slot,
            link,
            codec,
            partition: Box::new(move |record| partition_of(&key(record), partitions)),
            seq,
            stats: ProducerStats::default(),
        })
    }

    /// Adds `records`, in batches of at most [`Run::batch`] records, one
    /// round trip each, in order; waits while the run is full.
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] if Redis stayed out of reach for
    /// [`Run::reconnect_for`]; [`Error::Expired`] if the run declared this
    /// producer dead. The batches before the failing one were added;
    /// the failing one may have been.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// use confluo_redis::{Bytes, Producer, Run};
    ///
    /// let run = Run::new("blobs");
    /// let mut producer = Producer::open(&run, "redis://127.0.0.1:6379/", 0, Bytes, |b: &Vec<u8>| b[0])?;
    /// producer.send_batch(&[vec![1], vec![2], vec![1, 1]])?;
    /// producer.finish()?;
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn send_batch(&mut self, records: &[T]) -> Result<(), Error> {
        for chunk in records.chunks(self.chunk) {
            self.add(chunk)?;
        }
        Ok(())
    }

    /// Adds every record of `records`, in batches of [`Run::batch`];
    /// returns how many it added.
    ///
    /// # Errors
    ///
    /// As [`send_batch`](Producer::send_batch).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// use confluo_redis::{Bytes, Producer, Run};
    ///
    /// let run = Run::new("blobs");
    /// let mut producer = Producer::open(&run, "redis://127.0.0.1:6379/", 0, Bytes, |b: &Vec<u8>| b[0])?;
    /// assert_eq!(producer.send_all((0..100u8).map(|i| vec![i]))?, 100);
    /// producer.finish()?;
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn send_all<I: IntoIterator<Item = T>>(&mut self, records: I) -> Result<u64, Error> {
        let mut batch = Vec::with_capacity(self.chunk);
        let mut sent = 0;
        for record in records {
            batch.push(record);
            if batch.len() == self.chunk {
                self.add(&batch)?;
                sent += batch.len() as u64;
                batch.clear();
            }
        }
        if !batch.is_empty() {
            self.add(&batch)?;
            sent += batch.len() as u64;
        }
        Ok(sent)
    }

    /// Adds the records of a confluo bridge until it ends; returns how many
    /// it added. Blocks for the first record of each batch, then takes what
    /// the bridge holds, up to [`Run::batch`]: a batch is as large as the
    /// backlog, and a record never waits for others to fill its batch.
    ///
    /// While the run is full, this waits and takes nothing from the bridge:
    /// the bridge's producers wait in turn.
    ///
    /// # Errors
    ///
    /// As [`send_batch`](Producer::send_batch); the records of the batch
    /// in hand are lost to the bridge then.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// use confluo_redis::{codec_fn, Producer, Run};
    /// use std::num::NonZeroUsize;
    ///
    /// let (tx, mut rx) = confluo::bridge::<u64>(NonZeroUsize::new(256).unwrap());
    /// std::thread::spawn(move || {
    ///     smol::block_on(tx.pump(futures::stream::iter(0..10_000)));
    /// });
    /// let codec = codec_fn(
    ///     |n: &u64, out: &mut Vec<u8>| out.extend_from_slice(&n.to_le_bytes()),
    ///     |b: &[u8]| Ok(u64::from_le_bytes(b.try_into().map_err(|_| "not 8 bytes")?)),
    /// );
    /// let run = Run::new("numbers");
    /// let mut producer = Producer::open(&run, "redis://127.0.0.1:6379/", 0, codec, |n| n % 16)?;
    /// assert_eq!(producer.pump(&mut rx)?, 10_000);
    /// producer.finish()?;
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn pump(&mut self, from: &mut confluo::Consumer<T>) -> Result<u64, Error> {
        let mut batch = Vec::with_capacity(self.chunk);
        let mut sent = 0;
        while let Some(first) = from.recv_blocking() {
            batch.push(first);
            while batch.len() < self.chunk {
                match from.try_recv() {
                    Ok(record) => batch.push(record),
                    Err(_) => break,
                }
            }
            self.add(&batch)?;
            sent += batch.len() as u64;
            batch.clear();
        }
        Ok(sent)
    }

    /// Marks this producer finished: consumers end once every producer of
    /// the run has finished (or died) and every record is acknowledged.
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] if Redis stayed out of reach;
    /// [`Error::Expired`] if the run declared this producer dead before it
    /// finished.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// use confluo_redis::{Bytes, Producer, Run};
    ///
    /// let run = Run::new("blobs");
    /// let producer = Producer::open(&run, "redis://127.0.0.1:6379/", 0, Bytes, |b: &Vec<u8>| b.len())?;
    /// let stats = producer.finish()?;
    /// println!("waited {:?} for room", stats.waited);
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn finish(mut self) -> Result<ProducerStats, Error> {
        let finish = self.run.slot_call("confluo_finish", self.slot);
        let state: String = self.link.call(|con| finish.query(con))?;
        if state != "finished" {
            return Err(Error::Expired { slot: self.slot });
        }
        Ok(self.stats())
    }

    /// What this producer did so far.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// use confluo_redis::{Bytes, Producer, Run};
    ///
    /// let run = Run::new("blobs");
    /// let mut producer = Producer::open(&run, "redis://127.0.0.1:6379/", 0, Bytes, |b: &Vec<u8>| b.len())?;
    /// producer.send_all([vec![1]])?;
    /// assert_eq!(producer.stats().produced, 1);
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn stats(&self) -> ProducerStats {
        ProducerStats {
            reconnects: self.link.reconnects,
            ..self.stats
        }
    }

    /// This producer's slot.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// use confluo_redis::{Bytes, Producer, Run};
    ///
    /// let run = Run::new("blobs").producers(2);
    /// let producer = Producer::open(&run, "redis://127.0.0.1:6379/", 1, Bytes, |b: &Vec<u8>| b.len())?;
    /// assert_eq!(producer.slot(), 1);
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn slot(&self) -> u32 {
        self.slot
    }

    /// Adds one batch that fits the capacity, waiting for room.
    fn add(&mut self, records: &[T]) -> Result<(), Error> {
        if self.heartbeat.expired() {
            return Err(Error::Expired { slot: self.slot });
        }
        self.seq += 1;
        let mut bytes = Vec::new();
        let mut batch = Vec::with_capacity(records.len());
        for record in records {
            bytes.clear();
            self.codec.encode(record, &mut bytes);
            batch.push(((self.partition)(record), bytes.clone()));
        }
        let mut waited = Duration::ZERO;
        loop {
            let mut add = redis::cmd("FCALL");
            add.arg("confluo_add")
                .arg(3 + self.run.partitions)
                .arg(self.run.key("depth"))
                .arg(self.run.key("producers"))
                .arg(self.run.key("stats"))
                .arg(self.run.partition_keys().collect::<Vec<_>>())
                .arg(self.slot)
                .arg(self.seq)
                .arg(self.run.capacity)
                .arg(waited.as_millis() as u64);
            for (partition, bytes) in &batch {
                add.arg(*partition).arg(&bytes[..]);
            }
            let reply: Vec<Value> = self.link.call(|con| add.query(con))?;
            match reply.first() {
                Some(Value::Int(1)) => break,
                Some(Value::Int(0)) => {
                    let since = Instant::now();
                    self.wait_for_room(records.len() as u64)?;
                    self.stats.full += 1;
                    waited += since.elapsed();
                }
                _ => return Err(Error::Expired { slot: self.slot }),
            }
        }
        self.stats.waited += waited;
        self.stats.produced += records.len() as u64;
        self.stats.batches += 1;
        Ok(())
    }

    /// Waits until the run has room for `records` more, looking at its
    /// depth (a small read, not the batch sent again) with a backoff that
    /// grows to the run's idle poll.
    fn wait_for_room(&mut self, records: u64) -> Result<(), Error> {
        let mut backoff = Duration::from_millis(1);
        let mut depth = redis::cmd("GET");
        depth.arg(self.run.key("depth"));
        loop {
            thread::sleep(backoff);
            backoff = (backoff * 2).min(self.run.idle_poll);
            let now: Option<u64> = self.link.call(|con| depth.query(con))?;
            if now.unwrap_or(0) + records <= self.run.capacity {
                return Ok(());
            }
        }
    }
}

impl<T, C> std::fmt::Debug for Producer<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("run", &self.run.name)
            .field("slot", &self.slot)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}
