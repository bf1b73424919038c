//! The Lambda Runtime API client: where the API lives, the calls it offers,
//! and what each of its answers means for the loop.
//!
//! Everything that touches HTTP is here (and, for the one request ureq
//! can't send, in `stream`), so the loop in `main.rs` and the function never
//! see a URL, a status code or a header.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use ureq::Agent;
use ureq::config::AutoHeaderValue;
use ureq::http::{HeaderMap, HeaderValue, Response, Uri};

use crate::function::{self, Context};
use crate::stream;
use crate::transport::{self, FixedAddress, Loopback, MAX_HEAD_BYTES, Shared};

/// The environment variable that holds the API's address.
pub const ADDRESS_VARIABLE: &str = "AWS_LAMBDA_RUNTIME_API";

/// Lambda's synchronous payload limit: 6 MiB plus 100 bytes, the exact
/// figure AWS's emulator enforces. An event this size is read whole.
pub const MAX_EVENT_BYTES: u64 = 6 * 1024 * 1024 + 100;

/// The API's error bodies are a line of JSON; anything bigger is not worth
/// reading, only draining.
const MAX_STATUS_BODY_BYTES: u64 = 64 * 1024;

/// One event to handle. The event is an error when the runtime could not
/// read it (too large); that error is the invocation's answer.
pub struct Invocation {
    pub context: Context,
    pub event: Result<Vec<u8>, function::Error>,
}

/// Why the runtime cannot go on. Each of these ends the process: Lambda
/// then answers any open invocation with `Runtime.ExitError` and starts a
/// fresh sandbox.
#[derive(Debug)]
pub enum Error {
    /// `AWS_LAMBDA_RUNTIME_API` is not set: there is no API to talk to.
    MissingAddress,
    /// `AWS_LAMBDA_RUNTIME_API` is set but is not an address we can use.
    BadAddress(String),
    /// The connection failed, dropped, or carried something that isn't HTTP.
    Transport { call: &'static str, source: ureq::Error },
    /// A streamed answer could not be sent, or got no answer.
    Stream(io::Error),
    /// The worker threads of Lambda Managed Instances could not start.
    Workers(io::Error),
    /// The API answered with a status the runtime can't go on from: 403 on
    /// `/next`, any 5xx, or anything the contract doesn't name.
    Status { call: &'static str, status: u16 },
    /// `/next` gave an invocation without a request id.
    MissingRequestId,
    /// `/next` gave a request id that must not go into a URL.
    BadRequestId(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MissingAddress => write!(
                f,
                "{ADDRESS_VARIABLE} is not set: run me inside Lambda or next to a Runtime API emulator"
            ),
            Error::BadAddress(address) => write!(
                f,
                "{ADDRESS_VARIABLE} is {address:?}: expected ip:port or http://ip:port/prefix (the host an IP address or localhost)"
            ),
            Error::Transport { call, source } => write!(f, "{call} failed: {source}"),
            Error::Stream(source) => write!(f, "POST /invocation/<id>/response (streamed) failed: {source}"),
            Error::Workers(source) => write!(f, "could not start the worker threads: {source}"),
            Error::Status { call, status } => {
                write!(
                    f,
                    "{call} answered {status}: the runtime can't go on (Lambda starts a new one)"
                )
            }
            Error::MissingRequestId => {
                f.write_str("GET /next gave an invocation without Lambda-Runtime-Aws-Request-Id")
            }
            Error::BadRequestId(id) => write!(
                f,
                "GET /next gave request id {id:?}, which is not letters, digits and '-': it can't be answered"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// A handle on the Runtime API: one keep-alive connection, reused for every
/// call. Cloning shares the connection; [`Client::worker`] makes a client
/// with a connection of its own.
#[derive(Clone)]
pub struct Client {
    agent: Agent,
    /// `http://host:port[/prefix]/2018-06-01/runtime`, ready for a suffix.
    base: String,
    /// Where the path starts in `base`.
    path_at: usize,
    address: SocketAddr,
    /// Parsed once: a `Uri` clone is cheaper than parsing it per request.
    next_uri: Uri,
    shared: Arc<Shared>,
}

thread_local! {
    /// The client of the worker on this thread, for the panic hook and
    /// streams, which run where no client is passed.
    static THREAD_CLIENT: RefCell<Option<Client>> = const { RefCell::new(None) };
}

impl Client {
    /// A client for the API named by `AWS_LAMBDA_RUNTIME_API`.
    pub fn from_env() -> Result<Client, Error> {
        let address = std::env::var(ADDRESS_VARIABLE).map_err(|_| Error::MissingAddress)?;
        Client::new(&address)
    }

    /// A client for `address`, in either form the API's address comes in.
    /// Opens no connection yet: that happens on the first call.
    pub fn new(address: &str) -> Result<Client, Error> {
        let bad = || Error::BadAddress(address.to_owned());
        let url = base_url(address)?;
        let socket_address = transport::socket_address(&url).ok_or_else(bad)?;
        let base = url + "/2018-06-01/runtime";
        let path_at = base["http://".len()..]
            .find('/')
            .map_or(base.len(), |at| at + "http://".len());
        let next_uri = Uri::try_from(base.clone() + "/invocation/next").map_err(|_| bad())?;
        let shared = Arc::<Shared>::default();
        Ok(Client {
            agent: agent(socket_address, Arc::clone(&shared)),
            base,
            path_at,
            address: socket_address,
            next_uri,
            shared,
        })
    }

    /// A client for the same API with a connection of its own.
    pub fn worker(&self) -> Client {
        let shared = Arc::<Shared>::default();
        Client {
            agent: agent(self.address, Arc::clone(&shared)),
            shared,
            ..self.clone()
        }
    }

    /// Makes this the client that the panic hook and streams use on this thread.
    pub fn bind_thread(&self) {
        THREAD_CLIENT.with(|slot| *slot.borrow_mut() = Some(self.clone()));
    }

    /// Runs `f` with this thread's client (see [`Client::bind_thread`]).
    pub fn with_thread<T>(f: impl FnOnce(&Client) -> T) -> io::Result<T> {
        THREAD_CLIENT.with(|slot| match slot.try_borrow().as_deref() {
            Ok(Some(client)) => Ok(f(client)),
            _ => Err(io::Error::other("no Runtime API client on this thread")),
        })
    }

    /// `host:port`, for a `Host` header.
    pub fn authority(&self) -> &str {
        &self.base["http://".len()..self.path_at]
    }

    /// The URL of an invocation's answer, `{base}/invocation/{id}/{call}`,
    /// in one allocation (built by hand: `format!` costs more).
    fn url(&self, id: &str, call: &str) -> String {
        let mut url = String::with_capacity(self.base.len() + id.len() + 22);
        for part in [&self.base, "/invocation/", id, "/", call] {
            url.push_str(part);
        }
        url
    }

    /// The path of an invocation's answer, `[/prefix]/2018-06-01/runtime/invocation/{id}/{call}`.
    pub fn path(&self, id: &str, call: &str) -> String {
        self.url(id, call)[self.path_at..].to_owned()
    }

    /// A socket for a streamed answer: this client's connection when it is
    /// idle and open (a probe: streams are rare enough to pay three system
    /// calls), else a new one. The stream closes it when done, so it is
    /// retired at once: ureq opens a new connection for the next call.
    pub fn stream_socket(&self) -> io::Result<TcpStream> {
        match self.shared.socket() {
            Some((id, socket)) if idle_and_open(&socket) => {
                self.shared.retire(id);
                Ok(socket)
            }
            _ => transport::open(self.address),
        }
    }

    /// Waits for the next invocation (`GET /invocation/next`), for as long
    /// as it takes.
    pub fn next(&self) -> Result<Invocation, Error> {
        const CALL: &str = "GET /invocation/next";
        let mut response = loop {
            let mut response = match self.agent.get(self.next_uri.clone()).call() {
                Ok(response) => response,
                Err(ureq::Error::LargeResponseHeader(..)) => return self.oversized(CALL),
                Err(source) => return Err(Error::Transport { call: CALL, source }),
            };
            match response.status().as_u16() {
                200 => break response,
                // Some emulators say "nothing yet"; ask again, but never spin.
                204 => {
                    drain(&mut response);
                    std::thread::sleep(Duration::from_millis(100));
                }
                status => return Err(Error::Status { call: CALL, status }),
            }
        };
        let context = context_from(response.headers())?;
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_EVENT_BYTES)
            .read_to_vec();
        let event = match body {
            Ok(bytes) => Ok(bytes),
            Err(ureq::Error::BodyExceedsLimit(_)) => Err(function::Error::new(
                "Runtime.EventTooLarge",
                format!("the event is over {MAX_EVENT_BYTES} bytes"),
            )),
            Err(source) => return Err(Error::Transport { call: CALL, source }),
        };
        Ok(Invocation { context, event })
    }

    /// An invocation whose head was over [`MAX_HEAD_BYTES`]: answerable
    /// when its request id was found in what was read.
    fn oversized(&self, call: &'static str) -> Result<Invocation, Error> {
        let source = || Error::Transport {
            call,
            source: ureq::Error::LargeResponseHeader(MAX_HEAD_BYTES + 1, MAX_HEAD_BYTES),
        };
        let request_id = self.shared.take_oversized_request_id().ok_or_else(source)?;
        if !valid_request_id(&request_id) {
            return Err(source());
        }
        Ok(Invocation {
            context: Context {
                request_id,
                ..Context::default()
            },
            event: Err(function::Error::new(
                "Runtime.HeadersTooLarge",
                format!("the invocation's headers are over {MAX_HEAD_BYTES} bytes"),
            )),
        })
    }

    /// Answers an invocation: a stream the function opened is ended;
    /// otherwise the result goes to `/response`, or the error to `/error`.
    /// An answer the API refuses (the invocation timed out, the response is
    /// too large, ...) is logged and the loop goes on.
    pub fn answer(&self, context: &Context, result: Result<Vec<u8>, function::Error>) -> Result<(), Error> {
        const RESPONSE: &str = "POST /invocation/<id>/response";
        const ERROR: &str = "POST /invocation/<id>/error";
        if let Some(streamed) = stream::finish(result.as_ref().err()) {
            let status = streamed.map_err(Error::Stream)?;
            return self.settle(RESPONSE, status);
        }
        let error_json;
        let (call, path, body, error_type) = match &result {
            Ok(body) => (RESPONSE, "response", &body[..], None),
            Err(error) => {
                error_json = error.to_json();
                (ERROR, "error", &error_json[..], Some(error))
            }
        };
        let mut request = self.agent.post(&self.url(&context.request_id, path));
        if let Some(invocation_id) = &context.invocation_id {
            request = request.header("Lambda-Runtime-Invocation-Id", invocation_id);
        }
        if let Some(error) = error_type {
            request = request.header("Lambda-Runtime-Function-Error-Type", &*error.error_type());
        }
        let mut response = request.send(body).map_err(transport(call))?;
        drain(&mut response);
        self.settle(call, response.status().as_u16())
    }

    fn settle(&self, call: &'static str, status: u16) -> Result<(), Error> {
        match settle(call, status)? {
            Settled::Accepted => {}
            Settled::Refused(status) => crate::warn!("{}", refusal(call, status)),
        }
        Ok(())
    }

    /// Reports a failed start-up (`POST /runtime/init/error`). Lambda shows
    /// it to the first caller; the process must exit after it.
    pub fn init_error(&self, error: &function::Error) -> Result<(), Error> {
        const CALL: &str = "POST /runtime/init/error";
        let mut response = self
            .agent
            .post(&format!("{}/init/error", self.base))
            .content_type("application/json")
            .header("Lambda-Runtime-Function-Error-Type", &*error.error_type())
            .send(&error.to_json()[..])
            .map_err(transport(CALL))?;
        drain(&mut response);
        settle(CALL, response.status().as_u16()).map(drop)
    }
}

fn agent(address: SocketAddr, shared: Arc<Shared>) -> Agent {
    let config = Agent::config_builder()
        // Statuses are answers to act on, not errors.
        .http_status_as_error(false)
        .max_redirects(0)
        // ureq reads HTTP(S)_PROXY and ALL_PROXY from the environment; a
        // function may set them for its own calls, never for the API.
        .proxy(None)
        // `/next` is a long poll and the sandbox may be frozen inside
        // it for hours: no timeout may ever fire on it.
        .timeout_global(None)
        // Keep the connection however long the handler takes (Lambda
        // allows 15 minutes); ureq would drop it after 15 seconds idle.
        .max_idle_age(Duration::from_secs(24 * 60 * 60))
        .max_idle_connections(1)
        .max_idle_connections_per_host(1)
        .max_response_header_size(MAX_HEAD_BYTES)
        // Headers the API ignores cost instructions on every request.
        .user_agent(AutoHeaderValue::None)
        .accept(AutoHeaderValue::None)
        .accept_encoding(AutoHeaderValue::None)
        .build();
    Agent::with_parts(config, Loopback { shared }, FixedAddress::new(address))
}

/// Whether an idle socket is still open: nothing to read yet, and no end
/// of stream. Three system calls: used only before a stream.
fn idle_and_open(socket: &TcpStream) -> bool {
    if socket.set_nonblocking(true).is_err() {
        return false;
    }
    let open = matches!(socket.peek(&mut [0]), Err(error) if error.kind() == io::ErrorKind::WouldBlock);
    socket.set_nonblocking(false).is_ok() && open
}

/// What a post's status means, short of stopping the process.
#[derive(Debug, PartialEq, Eq)]
enum Settled {
    Accepted,
    /// 4xx: the API refused this answer but the sandbox is fine.
    Refused(u16),
}

fn settle(call: &'static str, status: u16) -> Result<Settled, Error> {
    match status {
        // 202 from Lambda and AWS's emulator, 200 from cargo-lambda.
        200..=299 => Ok(Settled::Accepted),
        status @ 400..=499 => Ok(Settled::Refused(status)),
        status => Err(Error::Status { call, status }),
    }
}

/// The log line for an answer the API refused.
fn refusal(call: &str, status: u16) -> String {
    let why = match status {
        410 => "the invocation already timed out",
        413 => {
            "the response is over Lambda's limit; Lambda answered the caller with Function.ResponseSizeTooLarge"
        }
        _ => "the API refused this answer",
    };
    format!("{call} answered {status}: {why}")
}

/// Reads what is left of a body so the connection goes back to the pool.
/// A failure here only costs the connection: the next call opens another.
fn drain(response: &mut Response<ureq::Body>) {
    // ureq has already pooled the connection of an empty body; skipping its
    // reader layers saves a few thousand instructions an invocation.
    if response
        .headers()
        .get("content-length")
        .is_some_and(|length| length == "0")
    {
        return;
    }
    let mut reader = response
        .body_mut()
        .with_config()
        .limit(MAX_STATUS_BODY_BYTES)
        .reader();
    // Not `io::copy`: its 8 KiB buffer would sit on every worker's stack
    // (resident once touched), for bodies of a few dozen bytes.
    let mut buffer = [0; 256];
    while matches!(reader.read(&mut buffer), Ok(1..)) {}
}

fn transport(call: &'static str) -> impl FnOnce(ureq::Error) -> Error {
    move |source| Error::Transport { call, source }
}

/// Turns either form of `AWS_LAMBDA_RUNTIME_API` into a base URL without a
/// trailing slash: `host:port` (real Lambda) gets `http://`, a full URL
/// (`cargo lambda watch`: `http://127.0.0.1:9000/.rt`) keeps its path.
fn base_url(address: &str) -> Result<String, Error> {
    let bad = || Error::BadAddress(address.to_owned());
    let address = address.trim();
    if address.is_empty() || address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    // Char patterns, not "://": a string pattern costs a 4 KB searcher.
    let scheme = address
        .split_once(':')
        .and_then(|(scheme, rest)| rest.strip_prefix("//").map(|rest| (scheme, rest)));
    let url = match scheme {
        // No TLS on loopback: https would fail later with a worse message.
        Some(("http", rest)) if !rest.is_empty() => address.to_owned(),
        Some(_) => return Err(bad()),
        None => format!("http://{address}"),
    };
    Ok(url.trim_end_matches('/').to_owned())
}

/// Whether a request id may go into a URL path: AWS's ids are UUIDs, so
/// letters, digits and `-` are all an honest id needs. Anything else (`/`,
/// `..`, `%`, `?`, spaces) could steer the answer to another endpoint.
pub fn valid_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A header's value as text, when it is visible ASCII. `HeaderValue` has
/// already refused control bytes (tab aside), so what is left to check is
/// that every byte is ASCII: `is_ascii` does that a word at a time, where
/// `HeaderValue::to_str` tests each byte and cost 5,000 instructions an
/// invocation.
fn text(value: &HeaderValue) -> Option<&str> {
    if value.as_bytes().is_ascii() {
        std::str::from_utf8(value.as_bytes()).ok()
    } else {
        None
    }
}

/// Reads the `/next` answer's headers. A header that is absent or not
/// visible ASCII counts as absent; only the request id is required.
pub fn context_from(headers: &HeaderMap) -> Result<Context, Error> {
    let mut context = Context::default();
    let mut request_id = None;
    // One pass over the headers: cheaper than a hashed lookup per name.
    for (name, value) in headers {
        let field = match name.as_str() {
            "lambda-runtime-aws-request-id" => {
                request_id = Some(value);
                continue;
            }
            "lambda-runtime-deadline-ms" => {
                context.deadline = text(value)
                    .and_then(|ms| ms.trim().parse().ok())
                    // `cargo lambda watch` sends a constant 600000: a
                    // duration, not a time. No real deadline is before 2001.
                    .filter(|&ms| ms >= 1_000_000_000_000)
                    .and_then(function::deadline_from_ms);
                continue;
            }
            "lambda-runtime-invoked-function-arn" => &mut context.invoked_function_arn,
            "lambda-runtime-trace-id" => &mut context.trace_id,
            "lambda-runtime-client-context" => &mut context.client_context,
            "lambda-runtime-cognito-identity" => &mut context.cognito_identity,
            "lambda-runtime-aws-tenant-id" => &mut context.tenant_id,
            "lambda-runtime-invocation-id" => &mut context.invocation_id,
            _ => continue,
        };
        *field = text(value).map(str::to_owned);
    }
    context.request_id = match request_id.map(text) {
        None => return Err(Error::MissingRequestId),
        Some(Some(id)) if valid_request_id(id) => id.to_owned(),
        Some(_) => {
            let value = request_id.map_or(&[][..], |value| value.as_bytes());
            return Err(Error::BadRequestId(String::from_utf8_lossy(value).into_owned()));
        }
    };
    Ok(context)
}

/// X-Ray's SDKs read the trace header from `_X_AMZN_TRACE_ID`; it must
/// describe this invocation, never the one before.
pub fn set_trace_variable(trace_id: Option<&str>) {
    const NAME: &str = "_X_AMZN_TRACE_ID";
    // SAFETY: called only in Lambda's classic mode, between invocations, on
    // the thread that serves them, when no function code runs (under
    // Managed Instances it is never set). std's own readers take the same
    // lock as this write; what remains unsound is C code on another thread
    // of the function's reading the environment (`getenv`, `localtime`) at
    // that moment, which README warns about.
    unsafe {
        match trace_id {
            Some(id) => std::env::set_var(NAME, id),
            None => std::env::remove_var(NAME),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_gets_a_scheme() {
        assert_eq!(base_url("127.0.0.1:9001").unwrap(), "http://127.0.0.1:9001");
        assert_eq!(base_url(" localhost:9001/ ").unwrap(), "http://localhost:9001");
    }

    #[test]
    fn url_form_keeps_its_path_prefix() {
        assert_eq!(
            base_url("http://127.0.0.1:9000/.rt").unwrap(),
            "http://127.0.0.1:9000/.rt"
        );
        assert_eq!(
            base_url("http://[::]:9000/.rt/fn/").unwrap(),
            "http://[::]:9000/.rt/fn"
        );
        let client = Client::new("http://127.0.0.1:9000/.rt").unwrap();
        assert_eq!(
            client.next_uri.to_string(),
            "http://127.0.0.1:9000/.rt/2018-06-01/runtime/invocation/next"
        );
        assert_eq!(client.authority(), "127.0.0.1:9000");
        assert_eq!(
            client.path("id-1", "response"),
            "/.rt/2018-06-01/runtime/invocation/id-1/response"
        );
        let plain = Client::new("127.0.0.1:9001").unwrap();
        assert_eq!(plain.authority(), "127.0.0.1:9001");
        assert_eq!(
            plain.path("id-1", "error"),
            "/2018-06-01/runtime/invocation/id-1/error"
        );
    }

    #[test]
    fn a_port_is_required() {
        for address in [
            "127.0.0.1",
            "http://127.0.0.1/.rt",
            "localhost",
            "[::1]",
            "http://[::1]",
        ] {
            let error = Client::new(address).err().expect(address);
            assert!(matches!(error, Error::BadAddress(_)), "{address:?}: {error}");
        }
    }

    #[test]
    fn unusable_addresses_are_refused() {
        for address in [
            "",
            "   ",
            "https://127.0.0.1:9000",
            "ftp://x",
            "http://",
            "a b:1",
            "host:1\r\nX: y",
        ] {
            let error = base_url(address).unwrap_err();
            assert!(matches!(error, Error::BadAddress(_)), "{address:?}: {error}");
            assert!(error.to_string().contains(ADDRESS_VARIABLE));
        }
    }

    #[test]
    fn request_ids_are_letters_digits_and_dashes() {
        assert!(valid_request_id("8476a536-e9f4-11e8-9739-2dfe598c3fcd"));
        assert!(valid_request_id("abc"));
        let too_long = "a".repeat(129);
        for hostile in [
            "",
            "../x",
            "a/b",
            "a b",
            "a?b",
            "a#b",
            "%2e%2e",
            "a\tb",
            "é",
            ".",
            too_long.as_str(),
        ] {
            assert!(!valid_request_id(hostile), "{hostile:?}");
        }
    }

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn every_header_lands_in_the_context() {
        let context = context_from(&headers(&[
            ("Lambda-Runtime-Aws-Request-Id", b"id-1"),
            ("Lambda-Runtime-Deadline-Ms", b"1700000000123"),
            (
                "Lambda-Runtime-Invoked-Function-Arn",
                b"arn:aws:lambda:us-east-1:1:function:f:live",
            ),
            ("Lambda-Runtime-Trace-Id", b"Root=1-a-b;Parent=c;Sampled=1"),
            ("Lambda-Runtime-Client-Context", b"{\"client\":{}}"),
            (
                "Lambda-Runtime-Cognito-Identity",
                b"{\"cognitoIdentityId\":\"x\"}",
            ),
            ("Lambda-Runtime-Aws-Tenant-Id", b"tenant-7"),
            ("Lambda-Runtime-Invocation-Id", b"inv-9"),
        ]))
        .unwrap();
        assert_eq!(
            context,
            Context {
                request_id: "id-1".into(),
                deadline: function::deadline_from_ms(1_700_000_000_123),
                invoked_function_arn: Some("arn:aws:lambda:us-east-1:1:function:f:live".into()),
                trace_id: Some("Root=1-a-b;Parent=c;Sampled=1".into()),
                client_context: Some("{\"client\":{}}".into()),
                cognito_identity: Some("{\"cognitoIdentityId\":\"x\"}".into()),
                tenant_id: Some("tenant-7".into()),
                invocation_id: Some("inv-9".into()),
            }
        );
    }

    #[test]
    fn optional_headers_may_be_absent_or_odd() {
        let context = context_from(&headers(&[
            ("Lambda-Runtime-Aws-Request-Id", b"id-2"),
            ("Lambda-Runtime-Deadline-Ms", b"600000"),
            ("Lambda-Runtime-Trace-Id", b"caf\xc3\xa9"),
        ]))
        .unwrap();
        assert_eq!(context.deadline, None, "a duration, not a time");
        assert_eq!(context.trace_id, None);
        assert_eq!(context.invocation_id, None);
        for odd in [&b"soon"[..], b"-1", b"1e12", b""] {
            let context = context_from(&headers(&[
                ("Lambda-Runtime-Aws-Request-Id", b"id-3"),
                ("Lambda-Runtime-Deadline-Ms", odd),
            ]))
            .unwrap();
            assert_eq!(context.deadline, None, "{odd:?}");
        }
    }

    #[test]
    fn header_text_is_what_to_str_accepts() {
        // Every byte a HeaderValue may hold, between two letters.
        for byte in 0..=255u8 {
            let Ok(value) = HeaderValue::from_bytes(&[b'a', byte, b'z']) else {
                continue;
            };
            assert_eq!(text(&value), value.to_str().ok(), "byte {byte:#04x}");
        }
    }

    #[test]
    fn request_id_is_required_and_checked() {
        assert!(matches!(
            context_from(&HeaderMap::new()),
            Err(Error::MissingRequestId)
        ));
        for hostile in [&b"../x"[..], b"a b", b"caf\xc3\xa9"] {
            let error = context_from(&headers(&[("Lambda-Runtime-Aws-Request-Id", hostile)])).unwrap_err();
            assert!(matches!(error, Error::BadRequestId(_)), "{error}");
        }
    }

    #[test]
    fn statuses_settle_as_the_contract_says() {
        assert_eq!(settle("POST", 202).unwrap(), Settled::Accepted);
        assert_eq!(settle("POST", 200).unwrap(), Settled::Accepted);
        for refused in [400, 403, 410, 413] {
            assert_eq!(settle("POST", refused).unwrap(), Settled::Refused(refused));
        }
        assert!(matches!(
            settle("POST", 500),
            Err(Error::Status { status: 500, .. })
        ));
        assert!(matches!(
            settle("POST", 302),
            Err(Error::Status { status: 302, .. })
        ));
    }

    #[test]
    fn refusals_say_why() {
        assert!(refusal("POST", 413).contains("Function.ResponseSizeTooLarge"));
        assert!(refusal("POST", 410).contains("timed out"));
        assert!(refusal("POST", 400).contains("refused"));
    }

    #[test]
    fn trace_variable_follows_the_invocation() {
        set_trace_variable(Some("Root=1-x"));
        assert_eq!(std::env::var("_X_AMZN_TRACE_ID").unwrap(), "Root=1-x");
        set_trace_variable(None);
        assert!(std::env::var_os("_X_AMZN_TRACE_ID").is_none());
    }
}
