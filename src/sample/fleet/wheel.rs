//! A hierarchical timing wheel: any number of deadlines, one timer.
//!
//! A [`Fleet`](super::Fleet) keeps the next deadline of every source here
//! and sleeps on its clock only until the earliest one: a million sources
//! cost one runtime timer, not a million. Plain state, with no clock and no
//! waker, so the tests below drive it with numbers.
//!
//! Time is counted in *ticks* (the fleet's resolution). Level `L` has 64
//! slots of `64^L` ticks each; an entry sits at the lowest level whose slot
//! holds both its tick and the wheel's `now` in the same slot span, so level
//! 0 holds the next 64 ticks one per slot, level 1 the next 4,096 in slots of
//! 64, and so on. Eleven levels of 6 bits cover every `u64` tick, so nothing
//! overflows. When time reaches a slot of a higher level, its entries move
//! down (they *cascade*) to finer slots, once per level; an entry is so moved
//! at most ten times in its life, and in practice, for deadlines under a
//! minute at a millisecond, once or twice. Insert is O(1); finding the next
//! slot is a scan of eleven bit masks.
//!
//! Entries are never taken out early: the fleet marks them stale instead (an
//! epoch it checks when they fire), which keeps this structure simple.

use alloc::vec::Vec;

/// Bits of a tick per level: 64 slots.
const BITS: u32 = 6;
const SLOTS: usize = 1 << BITS;
/// Enough levels for every `u64` tick: 11 × 6 = 66 bits.
const LEVELS: usize = 11;

/// Entries of type `T`, each due at a tick; see the module docs.
#[derive(Debug)]
pub(super) struct Wheel<T> {
    /// Every tick before this one has been expired.
    now: u64,
    /// `LEVELS × SLOTS` buckets, level by level.
    buckets: Vec<Vec<(u64, T)>>,
    /// Per level, a bit per slot that holds entries.
    occupied: [u64; LEVELS],
    /// The entries of the slot being expired, last first.
    firing: Vec<(u64, T)>,
    len: usize,
}

impl<T> Wheel<T> {
    pub(super) fn new() -> Wheel<T> {
        Wheel {
            now: 0,
            buckets: (0..LEVELS * SLOTS).map(|_| Vec::new()).collect(),
            occupied: [0; LEVELS],
            firing: Vec::new(),
            len: 0,
        }
    }

    /// How many entries the wheel holds, stale ones included.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Adds `item`, due at `tick`; a tick already past is due at once.
    pub(super) fn insert(&mut self, tick: u64, item: T) {
        self.len += 1;
        self.place(tick.max(self.now), item);
    }

    /// The earliest tick at which [`pop`](Wheel::pop) may give an entry:
    /// the tick of the earliest entry, or the start of the higher-level
    /// slot that holds it (time must reach it for its entries to cascade).
    /// `None` when the wheel is empty.
    pub(super) fn next_tick(&self) -> Option<u64> {
        if !self.firing.is_empty() {
            return Some(self.now);
        }
        self.next_slot().map(|(_, start)| start)
    }

    /// The entries [`pop`](Wheel::pop) gives next from the slot it is
    /// expiring, in the order it gives them: more may be due after them.
    pub(super) fn firing(&self) -> impl Iterator<Item = &T> + '_ {
        self.firing.iter().rev().map(|(_, item)| item)
    }

    /// An entry due at or before `now` (a tick), in the order of their
    /// ticks; `None` once none is due. A `now` before an earlier one fires
    /// nothing new.
    pub(super) fn pop(&mut self, now: u64) -> Option<(u64, T)> {
        loop {
            if let Some(entry) = self.firing.pop() {
                self.len -= 1;
                return Some(entry);
            }
            let (index, start) = match self.next_slot() {
                Some((index, start)) if start <= now => (index, start),
                _ => {
                    // No slot starts by `now`: time moves on to it.
                    self.now = self.now.max(now);
                    return None;
                }
            };
            self.now = start;
            self.occupied[index / SLOTS] &= !(1 << (index % SLOTS));
            // The emptied `firing` takes the bucket's place, so both keep
            // their allocations.
            core::mem::swap(&mut self.buckets[index], &mut self.firing);
            if index < SLOTS {
                // Level 0: one tick, due now.
                self.firing.reverse();
            } else {
                // A higher level: its entries go down to finer slots.
                let entries = core::mem::take(&mut self.firing);
                for (tick, item) in entries {
                    self.place(tick, item);
                }
            }
        }
    }

    /// Puts an entry due at `tick >= now` in its bucket.
    fn place(&mut self, tick: u64, item: T) {
        let level = level_of(self.now, tick);
        let slot = (tick >> (level as u32 * BITS)) as usize % SLOTS;
        self.buckets[level * SLOTS + slot].push((tick, item));
        self.occupied[level] |= 1 << slot;
    }

    /// The earliest occupied bucket (its index) and the tick it starts at.
    ///
    /// Entries at a level differ from `now` in that level's bits and agree
    /// above them, so every entry of a lower level comes before every entry
    /// of a higher one, and no occupied slot of a level lies before the
    /// slot of `now` there.
    fn next_slot(&self) -> Option<(usize, u64)> {
        let level = self.occupied.iter().position(|&bits| bits != 0)?;
        let shift = level as u32 * BITS;
        let slot = u64::from(self.occupied[level].trailing_zeros());
        debug_assert!(slot >= (self.now >> shift) % SLOTS as u64);
        // `now` with this level's bits and those below replaced.
        let span = shift + BITS;
        let base = if span >= u64::BITS {
            0
        } else {
            self.now >> span << span
        };
        let start = base + (slot << shift);
        Some((level * SLOTS + slot as usize, start))
    }
}

/// The level of an entry due at `tick` when the wheel is at `now`: that of
/// the highest 6-bit group in which they differ.
fn level_of(now: u64, tick: u64) -> usize {
    let differs = (now ^ tick) | (SLOTS as u64 - 1);
    let highest = u64::BITS - 1 - differs.leading_zeros();
    (highest / BITS) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Every entry due by `now`, in the order popped.
    fn drain(wheel: &mut Wheel<u32>, now: u64) -> Vec<(u64, u32)> {
        core::iter::from_fn(|| wheel.pop(now)).collect()
    }

    #[test]
    fn levels_follow_the_highest_differing_group() {
        assert_eq!(level_of(0, 0), 0);
        assert_eq!(level_of(0, 63), 0);
        assert_eq!(level_of(0, 64), 1);
        assert_eq!(level_of(60, 70), 1);
        assert_eq!(level_of(64, 127), 0);
        assert_eq!(level_of(0, 4096), 2);
        assert_eq!(level_of(0, u64::MAX), 10);
    }

    #[test]
    fn nothing_fires_before_its_tick_and_all_fire_in_order() {
        let mut wheel = Wheel::new();
        let ticks = [5u64, 0, 64, 63, 4095, 4096, 1 << 40, 7, 5];
        for (i, &tick) in ticks.iter().enumerate() {
            wheel.insert(tick, i as u32);
        }
        assert_eq!(wheel.len(), ticks.len());
        let mut fired = Vec::new();
        let mut now = 0;
        while let Some(next) = wheel.next_tick() {
            if let Some(before) = next.checked_sub(1) {
                assert_eq!(drain(&mut wheel, before), vec![], "fired before {next}");
            }
            now = next;
            for (tick, i) in drain(&mut wheel, now) {
                assert!(tick <= now, "tick {tick} fired at {now}");
                assert_eq!(tick, ticks[i as usize]);
                fired.push((tick, i));
            }
        }
        assert_eq!(now, 1 << 40);
        assert!(fired.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(fired[0], (0, 1));
        assert_eq!(fired.len(), ticks.len());
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn a_jump_fires_everything_due_and_nothing_else() {
        let mut wheel = Wheel::new();
        for tick in (0..10_000u64).step_by(7) {
            wheel.insert(tick, tick as u32);
        }
        let fired = drain(&mut wheel, 5_000);
        assert_eq!(fired.len(), (0..=5_000u64).step_by(7).count());
        assert!(fired.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(wheel.next_tick().map(|t| t > 5_000), Some(true));
        let rest = drain(&mut wheel, u64::MAX);
        assert_eq!(rest.first().map(|e| e.0), Some(5_005));
        assert_eq!(fired.len() + rest.len(), (0..10_000u64).step_by(7).count());
    }

    #[test]
    fn the_past_is_due_at_once() {
        let mut wheel = Wheel::new();
        assert_eq!(drain(&mut wheel, 1_000), vec![]);
        wheel.insert(3, 1);
        assert_eq!(wheel.next_tick(), Some(1_000));
        assert_eq!(drain(&mut wheel, 1_000), vec![(1_000, 1)]);
    }

    #[test]
    fn an_earlier_entry_moves_the_next_tick_earlier() {
        let mut wheel = Wheel::new();
        wheel.insert(10_000, 1);
        let far = wheel.next_tick().unwrap();
        assert!(far <= 10_000);
        wheel.insert(20, 2);
        assert_eq!(wheel.next_tick(), Some(20));
        assert_eq!(drain(&mut wheel, 20), vec![(20, 2)]);
    }

    #[test]
    fn time_set_back_fires_nothing_new() {
        let mut wheel = Wheel::new();
        wheel.insert(50, 1);
        assert_eq!(drain(&mut wheel, 40), vec![]);
        assert_eq!(drain(&mut wheel, 10), vec![]);
        assert_eq!(drain(&mut wheel, 50), vec![(50, 1)]);
    }

    #[test]
    fn firing_shows_what_pop_gives_next_from_the_slot_it_expires() {
        let mut wheel = Wheel::new();
        for item in 1..=4 {
            wheel.insert(8, item);
        }
        wheel.insert(9, 5);
        assert_eq!(wheel.firing().count(), 0, "no slot expiring yet");
        assert_eq!(wheel.pop(9), Some((8, 1)));
        assert_eq!(wheel.firing().copied().collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(drain(&mut wheel, 9), vec![(8, 2), (8, 3), (8, 4), (9, 5)]);
        assert_eq!(wheel.firing().count(), 0);
    }

    #[test]
    fn entries_added_while_firing_come_after() {
        let mut wheel = Wheel::new();
        wheel.insert(8, 1);
        wheel.insert(8, 2);
        assert_eq!(wheel.pop(8), Some((8, 1)));
        wheel.insert(8, 3);
        assert_eq!(drain(&mut wheel, 8), vec![(8, 2), (8, 3)]);
    }

    #[test]
    fn the_end_of_time_has_a_place() {
        let mut wheel = Wheel::new();
        wheel.insert(u64::MAX, 1);
        wheel.insert(u64::MAX - 1, 2);
        assert_eq!(drain(&mut wheel, u64::MAX - 2), vec![]);
        assert_eq!(
            drain(&mut wheel, u64::MAX),
            vec![(u64::MAX - 1, 2), (u64::MAX, 1)]
        );
    }

    /// A reference model: a sorted list. Random inserts and pops at random
    /// times give the same entries at the same moments.
    #[test]
    fn matches_a_sorted_list() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut random = move |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        let mut wheel = Wheel::new();
        let mut model: Vec<(u64, u32)> = Vec::new();
        let mut now = 0u64;
        for step in 0..20_000u32 {
            if random(3) > 0 {
                let ahead = match random(4) {
                    0 => random(64),
                    1 => random(5_000),
                    2 => random(1 << 20),
                    _ => random(1 << 40),
                };
                let tick = now.saturating_sub(random(3)).saturating_add(ahead);
                wheel.insert(tick, step);
                model.push((tick.max(now), step));
            } else {
                now += random(3_000);
                let mut due: Vec<_> = model.iter().copied().filter(|e| e.0 <= now).collect();
                model.retain(|e| e.0 > now);
                let mut fired = drain(&mut wheel, now);
                assert!(fired.windows(2).all(|w| w[0].0 <= w[1].0));
                due.sort();
                fired.sort();
                assert_eq!(fired, due, "at {now}");
                let earliest = model.iter().map(|e| e.0).min();
                let next = wheel.next_tick();
                assert_eq!(next.is_some(), earliest.is_some());
                assert!(next <= earliest);
            }
            assert_eq!(wheel.len(), model.len());
        }
    }
}
