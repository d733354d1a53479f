//! W2, wake cost: N pending sources, each fed by its own channel; a driver
//! sends messages to random sources one at a time and waits for each to come
//! out of the merge. The oracle waits on the right channel itself: the lower
//! bound, one wake per message like every contender.
//!
//! ```text
//! cargo bench --bench wake                      # 10,000 messages
//! CONFLUO_BENCH=full cargo bench --bench wake   # 100,000 messages
//! ```
//!
//! `CONFLUO_BENCH_ONLY=Gather` runs only the contenders whose name holds that
//! text (and the oracle); `CONFLUO_BENCH_N=10` only that N.
//!
//! The contenders: confluo's `Gather`, futures' `select_all`,
//! futures-buffered's `MergeUnbounded`, futures-concurrency's `Merge` on a
//! `Vec` and its `StreamGroup`, tokio-stream's `StreamMap`; and two sets of
//! futures, futures' `FuturesUnordered` and futures-buffered's, each holding
//! every channel's next message as a `StreamFuture` and pushing the rest of
//! the channel back after each message.
//!
//! Merges whose poll scans every source (`Merge`, `StreamGroup`,
//! `StreamMap`) get fewer messages at large N (the table says how many), so
//! a run ends in minutes; the figure is per message either way. Run without
//! `--bench` (as `cargo test` does), it is a smoke run that checks every
//! contender hands out every message, in order, as it is sent.

mod common;

use common::{selected, size_selected, spread};

use std::hint::black_box;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures::executor::block_on;
use futures::stream::{FuturesUnordered, Stream, StreamExt, StreamFuture};

type Receiver = UnboundedReceiver<u64>;

fn channels(n: usize) -> (Vec<UnboundedSender<u64>>, Vec<Receiver>) {
    (0..n).map(|_| unbounded()).unzip()
}

/// Random source indices, the same for every contender.
fn targets(n: usize, messages: usize) -> Vec<usize> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..messages)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        })
        .collect()
}

/// For each message: the receiving side waits (it is polled and pending,
/// its wakers registered), the message is sent to its source, and the wait
/// ends with it. So every message costs one wake, as in a running system.
async fn one_at_a_time<S: Stream<Item = u64> + Unpin>(
    receiver: &mut S,
    sender: &UnboundedSender<u64>,
    message: u64,
) {
    let mut next = receiver.next();
    assert!(futures::poll!(&mut next).is_pending());
    sender.unbounded_send(message).unwrap();
    assert_eq!(next.await, Some(message));
}

/// Drives every message through `merged`.
fn drive<M: Stream<Item = u64> + Unpin>(
    senders: &[UnboundedSender<u64>],
    targets: &[usize],
    mut merged: M,
) -> Duration {
    block_on(async {
        let start = Instant::now();
        for (i, &k) in targets.iter().enumerate() {
            one_at_a_time(&mut merged, &senders[k], i as u64).await;
        }
        black_box(start.elapsed())
    })
}

fn oracle(n: usize, targets: &[usize]) -> Duration {
    let (senders, mut receivers) = channels(n);
    block_on(async {
        let start = Instant::now();
        for (i, &k) in targets.iter().enumerate() {
            one_at_a_time(&mut receivers[k], &senders[k], i as u64).await;
        }
        black_box(start.elapsed())
    })
}

fn confluo_gather(n: usize, targets: &[usize]) -> Duration {
    let (senders, receivers) = channels(n);
    drive(&senders, targets, confluo::gather(receivers))
}

fn select_all(n: usize, targets: &[usize]) -> Duration {
    let (senders, receivers) = channels(n);
    drive(&senders, targets, futures::stream::select_all(receivers))
}

/// A set of futures as a merge: each channel's next message is a
/// `StreamFuture` in `pending`; once it is out, the rest of the channel is
/// pushed back. Both sets of futures run this one loop.
fn refilled<P>(
    mut pending: P,
    mut push: impl FnMut(&mut P, StreamFuture<Receiver>),
) -> impl Stream<Item = u64> + Unpin
where
    P: Stream<Item = (Option<u64>, Receiver)> + Unpin,
{
    futures::stream::poll_fn(move |cx| loop {
        match futures::ready!(pending.poll_next_unpin(cx)) {
            Some((Some(item), rest)) => {
                push(&mut pending, rest.into_future());
                return std::task::Poll::Ready(Some(item));
            }
            Some((None, _)) => continue,
            None => return std::task::Poll::Ready(None),
        }
    })
}

/// A set of futures (futures' or futures-buffered's `FuturesUnordered`)
/// holding each receiver's next message, refilled as each comes out.
fn unordered<P>(n: usize, targets: &[usize], push: fn(&mut P, StreamFuture<Receiver>)) -> Duration
where
    P: FromIterator<StreamFuture<Receiver>> + Stream<Item = (Option<u64>, Receiver)> + Unpin,
{
    let (senders, receivers) = channels(n);
    let pending: P = receivers.into_iter().map(StreamExt::into_future).collect();
    drive(&senders, targets, refilled(pending, push))
}

fn futures_unordered(n: usize, targets: &[usize]) -> Duration {
    unordered::<FuturesUnordered<_>>(n, targets, |set, next| set.push(next))
}

fn buffered_unordered(n: usize, targets: &[usize]) -> Duration {
    unordered::<futures_buffered::FuturesUnordered<_>>(n, targets, |set, next| set.push(next))
}

fn merge_unbounded(n: usize, targets: &[usize]) -> Duration {
    let (senders, receivers) = channels(n);
    let merged: futures_buffered::MergeUnbounded<_> = receivers.into_iter().collect();
    drive(&senders, targets, merged)
}

fn merge(n: usize, targets: &[usize]) -> Duration {
    use futures_concurrency::stream::Merge;
    let (senders, receivers) = channels(n);
    drive(&senders, targets, receivers.merge())
}

fn stream_group(n: usize, targets: &[usize]) -> Duration {
    use futures_concurrency::stream::StreamGroup;
    let (senders, receivers) = channels(n);
    let merged: StreamGroup<_> = receivers.into_iter().collect();
    drive(&senders, targets, merged)
}

fn stream_map(n: usize, targets: &[usize]) -> Duration {
    let (senders, receivers) = channels(n);
    let mut map = tokio_stream::StreamMap::with_capacity(n);
    for (key, receiver) in receivers.into_iter().enumerate() {
        map.insert(key, receiver);
    }
    drive(&senders, targets, map.map(|(_, item)| item))
}

/// A contender: its name, its run, and whether its poll scans all N sources
/// (it then gets fewer messages at large N).
type Contender = (&'static str, fn(usize, &[usize]) -> Duration, bool);

const CONTENDERS: &[Contender] = &[
    ("oracle: the right channel (lower bound)", oracle, false),
    ("confluo Gather", confluo_gather, false),
    ("futures select_all", select_all, false),
    ("futures FuturesUnordered", futures_unordered, false),
    (
        "futures-buffered FuturesUnordered",
        buffered_unordered,
        false,
    ),
    ("futures-buffered MergeUnbounded", merge_unbounded, false),
    ("futures-concurrency Merge (Vec)", merge, true),
    // Each poll walks the group's keys in order until one was woken.
    ("futures-concurrency StreamGroup", stream_group, true),
    ("tokio-stream StreamMap", stream_map, true),
];

/// A smoke run of one contender, on a thread of its own: one that loses a
/// message would wait for it forever, so it gets a minute, then fails by name.
fn watched(
    name: &str,
    run: fn(usize, &[usize]) -> Duration,
    n: usize,
    targets: Vec<usize>,
) -> Duration {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(run(n, &targets)));
    match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(time) => time,
        Err(RecvTimeoutError::Timeout) => panic!("{name} lost a message at N = {n}"),
        Err(RecvTimeoutError::Disconnected) => panic!("{name} failed at N = {n}"),
    }
}

fn main() {
    println!("Machine: {}", common::machine());
    let bench = std::env::args().any(|arg| arg == "--bench");
    let full = std::env::var("CONFLUO_BENCH").as_deref() == Ok("full");
    let (messages, reps, sizes): (usize, usize, &[usize]) = match (bench, full) {
        (false, _) => (200, 1, &[1, 10, 100]),
        (true, false) => (10_000, 3, &[10, 1_000, 100_000]),
        (true, true) => (100_000, 5, &[10, 1_000, 100_000]),
    };
    if bench {
        println!("## W2 wake cost: {reps} repetitions\n");
        println!(
            "| N | contender | messages | ns per message (median) | × oracle: median | min | max |"
        );
        println!("|---:|---|---:|---:|---:|---:|---:|");
    }
    for &n in sizes.iter().filter(|&&n| size_selected(n)) {
        // A scanning merge costs O(N) per message: cap its work near 10⁸ polls.
        let scanning_messages = messages.min((100_000_000 / n).max(100));
        let mut per_message = vec![Vec::new(); CONTENDERS.len()];
        for _ in 0..reps {
            for (c, (name, run, scans)) in CONTENDERS.iter().enumerate() {
                if c > 0 && !selected(name) {
                    per_message[c].push(f64::NAN);
                    continue;
                }
                let count = if *scans { scanning_messages } else { messages };
                let time = if bench {
                    run(n, &targets(n, count))
                } else {
                    watched(name, *run, n, targets(n, count))
                };
                per_message[c].push(time.as_secs_f64() * 1e9 / count as f64);
            }
        }
        if !bench {
            continue;
        }
        for (c, (name, _, scans)) in CONTENDERS.iter().enumerate() {
            let ratios: Vec<f64> = per_message[c]
                .iter()
                .zip(&per_message[0])
                .map(|(t, oracle)| t / oracle)
                .collect();
            let (lo, mid, hi) = spread(ratios);
            println!(
                "| {n} | {name} | {} | {:.0} | {mid:.2} | {lo:.2} | {hi:.2} |",
                if *scans { scanning_messages } else { messages },
                spread(per_message[c].clone()).1
            );
        }
    }
}
