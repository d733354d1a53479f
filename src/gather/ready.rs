//! The wake machinery behind [`Gather`](super::Gather): per-source wakers,
//! and woken bits gathered in chunks.
//!
//! Slots are grouped in chunks of 64 (32 where the target has no 64-bit
//! atomics), each with a word of woken bits. A wake costs O(1): it sets the
//! source's bit in its chunk's word, and the wake that turns the word from
//! zero to non-zero also links the chunk into a lock-free list and wakes the
//! task that polls the `Gather`. The `Gather` takes the whole list with one
//! swap, then each chunk's word (leaving zero), so a chunk is in the list at
//! most once, a poll costs O(sources woken), never O(sources), and a burst
//! of wakes costs one link per chunk.
//!
//! Lost wakes are ruled out on one atomic word, the head of the list:
//! before it returns `Pending`, the `Gather` stores its task's waker, then
//! parks: it turns an empty list into `PARKED` with a read-modify-write,
//! which fails if a chunk was linked meanwhile (it then polls again). The
//! wake that links a chunk onto `PARKED` is the one that takes the stored
//! waker and wakes the task; a wake that links onto anything else leaves
//! the task alone, as it is running and has not parked. Both sides meet on
//! one location, whose modification order is total, so no fence is needed
//! (the handles' changes live elsewhere, and keep a fence: `registry.rs`).
//! Should that wake find the waker gone, an earlier such wake took it after
//! it was stored, and wakes the task after: the poll that follows parks only
//! with a read-modify-write, which meets the chunk. Within a chunk, a set
//! bit is taken by the next swap of the word: if the word was zero, the
//! wake linked the chunk; if not, the wake that made it non-zero did, and
//! the chunk has not been taken since.
//!
//! The list needs no allocation and has no ABA problem: a chunk is linked
//! again only after the `Gather` has swapped its word, and it reads the
//! chunk's `next` before that swap.

use core::task::Waker;

use concurrent_queue::ConcurrentQueue;

use crate::sync::atomic::{AtomicU32, Ordering};
use crate::sync::{Arc, AtomicWord, Wake, Word};

/// No chunk: the end of the ready list.
const EMPTY: u32 = u32::MAX;
/// No chunk, and the task waits: the wake that links a chunk onto this
/// takes the task's waker and wakes it.
const PARKED: u32 = u32::MAX - 1;
/// The ready list of a dropped `Gather`: late wakes link nothing. The
/// lowest of the three, so that one comparison tells a chunk's id.
const CLOSED: u32 = u32::MAX - 2;

/// State shared by a `Gather` and the wakers of all its sources.
#[derive(Debug)]
pub(super) struct Shared {
    /// The chunk queued last, whose `next` names the one queued before, and
    /// so on: a lock-free list that wakes push onto and the `Gather` takes
    /// whole. A chunk is in it at most once (the wake that makes its word
    /// non-zero links it), and its `next` stays put until the `Gather` has
    /// read it and taken the word. Else `EMPTY`, `PARKED` (empty, and the
    /// task waits) or `CLOSED`.
    ready: AtomicU32,
    /// The waker of the task polling the `Gather`: a one-element queue is a
    /// lock-free cell that a wake can take from any thread, with no `unsafe`
    /// here.
    task: ConcurrentQueue<Waker>,
}

impl Shared {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Shared {
            ready: AtomicU32::new(EMPTY),
            task: ConcurrentQueue::bounded(1),
        })
    }

    /// Takes every chunk queued now, the one queued last first, and hands
    /// `each` its id and woken bits (bit `i` stands for the chunk's slot
    /// `i`), leaving them zero. False if none was queued. One swap takes
    /// the whole list, so wakes that keep coming from other threads cannot
    /// hold the caller; from the moment a chunk's word is taken, the next
    /// wake queues the chunk again.
    pub(super) fn take_woken(
        &self,
        chunks: &[Arc<Chunk>],
        mut each: impl FnMut(u32, Word),
    ) -> bool {
        if !self.has_ready() {
            return false;
        }
        // Acquire: the chunks' `next`, and what the wakes' sources did.
        let mut next = self.ready.swap(EMPTY, Ordering::Acquire);
        while next != EMPTY {
            let chunk = &chunks[next as usize];
            // Read before the word is taken: from then on a wake may link
            // the chunk again.
            next = chunk.next.load(Ordering::Relaxed);
            let bits = chunk.woken.swap(0, Ordering::Acquire);
            if bits != 0 {
                each(chunk.id, bits);
            }
        }
        true
    }

    /// True when a wake arrived that the `Gather` has not taken yet.
    fn has_ready(&self) -> bool {
        // `CLOSED` is never seen here: a closed `Gather` is never polled.
        self.ready.load(Ordering::Relaxed) < CLOSED
    }

    /// Stores the waker of the task polling the `Gather`, then parks: from
    /// then on, the next wake wakes the task. False if a wake is in the list
    /// already: the caller must poll again (the task is not parked).
    ///
    /// `last` is the caller's copy of the waker it stored before. While that
    /// one wakes the same task, it is stored again (if a wake took it) rather
    /// than replaced: one reference count instead of three.
    pub(super) fn park(&self, waker: &Waker, last: &mut Option<Waker>) -> bool {
        match last {
            Some(last) if last.will_wake(waker) => {
                // Only this side pushes, so the cell stays as seen or empties.
                if !self.task.is_full() {
                    // Only fails once closed, and a closed `Gather` is never polled.
                    let _ = self.task.push(last.clone());
                }
            }
            _ => {
                let _ = self.task.force_push(waker.clone());
                *last = Some(waker.clone());
            }
        }
        // Release: the waker stored is there for the wake that unparks.
        // Parked already (a poll with nothing taken) is parked again with a
        // read-modify-write too, which reads the newest head: a failed
        // exchange alone might read an old `PARKED` and miss a chunk.
        let mut head = EMPTY;
        loop {
            match self.ready.compare_exchange_weak(
                head,
                PARKED,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now @ (EMPTY | PARKED)) => head = now,
                Err(_) => return false,
            }
        }
    }

    /// Wakes the task polling the `Gather`, if it is parked; for changes
    /// made elsewhere than in the ready list (a handle's, a push).
    pub(super) fn wake_task(&self) {
        // A load first: most calls (pushes while the task runs) find it
        // running.
        if self.ready.load(Ordering::SeqCst) == PARKED
            && self
                .ready
                .compare_exchange(PARKED, EMPTY, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.unpark();
        }
    }

    /// Wakes the task, whose park this thread ended.
    fn unpark(&self) {
        if let Ok(waker) = self.task.pop() {
            waker.wake();
        }
    }

    /// Called when the `Gather` is dropped: later wakes only cost a check.
    pub(super) fn close(&self) {
        self.ready.store(CLOSED, Ordering::SeqCst);
        self.task.close();
    }

    /// Links `chunk` at the head of the ready list, and wakes the task if
    /// it is parked.
    fn push_ready(&self, chunk: &Chunk) {
        let mut head = self.ready.load(Ordering::Relaxed);
        loop {
            let next = match head {
                CLOSED => return,
                PARKED => EMPTY,
                head => head,
            };
            chunk.next.store(next, Ordering::Relaxed);
            // Release: `next`, and what the source did before its wake;
            // acquire: the task's waker, stored before the park.
            match self.ready.compare_exchange_weak(
                head,
                chunk.id,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(PARKED) => return self.unpark(),
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }
}

/// Slots per chunk: one word of woken bits (64, or 32 on targets without
/// 64-bit atomics).
pub(super) const CHUNK: usize = Word::BITS as usize;

/// The woken bits of `CHUNK` consecutive slots.
#[derive(Debug)]
pub(super) struct Chunk {
    shared: Arc<Shared>,
    id: u32,
    /// The chunk linked before this one in the ready list.
    next: AtomicU32,
    /// Non-zero exactly while the chunk is in the ready list (or was just
    /// taken from it and is about to be read).
    woken: AtomicWord,
}

impl Chunk {
    pub(super) fn new(shared: &Arc<Shared>, id: u32) -> Arc<Self> {
        Arc::new(Chunk {
            shared: Arc::clone(shared),
            id,
            next: AtomicU32::new(EMPTY),
            woken: AtomicWord::new(0),
        })
    }

    /// Marks the slot at `offset` woken; the first mark queues the chunk.
    pub(super) fn mark(&self, offset: u32) {
        // Release: what the source did before its wake, for the poll that
        // takes this word.
        if self.woken.fetch_or(1 << offset, Ordering::Release) == 0 {
            self.shared.push_ready(self);
        }
    }

    /// True if a source's `bit` is set: right after a poll that returned
    /// `Pending`, the source woke itself during the poll, as a rule; the way
    /// a source yields to the executor (tokio's budget, `FromIter`).
    pub(super) fn is_woken(&self, bit: Word) -> bool {
        self.woken.load(Ordering::SeqCst) & bit != 0
    }
}

/// Set when the source leaves its slot: the node's later wakes are no-ops,
/// so they cannot mark the slot's next source.
const RETIRED: u32 = 1 << 31;
/// The low bits hold the source's generation, fixed for the node's life.
pub(super) const GENERATION: u32 = RETIRED - 1;

/// One source's waker: 16 bytes beside the `Arc`'s two counters, so `Gather`
/// adds little per source.
#[derive(Debug)]
pub(super) struct Node {
    chunk: Arc<Chunk>,
    /// The slot's offset in its chunk.
    offset: u32,
    /// `RETIRED | generation`.
    state: AtomicU32,
}

impl Node {
    /// A node for the source in slot `index` of `chunk`.
    pub(super) fn new(chunk: &Arc<Chunk>, index: u32, generation: u32) -> Arc<Self> {
        Arc::new(Node {
            chunk: Arc::clone(chunk),
            offset: index % CHUNK as u32,
            state: AtomicU32::new(generation & GENERATION),
        })
    }

    pub(super) fn generation(&self) -> u32 {
        self.state.load(Ordering::Relaxed) & GENERATION
    }

    /// Makes every later wake a no-op: the source is gone. A plain store:
    /// nothing reads the generation of a retired node.
    pub(super) fn retire(&self) {
        self.state.store(RETIRED, Ordering::Relaxed);
    }
}

impl Node {
    fn wake(&self) {
        // A wake racing with the retirement may still mark the slot: its next
        // source then gets one spurious poll, never a lost one.
        if self.state.load(Ordering::Relaxed) & RETIRED == 0 {
            self.chunk.mark(self.offset);
        }
    }
}

#[cfg(not(feature = "portable-atomic"))]
impl Wake for Node {
    fn wake(self: Arc<Self>) {
        Node::wake(&self);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        Node::wake(self);
    }
}

// portable-atomic-util's `Wake` takes `this`, not `self`.
#[cfg(feature = "portable-atomic")]
impl Wake for Node {
    fn wake(this: Arc<Self>) {
        Node::wake(&this);
    }

    fn wake_by_ref(this: &Arc<Self>) {
        Node::wake(this);
    }
}
