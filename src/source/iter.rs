use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};

/// Stream for the [`from_iter`] function.
#[must_use = "streams do nothing unless polled"]
pub struct FromIter<I> {
    iter: Option<I>,
    /// Items yielded since the stream last gave the executor a turn.
    streak: u32,
    /// Items it yields in a row before it gives the executor a turn.
    budget: u32,
}

/// An in-memory iterator as a stream that never blocks and never hogs the
/// executor: after [`FromIter::BUDGET`] items in a row it returns `Pending`
/// once (waking itself at once), so other tasks and sources get a turn.
///
/// The iterator's `next` must not block; for a blocking iterator (a file, a
/// serial port, a synchronous driver) use [`from_blocking`](super::from_blocking).
///
/// The stream ends when the iterator returns `None`; the iterator is dropped
/// then, and the stream returns `None` again afterwards.
///
/// # Examples
///
/// ```
/// use confluo::source::from_iter;
/// use futures::StreamExt;
///
/// # smol::block_on(async {
/// let replay = from_iter(vec![20.5, 20.7, 20.6]);
/// assert_eq!(replay.collect::<Vec<f64>>().await, [20.5, 20.7, 20.6]);
/// # });
/// ```
pub fn from_iter<I: IntoIterator>(iter: I) -> FromIter<I::IntoIter> {
    FromIter {
        iter: Some(iter.into_iter()),
        streak: 0,
        budget: FromIter::<I::IntoIter>::BUDGET,
    }
}

impl<I> FromIter<I> {
    /// Items yielded in a row before the stream gives the executor a turn.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::source::{from_iter, FromIter};
    /// use futures::StreamExt;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let mut stream = from_iter(0..);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// for _ in 0..FromIter::<std::ops::RangeFrom<u32>>::BUDGET {
    ///     assert!(stream.poll_next_unpin(&mut cx).is_ready());
    /// }
    /// assert!(stream.poll_next_unpin(&mut cx).is_pending());
    /// assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(32)));
    /// ```
    pub const BUDGET: u32 = 32;

    /// Sets how many items the stream yields in a row before it gives the
    /// executor a turn: [`BUDGET`](Self::BUDGET) by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use std::num::NonZeroU32;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let mut stream = confluo::source::from_iter(0..).budget(NonZeroU32::new(2).unwrap());
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(0)));
    /// assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(1)));
    /// assert!(stream.poll_next_unpin(&mut cx).is_pending());
    /// assert_eq!(stream.poll_next_unpin(&mut cx), Poll::Ready(Some(2)));
    /// ```
    pub fn budget(mut self, items: core::num::NonZeroU32) -> Self {
        self.budget = items.get();
        self
    }
}

impl<I: Iterator> Stream for FromIter<I> {
    type Item = I::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<I::Item>> {
        let this = self.get_mut();
        let Some(iter) = &mut this.iter else {
            return Poll::Ready(None);
        };
        if this.streak >= this.budget {
            this.streak = 0;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match iter.next() {
            Some(item) => {
                this.streak += 1;
                Poll::Ready(Some(item))
            }
            None => {
                this.iter = None;
                Poll::Ready(None)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.as_ref().map_or((0, Some(0)), Iterator::size_hint)
    }
}

impl<I: Iterator> FusedStream for FromIter<I> {
    fn is_terminated(&self) -> bool {
        self.iter.is_none()
    }
}

// The iterator is moved, never pinned.
impl<I> Unpin for FromIter<I> {}

impl<I> fmt::Debug for FromIter<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FromIter")
            .field("ended", &self.iter.is_none())
            .finish_non_exhaustive()
    }
}
