//! The ways a consumer receives: waiting in a task ([`Consumer::recv`], the
//! `Stream`), blocking a thread for a while ([`Consumer::recv_timeout`]; for
//! good, in `blocking.rs`) or not waiting at all ([`Consumer::try_recv`]).
//! Each takes the next
//! record of the batch in hand first, then a message from the channel, and
//! once the channel is closed and drained, what other consumers put back.

use core::pin::Pin;
use core::task::{ready, Context, Poll};
#[cfg(feature = "std")]
use std::time::Duration;

use async_channel::TryRecvError as ChannelError;
use futures_core::stream::{FusedStream, Stream};

use super::Consumer;
#[cfg(feature = "std")]
use crate::bridge::recv_error::RecvTimeoutError;
use crate::bridge::recv_error::TryRecvError;
use crate::bridge::room::Left;
use crate::bridge::Message;

impl<T> Consumer<T> {
    /// Waits for the next record; `None` once every producer is gone (or the
    /// bridge was closed), the bridge is drained, and no other consumer
    /// holds records of a batch (see [Dropping](Consumer#dropping)). For
    /// async consumers, and in `no_std`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a record is taken only when the future completes, and
    /// the rest of a batch stays in hand for the next call. The same holds
    /// for the `Stream`: a `next()` dropped before it completes took nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// smol::block_on(async {
    ///     producer.send(1).await.unwrap();
    ///     drop(producer);
    ///     assert_eq!(consumer.recv().await, Some(1));
    ///     assert_eq!(consumer.recv().await, None);
    /// });
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        if let Some(record) = self.next_in_hand() {
            return Some(record);
        }
        let message = match self.receiver.recv().await {
            Ok(message) => Some(message),
            Err(_) => match &self.shared.room {
                Some(room) => room.left().await,
                None => None,
            },
        };
        self.record_of(message)
    }

    /// Takes the next record if one is ready now, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when no record is ready now (also while the
    /// bridge is closed and drained but another consumer still holds
    /// records of a batch, which may come back), [`TryRecvError::Closed`]
    /// when no record will ever come.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::TryRecvError;
    ///
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// assert_eq!(consumer.try_recv(), Err(TryRecvError::Empty));
    /// producer.try_send(7).unwrap();
    /// assert_eq!(consumer.try_recv(), Ok(7));
    /// drop(producer);
    /// assert_eq!(consumer.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if let Some(record) = self.next_in_hand() {
            return Ok(record);
        }
        let message = match self.receiver.try_recv() {
            Ok(message) => Some(message),
            Err(ChannelError::Empty) => return Err(TryRecvError::Empty),
            Err(ChannelError::Closed) => match &self.shared.room {
                Some(room) => match room.look_left() {
                    Left::Batch(message) => Some(message),
                    Left::Nothing => None,
                    Left::Held => return Err(TryRecvError::Empty),
                },
                None => None,
            },
        };
        self.record_of(message).ok_or(TryRecvError::Closed)
    }

    /// Blocks the thread until a record comes, for at most `timeout`.
    ///
    /// A record ready now is returned even with a timeout of zero.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] when no record came in time,
    /// [`RecvTimeoutError::Closed`] when no record will ever come (as the
    /// `None` of [`recv_blocking`](Consumer::recv_blocking)).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::RecvTimeoutError;
    /// use std::time::Duration;
    ///
    /// let (producer, mut consumer) = confluo::bridge(std::num::NonZeroUsize::MIN);
    /// let timeout = Duration::from_millis(10);
    /// assert_eq!(consumer.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
    /// std::thread::spawn(move || producer.try_send("late").unwrap());
    /// assert_eq!(consumer.recv_timeout(Duration::from_secs(60)), Ok("late"));
    /// ```
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        use crate::bridge::park::{block_until, deadline_after};

        if let Some(record) = self.next_in_hand() {
            return Ok(record);
        }
        let deadline = deadline_after(timeout);
        let message = match block_until(self.receiver.recv(), deadline) {
            None => return Err(RecvTimeoutError::Timeout),
            Some(Ok(message)) => Some(message),
            Some(Err(_)) => match &self.shared.room {
                Some(room) => match block_until(room.left(), deadline) {
                    None => return Err(RecvTimeoutError::Timeout),
                    Some(left) => left,
                },
                None => None,
            },
        };
        self.record_of(message).ok_or(RecvTimeoutError::Closed)
    }

    /// The next record, polled: the `Stream`'s `poll_next`.
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(record) = self.next_in_hand() {
            return Poll::Ready(Some(record));
        }
        let message = match ready!(self.receiver.as_mut().poll_next(cx)) {
            Some(message) => Some(message),
            None => match &self.shared.room {
                Some(room) => ready!(room.poll_left(&mut self.left, cx)),
                None => None,
            },
        };
        Poll::Ready(self.record_of(message))
    }

    /// The first record of a message taken, or the end.
    pub(super) fn record_of(&mut self, message: Option<Message<T>>) -> Option<T> {
        match message {
            Some(message) => Some(self.unpack(message)),
            None => {
                self.ended = true;
                None
            }
        }
    }
}

/// Waits for the next record; ends as [`recv`](Consumer::recv) does. Polls allocate
/// nothing: the listener of a wait lives in the consumer.
///
/// # Cancel safety
///
/// A record is taken only when `poll_next` returns it; the rest of a batch
/// stays in hand for the next poll.
impl<T> Stream for Consumer<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }

    /// At least the records in hand and in the bridge now.
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.size()
    }
}

impl<T> FusedStream for Consumer<T> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<T> Consumer<T> {
    /// The size hint of the stream and the iterators. Messages in the
    /// channel hold at least one record each.
    pub(super) fn size(&self) -> (usize, Option<usize>) {
        if self.ended {
            return (0, Some(0));
        }
        (self.batch.len().saturating_add(self.receiver.len()), None)
    }
}
