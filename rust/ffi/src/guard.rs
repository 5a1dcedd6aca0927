//! Calls into foreign code that cannot take an engine thread down.
//!
//! Every foreign-trait method returns `Result<_, HotlineError>`. Apps never
//! need to throw (Kotlin has no checked exceptions; a non-throwing Swift
//! method satisfies a `throws` requirement), but when a Kotlin or Swift
//! implementation does throw, UniFFI hands Rust an `Err` instead of
//! panicking ("Callback interface failure") on the calling engine thread,
//! which would end that thread (the event thread, a media thread) or poison
//! a lock it holds. [`foreign`] logs such an error and returns `None`; it
//! also catches a panic from anything else in the call, as a last resort.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::HotlineError;

/// Run the foreign call `f`; on an error or a panic, log `what` with the
/// reason and return `None`.
pub(crate) fn foreign<T>(what: &str, f: impl FnOnce() -> Result<T, HotlineError>) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Some(v),
        Ok(Err(HotlineError::Api { code, msg })) => {
            // An exception's text is its stack trace: keep the first lines.
            let short: Vec<&str> = msg.lines().take(2).collect();
            log::error!("{what} threw (ignored; code {code}): {}", short.join(" "));
            None
        }
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            log::error!("{what} failed (ignored): {message}");
            None
        }
    }
}
