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
use super::{Message, Overflow, Producer, Pumped};

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
        // One record per message.
        let mut forwarded = 0;
        while let Some(record) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
            let partition = &partitions[route(&record)];
            if let Err(record) = partition.send_bounded(record).await {
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
        let partition = &partitions[index];
        let made = match round.room_now(partition) {
            Some(made) => made,
            // Nothing is open: no room is held while the pump waits.
            None => match partition.wait_for_room(partition.room(), round.batch).await {
                Some(taken) => Made::Room(taken, Dropped::none()),
                None => Made::Closed,
            },
        };
        if let Err(first) = round.open(index, first, made) {
            return round.consumers_gone(alloc::vec![first]);
        }
        // From here to the send nothing waits.
        let mut filled = None;
        poll_fn(|cx| {
            filled = Some(round.fill(stream.as_mut(), cx, &mut route));
            Poll::Ready(())
        })
        .await;
        let mut unsent = round.send();
        match filled.expect("filled at the first poll") {
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

/// The batches of a round, one per partition at most, and what the pump
/// keeps of each partition across rounds.
struct Round<'a, T> {
    partitions: &'a [Producer<T>],
    slots: Vec<Slot<'a, T>>,
    /// The partitions with a batch open, in the order they were opened.
    opened: Vec<usize>,
    /// Records per message at most: the bridges' batch.
    batch: usize,
    /// Whether a batch of this round is full: the round stops.
    full: bool,
    forwarded: u64,
}

/// What a round holds for one partition.
struct Slot<'a, T> {
    /// The batch being filled, and the room taken for it.
    batch: Option<(Message<T>, Taken<'a, T>)>,
    /// What the drop policy dropped to make that room: handed to the
    /// callback once the round's batches are sent.
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
                    batch: None,
                    dropped: Dropped::none(),
                    last: 0,
                })
                .collect(),
            opened: Vec::new(),
            batch: partitions[0].bridge.batch.get(),
            full: false,
            forwarded: 0,
        }
    }

    /// Room in `partition` for up to a batch now, taken or made by the
    /// drop policy; `None` when it is full and the policy waits.
    fn room_now(&self, partition: &'a Producer<T>) -> Option<Made<'a, T>> {
        let room = partition.room();
        match room.try_take(self.batch) {
            Some(taken) => Some(Made::Room(taken, Dropped::none())),
            None if partition.bridge.overflow != Overflow::Block => {
                Some(partition.make_room(room, self.batch))
            }
            None => None,
        }
    }

    /// Opens the batch of partition `index` with `first`, in the room
    /// made; or drops `first` by the policy. `Err` with `first` when the
    /// partition is closed.
    fn open(&mut self, index: usize, first: T, made: Made<'a, T>) -> Result<(), T> {
        let partition = &self.partitions[index];
        match made {
            Made::Room(taken, dropped) => {
                self.full |= taken.records() == 1;
                let slot = &mut self.slots[index];
                slot.batch = Some((Message::One(first), taken));
                slot.dropped = dropped;
                self.opened.push(index);
                Ok(())
            }
            Made::DropNewest => {
                partition.drop_newest(first);
                self.forwarded += 1;
                Ok(())
            }
            Made::Closed => Err(first),
        }
    }

    /// Takes what `stream` has ready now into the batches of its records'
    /// partitions, without waiting, until a batch is full.
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
    ) -> Filled<T>
    where
        S: Stream<Item = T>,
        R: FnMut(&T) -> usize,
    {
        while !self.full {
            let record = match stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(record)) => record,
                Poll::Ready(None) => return Filled::Ended,
                Poll::Pending => break,
            };
            let index = route(&record);
            let slot = &mut self.slots[index];
            if let Some((message, taken)) = &mut slot.batch {
                let (room, last) = (taken.records(), slot.last);
                message.push(record, || room.min(last.max(FIRST_ALLOCATION)));
                self.full = message.len() == room;
                continue;
            }
            let partition = &self.partitions[index];
            if partition.is_closed() {
                return Filled::Closed(record);
            }
            let Some(made) = self.room_now(partition) else {
                return Filled::Full(record);
            };
            if let Err(record) = self.open(index, record, made) {
                return Filled::Closed(record);
            }
        }
        Filled::Stopped
    }

    /// Sends every open batch, each as one message, then hands what the
    /// drop policy dropped for them to the callback (last: a callback that
    /// panics finds the batches sent). Returns the records of the batches
    /// whose partition closed.
    fn send(&mut self) -> Vec<T> {
        let mut unsent = Vec::new();
        for &index in &self.opened {
            let slot = &mut self.slots[index];
            let Some((message, mut taken)) = slot.batch.take() else {
                continue;
            };
            let records = message.len();
            slot.last = records;
            taken.keep(records);
            match self.partitions[index].send_taken(message, taken) {
                Ok(()) => self.forwarded += records as u64,
                Err(message) => unsent.extend(message.into_records()),
            }
        }
        self.full = false;
        for index in self.opened.drain(..) {
            let dropped = mem::replace(&mut self.slots[index].dropped, Dropped::none());
            self.partitions[index].hand_over(dropped);
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
