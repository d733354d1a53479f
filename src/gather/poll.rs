//! How a [`Gather`] polls: one call is one loop over the line, "next
//! source due → poll it → what follows", after a fast path for the source
//! in the middle of its turn.
//!
//! The fast path is what a busy source costs per item: the turn's source
//! is polled with the waker built when its turn began, and nothing else is
//! looked at. It is small, so it inlines into the caller's loop; everything
//! that happens once per turn or less (a turn that ends, the line, the
//! wakes, a source that ends or panics) is out of line.

use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use futures_core::stream::{FusedStream, Stream};

use super::budget;
use super::id::{Event, SourceId};
use super::line::{locate, Due};
use super::Gather;
use crate::sync::atomic::{fence, Ordering};
use crate::sync::Arc;

/// How a call reports what it polled. Each way builds its own output, so
/// the per-item path moves the item once, with no `Event` to unpack.
pub(super) trait Report<T> {
    type Out;
    fn item(id: SourceId, item: T) -> Self::Out;
    /// The end of a source, or `None` to pass over it and go on.
    fn ended(id: SourceId) -> Option<Self::Out>;
}

/// `Gather` as a `Stream`: bare items; ends are passed over.
pub(super) struct Items;

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
pub(super) struct WithIds;

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

/// Armed while a source is polled: dropped only if the poll panics, and
/// then it drops that source (the one whose waker is cached).
struct Unwinding<'a, S>(&'a mut Gather<S>);

impl<S> Drop for Unwinding<'_, S> {
    fn drop(&mut self) {
        self.0.source_panicked();
    }
}

impl<S> Gather<S> {
    /// Drops the source polled last, whose `poll_next` panicked, while the
    /// panic unwinds (futures-util's `FuturesUnordered` does the same).
    #[cold]
    #[inline(never)]
    fn source_panicked(&mut self) {
        if let Some((id, _)) = self.waker {
            drop(self.leave(id));
        }
    }
}

impl<S: Stream> Gather<S> {
    /// One call: the turn in progress, or else a round of the line.
    ///
    /// The turn's source is the one whose waker is cached: a turn is given
    /// only by an item of the source just polled, and ends (in the line)
    /// whenever another source is polled or the source leaves.
    #[inline(always)]
    pub(super) fn poll_turns<R: Report<S::Item>>(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<R::Out>> {
        if let Some(id) = self.line.turn() {
            debug_assert!(matches!(&self.waker, Some((cached, _)) if *cached == id));
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
        self.poll_round::<R>(cx, None)
    }

    /// Polls the source `id` with the waker cached for it, if it is held.
    /// Should the poll panic, the source is dropped as the panic unwinds, so
    /// no state is left that would keep it (or the `Gather`) waiting.
    #[inline(always)]
    fn poll_stream(&mut self, id: SourceId) -> Option<Poll<Option<S::Item>>> {
        let unwinding = Unwinding(self);
        let gather = &mut *unwinding.0;
        let polled = match (gather.slots.at(id.slot()), &gather.waker) {
            (Some((stream, _)), Some((cached, waker))) if *cached == id => {
                Some(stream.as_mut().poll_next(&mut Context::from_waker(waker)))
            }
            _ => None,
        };
        // The poll returned: nothing to clean up.
        core::mem::forget(unwinding);
        polled
    }

    /// The source in the middle of its turn ended (or returned `Pending`):
    /// the call goes on with a round of the line.
    #[inline(never)]
    fn turn_over<R: Report<S::Item>>(
        &mut self,
        cx: &mut Context<'_>,
        id: SourceId,
        ended: bool,
    ) -> Poll<Option<R::Out>> {
        let polled = self.settle::<R>(id, ended);
        self.poll_round::<R>(cx, Some((id, polled)))
    }

    /// A round of the line: the sources in line when it starts, each polled
    /// at most once. `turn` is the source whose turn this call polled
    /// already, with what it gave: if it is in line again, it waits for the
    /// next call. Sources that return `Pending` after waking themselves
    /// yield to the executor, and so does the `Gather` once two of them did.
    #[inline(never)]
    fn poll_round<R: Report<S::Item>>(
        &mut self,
        cx: &mut Context<'_>,
        turn: Option<(SourceId, Polled<R::Out>)>,
    ) -> Poll<Option<R::Out>> {
        let (polled, mut yielded) = match turn {
            Some((_, Polled::Out(out))) => return Poll::Ready(Some(out)),
            Some((id, Polled::Yielded)) => (Some(id), 1),
            Some((id, Polled::Quiet)) => (Some(id), 0),
            None => (None, 0),
        };
        // Changes queued through handles come before the wakes: a source
        // removed is not polled by this round.
        self.take_changes();
        self.take_wakes();
        let mut entries = self.line.len();
        let mut requeued = false;
        while entries > 0 {
            if yielded >= 2 || budget::spent() {
                // The rest of the line keeps its place for the next call.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let Some(id) = self.line.next(&mut entries).and_then(|due| self.held(due)) else {
                continue;
            };
            if Some(id) == polled {
                // Behind the entries this call takes; the task comes back.
                self.line.again(id);
                requeued = true;
                continue;
            }
            self.line.begin();
            match self.poll_source::<R>(id) {
                Polled::Out(out) => return Poll::Ready(Some(out)),
                Polled::Yielded => yielded += 1,
                Polled::Quiet => {}
            }
        }
        if self.is_empty() && !self.may_grow() {
            return Poll::Ready(None);
        }
        let parked = self.shared.park(cx.waker(), &mut self.task_waker);
        if requeued || !parked || self.handles_acted_since_park() {
            // A source waits for the next call, or a wake or a handle's
            // change arrived during this one: yield to the executor first.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    /// Asked once parked, before returning `Pending`: true if a handle
    /// acted meanwhile. Handles queue their changes apart from the ready
    /// list, so both sides fence (the handshake of `registry.rs`); without
    /// handles, neither does.
    fn handles_acted_since_park(&self) -> bool {
        self.registry.is_some() && {
            fence(Ordering::SeqCst);
            self.handles_acted()
        }
    }

    /// The id of the source that is due, if it is still held. A slot found
    /// empty (a wake raced with its source's removal) is cleared in the line.
    fn held(&mut self, due: Due) -> Option<SourceId> {
        match due {
            Due::Again(id) => self.slots.contains(id).then_some(id),
            Due::Slot(index) => {
                let id = self.slots.id_at(index);
                if id.is_none() {
                    self.line.left(index);
                }
                id
            }
        }
    }

    /// Polls the source `id`, which is held, with a waker of its own, and
    /// settles what follows: the rest of its turn, or its wait for a wake.
    #[inline(always)]
    fn poll_source<R: Report<S::Item>>(&mut self, id: SourceId) -> Polled<R::Out> {
        if !matches!(&self.waker, Some((last, _)) if *last == id) {
            let Some((_, node)) = self.slots.at(id.slot()) else {
                return Polled::Quiet;
            };
            self.waker = Some((id, Waker::from(Arc::clone(node))));
        }
        match self.poll_stream(id) {
            Some(Poll::Ready(Some(item))) => {
                self.count_item(id);
                Polled::Out(R::item(id, item))
            }
            Some(polled) => self.settle::<R>(id, polled.is_ready()),
            None => Polled::Quiet,
        }
    }

    /// Counts an item of source `id` against its turn. A source that has
    /// more keeps its turn for up to `turn` items: one cache-warm source in
    /// a row beats hopping between thousands, and no other waits more than
    /// a turn.
    #[inline(always)]
    fn count_item(&mut self, id: SourceId) {
        if !self.line.item(id) {
            self.end_turn(id);
        }
    }

    /// Sends the source that used up its turn to the back of the line,
    /// behind the sources woken during the turn.
    #[inline(never)]
    fn end_turn(&mut self, id: SourceId) {
        self.take_changes();
        self.take_wakes();
        self.line.again(id);
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
        self.line.pending(id.slot());
        let (chunk, bit) = locate(id.slot());
        self.chunks[chunk].is_woken(bit)
    }

    /// Drops a source that ended. Out of line, so that the drop glue stays
    /// out of the per-item path (inlined there, it cost a third of W1).
    #[cold]
    #[inline(never)]
    fn end_source(&mut self, id: SourceId) {
        drop(self.leave(id));
    }

    /// Moves the sources woken since the last look to the back of the line,
    /// a chunk's worth at a time, in the order their chunks were queued.
    /// A bit of a source that has left costs one check when it comes up.
    fn take_wakes(&mut self) {
        let first = self.line.len();
        let line = &mut self.line;
        if !self
            .shared
            .take_woken(&self.chunks, |chunk, bits| line.woken(chunk, bits))
        {
            return;
        }
        // The list runs newest first.
        self.line.turn_round(first);
        // The stale wakes of quarantined slots were just taken: they can
        // serve their next sources.
        let line = &mut self.line;
        self.slots.free_quarantined(|index| line.left(index));
    }
}

impl<S: Stream> Stream for Gather<S> {
    type Item = S::Item;

    #[inline(always)]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.get_mut().poll_turns::<Items>(cx)
    }

    /// The sum of the sources' hints (saturating); costs O(sources). No
    /// upper bound while a [handle](Gather::handle) may push more.
    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self
            .slots
            .iter()
            .map(|(_, stream)| stream.size_hint())
            .fold((0usize, Some(0usize)), |(low, high), (l, h)| {
                (
                    low.saturating_add(l),
                    high.zip(h).and_then(|(a, b)| a.checked_add(b)),
                )
            });
        (low, high.filter(|_| !self.may_grow()))
    }
}

/// True when no source is left and no handle may push one:
/// `poll_next` would return `None` (until a source is pushed).
impl<S: Stream> FusedStream for Gather<S> {
    fn is_terminated(&self) -> bool {
        self.is_empty() && !self.may_grow()
    }
}

#[cfg(all(test, not(confluo_loom)))]
mod tests {
    use alloc::sync::Arc as StdArc;
    use core::pin::Pin;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use core::task::{Context, Poll};

    use futures_core::Stream;

    use super::super::line::locate;
    use super::super::ready::CHUNK;
    use super::Gather;

    /// Pending forever; counts its polls.
    struct Idle(StdArc<AtomicUsize>);

    impl Stream for Idle {
        type Item = ();
        fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<()>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Poll::Pending
        }
    }

    fn poll(gather: &mut Gather<Idle>) -> Poll<Option<()>> {
        let waker = futures::task::noop_waker();
        Pin::new(gather).poll_next(&mut Context::from_waker(&waker))
    }

    /// A wake that raced with its source's removal on another thread: the
    /// waker saw the node alive, and the bit landed once the slot was free.
    /// The slot's next source must still get its turns.
    #[test]
    fn a_wake_that_raced_with_a_removal_does_not_stall_the_slots_next_source() {
        let (old, new) = (StdArc::default(), StdArc::default());
        let mut gather = Gather::new();
        let gone = gather.push(Idle(StdArc::clone(&old)));
        assert_eq!(poll(&mut gather), Poll::Pending);
        let (chunk, _) = locate(gone.slot());
        let chunk = crate::sync::Arc::clone(&gather.chunks[chunk]);
        assert!(gather.remove(gone).is_some());
        chunk.mark(gone.slot() % CHUNK as u32);
        assert_eq!(poll(&mut gather), Poll::Ready(None));
        let next = gather.push(Idle(StdArc::clone(&new)));
        assert_eq!(next.index(), gone.index(), "the same slot");
        assert_eq!(poll(&mut gather), Poll::Pending);
        assert_eq!(new.load(Ordering::SeqCst), 1, "the new source is polled");
        assert_eq!(old.load(Ordering::SeqCst), 1);
    }
}
