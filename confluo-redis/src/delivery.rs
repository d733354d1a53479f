//! One record as a consumer hands it to its worker, with where it came
//! from and whether it came before.

use std::ops::Deref;

/// A record handed to a worker by a [`Consumer`](crate::Consumer).
///
/// It is acknowledged when the worker asks the consumer for the next one:
/// a worker that dies before that leaves it to be delivered again, to
/// another consumer, flagged [`redelivered`](Delivery::redelivered).
///
/// # Examples
///
/// ```no_run
/// // no_run: needs a redis-server on 127.0.0.1:6379.
/// use confluo_redis::{Bytes, Consumer, Run};
///
/// let run = Run::new("jobs");
/// for delivery in Consumer::open(&run, "redis://127.0.0.1:6379/", Bytes)? {
///     let delivery = delivery?;
///     if delivery.redelivered() {
///         // Maybe worked on before: check before doing it twice.
///     }
///     println!("{} bytes from partition {}", delivery.len(), delivery.partition());
/// }
/// # Ok::<(), confluo_redis::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery<T> {
    pub(crate) record: T,
    pub(crate) partition: u32,
    pub(crate) id: String,
    pub(crate) redelivered: bool,
}

impl<T> Delivery<T> {
    /// The record.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// # let run = confluo_redis::Run::new("jobs");
    /// # let mut consumer = confluo_redis::Consumer::open(&run, "redis://127.0.0.1:6379/", confluo_redis::Bytes)?;
    /// let delivery = consumer.next().unwrap()?;
    /// let bytes: &Vec<u8> = delivery.record();
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn record(&self) -> &T {
        &self.record
    }

    /// The record, taken out. Acknowledging is the consumer's business:
    /// taking the record out changes nothing about it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// # let run = confluo_redis::Run::new("jobs");
    /// # let mut consumer = confluo_redis::Consumer::open(&run, "redis://127.0.0.1:6379/", confluo_redis::Bytes)?;
    /// let bytes: Vec<u8> = consumer.next().unwrap()?.into_record();
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn into_record(self) -> T {
        self.record
    }

    /// The partition the record came through.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// # let run = confluo_redis::Run::new("jobs");
    /// # let mut consumer = confluo_redis::Consumer::open(&run, "redis://127.0.0.1:6379/", confluo_redis::Bytes)?;
    /// let delivery = consumer.next().unwrap()?;
    /// assert!(delivery.partition() < run.get_partitions());
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// The record's id in its partition's stream: ids grow in the order the
    /// records were added.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// # let run = confluo_redis::Run::new("jobs");
    /// # let mut consumer = confluo_redis::Consumer::open(&run, "redis://127.0.0.1:6379/", confluo_redis::Bytes)?;
    /// let delivery = consumer.next().unwrap()?;
    /// println!("{}", delivery.id()); // such as "1795645707259-0"
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether this record was delivered before, to this consumer or to
    /// another: a worker may have worked on it already.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// # let run = confluo_redis::Run::new("jobs");
    /// # let mut consumer = confluo_redis::Consumer::open(&run, "redis://127.0.0.1:6379/", confluo_redis::Bytes)?;
    /// let delivery = consumer.next().unwrap()?;
    /// if delivery.redelivered() {
    ///     println!("seen before, maybe: {}", delivery.id());
    /// }
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn redelivered(&self) -> bool {
        self.redelivered
    }
}

impl<T> Deref for Delivery<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.record
    }
}
