//! How a run ended, as its consumers report it: which producers finished
//! and which died before they did.

/// How a run ended, as a consumer saw it.
///
/// # Examples
///
/// ```no_run
/// // no_run: needs a redis-server on 127.0.0.1:6379.
/// use confluo_redis::{Bytes, Consumer, Run};
///
/// let mut consumer = Consumer::open(&Run::new("jobs"), "redis://127.0.0.1:6379/", Bytes)?;
/// for delivery in consumer.by_ref() {
///     delivery?;
/// }
/// let end = consumer.end().expect("the run ended");
/// for slot in &end.died {
///     eprintln!("producer {slot} died before it finished");
/// }
/// # Ok::<(), confluo_redis::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunEnd {
    /// The producer slots that finished.
    pub finished: Vec<u32>,
    /// The producer slots declared dead: their lease expired, or they never
    /// joined. Their records added before were delivered.
    pub died: Vec<u32>,
}
