use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::teardown::Finally;

/// Why a guarded source was released, as its release action is told.
///
/// # Examples
///
/// ```
/// use confluo::guard::{guard, Release};
/// use futures::StreamExt;
///
/// # smol::block_on(async {
/// let (sender, released) = std::sync::mpsc::channel();
/// let mut source = guard(futures::stream::iter([1, 2]), move |why| sender.send(why).unwrap());
/// assert_eq!(source.next().await, Some(1));
/// drop(source); // abandoned mid-stream
/// assert_eq!(released.try_recv(), Ok(Release::Dropped));
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Release {
    /// The source ended: its stream returned `None`.
    Ended,
    /// The source was closed with [`Guarded::close`] (after its goodbye).
    Closed,
    /// The source was dropped before it ended: a `break`, a cancelled task,
    /// removal from a `Gather`, a fail-fast error elsewhere, or a close cut
    /// short.
    Dropped,
    /// The source was dropped while its thread unwound from a panic. Needs
    /// `std` to tell; without it, such drops report `Dropped`.
    Panicked,
}

/// An async goodbye for [`Guarded::close`]: what a source says before it is
/// released (a closing message, a flush).
///
/// Implemented for closures `FnOnce() -> impl Future<Output = ()>`, and for
/// [`NoGoodbye`].
///
/// # Examples
///
/// ```
/// use confluo::guard::Goodbye;
///
/// fn takes_a_goodbye(goodbye: impl Goodbye) -> impl std::future::Future<Output = ()> {
///     goodbye.start()
/// }
/// smol::block_on(takes_a_goodbye(|| async { /* send "bye" */ }));
/// ```
pub trait Goodbye {
    /// The goodbye in progress.
    type Future: Future<Output = ()>;

    /// Starts the goodbye.
    fn start(self) -> Self::Future;
}

impl<F, Fut> Goodbye for F
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    type Future = Fut;

    fn start(self) -> Fut {
        self()
    }
}

/// The goodbye of a source that has nothing to say: closing it releases it
/// at once.
///
/// # Examples
///
/// ```
/// use confluo::guard::{Goodbye, NoGoodbye};
///
/// smol::block_on(NoGoodbye.start());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGoodbye;

impl Goodbye for NoGoodbye {
    type Future = core::future::Ready<()>;

    fn start(self) -> Self::Future {
        core::future::ready(())
    }
}

/// A source that can be closed gracefully: the interface of
/// [`Guarded::close`] as a poll method, so that closing many sources at once
/// (see [`close_all`](super::close_all)) needs no boxing.
///
/// # Examples
///
/// ```
/// use confluo::guard::{guard, Close, Release};
/// use std::task::{Context, Waker};
///
/// let (sender, released) = std::sync::mpsc::channel();
/// let mut source = Box::pin(guard(futures::stream::iter([1]), move |why| sender.send(why).unwrap()));
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(source.as_mut().poll_close(&mut cx).is_ready());
/// assert_eq!(released.try_recv(), Ok(Release::Closed));
/// ```
pub trait Close {
    /// Drives the close: `Ready` once the source said its goodbye and was
    /// released, at once if it was released already.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

pin_project! {
    /// Stream for the [`guard`] function: the source, transparent, plus its
    /// release action.
    #[must_use = "streams do nothing unless polled"]
    #[project = GuardedProj]
    pub struct Guarded<S, R, G>
    where
        R: FnOnce(Release),
        G: Goodbye,
    {
        #[pin]
        stream: Option<S>,
        release: Option<R>,
        goodbye: Option<G>,
        #[pin]
        closing: Option<G::Future>,
    }

    impl<S, R, G> PinnedDrop for Guarded<S, R, G>
    where
        R: FnOnce(Release),
        G: Goodbye,
    {
        fn drop(this: Pin<&mut Self>) {
            this.project().release_now(dropped_or_panicked());
        }
    }
}

/// Wraps `stream` so that `release` runs exactly once, told why, at the
/// moment the source is done with: when the stream ends, when it is closed
/// with [`Guarded::close`], or when it is dropped (a `break`, a cancelled
/// task, a panic unwinding).
///
/// The guarded stream is otherwise transparent: the same items, `size_hint`
/// and `FusedStream` (it is always fused: after the end it returns `None`).
/// When the release runs, the inner stream is dropped first, and with it the
/// goodbye (see [`Guarded::goodbye`]), said or not, so their own resources
/// are freed by then.
///
/// This is what Python's `aclose()` does late and by hand: release here is
/// deterministic, and happens without anyone remembering to call it.
///
/// # Panics
///
/// `release` runs exactly once on every path, also when user code panics
/// on the way: a destructor (of the inner stream, of a goodbye in progress,
/// of a goodbye not said) that panics does not skip the other destructors
/// nor the release, which is told the reason it would have been told
/// anyway. The release runs first, then that panic goes on.
///
/// A panic in `release` propagates to the caller, except while the thread is
/// already unwinding (`Release::Panicked`, or a destructor's panic on its
/// way): then it is caught and dropped (with `std`), because a second panic
/// would abort the process. The same holds for the destructors run while
/// unwinding. Without `std` nothing can catch such a second panic, and it
/// aborts, as any panic while unwinding does; a single panic still never
/// skips the release.
///
/// # Examples
///
/// ```
/// use confluo::guard::{guard, Release};
/// use futures::StreamExt;
///
/// # smol::block_on(async {
/// let (sender, released) = std::sync::mpsc::channel();
/// let readings = guard(futures::stream::iter([20.5, 20.7]), move |why| sender.send(why).unwrap());
/// assert_eq!(readings.collect::<Vec<_>>().await, [20.5, 20.7]);
/// assert_eq!(released.try_recv(), Ok(Release::Ended));
/// assert!(released.try_recv().is_err()); // exactly once
/// # });
/// ```
pub fn guard<S, R>(stream: S, release: R) -> Guarded<S, R, NoGoodbye>
where
    S: Stream,
    R: FnOnce(Release),
{
    Guarded {
        stream: Some(stream),
        release: Some(release),
        goodbye: Some(NoGoodbye),
        closing: None,
    }
}

impl<S, R: FnOnce(Release), G: Goodbye> Guarded<S, R, G> {
    /// Gives the source an async goodbye, said by [`Guarded::close`] before
    /// the release; a source that is simply dropped or ends says none, and
    /// its goodbye is dropped, unsaid, just before the release. A goodbye
    /// given before is dropped now.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::guard::{guard, Release};
    /// use std::sync::{Arc, Mutex};
    ///
    /// # smol::block_on(async {
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// let (said, released) = (Arc::clone(&log), Arc::clone(&log));
    /// let source = guard(futures::stream::pending::<u8>(), move |why| released.lock().unwrap().push(format!("{why:?}")))
    ///     .goodbye(move || async move { said.lock().unwrap().push("bye".to_string()) });
    /// let mut source = std::pin::pin!(source);
    /// source.as_mut().close().await;
    /// assert_eq!(*log.lock().unwrap(), ["bye", "Closed"]);
    /// # });
    /// ```
    pub fn goodbye<G2: Goodbye>(self, goodbye: G2) -> Guarded<S, R, G2> {
        let mut this = self;
        // The goodbye replaced goes first, while `this` still holds the
        // release: should its destructor panic, dropping `this` releases.
        this.closing = None;
        this.goodbye = None;
        Guarded {
            stream: this.stream.take(),
            release: this.release.take(),
            goodbye: Some(goodbye),
            closing: None,
        }
    }

    /// True once the release has run.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::guard::guard;
    /// use futures::StreamExt;
    ///
    /// # smol::block_on(async {
    /// let mut source = guard(futures::stream::iter([1]), |_| ());
    /// source.next().await;
    /// assert!(!source.is_released());
    /// source.next().await;
    /// assert!(source.is_released());
    /// # });
    /// ```
    pub fn is_released(&self) -> bool {
        self.release.is_none()
    }

    /// Closes the source gracefully, the `aclose()` counterpart: its goodbye
    /// runs to the end, then the source is dropped and released with
    /// [`Release::Closed`]. Closing a released source does nothing, so
    /// closing twice is harmless. After a close started, the stream yields
    /// no more items.
    ///
    /// # Cancel safety
    ///
    /// Dropping the close half-way leaves the goodbye where it stopped (the
    /// guard holds it): a later close resumes it, and dropping the guard
    /// drops it and releases the source with [`Release::Dropped`]. Either
    /// way the release runs exactly once, also when the goodbye panics as it
    /// is dropped (see the `# Panics` section of [`guard`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::guard::{guard, Release};
    /// use futures::StreamExt;
    /// use std::sync::{Arc, Mutex};
    ///
    /// # smol::block_on(async {
    /// let why = Arc::new(Mutex::new(Vec::new()));
    /// let released = Arc::clone(&why);
    /// let source = guard(futures::stream::repeat(7), move |reason| released.lock().unwrap().push(reason));
    /// let mut source = std::pin::pin!(source);
    /// assert_eq!(source.next().await, Some(7));
    /// source.as_mut().close().await;
    /// source.as_mut().close().await; // harmless
    /// assert_eq!(source.next().await, None);
    /// assert_eq!(*why.lock().unwrap(), [Release::Closed]);
    /// # });
    /// ```
    pub fn close(self: Pin<&mut Self>) -> Closing<'_, Self> {
        Closing { source: self }
    }
}

impl<S, R: FnOnce(Release), G: Goodbye> GuardedProj<'_, S, R, G> {
    /// Tears the source down: drops the goodbye in progress, the goodbye
    /// not said and the stream, in that order, then runs the release action,
    /// once. Each step runs whatever the steps before it did: a panic in a
    /// destructor goes on after the release (see the `# Panics` section of
    /// [`guard`]).
    fn release_now(&mut self, why: Release) {
        // Locals drop in reverse order: the last declared runs first.
        let release = self.release.take();
        let _release = Finally::new(move || {
            if let Some(release) = release {
                release(why);
            }
        });
        let _stream = Finally::new(|| self.stream.set(None));
        let _goodbye = Finally::new(|| *self.goodbye = None);
        let _closing = Finally::new(|| self.closing.set(None));
    }
}

/// `Dropped`, or `Panicked` when the thread is unwinding (with `std`).
fn dropped_or_panicked() -> Release {
    #[cfg(feature = "std")]
    if std::thread::panicking() {
        return Release::Panicked;
    }
    Release::Dropped
}

impl<S, R, G> Stream for Guarded<S, R, G>
where
    S: Stream,
    R: FnOnce(Release),
    G: Goodbye,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        if this.closing.is_some() {
            return Poll::Ready(None);
        }
        let Some(stream) = this.stream.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let item = core::task::ready!(stream.poll_next(cx));
        if item.is_none() {
            this.release_now(Release::Ended);
        }
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.stream {
            Some(stream) if self.closing.is_none() => stream.size_hint(),
            _ => (0, Some(0)),
        }
    }
}

impl<S, R, G> FusedStream for Guarded<S, R, G>
where
    S: Stream,
    R: FnOnce(Release),
    G: Goodbye,
{
    fn is_terminated(&self) -> bool {
        self.stream.is_none() || self.closing.is_some()
    }
}

impl<S, R, G> Close for Guarded<S, R, G>
where
    R: FnOnce(Release),
    G: Goodbye,
{
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        if this.release.is_none() {
            return Poll::Ready(());
        }
        if this.closing.is_none() {
            if let Some(goodbye) = this.goodbye.take() {
                this.closing.set(Some(goodbye.start()));
            }
        }
        if let Some(goodbye) = this.closing.as_mut().as_pin_mut() {
            core::task::ready!(goodbye.poll(cx));
        }
        this.release_now(Release::Closed);
        Poll::Ready(())
    }
}

impl<S, R, G> fmt::Debug for Guarded<S, R, G>
where
    R: FnOnce(Release),
    G: Goodbye,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guarded")
            .field("released", &self.release.is_none())
            .field("closing", &self.closing.is_some())
            .finish_non_exhaustive()
    }
}

/// Future for [`Guarded::close`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Closing<'a, C: ?Sized> {
    source: Pin<&'a mut C>,
}

impl<C: Close + ?Sized> Future for Closing<'_, C> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.source.as_mut().poll_close(cx)
    }
}

impl<C: ?Sized> fmt::Debug for Closing<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closing").finish_non_exhaustive()
    }
}
