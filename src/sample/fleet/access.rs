//! What a [`Fleet`]'s users call on its sources: insert, remove, make
//! room, and look them up.

use core::hash::Hash;

use super::members::{Member, MemberId, State};
use super::run::Alarm;
use super::Fleet;
use crate::sample::backoff::Attempts;
use crate::time::Clock;

impl<K, C: Clock, Conn, Connect, ConnectFut, Read, ReadFut>
    Fleet<K, C, Conn, Connect, ConnectFut, Read, ReadFut>
{
    /// Makes room for at least `additional` more sources, so that
    /// inserting them does not grow the fleet's table on the way (and its
    /// memory does not peak at one and a half times the table while it
    /// moves).
    ///
    /// # Examples
    ///
    /// ```
    /// # let mut fleet = confluo::sample::Fleet::new(
    /// #     confluo::sample::Schedule::every(confluo::sample::Period::new(std::time::Duration::from_secs(1)).unwrap()),
    /// #     confluo::time::ManualClock::new(),
    /// #     |_: &u32| async { Ok::<(), ()>(()) },
    /// #     |_: &u32, ()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// # );
    /// fleet.reserve(10_000);
    /// for sensor in 0..10_000 {
    ///     fleet.insert(sensor);
    /// }
    /// assert_eq!(fleet.len(), 10_000);
    /// ```
    pub fn reserve(&mut self, additional: usize) {
        self.crew.members.reserve(additional);
    }

    /// How many sources the fleet holds.
    ///
    /// # Examples
    ///
    /// See [`is_empty`](Fleet::is_empty).
    pub fn len(&self) -> usize {
        self.crew.members.len()
    }

    /// Whether the fleet holds no source.
    ///
    /// # Examples
    ///
    /// ```
    /// # let mut fleet = confluo::sample::Fleet::new(
    /// #     confluo::sample::Schedule::every(confluo::sample::Period::new(std::time::Duration::from_secs(1)).unwrap()),
    /// #     confluo::time::ManualClock::new(),
    /// #     |_: &u32| async { Ok::<(), ()>(()) },
    /// #     |_: &u32, ()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// # );
    /// assert!(fleet.is_empty());
    /// let id = fleet.insert(1);
    /// assert_eq!(fleet.len(), 1);
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many samples are in flight.
    ///
    /// # Examples
    ///
    /// See [`in_flight`](Fleet::in_flight).
    pub fn flying(&self) -> usize {
        self.crew.flying
    }

    /// Whether `id` is one of the fleet's sources.
    ///
    /// # Examples
    ///
    /// See [`MemberId`].
    pub fn contains(&self, id: MemberId) -> bool {
        self.crew.members.get(id).is_some()
    }

    /// The key of the source `id`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let mut fleet = confluo::sample::Fleet::new(
    /// #     confluo::sample::Schedule::every(confluo::sample::Period::new(std::time::Duration::from_secs(1)).unwrap()),
    /// #     confluo::time::ManualClock::new(),
    /// #     |_: &u32| async { Ok::<(), ()>(()) },
    /// #     |_: &u32, ()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// # );
    /// let id = fleet.insert(42);
    /// assert_eq!(fleet.key(id), Some(&42));
    /// ```
    pub fn key(&self, id: MemberId) -> Option<&K> {
        self.crew.members.get(id).map(|member| &member.key)
    }

    /// Every source's id and key, in no particular order.
    ///
    /// # Examples
    ///
    /// ```
    /// # let mut fleet = confluo::sample::Fleet::new(
    /// #     confluo::sample::Schedule::every(confluo::sample::Period::new(std::time::Duration::from_secs(1)).unwrap()),
    /// #     confluo::time::ManualClock::new(),
    /// #     |_: &u32| async { Ok::<(), ()>(()) },
    /// #     |_: &u32, ()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// # );
    /// let id = fleet.insert(42);
    /// assert_eq!(fleet.keys().collect::<Vec<_>>(), [(id, &42)]);
    /// ```
    pub fn keys(&self) -> impl Iterator<Item = (MemberId, &K)> + '_ {
        self.crew.members.iter()
    }

    /// The clock.
    ///
    /// # Examples
    ///
    /// ```
    /// # let fleet = confluo::sample::Fleet::new(
    /// #     confluo::sample::Schedule::every(confluo::sample::Period::new(std::time::Duration::from_secs(1)).unwrap()),
    /// #     confluo::time::ManualClock::new(),
    /// #     |_: &u32| async { Ok::<(), ()>(()) },
    /// #     |_: &u32, ()| async { (Some(()), Ok::<u8, ()>(1)) },
    /// # );
    /// assert_eq!(fleet.clock().now(), std::time::Duration::ZERO);
    /// ```
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Takes the source `id` out, and returns its key: its read in flight,
    /// if any, and its connection are dropped at once, and nothing more
    /// is sampled of it. `None` if `id` is stale.
    ///
    /// # Examples
    ///
    /// See [`MemberId`].
    pub fn remove(&mut self, id: MemberId) -> Option<K> {
        let member = self.crew.members.remove(id)?;
        if let State::Flying(flight) = member.state {
            self.crew.ground(flight);
        }
        Some(member.key)
    }

    /// Wakes the task polling the fleet if an alarm at `tick` comes before
    /// the one its sleep is set for.
    fn wake_for(&mut self, tick: u64) {
        if self.armed.map_or(true, |armed| tick < armed) {
            if let Some(waker) = &self.waker {
                waker.wake_by_ref();
            }
        }
    }
}

impl<K: Hash, C: Clock, Conn, Connect, ConnectFut, Read, ReadFut>
    Fleet<K, C, Conn, Connect, ConnectFut, Read, ReadFut>
{
    /// Adds a source named `key`, and returns its id. Its slots lie on the
    /// fleet's schedule, spread over the period by the key
    /// ([`Schedule::phase_from_key`](crate::sample::Schedule::phase_from_key)), so a key keeps its place from run
    /// to run; its first sample is at its first slot from the schedule's
    /// start.
    ///
    /// The same key may be inserted twice: two sources, sampled alike.
    /// A task waiting on the fleet is woken if the new source's slot comes
    /// before any other.
    ///
    /// # Panics
    ///
    /// With more than `u32::MAX` sources at once.
    ///
    /// # Examples
    ///
    /// See [`Fleet`].
    pub fn insert(&mut self, key: K) -> MemberId {
        let place = self.crew.schedule.clone().phase_from_key(&key).place;
        let (id, mark) = self.crew.members.insert(Member {
            key,
            place,
            attempts: Attempts::default(),
            conn: None,
            state: State::Scheduled,
        });
        if let Some(tick) = self.crew.alarm(place.due, Alarm(mark)) {
            self.wake_for(tick);
        }
        id
    }
}
