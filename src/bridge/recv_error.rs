//! Why a receive that does not wait, or waits only so long, returned no
//! record.

use core::fmt;

/// Why a [`Consumer::try_recv`](super::Consumer::try_recv) returned no
/// record: none is ready now, or none will ever come.
///
/// # Examples
///
/// ```
/// use confluo::TryRecvError;
///
/// let (producer, mut consumer) = confluo::bridge::<u8>(std::num::NonZeroUsize::MIN);
/// assert_eq!(consumer.try_recv(), Err(TryRecvError::Empty));
/// drop(producer);
/// assert_eq!(consumer.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No record is ready now; some may come later.
    Empty,
    /// The bridge is closed and drained: no record will ever come.
    Closed,
}

impl TryRecvError {
    /// Whether no record is ready now, though some may come later.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_producer, mut consumer) = confluo::bridge::<u8>(std::num::NonZeroUsize::MIN);
    /// assert!(consumer.try_recv().unwrap_err().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        matches!(self, TryRecvError::Empty)
    }

    /// Whether the bridge is closed and drained: no record will ever come.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge::<u8>(std::num::NonZeroUsize::MIN);
    /// drop(producer);
    /// assert!(consumer.try_recv().unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TryRecvError::Closed)
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving from an empty bridge"),
            TryRecvError::Closed => f.write_str("receiving from an empty and closed bridge"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TryRecvError {}

/// Why a `Consumer::recv_timeout` (with `std`) returned no record: none
/// came in time, or none will ever come.
///
/// # Examples
///
/// ```
/// use confluo::RecvTimeoutError;
/// use std::time::Duration;
///
/// let (producer, mut consumer) = confluo::bridge::<u8>(std::num::NonZeroUsize::MIN);
/// let timeout = Duration::from_millis(1);
/// assert_eq!(consumer.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
/// drop(producer);
/// assert_eq!(consumer.recv_timeout(timeout), Err(RecvTimeoutError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvTimeoutError {
    /// No record came before the timeout; some may come later.
    Timeout,
    /// The bridge is closed and drained: no record will ever come.
    Closed,
}

impl RecvTimeoutError {
    /// Whether no record came in time, though some may come later.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (_producer, mut consumer) = confluo::bridge::<u8>(std::num::NonZeroUsize::MIN);
    /// assert!(consumer.recv_timeout(Duration::ZERO).unwrap_err().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, RecvTimeoutError::Timeout)
    }

    /// Whether the bridge is closed and drained: no record will ever come.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (producer, mut consumer) = confluo::bridge::<u8>(std::num::NonZeroUsize::MIN);
    /// drop(producer);
    /// assert!(consumer.recv_timeout(Duration::ZERO).unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, RecvTimeoutError::Closed)
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out waiting on a bridge"),
            RecvTimeoutError::Closed => f.write_str("receiving from an empty and closed bridge"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RecvTimeoutError {}
