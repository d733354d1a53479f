//! `Send`, `Sync` and `Unpin` hold exactly when they are sound.
//!
//! `is!(Trait, T)` is true when `T: Trait`: an inherent constant, available
//! only under the bound, wins over the trait's default `false`.
#![cfg(feature = "alloc")]

use std::cell::Cell;
use std::marker::{PhantomData, PhantomPinned};
use std::rc::Rc;

use confluo::{
    Event, Events, Gather, GatherAll, GatherHandle, IntoSources, KeyedGather, KeyedHandle,
    PushError, ShardedHandle, SourceId, Sources, SourcesMut, TryGatherAll, Until,
};

struct Probe<T: ?Sized>(PhantomData<T>);

// One inherent constant per trait; the fallback trait answers `false`.
mod send_probe {
    pub(crate) trait Fallback {
        const SEND: bool = false;
    }
    impl<T: ?Sized> Fallback for super::Probe<T> {}
}
mod sync_probe {
    pub(crate) trait Fallback {
        const SYNC: bool = false;
    }
    impl<T: ?Sized> Fallback for super::Probe<T> {}
}
mod unpin_probe {
    pub(crate) trait Fallback {
        const UNPIN: bool = false;
    }
    impl<T: ?Sized> Fallback for super::Probe<T> {}
}
#[allow(unused_imports)]
use {send_probe::Fallback as _, sync_probe::Fallback as _, unpin_probe::Fallback as _};

impl<T: ?Sized + Send> Probe<T> {
    const SEND: bool = true;
}
impl<T: ?Sized + Sync> Probe<T> {
    const SYNC: bool = true;
}
impl<T: ?Sized + Unpin> Probe<T> {
    const UNPIN: bool = true;
}

macro_rules! traits {
    ($t:ty) => {
        (Probe::<$t>::SEND, Probe::<$t>::SYNC, Probe::<$t>::UNPIN)
    };
}

type Plain = futures::stream::Iter<std::vec::IntoIter<u8>>;
/// `Send` but not `Sync`.
type SendOnly = futures::stream::Iter<std::vec::IntoIter<Cell<u8>>>;
/// Neither.
type Local = futures::stream::Iter<std::vec::IntoIter<Rc<u8>>>;
/// `Send + Sync` but not `Unpin`.
struct PinnedStream(PhantomPinned);
impl futures_core::Stream for PinnedStream {
    type Item = u8;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<u8>> {
        std::task::Poll::Ready(None)
    }
}
type PinnedFuture = std::future::Ready<PhantomPinned>;

#[test]
fn the_probe_can_say_no() {
    assert_eq!(traits!(Rc<u8>), (false, false, true));
    assert_eq!(traits!(Cell<u8>), (true, false, true));
    assert_eq!(traits!(PinnedStream), (true, true, false));
}

#[test]
fn gather_follows_its_sources() {
    assert_eq!(traits!(Gather<Plain>), (true, true, true));
    assert_eq!(traits!(Gather<SendOnly>), (true, false, true));
    assert_eq!(traits!(Gather<Local>), (false, false, true));
    // Sources are boxed, so `Gather` is `Unpin` even when they are not.
    assert_eq!(traits!(Gather<PinnedStream>), (true, true, true));
    assert_eq!(traits!(Events<'static, Plain>), (true, true, true));
    assert_eq!(traits!(Events<'static, Local>), (false, false, true));
    assert_eq!(traits!(Sources<'static, Plain>), (true, true, true));
    assert_eq!(traits!(Sources<'static, SendOnly>), (false, false, true));
    assert_eq!(traits!(Sources<'static, Local>), (false, false, true));
    assert_eq!(traits!(SourcesMut<'static, Plain>), (true, true, true));
    assert_eq!(traits!(SourcesMut<'static, SendOnly>), (true, false, true));
    assert_eq!(traits!(SourcesMut<'static, Local>), (false, false, true));
    assert_eq!(traits!(IntoSources<Plain>), (true, true, true));
    assert_eq!(traits!(IntoSources<SendOnly>), (true, false, true));
    assert_eq!(traits!(IntoSources<Local>), (false, false, true));
    assert_eq!(traits!(IntoSources<PinnedStream>), (true, true, true));
}

/// A handle only moves sources to the `Gather`: `Send` sources are enough
/// for it to be shared between threads.
#[test]
fn handles_are_send_and_sync_when_their_sources_are_send() {
    assert_eq!(traits!(GatherHandle<Plain>), (true, true, true));
    assert_eq!(traits!(GatherHandle<SendOnly>), (true, true, true));
    assert_eq!(traits!(GatherHandle<Local>), (false, false, true));
    assert_eq!(traits!(GatherHandle<PinnedStream>), (true, true, true));
    assert_eq!(traits!(PushError<Plain>), (true, true, true));
    assert_eq!(traits!(PushError<Local>), (false, false, true));
    assert_eq!(traits!(KeyedHandle<u8, Plain>), (true, true, true));
    assert_eq!(traits!(KeyedHandle<u8, SendOnly>), (true, true, true));
    assert_eq!(traits!(KeyedHandle<u8, Local>), (false, false, true));
    assert_eq!(traits!(KeyedHandle<Rc<u8>, Plain>), (false, false, true));
    assert_eq!(traits!(ShardedHandle<u8, SendOnly>), (true, true, true));
    assert_eq!(traits!(ShardedHandle<u8, Local>), (false, false, true));
}

/// A signal that is not `Unpin`, as an `async` block is not.
struct PinnedSignal(PhantomPinned);
impl std::future::Future for PinnedSignal {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::task::Poll::Ready(())
    }
}

/// `Until` borrows the `Gather` and holds the signal in place: `Unpin` as
/// the signal is.
#[test]
fn until_follows_its_gather_and_its_signal() {
    type Ready = std::future::Ready<()>;
    assert_eq!(
        traits!(Until<'static, Gather<Plain>, Ready>),
        (true, true, true)
    );
    assert_eq!(
        traits!(Until<'static, Gather<SendOnly>, Ready>),
        (true, false, true)
    );
    assert_eq!(
        traits!(Until<'static, Gather<Local>, Ready>),
        (false, false, true)
    );
    assert_eq!(
        traits!(Until<'static, Gather<Plain>, PinnedSignal>),
        (true, true, false)
    );
}

/// Keys are held by value; the sources are boxed, so it is `Unpin` always.
#[test]
#[cfg(feature = "std")]
fn keyed_gather_follows_its_keys_and_sources() {
    assert_eq!(traits!(KeyedGather<u8, Plain>), (true, true, true));
    assert_eq!(traits!(KeyedGather<u8, SendOnly>), (true, false, true));
    assert_eq!(traits!(KeyedGather<u8, Local>), (false, false, true));
    assert_eq!(traits!(KeyedGather<Rc<u8>, Plain>), (false, false, true));
    assert_eq!(
        traits!(KeyedGather<PhantomPinned, PinnedStream>),
        (true, true, true)
    );
}

#[test]
fn gathered_futures_follow_their_futures() {
    assert_eq!(
        traits!(GatherAll<std::future::Ready<u8>>),
        (true, true, true)
    );
    assert_eq!(
        traits!(GatherAll<std::future::Ready<Rc<u8>>>),
        (false, false, true)
    );
    assert_eq!(traits!(GatherAll<PinnedFuture>), (true, true, true));
    assert_eq!(
        traits!(TryGatherAll<std::future::Ready<Result<u8, ()>>>),
        (true, true, true)
    );
}

#[test]
fn plain_data_is_everything() {
    assert_eq!(traits!(SourceId), (true, true, true));
    assert_eq!(traits!(Event<u8>), (true, true, true));
}

#[test]
#[cfg(feature = "std")]
fn sources_guards_and_the_bridge_are_send_and_sync_when_their_parts_are() {
    use confluo::guard::{Guarded, NoGoodbye, Release};
    use confluo::source::{FromBlocking, FromIter, Sensor};
    type Release_ = fn(Release);
    assert_eq!(
        traits!(Guarded<Plain, Release_, NoGoodbye>),
        (true, true, true)
    );
    assert_eq!(
        traits!(Guarded<Local, Release_, NoGoodbye>),
        (false, false, true)
    );
    assert_eq!(
        traits!(FromIter<std::vec::IntoIter<u8>>),
        (true, true, true)
    );
    assert_eq!(traits!(FromBlocking<u8>), (true, true, true));
    let _ = Sensor::new(0, Default::default());
    assert_eq!(traits!(confluo::Producer<u8>), (true, true, true));
    // The channel's receiver is boxed: a consumer is `Unpin`, a stream to
    // poll as it is.
    assert_eq!(traits!(confluo::Consumer<u8>), (true, true, true));
    assert_eq!(traits!(confluo::Producer<Rc<u8>>), (false, false, true));
}

/// A fleet holds its reads in flight boxed, and its clock's sleep in
/// place: `Send` and `Sync` as its parts are, `Unpin` as the sleep is.
#[cfg(feature = "std")]
#[test]
fn a_fleet_follows_its_parts() {
    use confluo::sample::{Fleet, MemberId};
    use confluo::time::ManualClock;
    use std::future::Ready;
    type Connect = fn(&u32) -> Ready<Result<(), ()>>;
    type Read<F> = fn(&u32, ()) -> F;
    type Plain = Ready<(Option<()>, Result<u8, ()>)>;
    type Local = Ready<Rc<u8>>;
    type Of<F> = Fleet<u32, ManualClock, (), Connect, Ready<Result<(), ()>>, Read<F>, F>;
    assert_eq!(traits!(Of<Plain>), (true, true, true));
    assert_eq!(traits!(Of<Local>), (false, false, true));
    assert_eq!(traits!(MemberId), (true, true, true));
}
