//! Why a send failed, holding the record, as async-channel's errors do.

use core::fmt;

/// Why a send failed: the bridge is closed (every consumer is gone, or an
/// end closed it). Holds the record.
///
/// # Examples
///
/// ```
/// let (producer, consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
/// drop(consumer);
/// let error = producer.try_send("late").unwrap_err();
/// assert_eq!(error.to_string(), "sending into a closed bridge");
/// assert_eq!(error.into_inner(), "late");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The record that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let error = confluo::SendError(5);
    /// assert_eq!(error.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending into a closed bridge")
    }
}

#[cfg(feature = "std")]
impl<T> std::error::Error for SendError<T> {}

/// Why a `try_send` failed: the bridge is full, or has no consumer.
///
/// # Examples
///
/// ```
/// use confluo::TrySendError;
///
/// let (producer, _consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
/// producer.try_send(1).unwrap();
/// assert!(matches!(producer.try_send(2), Err(TrySendError::Full(2))));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The bridge holds its capacity; try again after a consumer took some.
    Full(T),
    /// The bridge is closed: every consumer is gone, or an end closed it.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The record that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(confluo::TrySendError::Full(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(record) | TrySendError::Closed(record) => record,
        }
    }

    /// Whether the bridge was full: trying again later may succeed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, _consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// producer.try_send(1).unwrap();
    /// assert!(producer.try_send(2).unwrap_err().is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the bridge was closed: every later send fails too.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// drop(consumer);
    /// assert!(producer.try_send(1).unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending into a full bridge"),
            TrySendError::Closed(_) => f.write_str("sending into a closed bridge"),
        }
    }
}

#[cfg(feature = "std")]
impl<T> std::error::Error for TrySendError<T> {}
