//! The test server itself: it starts on a port of its own, answers, keeps
//! what it acknowledged across a SIGKILL and restart on the same port
//! (append-only file), and is gone once dropped.

mod common;

use common::RedisServer;

#[test]
fn a_restarted_server_keeps_what_it_acknowledged() {
    let mut server = RedisServer::start();
    let url = server.url();
    let _: () = redis::cmd("SET")
        .arg("kept")
        .arg("yes")
        .query(&mut server.connection())
        .unwrap();
    server.restart();
    assert_eq!(server.url(), url, "same port after a restart");
    let kept: Option<String> = redis::cmd("GET")
        .arg("kept")
        .query(&mut server.connection())
        .unwrap();
    assert_eq!(kept.as_deref(), Some("yes"));
}

#[test]
fn a_dropped_server_stops_listening() {
    let server = RedisServer::start();
    let port: u16 = server
        .url()
        .trim_start_matches("redis://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    drop(server);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn servers_of_parallel_tests_do_not_meet() {
    let (a, b) = (RedisServer::start(), RedisServer::start());
    assert_ne!(a.url(), b.url());
    let _: () = redis::cmd("SET")
        .arg("only-a")
        .arg(1)
        .query(&mut a.connection())
        .unwrap();
    let in_b: Option<u32> = redis::cmd("GET")
        .arg("only-a")
        .query(&mut b.connection())
        .unwrap();
    assert_eq!(in_b, None);
}
