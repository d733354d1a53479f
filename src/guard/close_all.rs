use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use alloc::boxed::Box;
use futures_core::Stream;
use pin_project_lite::pin_project;

use super::Close;
use crate::{Event, Gather};

/// What [`close_all`] did.
///
/// # Examples
///
/// ```
/// use confluo::guard::{close_all, guard, Closed};
///
/// let sources = confluo::gather((0..3).map(|_| guard(futures::stream::pending::<u8>(), |_| ())));
/// let closed = smol::block_on(close_all(sources, futures::future::pending::<()>()));
/// assert_eq!(closed, Closed { gracefully: 3, cut_short: 0 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed {
    /// Sources that said their goodbye and were released as closed.
    pub gracefully: usize,
    /// Sources still saying goodbye when the deadline came: dropped then,
    /// and released as dropped.
    pub cut_short: usize,
}

/// One source being closed, as a stream that ends when it is closed, so a
/// `Gather` polls only the closes that were woken.
struct Closer<S: ?Sized>(Pin<Box<S>>);

impl<S: Close + ?Sized> Stream for Closer<S> {
    type Item = ();

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.0.as_mut().poll_close(cx).map(|()| None)
    }
}

pin_project! {
    /// Future for the [`close_all`] function.
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct CloseAll<S, D> {
        closing: Gather<Closer<S>>,
        #[pin]
        deadline: D,
        gracefully: usize,
    }
}

/// Closes every source of `sources` concurrently (the `aclose()` of a whole
/// `Gather`): each says its goodbye and is released exactly once. The
/// graceful part ends when `deadline` (any future, such as a timer of your
/// runtime) completes: sources still saying goodbye then are dropped, and so
/// released too. The crate names no timer.
///
/// Closes are polled as `Gather` polls sources: only the woken ones.
///
/// # Cancel safety
///
/// Dropping the returned future drops the sources not yet closed, which
/// releases each of them (as dropped) at that moment.
///
/// # Examples
///
/// ```
/// use confluo::guard::{close_all, guard, Release};
/// use std::time::Duration;
///
/// # smol::block_on(async {
/// let (sender, released) = std::sync::mpsc::channel();
/// let sources = confluo::gather((0..4).map(|id| {
///     let sender = sender.clone();
///     guard(futures::stream::pending::<u8>(), move |why| sender.send((id, why)).unwrap())
///         .goodbye(move || async move {
///             // Sensor 3 never finishes its goodbye.
///             if id == 3 {
///                 futures::future::pending::<()>().await;
///             }
///         })
/// }));
/// let closed = close_all(sources, smol::Timer::after(Duration::from_millis(20))).await;
/// assert_eq!((closed.gracefully, closed.cut_short), (3, 1));
/// let mut reasons: Vec<_> = released.try_iter().collect();
/// reasons.sort_by_key(|(id, _)| *id);
/// assert_eq!(reasons[3], (3, Release::Dropped));
/// assert!(reasons[..3].iter().all(|(_, why)| *why == Release::Closed));
/// # });
/// ```
pub fn close_all<S: Close, D: Future>(sources: Gather<S>, deadline: D) -> CloseAll<S, D> {
    CloseAll {
        closing: sources.into_sources().map(Closer).collect(),
        deadline,
        gracefully: 0,
    }
}

impl<S: Close, D: Future> Future for CloseAll<S, D> {
    type Output = Closed;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Closed> {
        let this = self.project();
        loop {
            match this.closing.poll_event(cx) {
                Poll::Ready(Some(Event::Ended(_))) => *this.gracefully += 1,
                Poll::Ready(Some(Event::Item(..))) => unreachable!("a close yields no item"),
                Poll::Ready(None) => {
                    return Poll::Ready(Closed {
                        gracefully: *this.gracefully,
                        cut_short: 0,
                    })
                }
                Poll::Pending => break,
            }
        }
        core::task::ready!(this.deadline.poll(cx));
        let cut_short = this.closing.len();
        // Dropping the rest releases each of them, now.
        *this.closing = Gather::new();
        Poll::Ready(Closed {
            gracefully: *this.gracefully,
            cut_short,
        })
    }
}

impl<S, D> fmt::Debug for CloseAll<S, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloseAll")
            .field("closing", &self.closing.len())
            .field("gracefully", &self.gracefully)
            .finish_non_exhaustive()
    }
}
