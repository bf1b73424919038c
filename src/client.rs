//! The Lambda Runtime API client: the calls the API offers, over one
//! keep-alive connection per worker.
//!
//! The loop ([`crate::run`]) and the function never see a URL, a status
//! code or a header: what the API's answers mean is decided here and in
//! [`crate::headers`] and [`crate::status`]; the bytes travel through
//! [`crate::transport`] (and, for a streamed answer, [`crate::stream`]).

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ureq::Agent;
use ureq::config::AutoHeaderValue;
use ureq::http::{Response, Uri};

use crate::address::{self, FixedAddress};
use crate::fatal::Fatal;
use crate::headers;
use crate::lend::Lender;
use crate::status;
use crate::stream::Outlet;
use crate::transport::{Loopback, MAX_HEAD_BYTES, OversizedHead};
use crate::xray;
use crate::{Context, Error};

/// Lambda's synchronous payload limit: 6 MiB plus 100 bytes, the exact
/// figure AWS's emulator enforces. An event this size is read whole.
pub const MAX_EVENT_BYTES: u64 = 6 * 1024 * 1024 + 100;

/// The API's error bodies are a line of JSON; anything bigger is not worth
/// reading, only draining.
const MAX_STATUS_BODY_BYTES: u64 = 64 * 1024;

/// One invocation, from the head of `/next`'s answer on: its context, and
/// the body with its event, still to be read.
pub struct Invocation {
    /// The invocation's headers, and the outlet for a streamed answer.
    pub context: Context,
    /// The event's bytes, to be read with [`Body::read`].
    pub body: Body,
}

/// The body of `/next`'s answer, before it is read.
pub enum Body {
    /// The answer whose body is the event.
    Unread(Response<ureq::Body>),
    /// No event to read: this error answers the invocation (its head was
    /// too large).
    Unreadable(Error),
}

impl Body {
    /// Reads the event: its bytes, or the error that answers the invocation
    /// when they can't be had (over [`MAX_EVENT_BYTES`]).
    pub fn read(self) -> Result<Result<Vec<u8>, Error>, Fatal> {
        let mut response = match self {
            Body::Unread(response) => response,
            Body::Unreadable(error) => return Ok(Err(error)),
        };
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_EVENT_BYTES)
            .read_to_vec();
        match body {
            Ok(bytes) => Ok(Ok(bytes)),
            Err(ureq::Error::BodyExceedsLimit(_)) => Ok(Err(Error::new(
                "Runtime.EventTooLarge",
                format!("the event is over {MAX_EVENT_BYTES} bytes"),
            ))),
            Err(source) => Err(Fatal::Transport {
                call: "GET /invocation/next",
                source,
            }),
        }
    }
}

/// A handle on the Runtime API: one keep-alive connection, reused for every
/// call. Cloning shares the connection; [`Client::worker`] makes a client
/// with a connection of its own.
#[derive(Clone)]
pub struct Client {
    agent: Agent,
    /// `http://host:port[/prefix]/2018-06-01/runtime`, ready for a suffix.
    base: String,
    address: SocketAddr,
    /// Parsed once: a `Uri` clone is cheaper than parsing it per request.
    next_uri: Uri,
    oversized: Arc<OversizedHead>,
    /// Where a streamed answer goes, put in each invocation's context.
    outlet: Arc<Outlet>,
}

impl Client {
    /// A client for the API named by `AWS_LAMBDA_RUNTIME_API`.
    pub fn from_env() -> Result<Client, Fatal> {
        let address = std::env::var(address::VARIABLE).map_err(|_| Fatal::MissingAddress)?;
        Client::new(&address)
    }

    /// A client for `address`, in either form the API's address comes in.
    /// Opens no connection yet: that happens on the first call.
    pub fn new(address: &str) -> Result<Client, Fatal> {
        let bad = || Fatal::BadAddress(address.to_owned());
        let url = address::base_url(address).ok_or_else(bad)?;
        let socket_address = address::socket_address(&url).ok_or_else(bad)?;
        let base = url + "/2018-06-01/runtime";
        let next_uri = Uri::try_from(base.clone() + "/invocation/next").map_err(|_| bad())?;
        let after_scheme = &base["http://".len()..];
        let (authority, path) = after_scheme.split_at(after_scheme.find('/').unwrap_or(after_scheme.len()));
        let lender = Arc::<Lender>::default();
        let outlet = Outlet::new(
            Arc::clone(&lender),
            socket_address,
            format!("{path}/invocation/").into(),
            authority.into(),
        );
        Ok(Client::with_parts(base, socket_address, next_uri, lender, outlet))
    }

    /// A client for the same API with a connection of its own.
    pub fn worker(&self) -> Client {
        let lender = Arc::<Lender>::default();
        let outlet = self.outlet.for_lender(Arc::clone(&lender));
        Client::with_parts(
            self.base.clone(),
            self.address,
            self.next_uri.clone(),
            lender,
            outlet,
        )
    }

    /// A client whose connections (none yet) tell `lender` of their
    /// sockets, and whose streamed answers go to `outlet`.
    fn with_parts(
        base: String,
        address: SocketAddr,
        next_uri: Uri,
        lender: Arc<Lender>,
        outlet: Outlet,
    ) -> Client {
        let oversized = Arc::<OversizedHead>::default();
        let loopback = Loopback {
            lender,
            oversized: Arc::clone(&oversized),
        };
        Client {
            agent: agent(address, loopback),
            base,
            address,
            next_uri,
            oversized,
            outlet: Arc::new(outlet),
        }
    }

    /// The URL of an invocation's answer, `{base}/invocation/{id}/{call}`,
    /// in one allocation.
    fn url(&self, id: &str, call: &str) -> String {
        let mut url = String::with_capacity(self.base.len() + id.len() + 22);
        for part in [&self.base, "/invocation/", id, "/", call] {
            url.push_str(part);
        }
        url
    }

    /// Waits for the next invocation (`GET /invocation/next`), for as long
    /// as it takes, and returns it once its head has come.
    pub fn next(&self) -> Result<Invocation, Fatal> {
        const CALL: &str = "GET /invocation/next";
        let response = loop {
            let mut response = match self.agent.get(self.next_uri.clone()).call() {
                Ok(response) => response,
                Err(ureq::Error::LargeResponseHeader(..)) => return self.oversized(CALL),
                Err(source) => return Err(Fatal::Transport { call: CALL, source }),
            };
            match response.status().as_u16() {
                200 => break response,
                // Some emulators say "nothing yet"; ask again, but never spin.
                204 => {
                    drain(&mut response);
                    std::thread::sleep(Duration::from_millis(100));
                }
                status => return Err(Fatal::Status { call: CALL, status }),
            }
        };
        let mut context = headers::context_from(response.headers())?;
        context.serial = self.outlet.begin(&context.request_id);
        context.outlet = Some(Arc::clone(&self.outlet));
        Ok(Invocation {
            context,
            body: Body::Unread(response),
        })
    }

    /// An invocation whose head was over [`MAX_HEAD_BYTES`]: answerable
    /// when its request id was found in what was read.
    fn oversized(&self, call: &'static str) -> Result<Invocation, Fatal> {
        let source = || Fatal::Transport {
            call,
            source: ureq::Error::LargeResponseHeader(MAX_HEAD_BYTES + 1, MAX_HEAD_BYTES),
        };
        let request_id = self.oversized.take_request_id().ok_or_else(source)?;
        if !headers::valid_id(&request_id) {
            return Err(source());
        }
        Ok(Invocation {
            context: Context {
                request_id,
                ..Context::default()
            },
            body: Body::Unreadable(Error::new(
                "Runtime.HeadersTooLarge",
                format!("the invocation's headers are over {MAX_HEAD_BYTES} bytes"),
            )),
        })
    }

    /// Answers an invocation: a stream the function opened is finished;
    /// otherwise the result goes to `/response`, or the error to `/error`.
    /// An answer the API refuses (the invocation timed out, the response is
    /// too large, ...) is logged and the loop goes on.
    pub fn answer(&self, context: &Context, result: Result<Vec<u8>, Error>) -> Result<(), Fatal> {
        const RESPONSE: &str = "POST /invocation/<id>/response";
        const ERROR: &str = "POST /invocation/<id>/error";
        let streamed = context
            .outlet
            .as_ref()
            .and_then(|outlet| outlet.finish(context.serial, result.as_ref().err()));
        if let Some(streamed) = streamed {
            return status::settle(RESPONSE, streamed.map_err(Fatal::Stream)?);
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
            request = request
                .header("Lambda-Runtime-Function-Error-Type", &*error.header_type())
                .header(
                    "Lambda-Runtime-Function-XRay-Error-Cause",
                    &xray::error_cause(error),
                );
        }
        let mut response = request.send(body).map_err(transport(call))?;
        drain(&mut response);
        status::settle(call, response.status().as_u16())
    }

    /// Reports a failed start-up (`POST /runtime/init/error`). Lambda shows
    /// it to the first caller; the process must exit after it.
    pub fn init_error(&self, error: &Error) -> Result<(), Fatal> {
        const CALL: &str = "POST /runtime/init/error";
        let mut response = self
            .agent
            .post(&format!("{}/init/error", self.base))
            .content_type("application/json")
            .header("Lambda-Runtime-Function-Error-Type", &*error.header_type())
            .send(&error.to_json()[..])
            .map_err(transport(CALL))?;
        drain(&mut response);
        status::settle(CALL, response.status().as_u16())
    }
}

/// The Extensions API (`2020-01-01`), beside the Runtime API at the same
/// address: what the `shutdown` feature registers its extension with.
#[cfg(feature = "shutdown")]
impl Client {
    /// `http://host:port[/prefix]/2020-01-01/extension/{call}`.
    fn extension_url(&self, call: &str) -> String {
        let root = self
            .base
            .strip_suffix("/2018-06-01/runtime")
            .unwrap_or(&self.base);
        format!("{root}/2020-01-01/extension/{call}")
    }

    /// Registers an internal extension named `name`, for no events
    /// (`POST /2020-01-01/extension/register`), and returns its identifier;
    /// or why it could not (the function serves on either way).
    pub fn register_extension(&self, name: &str) -> Result<String, String> {
        const CALL: &str = "POST /2020-01-01/extension/register";
        let mut response = self
            .agent
            .post(&self.extension_url("register"))
            .header("Lambda-Extension-Name", name)
            .content_type("application/json")
            .send(&br#"{"events":[]}"#[..])
            .map_err(|error| format!("{CALL} failed: {error}"))?;
        drain(&mut response);
        let status = response.status().as_u16();
        if !(200..=299).contains(&status) {
            return Err(format!("{CALL} answered {status}"));
        }
        // It goes back into a header: letters, digits and `-` only.
        let id = response.headers().get("lambda-extension-identifier");
        let id = id.and_then(|id| id.to_str().ok()).unwrap_or_default();
        if !headers::valid_id(id) {
            return Err(format!(
                "{CALL} gave identifier {id:?}, which is not letters, digits and '-'"
            ));
        }
        Ok(id.to_owned())
    }

    /// Asks for extension `id`'s next event
    /// (`GET /2020-01-01/extension/event/next`) and waits for as long as it
    /// takes: for an extension of no events, for good. Asking ends the
    /// extension's init. `Err` when the API answered otherwise or went away.
    pub fn next_extension_event(&self, id: &str) -> Result<(), ()> {
        let mut response = self
            .agent
            .get(&self.extension_url("event/next"))
            .header("Lambda-Extension-Identifier", id)
            .call()
            .map_err(drop)?;
        drain(&mut response);
        if response.status().is_success() {
            Ok(())
        } else {
            Err(())
        }
    }
}

fn agent(address: SocketAddr, loopback: Loopback) -> Agent {
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
        // The API ignores these headers (docs/design.md, "Instructions").
        .user_agent(AutoHeaderValue::None)
        .accept(AutoHeaderValue::None)
        .accept_encoding(AutoHeaderValue::None)
        .build();
    Agent::with_parts(config, loopback, FixedAddress::new(address))
}

/// Reads what is left of a body so the connection goes back to the pool.
/// A failure here only costs the connection: the next call opens another.
fn drain(response: &mut Response<ureq::Body>) {
    // ureq has already pooled the connection of an empty body: nothing to
    // read, and its reader layers are skipped (docs/design.md, "Instructions").
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
    // A small buffer, not `io::copy`'s 8 KiB: it sits on every worker's
    // stack, for bodies of a few dozen bytes.
    let mut buffer = [0; 256];
    while matches!(reader.read(&mut buffer), Ok(1..)) {}
}

fn transport(call: &'static str) -> impl FnOnce(ureq::Error) -> Fatal {
    move |source| Fatal::Transport { call, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_the_path_prefix() {
        let client = Client::new("http://127.0.0.1:9000/.rt").unwrap();
        assert_eq!(
            client.next_uri.to_string(),
            "http://127.0.0.1:9000/.rt/2018-06-01/runtime/invocation/next"
        );
        assert_eq!(
            client.url("id-1", "response"),
            "http://127.0.0.1:9000/.rt/2018-06-01/runtime/invocation/id-1/response"
        );
        assert_eq!(
            client.outlet.answer_path("id-1"),
            "/.rt/2018-06-01/runtime/invocation/id-1/response"
        );
        assert_eq!(client.outlet.authority(), "127.0.0.1:9000");
        let plain = Client::new("127.0.0.1:9001").unwrap();
        assert_eq!(
            plain.url("id-1", "error"),
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/id-1/error"
        );
        assert_eq!(
            plain.worker().outlet.answer_path("id-1"),
            "/2018-06-01/runtime/invocation/id-1/response"
        );
        assert_eq!(plain.outlet.authority(), "127.0.0.1:9001");
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
            assert!(matches!(error, Fatal::BadAddress(_)), "{address:?}: {error}");
            assert!(error.to_string().contains(address::VARIABLE), "{error}");
        }
    }
}
