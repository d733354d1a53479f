//! A sample in flight: the connect, when the source has no connection,
//! then the read. A [`Fleet`](super::Fleet) keeps its flights in a
//! [`Gather`](crate::Gather), which polls only those that were woken, and
//! drops a flight to cut it at its deadline or when its source is removed.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use futures_core::stream::Stream;
use pin_project_lite::pin_project;

pin_project! {
    /// The step a flight is at.
    #[project = StepProj]
    pub(super) enum Step<ConnectFut, ReadFut> {
        Connecting { #[pin] connect: ConnectFut },
        Reading { #[pin] read: ReadFut },
    }
}

pin_project! {
    /// One sample in flight, and the slot it is for.
    pub(super) struct Flight<ConnectFut, ReadFut> {
        // The member's index in the fleet's slab.
        pub(super) index: u32,
        pub(super) meta: Meta,
        #[pin]
        pub(super) step: Step<ConnectFut, ReadFut>,
    }
}

/// The slot a sample is for, and when it started.
#[derive(Clone, Copy, Debug)]
pub(super) struct Meta {
    pub(super) seq: u64,
    pub(super) due: Duration,
    pub(super) late: Duration,
    pub(super) started: Duration,
}

/// What a flight's step came to.
pub(super) enum Landed<Conn, T, E> {
    Connected(Result<Conn, E>),
    Read(Option<Conn>, Result<T, E>),
}

impl<ConnectFut, ReadFut> Flight<ConnectFut, ReadFut> {
    pub(super) fn connecting(&self) -> bool {
        matches!(self.step, Step::Connecting { .. })
    }
}

/// A stream that yields its step's result, tagged with the member's
/// index, each time a step lands; the fleet then gives it its next step or
/// drops it.
impl<ConnectFut, ReadFut, Conn, T, E> Stream for Flight<ConnectFut, ReadFut>
where
    ConnectFut: Future<Output = Result<Conn, E>>,
    ReadFut: Future<Output = (Option<Conn>, Result<T, E>)>,
{
    type Item = (u32, Landed<Conn, T, E>);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let landed = match this.step.project() {
            StepProj::Connecting { connect } => {
                Landed::Connected(core::task::ready!(connect.poll(cx)))
            }
            StepProj::Reading { read } => {
                let (conn, result) = core::task::ready!(read.poll(cx));
                Landed::Read(conn, result)
            }
        };
        Poll::Ready(Some((*this.index, landed)))
    }
}
