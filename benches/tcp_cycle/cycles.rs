//! The cycles every contender runs, and what they record: a cycle starts
//! with one signal to every sensor, and ends when the last of the N
//! readings arrives, at which moment the next one starts.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

// confluo's own dependency (with `std`), executor-neutral: the same signal
// wakes tokio tasks, smol tasks and a `Gather`'s sources.
use event_listener::{listener, Event};

/// The cycles of one contender, shared by its sensors and whoever receives
/// their readings.
pub(crate) struct Cycles {
    sensors: u32,
    /// Cycles to run, the warm-up (cycle 1) included.
    last: u32,
    /// The cycle under way, from 1; 0 before the first.
    under_way: AtomicU32,
    started: Event,
    /// Readings of the cycle under way so far.
    arrived: AtomicU32,
    /// Readings each sensor delivered.
    delivered: Vec<AtomicU32>,
    /// Readings that answered another cycle's request, or no sensor's.
    out_of_turn: AtomicU32,
    clock: Mutex<Clock>,
    report: Mutex<Option<Report>>,
    finished: Condvar,
}

struct Clock {
    cycle_start: Instant,
    cpu_start: Duration,
    cycles: Vec<Duration>,
}

/// What the measured cycles took.
#[derive(Clone, Debug)]
pub(crate) struct Report {
    /// Each measured cycle's wall time.
    pub(crate) cycles: Vec<Duration>,
    /// The process's CPU time over the measured cycles.
    pub(crate) cpu: Duration,
}

impl Cycles {
    /// `measured` cycles of `sensors` readings each, after one warm-up cycle.
    pub(crate) fn new(sensors: u32, measured: u32) -> Cycles {
        Cycles {
            sensors,
            last: measured + 1,
            under_way: AtomicU32::new(0),
            started: Event::new(),
            arrived: AtomicU32::new(0),
            delivered: (0..sensors).map(|_| AtomicU32::new(0)).collect(),
            out_of_turn: AtomicU32::new(0),
            clock: Mutex::new(Clock {
                cycle_start: Instant::now(),
                cpu_start: Duration::ZERO,
                cycles: Vec::new(),
            }),
            report: Mutex::new(None),
            finished: Condvar::new(),
        }
    }

    /// Waits until cycle `cycle` (from 1) has started.
    pub(crate) async fn started(&self, cycle: u32) {
        while self.under_way.load(Ordering::Acquire) < cycle {
            listener!(self.started => listener);
            // Started between the check and the listening: no wake comes.
            if self.under_way.load(Ordering::Acquire) >= cycle {
                return;
            }
            listener.await;
        }
    }

    /// Sensor `id` answered the request of cycle `cycle`: counts it, and
    /// the last reading of a cycle ends it and starts the next.
    pub(crate) fn arrived(&self, id: u32, cycle: u32) {
        match self.delivered.get(id as usize) {
            Some(count) if cycle == self.under_way.load(Ordering::Acquire) => {
                count.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                self.out_of_turn.fetch_add(1, Ordering::Relaxed);
            }
        }
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.sensors {
            // Every reading of this cycle is in: none can come until the
            // next starts, below.
            self.arrived.store(0, Ordering::Relaxed);
            self.next();
        }
    }

    /// Starts the first cycle, and waits until the last one ended (or
    /// `patience` passed without that: a sensor is stuck).
    pub(crate) fn run(&self, patience: Duration) -> Result<Report, String> {
        self.next();
        let report = self.report.lock().unwrap();
        let (report, waited) = self
            .finished
            .wait_timeout_while(report, patience, |report| report.is_none())
            .unwrap();
        if waited.timed_out() {
            return Err(format!(
                "cycle {} of {} did not end within {patience:?}: {} of {} readings arrived",
                self.under_way.load(Ordering::Relaxed),
                self.last,
                self.arrived.load(Ordering::Relaxed),
                self.sensors,
            ));
        }
        let report = report.clone().unwrap();
        self.check()?;
        Ok(report)
    }

    /// Whether every sensor delivered one reading per cycle, each in turn.
    fn check(&self) -> Result<(), String> {
        let out_of_turn = self.out_of_turn.load(Ordering::Relaxed);
        if out_of_turn > 0 {
            return Err(format!("{out_of_turn} readings arrived out of turn"));
        }
        for (id, count) in self.delivered.iter().enumerate() {
            let count = count.load(Ordering::Relaxed);
            if count != self.last {
                return Err(format!(
                    "sensor {id} delivered {count} readings in {} cycles",
                    self.last
                ));
            }
        }
        Ok(())
    }

    /// Ends the cycle under way (if one is) and starts the next, or
    /// reports after the last.
    fn next(&self) {
        let now = Instant::now();
        let mut clock = self.clock.lock().unwrap();
        let ended = self.under_way.load(Ordering::Relaxed);
        match ended {
            0 => {}
            // The warm-up: the CPU clock starts at its end.
            1 => clock.cpu_start = cpu_time(),
            _ => {
                let took = now - clock.cycle_start;
                clock.cycles.push(took);
            }
        }
        if ended == self.last {
            let report = Report {
                cycles: std::mem::take(&mut clock.cycles),
                cpu: cpu_time() - clock.cpu_start,
            };
            *self.report.lock().unwrap() = Some(report);
            self.finished.notify_all();
            return;
        }
        clock.cycle_start = Instant::now();
        self.under_way.store(ended + 1, Ordering::Release);
        self.started.notify(usize::MAX);
    }
}

/// CPU time of this process so far, user and system, every thread: what
/// getrusage's `ru_utime + ru_stime` count, from the process's CPU clock.
fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}
