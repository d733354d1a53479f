//! A sample in flight: the connect, when the source has no connection,
//! then the read. A [`Fleet`](super::Fleet) flies them in lanes held by a
//! [`Gather`](crate::Gather), which polls only those that were woken, and
//! clears a lane to cut its flight at its deadline or when its source is
//! removed.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
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

impl<ConnectFut, ReadFut> Flight<ConnectFut, ReadFut> {
    /// Polls the step in hand: once it lands, its result, tagged with the
    /// member's index; the fleet then gives the flight its next step or
    /// ends it.
    pub(super) fn poll_step<Conn, T, E>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<(u32, Landed<Conn, T, E>)>
    where
        ConnectFut: Future<Output = Result<Conn, E>>,
        ReadFut: Future<Output = (Option<Conn>, Result<T, E>)>,
    {
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
        Poll::Ready((*this.index, landed))
    }
}

pin_project! {
    /// A place for one flight at a time, kept from one flight to the next:
    /// the fleet's [`Gather`](crate::Gather) holds lanes, not flights, so a
    /// sample costs no allocation and no push into the `Gather`. A lane
    /// keeps the waker the `Gather` last polled it with, and the fleet
    /// polls a flight it sets in the lane at once with it, as the `Gather`
    /// would: the flight's wakes then go to the `Gather`, and the start
    /// costs no wake and no turn through its line. A wake left over from
    /// the lane's last flight only polls the next one once more, which
    /// futures allow. Anyone else polls the flight, not the lane, so the
    /// kept waker stays the `Gather`'s.
    pub(super) struct Lane<ConnectFut, ReadFut> {
        #[pin]
        flight: Option<Flight<ConnectFut, ReadFut>>,
        waker: Option<Waker>,
    }
}

impl<ConnectFut, ReadFut> Lane<ConnectFut, ReadFut> {
    pub(super) fn new(flight: Flight<ConnectFut, ReadFut>) -> Self {
        Lane {
            flight: Some(flight),
            waker: None,
        }
    }

    /// The flight in the lane.
    pub(super) fn flight(self: Pin<&mut Self>) -> Option<Pin<&mut Flight<ConnectFut, ReadFut>>> {
        self.project().flight.as_pin_mut()
    }

    /// Sets `flight` in the idle lane.
    pub(super) fn set(self: Pin<&mut Self>, flight: Flight<ConnectFut, ReadFut>) {
        self.project().flight.set(Some(flight));
    }

    /// Polls the flight with the waker the `Gather` last polled the lane
    /// with. `Pending` if the `Gather` has not polled the lane yet: it
    /// was pushed, and the `Gather` polls it soon.
    pub(super) fn poll_kept<Conn, T, E>(self: Pin<&mut Self>) -> Poll<(u32, Landed<Conn, T, E>)>
    where
        ConnectFut: Future<Output = Result<Conn, E>>,
        ReadFut: Future<Output = (Option<Conn>, Result<T, E>)>,
    {
        let this = self.project();
        match (this.waker.as_ref(), this.flight.as_pin_mut()) {
            (Some(waker), Some(flight)) => flight.poll_step(&mut Context::from_waker(waker)),
            _ => Poll::Pending,
        }
    }

    /// Ends the flight in the lane, dropping it (and the connection it
    /// holds) now; returns the slot it was for.
    pub(super) fn clear(self: Pin<&mut Self>) -> Option<(u32, Meta, bool)> {
        let mut flight = self.project().flight;
        let done = flight
            .as_ref()
            .as_pin_ref()
            .map(|f| (f.index, f.meta, f.connecting()));
        flight.set(None);
        done
    }
}

impl<ConnectFut, ReadFut, Conn, T, E> Stream for Lane<ConnectFut, ReadFut>
where
    ConnectFut: Future<Output = Result<Conn, E>>,
    ReadFut: Future<Output = (Option<Conn>, Result<T, E>)>,
{
    type Item = (u32, Landed<Conn, T, E>);

    /// The flight's next step, or, idle, pending. The waker is kept (it is
    /// the `Gather`'s for this lane) to wake the lane for its next flight.
    /// A lane never ends.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if !this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *this.waker = Some(cx.waker().clone());
        }
        match this.flight.as_pin_mut() {
            Some(flight) => flight.poll_step(cx).map(Some),
            None => Poll::Pending,
        }
    }
}
