//! Samplers over real TCP on loopback, in virtual time: the sensors' I/O is
//! real (smol), their clock a `ManualClock`. The test moves the clock to a
//! slot, takes the samples of the sensors that answer (their I/O completes
//! on its own), then moves it to the deadline to cut the reads that hang;
//! so every outcome is exact, and no sleep decides anything. A sensor
//! server counts its open connections and the hellos of each sensor, and
//! this file counts the process's open sockets (Linux): its tests
//! hold one lock, so no other test opens or closes any meanwhile.
#![cfg(feature = "async-io")]

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use confluo::gather;
use confluo::sample::{Backoff, HealthTable, Outcome, Period, Sample, Sampler, Schedule};
use confluo::time::ManualClock;
use futures::{AsyncReadExt, AsyncWriteExt, FutureExt, Stream, StreamExt};
use smol::channel::{Receiver, Sender};
use smol::net::{TcpListener, TcpStream};

/// The bound on every wait for real I/O: generous, so that only a bug,
/// never a loaded machine, reaches it; a failure then, not a hang.
const PATIENCE: Duration = Duration::from_secs(30);
const PERIOD: Duration = Duration::from_millis(100);
const TIMEOUT: Duration = Duration::from_millis(30);
/// Sensors of each kind.
const EACH: u32 = 5;
/// Slots of the scripted run; the sensors that go down do so before slot
/// `DOWN` and are back before slot `UP`.
const SLOTS: u64 = 12;
const DOWN: u64 = 3;
const UP: u64 = 8;

/// Held by every test that counts open sockets.
static SERIAL: Mutex<()> = Mutex::new(());

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// Answers every request at once.
    Answers,
    /// Takes requests and never answers.
    Hangs,
    /// Closes its connection at every third request on it.
    Drops,
    /// While the server says so, refuses hellos and closes at a request.
    GoesDown,
}

impl Kind {
    fn of(id: u32) -> Kind {
        [Kind::Answers, Kind::Hangs, Kind::Drops, Kind::GoesDown][id as usize % 4]
    }
}

/// A sensor server: a hello (the sensor's id, 4 bytes) gets an ack (1
/// byte), each request (1 byte) a reading (8 bytes: id × 1000 + the
/// request's number on its connection), the way the sensor's kind answers.
struct Server {
    open: AtomicUsize,
    hellos: Vec<AtomicU32>,
    requests: Vec<AtomicU32>,
    down: AtomicBool,
    /// A message each time a count changed.
    changed: (Sender<()>, Receiver<()>),
}

impl Server {
    async fn start(sensors: u32) -> (Arc<Server>, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = Arc::new(Server {
            open: AtomicUsize::new(0),
            hellos: (0..sensors).map(|_| AtomicU32::new(0)).collect(),
            requests: (0..sensors).map(|_| AtomicU32::new(0)).collect(),
            down: AtomicBool::new(false),
            changed: smol::channel::unbounded(),
        });
        let serving = Arc::clone(&server);
        smol::spawn(async move {
            while let Ok((connection, _)) = listener.accept().await {
                serving.open.fetch_add(1, SeqCst);
                serving.changed();
                let server = Arc::clone(&serving);
                smol::spawn(async move {
                    let _ = server.answer(connection).await; // closes it
                    server.open.fetch_sub(1, SeqCst);
                    server.changed();
                })
                .detach();
            }
        })
        .detach();
        (server, address)
    }

    async fn answer(&self, mut connection: TcpStream) -> std::io::Result<()> {
        let mut hello = [0u8; 4];
        connection.read_exact(&mut hello).await?;
        let id = u32::from_le_bytes(hello);
        self.hellos[id as usize].fetch_add(1, SeqCst);
        self.changed();
        let kind = Kind::of(id);
        if kind == Kind::GoesDown && self.down.load(SeqCst) {
            return Ok(());
        }
        connection.write_all(&[1]).await?;
        let mut request = [0u8; 1];
        for n in 1u64.. {
            connection.read_exact(&mut request).await?;
            self.requests[id as usize].fetch_add(1, SeqCst);
            self.changed();
            match kind {
                Kind::Hangs => continue,
                Kind::Drops if n % 3 == 0 => return Ok(()),
                Kind::GoesDown if self.down.load(SeqCst) => return Ok(()),
                _ => {}
            }
            let reading = u64::from(id) * 1000 + n;
            connection.write_all(&reading.to_le_bytes()).await?;
        }
        Ok(())
    }

    /// Says that a count changed.
    fn changed(&self) {
        self.changed.0.try_send(()).unwrap();
    }

    fn open(&self) -> usize {
        self.open.load(SeqCst)
    }

    fn hellos(&self, id: u32) -> u32 {
        self.hellos[id as usize].load(SeqCst)
    }

    fn requests(&self, id: u32) -> u32 {
        self.requests[id as usize].load(SeqCst)
    }

    /// Waits until `done` says yes of the server; it is asked again each
    /// time a count changes. `what` names the wait if it fails.
    async fn until(&self, what: impl Fn() -> String, done: impl Fn(&Server) -> bool) {
        while !done(self) {
            within(&what(), self.changed.1.recv()).await.unwrap();
        }
    }

    /// Waits until the server has `connections` open. It counts a
    /// connection when it accepts it, before it acknowledges the hello: once
    /// the samples are in, the count only goes down.
    async fn until_open(&self, connections: usize) {
        let what = || format!("{} connections open, not {connections}", self.open());
        self.until(what, |server| server.open() == connections)
            .await;
    }
}

/// Sensor `id` sampled every `PERIOD` on `clock`, its samples tagged with
/// its id.
fn sensor(
    id: u32,
    address: SocketAddr,
    clock: &ManualClock,
) -> impl Stream<Item = (u32, Sample<u64, std::io::Error>)> {
    let connect = move || async move {
        let mut connection = TcpStream::connect(address).await?;
        connection.write_all(&id.to_le_bytes()).await?;
        connection.read_exact(&mut [0u8; 1]).await?;
        Ok(connection)
    };
    let read = |mut connection: TcpStream| async move {
        let mut answer = [0u8; 8];
        let asked = async {
            connection.write_all(b"R").await?;
            connection.read_exact(&mut answer).await
        };
        match asked.await {
            Ok(()) => (Some(connection), Ok(u64::from_le_bytes(answer))),
            Err(error) => (None, Err(error)),
        }
    };
    let schedule = Schedule::every(Period::new(PERIOD).unwrap());
    Sampler::new(schedule, clock.clone(), connect, read)
        .timeout(TIMEOUT)
        .backoff(Backoff {
            first: 2 * PERIOD,
            max: 4 * PERIOD,
            factor: 2,
            jitter: 0,
        })
        .map(move |sample| (id, sample))
}

/// An outcome, comparable: the error's kind for the errors.
#[derive(Debug, PartialEq)]
enum Got {
    Ok(u64),
    Err(ErrorKind),
    ConnectFailed(ErrorKind),
    TimedOut,
    Disconnected,
    Skipped(u64),
}

impl Got {
    fn of(outcome: &Outcome<u64, std::io::Error>) -> Got {
        match outcome {
            Outcome::Ok(reading) => Got::Ok(*reading),
            Outcome::Err(e) => Got::Err(e.kind()),
            Outcome::ConnectFailed(e) => Got::ConnectFailed(e.kind()),
            Outcome::TimedOut => Got::TimedOut,
            Outcome::Disconnected => Got::Disconnected,
            Outcome::Skipped { slots } => Got::Skipped(*slots),
        }
    }
}

/// What sensor `id` gives at slot `k` of the scripted run.
fn expected(id: u32, k: u64) -> Got {
    let reading = |n| Got::Ok(u64::from(id) * 1000 + n);
    let closed = ErrorKind::UnexpectedEof;
    match Kind::of(id) {
        Kind::Answers => reading(k + 1),
        Kind::Hangs if hang_tries(k) => Got::TimedOut,
        Kind::Hangs => Got::Disconnected,
        // A connection at slots 0, 3, 6, 9, closed at its third request.
        Kind::Drops if k % 3 == 2 => Got::Err(closed),
        Kind::Drops => reading(k % 3 + 1),
        Kind::GoesDown => match k {
            0..=2 => reading(k + 1),
            // Down: its connection closes at the request, the next connect
            // is refused and backed off for 200 ms (slot 5), the one after
            // for 400 ms (slots 7 to 9, past its coming back at slot 8).
            3 => Got::Err(closed),
            4 | 6 => Got::ConnectFailed(closed),
            5 | 7..=9 => Got::Disconnected,
            _ => reading(k - 9),
        },
    }
}

/// Whether a hanging sensor connects and reads at slot `k`. Its
/// connections time out before a reading, so each is a failure for the
/// backoff: after slot 0 it waits 200 ms (slots 1 and 2), after slot 3
/// 400 ms (slots 4 to 7), after slot 8 400 ms, the cap.
fn hang_tries(k: u64) -> bool {
    matches!(k, 0 | 3 | 8)
}

/// Whether sensor `id` is down after slot `k`.
fn is_down(id: u32, k: u64) -> bool {
    !matches!(expected(id, k), Got::Ok(_))
}

/// Whether sensor `id` holds a connection after slot `k`.
fn is_connected(id: u32, k: u64) -> bool {
    match Kind::of(id) {
        Kind::Hangs => false, // cut at the deadline, with its connection
        _ => matches!(expected(id, k), Got::Ok(_)),
    }
}

/// `future`'s output, or a failure naming `what` after `PATIENCE`.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    let expired = async {
        smol::Timer::after(PATIENCE).await;
        panic!("{what}: nothing within {PATIENCE:?}")
    };
    smol::future::or(future, expired).await
}

/// Drives `samplers` (their connects and reads are real I/O, and go on
/// only while they are polled) until `wait` is over; a sample meanwhile is
/// a failure.
async fn driving<S>(samplers: &mut S, wait: impl Future<Output = ()>)
where
    S: Stream + Unpin,
    S::Item: std::fmt::Debug,
{
    let sampled = async {
        let sample = samplers.next().await;
        panic!("a sample while waiting: {sample:?}")
    };
    smol::future::or(wait, sampled).await
}

/// The process's open sockets; `None` where /proc is not. Sockets only:
/// other descriptors come and go with other threads (the directory read
/// here is one), and made the counts flaky.
fn open_sockets() -> Option<usize> {
    let sockets = std::fs::read_dir("/proc/self/fd")
        .ok()?
        .filter_map(Result::ok)
        .filter(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .count();
    Some(sockets)
}

/// No more sockets open than `before`.
fn assert_none_left_open(before: Option<usize>) {
    assert_eq!(open_sockets(), before, "sockets left open");
}

#[test]
fn hanging_dropping_and_returning_sensors_give_exact_outcomes_and_leak_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    smol::block_on(async {
        let sensors = 4 * EACH;
        let (server, address) = Server::start(sensors).await;
        let sockets_before = open_sockets();
        let clock = ManualClock::new();
        let mut all = gather((0..sensors).map(|id| sensor(id, address, &clock)));
        let mut table = HealthTable::new();
        let hangs: Vec<u32> = (0..sensors)
            .filter(|&id| Kind::of(id) == Kind::Hangs)
            .collect();

        for k in 0..SLOTS {
            // The hanging sensors that read at this slot; the others back off.
            let trying = if hang_tries(k) {
                hangs.clone()
            } else {
                Vec::new()
            };
            let tries = (0..=k).filter(|&k| hang_tries(k)).count() as u32;
            let answering = sensors as usize - trying.len();
            let due = PERIOD * k as u32;
            server.down.store((DOWN..UP).contains(&k), SeqCst);
            clock.advance_to(due);
            // Every sensor but the hanging ones trying gives its sample of slot k,
            // over real I/O, with no time passing on its clock.
            let mut seen = Vec::new();
            for _ in 0..answering {
                let (id, sample) = within(&format!("slot {k}"), all.next()).await.unwrap();
                assert!(
                    !trying.contains(&id),
                    "slot {k}: sensor {id} before its deadline: {sample:?}"
                );
                assert_eq!(
                    (sample.seq, sample.due, sample.late),
                    (k, due, Duration::ZERO)
                );
                assert_eq!(
                    Got::of(&sample.outcome),
                    expected(id, k),
                    "slot {k}, sensor {id}"
                );
                assert_eq!(sample.took, Duration::ZERO);
                seen.push(id);
                table.record(id, &sample);
            }
            // The hanging sensors are connected and mid-read once the server
            // has their request (a connect still in flight at the deadline
            // would count as a failed one, and back off); their reads are
            // cut at the deadline, not before.
            let mid_read = |server: &Server| trying.iter().all(|&id| server.requests(id) == tries);
            let what = || format!("slot {k}: the requests of the hanging sensors");
            driving(&mut all, server.until(what, mid_read)).await;
            assert!(
                all.next().now_or_never().is_none(),
                "slot {k}: a sample early"
            );
            clock.advance_to(due + TIMEOUT - Duration::from_nanos(1));
            assert!(
                all.next().now_or_never().is_none(),
                "slot {k}: a read cut early"
            );
            clock.advance_to(due + TIMEOUT);
            for _ in 0..trying.len() {
                let (id, sample) = within(&format!("slot {k}, cut"), all.next()).await.unwrap();
                assert_eq!(Kind::of(id), Kind::Hangs, "slot {k}: sensor {id} cut");
                assert_eq!(Got::of(&sample.outcome), Got::TimedOut);
                assert_eq!((sample.seq, sample.took), (k, TIMEOUT));
                seen.push(id);
                table.record(id, &sample);
            }
            seen.sort_unstable();
            assert_eq!(
                seen,
                (0..sensors).collect::<Vec<_>>(),
                "slot {k}: one sample each"
            );
            assert!(
                all.next().now_or_never().is_none(),
                "slot {k}: a sample too many"
            );

            let down: Vec<u32> = table.down().map(|(&id, _)| id).collect();
            let should: Vec<u32> = (0..sensors).filter(|&id| is_down(id, k)).collect();
            assert_eq!(down, should, "down after slot {k}");
            let connected = (0..sensors).filter(|&id| is_connected(id, k)).count();
            server.until_open(connected).await;
        }

        // Connects: one for good, three for a hanging sensor (slots 0, 3
        // and 8; it backs off between), one a connection of three
        // requests, and for
        // the sensors that went down, slots 0, 4 and 6 (refused) and 10.
        for id in 0..sensors {
            let hellos = match Kind::of(id) {
                Kind::Answers => 1,
                Kind::Hangs => 3,
                Kind::Drops | Kind::GoesDown => 4,
            };
            assert_eq!(server.hellos(id), hellos, "hellos of sensor {id}");
        }
        let health = |id| *table.get(&id).unwrap();
        let gone_down = health(3);
        assert_eq!((gone_down.ok, gone_down.errors), (5, 1));
        assert_eq!((gone_down.connect_failures, gone_down.disconnected), (2, 4));
        assert_eq!((health(1).timeouts, health(1).disconnected), (3, SLOTS - 3));

        drop(all);
        server.until_open(0).await;
        assert_none_left_open(sockets_before);
    });
}

#[test]
fn dropping_the_gather_mid_read_closes_every_connection() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    smol::block_on(async {
        let sensors = 4 * EACH;
        let (server, address) = Server::start(sensors).await;
        let sockets_before = open_sockets();
        let clock = ManualClock::new();
        let mut all = gather((0..sensors).map(|id| sensor(id, address, &clock)));
        let answering = (0..sensors)
            .filter(|&id| Kind::of(id) != Kind::Hangs)
            .count();
        for _ in 0..answering {
            within("slot 0", all.next()).await.unwrap();
        }
        // Every sensor is connected; the hanging ones are mid-read.
        let hangs = || (0..sensors).filter(|&id| Kind::of(id) == Kind::Hangs);
        let mid_read = |server: &Server| hangs().all(|id| server.requests(id) == 1);
        let what = || "the requests of the hanging sensors".to_string();
        driving(&mut all, server.until(what, mid_read)).await;
        server.until_open(sensors as usize).await;
        assert_eq!(
            open_sockets().map(|n| n - 2 * sensors as usize),
            sockets_before
        );
        drop(all);
        server.until_open(0).await;
        assert_none_left_open(sockets_before);
    });
}
