//! Who is polled next: the line of sources waiting for a turn, and the turn
//! in progress. Plain state, with no streams and no wakers in it, so every
//! rule of fairness is tested here on its own.
//!
//! # The rules
//!
//! - A source that yields an item keeps the turn, for up to `turn` items in
//!   a row; then it goes to the back of the line, behind every source that
//!   was woken during its turn. A source that returns `Pending` leaves the
//!   line until a wake brings it back.
//! - A woken or new source joins the back of the line, so it waits at most
//!   one turn of each source ahead of it. Wakes join a chunk at a time (one
//!   entry for all the sources of a chunk woken since the last look), and
//!   new sources pushed one after another share one entry: the line stays
//!   small when thousands wake at once.
//! - A source is in the line at most once: a wake of a source that has the
//!   turn or waits with an entry of its own gives it no second place.
//! - An entry that names a source which has left since is skipped: a wake
//!   or a push by the `waiting` mark, which the source takes with it; a
//!   source that used up its turn by its generation, which the caller checks.
//! - One call takes only the entries in line when it starts (`entries`), so
//!   it polls each source at most once.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::num::NonZeroU32;

use super::id::SourceId;
use super::ready::CHUNK;
use crate::sync::Word;

/// A place in the line.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Entry {
    /// A source that used up its turn and is still ready.
    Again(SourceId),
    /// The sources of one chunk that were woken together: bit `i` stands
    /// for the chunk's slot `i`.
    Woken { chunk: u32, bits: Word },
    /// New sources in slots `start..end`, pushed one after another.
    Pushed { start: u32, end: u32 },
}

/// What the line knows of the sources of one chunk, a bit per slot.
#[derive(Clone, Copy, Default)]
struct Marks {
    /// Set while the source has the turn or waits with an entry of its own.
    scheduled: Word,
    /// Set from a wake or a push until the entry that stands for it comes
    /// up, or the source leaves.
    waiting: Word,
}

/// Whose turn comes next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Due {
    /// A source that used up a turn: stale if it has left since.
    Again(SourceId),
    /// The source in this slot, woken or new. Leaving clears a source's
    /// `waiting` mark, so the slot is empty only when a wake raced with its
    /// source's removal on another thread; the caller then calls
    /// [`Line::left`] for it.
    Slot(u32),
}

/// The slot's chunk, and its bit in the chunk's words.
pub(super) fn locate(index: u32) -> (usize, Word) {
    (index as usize / CHUNK, 1 << (index as usize % CHUNK))
}

/// The line of turns.
pub(super) struct Line {
    entries: VecDeque<Entry>,
    marks: Vec<Marks>,
    /// The source in the middle of its turn, if any; it is polled first.
    turn: Option<SourceId>,
    /// Items yielded in the turn in progress.
    streak: u32,
    /// The most items in one turn.
    turn_len: u32,
}

impl Line {
    pub(super) fn new(turn_len: NonZeroU32) -> Self {
        Line {
            entries: VecDeque::new(),
            marks: Vec::new(),
            turn: None,
            streak: 0,
            turn_len: turn_len.get(),
        }
    }

    pub(super) fn turn_len(&self) -> NonZeroU32 {
        NonZeroU32::new(self.turn_len).expect("set from a NonZeroU32")
    }

    pub(super) fn set_turn_len(&mut self, turn_len: NonZeroU32) {
        self.turn_len = turn_len.get();
    }

    /// Entries in line now: what one call may take.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Makes room for the marks of one more chunk of slots.
    pub(super) fn add_chunk(&mut self) {
        self.marks.push(Marks::default());
    }

    /// A new source in slot `index` joins the back of the line.
    pub(super) fn pushed(&mut self, index: u32) {
        let (chunk, bit) = locate(index);
        let marks = &mut self.marks[chunk];
        // Fresh marks: a wake that raced with the slot's last source leaving
        // may have left it scheduled (see `Due::Slot`).
        marks.scheduled &= !bit;
        marks.waiting |= bit;
        match self.entries.back_mut() {
            Some(Entry::Pushed { end, .. }) if *end == index => *end += 1,
            _ => self.entries.push_back(Entry::Pushed {
                start: index,
                end: index + 1,
            }),
        }
    }

    /// The sources of `chunk` in `bits` were woken: they join the back of
    /// the line.
    pub(super) fn woken(&mut self, chunk: u32, bits: Word) {
        self.marks[chunk as usize].waiting |= bits;
        self.entries.push_back(Entry::Woken { chunk, bits });
    }

    /// Turns round the entries from position `first` on: wakes are handed
    /// over newest first.
    pub(super) fn turn_round(&mut self, first: usize) {
        let last = self.entries.len();
        for i in 0..(last - first) / 2 {
            self.entries.swap(first + i, last - 1 - i);
        }
    }

    /// The source in slot `index` left: no entry made before gives its
    /// turn to the slot's next source.
    pub(super) fn left(&mut self, index: u32) {
        self.out_of_line(index);
    }

    /// The source in the middle of its turn, if any.
    #[inline(always)]
    pub(super) fn turn(&self) -> Option<SourceId> {
        self.turn
    }

    /// A source due from the line begins its turn; it keeps it once it
    /// yields an item.
    pub(super) fn begin(&mut self) {
        self.streak = 0;
    }

    /// Counts an item of the source `id`, which has the turn. True while
    /// the turn goes on; false once it is used up, and the caller then
    /// sends the source to the back with [`again`](Self::again), after the
    /// wakes that came during the turn.
    #[inline(always)]
    pub(super) fn item(&mut self, id: SourceId) -> bool {
        self.streak += 1;
        if self.streak < self.turn_len {
            self.turn = Some(id);
            true
        } else {
            self.turn = None;
            false
        }
    }

    /// The source `id` is still ready: back of the line, for another turn.
    pub(super) fn again(&mut self, id: SourceId) {
        self.entries.push_back(Entry::Again(id));
    }

    /// The source in slot `index` returned `Pending`: out of line until a
    /// wake brings it back. A wake already in line for it was made before
    /// this poll, which answered it: its entry skips the source, so one call
    /// never polls it twice.
    pub(super) fn pending(&mut self, index: u32) {
        self.out_of_line(index);
    }

    /// The source in slot `index` has no turn, no place and no wake in
    /// line any more.
    fn out_of_line(&mut self, index: u32) {
        let (chunk, bit) = locate(index);
        let marks = &mut self.marks[chunk];
        marks.scheduled &= !bit;
        marks.waiting &= !bit;
        if self.turn.is_some_and(|id| id.slot() == index) {
            self.turn = None;
        }
    }

    /// The next source due a turn, if the front entry names one; `entries`
    /// counts down as entries leave. The source stays scheduled until it
    /// returns `Pending` or leaves.
    #[inline]
    pub(super) fn next(&mut self, entries: &mut usize) -> Option<Due> {
        let index = match self.entries.front_mut().expect("counted") {
            Entry::Again(id) => {
                let id = *id;
                self.entries.pop_front();
                *entries -= 1;
                return Some(Due::Again(id));
            }
            Entry::Woken { chunk, bits } => {
                let index = *chunk * CHUNK as u32 + bits.trailing_zeros();
                *bits &= *bits - 1;
                if *bits == 0 {
                    self.entries.pop_front();
                    *entries -= 1;
                }
                index
            }
            Entry::Pushed { start, end } => {
                let index = *start;
                *start += 1;
                if start == end {
                    self.entries.pop_front();
                    *entries -= 1;
                }
                index
            }
        };
        let (chunk, bit) = locate(index);
        let marks = &mut self.marks[chunk];
        // An entry made before its source left names nobody now; of two
        // entries for one wait (a push and a wake), the first one serves.
        if marks.waiting & bit == 0 {
            return None;
        }
        marks.waiting &= !bit;
        if marks.scheduled & bit != 0 {
            return None;
        }
        marks.scheduled |= bit;
        Some(Due::Slot(index))
    }
}

#[cfg(all(test, not(confluo_loom)))]
mod tests {
    use super::*;

    const TURN: NonZeroU32 = match NonZeroU32::new(3) {
        Some(turn) => turn,
        None => unreachable!(),
    };

    /// A line over `slots` slots, all pushed.
    fn line(slots: u32) -> Line {
        let mut line = Line::new(TURN);
        for _ in 0..=(slots as usize / CHUNK) {
            line.add_chunk();
        }
        (0..slots).for_each(|index| line.pushed(index));
        line
    }

    fn id(index: u32) -> SourceId {
        SourceId::new(index, 0)
    }

    /// What one call takes from the line: the slots due, in order.
    fn one_call(line: &mut Line) -> Vec<Due> {
        let mut entries = line.len();
        let mut due = Vec::new();
        while entries > 0 {
            due.extend(line.next(&mut entries));
        }
        due
    }

    #[test]
    fn new_sources_come_in_push_order_and_share_one_entry() {
        let mut line = line(5);
        assert_eq!(line.len(), 1);
        let due: Vec<Due> = (0..5).map(Due::Slot).collect();
        assert_eq!(one_call(&mut line), due);
        assert_eq!(line.len(), 0);
    }

    #[test]
    fn one_call_takes_only_the_entries_in_line_when_it_starts() {
        let mut line = line(2);
        let mut entries = line.len();
        assert_eq!(line.next(&mut entries), Some(Due::Slot(0)));
        line.pending(0);
        line.woken(0, 1); // slot 0 wakes during the call
        assert_eq!(line.next(&mut entries), Some(Due::Slot(1)));
        assert_eq!(entries, 0, "slot 0's wake waits for the next call");
        assert_eq!(one_call(&mut line), [Due::Slot(0)]);
    }

    #[test]
    fn a_turn_lasts_at_most_turn_len_items_then_the_source_goes_to_the_back() {
        let mut line = line(1);
        assert_eq!(one_call(&mut line), [Due::Slot(0)]);
        line.begin();
        assert!(line.item(id(0)));
        assert!(line.item(id(0)));
        assert_eq!(line.turn(), Some(id(0)));
        assert!(!line.item(id(0)), "the third item ends a turn of three");
        assert_eq!(line.turn(), None);
        line.again(id(0));
        assert_eq!(one_call(&mut line), [Due::Again(id(0))]);
    }

    #[test]
    fn turns_of_one_alternate_every_item() {
        let mut line = Line::new(NonZeroU32::MIN);
        line.add_chunk();
        line.pushed(0);
        line.pushed(1);
        let mut order = Vec::new();
        for _ in 0..3 {
            for due in one_call(&mut line) {
                let index = match due {
                    Due::Slot(index) => index,
                    Due::Again(id) => id.slot(),
                };
                order.push(index);
                line.begin();
                assert!(!line.item(id(index)));
                line.again(id(index));
            }
        }
        assert_eq!(order, [0, 1, 0, 1, 0, 1]);
    }

    #[test]
    fn sources_woken_during_a_turn_go_ahead_of_the_source_that_had_it() {
        let mut line = line(3);
        assert_eq!(one_call(&mut line).len(), 3);
        line.pending(1);
        line.pending(2);
        line.begin();
        line.woken(0, 0b110); // slots 1 and 2 wake during slot 0's turn
        while line.item(id(0)) {}
        line.again(id(0));
        assert_eq!(
            one_call(&mut line),
            [Due::Slot(1), Due::Slot(2), Due::Again(id(0))]
        );
    }

    #[test]
    fn a_woken_source_waits_at_most_one_turn_of_each_source_ahead() {
        // Slots 0..4 are ready and take turns; slot 4 wakes behind them.
        let mut line = line(4);
        line.add_chunk();
        let first = one_call(&mut line);
        for due in &first {
            let Due::Slot(index) = *due else { panic!() };
            line.again(id(index));
        }
        line.woken(0, 1 << 4);
        let next = one_call(&mut line);
        let ahead = next.iter().take_while(|due| **due != Due::Slot(4)).count();
        assert_eq!(ahead, 4, "one turn of each of the four ahead");
    }

    #[test]
    fn a_wake_of_a_source_in_line_gives_it_no_second_place() {
        let mut line = line(1);
        assert_eq!(one_call(&mut line), [Due::Slot(0)]);
        line.again(id(0));
        line.woken(0, 1); // woken while it waits with an entry of its own
        assert_eq!(one_call(&mut line), [Due::Again(id(0))]);
    }

    #[test]
    fn a_push_and_a_wake_for_one_wait_give_one_turn() {
        let mut line = line(1);
        line.woken(0, 1); // woken before its first turn
        assert_eq!(one_call(&mut line), [Due::Slot(0)]);
    }

    #[test]
    fn an_entry_made_before_its_source_left_skips_the_slots_next_source() {
        let mut line = line(1);
        assert_eq!(one_call(&mut line), [Due::Slot(0)]);
        line.pending(0);
        line.woken(0, 1);
        line.left(0); // the source leaves with its wake in line
        assert_eq!(one_call(&mut line), []);
        line.pushed(0); // the slot's next source
        line.woken(0, 1);
        assert_eq!(one_call(&mut line), [Due::Slot(0)], "once, not twice");
    }

    #[test]
    fn a_source_woken_again_while_it_waits_for_another_turn_is_polled_once_per_call() {
        let mut line = line(1);
        assert_eq!(one_call(&mut line), [Due::Slot(0)]);
        line.again(id(0)); // used up its turn, still ready
        line.woken(0, 1); // and woken meanwhile
        let mut entries = line.len();
        assert_eq!(line.next(&mut entries), Some(Due::Again(id(0))));
        line.pending(0); // the poll answered the wake
        assert_eq!(line.next(&mut entries), None, "not twice in one call");
        assert_eq!(entries, 0);
    }

    #[test]
    fn a_new_source_in_a_slot_whose_racing_wake_found_it_empty_is_due() {
        let mut line = line(1);
        assert_eq!(one_call(&mut line), [Due::Slot(0)]);
        line.pending(0);
        line.left(0);
        // A wake that raced with the removal lands after it.
        line.woken(0, 1);
        assert_eq!(one_call(&mut line), [Due::Slot(0)]);
        // The caller finds the slot empty but does not tell the line: the
        // next source must be due all the same.
        line.pushed(0);
        assert_eq!(one_call(&mut line), [Due::Slot(0)]);
    }

    #[test]
    fn a_source_that_leaves_loses_its_turn() {
        let mut line = line(1);
        one_call(&mut line);
        line.begin();
        assert!(line.item(id(0)));
        line.left(0);
        assert_eq!(line.turn(), None);
    }

    #[test]
    fn wakes_handed_over_newest_first_are_turned_round() {
        let mut line = line(0);
        line.add_chunk();
        line.add_chunk();
        let first = line.len();
        line.woken(2, 1);
        line.woken(1, 1);
        line.woken(0, 1);
        line.turn_round(first);
        let due = one_call(&mut line);
        let chunk = CHUNK as u32;
        assert_eq!(due, [Due::Slot(0), Due::Slot(chunk), Due::Slot(2 * chunk)]);
    }
}
