//! Which of the crate's types may move to another thread: producers,
//! consumers and shard members run on threads of their own.

use confluo_redis::{
    Bytes, Consumer, Delivery, Error, Producer, Rebalance, Run, RunEnd, RunStatus, Shards,
};

fn send<T: Send>() {}
fn sync<T: Sync>() {}

#[test]
fn sides_are_send() {
    send::<Producer<Vec<u8>, Bytes>>();
    send::<Consumer<Vec<u8>, Bytes>>();
    send::<Shards>();
    send::<Delivery<Vec<u8>>>();
}

#[test]
fn values_are_send_and_sync() {
    send::<Error>();
    sync::<Error>();
    sync::<Run>();
    sync::<RunEnd>();
    sync::<RunStatus>();
    sync::<Rebalance>();
}
