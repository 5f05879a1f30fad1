//! Warnings for the client, as Cassandra's `ClientWarn`: code running for a
//! request adds a warning with `warn`, and the connection sends the request's
//! warnings in the response frame (the WARNING flag; drivers log them and
//! expose them on the result). Outside a request's scope `warn` does nothing.

use std::cell::RefCell;
use std::future::Future;

tokio::task_local! {
    static WARNINGS: RefCell<Vec<String>>;
}

/// Runs `request` and returns its output with the warnings it added.
pub async fn collect<F: Future>(request: F) -> (F::Output, Vec<String>) {
    WARNINGS
        .scope(RefCell::new(Vec::new()), async move {
            let output = request.await;
            let warnings = WARNINGS.with(|w| w.take());
            (output, warnings)
        })
        .await
}

/// Adds a warning for the client of the current request.
pub fn warn(message: impl Into<String>) {
    let message = message.into();
    let _ = WARNINGS.try_with(|w| w.borrow_mut().push(message));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn warnings_added_in_a_request_come_back_with_its_output() {
        let (output, warnings) = collect(async {
            warn("first");
            tokio::task::yield_now().await;
            warn("second");
            7
        })
        .await;
        assert_eq!((output, warnings), (7, vec!["first".to_string(), "second".to_string()]));
        warn("outside any request: dropped");
    }
}
