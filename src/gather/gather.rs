//! [`Gather`] itself: what it holds, and what its users call. How it polls
//! is in `poll.rs`.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::iter::FromIterator;
use core::num::NonZeroU32;
use core::pin::Pin;
use core::task::Waker;

use futures_core::stream::Stream;

use super::id::SourceId;
use super::line::{locate, Line};
use super::ready::{Chunk, Node, Shared, CHUNK};
use super::registry::Registry;
use super::slots::Slots;
use crate::sync::Arc;

/// Stream for the [`gather()`] function: drives many streams concurrently and
/// yields their items as they come.
///
/// It does the work of futures' `SelectAll`, tokio-stream's `StreamMap` and
/// futures-concurrency's `StreamGroup`; its sources go by [`SourceId`]s it
/// chooses ([`KeyedGather`](crate::KeyedGather) takes keys of yours). For
/// futures that finish in any order, as in futures' `FuturesUnordered`,
/// gather `futures::stream::once` of each.
///
/// Sources come and go while it runs through [handles](Gather::handle)
/// from other tasks and threads; with a handle left, an empty `Gather`
/// waits instead of ending. [`until`](Gather::until) stops it at a signal
/// and keeps its sources, to [close](crate::guard::close_all) them.
///
/// `Gather` polls only the sources that were woken (or that just yielded an
/// item and so may have more): a wake costs O(1) and a poll costs O(sources
/// woken), so a million idle sources do not slow down one busy source.
///
/// # Ordering and fairness
///
/// Ready sources take turns, round-robin. A turn lasts until the source
/// returns `Pending` or has yielded 64 items in a row; then the source goes to
/// the back of the line, behind every source that was woken meanwhile. No
/// source can starve another, whatever its id or speed: a woken source waits
/// at most one turn of each source ahead of it. Items of one source keep their
/// order. Sources join the line as they are woken, in groups of 64
/// neighbouring slots (32 on targets without 64-bit atomics; in slot order
/// within a group), so sources woken at nearly the same moment may swap
/// places.
///
/// One call to `poll_next` polls each ready source at most once. A source that
/// keeps waking itself therefore cannot make `Gather` loop: its wake is
/// handled in the next call, and the executor gets control back in between.
///
/// # Cooperative scheduling
///
/// A source that returns `Pending` after waking itself is yielding to the
/// executor, as [`source::from_iter`](crate::source::from_iter) does, and as
/// tokio's resources do once the task has spent its cooperative budget (when
/// they wake at once). When two sources in one call do, `Gather` yields too
/// (it wakes its task and returns `Pending`) instead of polling every other
/// ready source only to be told the same.
///
/// Under tokio, turn on confluo's `tokio` feature. tokio defers the wakes
/// of resources whose task has spent its budget until the task yields, so
/// no merge can tell from the sources alone that the rest of its round
/// will say `Pending` too; with the feature, `Gather` asks tokio (through
/// its public `task::coop` API) before it polls each source in line, and
/// once the budget is spent it yields, the sources left keeping their
/// place for the next call. Without it, the sources after the budget ran
/// out are each polled for nothing, and polled again. Inside
/// `tokio::task::unconstrained` there is no budget to spend; outside a
/// tokio runtime the feature changes nothing.
///
/// # Wakers
///
/// The waker `Gather` gives each source is `Send + Sync` and may be fired
/// from any thread, any number of times. A wake costs one atomic
/// read-modify-write (plus a link and a task wake when it is the first of
/// its group of 64 sources since the last poll). Fired after its source
/// ended or was removed, or after the `Gather` was dropped, it costs only a
/// check, and a wake still pending when its source left never reaches the
/// slot's next source; only a wake racing with that very removal on another
/// thread may cost the next source one extra poll.
///
/// # Panicking sources
///
/// A source whose `poll_next` panics is removed and dropped while the panic
/// unwinds (as futures-util's `FuturesUnordered` does), and the panic goes on
/// to the caller. Where the panic is caught (`catch_unwind`, as servers and
/// test harnesses do), the `Gather` goes on with its other sources and ends
/// when they end: a source that panicked is never polled again and never
/// counted in [`len`](Gather::len). Dropping it releases what it holds at
/// once; a [`guard`](crate::guard::guard) says [`Release::Panicked`] (with
/// `std`). If dropping it panics too, the process aborts, as for any panic
/// during unwinding.
///
/// [`Release::Panicked`]: crate::guard::Release
///
/// # Memory
///
/// Each source is boxed (so it need not be `Unpin`). Beside it, `Gather`
/// keeps 48 bytes per source on 64-bit targets (a 16-byte slot and a 32-byte
/// waker allocation) and about a byte for woken bits and scheduling marks.
/// Woken sources wait for their turn as bits, 64 to an entry, and sources
/// pushed one after another as one entry; only a source that used up its
/// turn and is still ready takes a 16-byte entry of its own, and the line
/// keeps its capacity for the next burst.
///
/// # Examples
///
/// ```
/// use confluo::gather;
/// use futures::StreamExt;
///
/// # smol::block_on(async {
/// let sources = (0..3).map(|sensor| futures::stream::iter([sensor * 10, sensor * 10 + 1]));
/// let mut readings: Vec<i32> = gather(sources).collect().await;
/// readings.sort();
/// assert_eq!(readings, [0, 1, 10, 11, 20, 21]);
/// # });
/// ```
#[doc(alias = "select_all")]
#[doc(alias = "merge")]
#[doc(alias = "SelectAll")]
#[doc(alias = "StreamMap")]
#[doc(alias = "StreamGroup")]
#[doc(alias = "FuturesUnordered")]
#[must_use = "streams do nothing unless polled"]
pub struct Gather<S> {
    pub(super) slots: Slots<S>,
    pub(super) line: Line,
    /// The waker of the source polled last, built when its turn began and
    /// reused while it lasts, so a busy source's polls cost no reference
    /// counting.
    pub(super) waker: Option<(SourceId, Waker)>,
    /// The task waker stored in `shared` last, to store it only when it
    /// changes.
    pub(super) task_waker: Option<Waker>,
    pub(super) shared: Arc<Shared>,
    /// The woken bits of every `CHUNK` slots, made as slots are.
    pub(super) chunks: Vec<Arc<Chunk>>,
    /// What the `Gather` shares with its handles, once it has had one.
    pub(super) registry: Option<Arc<Registry<S>>>,
}

/// Drives every stream of `sources` concurrently and yields their items as
/// they come, like futures' `select_all` and futures-concurrency's `merge`.
///
/// See [`Gather`] for ordering, fairness and the empty case.
///
/// # Panics
///
/// If `sources` yields more than `u32::MAX - 1` streams.
///
/// # Examples
///
/// ```
/// use confluo::gather;
/// use futures::StreamExt;
///
/// # smol::block_on(async {
/// let fast = futures::stream::iter(vec![1, 2, 3]);
/// let slow = futures::stream::iter(vec![4, 5, 6]);
/// let total: i32 = gather([fast, slow]).fold(0, |sum, x| async move { sum + x }).await;
/// assert_eq!(total, 21);
/// # });
/// ```
#[doc(alias = "select_all")]
#[doc(alias = "merge")]
pub fn gather<I>(sources: I) -> Gather<I::Item>
where
    I: IntoIterator,
    I::Item: Stream,
{
    sources.into_iter().collect()
}

impl<S> Gather<S> {
    /// The most items a ready source yields in a row before the next ready
    /// source gets its turn.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    /// use futures::StreamExt;
    ///
    /// # smol::block_on(async {
    /// let busy = futures::stream::repeat;
    /// let mut gather = confluo::gather([busy('a'), busy('b')]);
    /// let turn = Gather::<futures::stream::Empty<()>>::TURN as usize;
    /// let first: Vec<char> = gather.by_ref().take(2 * turn).collect().await;
    /// assert!(first[..turn].iter().all(|&c| c == 'a'));
    /// assert!(first[turn..].iter().all(|&c| c == 'b'));
    /// # });
    /// ```
    pub const TURN: u32 = 64;

    /// An empty `Gather`; as a stream it ends at once until a source is
    /// pushed (or, once it has [handles](Self::handle), waits for one).
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    ///
    /// let gather: Gather<futures::stream::Empty<u8>> = Gather::new();
    /// assert!(gather.is_empty());
    /// ```
    pub fn new() -> Self {
        Gather {
            slots: Slots::new(),
            line: Line::new(NonZeroU32::new(Self::TURN).expect("not zero")),
            waker: None,
            task_waker: None,
            shared: Shared::new(),
            chunks: Vec::new(),
            registry: None,
        }
    }

    /// Sets the most items a ready source yields in a row before the next
    /// ready source gets its turn: [`TURN`](Self::TURN) by default; 1 for
    /// strict per-item round-robin, at some cost in throughput when many
    /// sources are busy.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    /// use futures::StreamExt;
    /// use std::num::NonZeroU32;
    ///
    /// # smol::block_on(async {
    /// let busy = futures::stream::repeat;
    /// let gather = confluo::gather([busy('a'), busy('b')]).with_turn(NonZeroU32::MIN);
    /// assert_eq!(gather.turn().get(), 1);
    /// let first: String = gather.take(6).collect().await;
    /// assert_eq!(first, "ababab");
    /// # });
    /// ```
    pub fn with_turn(mut self, items: NonZeroU32) -> Self {
        self.line.set_turn_len(items);
        self
    }

    /// The most items a ready source yields in a row: see
    /// [`with_turn`](Self::with_turn).
    ///
    /// # Examples
    ///
    /// ```
    /// let gather = confluo::gather([futures::stream::iter([1])]);
    /// assert_eq!(gather.turn().get(), confluo::Gather::<futures::stream::Empty<u8>>::TURN);
    /// ```
    pub fn turn(&self) -> NonZeroU32 {
        self.line.turn_len()
    }

    /// The number of sources that have not ended or been removed.
    ///
    /// # Examples
    ///
    /// ```
    /// let gather = confluo::gather([futures::stream::iter([1]), futures::stream::iter([2])]);
    /// assert_eq!(gather.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no source is left.
    ///
    /// # Examples
    ///
    /// ```
    /// let gather = confluo::gather(Vec::<futures::stream::Empty<u8>>::new());
    /// assert!(gather.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.slots.len() == 0
    }

    /// Adds a source and returns its id. The source is polled on the next
    /// call to `poll_next`; a task waiting on this `Gather` is woken for it.
    ///
    /// # Panics
    ///
    /// If the `Gather` already holds `u32::MAX - 1` sources.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    /// use futures::StreamExt;
    ///
    /// # smol::block_on(async {
    /// let mut gather = Gather::new();
    /// gather.push(futures::stream::iter([7]));
    /// assert_eq!(gather.next().await, Some(7));
    /// # });
    /// ```
    pub fn push(&mut self, stream: S) -> SourceId {
        let (chunks, line, shared) = (&mut self.chunks, &mut self.line, &self.shared);
        let id = self.slots.insert(stream, |index, generation| {
            node(chunks, line, shared, index, generation)
        });
        self.join(id);
        self.shared.wake_task();
        id
    }

    /// Puts a source pushed through a handle in the slot of its id.
    pub(super) fn push_at(&mut self, id: SourceId, stream: S) {
        let (chunks, line, shared) = (&mut self.chunks, &mut self.line, &self.shared);
        self.slots.insert_at(id, stream, |index, generation| {
            node(chunks, line, shared, index, generation)
        });
        self.join(id);
    }

    /// A new source joins the line at once, with no wake to go through.
    fn join(&mut self, id: SourceId) {
        self.line.pushed(id.slot());
    }

    /// Removes the source with this id and returns it, or `None` if the id is
    /// stale (the source ended or was removed) or unknown. Dropping the
    /// returned stream releases it at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::Gather;
    ///
    /// let mut gather = Gather::new();
    /// let id = gather.push(futures::stream::pending::<u8>());
    /// let source = gather.remove(id);
    /// assert!(source.is_some());
    /// assert!(gather.is_empty());
    /// assert!(gather.remove(id).is_none());
    /// ```
    pub fn remove(&mut self, id: SourceId) -> Option<Pin<Box<S>>> {
        // A push through a handle that is still queued is taken first.
        self.take_changes();
        self.remove_held(id)
    }

    /// Removes the source `id`, if it is held, with no look at the handles.
    pub(super) fn remove_held(&mut self, id: SourceId) -> Option<Pin<Box<S>>> {
        self.slots.contains(id).then(|| self.leave(id))
    }

    /// Takes the source `id`, which is held, out of the `Gather`.
    pub(super) fn leave(&mut self, id: SourceId) -> Pin<Box<S>> {
        self.line.left(id.slot());
        if matches!(&self.waker, Some((last, _)) if *last == id) {
            self.waker = None;
        }
        let (chunk, bit) = locate(id.slot());
        let chunk = &self.chunks[chunk];
        self.slots.remove(id, || chunk.is_woken(bit))
    }
}

/// The waker node of slot `index`, making its chunk (and those before it,
/// for slots whose ids went out through handles) if it is the first.
fn node(
    chunks: &mut Vec<Arc<Chunk>>,
    line: &mut Line,
    shared: &Arc<Shared>,
    index: u32,
    generation: u32,
) -> Arc<Node> {
    let chunk = index as usize / CHUNK;
    while chunks.len() <= chunk {
        chunks.push(Chunk::new(shared, chunks.len() as u32));
        line.add_chunk();
    }
    Node::new(&chunks[chunk], index, generation)
}

impl<S> Drop for Gather<S> {
    fn drop(&mut self) {
        self.shared.close();
        if let Some(registry) = &self.registry {
            registry.close();
        }
    }
}

impl<S> Default for Gather<S> {
    fn default() -> Self {
        Gather::new()
    }
}

impl<S> fmt::Debug for Gather<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<S: Stream> FromIterator<S> for Gather<S> {
    fn from_iter<I: IntoIterator<Item = S>>(sources: I) -> Self {
        let mut gather = Gather::new();
        gather.extend(sources);
        gather
    }
}

impl<S: Stream> Extend<S> for Gather<S> {
    fn extend<I: IntoIterator<Item = S>>(&mut self, sources: I) {
        let sources = sources.into_iter();
        self.slots.reserve(sources.size_hint().0);
        for source in sources {
            self.push(source);
        }
    }
}
