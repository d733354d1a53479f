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

/// The machine a run measured: the CPU model as the kernel names it, and
/// how many threads may run at once. Every benchmark prints it first, so
/// that a table carries the machine it came from.
pub(crate) fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_owned())
        })
        .unwrap_or_else(|| String::from("unknown CPU"));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {threads} hardware threads")
}

/// The line starting with `RESULT ` that a contender's process printed
/// (benchmarks that run each contender in a process of their own), or a
/// panic with all that the process said.
pub(crate) fn result_line(name: &str, output: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().find(|line| line.starts_with("RESULT ")) {
        Some(line) => line.to_owned(),
        None => panic!(
            "{name}: no result\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}
