use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::Stream;
use pin_project_lite::pin_project;

use super::stream::{Event, Gather};

pin_project! {
    /// A future as a stream of its one output.
    struct Once<F> {
        #[pin]
        future: Option<F>,
    }
}

impl<F: Future> Stream for Once<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        let mut future = self.project().future;
        let Some(running) = future.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let output = core::task::ready!(running.poll(cx));
        future.set(None);
        Poll::Ready(Some(output))
    }
}

/// Futures run on a [`Gather`], their outputs kept in input order.
struct Outputs<F: Future> {
    running: Gather<Once<F>>,
    outputs: Vec<Option<F::Output>>,
    /// Outputs not stored yet: one per running future, unless a future
    /// panicked (the `Gather` dropped it, and its output never comes).
    missing: usize,
}

impl<F: Future> Outputs<F> {
    fn new(futures: impl IntoIterator<Item = F>) -> Self {
        let running: Gather<_> = futures
            .into_iter()
            .map(|future| Once {
                future: Some(future),
            })
            .collect();
        let outputs = core::iter::repeat_with(|| None)
            .take(running.len())
            .collect();
        let missing = running.len();
        Outputs {
            running,
            outputs,
            missing,
        }
    }

    /// Panics with `what`'s name if one of the futures panicked in an
    /// earlier poll: its output will never come.
    fn assert_whole(&self, what: &str) {
        assert!(
            self.running.len() == self.missing,
            "`{what}` polled after one of its futures panicked"
        );
    }

    /// The next output to complete, with its input position; `None` once all
    /// are in. A finished future is dropped at once.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, F::Output)>> {
        loop {
            match self.running.poll_event(cx) {
                Poll::Ready(Some(Event::Item(id, output))) => {
                    self.running.remove(id);
                    // A fresh `Gather` numbers its slots in push order.
                    return Poll::Ready(Some((id.index(), output)));
                }
                // Unreachable, as each future is removed with its output.
                Poll::Ready(Some(Event::Ended(_))) => continue,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn store(&mut self, position: usize, output: F::Output) {
        self.outputs[position] = Some(output);
        self.missing -= 1;
    }

    /// All outputs in input order, once every future has completed.
    fn take<C: FromIterator<F::Output>>(&mut self) -> C {
        core::mem::take(&mut self.outputs)
            .into_iter()
            .map(|output| output.expect("every future has completed"))
            .collect()
    }

    fn len(&self) -> usize {
        self.running.len()
    }
}

/// Future for the [`gather_all()`] function.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct GatherAll<F: Future> {
    outputs: Outputs<F>,
    done: bool,
}

/// Runs every future of `futures` concurrently and returns their outputs in
/// input order, like Python's `asyncio.gather`.
///
/// Only the futures that were woken are polled: a poll costs O(futures woken),
/// for any number of futures. A future is dropped as soon as it completes.
/// With no futures, the result is an empty `Vec` at once. For futures that
/// return `Result`, this is the collect-all policy: every future runs to the
/// end and every result is kept; [`try_gather_all()`] stops at the first error.
///
/// # Panics
///
/// Polling the returned future after it completed panics. A panic in one of
/// the futures propagates to the caller; that future is dropped at once,
/// and polling the returned future again panics, since its output will
/// never come (the other futures are dropped with the returned future).
///
/// # Examples
///
/// ```
/// use confluo::gather_all;
///
/// # smol::block_on(async {
/// let readings = gather_all((1..=3).map(|sensor| async move { sensor * 100 })).await;
/// assert_eq!(readings, [100, 200, 300]);
/// # });
/// ```
pub fn gather_all<I>(futures: I) -> GatherAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    GatherAll {
        outputs: Outputs::new(futures),
        done: false,
    }
}

// The outputs are never pinned, whatever their type.
impl<F: Future> Unpin for GatherAll<F> {}

impl<F: Future> Future for GatherAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "`GatherAll` polled after completion");
        this.outputs.assert_whole("GatherAll");
        while let Some((position, output)) = core::task::ready!(this.outputs.poll_next(cx)) {
            this.outputs.store(position, output);
        }
        this.done = true;
        Poll::Ready(this.outputs.take())
    }
}

impl<F: Future> fmt::Debug for GatherAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherAll")
            .field("running", &self.outputs.len())
            .finish_non_exhaustive()
    }
}

/// Future for the [`try_gather_all()`] function.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TryGatherAll<F: Future> {
    outputs: Outputs<F>,
    done: bool,
}

/// Runs every future of `futures` concurrently and returns their `Ok` values
/// in input order, or the first error.
///
/// This is the fail-fast policy: when a future returns `Err`, every other
/// future is dropped at that moment (releasing what it holds) and the error
/// is returned. With no futures, the result is `Ok` of an empty `Vec` at once.
/// For the collect-all policy, use [`gather_all()`], which keeps every
/// `Result`.
///
/// # Panics
///
/// Polling the returned future after it completed panics. A panic in one of
/// the futures propagates to the caller; that future is dropped at once,
/// and polling the returned future again panics, since its output will
/// never come (the other futures are dropped with the returned future).
///
/// # Examples
///
/// ```
/// use confluo::try_gather_all;
///
/// # smol::block_on(async {
/// async fn read(sensor: u32) -> Result<u32, String> {
///     match sensor {
///         2 => Err(format!("sensor {sensor} offline")),
///         _ => Ok(sensor * 100),
///     }
/// }
///
/// assert_eq!(try_gather_all([read(0), read(1)]).await, Ok(vec![0, 100]));
/// assert_eq!(try_gather_all((0..4).map(read)).await, Err("sensor 2 offline".into()));
/// # });
/// ```
pub fn try_gather_all<I, T, E>(futures: I) -> TryGatherAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>>,
{
    TryGatherAll {
        outputs: Outputs::new(futures),
        done: false,
    }
}

impl<F: Future> Unpin for TryGatherAll<F> {}

impl<F, T, E> Future for TryGatherAll<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "`TryGatherAll` polled after completion");
        this.outputs.assert_whole("TryGatherAll");
        while let Some((position, output)) = core::task::ready!(this.outputs.poll_next(cx)) {
            if let Err(error) = output {
                this.done = true;
                // Fail fast: drop every other future now, not when `self` goes.
                this.outputs.running = Gather::new();
                return Poll::Ready(Err(error));
            }
            this.outputs.store(position, output);
        }
        this.done = true;
        Poll::Ready(this.outputs.take())
    }
}

impl<F: Future> fmt::Debug for TryGatherAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGatherAll")
            .field("running", &self.outputs.len())
            .finish_non_exhaustive()
    }
}
