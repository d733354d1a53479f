//! Gather against its peers, all in one process on the same input.
//!
//! ```text
//! cargo bench --bench gather                      # quick sizes
//! CONFLUO_BENCH=full cargo bench --bench gather   # the sizes BENCHMARKS.md quotes
//! ```
//!
//! `CONFLUO_BENCH_ONLY=Gather` runs only the contenders whose name holds that
//! text (and the lower bound); `CONFLUO_BENCH_N=1000` only that N.
//!
//! Run without `--bench` (as `cargo test` does), it is a smoke run at tiny
//! sizes that checks every contender's result, so the benchmark cannot rot.
//!
//! - W1, ready throughput: N streams of ready items, merged and summed.
//!   Every contender, the sequential loop too, takes each item through
//!   `black_box`, so no loop is folded into a formula. Items count from 1,
//!   so an item lost changes the sum the smoke run checks.
//!
//! The contenders: the sequential loop (the lower bound), confluo's
//! `Gather`, futures' `select_all`, futures-buffered's `MergeUnbounded`,
//! futures-concurrency's `Merge` on a `Vec` and its `StreamGroup`, and
//! tokio-stream's `StreamMap`; and two sets of futures, futures'
//! `FuturesUnordered` and futures-buffered's, each holding every stream's
//! next item as a `StreamFuture` and pushing the rest of the stream back
//! after each item.

mod common;

use common::{selected, size_selected, spread};

use std::hint::black_box;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures::stream::{self, FuturesUnordered, Stream, StreamExt, StreamFuture};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Smoke,
    Quick,
    Full,
}

impl Mode {
    fn from_env() -> Mode {
        if !std::env::args().any(|arg| arg == "--bench") {
            Mode::Smoke
        } else if std::env::var("CONFLUO_BENCH").as_deref() == Ok("full") {
            Mode::Full
        } else {
            Mode::Quick
        }
    }
}

fn main() {
    println!("Machine: {}", common::machine());
    let mode = Mode::from_env();
    ready_throughput(mode);
}

// ---------------------------------------------------------------------------
// W1: ready throughput

type Source = stream::Iter<std::ops::Range<u64>>;

/// Items count from 1, so that a lost item always changes the sum.
fn sources(n: usize, per_source: u64) -> Vec<Source> {
    (0..n).map(|_| stream::iter(1..per_source + 1)).collect()
}

async fn drain<S: Stream<Item = u64> + Unpin>(mut merged: S) -> u64 {
    let mut sum = 0u64;
    while let Some(x) = merged.next().await {
        sum = sum.wrapping_add(black_box(x));
    }
    sum
}

/// One contender: builds its merge from the sources (untimed), then drains
/// it (timed). Returns the sum and the drain time.
type Contender = (&'static str, fn(Vec<Source>) -> (u64, Duration));

fn timed<M: Stream<Item = u64> + Unpin>(merged: M) -> (u64, Duration) {
    let start = Instant::now();
    let sum = block_on(drain(merged));
    (black_box(sum), start.elapsed())
}

fn sequential(sources: Vec<Source>) -> (u64, Duration) {
    let start = Instant::now();
    let sum = block_on(async {
        let mut sum = 0u64;
        for mut source in sources {
            while let Some(x) = source.next().await {
                sum = sum.wrapping_add(black_box(x));
            }
        }
        sum
    });
    (black_box(sum), start.elapsed())
}

fn confluo_gather(sources: Vec<Source>) -> (u64, Duration) {
    timed(confluo::gather(sources))
}

fn select_all(sources: Vec<Source>) -> (u64, Duration) {
    timed(stream::select_all(sources))
}

/// A set of futures as a merge: each stream's next item is a
/// `StreamFuture` in `pending`; once it is out, the rest of the stream is
/// pushed back. Both sets of futures run this one loop.
fn refilled<P>(
    mut pending: P,
    mut push: impl FnMut(&mut P, StreamFuture<Source>),
) -> (u64, Duration)
where
    P: Stream<Item = (Option<u64>, Source)> + Unpin,
{
    let start = Instant::now();
    let sum = block_on(async {
        let mut sum = 0u64;
        while let Some((item, rest)) = pending.next().await {
            if let Some(x) = item {
                sum = sum.wrapping_add(black_box(x));
                push(&mut pending, rest.into_future());
            }
        }
        sum
    });
    (black_box(sum), start.elapsed())
}

fn futures_unordered(sources: Vec<Source>) -> (u64, Duration) {
    let pending: FuturesUnordered<_> = sources.into_iter().map(StreamExt::into_future).collect();
    refilled(pending, |set, next| set.push(next))
}

fn buffered_unordered(sources: Vec<Source>) -> (u64, Duration) {
    use futures_buffered::FuturesUnordered;
    let pending: FuturesUnordered<_> = sources.into_iter().map(StreamExt::into_future).collect();
    refilled(pending, |set, next| set.push(next))
}

fn merge_unbounded(sources: Vec<Source>) -> (u64, Duration) {
    timed(
        sources
            .into_iter()
            .collect::<futures_buffered::MergeUnbounded<_>>(),
    )
}

fn merge(sources: Vec<Source>) -> (u64, Duration) {
    use futures_concurrency::stream::Merge;
    timed(sources.merge())
}

fn stream_group(sources: Vec<Source>) -> (u64, Duration) {
    use futures_concurrency::stream::StreamGroup;
    timed(sources.into_iter().collect::<StreamGroup<_>>())
}

fn stream_map(sources: Vec<Source>) -> (u64, Duration) {
    let mut map = tokio_stream::StreamMap::with_capacity(sources.len());
    for (key, source) in sources.into_iter().enumerate() {
        map.insert(key, source);
    }
    timed(map.map(|(_, x)| x))
}

const CONTENDERS: &[Contender] = &[
    ("sequential loop (lower bound)", sequential),
    ("confluo Gather", confluo_gather),
    ("futures select_all", select_all),
    ("futures FuturesUnordered", futures_unordered),
    ("futures-buffered FuturesUnordered", buffered_unordered),
    ("futures-buffered MergeUnbounded", merge_unbounded),
    ("futures-concurrency Merge (Vec)", merge),
    ("futures-concurrency StreamGroup", stream_group),
    ("tokio-stream StreamMap", stream_map),
];

fn ready_throughput(mode: Mode) {
    let (total, reps, sizes): (u64, usize, &[usize]) = match mode {
        Mode::Smoke => (3_000, 1, &[1, 10, 1_000]),
        Mode::Quick => (1_000_000, 3, &[10, 1_000, 100_000]),
        Mode::Full => (10_000_000, 5, &[10, 1_000, 100_000]),
    };
    if mode != Mode::Smoke {
        println!("## W1 ready throughput: {total} items in all, {reps} repetitions\n");
    }
    for &n in sizes.iter().filter(|&&n| size_selected(n)) {
        let per_source = total / n as u64;
        let expected = n as u64 * (per_source * (per_source + 1) / 2);
        // times[contender][rep]
        let mut times = vec![Vec::new(); CONTENDERS.len()];
        for _ in 0..reps {
            for (c, (name, run)) in CONTENDERS.iter().enumerate() {
                if c > 0 && !selected(name) {
                    times[c].push(Duration::ZERO);
                    continue;
                }
                let (sum, time) = run(sources(n, per_source));
                assert_eq!(sum, expected, "{name} lost or duplicated items");
                times[c].push(time);
            }
        }
        if mode == Mode::Smoke {
            continue;
        }
        println!("N = {n} streams × {per_source} items\n");
        println!("| contender | ns per item (median) | × sequential: median | min | max |");
        println!("|---|---:|---:|---:|---:|");
        for (c, (name, _)) in CONTENDERS.iter().enumerate() {
            let per_item: Vec<f64> = times[c]
                .iter()
                .map(|t| t.as_nanos() as f64 / (per_source * n as u64) as f64)
                .collect();
            let ratios: Vec<f64> = times[c]
                .iter()
                .zip(&times[0])
                .map(|(t, base)| t.as_secs_f64() / base.as_secs_f64())
                .collect();
            let (lo, mid, hi) = spread(ratios);
            println!(
                "| {name} | {:.2} | {mid:.2} | {lo:.2} | {hi:.2} |",
                spread(per_item).1
            );
        }
        println!();
    }
}
