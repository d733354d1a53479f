//! A [`KeyedGather`] as a stream: the events of its `Gather` with their
//! keys, the changes of its handles taken in before each poll of it, and
//! its end, which waits for those changes.

use core::hash::{BuildHasher, Hash};
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};

use super::id::Event;
use super::KeyedGather;

/// Every source has its key from `insert` until it leaves.
const KEYED: &str = "every source of a KeyedGather has a key";

impl<K: Hash + Eq + Clone, S: Stream, H: BuildHasher> KeyedGather<K, S, H> {
    /// Polls the `Gather` within for its next event, with the changes of
    /// handles taken in first.
    fn poll_gather(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event<S::Item>>> {
        loop {
            self.take_changes();
            let polled = self.gather.poll_event(cx);
            if !self.inbox.has_changes() {
                return polled;
            }
            match polled {
                // A change came after the `Gather` looked, and after its
                // waker was stored: yield, and take it in on the next call.
                Poll::Pending => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                // The last handle queued changes and went: take them in.
                // No handle is left, so this loops at most once more.
                Poll::Ready(None) => continue,
                ready => return ready,
            }
        }
    }

    /// True once no source is left and none can come.
    fn is_done(&self) -> bool {
        self.gather.is_empty() && !self.gather.may_grow() && !self.inbox.has_changes()
    }

    /// Polls for the next [`Event`]: an item with a clone of its source's
    /// key, or the end of a source with its key (then dropped). Returns
    /// `Ready(None)` when no source is left.
    ///
    /// # Panics
    ///
    /// A panic of a source's `poll_next` propagates to the caller, and the
    /// source is dropped, as [`Gather::poll_event`](crate::Gather::poll_event) says; its key goes when
    /// the key is next removed or inserted.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::{Event, KeyedGather};
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let mut sensors = KeyedGather::new();
    /// sensors.insert("boiler", futures::stream::iter([71]));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(sensors.poll_event(&mut cx), Poll::Ready(Some(Event::Item("boiler", 71))));
    /// assert_eq!(sensors.poll_event(&mut cx), Poll::Ready(Some(Event::Ended("boiler"))));
    /// assert_eq!(sensors.poll_event(&mut cx), Poll::Ready(None));
    /// ```
    pub fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event<S::Item, K>>> {
        self.poll_gather(cx).map(|event| {
            event.map(|event| match event {
                Event::Item(id, item) => {
                    Event::Item(self.keys.key_of(id).expect(KEYED).clone(), item)
                }
                Event::Ended(id) => Event::Ended(self.keys.remove_id(id).expect(KEYED)),
            })
        })
    }
}

impl<K: Hash + Eq + Clone, S: Stream, H: BuildHasher> Stream for KeyedGather<K, S, H> {
    type Item = (K, S::Item);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<(K, S::Item)>> {
        let this = self.get_mut();
        // Each end drops a source: the loop ends.
        loop {
            match core::task::ready!(this.poll_event(cx)) {
                Some(Event::Item(key, item)) => return Poll::Ready(Some((key, item))),
                Some(Event::Ended(_)) => {}
                None => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.gather.size_hint()
    }
}

/// True when no source is left.
impl<K: Hash + Eq + Clone, S: Stream, H: BuildHasher> FusedStream for KeyedGather<K, S, H> {
    fn is_terminated(&self) -> bool {
        self.is_done()
    }
}
