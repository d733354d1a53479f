//! The contenders of `benches/sampling.rs`: how each one samples N sensors
//! on two threads, recording each read in the shared [`Record`].

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use confluo::sample::{Fleet, Outcome, Period, Schedule};
use confluo::time::{AsyncIoClock, Clock, TokioClock};
use confluo::Gather;
use futures::{FutureExt, StreamExt};

use smol::future::FutureExt as _;

use super::{Record, Run};

/// Runs contender `name`: builds its sensors, lets them run while
/// `measure` waits out the run, and returns without tearing them down (the
/// process ends right after).
pub(crate) fn run(
    name: &str,
    run: Run,
    start: Instant,
    record: Arc<Record>,
    measure: impl FnOnce(),
) {
    match name {
        "Fleet/smol" => on_smol(|ex| {
            for shard in 0..shards(run) {
                let fleet = fleet(
                    run,
                    start,
                    shard,
                    AsyncIoClock::new(),
                    move |_: &u32, ()| {
                        let read = smol::Timer::after(run.read);
                        async move {
                            read.await;
                            (Some(()), Ok::<(), ()>(()))
                        }
                    },
                );
                ex.spawn(drain(fleet, record.clone())).detach();
            }
        }),
        "Fleet/tokio" => on_tokio(|rt| {
            for shard in 0..shards(run) {
                let fleet = rt.block_on(async {
                    fleet(run, start, shard, TokioClock::new(), move |_: &u32, ()| {
                        tokio::time::sleep(run.read).map(|_| (Some(()), Ok::<(), ()>(())))
                    })
                });
                rt.spawn(tokio::task::unconstrained(drain(fleet, record.clone())));
            }
        }),
        "tasks/tokio" => on_tokio(|rt| {
            for key in 0..run.sensors {
                let record = record.clone();
                rt.spawn(async move {
                    let due = start + run.phase(key);
                    let mut interval = tokio::time::interval_at(due.into(), run.period);
                    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                    loop {
                        let due = interval.tick().await.into_std();
                        let late = Instant::now().saturating_duration_since(due);
                        let ok = tokio::time::timeout(run.timeout, tokio::time::sleep(run.read))
                            .await
                            .is_ok();
                        record.sample(key, due - start, late, ok);
                    }
                });
            }
        }),
        "tasks/smol" => on_smol(|ex| {
            for key in 0..run.sensors {
                let record = record.clone();
                ex.spawn(async move {
                    let mut interval = smol::Timer::interval_at(start + run.phase(key), run.period);
                    while let Some(due) = interval.next().await {
                        let late = Instant::now().saturating_duration_since(due);
                        let ok = smol_read(run).await;
                        record.sample(key, due - start, late, ok);
                    }
                })
                .detach();
            }
        }),
        "Gather/smol" => on_smol(|ex| {
            for shard in 0..shards(run) {
                let streams = keys(run, shard).map(|key| {
                    let interval = smol::Timer::interval_at(start + run.phase(key), run.period);
                    StreamExt::then(interval, move |due| async move {
                        let late = Instant::now().saturating_duration_since(due);
                        (key, due, late, smol_read(run).await)
                    })
                });
                ex.spawn(drain_gather(streams.collect(), start, record.clone()))
                    .detach();
            }
        }),
        "Gather/tokio" => on_tokio(|rt| {
            for shard in 0..shards(run) {
                let gather: Gather<_> = rt.block_on(async {
                    keys(run, shard)
                        .map(|key| {
                            let mut interval = tokio::time::interval_at(
                                (start + run.phase(key)).into(),
                                run.period,
                            );
                            interval
                                .set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                            tokio_stream::wrappers::IntervalStream::new(interval).then(
                                move |due| async move {
                                    let due = due.into_std();
                                    let late = Instant::now().saturating_duration_since(due);
                                    let ok = tokio::time::timeout(
                                        run.timeout,
                                        tokio::time::sleep(run.read),
                                    )
                                    .await
                                    .is_ok();
                                    (key, due, late, ok)
                                },
                            )
                        })
                        .collect()
                });
                rt.spawn(tokio::task::unconstrained(drain_gather(
                    gather,
                    start,
                    record.clone(),
                )));
            }
        }),
        other => panic!("no contender {other}"),
    }
    measure();
}

/// How many fleets (or gathers) share the sensors, one task each: one per
/// 500,000 sensors, so the million-sensor run uses both threads, and a
/// smaller one does not wake a second thread every tick for nothing.
fn shards(run: Run) -> u32 {
    run.sensors.saturating_add(499_999) / 500_000
}

/// The keys of one shard.
fn keys(run: Run, shard: u32) -> impl Iterator<Item = u32> {
    (shard..run.sensors).step_by(shards(run) as usize)
}

/// A read with its timeout, on smol: whether it came back in time.
async fn smol_read(run: Run) -> bool {
    async {
        smol::Timer::after(run.read).await;
        true
    }
    .or(async {
        smol::Timer::after(run.timeout).await;
        false
    })
    .await
}

/// A fleet of one shard's sensors whose slots start at `start`.
fn fleet<C, Read, ReadFut>(
    run: Run,
    start: Instant,
    shard: u32,
    clock: C,
    read: Read,
) -> (
    Duration,
    impl futures::Stream<Item = (u32, confluo::sample::Sample<(), ()>)>,
)
where
    C: Clock,
    Read: FnMut(&u32, ()) -> ReadFut,
    ReadFut: Future<Output = (Option<()>, Result<(), ()>)>,
{
    let origin = clock.now() + start.saturating_duration_since(Instant::now());
    let schedule = Schedule::every(Period::new(run.period).unwrap()).starting_at(origin);
    let mut fleet = Fleet::new(
        schedule,
        clock,
        |_: &u32| std::future::ready(Ok::<(), ()>(())),
        read,
    )
    .timeout(run.timeout);
    if let Some(resolution) = run.resolution {
        fleet = fleet.resolution(resolution);
    }
    fleet.reserve(keys(run, shard).count());
    for key in keys(run, shard) {
        fleet.insert(key);
    }
    (origin, fleet)
}

async fn drain(
    (origin, fleet): (
        Duration,
        impl futures::Stream<Item = (u32, confluo::sample::Sample<(), ()>)>,
    ),
    record: Arc<Record>,
) {
    let mut fleet = std::pin::pin!(fleet);
    while let Some((key, sample)) = fleet.next().await {
        if !matches!(sample.outcome, Outcome::Skipped { .. }) {
            let ok = matches!(sample.outcome, Outcome::Ok(()));
            record.sample(key, sample.due.saturating_sub(origin), sample.late, ok);
        }
    }
}

async fn drain_gather<S>(mut gather: Gather<S>, start: Instant, record: Arc<Record>)
where
    S: futures::Stream<Item = (u32, Instant, Duration, bool)>,
{
    while let Some((key, due, late, ok)) = gather.next().await {
        record.sample(key, due.saturating_duration_since(start), late, ok);
    }
}

/// A 2-thread smol executor running what `spawn` puts on it.
fn on_smol(spawn: impl FnOnce(&smol::Executor<'static>)) {
    let ex: &'static smol::Executor<'static> = Box::leak(Box::new(smol::Executor::new()));
    for _ in 0..2 {
        std::thread::spawn(move || smol::block_on(ex.run(std::future::pending::<()>())));
    }
    spawn(ex);
}

/// A 2-worker tokio runtime running what `spawn` puts on it.
fn on_tokio(spawn: impl FnOnce(&tokio::runtime::Runtime)) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    spawn(&rt);
    std::mem::forget(rt);
}
