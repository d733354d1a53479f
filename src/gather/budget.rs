//! tokio's cooperative budget, as a `Gather` sees it (the `tokio`
//! feature).
//!
//! tokio gives each task a budget of operations on its resources (sockets,
//! timers, channels) per poll. Once it is spent, every such operation
//! returns `Pending` and defers its wake until the task yields. A `Gather`
//! that went on polling its woken sources then would get `Pending` from
//! each, and poll each again on the next call: twice the work for every
//! source left in line. So, with the feature on, a `Gather` stops its round
//! when the budget is spent and yields, and the sources left keep their
//! place in line. Outside a tokio runtime, and inside
//! `tokio::task::unconstrained`, the budget is never spent.

/// True once the current task's tokio budget is spent.
#[cfg(feature = "tokio")]
#[inline(always)]
pub(super) fn spent() -> bool {
    !tokio::task::coop::has_budget_remaining()
}

/// Without the `tokio` feature, no budget is known.
#[cfg(not(feature = "tokio"))]
#[inline(always)]
pub(super) fn spent() -> bool {
    false
}
