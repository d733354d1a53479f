//! Teardown that runs on every path: a panic in one piece of a source's
//! teardown must not skip the pieces after it, the release least of all.

/// Runs its action when dropped: at the end of its scope, or while a panic
/// unwinds through that scope. Several of them, declared in a row, run in
/// reverse order, each whatever the ones before it did.
///
/// An action that runs while the thread unwinds runs with its panics caught
/// and dropped (with `std`): a second panic would abort the process, and
/// there is no one left to tell. Without `std` nothing can catch it, and a
/// second panic aborts, as it always does in Rust.
pub(super) struct Finally<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Finally<F> {
    pub(super) fn new(action: F) -> Self {
        Finally(Some(action))
    }
}

impl<F: FnOnce()> Drop for Finally<F> {
    fn drop(&mut self) {
        let Some(action) = self.0.take() else {
            return;
        };
        #[cfg(feature = "std")]
        if std::thread::panicking() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(action));
            return;
        }
        action();
    }
}
