//! What travels through a bridge's channel, and what both ends of a bridge
//! share besides it: the counts, the room of a batching bridge, the live
//! consumers, and the callback of the overflow policy.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::mem;

use async_channel::Receiver;

use super::overflow::OnDrop;
use super::room::Room;
use super::stats;
use crate::sync::atomic::{AtomicUsize, Ordering};

/// What travels through the channel: one record, or a batch of them.
#[derive(Debug)]
pub(super) enum Message<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> Message<T> {
    pub(super) fn len(&self) -> usize {
        match self {
            Message::One(_) => 1,
            Message::Many(records) => records.len(),
        }
    }

    /// The record of a message of one.
    pub(super) fn into_one(self) -> T {
        match self {
            Message::One(record) => record,
            Message::Many(_) => unreachable!("sent one"),
        }
    }

    pub(super) fn into_records(self) -> Vec<T> {
        match self {
            Message::One(record) => alloc::vec![record],
            Message::Many(records) => records,
        }
    }

    /// Adds a record, and returns the records: a message of one becomes a
    /// batch allocated for `capacity()` records.
    pub(super) fn push(&mut self, record: T, capacity: impl FnOnce() -> usize) -> &mut Vec<T> {
        if let Message::One(_) = self {
            let mut records = Vec::with_capacity(capacity());
            if let Message::One(first) = mem::replace(self, Message::Many(Vec::new())) {
                records.push(first);
            }
            *self = Message::Many(records);
        }
        match self {
            Message::Many(records) => {
                records.push(record);
                records
            }
            Message::One(_) => unreachable!("made a batch above"),
        }
    }
}

/// What both ends of a bridge share besides the channel.
pub(super) struct Shared<T> {
    pub(super) stats: stats::Counters,
    /// When batching, the room in records: the channel is unbounded then.
    /// Without batching, the channel's own bound counts records.
    pub(super) room: Option<Room<T>>,
    /// Live consumers: the last to go closes the bridge (explicitly: the
    /// receiver below keeps the channel from closing by itself).
    pub(super) consumers: AtomicUsize,
    /// Under `Overflow::DropOldest`, the bridge's own receiving end: a
    /// producer that finds the bridge full takes the oldest message out of
    /// the channel with it. It never waits on it, and never takes a record
    /// a consumer took.
    pub(super) oldest: Option<Receiver<Message<T>>>,
    /// Takes what the overflow policy drops.
    pub(super) on_drop: Box<dyn OnDrop<T>>,
}

impl<T> Shared<T> {
    /// Consumers handed out `records` records: they leave the bridge.
    pub(super) fn handed_out(&self, records: usize) {
        if records > 0 {
            self.stats.received(records);
            if let Some(room) = &self.room {
                room.give_back(records);
            }
        }
    }

    /// Records in the bridge, as `Stats::depth` counts them.
    pub(super) fn len(&self) -> usize {
        usize::try_from(self.stats.snapshot().depth()).unwrap_or(usize::MAX)
    }

    /// An end closed the channel (`now`: this call did): wakes the waiters
    /// of a batching bridge's room, to see it. Returns `now`.
    pub(super) fn close(&self, now: bool) -> bool {
        if let Some(room) = &self.room {
            room.closed();
        }
        now
    }

    /// A consumer comes.
    pub(super) fn consumer_came(&self) {
        self.consumers.fetch_add(1, Ordering::Relaxed);
    }

    /// A consumer goes: whether it was the last.
    pub(super) fn consumer_went(&self) -> bool {
        self.consumers.fetch_sub(1, Ordering::AcqRel) == 1
    }
}
