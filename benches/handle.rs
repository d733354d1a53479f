//! What a `GatherHandle` adds to a push and a removal, against the same
//! calls on `&mut Gather`. Each contender pushes N idle sources and polls
//! the `Gather` once (which takes the handle's pushes in, and polls each
//! new source once), then removes them all and polls once more (which
//! takes the handle's removals in). The time per source covers the call
//! and its share of that poll.
//!
//! ```text
//! cargo bench --bench handle                      # N = 100,000
//! CONFLUO_BENCH=full cargo bench --bench handle   # N = 1,000,000, more repetitions
//! ```
//!
//! Contenders take turns within each repetition, so drift on a busy
//! machine falls on both. Run without `--bench` (as `cargo test` does), it
//! is a smoke run at a tiny N that checks every contender's counts.

mod common;

use common::spread;

use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use confluo::{Gather, SourceId};
use futures::task::noop_waker_ref;
use futures_core::Stream;

/// Pending forever; 16 bytes, so its box is a real allocation.
struct Idle([u64; 2]);

impl Stream for Idle {
    type Item = u64;
    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<u64>> {
        black_box(&self.0);
        Poll::Pending
    }
}

fn poll(gather: &mut Gather<Idle>) -> Poll<Option<u64>> {
    Pin::new(gather).poll_next(&mut Context::from_waker(noop_waker_ref()))
}

/// Push and removal times for N sources.
struct Times {
    push: Duration,
    remove: Duration,
}

fn by_mut(n: usize) -> Times {
    let mut gather = Gather::new();
    let start = Instant::now();
    let ids: Vec<SourceId> = (0..n).map(|i| gather.push(Idle([i as u64; 2]))).collect();
    assert_eq!(poll(&mut gather), Poll::Pending);
    let push = start.elapsed();
    assert_eq!(gather.len(), n);
    let start = Instant::now();
    for &id in &ids {
        black_box(gather.remove(id));
    }
    let _ = poll(&mut gather);
    let remove = start.elapsed();
    assert!(gather.is_empty());
    Times { push, remove }
}

fn by_handle(n: usize) -> Times {
    let mut gather = Gather::new();
    let handle = gather.handle();
    let start = Instant::now();
    let ids: Vec<SourceId> = (0..n)
        .map(|i| handle.push(Idle([i as u64; 2])).unwrap())
        .collect();
    assert_eq!(poll(&mut gather), Poll::Pending);
    let push = start.elapsed();
    assert_eq!(gather.len(), n);
    let start = Instant::now();
    for &id in &ids {
        black_box(handle.remove(id));
    }
    assert_eq!(poll(&mut gather), Poll::Pending, "a handle is left");
    let remove = start.elapsed();
    assert!(gather.is_empty());
    Times { push, remove }
}

/// The same from another thread: the handle pushes and removes there,
/// while this thread polls the `Gather` once at each end.
fn by_handle_on_a_thread(n: usize) -> Times {
    let mut gather = Gather::new();
    let handle = gather.handle();
    let start = Instant::now();
    let (ids, handle) = std::thread::spawn(move || {
        let ids: Vec<SourceId> = (0..n)
            .map(|i| handle.push(Idle([i as u64; 2])).unwrap())
            .collect();
        (ids, handle)
    })
    .join()
    .unwrap();
    assert_eq!(poll(&mut gather), Poll::Pending);
    let push = start.elapsed();
    assert_eq!(gather.len(), n);
    let start = Instant::now();
    let handle = std::thread::spawn(move || {
        for &id in &ids {
            black_box(handle.remove(id));
        }
        handle
    })
    .join()
    .unwrap();
    assert_eq!(poll(&mut gather), Poll::Pending);
    let remove = start.elapsed();
    assert!(gather.is_empty());
    drop(handle);
    Times { push, remove }
}

type Contender = (&'static str, fn(usize) -> Times);

const CONTENDERS: &[Contender] = &[
    ("&mut Gather", by_mut),
    ("GatherHandle", by_handle),
    ("GatherHandle on another thread", by_handle_on_a_thread),
];

fn main() {
    println!("Machine: {}", common::machine());
    let bench = std::env::args().any(|arg| arg == "--bench");
    let full = std::env::var("CONFLUO_BENCH").as_deref() == Ok("full");
    let (n, reps) = match (bench, full) {
        (false, _) => (1_000, 1),
        (true, false) => (100_000, 7),
        (true, true) => (1_000_000, 11),
    };
    // times[contender] = (push ns per source, remove ns per source) per rep
    let mut times = vec![(Vec::new(), Vec::new()); CONTENDERS.len()];
    for _ in 0..reps {
        for (c, (_, run)) in CONTENDERS.iter().enumerate() {
            let Times { push, remove } = run(n);
            times[c].0.push(push.as_nanos() as f64 / n as f64);
            times[c].1.push(remove.as_nanos() as f64 / n as f64);
        }
    }
    if !bench {
        return;
    }
    println!("## Handles: N = {n} sources pushed, then removed; {reps} repetitions\n");
    println!("| contender | push ns/source (median) | min | max | remove ns/source (median) | min | max | push × &mut | remove × &mut |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let (base_push, base_remove) = (spread(times[0].0.clone()).1, spread(times[0].1.clone()).1);
    for (c, (name, _)) in CONTENDERS.iter().enumerate() {
        let (push_lo, push, push_hi) = spread(times[c].0.clone());
        let (remove_lo, remove, remove_hi) = spread(times[c].1.clone());
        println!(
            "| {name} | {push:.1} | {push_lo:.1} | {push_hi:.1} | {remove:.1} | {remove_lo:.1} | {remove_hi:.1} | {:.2} | {:.2} |",
            push / base_push,
            remove / base_remove
        );
    }
}
