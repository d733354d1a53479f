//! The contenders of `benches/tcp_cycle.rs`: how each one reads N sensors
//! over their connections, cycle after cycle, on two threads.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::sync::Arc;

use confluo::{Gather, KeyedGather};
use futures::{Stream, StreamExt};

use super::cycles::Cycles;

/// A sensor's connection: one request out, one reply back.
pub(crate) trait Connection: Send + 'static {
    fn exchange(
        &mut self,
        request: [u8; 8],
    ) -> impl Future<Output = io::Result<[u8; 8]>> + Send + '_;
}

/// One exchange, the same over each runtime's I/O traits.
macro_rules! connection {
    ($stream:ty, $io:path) => {
        impl Connection for $stream {
            fn exchange(
                &mut self,
                request: [u8; 8],
            ) -> impl Future<Output = io::Result<[u8; 8]>> + Send + '_ {
                use io_ext::{AsyncReadExt, AsyncWriteExt};
                use $io as io_ext;
                async move {
                    self.write_all(&request).await?;
                    let mut reply = [0u8; 8];
                    self.read_exact(&mut reply).await?;
                    Ok(reply)
                }
            }
        }
    };
}

connection!(tokio::net::TcpStream, tokio::io);
connection!(smol::Async<std::net::TcpStream>, futures::io);

/// Reads sensor `id` for cycle `cycle`: the sensor and cycle its reply names.
async fn read<C: Connection>(connection: &mut C, id: u32, cycle: u32) -> (u32, u32) {
    let mut request = [0u8; 8];
    request[..4].copy_from_slice(&id.to_le_bytes());
    request[4..].copy_from_slice(&cycle.to_le_bytes());
    let reply = connection
        .exchange(request)
        .await
        .unwrap_or_else(|e| panic!("sensor {id}, cycle {cycle}: {e}"));
    let half = |at: usize| u32::from_le_bytes(reply[at..at + 4].try_into().unwrap());
    (half(0), half(4))
}

/// Sensor `id` as a stream, for the gathers: each cycle, once it started,
/// one read, yielded as `(sensor, cycle)`.
fn sensor<C: Connection>(
    id: u32,
    connection: C,
    cycles: Arc<Cycles>,
) -> impl Stream<Item = (u32, u32)> + Send + 'static {
    futures::stream::unfold(
        (connection, 1, cycles),
        move |(mut connection, cycle, cycles)| async move {
            cycles.started(cycle).await;
            let reading = read(&mut connection, id, cycle).await;
            Some((reading, (connection, cycle + 1, cycles)))
        },
    )
}

/// Sensor `id` as a task: each cycle, once it started, one read, counted
/// where it arrives.
async fn sensor_task<C: Connection>(id: u32, mut connection: C, cycles: Arc<Cycles>) {
    for cycle in 1.. {
        cycles.started(cycle).await;
        let (id, cycle) = read(&mut connection, id, cycle).await;
        cycles.arrived(id, cycle);
    }
}

/// Receives a gather's readings (a `Gather`'s, or one shard's, whose items
/// carry their key too).
async fn receive<G: Stream<Item = (u32, u32)> + Unpin>(mut gather: G, cycles: Arc<Cycles>) {
    while let Some((id, cycle)) = gather.next().await {
        cycles.arrived(id, cycle);
    }
}

/// Sensors sharded over this many `KeyedGather`s, a task each.
const SHARDS: usize = 2;

/// Connects contender `name`'s N sensors to the server at `port` and
/// spawns them, each waiting for the first cycle. Returns what must live
/// as long as they run.
pub(crate) fn start(
    name: &str,
    sensors: u32,
    port: u16,
    cycles: &Arc<Cycles>,
) -> Box<dyn std::any::Any> {
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (gathering, runtime) = name
        .split_once('/')
        .unwrap_or_else(|| panic!("no contender {name}"));
    match runtime {
        "tokio" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a tokio runtime");
            let connections = rt.block_on(async {
                let mut all = Vec::with_capacity(sensors as usize);
                for _ in 0..sensors {
                    let connection = tokio::net::TcpStream::connect(server)
                        .await
                        .unwrap_or_else(|e| panic!("connecting to {server}: {e}"));
                    connection.set_nodelay(true).unwrap();
                    all.push(connection);
                }
                all
            });
            let keep = spawn_all(runtime, gathering, connections, cycles, |task| {
                rt.spawn(task);
            });
            Box::new((rt, keep))
        }
        "smol" => {
            let ex: &'static smol::Executor<'static> = Box::leak(Box::new(smol::Executor::new()));
            for _ in 0..2 {
                std::thread::spawn(move || smol::block_on(ex.run(std::future::pending::<()>())));
            }
            let connections = smol::block_on(async {
                let mut all = Vec::with_capacity(sensors as usize);
                for _ in 0..sensors {
                    let connection = smol::Async::<std::net::TcpStream>::connect(server)
                        .await
                        .unwrap_or_else(|e| panic!("connecting to {server}: {e}"));
                    connection.get_ref().set_nodelay(true).unwrap();
                    all.push(connection);
                }
                all
            });
            spawn_all(runtime, gathering, connections, cycles, |task| {
                ex.spawn(task).detach();
            })
        }
        other => panic!("no runtime {other}"),
    }
}

/// Spawns the sensors as `gathering` (`Gather`, `Shards` or `tasks`) has
/// them read, with `spawn` of the runtime.
fn spawn_all<C: Connection>(
    runtime: &str,
    gathering: &str,
    connections: Vec<C>,
    cycles: &Arc<Cycles>,
    spawn: impl Fn(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>),
) -> Box<dyn std::any::Any> {
    let sensors = (0..).zip(connections);
    match gathering {
        "Gather" => {
            let gather: Gather<_> = sensors
                .map(|(id, connection)| sensor(id, connection, Arc::clone(cycles)))
                .collect();
            spawn(Box::pin(receive(gather, Arc::clone(cycles))));
            Box::new(())
        }
        "Shards" => {
            let (handle, shards) = KeyedGather::sharded(NonZeroUsize::new(SHARDS).unwrap());
            for (id, connection) in sensors {
                let source = sensor(id, connection, Arc::clone(cycles));
                if handle.insert(id, source).is_err() {
                    panic!("sensor {id} not taken by its shard");
                }
            }
            for shard in shards {
                let readings = shard.map(|(_key, reading)| reading);
                spawn(Box::pin(receive(readings, Arc::clone(cycles))));
            }
            // The shards wait for more sources while it lives.
            Box::new(handle)
        }
        "tasks" => {
            for (id, connection) in sensors {
                spawn(Box::pin(sensor_task(id, connection, Arc::clone(cycles))));
            }
            Box::new(())
        }
        other => panic!("no contender {other}/{runtime}"),
    }
}
