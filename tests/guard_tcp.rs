//! Guards on real resources: TCP connections to a sensor server on loopback.
//! The server counts open connections and the goodbyes it receives, and
//! tells the test each time a connection opens or closes.
#![cfg(feature = "std")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use confluo::gather;
use confluo::guard::{close_all, guard, Closed, Release};
use confluo::source::from_read;
use futures::{AsyncReadExt, AsyncWriteExt, Stream, StreamExt};
use smol::channel::{Receiver, Sender};
use smol::net::{TcpListener, TcpStream};

/// The bound on waiting for the server: generous, so that only a bug, never
/// a loaded machine, reaches it; a failure then, not a hang.
const PATIENCE: Duration = Duration::from_secs(60);

struct Server {
    open: AtomicUsize,
    goodbyes: AtomicUsize,
    /// A message each time `open` changed.
    changed: (Sender<()>, Receiver<()>),
}

impl Server {
    fn new() -> Self {
        Server {
            open: AtomicUsize::new(0),
            goodbyes: AtomicUsize::new(0),
            changed: smol::channel::unbounded(),
        }
    }

    fn opened(&self) {
        self.open.fetch_add(1, Ordering::SeqCst);
        self.changed.0.try_send(()).unwrap();
    }

    fn closed(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
        self.changed.0.try_send(()).unwrap();
    }

    fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Whether the server comes to have `connections` open: it notices
    /// opened and closed connections on tasks of its own, and says so each
    /// time. False if it does not within `PATIENCE`.
    async fn until_open(&self, connections: usize) -> bool {
        let mut deadline = smol::Timer::after(PATIENCE);
        while self.open() != connections {
            let changed = async { self.changed.1.recv().await.is_ok() };
            let expired = async {
                (&mut deadline).await;
                false
            };
            if !smol::future::or(changed, expired).await {
                return self.open() == connections;
            }
        }
        true
    }
}

/// Answers `R` with a reading after a millisecond (a round trip); counts a
/// `B` as a goodbye.
async fn serve(listener: TcpListener, server: Arc<Server>) {
    while let Ok((mut connection, _)) = listener.accept().await {
        server.opened();
        let server = Arc::clone(&server);
        smol::spawn(async move {
            let mut request = [0u8; 1];
            while connection.read_exact(&mut request).await.is_ok() {
                if request[0] == b'B' {
                    server.goodbyes.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                smol::Timer::after(Duration::from_millis(1)).await;
                if connection.write_all(&1.5f64.to_le_bytes()).await.is_err() {
                    break;
                }
            }
            server.closed();
        })
        .detach();
    }
}

async fn start(connections: usize) -> (Arc<Server>, Vec<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = Arc::new(Server::new());
    smol::spawn(serve(listener, Arc::clone(&server))).detach();
    let mut clients = Vec::new();
    for _ in 0..connections {
        clients.push(TcpStream::connect(address).await.unwrap());
    }
    assert!(
        server.until_open(connections).await,
        "{} of {connections} connections open",
        server.open()
    );
    (server, clients)
}

fn sensor(connection: TcpStream) -> impl Stream<Item = std::io::Result<f64>> {
    from_read(move || {
        let mut connection = connection.clone();
        async move {
            connection.write_all(b"R").await?;
            let mut answer = [0u8; 8];
            connection.read_exact(&mut answer).await?;
            Ok(f64::from_le_bytes(answer))
        }
    })
}

#[test]
fn abandoning_a_gather_closes_every_connection_at_once() {
    smol::block_on(async {
        let (server, clients) = start(200).await;
        let released = Arc::new(AtomicUsize::new(0));
        let mut sensors = gather(clients.into_iter().map(|connection| {
            let released = Arc::clone(&released);
            guard(sensor(connection), move |why| {
                assert_eq!(why, Release::Dropped);
                released.fetch_add(1, Ordering::SeqCst);
            })
        }));
        for _ in 0..5 {
            sensors.next().await.unwrap().unwrap();
        }
        drop(sensors);
        // Released on the spot, not when a collector or a timeout gets to it.
        assert_eq!(released.load(Ordering::SeqCst), 200);
        assert!(
            server.until_open(0).await,
            "{} connections still open",
            server.open()
        );
        assert_eq!(server.goodbyes.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn closed_sources_say_goodbye_and_dropped_ones_do_not() {
    smol::block_on(async {
        let (server, clients) = start(20).await;
        let mut closed = Vec::new();
        let mut dropped = Vec::new();
        for (i, connection) in clients.into_iter().enumerate() {
            let goodbye = {
                let mut connection = connection.clone();
                move || async move {
                    let _ = connection.write_all(b"B").await;
                }
            };
            let guarded = guard(sensor(connection), |_| ()).goodbye(goodbye);
            if i % 2 == 0 {
                closed.push(guarded);
            } else {
                dropped.push(guarded);
            }
        }
        let closing = close_all(gather(closed), futures::future::pending::<()>());
        assert_eq!(
            closing.await,
            Closed {
                gracefully: 10,
                cut_short: 0
            }
        );
        drop(dropped);
        assert!(
            server.until_open(0).await,
            "{} connections still open",
            server.open()
        );
        assert_eq!(server.goodbyes.load(Ordering::SeqCst), 10);
    });
}
