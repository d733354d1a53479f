use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use core::iter::FromIterator;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use futures_core::stream::{FusedStream, Stream};

use super::ready::{Chunk, Node, Shared, CHUNK, GENERATION};
use crate::sync::{Arc, Word};

/// Identifies one source inside a [`Gather`].
///
/// Ids are unique among the sources a `Gather` holds at one time. An id stays
/// attached to its source: once the source has ended or was removed, its id is
/// *stale* and names nothing, even when a later source reuses its slot
/// (a generation counter tells them apart; it wraps after 2³¹ reuses of one
/// slot).
///
/// # Examples
///
/// ```
/// use confluo::Gather;
///
/// let mut gather = Gather::new();
/// let a = gather.push(futures::stream::iter([1, 2]));
/// let b = gather.push(futures::stream::iter([3, 4]));
/// assert_ne!(a, b);
/// assert!(gather.remove(a).is_some());
/// assert!(gather.remove(a).is_none()); // stale now
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId {
    index: u32,
    generation: u32,
}

impl SourceId {
    /// The source's slot: unique among the sources a `Gather` holds at one
    /// time, and small (slots are reused), so it suits routing a source's
    /// records, as with [`Router::pump_by`](crate::Router::pump_by). A fresh
    /// `Gather` numbers its slots from zero in push order.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut gather = confluo::Gather::new();
    /// let first = gather.push(futures::stream::iter([1]));
    /// let second = gather.push(futures::stream::iter([2]));
    /// assert_eq!((first.index(), second.index()), (0, 1));
    /// ```
    pub fn index(self) -> usize {
        self.index as usize
    }
}

impl fmt::Debug for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceId({}v{})", self.index, self.generation)
    }
}

/// What [`Gather::poll_event`] reports: an item with the id of its source, or
/// the end of a source.
///
/// # Examples
///
/// ```
/// use confluo::{Event, Gather};
/// use futures::StreamExt;
///
/// # smol::block_on(async {
/// let mut gather = Gather::new();
/// let id = gather.push(futures::stream::iter(["reading"]));
/// let mut events = gather.events();
/// assert_eq!(events.next().await, Some(Event::Item(id, "reading")));
/// assert_eq!(events.next().await, Some(Event::Ended(id)));
/// assert_eq!(events.next().await, None);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<T> {
    /// The source with this id yielded an item.
    Item(SourceId, T),
    /// The source with this id ended (returned `None`) and was dropped.
    Ended(SourceId),
}

/// A slot holds a source and its node (two pointers), or, once free, the
/// generation its next source gets and the next free slot.
enum Slot<S> {
    Occupied {
        stream: Pin<Box<S>>,
        node: Arc<Node>,
    },
    Vacant {
        generation: u32,
        next_free: u32,
    },
}

/// A place in the line of sources waiting for a turn.
#[derive(Clone, Copy)]
enum Entry {
    /// A source that used up its turn and is still ready.
    Source(SourceId),
    /// The sources of one chunk that were woken together: bit `i` stands
    /// for the chunk's slot `i`. One entry for up to 64 sources keeps the
    /// line small when thousands wake at once.
    Woken { chunk: u32, bits: Word },
    /// New sources in slots `start..end`, pushed one after another: one
    /// entry for all the sources of a new `Gather`.
    Pushed { start: u32, end: u32 },
}

/// What polling one source gave.
enum Polled<O> {
    /// Something to report: an item, or an end if the caller wants ends.
    Out(O),
    /// Pending, but woken already: the source yields to the executor.
    Yielded,
    /// Nothing to report: pending until a wake, ended while the caller
    /// passes over ends, or a stale id (nothing was polled).
    Quiet,
}

/// How a call reports what it polled. Each way builds its own output, so
/// the per-item path moves the item once, with no `Event` to unpack.
trait Report<T> {
    type Out;
    fn item(id: SourceId, item: T) -> Self::Out;
    /// The end of a source, or `None` to pass over it and go on.
    fn ended(id: SourceId) -> Option<Self::Out>;
}

/// `Gather` as a `Stream`: bare items; ends are passed over.
struct Items;

impl<T> Report<T> for Items {
    type Out = T;
    #[inline(always)]
    fn item(_: SourceId, item: T) -> T {
        item
    }
    #[inline(always)]
    fn ended(_: SourceId) -> Option<T> {
        None
    }
}

/// [`Gather::poll_event`]: items with their ids, and ends.
struct WithIds;

impl<T> Report<T> for WithIds {
    type Out = Event<T>;
    #[inline(always)]
    fn item(id: SourceId, item: T) -> Event<T> {
        Event::Item(id, item)
    }
    #[inline(always)]
    fn ended(id: SourceId) -> Option<Event<T>> {
        Some(Event::Ended(id))
    }
}

/// Armed while a source is polled: dropped only if the poll panics, and
/// then it drops that source (the one whose waker is cached).
struct Unwinding<'a, S>(&'a mut Gather<S>);

impl<S> Drop for Unwinding<'_, S> {
    fn drop(&mut self) {
        self.0.source_panicked();
    }
}

/// What only the `Gather` knows of the sources of one chunk, a bit per slot;
/// it needs no atomics.
#[derive(Clone, Copy, Default)]
struct Marks {
    /// Set while the source has the turn or waits in line with an entry of
    /// its own, so a wake does not give it a second place.
    scheduled: Word,
    /// Set while the source waits in line for a turn it was woken (or
    /// pushed) for, and cleared when its entry comes up or the source
    /// leaves: an entry made before a source left skips the slot's next
    /// source.
    waiting: Word,
}

/// The slot's chunk, and its bit in the chunk's words.
fn locate(index: usize) -> (usize, Word) {
    (index / CHUNK, 1 << (index % CHUNK))
}

/// End of the free list.
const NONE: u32 = u32::MAX;

/// Stream for the [`gather()`] function: drives many streams concurrently and
/// yields their items as they come.
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
/// Under tokio, run the task that drives a large `Gather` inside
/// `tokio::task::unconstrained`. On the current-thread runtime tokio defers
/// the wakes of resources whose budget is spent until its next turn, so no
/// merge can tell, while it polls, that the rest will say `Pending` too:
/// 100,000 timer-driven sources then take a hundred round trips or more per cycle
/// (`BENCHMARKS.md`, W3). `unconstrained` lifts the budget; the task still
/// returns `Pending` whenever no source is ready, which for an ingestion task
/// whose records go to other threads is the right time to yield.
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
#[must_use = "streams do nothing unless polled"]
pub struct Gather<S> {
    slots: Vec<Slot<S>>,
    free: u32,
    len: usize,
    /// The line of sources waiting for a turn, front first. Sources removed
    /// meanwhile are skipped: by their generation, or by their wake having
    /// been taken.
    run: VecDeque<Entry>,
    /// The source in the middle of its turn, if any; it is polled first.
    turn: Option<SourceId>,
    /// Items yielded in the current turn.
    streak: u32,
    /// The waker of the source polled last, built when its turn began and
    /// reused while it lasts, so a busy source's polls cost no reference
    /// counting.
    waker: Option<(SourceId, Waker)>,
    /// The task waker stored in `shared` last, to store it only when it
    /// changes.
    task_waker: Option<Waker>,
    shared: Arc<Shared>,
    /// The woken bits of every `CHUNK` slots, made as slots are.
    chunks: Vec<Arc<Chunk>>,
    /// The scheduling marks of every chunk.
    marks: Vec<Marks>,
    /// Slots left while a wake of their source was still in its chunk's
    /// word: they join the free list once that wake is taken (and skipped),
    /// so it cannot reach the slot's next source.
    quarantine: Vec<u32>,
}

/// Drives every stream of `sources` concurrently and yields their items as
/// they come.
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

    /// An empty `Gather`; as a stream it ends at once until a source is pushed.
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
            slots: Vec::new(),
            free: NONE,
            len: 0,
            run: VecDeque::new(),
            turn: None,
            streak: 0,
            waker: None,
            task_waker: None,
            shared: Shared::new(),
            chunks: Vec::new(),
            marks: Vec::new(),
            quarantine: Vec::new(),
        }
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
        self.len
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
        self.len == 0
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
        let (index, generation) = match self.free {
            NONE => {
                let index = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&index| index != NONE)
                    .expect("a Gather holds at most u32::MAX - 1 sources");
                self.slots.push(Slot::Vacant {
                    generation: 0,
                    next_free: NONE,
                });
                (index, 0)
            }
            index => match self.slots[index as usize] {
                Slot::Vacant {
                    generation,
                    next_free,
                } => {
                    self.free = next_free;
                    (index, generation)
                }
                Slot::Occupied { .. } => unreachable!("the free list names vacant slots"),
            },
        };
        let (chunk, bit) = locate(index as usize);
        if chunk == self.chunks.len() {
            self.chunks.push(Chunk::new(&self.shared, chunk as u32));
            self.marks.push(Marks::default());
        }
        let node = Node::new(&self.chunks[chunk], index, generation);
        self.slots[index as usize] = Slot::Occupied {
            stream: Box::pin(stream),
            node,
        };
        // A new source joins the line at once, with no wake to go through,
        // and a task waiting on this `Gather` is woken for it.
        self.marks[chunk].waiting |= bit;
        match self.run.back_mut() {
            Some(Entry::Pushed { end, .. }) if *end == index => *end += 1,
            _ => self.run.push_back(Entry::Pushed {
                start: index,
                end: index + 1,
            }),
        }
        self.shared.wake_task();
        self.len += 1;
        SourceId { index, generation }
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
        if !self.contains(id) {
            return None;
        }
        Some(self.vacate(id))
    }

    /// True if `id` names a source that is still there.
    fn contains(&self, id: SourceId) -> bool {
        matches!(
            self.slots.get(id.index()),
            Some(Slot::Occupied { node, .. }) if node.generation() == id.generation
        )
    }

    /// Frees an occupied slot and returns its stream. Entries in line that
    /// still name the slot are skipped later: by the generation in a
    /// `Source` entry, by the `waiting` mark for a `Woken` one.
    fn vacate(&mut self, id: SourceId) -> Pin<Box<S>> {
        let vacant = Slot::Vacant {
            generation: id.generation.wrapping_add(1) & GENERATION,
            next_free: NONE,
        };
        let Slot::Occupied { stream, node } =
            core::mem::replace(&mut self.slots[id.index()], vacant)
        else {
            unreachable!("vacate an occupied slot")
        };
        node.retire();
        let (chunk, bit) = locate(id.index());
        let marks = &mut self.marks[chunk];
        marks.scheduled &= !bit;
        marks.waiting &= !bit;
        if matches!(&self.waker, Some((last, _)) if *last == id) {
            self.waker = None;
        }
        if self.chunks[chunk].is_woken(bit) {
            self.quarantine.push(id.index);
        } else {
            self.free_slot(id.index);
        }
        self.len -= 1;
        stream
    }

    /// Drops the source polled last, whose `poll_next` panicked, while the
    /// panic unwinds (futures-util's `FuturesUnordered` does the same).
    #[cold]
    #[inline(never)]
    fn source_panicked(&mut self) {
        self.turn = None;
        self.streak = 0;
        if let Some((id, _)) = self.waker {
            drop(self.vacate(id));
        }
    }

    /// Puts a vacant slot on the free list.
    fn free_slot(&mut self, index: u32) {
        if let Slot::Vacant { next_free, .. } = &mut self.slots[index as usize] {
            *next_free = self.free;
            self.free = index;
        }
    }

    /// Takes every source out, in slot order, leaving nothing behind; the
    /// caller decides when each is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let gather = confluo::gather([futures::stream::iter([1]), futures::stream::iter([2])]);
    /// assert_eq!(gather.into_sources().count(), 2);
    /// ```
    pub fn into_sources(mut self) -> impl Iterator<Item = Pin<Box<S>>> {
        core::mem::take(&mut self.slots)
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Occupied { stream, node } => {
                    node.retire();
                    Some(stream)
                }
                Slot::Vacant { .. } => None,
            })
    }

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
    /// - `Poll::Ready(None)` when the `Gather` holds no source, again on every
    ///   later call until a source is pushed.
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

    /// The heart of `Gather`: one turn for each source that is ready now.
    ///
    /// When `R` passes over the end of a source, the turns go on, so one call
    /// still polls each source at most once.
    #[inline(always)]
    fn poll_turns<R: Report<S::Item>>(&mut self, cx: &mut Context<'_>) -> Poll<Option<R::Out>> {
        // The fast path of a busy source: the source in the middle of its
        // turn goes on with the waker built when the turn began, without
        // looking at the line or the wakes. It is kept small enough to be
        // inlined into the caller's loop; everything else is out of line.
        if let (Some(id), Some((last, _))) = (self.turn, &self.waker) {
            if *last == id {
                if let Some(polled) = self.poll_stream(id) {
                    return match polled {
                        Poll::Ready(Some(item)) => {
                            self.count_item(id);
                            Poll::Ready(Some(R::item(id, item)))
                        }
                        // Ended or pending: one call site keeps this inlined.
                        _ => self.turn_over::<R>(cx, id, polled.is_ready()),
                    };
                }
            }
        }
        self.poll_rest::<R>(cx)
    }

    /// Polls the source `id` with the waker cached for it. Should the poll
    /// panic, the source is dropped as the panic unwinds, so no state is
    /// left that would keep it (or the `Gather`) waiting forever.
    #[inline(always)]
    fn poll_stream(&mut self, id: SourceId) -> Option<Poll<Option<S::Item>>> {
        let unwinding = Unwinding(self);
        let gather = &mut *unwinding.0;
        let polled = match (gather.slots.get_mut(id.index()), &gather.waker) {
            (Some(Slot::Occupied { stream, .. }), Some((_, waker))) => {
                Some(stream.as_mut().poll_next(&mut Context::from_waker(waker)))
            }
            _ => None,
        };
        // The poll returned: nothing to clean up.
        core::mem::forget(unwinding);
        polled
    }

    /// The source in the middle of its turn ended (or returned `Pending`):
    /// its turn is over, and the call goes on with the line.
    #[inline(never)]
    fn turn_over<R: Report<S::Item>>(
        &mut self,
        cx: &mut Context<'_>,
        id: SourceId,
        ended: bool,
    ) -> Poll<Option<R::Out>> {
        self.turn = None;
        let polled = self.settle::<R>(id, ended);
        self.poll_round::<R>(cx, Some((id, polled)))
    }

    /// A call without a turn to go on with (or whose turn's source left):
    /// the source that had the turn, if any, then the line.
    #[inline(never)]
    fn poll_rest<R: Report<S::Item>>(&mut self, cx: &mut Context<'_>) -> Poll<Option<R::Out>> {
        let turn = self.turn.take().map(|id| (id, self.poll_source::<R>(id)));
        self.poll_round::<R>(cx, turn)
    }

    /// The rest of a call: the sources woken or waiting in line, each polled
    /// at most once. `turn` is the source whose turn this call polled
    /// already, with what it gave: if it woke meanwhile, it waits for the
    /// next call. Sources that return `Pending` after waking themselves
    /// yield to the executor, and so does `Gather` once two of them did.
    #[inline(never)]
    fn poll_round<R: Report<S::Item>>(
        &mut self,
        cx: &mut Context<'_>,
        turn: Option<(SourceId, Polled<R::Out>)>,
    ) -> Poll<Option<R::Out>> {
        let mut yielded = 0;
        let polled = match turn {
            Some((_, Polled::Out(out))) => return Poll::Ready(Some(out)),
            Some((id, Polled::Yielded)) => {
                yielded = 1;
                Some(id)
            }
            Some((id, Polled::Quiet)) => Some(id),
            None => None,
        };
        self.take_wakes();
        // Only the sources in line now are polled; sources woken during this
        // call join the line for the next one.
        let mut entries = self.run.len();
        let mut requeued = false;
        while entries > 0 {
            if yielded >= 2 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let Some(id) = self.next_in_line(&mut entries) else {
                continue;
            };
            if Some(id) == polled {
                // In line again, behind the entries this call takes; the
                // task comes back for it.
                self.run.push_back(Entry::Source(id));
                requeued = true;
                continue;
            }
            self.streak = 0;
            match self.poll_source::<R>(id) {
                Polled::Out(out) => return Poll::Ready(Some(out)),
                Polled::Yielded => yielded += 1,
                Polled::Quiet => {}
            }
        }
        if self.len == 0 {
            return Poll::Ready(None);
        }
        self.shared.register(cx.waker(), &mut self.task_waker);
        if requeued || self.shared.has_ready() {
            // A source waits for the next call, or a wake arrived during
            // this one: yield to the executor first.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    /// Polls the source `id` (if it is still there) and schedules what
    /// follows: the rest of its turn, the back of the line, or nothing until
    /// it is woken.
    #[inline(always)]
    fn poll_source<R: Report<S::Item>>(&mut self, id: SourceId) -> Polled<R::Out> {
        let Some(Slot::Occupied { node, .. }) = self.slots.get(id.index()) else {
            return Polled::Quiet;
        };
        match &self.waker {
            // `vacate` drops the cached waker, so a match names a live source.
            Some((last, _)) if *last == id => {}
            _ if node.generation() != id.generation => return Polled::Quiet,
            _ => self.waker = Some((id, Waker::from(Arc::clone(node)))),
        }
        match self.poll_stream(id) {
            Some(Poll::Ready(Some(item))) => {
                self.count_item(id);
                Polled::Out(R::item(id, item))
            }
            Some(Poll::Ready(None)) => self.settle::<R>(id, true),
            Some(Poll::Pending) => self.settle::<R>(id, false),
            None => Polled::Quiet,
        }
    }

    /// Counts an item of source `id` against its turn. A source that has
    /// more keeps its turn for up to `TURN` items: one cache-warm source in
    /// a row beats hopping between thousands, and no other waits more than
    /// a turn.
    #[inline(always)]
    fn count_item(&mut self, id: SourceId) {
        self.streak += 1;
        if self.streak < Self::TURN {
            self.turn = Some(id);
        } else {
            self.end_turn(id);
        }
    }

    /// What follows a poll of source `id` that gave no item: its end, or its
    /// wait for a wake.
    fn settle<R: Report<S::Item>>(&mut self, id: SourceId, ended: bool) -> Polled<R::Out> {
        if ended {
            self.end_source(id);
            R::ended(id).map_or(Polled::Quiet, Polled::Out)
        } else if self.went_pending(id) {
            Polled::Yielded
        } else {
            Polled::Quiet
        }
    }

    /// Takes a source that returned `Pending` out of line: only a wake puts
    /// it back. True if it woke itself meanwhile, as a rule: the way a source
    /// yields to the executor (tokio's budget, `FromIter`).
    #[cold]
    #[inline(never)]
    fn went_pending(&mut self, id: SourceId) -> bool {
        let (chunk, bit) = locate(id.index());
        self.marks[chunk].scheduled &= !bit;
        self.chunks[chunk].is_woken(bit)
    }

    /// Drops a source that ended. Out of line, so that the drop glue stays
    /// out of the per-item path (inlined there, it cost a third of W1).
    #[cold]
    #[inline(never)]
    fn end_source(&mut self, id: SourceId) {
        drop(self.vacate(id));
    }

    /// Sends the source that used up its turn to the back of the line,
    /// behind the sources woken during the turn.
    #[inline(never)]
    fn end_turn(&mut self, id: SourceId) {
        self.turn = None;
        self.streak = 0;
        self.take_wakes();
        self.run.push_back(Entry::Source(id));
    }

    /// The next source at the front of the line that is due a turn, if the
    /// front entry holds one; `entries` counts down as entries leave.
    fn next_in_line(&mut self, entries: &mut usize) -> Option<SourceId> {
        match self.run.front_mut().expect("counted") {
            Entry::Source(id) => {
                let id = *id;
                self.run.pop_front();
                *entries -= 1;
                Some(id)
            }
            Entry::Woken { chunk, bits } => {
                let index = *chunk as usize * CHUNK + bits.trailing_zeros() as usize;
                *bits &= *bits - 1;
                if *bits == 0 {
                    self.run.pop_front();
                    *entries -= 1;
                }
                self.due(index)
            }
            Entry::Pushed { start, end } => {
                let index = *start as usize;
                *start += 1;
                if start == end {
                    self.run.pop_front();
                    *entries -= 1;
                }
                self.due(index)
            }
        }
    }

    /// The source in slot `index`, named by a `Woken` or `Pushed` entry, if
    /// it still waits for the turn that entry stands for and is not in line
    /// already; it is then in line until its turn ends.
    fn due(&mut self, index: usize) -> Option<SourceId> {
        let Some(Slot::Occupied { node, .. }) = self.slots.get(index) else {
            return None;
        };
        let (chunk, bit) = locate(index);
        let marks = &mut self.marks[chunk];
        // An entry made before its source left names nobody now; of two
        // entries for one wait (a push and a wake), the first one serves.
        if marks.waiting & bit == 0 {
            return None;
        }
        marks.waiting &= !bit;
        if marks.scheduled & bit != 0 {
            return None;
        }
        marks.scheduled |= bit;
        Some(SourceId {
            index: index as u32,
            generation: node.generation(),
        })
    }

    /// Moves the sources woken since the last call to the back of the line,
    /// a chunk's worth at a time, in the order their chunks were queued.
    /// A bit of a source that has left costs one check when it comes up.
    fn take_wakes(&mut self) {
        let first = self.run.len();
        let (run, marks) = (&mut self.run, &mut self.marks);
        let taken = self.shared.take_woken(&self.chunks, |chunk, bits| {
            marks[chunk as usize].waiting |= bits;
            run.push_back(Entry::Woken { chunk, bits });
        });
        if !taken {
            return;
        }
        // The list runs newest first: turn it round.
        let last = self.run.len();
        for i in 0..(last - first) / 2 {
            self.run.swap(first + i, last - 1 - i);
        }
        // The wakes of quarantined slots were just taken: skip them.
        while let Some(index) = self.quarantine.pop() {
            let (chunk, bit) = locate(index as usize);
            self.marks[chunk].waiting &= !bit;
            self.free_slot(index);
        }
    }
}

impl<S> Drop for Gather<S> {
    fn drop(&mut self) {
        self.shared.close();
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
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl<S: Stream> Stream for Gather<S> {
    type Item = S::Item;

    #[inline(always)]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.get_mut().poll_turns::<Items>(cx)
    }

    /// The sum of the sources' hints (saturating); costs O(sources).
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots
            .iter()
            .filter_map(|slot| match slot {
                Slot::Occupied { stream, .. } => Some(stream.size_hint()),
                Slot::Vacant { .. } => None,
            })
            .fold((0, Some(0)), |(low, high), (l, h)| {
                (
                    low.saturating_add(l),
                    high.zip(h).and_then(|(a, b)| a.checked_add(b)),
                )
            })
    }
}

/// True when no source is left: `poll_next` would return `None` (until a
/// source is pushed).
impl<S: Stream> FusedStream for Gather<S> {
    fn is_terminated(&self) -> bool {
        self.is_empty()
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

impl<S: Stream> FusedStream for Events<'_, S> {
    fn is_terminated(&self) -> bool {
        self.gather.is_empty()
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;

    /// What `Gather` keeps per source: BENCHMARKS.md counts on these sizes.
    #[test]
    fn a_slot_is_two_pointers_and_a_node_sixteen_bytes() {
        assert_eq!(
            core::mem::size_of::<Slot<futures_core::stream::BoxStream<'_, u8>>>(),
            16
        );
        assert_eq!(core::mem::size_of::<Slot<[u64; 8]>>(), 16);
        assert_eq!(core::mem::size_of::<Node>(), 16);
    }
}
