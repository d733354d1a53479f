use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

/// What one read returns, and so what [`from_read`] yields.
///
/// - `Option<T>`: `Some(record)` is yielded; `None` ends the stream.
/// - `Result<T, E>`: every result is yielded, errors included; the stream does
///   not end by itself, so the consumer decides whether an error ends it
///   (for example with `take_while`).
///
/// # Examples
///
/// ```
/// use confluo::source::ReadOutcome;
///
/// assert_eq!(Some(3).into_item(), Some(3));
/// assert_eq!(None::<u8>.into_item(), None);
/// assert_eq!(Err::<u8, _>("timeout").into_item(), Some(Err("timeout")));
/// ```
pub trait ReadOutcome {
    /// What the stream yields.
    type Item;

    /// The item to yield, or `None` to end the stream.
    fn into_item(self) -> Option<Self::Item>;
}

impl<T> ReadOutcome for Option<T> {
    type Item = T;

    fn into_item(self) -> Option<T> {
        self
    }
}

impl<T, E> ReadOutcome for Result<T, E> {
    type Item = Result<T, E>;

    fn into_item(self) -> Option<Result<T, E>> {
        Some(self)
    }
}

pin_project! {
    /// Stream for the [`from_read`] function.
    #[must_use = "streams do nothing unless polled"]
    pub struct FromRead<F, Fut> {
        read: F,
        #[pin]
        in_flight: Option<Fut>,
        ended: bool,
    }
}

/// A stream that reads again and again: `read` returns a future for one read
/// (a request to a sensor, a line from a socket), and each outcome is yielded.
///
/// This is the async counterpart of `std::iter::from_fn`, and of a Python
/// `async def stream(self): while True: yield await self.read()`. The next
/// read starts only when the stream is polled for the next item, so a slow
/// consumer never has reads piling up.
///
/// See [`ReadOutcome`] for how `Option` and `Result` reads end the stream.
/// After it ended, the stream returns `None` again and `read` is not called.
///
/// # Cancel safety
///
/// Dropping the stream mid-read drops the read in flight and nothing else:
/// every outcome already yielded was delivered, and no outcome is lost
/// between two polls.
///
/// # Panics
///
/// A panic in `read` or in the read's future propagates to the caller.
///
/// # Examples
///
/// ```
/// use confluo::source::from_read;
/// use futures::StreamExt;
///
/// # smol::block_on(async {
/// let mut next = 0;
/// let readings = from_read(move || {
///     next += 1;
///     let reading = next;
///     async move { (reading <= 3).then_some(reading * 10) }
/// });
/// assert_eq!(readings.collect::<Vec<_>>().await, [10, 20, 30]);
/// # });
/// ```
pub fn from_read<F, Fut>(read: F) -> FromRead<F, Fut>
where
    F: FnMut() -> Fut,
    Fut: Future,
    Fut::Output: ReadOutcome,
{
    FromRead {
        read,
        in_flight: None,
        ended: false,
    }
}

impl<F, Fut> Stream for FromRead<F, Fut>
where
    F: FnMut() -> Fut,
    Fut: Future,
    Fut::Output: ReadOutcome,
{
    type Item = <Fut::Output as ReadOutcome>::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        if this.in_flight.is_none() {
            this.in_flight.set(Some((this.read)()));
        }
        let outcome = match this.in_flight.as_mut().as_pin_mut() {
            Some(read) => core::task::ready!(read.poll(cx)),
            None => unreachable!("a read was just started"),
        };
        this.in_flight.set(None);
        let item = outcome.into_item();
        *this.ended = item.is_none();
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.ended {
            (0, Some(0))
        } else {
            (0, None)
        }
    }
}

impl<F, Fut> FusedStream for FromRead<F, Fut>
where
    F: FnMut() -> Fut,
    Fut: Future,
    Fut::Output: ReadOutcome,
{
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<F, Fut> fmt::Debug for FromRead<F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FromRead")
            .field("reading", &self.in_flight.is_some())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}
