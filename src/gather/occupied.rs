//! What the slots of a [`Gather`](super::Gather) give of the sources they
//! hold, borrowed or owned: one source looked up by its id, or every source
//! in slot order with an exact count.

use alloc::boxed::Box;
use core::iter::{Enumerate, FusedIterator};
use core::pin::Pin;

use super::id::SourceId;
use super::slots::Slot;

/// What a slot, borrowed or owned, gives of the source it holds.
pub(super) trait Held {
    /// The source as the borrow or ownership of the slot allows, with its
    /// id where the source stays.
    type Item;
    /// What the slot at `index` gives, if it holds a source.
    fn held(self, index: u32) -> Option<Self::Item>;
}

impl<'a, S> Held for &'a Slot<S> {
    type Item = (SourceId, Pin<&'a S>);
    fn held(self, index: u32) -> Option<Self::Item> {
        let Slot::Occupied { stream, node } = self else {
            return None;
        };
        Some((SourceId::new(index, node.generation()), stream.as_ref()))
    }
}

impl<'a, S> Held for &'a mut Slot<S> {
    type Item = (SourceId, Pin<&'a mut S>);
    fn held(self, index: u32) -> Option<Self::Item> {
        let Slot::Occupied { stream, node } = self else {
            return None;
        };
        Some((SourceId::new(index, node.generation()), stream.as_mut()))
    }
}

/// A source taken out retires its node: a later wake of it is a no-op.
impl<S> Held for Slot<S> {
    type Item = Pin<Box<S>>;
    fn held(self, _: u32) -> Option<Pin<Box<S>>> {
        let Slot::Occupied { stream, node } = self else {
            return None;
        };
        node.retire();
        Some(stream)
    }
}

/// The source `id` in `slot`, if it is still there.
pub(super) fn lookup<T, P>(slot: Option<T>, id: SourceId) -> Option<P>
where
    T: Held<Item = (SourceId, P)>,
{
    let (held, stream) = slot?.held(id.slot())?;
    (held == id).then_some(stream)
}

/// What the slots of `I` hold, in slot order. `left` counts the sources
/// not yet given: the length is exact, and no slot past the last source is
/// looked at.
#[derive(Clone)]
pub(super) struct Occupied<I> {
    slots: Enumerate<I>,
    left: usize,
}

impl<I: Iterator> Occupied<I> {
    pub(super) fn new(slots: I, held: usize) -> Self {
        Occupied {
            slots: slots.enumerate(),
            left: held,
        }
    }
}

/// What the slot at `index` gives, if it holds a source.
fn held<T: Held>((index, slot): (usize, T)) -> Option<T::Item> {
    // A slot's index fits in a `u32` (see `Slots::insert`).
    slot.held(index as u32)
}

impl<I> Iterator for Occupied<I>
where
    I: Iterator,
    I::Item: Held,
{
    type Item = <I::Item as Held>::Item;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let found = self.slots.find_map(held)?;
        self.left -= 1;
        Some(found)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<I> ExactSizeIterator for Occupied<I>
where
    I: Iterator,
    I::Item: Held,
{
}

/// Once `left` is zero, it stays zero.
impl<I> FusedIterator for Occupied<I>
where
    I: Iterator,
    I::Item: Held,
{
}
