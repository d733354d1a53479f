//! The sensors' server, a process of its own: on a 2-worker tokio runtime,
//! a task per connection answers each 8-byte request with the same 8 bytes
//! T after it arrived, and reads the next request only once it answered.
//! It measures how late its own replies leave (its timer's part of every
//! cycle's time beyond T), and says so when it ends.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// How late replies left: from reading a request to having written its
/// reply, beyond T. A lane per thread (of the first `LANES`), each on a
/// cache line of its own, so that the server's threads do not fight over
/// the counters.
#[repr(align(128))]
struct Lane {
    sum_ns: AtomicU64,
    max_ns: AtomicU64,
    replies: AtomicU64,
}

const LANES: usize = 4;
#[allow(clippy::declare_interior_mutable_const)] // a template for the array
const LANE: Lane = Lane {
    sum_ns: AtomicU64::new(0),
    max_ns: AtomicU64::new(0),
    replies: AtomicU64::new(0),
};
static LATE: [Lane; LANES] = [LANE; LANES];

impl Lane {
    /// This thread's lane.
    fn mine() -> &'static Lane {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local!(static MINE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % LANES);
        &LATE[MINE.with(|lane| *lane)]
    }

    fn record(&self, late: Duration) {
        let late = late.as_nanos() as u64;
        self.sum_ns.fetch_add(late, Ordering::Relaxed);
        self.max_ns.fetch_max(late, Ordering::Relaxed);
        self.replies.fetch_add(1, Ordering::Relaxed);
    }

    /// Mean and max over every lane, in nanoseconds.
    fn summary() -> (u64, u64) {
        let sum = |field: fn(&Lane) -> &AtomicU64| -> u64 {
            LATE.iter().map(|l| field(l).load(Ordering::Relaxed)).sum()
        };
        let max = LATE.iter().map(|l| l.max_ns.load(Ordering::Relaxed)).max();
        (
            sum(|l| &l.sum_ns) / sum(|l| &l.replies).max(1),
            max.unwrap_or(0),
        )
    }
}

/// Serves until its standard input ends; prints `PORT <port>` first, and
/// `LATE <mean ns> <max ns>` at the end.
pub(crate) fn serve(sensors: u32, latency: Duration) {
    super::open_files(sensors, "server");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the server's runtime");
    runtime.block_on(async {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket
            .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("a port on loopback");
        // The kernel caps the backlog at `net.core.somaxconn`.
        let listener = socket.listen(4096).expect("listening");
        let port = listener.local_addr().unwrap().port();
        println!("PORT {port}");
        std::io::stdout().flush().unwrap();
        // The one who started it closes its input once done with it.
        std::thread::spawn(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            let (mean, max) = Lane::summary();
            println!("LATE {mean} {max}");
            std::io::stdout().flush().unwrap();
            std::process::exit(0);
        });
        loop {
            let (connection, _) = listener
                .accept()
                .await
                .unwrap_or_else(|e| panic!("the server cannot accept: {e}"));
            connection.set_nodelay(true).unwrap();
            tokio::spawn(answer(connection, latency));
        }
    });
}

/// Answers one connection's requests, one at a time, until it closes.
async fn answer(mut connection: TcpStream, latency: Duration) {
    let mut request = [0u8; 8];
    while connection.read_exact(&mut request).await.is_ok() {
        let arrived = Instant::now();
        tokio::time::sleep(latency).await;
        if connection.write_all(&request).await.is_err() {
            return;
        }
        Lane::mine().record(arrived.elapsed().saturating_sub(latency));
    }
}
