//! The pump: the one loop that forwards a stream into bridges, for
//! [`Producer::pump`] (one bridge) and [`Router::pump_by`] (a bridge per
//! partition, chosen by each record's key).
//!
//! Without batches, each record is sent alone, waiting for room as a send
//! does. With batches, the pump works in rounds: it takes room for the
//! first record (waiting for it if its partition is full), then takes every
//! record the stream has ready, each into the open batch of its partition,
//! and sends each open batch as one message. A round stops at the first
//! batch that is full, when the stream has nothing ready, or at a record
//! whose partition is full: that record begins the next round, once the
//! batches in hand are sent. Nothing waits inside a round, so room is never
//! held across an await, and a pump dropped or a stream that panics gives
//! back every room it took.
//!
//! [`Router::pump_by`]: super::Router::pump_by

use alloc::vec::Vec;
use core::future::poll_fn;
use core::mem;
use core::pin::{pin, Pin};
use core::task::{Context, Poll};

use futures_core::Stream;

use super::overflow::{Dropped, Made};
use super::room::Taken;
use super::{Message, Overflow, Producer, Pumped, TrySendError};

/// Forwards every item of `stream` into the partition `route` gives it (an
/// index into `partitions`), then ends; or ends once a partition it sends
/// to is closed, with the records taken and not sent.
pub(super) async fn pump<T, S, R>(partitions: &[Producer<T>], stream: S, mut route: R) -> Pumped<T>
where
    S: Stream<Item = T>,
    R: FnMut(&T) -> usize,
{
    let mut stream = pin!(stream);
    // The partitions of a router share their shape: all batch, or none.
    if partitions[0].shared.room.is_none() {
        // One record per message. The pump owns its producers: when they
        // are their bridges' only ones, no other can be made while it runs,
        // and no other thread counts records sent.
        let sole = partitions.iter().all(|p| p.sender.sender_count() == 1);
        let mut forwarded = 0;
        while let Some(record) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
            let partition = &partitions[route(&record)];
            let sent = match partition.try_send_bounded(record, sole) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(record)) => partition.wait_to_send(record).await,
                Err(TrySendError::Closed(record)) => Err(record),
            };
            if let Err(record) = sent {
                return Pumped::ConsumersGone {
                    forwarded,
                    unsent: alloc::vec![record],
                };
            }
            forwarded += 1;
        }
        return Pumped::Ended { forwarded };
    }
    let mut round = Round::new(partitions);
    // A record a round took for a full partition: the next round's first.
    let mut carried = None;
    loop {
        let first = match carried.take() {
            Some(record) => record,
            None => match poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
                Some(record) => record,
                None => return round.ended(),
            },
        };
        let index = route(&first);
        let batch = match round.begin(index, first) {
            Begun::Open(batch) => batch,
            Begun::Dropped => continue,
            Begun::Full(first) => {
                // Nothing is open: no room is held while the pump waits.
                let partition = &partitions[index];
                match partition.wait_for_room(partition.room(), round.batch).await {
                    Some(taken) => Batch::new(index, first, taken),
                    None => return round.consumers_gone(alloc::vec![first]),
                }
            }
            Begun::Closed(first) => return round.consumers_gone(alloc::vec![first]),
        };
        // From here to the send nothing waits.
        let mut batch = Some(batch);
        let mut filled = None;
        poll_fn(|cx| {
            let batch = batch.take().expect("polled once: it is ready at once");
            filled = Some(round.fill(stream.as_mut(), cx, &mut route, batch));
            Poll::Ready(())
        })
        .await;
        let (filled, batch) = filled.expect("filled at the first poll");
        let mut unsent = round.send(batch);
        match filled {
            Filled::Stopped if unsent.is_empty() => {}
            Filled::Ended if unsent.is_empty() => return round.ended(),
            Filled::Full(record) if unsent.is_empty() => carried = Some(record),
            Filled::Stopped | Filled::Ended => return round.consumers_gone(unsent),
            Filled::Full(record) | Filled::Closed(record) => {
                unsent.push(record);
                return round.consumers_gone(unsent);
            }
        }
    }
}

/// How a round's filling stopped.
enum Filled<T> {
    /// A batch is full, or the stream has nothing ready.
    Stopped,
    /// The stream ended: it is not polled again.
    Ended,
    /// This record's partition is full, and the bridge's policy waits.
    Full(T),
    /// This record's partition is closed.
    Closed(T),
}

/// How the beginning of a batch went.
enum Begun<'a, T> {
    /// The batch, with its first record.
    Open(Batch<'a, T>),
    /// The policy dropped the record instead.
    Dropped,
    /// The partition is full, and the bridge's policy waits.
    Full(T),
    /// The partition is closed.
    Closed(T),
}

/// A batch being filled: its partition, its records, and the room taken
/// for them.
struct Batch<'a, T> {
    partition: usize,
    message: Message<T>,
    taken: Taken<'a, T>,
}

impl<'a, T> Batch<'a, T> {
    fn new(partition: usize, first: T, taken: Taken<'a, T>) -> Self {
        Batch {
            partition,
            message: Message::One(first),
            taken,
        }
    }

    fn is_full(&self) -> bool {
        self.message.len() == self.taken.records()
    }
}

/// What a round keeps of each partition, and the batches it put aside. The
/// batch being filled is the round's own (`fill` holds it): with one
/// bridge, nothing is put aside.
struct Round<'a, T> {
    partitions: &'a [Producer<T>],
    slots: Vec<Slot<'a, T>>,
    /// The partitions whose batches were put aside this round, in the
    /// order they were first put aside.
    aside: Vec<usize>,
    /// Records per message at most: the bridges' batch.
    batch: usize,
    forwarded: u64,
}

/// What a round keeps of one partition.
struct Slot<'a, T> {
    /// Its batch of this round, put aside for records of another
    /// partition, and the room taken for it.
    aside: Option<(Message<T>, Taken<'a, T>)>,
    /// Whether the partition is in the round's `aside` list.
    listed: bool,
    /// What the drop policy dropped to make room for its batch: handed to
    /// the callback once the round's batches are sent.
    dropped: Dropped<T>,
    /// Records in the last message sent: what the next is allocated for.
    last: usize,
}

/// The least a message of several records is first allocated for.
const FIRST_ALLOCATION: usize = 16;

impl<'a, T> Round<'a, T> {
    fn new(partitions: &'a [Producer<T>]) -> Self {
        Round {
            partitions,
            slots: partitions
                .iter()
                .map(|_| Slot {
                    aside: None,
                    listed: false,
                    dropped: Dropped::none(),
                    last: 0,
                })
                .collect(),
            aside: Vec::new(),
            batch: partitions[0].bridge.batch.get(),
            forwarded: 0,
        }
    }

    /// Begins a batch for partition `index` with `record`, in room taken
    /// now or made by the drop policy; or drops `record` by the policy.
    fn begin(&mut self, index: usize, record: T) -> Begun<'a, T> {
        let partition = &self.partitions[index];
        let room = partition.room();
        if let Some(taken) = room.try_take(self.batch) {
            return Begun::Open(Batch::new(index, record, taken));
        }
        if partition.bridge.overflow == Overflow::Block {
            return Begun::Full(record);
        }
        match partition.make_room(room, self.batch) {
            Made::Room(taken, dropped) => {
                self.slots[index].dropped = dropped;
                Begun::Open(Batch::new(index, record, taken))
            }
            Made::DropNewest => {
                partition.drop_newest(record);
                self.forwarded += 1;
                Begun::Dropped
            }
            Made::Closed => Begun::Closed(record),
        }
    }

    /// Puts `batch` aside, to go on with another partition's.
    fn put_aside(&mut self, batch: Batch<'a, T>) {
        let slot = &mut self.slots[batch.partition];
        slot.aside = Some((batch.message, batch.taken));
        if !slot.listed {
            slot.listed = true;
            self.aside.push(batch.partition);
        }
    }

    /// Takes what `stream` has ready now into `batch` and the batches of
    /// other partitions, without waiting, until a batch is full; returns
    /// how it stopped and the batch it was filling.
    ///
    /// A message is first allocated for as many records as its
    /// partition's last message held (at least 16, at most the room taken)
    /// and grows with what is ready, doubling: a stream that fills its
    /// batches fills each message in one allocation. It is sized neither by
    /// the room alone (a large batch would cost its size per message) nor
    /// by the stream's `size_hint` (which may overstate, and costs a
    /// `Gather` a walk over its sources).
    fn fill<S, R>(
        &mut self,
        mut stream: Pin<&mut S>,
        cx: &mut Context<'_>,
        route: &mut R,
        mut batch: Batch<'a, T>,
    ) -> (Filled<T>, Batch<'a, T>)
    where
        S: Stream<Item = T>,
        R: FnMut(&T) -> usize,
    {
        // A record taken for another partition than the batch's.
        let mut next = None;
        loop {
            let record = match next.take() {
                Some(record) => record,
                None if batch.is_full() => return (Filled::Stopped, batch),
                None => match stream.as_mut().poll_next(cx) {
                    Poll::Ready(Some(record)) => record,
                    Poll::Ready(None) => return (Filled::Ended, batch),
                    Poll::Pending => return (Filled::Stopped, batch),
                },
            };
            let index = route(&record);
            if index != batch.partition {
                // Its partition's batch put aside, or a new one; no batch
                // put aside is full (a full batch ends the round).
                let other = match self.slots[index].aside.take() {
                    Some((message, taken)) => Batch {
                        partition: index,
                        message,
                        taken,
                    },
                    None if self.partitions[index].is_closed() => {
                        return (Filled::Closed(record), batch)
                    }
                    None => match self.begin(index, record) {
                        Begun::Open(other) => {
                            self.put_aside(mem::replace(&mut batch, other));
                            continue;
                        }
                        Begun::Dropped => continue,
                        Begun::Full(record) => return (Filled::Full(record), batch),
                        Begun::Closed(record) => return (Filled::Closed(record), batch),
                    },
                };
                self.put_aside(mem::replace(&mut batch, other));
            }
            let (room, last) = (batch.taken.records(), self.slots[index].last);
            let records = batch
                .message
                .push(record, || room.min(last.max(FIRST_ALLOCATION)));
            // The records that follow for the same partition, without
            // looking anything up: a single bridge's whole fill.
            while records.len() < room {
                match stream.as_mut().poll_next(cx) {
                    Poll::Ready(Some(record)) if route(&record) == index => records.push(record),
                    Poll::Ready(Some(record)) => {
                        next = Some(record);
                        break;
                    }
                    Poll::Ready(None) => return (Filled::Ended, batch),
                    Poll::Pending => return (Filled::Stopped, batch),
                }
            }
        }
    }

    /// Sends the batches put aside, then `batch`, each as one message,
    /// then hands what the drop policy dropped for them to the callback
    /// (last: a callback that panics finds the batches sent). Returns the
    /// records of the batches whose partition closed.
    fn send(&mut self, batch: Batch<'a, T>) -> Vec<T> {
        let mut unsent = Vec::new();
        for &index in &self.aside {
            let slot = &mut self.slots[index];
            slot.listed = false;
            if let Some((message, taken)) = slot.aside.take() {
                self.forwarded +=
                    send_batch(&self.partitions[index], slot, message, taken, &mut unsent);
            }
        }
        let slot = &mut self.slots[batch.partition];
        let partition = &self.partitions[batch.partition];
        self.forwarded += send_batch(partition, slot, batch.message, batch.taken, &mut unsent);
        for index in self.aside.drain(..).chain([batch.partition]) {
            let dropped = &mut self.slots[index].dropped;
            if !dropped.is_empty() {
                let dropped = mem::replace(dropped, Dropped::none());
                self.partitions[index].hand_over(dropped);
            }
        }
        unsent
    }

    fn ended(&self) -> Pumped<T> {
        Pumped::Ended {
            forwarded: self.forwarded,
        }
    }

    fn consumers_gone(&self, unsent: Vec<T>) -> Pumped<T> {
        Pumped::ConsumersGone {
            forwarded: self.forwarded,
            unsent,
        }
    }
}

/// Sends one batch of `partition` as one message, in the room taken for
/// it: the records sent, or none with the records kept in `unsent` when the
/// partition closed.
fn send_batch<T>(
    partition: &Producer<T>,
    slot: &mut Slot<'_, T>,
    message: Message<T>,
    mut taken: Taken<'_, T>,
    unsent: &mut Vec<T>,
) -> u64 {
    let records = message.len();
    slot.last = records;
    taken.keep(records);
    match partition.send_taken(message, taken) {
        Ok(()) => records as u64,
        Err(message) => {
            unsent.extend(message.into_records());
            0
        }
    }
}
