//! How a pump ended, with the records it took and could not send.

use alloc::vec::Vec;

#[cfg(doc)]
use super::{Overflow, Producer, Router, Stats};

/// How a [`Producer::pump`] or a [`Router::pump_by`] ended.
///
/// # Examples
///
/// ```
/// use confluo::Pumped;
/// use std::num::NonZeroUsize;
///
/// let (producer, consumer) = confluo::bridge(NonZeroUsize::new(4).unwrap());
/// drop(consumer);
/// let pumped = smol::block_on(producer.pump(futures::stream::iter([7, 8])));
/// assert_eq!(pumped, Pumped::ConsumersGone { forwarded: 0, unsent: vec![7] });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pumped<T> {
    /// The stream ended and every record was forwarded.
    Ended {
        /// Records forwarded into the bridge (those the bridge's
        /// [`Overflow`] policy dropped included).
        forwarded: u64,
    },
    /// Every consumer went away, or an end closed the bridge
    /// ([`Producer::close`], [`Consumer::close`](super::Consumer::close));
    /// for [`Router::pump_by`], the bridge of a partition it sends to. The
    /// stream was dropped at once.
    ConsumersGone {
        /// Records forwarded into the bridge before that.
        forwarded: u64,
        /// The records taken from the stream that could not be delivered,
        /// each partition's in the order they came: the batch being filled,
        /// whole, and the record in hand, last.
        unsent: Vec<T>,
    },
}

impl<T> Pumped<T> {
    /// Records forwarded into the bridge: the records taken from the stream
    /// and sent, those the bridge's [`Overflow`] policy dropped included
    /// ([`Stats::dropped`] counts them).
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, _consumer) = confluo::bridge(std::num::NonZeroUsize::new(4).unwrap());
    /// let pumped = smol::block_on(producer.pump(futures::stream::iter([1, 2, 3])));
    /// assert_eq!(pumped.forwarded(), 3);
    /// ```
    pub fn forwarded(&self) -> u64 {
        match self {
            Pumped::Ended { forwarded } | Pumped::ConsumersGone { forwarded, .. } => *forwarded,
        }
    }
}
