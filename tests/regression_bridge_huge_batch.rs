//! `Bridge::batch(NonZeroUsize::MAX)` made `pump` panic with "capacity
//! overflow": every message was allocated for a whole batch
//! (`Vec::with_capacity(batch)`), even when one record was ready, so a large
//! batch cost its full size in memory per message. A message now holds what
//! was ready, never more than the room left in the bridge.
//!
//! A message was then sized by the stream's `size_hint`, asked once per
//! message: a `Gather` walks its sources to answer, and a stream that
//! overstated its size made each message of a few records allocate the
//! whole room taken for it. A message now starts small and grows with what
//! is ready, and the stream's size is not asked.
#![cfg(feature = "std")]

use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread;

use confluo::Bridge;
use futures::stream;
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// The allocation test reads the process-wide count: the tests take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn a_pump_with_the_largest_batch_forwards_every_record() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (producer, consumer) = Bridge::new(NonZeroUsize::new(16).unwrap())
        .batch(NonZeroUsize::MAX)
        .open();
    let worker = thread::spawn(move || consumer.into_iter().collect::<Vec<u32>>());
    let pumped = smol::block_on(producer.pump(stream::iter(0..1_000u32)));
    assert_eq!(pumped.forwarded(), 1_000);
    assert_eq!(worker.join().unwrap(), (0..1_000).collect::<Vec<_>>());
}

#[test]
fn a_message_holds_what_was_ready_not_a_whole_batch() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // One record ready at a time: each message holds one record.
    let mut next = 0u64;
    let mut ready = false;
    let one_at_a_time = stream::poll_fn(move |cx| {
        if next == 10 {
            return Poll::Ready(None);
        }
        ready = !ready;
        if !ready {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        next += 1;
        Poll::Ready(Some(next - 1))
    });
    let (producer, consumer) = Bridge::new(NonZeroUsize::new(1 << 20).unwrap())
        .batch(NonZeroUsize::new(1 << 16).unwrap())
        .open();
    let before = ALLOCATOR.current_usage();
    let pumped = smol::block_on(producer.pump(one_at_a_time));
    let held = ALLOCATOR.current_usage().saturating_sub(before);
    assert_eq!(pumped.forwarded(), 10);
    // A whole batch per message would hold 10 × 512 KiB here.
    assert!(held < 64 << 10, "10 records of 8 bytes hold {held} bytes");
    assert_eq!(
        consumer.into_iter().collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
}

/// Three records ready at once, then the end, while its `size_hint` says a
/// million more are coming; counts how often it is asked.
struct Overstated {
    left: u64,
    asked: Arc<AtomicUsize>,
}

impl futures_core::Stream for Overstated {
    type Item = u64;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<u64>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(self.left))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.asked.fetch_add(1, Ordering::SeqCst);
        (1 << 20, None)
    }
}

#[test]
fn a_stream_that_overstates_its_size_does_not_size_the_message() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let asked = Arc::new(AtomicUsize::new(0));
    let overstated = Overstated {
        left: 3,
        asked: Arc::clone(&asked),
    };
    let (producer, consumer) = Bridge::new(NonZeroUsize::new(1 << 20).unwrap())
        .batch(NonZeroUsize::new(1 << 16).unwrap())
        .open();
    let before = ALLOCATOR.current_usage();
    let pumped = smol::block_on(producer.pump(overstated));
    let held = ALLOCATOR.current_usage().saturating_sub(before);
    assert_eq!(pumped.forwarded(), 3);
    // Sized by the size hint, the one message would hold the room taken for
    // it, a batch of 2^16 records: 512 KiB.
    assert!(held < 64 << 10, "3 records of 8 bytes hold {held} bytes");
    assert_eq!(
        asked.load(Ordering::SeqCst),
        0,
        "the stream's size is not asked"
    );
    assert_eq!(consumer.into_iter().collect::<Vec<_>>(), [2, 1, 0]);
}
