//! A router's pump that batches per partition holds the records of a
//! partition it has taken from the stream in that partition's open batch
//! until the round's end. When the partition's consumers go away while the
//! batch is open, the send of the batch fails; a pump that then dropped the
//! batch, or handed back only the record it held last, lost the others
//! without a trace: `Pumped::ConsumersGone` must hand back every record
//! taken and not sent, and the batches of the partitions still open must
//! still be delivered.
#![cfg(feature = "std")]

use std::num::NonZeroUsize;
use std::pin::Pin;
use std::task::{Context, Poll};

use confluo::{Bridge, Consumer, Pumped};
use futures::stream::Stream;

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

/// Yields `0..end`, all ready at once, and closes `closing`'s bridge just
/// before it yields `close_at`: the consumers of that partition go away
/// while the pump fills a batch for it.
struct ClosingAt {
    next: usize,
    end: usize,
    close_at: usize,
    closing: Consumer<usize>,
}

impl Stream for ClosingAt {
    type Item = usize;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<usize>> {
        if self.next == self.end {
            return Poll::Ready(None);
        }
        if self.next == self.close_at {
            self.closing.close();
        }
        self.next += 1;
        Poll::Ready(Some(self.next - 1))
    }
}

#[test]
fn records_of_a_batch_whose_partition_closed_mid_batch_are_handed_back() {
    let (router, mut consumers) = Bridge::new(nz(64)).batch(nz(16)).partitioned(nz(2));
    let odd = consumers.pop().unwrap();
    let even = consumers.pop().unwrap();
    let records = ClosingAt {
        next: 0,
        end: 10,
        close_at: 5,
        closing: odd,
    };
    let pumped = smol::block_on(router.pump_by(records, |&n| n));
    assert_eq!(
        pumped,
        Pumped::ConsumersGone {
            forwarded: 5,
            unsent: vec![1, 3, 5, 7, 9]
        }
    );
    assert_eq!(even.into_iter().collect::<Vec<_>>(), [0, 2, 4, 6, 8]);
}

#[test]
fn a_producers_batch_whose_bridge_closed_mid_batch_is_handed_back() {
    let (producer, consumer) = Bridge::new(nz(64)).batch(nz(16)).open();
    let records = ClosingAt {
        next: 0,
        end: 6,
        close_at: 2,
        closing: consumer.clone(),
    };
    let pumped = smol::block_on(producer.pump(records));
    assert_eq!(
        pumped,
        Pumped::ConsumersGone {
            forwarded: 0,
            unsent: (0..6).collect()
        }
    );
    assert_eq!(consumer.into_iter().count(), 0);
}
