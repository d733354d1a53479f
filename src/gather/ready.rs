//! The wake machinery behind [`Gather`](super::Gather): per-source wakers,
//! and woken bits gathered in chunks.
//!
//! Slots are grouped in chunks of 64, each with a word of woken bits. A wake
//! costs O(1): it sets the source's `WOKEN` bit (so a source is marked at
//! most once until it is drained) and its bit in its chunk's word; the wake
//! that turns the word from zero to non-zero also pushes the chunk onto a
//! lock-free queue and wakes the task that polls the `Gather`. The `Gather`
//! takes a chunk's word (leaving zero) right after it pops the chunk, so a
//! chunk is in the queue at most once, a poll costs O(sources woken), never
//! O(sources), and a burst of wakes costs one queue entry per 64 sources.
//!
//! Lost wakes are ruled out by the same handshake as an `AtomicWaker`: before it
//! returns `Pending`, the `Gather` stores its task's waker, then (after a
//! `SeqCst` fence) looks at the queue once more; a wake pushes its chunk, then
//! (after a `SeqCst` fence) takes the stored waker. Whichever fence comes
//! second sees the other side's write. Within a chunk, a set bit is taken by
//! the next swap of the word: if the word was zero, the wake queued the chunk;
//! if not, the wake that made it non-zero did, and the chunk has not been
//! taken since.

use alloc::sync::Arc;
use alloc::task::Wake;
use core::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use core::task::Waker;

use concurrent_queue::ConcurrentQueue;

/// State shared by a `Gather` and the wakers of all its sources.
#[derive(Debug)]
pub(super) struct Shared {
    /// Chunks with woken sources, in wake order. Closed when the `Gather` is
    /// dropped, so late wakes stop at a failed push.
    ready: ConcurrentQueue<u32>,
    /// The waker of the task polling the `Gather`: a one-element queue is a
    /// lock-free cell that a wake can take from any thread.
    task: ConcurrentQueue<Waker>,
}

impl Shared {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Shared {
            ready: ConcurrentQueue::unbounded(),
            task: ConcurrentQueue::bounded(1),
        })
    }

    /// The next chunk with woken sources, if any.
    pub(super) fn pop_ready(&self) -> Option<u32> {
        self.ready.pop().ok()
    }

    /// True when a wake arrived that the `Gather` has not drained yet.
    pub(super) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Stores the waker of the task polling the `Gather`; after this, no wake
    /// is lost, so the caller may check the ready queue one last time.
    ///
    /// `last` is the caller's copy of the waker it stored before. While that
    /// one wakes the same task, it is stored again (if a wake took it) rather
    /// than replaced: one reference count instead of three.
    pub(super) fn register(&self, waker: &Waker, last: &mut Option<Waker>) {
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
        fence(Ordering::SeqCst);
    }

    /// Wakes the task polling the `Gather`, if it waits.
    pub(super) fn wake_task(&self) {
        // A load first: most calls (pushes while the task runs) find no waker.
        if self.task.is_empty() {
            return;
        }
        if let Ok(waker) = self.task.pop() {
            waker.wake();
        }
    }

    /// Called when the `Gather` is dropped: later wakes only cost a check.
    pub(super) fn close(&self) {
        self.ready.close();
        self.task.close();
    }

    fn push_ready(&self, chunk: u32) {
        if self.ready.push(chunk).is_ok() {
            fence(Ordering::SeqCst);
            self.wake_task();
        }
    }
}

/// Slots per chunk: one word of woken bits.
pub(super) const CHUNK: usize = 64;

/// The woken bits of `CHUNK` consecutive slots.
#[derive(Debug)]
pub(super) struct Chunk {
    shared: Arc<Shared>,
    id: u32,
    /// Non-zero exactly while the chunk waits in the ready queue (or was
    /// just popped and is about to be taken).
    woken: AtomicU64,
}

impl Chunk {
    pub(super) fn new(shared: &Arc<Shared>, id: u32) -> Arc<Self> {
        Arc::new(Chunk {
            shared: Arc::clone(shared),
            id,
            woken: AtomicU64::new(0),
        })
    }

    /// Marks the slot at `offset` woken; the first mark queues the chunk.
    fn mark(&self, offset: u32) {
        if self.woken.fetch_or(1 << offset, Ordering::SeqCst) == 0 {
            self.shared.push_ready(self.id);
        }
    }

    /// Takes the woken bits (bit `i` stands for the chunk's slot `i`); the
    /// next mark queues the chunk again. Only right after popping the chunk.
    pub(super) fn take_woken(&self) -> u64 {
        self.woken.swap(0, Ordering::SeqCst)
    }
}

/// Set by a wake, cleared when the `Gather` drains it. While set, further
/// wakes cost one atomic operation; it also tells a drained bit of a slot's
/// new source from a stale one of the source it replaced.
const WOKEN: u32 = 1 << 31;
/// The low bits hold the source's generation, fixed for the node's life.
pub(super) const GENERATION: u32 = WOKEN - 1;

/// One source's waker and scheduling state: 16 bytes beside the `Arc`'s two
/// counters, so `Gather` adds little per source.
#[derive(Debug)]
pub(super) struct Node {
    chunk: Arc<Chunk>,
    /// The slot's offset in its chunk.
    offset: u32,
    /// `WOKEN | generation`.
    state: AtomicU32,
}

impl Node {
    /// A node for a new source in slot `index` of `chunk`. It starts woken,
    /// as a new source is due its first turn; the `Gather` puts it in line.
    pub(super) fn new(chunk: &Arc<Chunk>, index: u32, generation: u32) -> Arc<Self> {
        Arc::new(Node {
            chunk: Arc::clone(chunk),
            offset: index % CHUNK as u32,
            state: AtomicU32::new(WOKEN | (generation & GENERATION)),
        })
    }

    pub(super) fn generation(&self) -> u32 {
        self.state.load(Ordering::Relaxed) & GENERATION
    }

    /// Consumes a pending wake; true if there was one.
    pub(super) fn take_wake(&self) -> bool {
        self.state.fetch_and(!WOKEN, Ordering::AcqRel) & WOKEN != 0
    }

    /// True if a wake is pending: right after a poll that returned `Pending`,
    /// the source woke itself during the poll, as a rule; the way a source
    /// yields to the executor (tokio's budget, `FromIter`).
    pub(super) fn is_woken(&self) -> bool {
        self.state.load(Ordering::Acquire) & WOKEN != 0
    }

    /// Makes every later wake a no-op: the source is gone. A plain store:
    /// nothing reads the other bits of a retired node.
    pub(super) fn retire(&self) {
        self.state.store(WOKEN, Ordering::Release);
    }
}

impl Wake for Node {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.state.fetch_or(WOKEN, Ordering::AcqRel) & WOKEN == 0 {
            self.chunk.mark(self.offset);
        }
    }
}
