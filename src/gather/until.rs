//! Stopping a [`Gather`] at a signal or a deadline and keeping it:
//! [`Gather::until`] lends the `Gather` to a pump, or to any consumer of a
//! stream, until a future completes, so that afterwards every source is
//! still there to close with [`close_all`](crate::guard::close_all).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::{Gather, KeyedGather};

impl<S> Gather<S> {
    /// The items of this `Gather` until `signal` completes (a Ctrl-C, a
    /// shutdown message, a timer of your runtime), as a stream that borrows
    /// the `Gather`. When it ends, the sources are all still in the
    /// `Gather`, with whatever they have not yielded yet: close them with
    /// [`close_all`](crate::guard::close_all), or go on polling.
    ///
    /// The signal is polled before each item, so a burst of ready items
    /// does not hold the stop back by more than the item in hand. Nothing
    /// is taken from a source that this stream does not yield: stopped,
    /// dropped or not, it loses no item. It is futures' `take_until` on
    /// `by_ref()`, without the futures crate.
    ///
    /// # Shutdown
    ///
    /// Pump until the signal, then close every source within a second
    /// deadline:
    ///
    /// ```
    /// use confluo::guard::{close_all, guard, Closed};
    /// use std::num::NonZeroUsize;
    /// use std::time::Duration;
    ///
    /// # smol::block_on(async {
    /// let (producer, consumer) = confluo::bridge(NonZeroUsize::new(64).unwrap());
    /// let mut sensors = confluo::gather((0..3).map(|id| {
    ///     guard(futures::stream::repeat(id), |_| ())
    ///         .goodbye(|| async { /* tell the device goodbye */ })
    /// }));
    /// let worker = std::thread::spawn(move || consumer.into_iter().count());
    ///
    /// let stop = smol::Timer::after(Duration::from_millis(20)); // or Ctrl-C
    /// let pumped = producer.pump(sensors.until(stop)).await;
    /// let closed = close_all(sensors, smol::Timer::after(Duration::from_secs(1))).await;
    ///
    /// // Every record the pump took is in the bridge, and the consumer has it.
    /// assert_eq!(worker.join().unwrap() as u64, pumped.forwarded());
    /// assert_eq!(closed, Closed { gracefully: 3, cut_short: 0 });
    /// # });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the stream loses nothing: the `Gather` keeps its sources,
    /// and the signal is dropped.
    #[doc(alias = "take_until")]
    pub fn until<F: Future>(&mut self, signal: F) -> Until<'_, Self, F> {
        Until::new(self, signal)
    }
}

impl<K, S, H> KeyedGather<K, S, H> {
    /// The items of this `KeyedGather` until `signal` completes: see
    /// [`Gather::until`].
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// # smol::block_on(async {
    /// let mut sensors = confluo::KeyedGather::new();
    /// sensors.insert("boiler", futures::stream::repeat(70));
    /// let (stop, stopped) = futures::channel::oneshot::channel::<()>();
    /// let mut stop = Some(stop);
    /// let mut until = sensors.until(stopped);
    /// let mut taken = 0;
    /// while let Some(("boiler", 70)) = until.next().await {
    ///     taken += 1;
    ///     if taken == 5 {
    ///         stop.take().unwrap().send(()).unwrap();
    ///     }
    /// }
    /// assert_eq!(taken, 5);
    /// assert!(sensors.contains("boiler"), "still there");
    /// # });
    /// ```
    #[doc(alias = "take_until")]
    pub fn until<F: Future>(&mut self, signal: F) -> Until<'_, Self, F> {
        Until::new(self, signal)
    }
}

pin_project! {
    /// Stream for the [`Gather::until`] and [`KeyedGather::until`]
    /// methods.
    #[must_use = "streams do nothing unless polled"]
    pub struct Until<'a, G, F> {
        gather: &'a mut G,
        #[pin]
        signal: F,
        stopped: bool,
    }
}

impl<'a, G, F> Until<'a, G, F> {
    fn new(gather: &'a mut G, signal: F) -> Self {
        Until {
            gather,
            signal,
            stopped: false,
        }
    }

    /// True once the signal has completed: the stream has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// # smol::block_on(async {
    /// let mut gather = confluo::gather([futures::stream::repeat(1)]);
    /// let mut until = gather.until(std::future::ready(()));
    /// assert_eq!(until.next().await, None);
    /// assert!(until.is_stopped());
    /// # });
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }
}

impl<G, F> Stream for Until<'_, G, F>
where
    G: Stream + Unpin,
    F: Future,
{
    type Item = G::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<G::Item>> {
        let this = self.project();
        if *this.stopped {
            return Poll::Ready(None);
        }
        if this.signal.poll(cx).is_ready() {
            *this.stopped = true;
            return Poll::Ready(None);
        }
        Pin::new(&mut **this.gather).poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.stopped {
            return (0, Some(0));
        }
        // The signal may stop it at any item.
        (0, self.gather.size_hint().1)
    }
}

/// Ended once the signal completed, or once the `Gather` ended.
impl<G, F> FusedStream for Until<'_, G, F>
where
    G: FusedStream + Unpin,
    F: Future,
{
    fn is_terminated(&self) -> bool {
        self.stopped || self.gather.is_terminated()
    }
}

impl<G: fmt::Debug, F> fmt::Debug for Until<'_, G, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Until")
            .field("gather", &self.gather)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}
