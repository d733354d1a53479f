use core::fmt;
use core::num::NonZeroUsize;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::any::Any;
use std::boxed::Box;
use std::panic::{self, AssertUnwindSafe};
use std::thread;

use async_channel::{Receiver, Sender};
use futures_core::stream::{FusedStream, Stream};

/// What the thread sends: an item, or the panic that ended its iterator.
enum Message<T> {
    Item(T),
    Panicked(Box<dyn Any + Send>),
}

/// Stream for the [`from_blocking`] function.
#[must_use = "streams do nothing unless polled"]
pub struct FromBlocking<T> {
    /// Boxed, so the stream is `Unpin` and easy to use.
    items: Pin<Box<Receiver<Message<T>>>>,
}

/// A blocking iterator (a synchronous driver, a file reader, a serial port)
/// as a stream that never blocks the executor: the iterator runs on a thread
/// of its own, and its items arrive through a bounded channel of `capacity`
/// items.
///
/// The thread reads ahead at most `capacity` items, then waits for the stream
/// to take one (backpressure). When the iterator ends, the stream ends after
/// its last item.
///
/// # Stopping
///
/// Dropping the stream tells the thread to stop: its next send fails, so it
/// drops the iterator and ends after the item it is reading, at most one item
/// later. The thread is detached, so dropping never waits for a read that
/// blocks; a read that never returns keeps its thread alive, and nothing
/// else.
///
/// # Panics
///
/// A panic in the iterator ends the thread; the stream yields every item sent
/// before it, then resumes the panic (with its payload) in the task that
/// polls it. Also panics if the thread cannot be spawned, as
/// [`std::thread::spawn`] does.
///
/// # Examples
///
/// ```
/// use confluo::source::from_blocking;
/// use futures::StreamExt;
/// use std::num::NonZeroUsize;
///
/// # smol::block_on(async {
/// // A "driver" whose every read blocks its thread.
/// let blocking_reads = (0..3).inspect(|_| std::thread::sleep(std::time::Duration::from_millis(5)));
/// let readings = from_blocking(blocking_reads, NonZeroUsize::new(2).unwrap());
/// assert_eq!(readings.collect::<Vec<_>>().await, [0, 1, 2]);
/// # });
/// ```
pub fn from_blocking<I>(iter: I, capacity: NonZeroUsize) -> FromBlocking<I::Item>
where
    I: IntoIterator,
    I::IntoIter: Send + 'static,
    I::Item: Send + 'static,
{
    let (sender, items) = async_channel::bounded(capacity.get());
    let iter = iter.into_iter();
    thread::Builder::new()
        .name("confluo-blocking-source".into())
        .spawn(move || read_all(iter, &sender))
        .expect("failed to spawn the thread of a blocking source");
    FromBlocking {
        items: Box::pin(items),
    }
}

/// The thread's body: forward every item until the iterator ends, panics, or
/// the stream is gone.
fn read_all<I: Iterator>(mut iter: I, sender: &Sender<Message<I::Item>>) {
    loop {
        let message = match panic::catch_unwind(AssertUnwindSafe(|| iter.next())) {
            Ok(Some(item)) => Message::Item(item),
            Ok(None) => return,
            Err(payload) => Message::Panicked(payload),
        };
        let panicked = matches!(message, Message::Panicked(_));
        if sender.send_blocking(message).is_err() || panicked {
            return;
        }
    }
}

impl<T> Stream for FromBlocking<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match core::task::ready!(self.items.as_mut().poll_next(cx)) {
            Some(Message::Item(item)) => Poll::Ready(Some(item)),
            Some(Message::Panicked(payload)) => panic::resume_unwind(payload),
            None => Poll::Ready(None),
        }
    }

    /// At least the items already read ahead.
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.items.len(), None)
    }
}

impl<T> FusedStream for FromBlocking<T> {
    fn is_terminated(&self) -> bool {
        self.items.is_terminated()
    }
}

impl<T> fmt::Debug for FromBlocking<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FromBlocking")
            .field("read_ahead", &self.items.len())
            .finish()
    }
}
