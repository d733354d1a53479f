//! What a full bridge does with a record: the overflow policies, and the
//! paths of a send that finds the bridge full under a drop policy.
//!
//! Every send tries the bridge first, as under [`Overflow::Block`]; the
//! policy is looked at only when the bridge is full, so a bridge that has
//! room pays nothing for it.

use alloc::boxed::Box;
use alloc::vec::Vec;

use async_channel::TryRecvError;

use super::room::{Room, Taken};
use super::{Message, Producer};

/// What a send does when it finds the bridge full: wait for room (the
/// default), drop the record, or drop the oldest record waiting to make room
/// for it. Set with [`Bridge::overflow`](super::Bridge::overflow).
///
/// | policy | a record that finds the bridge full | fits |
/// |---|---|---|
/// | [`Block`](Overflow::Block) | waits for room: the sources behind the pump are not read meanwhile | pipelines that lose nothing (billing, audit, exactly-once counts) |
/// | [`DropOldest`](Overflow::DropOldest) | goes in; the oldest record waiting in the bridge is dropped | live dashboards, alerting, control loops: the freshest readings matter, a stale one is worth nothing |
/// | [`DropNewest`](Overflow::DropNewest) | is dropped | when what came first matters more than the latest: the start of an incident, a sample taken at a fixed rate that may thin out under load |
///
/// # Memory and counts
///
/// Under every policy the bridge holds at most its capacity in records.
/// What a drop policy drops is counted, record by record, in
/// [`Stats::dropped`](super::Stats::dropped), and handed to the bridge's
/// [`on_drop`](super::Bridge::on_drop) callback, if it has one. Every
/// record sent is then received, dropped or still in the bridge:
/// `sent = received + dropped + depth`.
///
/// # Sends under a drop policy
///
/// No send waits: [`Producer::send`](super::Producer::send) completes at its
/// first poll, [`Producer::try_send`](super::Producer::try_send) never
/// returns [`TrySendError::Full`](super::TrySendError::Full), and a
/// [`Producer::pump`](super::Producer::pump) keeps reading its stream at
/// the sources' pace, whatever the consumers' pace. A record dropped was
/// still sent: the send returns `Ok`, and the pump counts it forwarded.
/// Only a closed bridge makes a send fail.
///
/// # What `DropOldest` drops
///
/// It drops what waits in the bridge, never what a consumer took. With
/// [`Bridge::batch`](super::Bridge::batch), records travel in messages of
/// up to a batch: a send that finds the bridge full drops the whole oldest
/// message waiting, counting each of its records, and the room it frees
/// takes the new record (a pump fills it with up to as many records). The
/// records kept arrive in the order they were sent, per producer: only
/// the oldest go. When nothing waits in the bridge to be dropped (every
/// record in it is in a consumer's hands, the rest of a batch it has begun,
/// or in a batch another producer is filling), the new record is dropped
/// instead, as under `DropNewest`: a send under a drop policy never waits.
/// That takes consumers holding the whole capacity between them, so with
/// one consumer and one producer it happens only when the batch is as
/// large as the capacity.
///
/// A send racing a close may drop the oldest record waiting and then find
/// the bridge closed: it fails as any send into a closed bridge does, and
/// the record it dropped is counted and handed to the callback as any
/// other.
///
/// A consumer that [releases](super::Consumer::release) the rest of a
/// batch puts it back behind the records waiting: it is dropped in its turn
/// from there, as if it had been sent then.
///
/// # Examples
///
/// ```
/// use confluo::{Bridge, Overflow};
/// use std::num::NonZeroUsize;
///
/// let (producer, mut consumer) = Bridge::new(NonZeroUsize::new(2).unwrap())
///     .overflow(Overflow::DropNewest)
///     .open();
/// for reading in 0..5 {
///     producer.try_send(reading).unwrap(); // never full
/// }
/// assert_eq!(producer.stats().dropped(), 3);
/// assert_eq!((consumer.recv_blocking(), consumer.recv_blocking()), (Some(0), Some(1)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Overflow {
    /// A send waits for room; a pump stops reading its stream meanwhile.
    /// Nothing is lost: the backpressure reaches the sources. The default.
    #[default]
    Block,
    /// A record that finds the bridge full is dropped, not sent: the
    /// records already in the bridge are kept.
    DropNewest,
    /// A record that finds the bridge full goes in, and the oldest record
    /// waiting in the bridge is dropped to make room (with batches, the
    /// oldest message waiting, every record of it counted): the freshest
    /// records are kept.
    DropOldest,
}

/// What a bridge does with the records its [`Overflow`] policy drops: any
/// `Fn(T) + Send + Sync` closure, or `()` for nothing (the default); a
/// bridge takes one that is also `'static`. Set with [`Bridge::on_drop`](super::Bridge::on_drop).
///
/// It runs on the thread and in the task of the send that dropped the
/// records, after the bridge is consistent again: the record sent is in
/// the bridge, and the drop counted. It should be quick (count, log, hand
/// the record to a spill queue); it must not send into the same bridge
/// and wait, for it is called from a send.
///
/// # Panics
///
/// A callback that panics makes the send that called it panic: `send` and
/// `try_send` unwind to their caller, a pump unwinds out of its poll
/// (dropping its stream, and its producer with it). The bridge is not
/// poisoned: it holds no lock while the callback runs, the record that made
/// room is already in it, counts are exact, and other sends and consumers
/// go on. The records of a message dropped after the one whose callback
/// panicked are dropped without the callback (they are counted).
///
/// # Examples
///
/// ```
/// use confluo::{Bridge, Overflow};
/// use std::num::NonZeroUsize;
/// use std::sync::{Arc, Mutex};
///
/// let stale = Arc::new(Mutex::new(Vec::new()));
/// let (producer, consumer) = Bridge::new(NonZeroUsize::new(2).unwrap())
///     .overflow(Overflow::DropOldest)
///     .on_drop({
///         let stale = Arc::clone(&stale);
///         move |reading: u32| stale.lock().unwrap().push(reading)
///     })
///     .open();
/// for reading in 0..5 {
///     producer.try_send(reading).unwrap();
/// }
/// drop(producer);
/// assert_eq!(consumer.into_iter().collect::<Vec<_>>(), [3, 4]);
/// assert_eq!(*stale.lock().unwrap(), [0, 1, 2]);
/// ```
pub trait OnDrop<T>: Send + Sync {
    /// Takes one record the overflow policy dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use confluo::OnDrop;
    ///
    /// let log = |reading: u32| println!("dropped {reading}");
    /// log.dropped(7);
    /// ().dropped(7); // does nothing
    /// ```
    fn dropped(&self, record: T);
}

/// No callback: dropped records are only counted.
impl<T> OnDrop<T> for () {
    fn dropped(&self, _record: T) {}
}

impl<T, F> OnDrop<T> for F
where
    F: Fn(T) + Send + Sync + 'static,
{
    fn dropped(&self, record: T) {
        self(record)
    }
}

/// The callback of a bridge's partitions: one shared by all of them.
pub(super) struct SharedOnDrop<D>(pub(super) crate::sync::Arc<D>);

impl<T, D: OnDrop<T>> OnDrop<T> for SharedOnDrop<D> {
    fn dropped(&self, record: T) {
        self.0.dropped(record)
    }
}

/// The records one send dropped: messages, oldest first, handed to the
/// callback once the send is done. Most sends drop one message, kept
/// without allocating.
pub(super) struct Dropped<T> {
    first: Option<Message<T>>,
    more: Vec<Message<T>>,
}

impl<T> Dropped<T> {
    pub(super) fn none() -> Self {
        Dropped {
            first: None,
            more: Vec::new(),
        }
    }

    /// Whether the send dropped nothing.
    pub(super) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn push(&mut self, message: Message<T>) {
        match self.first {
            None => self.first = Some(message),
            Some(_) => self.more.push(message),
        }
    }
}

/// Room a drop policy made in a full batching bridge, or why there is none.
pub(super) enum Made<'a, T> {
    /// Room taken, freed by dropping the messages in `Dropped` (or found
    /// free after all).
    Room(Taken<'a, T>, Dropped<T>),
    /// No room: the record in hand is to be dropped.
    DropNewest,
    /// The bridge is closed.
    Closed,
}

impl<T> Producer<T> {
    /// A bridge without batches (its channel counts records) was full under
    /// a drop policy: sends `record`, having dropped the oldest records
    /// waiting to make room for it, or drops it. `Err` with the record once
    /// the bridge is closed.
    pub(super) fn send_one_dropping(&self, record: T) -> Result<(), T> {
        use async_channel::TrySendError as ChannelError;

        if self.sender.is_closed() {
            return Err(record);
        }
        self.saw_full();
        let Some(oldest) = self.oldest() else {
            self.drop_newest(record);
            return Ok(());
        };
        let mut dropped = Dropped::none();
        let mut message = Message::One(record);
        // Each turn drops one record waiting, unless a consumer took them all
        // meanwhile; it fails to send only when other producers took the
        // room made, each with a record of its own: the bridge moves on.
        let sent = loop {
            match oldest.try_recv() {
                Ok(old) => {
                    self.shared.stats.dropped(old.len());
                    dropped.push(old);
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Closed) => break Err(message),
            }
            match self.sender.try_send(message) {
                Ok(()) => {
                    self.count_sent(1, false);
                    break Ok(());
                }
                Err(ChannelError::Full(back)) => message = back,
                Err(ChannelError::Closed(back)) => break Err(back),
            }
        };
        self.hand_over(dropped);
        sent.map_err(Message::into_one)
    }

    /// A batching bridge was full under a drop policy: room for up to `want`
    /// records, made by dropping the oldest message waiting (its room is
    /// taken over whole, never given back in between, so no other producer
    /// takes it), or the news that there is none.
    pub(super) fn make_room<'a>(&self, room: &'a Room<T>, want: usize) -> Made<'a, T> {
        if self.sender.is_closed() {
            return Made::Closed;
        }
        self.saw_full();
        let Some(oldest) = self.oldest() else {
            return Made::DropNewest;
        };
        match oldest.try_recv() {
            Ok(old) => {
                let records = old.len();
                self.shared.stats.dropped(records);
                let mut dropped = Dropped::none();
                dropped.push(old);
                Made::Room(room.taken_over(records), dropped)
            }
            // Nothing waits: the room is in consumers' hands, or a consumer
            // has just handed some out.
            Err(TryRecvError::Empty) => match room.try_take(want) {
                Some(taken) => Made::Room(taken, Dropped::none()),
                None => Made::DropNewest,
            },
            Err(TryRecvError::Closed) => Made::Closed,
        }
    }

    /// Sends one record into a full batching bridge under a drop policy.
    pub(super) fn send_one_into_room_dropping(&self, room: &Room<T>, record: T) -> Result<(), T> {
        match self.make_room(room, 1) {
            Made::Room(mut taken, dropped) => {
                taken.keep(1);
                let sent = self.send_taken(Message::One(record), taken);
                self.hand_over(dropped);
                sent.map_err(Message::into_one)
            }
            Made::DropNewest => {
                self.drop_newest(record);
                Ok(())
            }
            Made::Closed => Err(record),
        }
    }

    /// Drops a record that found the bridge full: counted dropped, then sent
    /// (so the depth never counts it), then handed to the callback.
    pub(super) fn drop_newest(&self, record: T) {
        self.shared.stats.dropped(1);
        self.count_sent(1, false);
        self.shared.on_drop.dropped(record);
    }

    /// Hands what a send dropped to the callback, oldest first. Called last,
    /// when the bridge is consistent: a callback that panics unwinds from
    /// here.
    pub(super) fn hand_over(&self, dropped: Dropped<T>) {
        let on_drop: &dyn OnDrop<T> = &*self.shared.on_drop;
        for message in dropped.first.into_iter().chain(dropped.more) {
            match message {
                Message::One(record) => on_drop.dropped(record),
                Message::Many(records) => records.into_iter().for_each(|r| on_drop.dropped(r)),
            }
        }
    }

    /// The bridge's own receiving end, under [`Overflow::DropOldest`].
    fn oldest(&self) -> Option<&async_channel::Receiver<Message<T>>> {
        self.shared.oldest.as_ref()
    }
}

/// Boxes a bridge's callback for its shared state.
pub(super) fn boxed<T, D: OnDrop<T> + 'static>(on_drop: D) -> Box<dyn OnDrop<T>> {
    Box::new(on_drop)
}
