//! [`Context`]: what the runtime knows of one invocation, and the way to
//! stream its answer.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::Config;
use crate::stream::{self, Outlet, Stream};

/// One invocation, from the Runtime API's `Lambda-Runtime-*` headers.
/// Everything but the request id may be missing under an emulator.
///
/// In a function's unit tests, start from `Context::default()` and set the
/// fields the function reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// `Lambda-Runtime-Aws-Request-Id`: letters, digits and `-`.
    pub request_id: String,
    /// When Lambda stops the invocation (`Lambda-Runtime-Deadline-Ms`;
    /// `None` when absent, or not a time, as under `cargo lambda watch`).
    pub deadline: Option<SystemTime>,
    /// The ARN the caller invoked, with its version or alias.
    pub invoked_function_arn: Option<String>,
    /// X-Ray's trace header, `Root=...;Parent=...;Sampled=...`.
    pub trace_id: Option<String>,
    /// The tenant of a multi-tenant function.
    pub tenant_id: Option<String>,
    /// JSON from the AWS mobile SDKs (`Lambda-Runtime-Client-Context`).
    pub client_context: Option<String>,
    /// JSON from the AWS mobile SDKs (`Lambda-Runtime-Cognito-Identity`).
    pub cognito_identity: Option<String>,
    /// `Lambda-Runtime-Invocation-Id`, echoed on the answer.
    pub(crate) invocation_id: Option<String>,
    /// Where a streamed answer goes: the serving worker's outlet.
    pub(crate) outlet: Option<Arc<Outlet>>,
    /// The invocation's serial on that outlet (its number there, from 1),
    /// which tells it apart from a later one with the same request id (a
    /// retry).
    pub(crate) serial: u64,
}

impl Context {
    /// Time left before the deadline (zero once it has passed); `None`
    /// when the API gave no deadline.
    pub fn remaining(&self) -> Option<Duration> {
        let deadline = self.deadline?;
        Some(deadline.duration_since(SystemTime::now()).unwrap_or_default())
    }

    /// The function's static configuration.
    pub fn config(&self) -> &'static Config {
        Config::get()
    }

    /// Starts streaming this invocation's answer (Lambda response
    /// streaming): each write goes out at once as one chunk. Return `Ok(())`
    /// when done; an error returned after the first byte ends the stream
    /// with Lambda's error trailers. See [`Stream`].
    pub fn stream(&self) -> Stream {
        Stream::open(
            self.outlet.as_ref(),
            self.serial,
            self.invocation_id.as_deref(),
            None,
        )
    }

    /// Whether the function opened this invocation's stream.
    pub(crate) fn is_streaming(&self) -> bool {
        let outlet = self.outlet.as_ref();
        outlet.is_some_and(|outlet| outlet.is_open_for(self.serial))
    }

    /// Like [`Context::stream`], for a function URL (or API Gateway) answer:
    /// the HTTP status, headers and cookies (`Set-Cookie` values) go before
    /// the first byte of the body.
    pub fn stream_http(&self, status: u16, headers: &[(&str, &str)], cookies: &[&str]) -> Stream {
        Stream::open(
            self.outlet.as_ref(),
            self.serial,
            self.invocation_id.as_deref(),
            Some(stream::prelude(status, headers, cookies)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::UNIX_EPOCH;

    #[test]
    fn remaining_time_counts_down_to_zero() {
        let mut context = Context::default();
        assert_eq!(context.remaining(), None);
        context.deadline = Some(SystemTime::now() + Duration::from_secs(60));
        let left = context.remaining().unwrap();
        assert!(left > Duration::from_secs(50) && left <= Duration::from_secs(60));
        context.deadline = Some(UNIX_EPOCH);
        assert_eq!(context.remaining(), Some(Duration::ZERO));
    }

    #[test]
    fn a_context_made_in_a_test_streams_nowhere() {
        let error = Context::default().stream().write(b"x").unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::NotConnected);
    }
}
