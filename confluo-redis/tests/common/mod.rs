//! A real `redis-server` per test: on a free loopback port, in a temporary
//! directory of its own, with the append-only file on (fsync on every
//! write, so that what Redis acknowledged survives a SIGKILL); killed and
//! its directory removed on drop. It can be restarted on the same port and
//! directory, to test reconnecting and what the append-only file kept.
#![allow(dead_code, unused_imports, unreachable_pub)]

mod record;
pub use record::*;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to answer its first PING.
const START_DEADLINE: Duration = Duration::from_secs(10);

pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    fsync: &'static str,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free port, in a new temporary directory.
    ///
    /// # Panics
    ///
    /// If `redis-server` is not installed, or does not answer in time.
    pub fn start() -> RedisServer {
        RedisServer::start_with_fsync("always")
    }

    /// Starts a server whose append-only file is fsynced as `policy` says
    /// (`always`, `everysec`, `no`): the benchmark runs with Redis's
    /// default, `everysec`.
    pub fn start_with_fsync(policy: &'static str) -> RedisServer {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "confluo-redis-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("creating the server's directory");
        let mut server = RedisServer {
            port: free_port(),
            dir,
            fsync: policy,
            child: None,
        };
        // Another process may take the free port first: then try another.
        for _ in 0..4 {
            match server.spawn() {
                Ok(()) => return server,
                Err(_) => server.port = free_port(),
            }
        }
        server.spawn().unwrap_or_else(|log| panic!("{log}"));
        server
    }

    /// The server's `redis://` URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (SIGKILL: no shutdown, no last save) and starts it
    /// again on the same port, from the same directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn().unwrap_or_else(|log| panic!("{log}"));
    }

    /// Kills the server with SIGKILL and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A plain connection, for looking at the server in tests.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection_with_timeout(Duration::from_secs(5))
            .expect("connecting to the test server")
    }

    /// `used_memory` of `INFO memory`, in bytes.
    pub fn used_memory(&self) -> u64 {
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query(&mut self.connection())
            .unwrap();
        info.lines()
            .find_map(|line| line.strip_prefix("used_memory:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("INFO memory has used_memory")
    }

    /// Starts the server and waits until it answers; the reason, with its
    /// log, if it exits first (its port was taken).
    ///
    /// # Panics
    ///
    /// If `redis-server` is not installed, or does not answer in time.
    fn spawn(&mut self) -> Result<(), String> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--appendonly", "yes", "--appendfsync", self.fsync])
            .args(["--save", ""])
            .args(["--logfile", "redis.log"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (Debian: apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if self.answers_ping() {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return Err(format!(
                    "redis-server exited with {status}; its log: {}",
                    std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
                ));
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING within {START_DEADLINE:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn answers_ping(&self) -> bool {
        let Ok(stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        drop(stream);
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(mut con) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
            return false;
        };
        // A server loading its append-only file answers LOADING; and the
        // server on the port must be ours, not another test's.
        let Ok(info) = redis::cmd("INFO").arg("server").query::<String>(&mut con) else {
            return false;
        };
        let ours = format!("process_id:{}", self.child.as_ref().map_or(0, Child::id));
        redis::cmd("PING").query::<String>(&mut con).is_ok()
            && info.lines().any(|l| l.trim() == ours)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// This test binary run again as a child process, running only the
/// ignored test `test` (a child's body), with the server's URL in
/// `CONFLUO_REDIS_URL` and `file` in `CONFLUO_REDIS_FILE`: what the child
/// writes for its parent to read.
pub fn spawn_child(test: &str, url: &str, file: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--ignored", "--nocapture"])
        .env("CONFLUO_REDIS_URL", url)
        .env("CONFLUO_REDIS_FILE", file)
        .stdout(Stdio::null())
        .spawn()
        .expect("running the test binary again")
}

/// A port nothing listens on now (the OS picks it; another process could
/// take it before the server does, which fails the start loudly).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `f` on a thread and fails the test if it takes longer than
/// `limit`, so that a lost wake or a hang fails instead of hanging.
pub fn within<R: Send + 'static>(limit: Duration, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        // The sender went without sending: `f` panicked; pass it on.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("sent nothing and did not panic"),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("did not finish within {limit:?}")
        }
    }
}
