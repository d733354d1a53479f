//! Real I/O: sensors behind TCP connections on loopback.
//!
//! A sensor server on 127.0.0.1 (an ephemeral port) answers each reading
//! request after a latency T. The example connects N sensors, reads a few
//! cycles one sensor after another and then gathered, and finally abandons
//! the gathered stream early to show every connection closing at once.
//!
//! ```text
//! cargo run --release --example tcp_sensors                  # 1,000 sensors, T = 10 ms
//! cargo run --release --example tcp_sensors -- --sensors 200
//! ```
//!
//! Each sensor holds two sockets (client and server side): 1,000 sensors need
//! an open-file limit above 2,000 (`ulimit -n`).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use confluo::gather;
use confluo::source::from_read;
use futures::{AsyncReadExt, AsyncWriteExt, Stream, StreamExt};
use smol::net::{TcpListener, TcpStream};

const LATENCY: Duration = Duration::from_millis(10);

/// Serves readings: for each request byte, waits `LATENCY`, then answers
/// with 8 bytes. Counts the connections it has open.
async fn serve(listener: TcpListener, open: Arc<AtomicUsize>) {
    loop {
        let Ok((mut connection, _)) = listener.accept().await else {
            continue;
        };
        open.fetch_add(1, Ordering::SeqCst);
        let open = Arc::clone(&open);
        smol::spawn(async move {
            let mut request = [0u8; 1];
            let mut reading = 0u64;
            // Ends when the client closes its side (or on any error).
            while connection.read_exact(&mut request).await.is_ok() {
                smol::Timer::after(LATENCY).await;
                reading += 1;
                let value = 20.0 + (reading % 10) as f64 / 10.0;
                if connection.write_all(&value.to_le_bytes()).await.is_err() {
                    break;
                }
            }
            open.fetch_sub(1, Ordering::SeqCst);
        })
        .detach();
    }
}

/// One sensor: a connection, read by asking and waiting for the answer.
fn sensor(connection: TcpStream) -> impl Stream<Item = io::Result<f64>> {
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

async fn connect_all(address: SocketAddr, n: usize) -> io::Result<Vec<TcpStream>> {
    let mut connections = Vec::with_capacity(n);
    for _ in 0..n {
        connections.push(TcpStream::connect(address).await?);
    }
    Ok(connections)
}

/// Waits (at most ten seconds) until the server's open count reaches `target`.
async fn settle(open: &AtomicUsize, target: usize) -> Duration {
    let start = Instant::now();
    while open.load(Ordering::SeqCst) != target && start.elapsed() < Duration::from_secs(10) {
        smol::Timer::after(Duration::from_millis(1)).await;
    }
    start.elapsed()
}

fn main() -> io::Result<()> {
    let sensors: usize = std::env::args()
        .skip_while(|arg| arg != "--sensors")
        .nth(1)
        .map(|n| n.parse().expect("--sensors takes a number"))
        .unwrap_or(1_000);
    let cycles = 3;
    smol::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let open = Arc::new(AtomicUsize::new(0));
        smol::spawn(serve(listener, Arc::clone(&open))).detach();

        let connections = connect_all(address, sensors).await.map_err(|error| {
            eprintln!("could not open {sensors} connections ({error}); raise `ulimit -n` or pass --sensors with fewer");
            error
        })?;
        settle(&open, sensors).await;
        println!(
            "sensor server on {address}: {} connections open, T = {LATENCY:?}",
            open.load(Ordering::SeqCst)
        );

        // One after another: every sensor waits for the one before it.
        let sequential_sensors = sensors.min(100);
        let mut one_by_one: Vec<_> = connections[..sequential_sensors]
            .iter()
            .map(|c| Box::pin(sensor(c.clone())))
            .collect();
        let start = Instant::now();
        for source in &mut one_by_one {
            source.next().await.expect("sensors never end")?;
        }
        let sequential = start.elapsed();
        drop(one_by_one);
        println!(
            "sequential: one cycle of {sequential_sensors} sensors took {sequential:.1?} (N × T = {:.1?})",
            LATENCY * sequential_sensors as u32
        );

        // Gathered: every sensor's request in flight at once.
        let mut all = gather(connections.iter().map(|c| sensor(c.clone())));
        let start = Instant::now();
        let mut sum = 0.0;
        for _ in 0..cycles * sensors {
            sum += all.next().await.expect("sensors never end")?;
        }
        let gathered = start.elapsed() / cycles as u32;
        println!(
            "gathered:   one cycle of {sensors} sensors took {gathered:.1?} (T = {LATENCY:?}); mean reading {:.2}",
            sum / (cycles * sensors) as f64
        );

        // Abandon the stream early: dropping it closes every connection now.
        let _ = all.next().await;
        drop(all);
        drop(connections);
        let took = settle(&open, 0).await;
        println!(
            "abandoned after a few more records: the server sees {} connections open {took:.1?} later",
            open.load(Ordering::SeqCst)
        );
        Ok(())
    })
}
