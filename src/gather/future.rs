use alloc::vec::Vec;
use core::convert::Infallible;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::Stream;
use pin_project_lite::pin_project;

use super::{Event, Gather};

pin_project! {
    /// A future as a stream of its one output, with its input position.
    struct Once<F> {
        position: usize,
        #[pin]
        future: Option<F>,
    }
}

impl<F: Future> Stream for Once<F> {
    type Item = (usize, F::Output);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let mut future = this.future;
        let Some(running) = future.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let output = core::task::ready!(running.poll(cx));
        future.set(None);
        Poll::Ready(Some((*this.position, output)))
    }
}

/// Futures run on a [`Gather`], their outputs kept in input order.
struct Outputs<F: Future, T> {
    running: Gather<Once<F>>,
    outputs: Vec<Option<T>>,
    /// Outputs not stored yet: one per running future, unless a future
    /// panicked (the `Gather` dropped it, and its output never comes).
    missing: usize,
}

impl<F: Future, T> Outputs<F, T> {
    fn new(futures: impl IntoIterator<Item = F>) -> Self {
        let running: Gather<_> = futures
            .into_iter()
            .enumerate()
            .map(|(position, future)| Once {
                position,
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

    /// Runs the futures until every output is in, kept by `keep` (then all
    /// of them, in input order), or until `keep` turns one down: the other
    /// futures are then dropped at once, and its error returned.
    ///
    /// # Panics
    ///
    /// If one of the futures panicked in an earlier poll: its output will
    /// never come. `what` names the future for the message.
    fn poll_all<C: FromIterator<T>, E>(
        &mut self,
        cx: &mut Context<'_>,
        what: &str,
        mut keep: impl FnMut(F::Output) -> Result<T, E>,
    ) -> Poll<Result<C, E>> {
        assert!(
            self.running.len() == self.missing,
            "`{what}` polled after one of its futures panicked"
        );
        loop {
            match core::task::ready!(self.running.poll_event(cx)) {
                Some(Event::Item(id, (position, output))) => {
                    // Its slot is freed now, not when it is next polled.
                    self.running.remove(id);
                    match keep(output) {
                        Ok(output) => {
                            self.outputs[position] = Some(output);
                            self.missing -= 1;
                        }
                        Err(error) => {
                            self.running = Gather::new();
                            return Poll::Ready(Err(error));
                        }
                    }
                }
                // Unreachable, as each future is removed with its output.
                Some(Event::Ended(_)) => {}
                None => {
                    let outputs = core::mem::take(&mut self.outputs).into_iter();
                    let all = outputs.map(|output| output.expect("every future has completed"));
                    return Poll::Ready(Ok(all.collect()));
                }
            }
        }
    }

    fn len(&self) -> usize {
        self.running.len()
    }
}

/// Future for the [`gather_all()`] function.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct GatherAll<F: Future> {
    outputs: Outputs<F, F::Output>,
    done: bool,
}

/// Runs every future of `futures` concurrently and returns their outputs in
/// input order, like futures' `join_all` and Python's `asyncio.gather`.
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
#[doc(alias = "join_all")]
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
        let outputs = this.outputs.poll_all(cx, "GatherAll", Ok::<_, Infallible>);
        let outputs = core::task::ready!(outputs).unwrap_or_else(|never| match never {});
        this.done = true;
        Poll::Ready(outputs)
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
    outputs: Outputs<F, F::Output>,
    done: bool,
}

/// Runs every future of `futures` concurrently and returns their `Ok` values
/// in input order, or the first error, like futures' `try_join_all`.
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
#[doc(alias = "try_join_all")]
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
        // An `Ok` is kept as it is, so the outputs collect into the result
        // in one pass.
        let outputs = core::task::ready!(this.outputs.poll_all(cx, "TryGatherAll", |output| {
            match output {
                Err(error) => Err(error),
                ok => Ok(ok),
            }
        }));
        this.done = true;
        Poll::Ready(outputs.and_then(|all| all))
    }
}

impl<F: Future> fmt::Debug for TryGatherAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGatherAll")
            .field("running", &self.outputs.len())
            .finish_non_exhaustive()
    }
}
