//! A schedule cut in two: the [`Grid`], the rule of its slots, and the
//! [`Place`], where a source stands on it. A [`Schedule`](super::Schedule)
//! holds one of each; a [`Fleet`](super::Fleet) holds one grid for all of
//! its sources and a place per source, so that a million sources do not
//! carry a million copies of the same rule.

use core::time::Duration;

use super::period::from_nanos;
use super::{Missed, Period, Tick};

/// The slots' period and what happens to missed ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Grid {
    pub(super) period: Period,
    pub(super) missed: Missed,
    pub(super) tolerance: Duration,
}

/// The next slot of one source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Place {
    /// The next slot's number.
    pub(super) seq: u64,
    /// The next slot's due time, `None` if it lies past `Duration::MAX`.
    pub(super) due: Option<Duration>,
}

impl Place {
    /// Fires the slot due at `now`, if any, by the grid's rules: see
    /// [`Schedule::tick`](super::Schedule::tick).
    pub(super) fn tick(&mut self, grid: &Grid, now: Duration) -> Option<Tick> {
        let due = self.due?;
        let late = now.checked_sub(due)?;
        let period = grid.period.get();
        match grid.missed {
            Missed::Burst => Some(self.fire(due, late, 0, due.checked_add(period))),
            Missed::Delay => {
                let from = if late <= grid.tolerance { due } else { now };
                Some(self.fire(due, late, 0, from.checked_add(period)))
            }
            Missed::Skip if late < period => Some(self.fire(due, late, 0, due.checked_add(period))),
            Missed::Skip => {
                // Fire the last slot due by now; the ones between the
                // next slot and it are passed over. It is due at most
                // `now`, so its time fits.
                let behind = late.as_nanos() / period.as_nanos();
                let last = from_nanos(due.as_nanos() + behind * period.as_nanos())
                    .unwrap_or(Duration::MAX);
                let behind = u64::try_from(behind).unwrap_or(u64::MAX);
                self.seq = self.seq.saturating_add(behind);
                let tick = self.fire(last, now - last, behind, last.checked_add(period));
                Some(tick)
            }
        }
    }

    /// Fires the next slot as `seq`, due at `due`, and makes `next` the
    /// next slot's due time.
    fn fire(
        &mut self,
        due: Duration,
        late: Duration,
        skipped: u64,
        next: Option<Duration>,
    ) -> Tick {
        let tick = Tick {
            seq: self.seq,
            due,
            late,
            skipped,
        };
        self.seq = self.seq.saturating_add(1);
        self.due = next;
        tick
    }
}
