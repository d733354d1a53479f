//! A run: the settings every producer and consumer of one distributed
//! bridge share, and the names of its keys in Redis.

use std::time::Duration;

/// The settings of one distributed bridge, shared by all its producers and
/// consumers, in every process.
///
/// The first side to open the run writes its partitions, capacity and
/// number of producers into Redis; a side that opens it later with other
/// values gets [`Error::Mismatch`](crate::Error::Mismatch). The timing
/// settings are each side's own.
///
/// All keys of a run share the hash tag `{name}`, so they live on one
/// Redis node.
///
/// # Examples
///
/// ```
/// use confluo_redis::Run;
/// use std::time::Duration;
///
/// let run = Run::new("sensors")
///     .partitions(8)
///     .capacity(50_000)
///     .producers(2)
///     .claim_after(Duration::from_secs(10));
/// assert_eq!(run.name(), "sensors");
/// assert_eq!(run.get_capacity(), 50_000);
/// ```
#[derive(Debug, Clone)]
pub struct Run {
    pub(crate) name: String,
    pub(crate) partitions: u32,
    pub(crate) capacity: u64,
    pub(crate) producers: u32,
    pub(crate) batch: usize,
    pub(crate) read_count: usize,
    pub(crate) lease: Duration,
    pub(crate) claim_after: Duration,
    pub(crate) join_within: Duration,
    pub(crate) reconnect_for: Duration,
    pub(crate) io_timeout: Duration,
    pub(crate) idle_poll: Duration,
    pub(crate) dead_letters: usize,
}

impl Run {
    /// A run named `name`, with 4 partitions, room for 10,000 records, one
    /// producer, batches of 64 records, a lease of 10 s, claims after 30 s
    /// idle, producers joining within 60 s, reconnecting for 30 s.
    ///
    /// # Examples
    ///
    /// ```
    /// let run = confluo_redis::Run::new("jobs");
    /// assert_eq!(run.get_partitions(), 4);
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Run {
            name: name.into(),
            partitions: 4,
            capacity: 10_000,
            producers: 1,
            batch: 64,
            read_count: 64,
            lease: Duration::from_secs(10),
            claim_after: Duration::from_secs(30),
            join_within: Duration::from_secs(60),
            reconnect_for: Duration::from_secs(30),
            io_timeout: Duration::from_secs(5),
            idle_poll: Duration::from_millis(20),
            dead_letters: 10_000,
        }
    }

    /// The run's name: the hash tag of its keys.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(confluo_redis::Run::new("jobs").name(), "jobs");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many streams the records are spread over, by the hash of their
    /// key. Records of one partition are worked on by one consumer at a
    /// time, so more partitions than consumers keeps every consumer busy.
    ///
    /// # Panics
    ///
    /// If `partitions` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let run = confluo_redis::Run::new("jobs").partitions(16);
    /// assert_eq!(run.get_partitions(), 16);
    /// ```
    pub fn partitions(mut self, partitions: u32) -> Self {
        assert!(partitions > 0, "a run needs at least one partition");
        self.partitions = partitions;
        self
    }

    /// The number of partitions.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(confluo_redis::Run::new("jobs").get_partitions(), 4);
    /// ```
    pub fn get_partitions(&self) -> u32 {
        self.partitions
    }

    /// The most records waiting in Redis (added, not yet acknowledged): a
    /// producer whose batch does not fit waits for room.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let run = confluo_redis::Run::new("jobs").capacity(512);
    /// assert_eq!(run.get_capacity(), 512);
    /// ```
    pub fn capacity(mut self, capacity: u64) -> Self {
        assert!(capacity > 0, "a run needs room for at least one record");
        self.capacity = capacity;
        self
    }

    /// The capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(confluo_redis::Run::new("jobs").get_capacity(), 10_000);
    /// ```
    pub fn get_capacity(&self) -> u64 {
        self.capacity
    }

    /// How many producers the run has, in slots `0..producers`: consumers
    /// end once each has finished or been declared dead.
    ///
    /// # Panics
    ///
    /// If `producers` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let run = confluo_redis::Run::new("jobs").producers(3);
    /// assert_eq!(run.get_producers(), 3);
    /// ```
    pub fn producers(mut self, producers: u32) -> Self {
        assert!(producers > 0, "a run needs at least one producer");
        self.producers = producers;
        self
    }

    /// The number of producers.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(confluo_redis::Run::new("jobs").get_producers(), 1);
    /// ```
    pub fn get_producers(&self) -> u32 {
        self.producers
    }

    /// The most records a producer adds in one round trip. A producer's
    /// batch must fit the capacity.
    ///
    /// # Panics
    ///
    /// If `records` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let run = confluo_redis::Run::new("jobs").batch(512);
    /// ```
    pub fn batch(mut self, records: usize) -> Self {
        assert!(records > 0, "a batch holds at least one record");
        self.batch = records;
        self
    }

    /// The most records a consumer takes in one round trip (they are
    /// acknowledged together, in the round trip that takes the next ones).
    ///
    /// # Panics
    ///
    /// If `records` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let run = confluo_redis::Run::new("jobs").read_count(16);
    /// ```
    pub fn read_count(mut self, records: usize) -> Self {
        assert!(records > 0, "a read takes at least one record");
        self.read_count = records;
        self
    }

    /// A producer's lease: refreshed by a thread of its own every third of
    /// it; a producer whose lease expired is declared dead. Also the lease
    /// of a [`Shards`](crate::Shards) member on its shards.
    ///
    /// A lease is also what a side rides a Redis outage through: a
    /// producer that could not renew its lease while Redis was down longer
    /// than the lease is declared dead when Redis is back.
    ///
    /// # Examples
    ///
    /// ```
    /// let run = confluo_redis::Run::new("jobs").lease(std::time::Duration::from_secs(3));
    /// ```
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long the records a consumer took may stay untouched before
    /// another consumer takes them, as from a dead consumer. A live
    /// consumer keeps the records of its read (acknowledging those done)
    /// when a third of it has passed since it read or last kept them, as
    /// its worker asks for the next record: `claim_after` must be longer
    /// than 3/2 of the time a worker spends on one record, or live
    /// consumers lose records to others (which work on them again:
    /// duplicates, not loss).
    ///
    /// # Examples
    ///
    /// ```
    /// let run = confluo_redis::Run::new("jobs").claim_after(std::time::Duration::from_secs(5));
    /// ```
    pub fn claim_after(mut self, idle: Duration) -> Self {
        self.claim_after = idle;
        self
    }

    /// How long after the run was opened a producer slot may stay empty
    /// before the run counts it as dead, so that consumers never wait
    /// forever for a producer that never started.
    ///
    /// # Examples
    ///
    /// ```
    /// let run = confluo_redis::Run::new("jobs").join_within(std::time::Duration::from_secs(5));
    /// ```
    pub fn join_within(mut self, within: Duration) -> Self {
        self.join_within = within;
        self
    }

    /// How long a side keeps reconnecting, with backoff, before it reports
    /// [`Error::Unreachable`](crate::Error::Unreachable).
    ///
    /// # Examples
    ///
    /// ```
    /// let run = confluo_redis::Run::new("jobs").reconnect_for(std::time::Duration::from_secs(2));
    /// ```
    pub fn reconnect_for(mut self, duration: Duration) -> Self {
        self.reconnect_for = duration;
        self
    }

    /// How long a consumer that found nothing to read waits, at most,
    /// before it looks again (it starts at 1 ms and doubles).
    ///
    /// # Examples
    ///
    /// ```
    /// let run = confluo_redis::Run::new("jobs").idle_poll(std::time::Duration::from_millis(5));
    /// ```
    pub fn idle_poll(mut self, most: Duration) -> Self {
        self.idle_poll = most;
        self
    }

    /// About how many dead letters the run keeps (the oldest go first).
    ///
    /// # Examples
    ///
    /// ```
    /// let run = confluo_redis::Run::new("jobs").dead_letters(1_000);
    /// ```
    pub fn dead_letters(mut self, kept: usize) -> Self {
        self.dead_letters = kept;
        self
    }

    /// The key of a part of the run: `{name}:part`.
    pub(crate) fn key(&self, part: &str) -> String {
        format!("{{{}}}:{part}", self.name)
    }

    /// The stream of partition `p`.
    pub(crate) fn partition_key(&self, p: u32) -> String {
        self.key(&format!("p:{p}"))
    }

    /// Every partition's stream, in order.
    pub(crate) fn partition_keys(&self) -> impl Iterator<Item = String> + '_ {
        (0..self.partitions).map(|p| self.partition_key(p))
    }

    /// The name of the dead-letter stream: `{name}:dead`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(confluo_redis::Run::new("jobs").dead_letter_key(), "{jobs}:dead");
    /// ```
    pub fn dead_letter_key(&self) -> String {
        self.key("dead")
    }

    /// A call of one of the functions about a producer slot (`join`,
    /// `beat`, `finish`): its keys are the producers' hash and the slot's
    /// lease, its first argument the slot.
    pub(crate) fn slot_call(&self, function: &str, slot: u32) -> redis::Cmd {
        let mut cmd = redis::cmd("FCALL");
        cmd.arg(function)
            .arg(2)
            .arg(self.key("producers"))
            .arg(self.key(&format!("lease:{slot}")))
            .arg(slot);
        cmd
    }

    /// The consumer group's name.
    pub(crate) const GROUP: &'static str = "confluo";
}
