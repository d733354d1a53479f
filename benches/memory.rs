//! The memory `Gather` adds per source, counted by a wrapping allocator.
//!
//! ```text
//! cargo bench --bench memory
//! ```
//!
//! Run without `--bench` (as `cargo test` does), it checks its own arithmetic
//! on 1,000 sources. It is a separate program from the speed benchmarks,
//! because counting every allocation slows allocation down.

mod common;

use std::hint::black_box;

use futures::executor::block_on;
use futures::stream::{self, StreamExt};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

type Source = stream::Iter<std::ops::Range<u64>>;

fn sources(n: usize) -> Vec<Source> {
    (0..n as u64).map(|i| stream::iter(i..i + 2)).collect()
}

/// What `f` returns, and the bytes it allocated and has not freed (this
/// program runs one thread, so the process-wide count is `f`'s alone).
fn held<T>(f: impl FnOnce() -> T) -> (T, isize) {
    let before = ALLOCATOR.current_usage() as isize;
    let value = f();
    (value, ALLOCATOR.current_usage() as isize - before)
}

fn main() {
    println!("Machine: {}", common::machine());
    let n = if std::env::args().any(|arg| arg == "--bench") {
        1_000_000
    } else {
        1_000
    };
    let source_size = std::mem::size_of::<Source>() as isize;
    let per = |bytes: isize| bytes as f64 / n as f64;

    let (vec, vec_bytes) = held(|| sources(n));
    drop(vec);
    // `Gather` boxes each source, so the source's own size is in what it holds.
    let (mut gathered, gather_bytes) = held(|| confluo::gather(sources(n)));
    let added_at_rest = gather_bytes - n as isize * source_size;

    // Poll once: every source yields its first item and is scheduled again.
    let (first, _) = held(|| block_on(gathered.next()));
    assert!(first.is_some());
    let (sum, drained_bytes) =
        held(|| block_on(gathered.by_ref().fold(0u64, |a, b| async move { a + b })));
    black_box(sum);
    assert_eq!(vec_bytes, n as isize * source_size);
    assert!(added_at_rest > 0);
    assert!(drained_bytes < 0, "ended sources are freed at once");
    drop(gathered);

    if n == 1_000 {
        return;
    }
    println!("## Memory: {n} sources of {source_size} bytes each\n");
    println!("| what | bytes per source |");
    println!("|---|---:|");
    println!("| a `Vec` of the sources | {:.1} |", per(vec_bytes));
    println!("| a `Gather` of the sources | {:.1} |", per(gather_bytes));
    println!(
        "| what `Gather` adds beyond the source's own size | {:.1} |",
        per(added_at_rest)
    );
}
