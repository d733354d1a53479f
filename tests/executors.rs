//! The same scenarios on every executor: confluo names none of them.
//!
//! Sources are channel receivers fed from plain threads, so every wake comes
//! from another thread; the checks are the same on each executor.

#![cfg(feature = "alloc")]

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use confluo::{gather, gather_all, Gather};
use futures::stream::{self, StreamExt};

const SOURCES: usize = 16;
const ITEMS: usize = 300;

/// Gathers `SOURCES` channels fed by threads and checks every item arrived
/// once, in per-source order; then gathers one future per channel.
async fn scenario() {
    let mut receivers = Vec::new();
    let mut feeders = Vec::new();
    for source in 0..SOURCES {
        let (sender, receiver) = async_channel::bounded(4);
        receivers.push(receiver);
        feeders.push(thread::spawn(move || {
            for i in 0..ITEMS {
                sender.send_blocking((source, i)).unwrap();
            }
        }));
    }
    let items: Vec<(usize, usize)> = gather(receivers).collect().await;
    for feeder in feeders {
        feeder.join().unwrap();
    }
    assert_eq!(items.len(), SOURCES * ITEMS);
    for source in 0..SOURCES {
        let mine: Vec<usize> = items
            .iter()
            .filter(|(s, _)| *s == source)
            .map(|(_, i)| *i)
            .collect();
        assert_eq!(mine, (0..ITEMS).collect::<Vec<_>>());
    }

    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..SOURCES).map(|_| async_channel::bounded(1)).unzip();
    let feeder = thread::spawn(move || {
        for (i, sender) in senders.iter().enumerate().rev() {
            sender.send_blocking(i).unwrap();
        }
    });
    let firsts = gather_all(receivers.iter().map(|r| r.recv())).await;
    feeder.join().unwrap();
    let firsts: Vec<usize> = firsts.into_iter().map(Result::unwrap).collect();
    assert_eq!(firsts, (0..SOURCES).collect::<Vec<_>>());
}

#[test]
fn smol_block_on() {
    smol::block_on(scenario());
}

#[test]
fn smol_multi_threaded_executor() {
    let executor = Arc::new(smol::Executor::new());
    let (stop, stopped) = async_channel::bounded::<()>(1);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let executor = Arc::clone(&executor);
            let stopped = stopped.clone();
            thread::spawn(move || smol::block_on(executor.run(stopped.recv())))
        })
        .collect();
    let tasks: Vec<_> = (0..4).map(|_| executor.spawn(scenario())).collect();
    smol::block_on(async {
        for task in tasks {
            task.await;
        }
    });
    drop(stop);
    for worker in workers {
        let _ = worker.join().unwrap();
    }
}

#[test]
fn tokio_current_thread() {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(scenario());
}

#[test]
fn tokio_multi_thread() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..4).map(|_| tokio::spawn(scenario())).collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
}

#[test]
fn futures_block_on() {
    futures::executor::block_on(scenario());
}

#[test]
fn local_executor_with_not_send_sources() {
    let local = async_executor::LocalExecutor::new();
    let shared = Rc::new(std::cell::Cell::new(0));
    let task = local.spawn({
        let shared = Rc::clone(&shared);
        async move {
            // `Rc` makes each source `!Send`; a local executor runs them.
            let sources = (0..SOURCES).map(|s| {
                let counter = Rc::clone(&shared);
                stream::iter(0..ITEMS).map(move |i| {
                    counter.set(counter.get() + 1);
                    (s, i)
                })
            });
            let mut gather: Gather<_> = gather(sources);
            let mut seen = 0;
            while gather.next().await.is_some() {
                seen += 1;
            }
            seen
        }
    });
    let seen = smol::block_on(local.run(task));
    assert_eq!(seen, SOURCES * ITEMS);
    assert_eq!(shared.get(), SOURCES * ITEMS);
}

/// The smallest executor there is: poll, park until woken, repeat.
fn minimal_block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unparker {
        thread: thread::Thread,
        woken: AtomicBool,
    }
    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.woken.store(true, Ordering::Release);
            self.thread.unpark();
        }
    }
    let unparker = Arc::new(Unparker {
        thread: thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(Arc::clone(&unparker));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        while !unparker.woken.swap(false, Ordering::Acquire) {
            thread::park();
        }
    }
}

#[test]
fn minimal_hand_written_executor() {
    minimal_block_on(scenario());
}
