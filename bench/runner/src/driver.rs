//! The Runtime API side of every measurement, on the in-repo fake API
//! (`tests/fake-api`): serve `n` invocations of one small JSON event with every
//! `Lambda-Runtime-*` header, then answer `/next` with 500, on which a correct
//! runtime exits. For a runtime with several workers (Lambda Managed
//! Instances) the script instead makes `/next` polls wait, so that the runner
//! can see every worker polling before it hands out the invocations and end
//! the run once all are answered. This module scripts it and sums up what it
//! recorded.

use fake_api::{Invocation, Request, Route, Script, Server};
use std::io;
use std::time::{Duration, Instant};

/// The small JSON event every invocation carries.
pub const EVENT: &str = r#"{"name":"Ada"}"#;

/// A request id of constant length, so that every invocation costs the same.
pub fn request_id(k: usize) -> String {
    format!("8476a536-e9f4-11e8-9739-{k:012x}")
}

/// Invocation `k`: the fake API's Lambda headers (request id, deadline, ARN,
/// trace id, content type) plus the optional ones, with values the official
/// runtime parses (it deserializes the JSON ones).
pub fn invocation(k: usize) -> Invocation {
    invocation_of(k, EVENT)
}

/// Invocation `k` (headers as [`invocation`]) carrying `event`.
pub fn invocation_of(k: usize, event: &str) -> Invocation {
    Invocation::new(&request_id(k), event)
        // Fixed, far ahead: every invocation parses the same digits.
        .header("Lambda-Runtime-Deadline-Ms", "4102444800000")
        .header(
            "Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:us-east-1:123456789012:function:bench",
        )
        .header(
            "Lambda-Runtime-Trace-Id",
            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
        )
        .header(
            "Lambda-Runtime-Client-Context",
            concat!(
                r#"{"client":{"installation_id":"bench","app_title":"bench","#,
                r#""app_version_name":"1","app_version_code":"1","app_package_name":"bench"},"#,
                r#""custom":{},"env":{}}"#
            ),
        )
        .header(
            "Lambda-Runtime-Cognito-Identity",
            r#"{"cognitoIdentityId":"us-east-1:bench","cognitoIdentityPoolId":"us-east-1:pool"}"#,
        )
        .header("Lambda-Runtime-Aws-Tenant-Id", "tenant-bench")
        .header(
            "Lambda-Runtime-Invocation-Id",
            &format!("00000000-0000-4000-8000-{k:012x}"),
        )
}

/// A server that serves `n` invocations, then answers `/next` with 500.
pub fn serve(n: usize) -> io::Result<Server> {
    Server::start((0..n).fold(Script::new(), |s, k| s.then(invocation(k))))
}

/// About 5 MB of JSON (Lambda takes up to 6 MB): a name and some 100,000
/// small objects, so that a runtime which parses it builds a large tree of
/// small allocations.
pub fn big_event() -> String {
    let mut event = String::from(r#"{"name":"Ada","items":["#);
    let mut k = 0;
    while event.len() < 5_000_000 {
        if k > 0 {
            event.push(',');
        }
        event.push_str(&format!(r#"{{"id":{k},"sku":"item-{k:06}","tags":["a","b"]}}"#));
        k += 1;
    }
    event.push_str("]}");
    event
}

/// How long each invocation of the concurrency check sleeps in the handler.
pub const SLEEP_MS: u64 = 100;

/// The event of the concurrency check: the handler sleeps [`SLEEP_MS`], so N
/// of them take about that long on N workers, and N times it on one.
pub fn sleep_event() -> String {
    format!(r#"{{"sleep_ms":{SLEEP_MS}}}"#)
}

/// A server with nothing queued whose `/next` polls wait: invocations are
/// pushed once the runtime's workers poll, and [`Server::finish`] ends it.
pub fn serve_waiting() -> io::Result<Server> {
    Server::start(Script::new().wait_when_empty())
}

/// Like [`serve`], but the first invocation carries [`big_event`].
pub fn serve_big_first(n: usize) -> io::Result<Server> {
    let first = Invocation::new(&request_id(0), big_event());
    Server::start((1..n).fold(Script::new().then(first), |s, k| s.then(invocation(k))))
}

/// What a run's requests add up to.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Arrival of the first `GET /next`.
    pub first_next: Option<Instant>,
    /// Arrival of the first `GET /next` answered with 500 (not an invocation).
    pub end_next: Option<Instant>,
    /// `GET /next` answered with an invocation.
    pub served: usize,
    /// `GET /next` after the first 500: a runtime that does not stop.
    pub nexts_after_end: usize,
    /// `POST /response` for a served id.
    pub responses: usize,
    /// `POST /error`, `/init/error`, posts for unknown ids, other requests.
    pub errors: usize,
    pub others: usize,
    /// Served ids not answered exactly once.
    pub unanswered: usize,
    /// Most invocations served and not yet answered at any moment, in the
    /// order the API decided its answers.
    pub max_in_flight: usize,
    /// Arrival of the last `/response` or `/error` for an invocation.
    pub last_answer: Option<Instant>,
    pub connections: usize,
    pub first_response: Option<Vec<u8>>,
}

pub fn tally(requests: &[Request]) -> Tally {
    let mut t = Tally::default();
    let mut ids: Vec<&str> = Vec::new();
    let mut answers: Vec<&str> = Vec::new();
    let mut in_flight = 0usize;
    for r in requests {
        t.connections = t.connections.max(r.conn + 1);
        match r.route() {
            Route::Next => match &r.served {
                Some(id) => {
                    t.first_next.get_or_insert(r.at);
                    t.served += 1;
                    ids.push(id);
                    in_flight += 1;
                    t.max_in_flight = t.max_in_flight.max(in_flight);
                }
                None if t.end_next.is_none() => {
                    t.first_next.get_or_insert(r.at);
                    t.end_next = Some(r.at);
                }
                None => t.nexts_after_end += 1,
            },
            Route::Response(id) => {
                t.responses += 1;
                answers.push(id);
                if t.first_response.is_none() {
                    t.first_response = Some(r.body.clone());
                }
                in_flight = in_flight.saturating_sub(1);
                t.last_answer = Some(r.at);
            }
            Route::Error(_) => {
                t.errors += 1;
                in_flight = in_flight.saturating_sub(1);
                t.last_answer = Some(r.at);
            }
            Route::InitError => t.errors += 1,
            // No runtime benchmarked here registers an extension.
            Route::ExtensionRegister | Route::ExtensionNext | Route::Other => t.others += 1,
        }
    }
    ids.sort_unstable();
    answers.sort_unstable();
    t.unanswered = if ids == answers {
        0
    } else {
        ids.len().abs_diff(answers.len()).max(1)
    };
    t
}

/// Waits until the API has answered `/next` with 500 (the end of the script).
pub fn wait_end(server: &Server, n: usize, timeout: Duration) -> bool {
    // A correct runtime makes 2n + 1 requests; stop waiting at the 500 either way.
    let deadline = Instant::now() + timeout;
    let mut want = 2 * n + 1;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let requests = server.wait_for_requests(want, left);
        if tally(&requests).end_next.is_some() {
            return true;
        }
        if left.is_zero() {
            return false;
        }
        want = requests.len() + 1;
    }
}

/// Waits until `n` invocations were answered (a `/response` or `/error` each),
/// for a server whose polls wait ([`serve_waiting`]); returns the tally then,
/// or at the timeout.
pub fn wait_answered(server: &Server, n: usize, timeout: Duration) -> Tally {
    // A correct runtime has made 2n requests by then (a poll is recorded
    // when it is answered, not while it waits).
    let deadline = Instant::now() + timeout;
    let mut want = 2 * n;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let requests = server.wait_for_requests(want, left);
        let t = tally(&requests);
        if t.responses + t.errors >= n || left.is_zero() {
            return t;
        }
        want = requests.len() + 1;
    }
}
