//! What the benchmarks share: picking contenders and sizes from the
//! environment, and summing up repetitions.
#![allow(dead_code)]

/// Whether `CONFLUO_BENCH_ONLY` (a part of a contender's name) selects this
/// contender; without it, every contender runs.
pub(crate) fn selected(name: &str) -> bool {
    std::env::var("CONFLUO_BENCH_ONLY").map_or(true, |only| name.contains(&only))
}

/// Whether `CONFLUO_BENCH_N` selects this size; without it, every size runs.
pub(crate) fn size_selected(n: usize) -> bool {
    std::env::var("CONFLUO_BENCH_N")
        .ok()
        .and_then(|only| only.parse::<usize>().ok())
        .map_or(true, |only| only == n)
}

/// (min, median, max)
pub(crate) fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        values[0],
        values[values.len() / 2],
        values[values.len() - 1],
    )
}
