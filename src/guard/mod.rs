//! Drop guards and graceful close: deterministic, exactly-once release of
//! sources.
//!
//! See the crate docs' "Cleaning up sources" for when each tool fits.

#[cfg(feature = "alloc")]
mod close_all;
mod guarded;
mod teardown;

#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub use close_all::{close_all, CloseAll, Closed};
pub use guarded::{guard, Close, Closing, Goodbye, Guarded, NoGoodbye, Release};
