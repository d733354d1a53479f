//! A producer's lease, kept alive by a thread of its own: the producer may
//! block for a long time (on an empty bridge, on a full run) without the
//! run taking it for dead, and a process that dies stops renewing it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;

use crate::link::Link;
use crate::Run;

/// The renewing thread's handle. Dropping it stops the thread at its next
/// beat; it is never joined, so that neither `finish` nor a drop waits on
/// a Redis that is down.
#[derive(Debug)]
pub(crate) struct Heartbeat {
    _stop: Sender<()>,
    expired: Arc<AtomicBool>,
}

impl Heartbeat {
    /// Renews `slot`'s lease every third of the lease time.
    pub(crate) fn start(run: &Run, addr: &str, slot: u32) -> Heartbeat {
        let (stop, stopped) = mpsc::channel::<()>();
        let expired = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&expired);
        let (run, addr) = (run.clone(), addr.to_owned());
        let period = run.lease / 3;
        thread::Builder::new()
            .name(format!("confluo-redis lease {slot}"))
            .spawn(move || {
                let mut link = None;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(period) {
                    if link.is_none() {
                        link = Link::open(&addr, &run).ok();
                    }
                    let Some(live) = link.as_mut() else { continue };
                    let mut beat = run.slot_call("confluo_beat", slot);
                    beat.arg(run.lease.as_millis() as u64);
                    // A failed beat is tried again next period; the lease
                    // outlives two missed beats.
                    if let Ok(0) = live.call(|con| beat.query::<i64>(con)) {
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                }
            })
            .expect("spawning the lease thread");
        Heartbeat {
            _stop: stop,
            expired,
        }
    }

    /// Whether the run declared this producer dead.
    pub(crate) fn expired(&self) -> bool {
        self.expired.load(Ordering::SeqCst)
    }
}
