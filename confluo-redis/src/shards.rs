//! Sources split among ingestion processes: each source belongs to one of
//! a fixed number of shards (by the stable hash of its key), each shard to
//! one live process (by rendezvous hashing over the members), held by a
//! lease in Redis; when a process dies its shards pass to the survivors
//! once its leases expire, and a process joining takes only its share.

use std::collections::BTreeSet;
use std::hash::Hash;
use std::time::Duration;

use confluo::sample::stable_hash;

use crate::link::{unique_name, Link};
use crate::partition::partition_of;
use crate::{Error, Run};

/// What changed for this process at a [`Shards::refresh`].
///
/// # Examples
///
/// ```no_run
/// // no_run: needs a redis-server on 127.0.0.1:6379.
/// use confluo_redis::{Run, Shards};
///
/// let mut shards = Shards::join(&Run::new("sensors"), "redis://127.0.0.1:6379/", 64)?;
/// let change = shards.refresh()?;
/// for (shard, gap) in &change.gained {
///     println!("start the sources of shard {shard}; unsampled for {gap:?}");
/// }
/// # Ok::<(), confluo_redis::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rebalance {
    /// Shards this process holds now and did not before, each with the time
    /// since its last holder last renewed it (`None` if nobody held it
    /// before): how long its sources went unsampled, at most.
    pub gained: Vec<(u32, Option<Duration>)>,
    /// Shards this process held and let go of (to a process that joined),
    /// or lost (its lease expired while it could not renew it).
    pub lost: Vec<u32>,
    /// The live members of the group, this process among them.
    pub members: usize,
}

/// This process's share of the sources, kept in a group of ingestion
/// processes through Redis.
///
/// Sources are spread over `shards` shards by the stable hash of their
/// key; each shard belongs to one live member, the one that scores highest
/// for it (rendezvous hashing): a member that joins takes about
/// `1/members` of the shards, all from the others, and a member that goes
/// leaves its shards spread over the survivors; no other shard moves.
///
/// A member holds each of its shards by a lease of [`Run::lease`], and must
/// call [`refresh`](Shards::refresh) at least every third of it; a shard is
/// taken over only once its lease is free, so no two members hold one at
/// once. When a member dies, its shards are taken within about 4/3 of the
/// lease: its leases expire, and the survivors' next refresh takes them.
///
/// # Examples
///
/// ```no_run
/// // no_run: needs a redis-server on 127.0.0.1:6379.
/// use confluo_redis::{Run, Shards};
///
/// let run = Run::new("sensors").lease(std::time::Duration::from_secs(3));
/// let mut shards = Shards::join(&run, "redis://127.0.0.1:6379/", 64)?;
/// loop {
///     let change = shards.refresh()?;
///     let mine = (0..10_000u32).filter(|sensor| shards.owns(sensor)).count();
///     println!("{} members, {mine} sensors here, {:?}", change.members, change.gained);
///     std::thread::sleep(std::time::Duration::from_secs(1));
/// }
/// # Ok::<(), confluo_redis::Error>(())
/// ```
pub struct Shards {
    run: Run,
    link: Link,
    name: String,
    shards: u32,
    held: BTreeSet<u32>,
}

impl Shards {
    /// Joins the shard group of `run` at the Redis of `addr`, with the
    /// sources spread over `shards` shards (the same number in every
    /// member). Holds no shard until the first [`refresh`](Shards::refresh).
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] if Redis cannot be reached within
    /// [`Run::reconnect_for`].
    ///
    /// # Panics
    ///
    /// If `shards` is 0.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let shards = confluo_redis::Shards::join(&confluo_redis::Run::new("sensors"), "redis://127.0.0.1:6379/", 64)?;
    /// assert_eq!(shards.held().count(), 0);
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn join(run: &Run, addr: &str, shards: u32) -> Result<Self, Error> {
        assert!(shards > 0, "a group needs at least one shard");
        Ok(Shards {
            link: Link::open(addr, run)?,
            run: run.clone(),
            name: unique_name(),
            shards,
            held: BTreeSet::new(),
        })
    }

    /// Renews this member and its leases, and takes or lets go of shards as
    /// the live members say: two round trips.
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] if Redis stayed out of reach for
    /// [`Run::reconnect_for`]: the shards' leases may have expired by then,
    /// so stop sampling them.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let mut shards = confluo_redis::Shards::join(&confluo_redis::Run::new("sensors"), "redis://127.0.0.1:6379/", 8)?;
    /// let change = shards.refresh()?;
    /// assert_eq!(change.members, 1);
    /// assert_eq!(shards.held().count(), 8, "alone, it holds every shard");
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn refresh(&mut self) -> Result<Rebalance, Error> {
        let lease = self.run.lease.as_millis() as u64;
        let mut members = redis::cmd("FCALL");
        members
            .arg("confluo_members")
            .arg(1)
            .arg(self.run.key("members"))
            .arg(&self.name)
            .arg(lease);
        let live: Vec<String> = self.link.call(|con| members.query(con))?;
        let wanted: Vec<u32> = (0..self.shards)
            .filter(|&shard| owner(&live, shard) == Some(self.name.as_str()))
            .collect();
        let let_go: Vec<u32> = self
            .held
            .iter()
            .copied()
            .filter(|shard| !wanted.contains(shard))
            .collect();
        let mut leases = redis::cmd("FCALL");
        leases
            .arg("confluo_leases")
            .arg(1)
            .arg(self.run.key("members"))
            .arg(self.run.key("shard:"))
            .arg(&self.name)
            .arg(lease)
            .arg(wanted.len())
            .arg(&wanted)
            .arg(&let_go);
        let reply: Vec<Vec<i64>> = self.link.call(|con| leases.query(con))?;
        let mut change = Rebalance {
            members: live.len(),
            ..Rebalance::default()
        };
        let mut now_held = BTreeSet::new();
        for pair in reply {
            let (shard, gap) = (pair[0] as u32, pair[1]);
            now_held.insert(shard);
            if !self.held.contains(&shard) {
                let gap = u64::try_from(gap).ok().map(Duration::from_millis);
                change.gained.push((shard, gap));
            }
        }
        change.lost = self.held.difference(&now_held).copied().collect();
        self.held = now_held;
        Ok(change)
    }

    /// The shard of a source's key, the same in every member.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let shards = confluo_redis::Shards::join(&confluo_redis::Run::new("sensors"), "redis://127.0.0.1:6379/", 8)?;
    /// assert!(shards.shard_of(&"sensor-17") < 8);
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn shard_of<K: Hash + ?Sized>(&self, key: &K) -> u32 {
        partition_of(key, self.shards)
    }

    /// Whether this process holds the shard of `key`, as of the last
    /// refresh: whether it should sample that source.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let mut shards = confluo_redis::Shards::join(&confluo_redis::Run::new("sensors"), "redis://127.0.0.1:6379/", 8)?;
    /// assert!(!shards.owns(&17));
    /// shards.refresh()?;
    /// assert!(shards.owns(&17), "alone, it holds every shard");
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn owns<K: Hash + ?Sized>(&self, key: &K) -> bool {
        self.held.contains(&self.shard_of(key))
    }

    /// The shards this process holds, as of the last refresh, in order.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let mut shards = confluo_redis::Shards::join(&confluo_redis::Run::new("sensors"), "redis://127.0.0.1:6379/", 4)?;
    /// shards.refresh()?;
    /// assert_eq!(shards.held().collect::<Vec<_>>(), [0, 1, 2, 3]);
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn held(&self) -> impl Iterator<Item = u32> + '_ {
        self.held.iter().copied()
    }

    /// Who holds each shard now, as Redis says, by shard: a member's name,
    /// or `None` for a shard nobody holds (between a holder's death and its
    /// takeover). One round trip.
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] if Redis stayed out of reach for
    /// [`Run::reconnect_for`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let mut shards = confluo_redis::Shards::join(&confluo_redis::Run::new("sensors"), "redis://127.0.0.1:6379/", 4)?;
    /// shards.refresh()?;
    /// let me = shards.name().to_owned();
    /// assert!(shards.holders()?.iter().all(|holder| holder.as_deref() == Some(me.as_str())));
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn holders(&mut self) -> Result<Vec<Option<String>>, Error> {
        let mut get = redis::cmd("MGET");
        for shard in 0..self.shards {
            get.arg(self.run.key(&format!("shard:{shard}")));
        }
        self.link.call(|con| get.query(con))
    }

    /// This member's name in the group.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs a redis-server on 127.0.0.1:6379.
    /// let shards = confluo_redis::Shards::join(&confluo_redis::Run::new("sensors"), "redis://127.0.0.1:6379/", 4)?;
    /// println!("member {}", shards.name());
    /// # Ok::<(), confluo_redis::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The member that scores highest for `shard`: the same in every member
/// that sees the same members.
fn owner(members: &[String], shard: u32) -> Option<&str> {
    members
        .iter()
        .max_by_key(|member| stable_hash(&(member.as_str(), shard)))
        .map(String::as_str)
}

impl Drop for Shards {
    /// Leaves the group and lets go of its shards, in one attempt: the
    /// others take them at their next refresh, not a lease later.
    fn drop(&mut self) {
        let mut pipe = redis::pipe();
        pipe.cmd("FCALL")
            .arg("confluo_leases")
            .arg(1)
            .arg(self.run.key("members"))
            .arg(self.run.key("shard:"))
            .arg(&self.name)
            .arg(self.run.lease.as_millis() as u64)
            .arg(0)
            .arg(self.held.iter().copied().collect::<Vec<_>>())
            .ignore();
        pipe.cmd("FCALL")
            .arg("confluo_leave")
            .arg(1)
            .arg(self.run.key("members"))
            .arg(&self.name)
            .ignore();
        let _ = self.link.call_once(|con| pipe.exec(con));
    }
}

impl std::fmt::Debug for Shards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shards")
            .field("run", &self.run.name)
            .field("name", &self.name)
            .field("shards", &self.shards)
            .field("held", &self.held)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("member-{i}")).collect()
    }

    #[test]
    fn a_joining_member_takes_shards_only_from_the_others_and_about_its_share() {
        let (three, four) = (members(3), members(4));
        let mut moved = 0;
        for shard in 0..1_000 {
            let (before, after) = (owner(&three, shard), owner(&four, shard));
            if before != after {
                assert_eq!(
                    after,
                    Some("member-3"),
                    "shard {shard} moved between old members"
                );
                moved += 1;
            }
        }
        assert!(
            (200..300).contains(&moved),
            "{moved} of 1,000 moved, not about 1/4"
        );
    }

    #[test]
    fn a_leaving_members_shards_spread_over_the_survivors() {
        let (four, three) = (members(4), members(3));
        let mut taken = [0; 3];
        for shard in 0..1_000 {
            if owner(&four, shard) == Some("member-3") {
                let heir = owner(&three, shard).unwrap();
                taken[heir
                    .strip_prefix("member-")
                    .unwrap()
                    .parse::<usize>()
                    .unwrap()] += 1;
            } else {
                assert_eq!(owner(&four, shard), owner(&three, shard));
            }
        }
        assert!(taken.iter().all(|&n| n > 40), "{taken:?}");
    }

    #[test]
    fn no_members_no_owner() {
        assert_eq!(owner(&[], 0), None);
    }
}
