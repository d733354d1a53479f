//! A `no_std` program that gathers streams, pumps them through a bridge,
//! guards a source, and checks what it got.
//!
//! It owns its entry point (the C `main`), its panic handler and its
//! allocator (the C library's `aligned_alloc`), as an embedded program would.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use confluo::guard::{guard, Release};
use confluo::source::{from_iter, from_read};
use confluo::{bridge, gather, gather_all, Gather};
use futures_core::Stream;

extern "C" {
    fn aligned_alloc(align: usize, size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
    fn exit(code: i32) -> !;
    fn write(fd: i32, buf: *const u8, len: usize) -> isize;
}

struct Malloc;

unsafe impl GlobalAlloc for Malloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let align = layout.align().max(core::mem::size_of::<usize>());
        // `aligned_alloc` wants a size that is a multiple of the alignment.
        let size = layout.size().div_ceil(align) * align;
        aligned_alloc(align, size.max(align))
    }
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        free(ptr)
    }
}

#[global_allocator]
static ALLOCATOR: Malloc = Malloc;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    say("no-std-check: panicked\n");
    unsafe { exit(101) }
}

/// The precompiled `alloc` refers to it even with `panic = "abort"`.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

fn say(message: &str) {
    unsafe { write(2, message.as_ptr(), message.len()) };
}

/// Counts down from `n`, yielding to the executor between items.
struct Countdown {
    n: u32,
    yielded: bool,
}

impl Stream for Countdown {
    type Item = u32;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        if !self.yielded {
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.yielded = false;
        if self.n == 0 {
            return Poll::Ready(None);
        }
        self.n -= 1;
        Poll::Ready(Some(self.n))
    }
}

/// Polls until ready; every source here wakes itself before `Pending`.
fn block_on<F: core::future::Future>(future: F) -> F::Output {
    let mut future = core::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Sums a stream.
async fn sum(mut stream: Gather<Countdown>) -> u64 {
    let mut total = 0;
    while let Some(n) = core::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
        total += u64::from(n);
    }
    total
}

/// Pumps a `Gather` into a bridge and receives every record on the async side.
fn bridged() -> u64 {
    let capacity = core::num::NonZeroUsize::new(1_000).expect("non-zero");
    let (producer, mut consumer) = bridge(capacity);
    let sources = (0..10).map(|_| Countdown {
        n: 10,
        yielded: false,
    });
    let pumped = block_on(producer.pump(gather(sources)));
    let mut total = 0;
    while let Some(n) = block_on(consumer.recv()) {
        total += u64::from(n);
    }
    if pumped.forwarded() == 100 {
        total
    } else {
        0
    }
}

/// Guards and the `core` sources: a guarded in-memory source ends and is
/// released once, as ended; a repeated read ends on `None`.
fn guarded() -> bool {
    let released = core::cell::Cell::new(None);
    let mut source = guard(from_iter(0..100u32), |why| released.set(Some(why)));
    let mut total = 0;
    while let Some(n) = block_on(core::future::poll_fn(|cx| {
        Pin::new(&mut source).poll_next(cx)
    })) {
        total += n;
    }
    let mut reads = 0;
    let mut read = core::pin::pin!(from_read(|| {
        reads += 1;
        let reading = reads;
        async move { (reading <= 3).then_some(reading) }
    }));
    let mut read_total = 0;
    while let Some(n) = block_on(core::future::poll_fn(|cx| {
        Pin::new(&mut read).poll_next(cx)
    })) {
        read_total += n;
    }
    total == 4950 && released.get() == Some(Release::Ended) && read_total == 6
}

fn check() -> bool {
    let sources = (0..100).map(|_| Countdown {
        n: 10,
        yielded: false,
    });
    let total = block_on(sum(gather(sources)));
    let outputs: Vec<u32> = block_on(gather_all((0..50).map(|i| async move { i * 2 })));
    total == 100 * 45
        && outputs.iter().copied().eq((0..50).map(|i| i * 2))
        && bridged() == 10 * 45
        && guarded()
}

#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    if check() {
        say("no-std-check: ok\n");
        return 0;
    }
    say("no-std-check: wrong result\n");
    1
}
