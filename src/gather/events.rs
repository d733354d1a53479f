//! The view of a [`Gather`] that names each item's source and reports each
//! source's end: [`Event`]s.

use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};

use super::id::Event;
use super::poll::WithIds;
use super::Gather;

impl<S> Gather<S> {
    /// A stream of [`Event`]s: each item with the id of its source, and the
    /// end of each source. It borrows the `Gather`, which keeps its sources.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::{Event, Gather};
    /// use futures::StreamExt;
    ///
    /// # smol::block_on(async {
    /// let mut gather = Gather::new();
    /// let a = gather.push(futures::stream::iter(vec![1, 2]));
    /// let mut per_source = 0;
    /// while let Some(event) = gather.events().next().await {
    ///     if let Event::Item(id, _) = event {
    ///         assert_eq!(id, a);
    ///         per_source += 1;
    ///     }
    /// }
    /// assert_eq!(per_source, 2);
    /// # });
    /// ```
    pub fn events(&mut self) -> Events<'_, S> {
        Events { gather: self }
    }
}

impl<S: Stream> Gather<S> {
    /// Polls for the next [`Event`]: an item with its source's id, or the end
    /// of a source. Returns `Ready(None)` when no source is left.
    ///
    /// # Return value
    ///
    /// - `Poll::Pending` when no woken source had an item; the task is woken
    ///   when a source is woken or pushed.
    /// - `Poll::Ready(Some(event))` for the next item or end of a source.
    /// - `Poll::Ready(None)` when the `Gather` holds no source (and no
    ///   [handle](Gather::handle) is left to push one), again on every later
    ///   call until a source is pushed.
    ///
    /// # Panics
    ///
    /// A panic of a source's `poll_next` propagates to the caller. The source
    /// is dropped as the panic unwinds (with no `Ended` event), so the
    /// `Gather` stays usable: polled again, it goes on with the other
    /// sources. See [`Gather`]'s "Panicking sources".
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::{Event, Gather};
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let mut gather = Gather::new();
    /// let id = gather.push(futures::stream::iter([1]));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(gather.poll_event(&mut cx), Poll::Ready(Some(Event::Item(id, 1))));
    /// assert_eq!(gather.poll_event(&mut cx), Poll::Ready(Some(Event::Ended(id))));
    /// assert_eq!(gather.poll_event(&mut cx), Poll::Ready(None));
    /// ```
    pub fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event<S::Item>>> {
        self.poll_turns::<WithIds>(cx)
    }
}

/// Stream for the [`Gather::events`] method.
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct Events<'a, S> {
    gather: &'a mut Gather<S>,
}

impl<S: Stream> Stream for Events<'_, S> {
    type Item = Event<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().gather.poll_event(cx)
    }

    /// At least one event for each source left (its end), plus its items.
    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.gather.size_hint();
        let ends = self.gather.len();
        (
            low.saturating_add(ends),
            high.and_then(|high| high.checked_add(ends)),
        )
    }
}

/// Ended as the `Gather` is: no source left, and no handle to push one.
impl<S: Stream> FusedStream for Events<'_, S> {
    fn is_terminated(&self) -> bool {
        self.gather.is_terminated()
    }
}
