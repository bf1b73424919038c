//! A fake AWS Lambda Runtime API, for `bootstrap`'s tests and benchmarks.
//!
//! It owns one thing: a loopback HTTP/1.1 server that speaks the Runtime API's
//! routes (version `2018-06-01`), answers them from a [`Script`], and records
//! every request it reads, in order, so that a test can assert the exact
//! conversation a runtime had with it.
//!
//! The script says what each successive `GET .../invocation/next` gets: an
//! [`Invocation`], an error status, raw bytes, or a dropped connection. Posts
//! (`/response`, `/error`, `/init/error`) get `202 Accepted` unless the script
//! overrides them for one request id. Once the script runs out, `/next` gets
//! `500`, which a correct runtime takes as the end: so every scripted run
//! ends, even against a broken runtime, as long as it is bounded in time too
//! ([`wait_child`]).
//!
//! For a runtime that runs several workers at once, a script can instead make
//! `/next` long polls wait, each one a free slot as on Lambda, until the test
//! hands out work with [`Server::push`] or ends the run with
//! [`Server::finish`] ([`Script::wait_when_empty`]).
//!
//! Streamed answers (`Transfer-Encoding: chunked`) are recorded chunk by
//! chunk with arrival times, and a request still being streamed can be seen
//! before it ends ([`Server::in_progress`]).
//!
//! ```no_run
//! use fake_api::{Reply, Script, Server};
//!
//! let server = Server::start(
//!     Script::new()
//!         .invoke("req-1", r#"{"name":"Ada"}"#)
//!         .on_response("req-1", Reply::Status(413)),
//! )
//! .unwrap();
//! // Run a runtime with AWS_LAMBDA_RUNTIME_API=server.addr(), then:
//! for request in server.requests() {
//!     println!("{} {} on connection {}", request.method, request.path, request.conn);
//! }
//! ```
//!
//! Only std: the crate must build wherever the runtime does, and a server
//! this small is easier to trust than a dependency tree. One thread per
//! connection, keep-alive, `TCP_NODELAY`, and each answer written in one call,
//! so that it is not what a benchmark measures.

pub mod client;
mod exact;
mod http;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ExitStatus};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `GET`: the runtime asks for its next event.
pub const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";

/// `POST`: the runtime reports that it failed to initialize.
pub const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";

/// `POST`: the runtime answers invocation `id` with its result.
pub fn response_path(id: &str) -> String {
    format!("/2018-06-01/runtime/invocation/{id}/response")
}

/// `POST`: the runtime reports that invocation `id` failed.
pub fn error_path(id: &str) -> String {
    format!("/2018-06-01/runtime/invocation/{id}/error")
}

/// The `/next` header that carries the invocation's request id.
pub const REQUEST_ID: &str = "Lambda-Runtime-Aws-Request-Id";

/// `POST`: an extension registers (Extensions API, version `2020-01-01`).
pub const EXTENSION_REGISTER_PATH: &str = "/2020-01-01/extension/register";

/// `GET`: an extension asks for its next event.
pub const EXTENSION_NEXT_PATH: &str = "/2020-01-01/extension/event/next";

/// The identifier every registered extension gets, in the
/// `Lambda-Extension-Identifier` header.
pub const EXTENSION_ID: &str = "5e6a1d42-0a1c-4c3e-9f7b-2f0e7c1d9a10";

/// One event, as a `200` answer to `/next`: Runtime API headers and a body.
///
/// Cloning is cheap: clones share the body, so a benchmark can script
/// thousands of invocations of one large event.
#[derive(Clone, Debug)]
pub struct Invocation {
    headers: Vec<(String, String)>,
    body: Arc<[u8]>,
}

impl Invocation {
    /// An event with request id `id` and the headers Lambda sends: a deadline
    /// 15 minutes ahead, a function ARN, a trace id and `Content-Type`.
    pub fn new(id: &str, body: impl AsRef<[u8]>) -> Invocation {
        let deadline = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            + 15 * 60 * 1000;
        let headers = [
            ("Content-Type", "application/json".to_owned()),
            (REQUEST_ID, id.to_owned()),
            ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
            (
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:000000000000:function:fake-api".to_owned(),
            ),
            (
                "Lambda-Runtime-Trace-Id",
                "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0".to_owned(),
            ),
        ];
        Invocation {
            headers: headers.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
            body: body.as_ref().into(),
        }
    }

    /// Sets header `name` (replacing one of any case) to `value`, which is
    /// written as is: spaces and non-ASCII included. For bytes that can't be
    /// in a header value (CR, LF), use [`Reply::Raw`].
    pub fn header(mut self, name: &str, value: &str) -> Invocation {
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(field) => field.1 = value.to_owned(),
            None => self.headers.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// Removes header `name`, e.g. [`REQUEST_ID`] to send an event without one.
    pub fn without_header(mut self, name: &str) -> Invocation {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// The request id this invocation carries, if any.
    pub fn id(&self) -> Option<&str> {
        http::field(&self.headers, REQUEST_ID)
    }

    /// The event body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// `200 OK` with the invocation's headers and body.
    Invocation(Invocation),
    /// This status with a small JSON body: `{"status":"OK"}` for 2xx, an
    /// `{"errorMessage", "errorType"}` object otherwise, as the Runtime API.
    Status(u16),
    /// These bytes written verbatim, then the connection closed: malformed
    /// heads, truncated answers, header values no well-formed answer can carry.
    Raw(Vec<u8>),
    /// The connection closed without a byte of answer.
    Drop,
    /// This status as soon as the request's head is read, before its body;
    /// then the connection is closed with the body left unread (after a
    /// short drain), as Go's `net/http`, which serves the Runtime API,
    /// does when a handler refuses an oversized body.
    Early(u16),
    /// The inner reply (an invocation or a status) exactly as usual, with no
    /// `Connection: close` header, then the connection closed: as a proxy or
    /// emulator that drops keep-alive connections unannounced. Replies that
    /// close the connection anyway are used as they are. See
    /// [`Reply::then_close`].
    Close(Box<Reply>),
    /// The connection closed right after the request's head, without an
    /// answer and without reading a byte of the body: the body stays in the
    /// kernel, so the client sees its connection reset (not a clean end of
    /// stream), as with a server that gives up mid-request. Only when the
    /// head came alone, not behind a pipelined request.
    CloseAfterHead,
    /// For a post: the inner reply to the first post to that path only;
    /// later ones get `202`, as a runtime that sends an answer again must.
    Once(Box<Reply>),
    /// No answer at all: the request is held until its client goes away,
    /// as the Extensions API holds the next-event poll of an extension
    /// registered for no events.
    Hold,
    /// The invocation's head and the first byte of its body at once, the
    /// rest of the body after this pause: a large event still on its way.
    SlowBody(Invocation, Duration),
}

impl Reply {
    /// This reply, then the connection closed: [`Reply::Close`].
    pub fn then_close(self) -> Reply {
        Reply::Close(Box::new(self))
    }

    /// The reply inside any [`Reply::Close`] or [`Reply::Once`].
    fn opened(&self) -> &Reply {
        match self {
            Reply::Close(inner) | Reply::Once(inner) => inner.opened(),
            reply => reply,
        }
    }

    /// Whether it is given before the body is read, which is then left unread.
    fn before_body(&self) -> bool {
        matches!(self.opened(), Reply::Early(_) | Reply::CloseAfterHead)
    }
}

impl From<Invocation> for Reply {
    fn from(invocation: Invocation) -> Reply {
        Reply::Invocation(invocation)
    }
}

/// The server's answers: one per `/next`, in order, and per-path overrides
/// for posts. Built with chained calls; given to [`Server::start`].
#[derive(Clone, Debug, Default)]
pub struct Script {
    next: VecDeque<Reply>,
    posts: HashMap<String, Reply>,
    /// `/next` waits for [`Server::push`] instead of answering `500`.
    wait: bool,
}

impl Script {
    /// An empty script: `/next` answers `500` at once.
    pub fn new() -> Script {
        Script::default()
    }

    /// Once the queued answers run out, a `/next` waits (as a long poll on
    /// Lambda does, each one a free slot) instead of getting `500`: until
    /// [`Server::push`] gives it an answer, in the order the polls arrived,
    /// or [`Server::finish`] makes it `500`. Many polls can wait at once, one
    /// per connection. A waiting poll is not watched: if its client goes
    /// away, it still takes its turn, and the reply it takes is lost.
    pub fn wait_when_empty(mut self) -> Script {
        self.wait = true;
        self
    }

    /// Queues the answer to the next unanswered `/next`.
    pub fn then(mut self, reply: impl Into<Reply>) -> Script {
        self.next.push_back(reply.into());
        self
    }

    /// Queues an [`Invocation::new`] with this id and body.
    pub fn invoke(self, id: &str, body: impl AsRef<[u8]>) -> Script {
        self.then(Invocation::new(id, body))
    }

    /// Answers every `POST` to `/invocation/{id}/response` with `reply`.
    pub fn on_response(self, id: &str, reply: Reply) -> Script {
        self.on_post(response_path(id), reply)
    }

    /// Answers every `POST` to `/invocation/{id}/error` with `reply`.
    pub fn on_error(self, id: &str, reply: Reply) -> Script {
        self.on_post(error_path(id), reply)
    }

    /// Answers every `POST` to `/init/error` with `reply`.
    pub fn on_init_error(self, reply: Reply) -> Script {
        self.on_post(INIT_ERROR_PATH.to_owned(), reply)
    }

    /// Answers an extension's registration with `reply` instead of its
    /// identifier.
    pub fn on_extension_register(self, reply: Reply) -> Script {
        self.on_post(EXTENSION_REGISTER_PATH.to_owned(), reply)
    }

    fn on_post(mut self, path: String, reply: Reply) -> Script {
        self.posts.insert(path, reply);
        self
    }
}

/// Which Runtime API call a request is, by method and path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// `GET /2018-06-01/runtime/invocation/next`
    Next,
    /// `POST /2018-06-01/runtime/invocation/{id}/response`
    Response(&'a str),
    /// `POST /2018-06-01/runtime/invocation/{id}/error`
    Error(&'a str),
    /// `POST /2018-06-01/runtime/init/error`
    InitError,
    /// `POST /2020-01-01/extension/register`
    ExtensionRegister,
    /// `GET /2020-01-01/extension/event/next`
    ExtensionNext,
    /// Anything else, including requests outside the prefix.
    Other,
}

/// One request, as read off the wire.
#[derive(Clone)]
pub struct Request {
    /// Which connection it came on: connections are numbered from 0 in the
    /// order they were accepted.
    pub conn: usize,
    pub method: String,
    /// The request target exactly as sent.
    pub target: String,
    /// The target without the server's prefix; the whole target when
    /// [`Request::outside_prefix`].
    pub path: String,
    /// The target was not under the prefix: the server answered `404`.
    pub outside_prefix: bool,
    /// Header fields in order, names as sent; see [`Request::header`].
    pub headers: Vec<(String, String)>,
    /// Trailer fields of a chunked body, all of them: announced in a
    /// `Trailer` header or not (compare with [`Request::header`]).
    pub trailers: Vec<(String, String)>,
    /// The body came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// The decoded body.
    pub body: Vec<u8>,
    /// For a chunked body: its data chunks (not the last, empty one) in
    /// order, each when it had been read whole, to tell a streamed body
    /// from one sent at the end.
    pub chunks: Vec<Chunk>,
    /// The body was left unread: the answer came right after the head
    /// ([`Reply::Early`], [`Reply::CloseAfterHead`]); `body` is empty.
    pub cut: bool,
    /// For a `/next` answered with an invocation: the request id it carried.
    pub served: Option<String>,
    /// When the head had been read.
    pub head_at: Instant,
    /// When the request had been read whole: its head, when [`Request::cut`].
    pub at: Instant,
}

/// One data chunk of a chunked body, as it arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// When it had been read whole.
    pub at: Instant,
    /// Its size in bytes.
    pub len: usize,
}

impl Request {
    /// The first header named `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        http::field(&self.headers, name)
    }

    /// Which Runtime API call this is.
    pub fn route(&self) -> Route<'_> {
        if self.outside_prefix {
            return Route::Other;
        }
        match (self.method.as_str(), self.path.as_str()) {
            ("GET", NEXT_PATH) => return Route::Next,
            ("POST", INIT_ERROR_PATH) => return Route::InitError,
            ("POST", EXTENSION_REGISTER_PATH) => return Route::ExtensionRegister,
            ("GET", EXTENSION_NEXT_PATH) => return Route::ExtensionNext,
            ("POST", path) => {
                let call = path
                    .strip_prefix("/2018-06-01/runtime/invocation/")
                    .and_then(|rest| rest.rsplit_once('/'))
                    .filter(|(id, _)| !id.is_empty() && !id.contains('/'));
                match call {
                    Some((id, "response")) => return Route::Response(id),
                    Some((id, "error")) => return Route::Error(id),
                    _ => {}
                }
            }
            _ => {}
        }
        Route::Other
    }
}

/// Bodies are shown cut short: a failed assertion on a 6 MB event should
/// still print something readable.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 300;
        let body = String::from_utf8_lossy(&self.body[..self.body.len().min(SHOWN)]);
        let cut = if self.body.len() > SHOWN { "..." } else { "" };
        f.debug_struct("Request")
            .field("conn", &self.conn)
            .field("method", &self.method)
            .field("target", &self.target)
            .field("headers", &self.headers)
            .field("chunked", &self.chunked)
            .field("chunks", &self.chunks.len())
            .field("trailers", &self.trailers)
            .field("cut", &self.cut)
            .field("body_len", &self.body.len())
            .field("body", &format_args!("{body:?}{cut}"))
            .field("served", &self.served)
            .finish()
    }
}

/// The server. Dropping it closes the listener and every open connection.
pub struct Server {
    addr: SocketAddr,
    prefix: String,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    prefix: String,
    /// Heads are read without taking a byte past them
    /// ([`Reply::CloseAfterHead`] is scripted for a post): the cost of an
    /// extra system call per request is paid only then.
    exact_heads: bool,
    state: Mutex<State>,
    /// Signalled on every change of `state`: a request recorded, a chunk
    /// read, a poll arriving or served, a connection ending, a push.
    changed: Condvar,
}

#[derive(Default)]
struct State {
    script: Script,
    requests: Vec<Request>,
    errors: Vec<String>,
    /// Requests whose head has been read but not yet the whole body, by
    /// connection; see [`Server::in_progress`].
    in_progress: BTreeMap<usize, Request>,
    /// `/next` polls that arrived and were answered: polls take answers in
    /// arrival order, and the difference is how many wait.
    polls_arrived: u64,
    polls_served: u64,
    /// [`Server::finish`] was called: polls no longer wait.
    finished: bool,
    /// Connections being served, with a handle to shut each down on drop.
    open: HashMap<usize, TcpStream>,
    stopping: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking connection thread must not take every later call down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `request` and picks its answer, under one lock, so that the
    /// recorded order is the order in which answers were decided. A `/next`
    /// may wait here for its answer ([`Script::wait_when_empty`]).
    fn answer(&self, mut request: Request) -> Reply {
        let mut state = self.lock();
        state.in_progress.remove(&request.conn);
        let reply = match request.route() {
            Route::Next => {
                let reply;
                (state, reply) = self.next_reply(state);
                reply
            }
            Route::Response(_) | Route::Error(_) | Route::InitError => {
                match state.script.posts.get(&request.path) {
                    Some(Reply::Once(inner)) => {
                        let inner = (**inner).clone();
                        state.script.posts.remove(&request.path);
                        inner
                    }
                    Some(reply) => reply.clone(),
                    None => Reply::Status(202),
                }
            }
            Route::ExtensionRegister => match state.script.posts.get(&request.path) {
                Some(reply) => reply.clone(),
                None => Reply::Raw(extension_registered()),
            },
            Route::ExtensionNext => Reply::Hold,
            // Includes every target outside the prefix.
            Route::Other => Reply::Status(404),
        };
        if let Reply::Invocation(invocation) | Reply::SlowBody(invocation, _) = reply.opened() {
            request.served = invocation.id().map(str::to_owned);
        }
        state.requests.push(request);
        self.changed.notify_all();
        reply
    }

    /// The answer to a `/next`: the next queued reply once every earlier
    /// poll has had its own; when there is none, `500`, or a wait for
    /// [`Server::push`] or [`Server::finish`] if the script says so.
    /// Waiting releases the lock, so other connections go on.
    fn next_reply<'a>(&'a self, mut state: MutexGuard<'a, State>) -> (MutexGuard<'a, State>, Reply) {
        let ticket = state.polls_arrived;
        state.polls_arrived += 1;
        self.changed.notify_all();
        let reply = loop {
            if state.stopping {
                break Reply::Drop;
            }
            if ticket == state.polls_served {
                if let Some(reply) = state.script.next.pop_front() {
                    break reply;
                }
                if !state.script.wait || state.finished {
                    break Reply::Status(500);
                }
            }
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        };
        // The caller's notify wakes the poll next in line.
        state.polls_served += 1;
        (state, reply)
    }

    /// Whether the reply scripted for a post to `path` comes before its body.
    fn answers_before_body(&self, path: &str) -> bool {
        self.lock().script.posts.get(path).is_some_and(Reply::before_body)
    }

    /// Shows `request`, whose body is about to be read, in
    /// [`Server::in_progress`].
    fn begin(&self, request: &Request) {
        self.lock().in_progress.insert(request.conn, request.clone());
        self.changed.notify_all();
    }

    fn chunk(&self, conn: usize, chunk: Chunk) {
        if let Some(request) = self.lock().in_progress.get_mut(&conn) {
            request.chunks.push(chunk);
        }
        self.changed.notify_all();
    }

    fn error(&self, conn: usize, e: &io::Error) {
        self.lock().errors.push(format!("connection {conn}: {e}"));
    }

    /// Waits until `done` holds or `timeout` passes; returns whether it holds.
    fn wait(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while !done(&state) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

impl Server {
    /// Starts serving the Runtime API at the root of `127.0.0.1:<free port>`.
    pub fn start(script: Script) -> io::Result<Server> {
        Server::start_with_prefix("", script)
    }

    /// Starts serving under a path prefix such as `/.rt`, as `cargo lambda`
    /// does: requests must target `<prefix>/2018-06-01/...`; any other target
    /// is recorded and answered `404`.
    pub fn start_with_prefix(prefix: &str, script: Script) -> io::Result<Server> {
        let prefix = match prefix.trim_matches('/') {
            "" => String::new(),
            inner => format!("/{inner}"),
        };
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            prefix: prefix.clone(),
            exact_heads: script
                .posts
                .values()
                .any(|reply| matches!(reply.opened(), Reply::CloseAfterHead)),
            state: Mutex::new(State {
                script,
                ..State::default()
            }),
            changed: Condvar::new(),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("fake-api-accept".into())
                .spawn(move || accept_loop(&listener, &shared))?
        };
        Ok(Server {
            addr,
            prefix,
            shared,
            accept: Some(accept),
        })
    }

    /// `127.0.0.1:PORT`: the form Lambda puts in `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT/<prefix>` (no trailing slash): the form
    /// `cargo lambda` puts in `AWS_LAMBDA_RUNTIME_API`.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.prefix)
    }

    /// Every request read so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    /// Requests that could not be read (malformed, or cut off mid-message),
    /// one line each. Such a request is answered `400` (when the connection
    /// still allows it), closed, and not in [`Server::requests`].
    pub fn errors(&self) -> Vec<String> {
        self.shared.lock().errors.clone()
    }

    /// Waits until at least `n` requests were recorded or `timeout` passed,
    /// and returns the requests recorded by then (check the length).
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<Request> {
        self.shared.wait(timeout, |state| state.requests.len() >= n);
        self.requests()
    }

    /// Waits until no connection is open, or `timeout` passed; returns
    /// whether none is. After the runtime process is gone, this makes sure
    /// its last requests were read before [`Server::requests`] is trusted.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        self.shared.wait(timeout, |state| state.open.is_empty())
    }

    /// Queues the answer to the next unanswered `/next`, as [`Script::then`]
    /// does, while the server runs: the poll that has waited longest gets it
    /// ([`Script::wait_when_empty`]).
    pub fn push(&self, reply: impl Into<Reply>) {
        self.shared.lock().script.next.push_back(reply.into());
        self.shared.changed.notify_all();
    }

    /// Ends a waiting script: once the queued answers run out, waiting and
    /// later polls get `500`, on which a correct runtime exits.
    pub fn finish(&self) {
        self.shared.lock().finished = true;
        self.shared.changed.notify_all();
    }

    /// How many `/next` polls are waiting for an answer now. A waiting poll
    /// is recorded in [`Server::requests`] only once answered.
    pub fn waiting_polls(&self) -> usize {
        let state = self.shared.lock();
        (state.polls_arrived - state.polls_served) as usize
    }

    /// Waits until at least `n` polls wait at once, or `timeout` passed;
    /// returns whether they do: e.g. that `n` workers are all free.
    pub fn wait_for_polls(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait(timeout, |state| {
            (state.polls_arrived - state.polls_served) as usize >= n
        })
    }

    /// Requests whose head has been read but not yet the whole body, in
    /// connection order: partial records whose `chunks` are those read so
    /// far, with `body` and `trailers` empty and `at` equal to `head_at`.
    /// A request leaves this list when it is recorded in
    /// [`Server::requests`], or is dropped if it never ends.
    pub fn in_progress(&self) -> Vec<Request> {
        self.shared.lock().in_progress.values().cloned().collect()
    }

    /// Waits until a request in progress has at least `n` chunks read, or
    /// `timeout` passed, and returns [`Server::in_progress`] as it is then
    /// (check it): a request that ended meanwhile no longer counts, so the
    /// client must hold the rest back until the test has looked.
    pub fn wait_for_chunks(&self, n: usize, timeout: Duration) -> Vec<Request> {
        self.shared.wait(timeout, |state| {
            state.in_progress.values().any(|r| r.chunks.len() >= n)
        });
        self.in_progress()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let open: Vec<TcpStream> = {
            let mut state = self.shared.lock();
            state.stopping = true;
            state.open.drain().map(|(_, stream)| stream).collect()
        };
        // Waiting polls end: their connection threads close and exit.
        self.shared.changed.notify_all();
        for stream in open {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // Wake the accept loop so it sees `stopping`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut next_conn = 0;
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(_) => {
                // E.g. out of file descriptors: don't spin on it.
                thread::sleep(Duration::from_millis(10));
                if shared.lock().stopping {
                    return;
                }
                continue;
            }
        };
        let conn = next_conn;
        next_conn += 1;
        {
            let mut state = shared.lock();
            if state.stopping {
                return;
            }
            match stream.try_clone() {
                Ok(handle) => state.open.insert(conn, handle),
                Err(_) => continue,
            };
        }
        // Made before the thread so that it also runs if spawning fails.
        let guard = Open {
            shared: Arc::clone(shared),
            conn,
        };
        let _ = thread::Builder::new()
            .name(format!("fake-api-conn-{conn}"))
            .spawn(move || serve(&guard, stream));
    }
}

/// Marks a connection as open until dropped.
struct Open {
    shared: Arc<Shared>,
    conn: usize,
}

impl Drop for Open {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.open.remove(&self.conn);
        // A request the peer never finished is not in progress any more.
        state.in_progress.remove(&self.conn);
        self.shared.changed.notify_all();
    }
}

/// Serves one connection: reads requests until the peer closes, a request
/// asks to close, or the script says to close the connection.
fn serve(open: &Open, stream: TcpStream) {
    let (shared, conn) = (&open.shared, open.conn);
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    let mut writer = stream;
    let end = loop {
        let (request, close) = match read_request(&mut reader, &mut writer, shared, conn) {
            Ok(Some(request)) => request,
            Ok(None) => break After::Close,
            Err(e) => {
                shared.error(conn, &e);
                if e.kind() == io::ErrorKind::InvalidData {
                    let _ = writer.write_all(&status_answer(400, true));
                }
                break After::Close;
            }
        };
        match respond(shared.answer(request), close, &mut reader, &mut writer) {
            After::Keep => {}
            end => break end,
        }
    };
    if end == After::Close {
        let _ = writer.shutdown(Shutdown::Both);
    }
    // Otherwise every handle to the socket just closes (the last one when
    // `open` is dropped): with bytes still unread, the kernel resets it.
}

/// What becomes of a connection after an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    /// Read the next request.
    Keep,
    /// End it cleanly: the peer reads to a clean end of stream.
    Close,
    /// Close it with the request's body unread: the peer sees a reset.
    Reset,
}

/// Writes `reply` to a request that asked to `close` or not.
fn respond(reply: Reply, close: bool, reader: &mut BufReader<TcpStream>, writer: &mut TcpStream) -> After {
    let sent = match reply {
        Reply::Invocation(invocation) => writer.write_all(&invocation_answer(&invocation, close)),
        Reply::SlowBody(invocation, pause) => {
            let answer = invocation_answer(&invocation, close);
            let head = answer
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(0, |at| at + 4);
            let first = (head + 1).min(answer.len());
            writer.write_all(&answer[..first]).and_then(|()| {
                thread::sleep(pause);
                writer.write_all(&answer[first..])
            })
        }
        Reply::Status(status) => writer.write_all(&status_answer(status, close)),
        Reply::Raw(bytes) => {
            let _ = writer.write_all(&bytes);
            return After::Close;
        }
        Reply::Drop => return After::Close,
        Reply::Early(status) => {
            answer_early(reader, writer, status);
            return After::Close;
        }
        Reply::CloseAfterHead => return After::Reset,
        Reply::Hold => {
            hold(reader);
            return After::Close;
        }
        Reply::Once(inner) => return respond(*inner, close, reader, writer),
        Reply::Close(inner) => {
            return match respond(*inner, close, reader, writer) {
                After::Keep => After::Close,
                end => end,
            };
        }
    };
    if sent.is_ok() && !close {
        After::Keep
    } else {
        After::Close
    }
}

/// Waits, answering nothing, until the client closes the connection (or
/// sends anything more, which ends the wait too).
fn hold(reader: &mut BufReader<TcpStream>) {
    let _ = reader.get_ref().set_read_timeout(None);
    let _ = io::BufRead::fill_buf(reader);
}

/// The Extensions API's answer to a registration: the extension's
/// identifier, and the function it runs beside.
fn extension_registered() -> Vec<u8> {
    let body = r#"{"functionName":"fake-api","functionVersion":"$LATEST","handler":"bootstrap"}"#;
    let headers = [("Lambda-Extension-Identifier".to_owned(), EXTENSION_ID.to_owned())];
    answer_bytes(200, &headers, body.as_bytes(), true)
}

/// Reads one request: its head, then its body unless the script answers
/// before it (left unread). The flag says whether the client asked to close
/// the connection after it. `None`: the peer closed between requests.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    shared: &Shared,
    conn: usize,
) -> io::Result<Option<(Request, bool)>> {
    let head = if shared.exact_heads && reader.buffer().is_empty() {
        let mut exact = exact::Exact::new(reader.get_ref());
        http::read_head(&mut exact).and_then(|head| exact.finish().map(|()| head))
    } else {
        http::read_head(reader)
    };
    let head = match head {
        Ok(Some(head)) => head,
        Ok(None) => return Ok(None),
        // A peer that vanished between requests (killed, or closed with
        // unread bytes) is a close, not a malformed request. A reset later,
        // inside a body, is an error like any request cut short.
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(None),
        Err(e) => return Err(e),
    };
    let head_at = Instant::now();
    let line = http::parse_request_line(&head.start)?;
    let framing = http::request_framing(&head.fields)?;
    let chunked = framing == http::Framing::Chunked;
    let has_body = framing != http::Framing::Length(0);
    let inside = if shared.prefix.is_empty() {
        Some(line.target.as_str())
    } else {
        line.target
            .strip_prefix(shared.prefix.as_str())
            .filter(|rest| rest.starts_with('/'))
    };
    let path = inside.unwrap_or(&line.target).to_owned();
    let cut = has_body && shared.answers_before_body(&path);
    let close = http::wants_close(&line.version, &head.fields);
    let mut request = Request {
        conn,
        method: line.method,
        path,
        outside_prefix: inside.is_none(),
        target: line.target,
        headers: head.fields,
        trailers: Vec::new(),
        chunked,
        body: Vec::new(),
        chunks: Vec::new(),
        cut,
        served: None,
        head_at,
        at: head_at,
    };
    if has_body && !cut {
        // As Go's `net/http`: `100 Continue` only for a body that is read.
        if request
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
        {
            writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        shared.begin(&request);
        let body = http::read_body_with(reader, framing, |len| {
            let chunk = Chunk {
                at: Instant::now(),
                len,
            };
            request.chunks.push(chunk);
            shared.chunk(conn, chunk);
        })?;
        request.body = body.bytes;
        request.trailers = body.trailers;
        request.at = Instant::now();
    }
    Ok(Some((request, close)))
}

/// Answers before the body is read, then closes the way Go's `net/http`
/// does: the answer, end of the write side, a short bounded drain of what
/// the peer is still sending, then the close (a reset if more is unsent).
fn answer_early(reader: &mut BufReader<TcpStream>, writer: &mut TcpStream, status: u16) {
    let _ = writer.write_all(&status_answer(status, true));
    let _ = writer.shutdown(Shutdown::Write);
    let _ = writer.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = io::copy(&mut reader.by_ref().take(256 * 1024), &mut io::sink());
}

/// Head and body of an answer, built whole so it goes out in one write.
fn answer_bytes(status: u16, headers: &[(String, String)], body: &[u8], close: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(format!("HTTP/1.1 {status} {}\r\n", http::reason(status)).as_bytes());
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn invocation_answer(invocation: &Invocation, close: bool) -> Vec<u8> {
    answer_bytes(200, &invocation.headers, &invocation.body, close)
}

fn status_answer(status: u16, close: bool) -> Vec<u8> {
    let body = match status {
        204 | 304 => String::new(),
        200..=299 => r#"{"status":"OK"}"#.to_owned(),
        _ => format!(
            r#"{{"errorMessage":"fake-api answered {status} {}","errorType":"FakeApi.Status{status}"}}"#,
            http::reason(status)
        ),
    };
    let json = [("Content-Type".to_owned(), "application/json".to_owned())];
    let headers = if body.is_empty() { &[][..] } else { &json[..] };
    answer_bytes(status, headers, body.as_bytes(), close)
}

/// Waits up to `timeout` for `child` to exit. On timeout it is killed and
/// reaped, and the result is `None`: a hung runtime fails a test instead of
/// hanging it.
pub fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    const SECOND: Duration = Duration::from_secs(1);
    const WAIT: Duration = Duration::from_secs(10);

    /// A keep-alive client connection that reads answers with the crate's own
    /// parser, so several requests can share it.
    struct Conn {
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    }

    impl Conn {
        fn open(server: &Server) -> Conn {
            let writer = TcpStream::connect(server.addr()).unwrap();
            writer.set_read_timeout(Some(WAIT)).unwrap();
            Conn {
                reader: BufReader::new(writer.try_clone().unwrap()),
                writer,
            }
        }

        fn send(&mut self, raw: &[u8]) {
            self.writer.write_all(raw).unwrap();
        }

        /// Status, headers and body of the next answer.
        fn answer(&mut self) -> (u16, Vec<(String, String)>, Vec<u8>) {
            let head = http::read_head(&mut self.reader).unwrap().expect("an answer");
            let status = http::parse_status_line(&head.start).unwrap();
            let framing = http::response_framing(status, &head.fields).unwrap();
            let body = http::read_body(&mut self.reader, framing).unwrap();
            (status, head.fields, body.bytes)
        }

        /// Whatever arrives until the server closes the connection.
        fn rest(&mut self) -> Vec<u8> {
            let mut rest = Vec::new();
            loop {
                let buf = self.reader.fill_buf().unwrap();
                if buf.is_empty() {
                    return rest;
                }
                rest.extend_from_slice(buf);
                let n = buf.len();
                self.reader.consume(n);
            }
        }
    }

    fn get_next() -> &'static [u8] {
        b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"
    }

    fn post(path: &str, body: &str) -> Vec<u8> {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// The head of a chunked post, with `extra` header lines (each ending
    /// in CRLF).
    fn chunked_head(path: &str, extra: &str) -> Vec<u8> {
        format!("POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{extra}\r\n").into_bytes()
    }

    fn chunk(data: &[u8]) -> Vec<u8> {
        [format!("{:x}\r\n", data.len()).as_bytes(), data, b"\r\n"].concat()
    }

    #[test]
    fn an_extension_registers_then_its_next_event_is_held() {
        let server = Server::start(Script::new()).unwrap();
        let mut conn = Conn::open(&server);
        conn.send(&post(EXTENSION_REGISTER_PATH, r#"{"events":[]}"#));
        let (status, headers, _) = conn.answer();
        assert_eq!(status, 200);
        assert_eq!(
            http::field(&headers, "Lambda-Extension-Identifier"),
            Some(EXTENSION_ID)
        );
        let mut poll = Conn::open(&server);
        poll.send(b"GET /2020-01-01/extension/event/next HTTP/1.1\r\nHost: x\r\n\r\n");
        poll.writer
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut byte = [0];
        let held = poll.reader.get_mut().read(&mut byte);
        assert!(held.is_err(), "the poll was answered: {held:?}");
        let requests = server.requests();
        let routes: Vec<Route> = requests.iter().map(Request::route).collect();
        assert_eq!(routes, [Route::ExtensionRegister, Route::ExtensionNext]);
        drop(poll);
        assert!(server.wait_idle(WAIT), "a held poll ends with its client");
    }

    #[test]
    fn a_slow_body_comes_after_its_head() {
        let pause = Duration::from_millis(300);
        let invocation = Invocation::new("slow", "{\"a\":1}");
        let server = Server::start(Script::new().then(Reply::SlowBody(invocation, pause))).unwrap();
        let mut conn = Conn::open(&server);
        conn.send(get_next());
        let asked = Instant::now();
        let head = http::read_head(&mut conn.reader).unwrap().expect("an answer");
        let head_came = asked.elapsed();
        let status = http::parse_status_line(&head.start).unwrap();
        let framing = http::response_framing(status, &head.fields).unwrap();
        let body = http::read_body(&mut conn.reader, framing).unwrap();
        assert!(head_came < pause, "the head waited {head_came:?}");
        assert!(asked.elapsed() >= pause, "the body did not wait");
        assert_eq!((status, body.bytes), (200, b"{\"a\":1}".to_vec()));
        assert_eq!(server.requests()[0].served.as_deref(), Some("slow"));
    }

    #[test]
    fn serves_the_script_in_order_then_500() {
        let server = Server::start(
            Script::new()
                .invoke("one", "{}")
                .then(Invocation::new("two", "[2]").header("Lambda-Runtime-Invocation-Id", "x y")),
        )
        .unwrap();
        let mut conn = Conn::open(&server);
        conn.send(get_next());
        let (status, headers, body) = conn.answer();
        assert_eq!((status, body.as_slice()), (200, b"{}".as_slice()));
        assert_eq!(
            http::field(&headers, "lambda-runtime-aws-request-id"),
            Some("one")
        );
        assert!(http::field(&headers, "Lambda-Runtime-Deadline-Ms").is_some());
        conn.send(&post(&response_path("one"), "\"ok\""));
        assert_eq!(conn.answer().0, 202);
        conn.send(get_next());
        let (status, headers, body) = conn.answer();
        assert_eq!((status, body.as_slice()), (200, b"[2]".as_slice()));
        assert_eq!(http::field(&headers, "Lambda-Runtime-Invocation-Id"), Some("x y"));
        conn.send(get_next());
        assert_eq!(conn.answer().0, 500);

        let requests = server.requests();
        let routes: Vec<Route> = requests.iter().map(Request::route).collect();
        assert_eq!(
            routes,
            [Route::Next, Route::Response("one"), Route::Next, Route::Next]
        );
        assert!(
            requests.iter().all(|r| r.conn == 0),
            "one connection: {requests:?}"
        );
        assert_eq!(requests[0].served.as_deref(), Some("one"));
        assert_eq!(requests[1].body, b"\"ok\"");
        assert_eq!(requests[2].served.as_deref(), Some("two"));
        assert_eq!(requests[3].served, None);
        assert!(server.errors().is_empty());
    }

    #[test]
    fn records_chunked_posts_and_connection_numbers() {
        let server = Server::start(Script::new()).unwrap();
        let mut first = Conn::open(&server);
        first.send(
            b"POST /2018-06-01/runtime/invocation/a/error HTTP/1.1\r\n\
              Transfer-Encoding: chunked\r\nLambda-Runtime-Function-Error-Type: Runtime.X\r\n\r\n\
              3\r\n{\"e\r\n2\r\n\":\r\n2\r\n1}\r\n0\r\nTrailer-A: b\r\n\r\n",
        );
        assert_eq!(first.answer().0, 202);
        let mut second = Conn::open(&server);
        second.send(&post(INIT_ERROR_PATH, "{}"));
        assert_eq!(second.answer().0, 202);
        first.send(&post("/elsewhere", ""));
        assert_eq!(first.answer().0, 404);

        let requests = server.requests();
        assert_eq!(requests.len(), 3);
        assert_eq!(requests[0].route(), Route::Error("a"));
        assert!(requests[0].chunked);
        assert_eq!(requests[0].body, b"{\"e\":1}");
        assert_eq!(
            requests[0].header("lambda-runtime-function-error-type"),
            Some("Runtime.X")
        );
        assert_eq!(requests[0].trailers, [("Trailer-A".to_owned(), "b".to_owned())]);
        assert_eq!((requests[1].route(), requests[1].conn), (Route::InitError, 1));
        assert_eq!((requests[2].route(), requests[2].conn), (Route::Other, 0));
    }

    #[test]
    fn prefix_is_stripped_and_enforced() {
        let server = Server::start_with_prefix(".rt/", Script::new().invoke("a", "1")).unwrap();
        assert!(server.url().ends_with("/.rt"), "{}", server.url());
        assert!(server.url().starts_with("http://127.0.0.1:"));
        let mut conn = Conn::open(&server);
        conn.send(get_next());
        assert_eq!(conn.answer().0, 404);
        conn.send(b"GET /.rtx/2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n");
        assert_eq!(conn.answer().0, 404);
        conn.send(b"GET /.rt/2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n");
        assert_eq!(conn.answer().0, 200);

        let requests = server.requests();
        let outside: Vec<bool> = requests.iter().map(|r| r.outside_prefix).collect();
        assert_eq!(outside, [true, true, false]);
        assert_eq!(requests[0].path, NEXT_PATH);
        assert_eq!(requests[0].route(), Route::Other);
        assert_eq!(requests[2].path, NEXT_PATH);
        assert_eq!(requests[2].target, format!("/.rt{NEXT_PATH}"));
        assert_eq!(requests[2].route(), Route::Next);
    }

    #[test]
    fn post_overrides_apply_per_request_id() {
        let server = Server::start(
            Script::new()
                .on_response("a", Reply::Status(413))
                .on_error("a", Reply::Status(403))
                .on_init_error(Reply::Status(500)),
        )
        .unwrap();
        let mut conn = Conn::open(&server);
        for (path, status) in [
            (response_path("a"), 413),
            (response_path("b"), 202),
            (error_path("a"), 403),
            (error_path("b"), 202),
            (INIT_ERROR_PATH.to_owned(), 500),
        ] {
            conn.send(&post(&path, "{}"));
            let (got, headers, body) = conn.answer();
            assert_eq!(got, status, "{path}");
            assert_eq!(http::field(&headers, "content-type"), Some("application/json"));
            let body = String::from_utf8(body).unwrap();
            let expected = if status == 202 {
                "\"status\""
            } else {
                "\"errorType\""
            };
            assert!(body.contains(expected), "{body}");
        }
    }

    #[test]
    fn a_once_override_answers_only_the_first_post() {
        let server =
            Server::start(Script::new().on_response("a", Reply::Once(Box::new(Reply::Status(413))))).unwrap();
        let mut conn = Conn::open(&server);
        for status in [413, 202, 202] {
            conn.send(&post(&response_path("a"), "{}"));
            assert_eq!(conn.answer().0, status);
        }
    }

    #[test]
    fn raw_and_drop_close_the_connection() {
        let server = Server::start(
            Script::new()
                .then(Reply::Raw(b"HTTP/1.1 200 OK\r\nLambda-Runt".to_vec()))
                .then(Reply::Drop)
                .on_response("x", Reply::Drop),
        )
        .unwrap();
        let mut conn = Conn::open(&server);
        conn.send(get_next());
        assert_eq!(conn.rest(), b"HTTP/1.1 200 OK\r\nLambda-Runt");
        let mut conn = Conn::open(&server);
        conn.send(get_next());
        assert_eq!(conn.rest(), b"");
        let mut conn = Conn::open(&server);
        conn.send(&post(&response_path("x"), "big"));
        assert_eq!(conn.rest(), b"");
        let conns: Vec<usize> = server.requests().iter().map(|r| r.conn).collect();
        assert_eq!(conns, [0, 1, 2]);
    }

    #[test]
    fn connection_close_is_honoured() {
        let server = Server::start(Script::new()).unwrap();
        let mut conn = Conn::open(&server);
        conn.send(b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nConnection: close\r\n\r\n");
        let (status, headers, _) = conn.answer();
        assert_eq!(status, 202);
        assert_eq!(http::field(&headers, "connection"), Some("close"));
        assert_eq!(conn.rest(), b"");
        assert!(server.wait_idle(WAIT));
    }

    #[test]
    fn malformed_requests_are_answered_400_and_logged() {
        let server = Server::start(Script::new()).unwrap();
        let mut conn = Conn::open(&server);
        conn.send(b"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
        assert_eq!(conn.answer().0, 400);
        assert_eq!(conn.rest(), b"");
        assert!(server.wait_idle(WAIT));
        assert!(server.requests().is_empty());
        let errors = server.errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("Content-Length"), "{errors:?}");
    }

    #[test]
    fn expect_continue_gets_an_interim_answer() {
        let server = Server::start(Script::new()).unwrap();
        let mut conn = Conn::open(&server);
        conn.send(b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        assert_eq!(conn.answer().0, 100);
        conn.send(b"{}");
        assert_eq!(conn.answer().0, 202);
        assert_eq!(server.requests()[0].body, b"{}");
    }

    #[test]
    fn several_megabyte_events_and_posts() {
        let event = vec![b'x'; 6 * 1024 * 1024 + 100];
        let server = Server::start(Script::new().invoke("big", &event)).unwrap();
        let mut conn = Conn::open(&server);
        conn.send(get_next());
        let (status, _, body) = conn.answer();
        assert_eq!(status, 200);
        assert!(body == event);
        let mut raw = post(&response_path("big"), "");
        raw.truncate(raw.len() - b"Content-Length: 0\r\n\r\n".len());
        raw.extend(format!("Content-Length: {}\r\n\r\n", event.len()).bytes());
        raw.extend(&event);
        conn.send(&raw);
        assert_eq!(conn.answer().0, 202);
        assert!(server.requests()[1].body == event);
    }

    #[test]
    fn waits_are_bounded() {
        let server = Server::start(Script::new()).unwrap();
        let started = Instant::now();
        assert!(server.wait_for_requests(1, Duration::from_millis(50)).is_empty());
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert!(server.wait_idle(SECOND));

        let mut conn = Conn::open(&server);
        conn.send(get_next());
        assert_eq!(server.wait_for_requests(1, WAIT).len(), 1);
        assert!(
            !server.wait_idle(Duration::from_millis(50)),
            "a connection is open"
        );
        drop(conn);
        assert!(server.wait_idle(WAIT));
    }

    #[test]
    fn drop_closes_open_connections() {
        let server = Server::start(Script::new()).unwrap();
        let mut conn = Conn::open(&server);
        conn.send(get_next());
        assert_eq!(conn.answer().0, 500);
        drop(server);
        assert_eq!(conn.rest(), b"");
    }

    #[test]
    fn close_answers_as_usual_then_ends_the_connection() {
        let server = Server::start(
            Script::new()
                .then(Reply::from(Invocation::new("a", "{}")).then_close())
                .on_response("a", Reply::Status(410).then_close()),
        )
        .unwrap();
        let mut conn = Conn::open(&server);
        conn.send(get_next());
        let (status, headers, body) = conn.answer();
        assert_eq!((status, body.as_slice()), (200, b"{}".as_slice()));
        assert_eq!(http::field(&headers, "connection"), None);
        assert_eq!(conn.rest(), b"");
        let mut conn = Conn::open(&server);
        conn.send(&post(&response_path("a"), "\"ok\""));
        let (status, headers, _) = conn.answer();
        assert_eq!((status, http::field(&headers, "connection")), (410, None));
        assert_eq!(conn.rest(), b"");

        let requests = server.requests();
        assert_eq!(requests[0].served.as_deref(), Some("a"));
        assert_eq!(requests[1].body, b"\"ok\"");
        assert_eq!((requests[1].conn, requests[1].cut), (1, false));
    }

    #[test]
    fn close_after_head_on_next_ends_without_an_answer() {
        let server = Server::start(Script::new().then(Reply::CloseAfterHead).invoke("b", "{}")).unwrap();
        let mut conn = Conn::open(&server);
        conn.send(get_next());
        assert_eq!(conn.rest(), b"");
        let mut conn = Conn::open(&server);
        conn.send(get_next());
        assert_eq!(conn.answer().0, 200);
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].served, None);
        assert!(!requests[0].cut, "a GET has no body to leave unread");
    }

    #[test]
    fn close_after_head_on_a_post_resets_the_connection() {
        let server = Server::start(Script::new().on_response("a", Reply::CloseAfterHead)).unwrap();
        let body = "x".repeat(1000);
        for _ in 0..3 {
            let mut conn = Conn::open(&server);
            // Head and body in one write: the body is in the server's
            // kernel before the head is parsed.
            conn.send(&post(&response_path("a"), &body));
            let got = conn.reader.fill_buf().map(<[u8]>::to_vec);
            let error = got.expect_err("a reset, not an answer or a clean end");
            assert!(
                matches!(
                    error.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ),
                "{error:?}"
            );
        }
        let requests = server.wait_for_requests(3, WAIT);
        assert_eq!(requests.len(), 3);
        for request in &requests {
            assert_eq!(request.route(), Route::Response("a"));
            assert!(request.cut && request.body.is_empty(), "{request:?}");
            assert_eq!(request.header("content-length"), Some("1000"));
        }
        assert!(server.errors().is_empty(), "{:?}", server.errors());
    }

    #[test]
    fn exact_heads_keep_keep_alive_and_pipelining_working() {
        // Scripting `CloseAfterHead` for a post makes every head be read
        // without buffering past it.
        let server = Server::start(
            Script::new()
                .invoke("a", "{}")
                .on_response("x", Reply::CloseAfterHead),
        )
        .unwrap();
        assert!(server.shared.exact_heads);
        let mut conn = Conn::open(&server);
        // Two requests in one write: the second is parsed from what reading
        // the first one's body left buffered.
        let mut raw = post(&response_path("b"), "12345");
        raw.extend(get_next());
        conn.send(&raw);
        assert_eq!(conn.answer().0, 202);
        assert_eq!(conn.answer().0, 200);
        conn.send(&post(INIT_ERROR_PATH, "{}"));
        assert_eq!(conn.answer().0, 202);

        let requests = server.requests();
        let bodies: Vec<&[u8]> = requests.iter().map(|r| r.body.as_slice()).collect();
        assert_eq!(bodies, [b"12345".as_slice(), b"", b"{}"]);
        assert!(requests.iter().all(|r| r.conn == 0 && !r.cut));
    }

    #[test]
    fn waiting_polls_are_served_in_arrival_order() {
        let server = Server::start(Script::new().invoke("queued", "0").wait_when_empty()).unwrap();
        let mut first = Conn::open(&server);
        first.send(get_next());
        assert_eq!(first.answer().0, 200, "queued answers come first");
        let mut polls = Vec::new();
        for n in 1..=3 {
            let mut conn = Conn::open(&server);
            conn.send(get_next());
            assert!(server.wait_for_polls(n, WAIT), "{n} polls");
            polls.push(conn);
        }
        assert_eq!(server.waiting_polls(), 3);
        // Waiting polls hold up no other connection.
        first.send(&post(&response_path("queued"), "{}"));
        assert_eq!(first.answer().0, 202);
        assert_eq!(server.requests().len(), 2, "polls are recorded once answered");

        server.push(Invocation::new("a", "1"));
        server.push(Invocation::new("b", "2"));
        for (conn, id) in polls.iter_mut().zip(["a", "b"]) {
            let (status, headers, _) = conn.answer();
            assert_eq!((status, http::field(&headers, REQUEST_ID)), (200, Some(id)));
        }
        assert_eq!(server.waiting_polls(), 1);
        polls[2]
            .writer
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        assert!(polls[2].reader.fill_buf().is_err(), "the third poll still waits");
        polls[2].writer.set_read_timeout(Some(WAIT)).unwrap();
        server.finish();
        assert_eq!(polls[2].answer().0, 500);
        polls[0].send(get_next());
        assert_eq!(polls[0].answer().0, 500, "no waiting once finished");
        assert_eq!(server.waiting_polls(), 0);

        let polls: Vec<(usize, Option<String>)> = server
            .requests()
            .into_iter()
            .filter(|r| r.route() == Route::Next)
            .map(|r| (r.conn, r.served))
            .collect();
        let id = |s: &str| Some(s.to_owned());
        assert_eq!(
            polls,
            [
                (0, id("queued")),
                (1, id("a")),
                (2, id("b")),
                (3, None),
                (1, None)
            ]
        );
    }

    #[test]
    fn push_extends_a_script_that_does_not_wait() {
        let server = Server::start(Script::new()).unwrap();
        server.push(Invocation::new("late", "{}"));
        let mut conn = Conn::open(&server);
        conn.send(get_next());
        let (status, headers, _) = conn.answer();
        assert_eq!((status, http::field(&headers, REQUEST_ID)), (200, Some("late")));
        conn.send(get_next());
        assert_eq!(conn.answer().0, 500);
        assert_eq!(server.waiting_polls(), 0);
    }

    #[test]
    fn dropping_the_server_ends_waiting_polls() {
        let server = Server::start(Script::new().wait_when_empty()).unwrap();
        let mut conn = Conn::open(&server);
        conn.send(get_next());
        assert!(server.wait_for_polls(1, WAIT));
        let shared = Arc::downgrade(&server.shared);
        drop(server);
        assert_eq!(conn.rest(), b"");
        // Every connection thread holds the shared state: it is freed once
        // the waiting one has ended.
        let deadline = Instant::now() + WAIT;
        while shared.strong_count() > 0 {
            assert!(Instant::now() < deadline, "a poll still waits");
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_streamed_body_is_seen_chunk_by_chunk() {
        let server = Server::start(Script::new()).unwrap();
        let mut conn = Conn::open(&server);
        let head = chunked_head(
            &response_path("s"),
            "Lambda-Runtime-Function-Response-Mode: streaming\r\n\
             Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n",
        );
        conn.send(&[head, chunk(b"first")].concat());
        let partial = server.wait_for_chunks(1, WAIT);
        assert_eq!(partial.len(), 1, "{partial:?}");
        assert_eq!(partial[0].route(), Route::Response("s"));
        assert_eq!(partial[0].chunks.len(), 1);
        assert!(server.requests().is_empty());

        conn.send(
            &[
                chunk(b"second!"),
                b"0\r\nLambda-Runtime-Function-Error-Type: Function.X\r\n\
                  Lambda-Runtime-Function-Error-Body: eA==\r\n\r\n"
                    .to_vec(),
            ]
            .concat(),
        );
        assert_eq!(conn.answer().0, 202);
        assert!(server.in_progress().is_empty());
        let request = server.requests().remove(0);
        assert_eq!(request.body, b"firstsecond!");
        assert_eq!(request.chunks[0], partial[0].chunks[0], "seen before the end");
        let lens: Vec<usize> = request.chunks.iter().map(|c| c.len).collect();
        assert_eq!(lens, [5, 7]);
        assert!(request.head_at <= request.chunks[0].at);
        assert!(request.chunks[0].at < request.chunks[1].at);
        assert!(request.chunks[1].at <= request.at);
        for name in request.header("trailer").unwrap().split(',') {
            assert!(
                http::field(&request.trailers, name.trim()).is_some(),
                "{name}: {request:?}"
            );
        }
    }

    #[test]
    fn an_empty_chunked_body_with_trailers() {
        let server = Server::start(Script::new()).unwrap();
        let mut conn = Conn::open(&server);
        let mut raw = chunked_head(&error_path("e"), "Trailer: X-A\r\n");
        raw.extend(b"0\r\nX-A: 1\r\n\r\n");
        conn.send(&raw);
        assert_eq!(conn.answer().0, 202);
        let request = server.requests().remove(0);
        assert!(request.chunked && !request.cut);
        assert!(request.body.is_empty() && request.chunks.is_empty());
        assert_eq!(request.trailers, [("X-A".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn a_twenty_megabyte_streamed_body() {
        let data: Vec<u8> = (0..20u32 << 20).map(|i| (i % 251) as u8).collect();
        let server = Server::start(Script::new()).unwrap();
        let mut conn = Conn::open(&server);
        let mut raw = chunked_head(&response_path("big"), "");
        for piece in data.chunks(64 << 10) {
            raw.extend(chunk(piece));
        }
        raw.extend(b"0\r\n\r\n");
        conn.send(&raw);
        assert_eq!(conn.answer().0, 202);
        let request = server.requests().remove(0);
        assert!(request.body == data, "decoded body differs");
        assert_eq!(request.chunks.len(), 320);
        assert!(request.chunks.iter().all(|c| c.len == 64 << 10));
    }

    #[test]
    fn early_answers_a_chunked_post_after_its_head() {
        let server = Server::start(Script::new().on_response("big", Reply::Early(413))).unwrap();
        let mut conn = Conn::open(&server);
        let head = chunked_head(&response_path("big"), "Expect: 100-continue\r\n");
        conn.send(&[head, chunk(b"part")].concat());
        let (status, headers, _) = conn.answer();
        assert_eq!(status, 413, "no 100 Continue for a body left unread");
        assert_eq!(http::field(&headers, "connection"), Some("close"));
        assert_eq!(conn.rest(), b"");
        let request = server.requests().remove(0);
        assert!(request.chunked && request.cut, "{request:?}");
        assert!(request.body.is_empty() && request.chunks.is_empty());
        assert!(server.errors().is_empty(), "{:?}", server.errors());
    }

    #[test]
    fn a_streamed_body_cut_off_is_an_error_not_a_request() {
        let server = Server::start(Script::new()).unwrap();
        // First the client ends its side cleanly mid-body, then it closes
        // with unread bytes (the `100 Continue`), which resets the connection.
        for (id, extra) in [("a", ""), ("b", "Expect: 100-continue\r\n")] {
            let mut conn = Conn::open(&server);
            conn.send(&[chunked_head(&response_path(id), extra), chunk(b"part")].concat());
            assert_eq!(server.wait_for_chunks(1, WAIT).len(), 1);
            drop(conn);
            assert!(server.wait_idle(WAIT));
        }
        assert!(server.requests().is_empty(), "{:?}", server.requests());
        assert!(server.in_progress().is_empty());
        let errors = server.errors();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("connection 0: "), "{errors:?}");
        assert!(errors[1].to_lowercase().contains("reset"), "{errors:?}");
    }

    #[test]
    fn wait_child_kills_on_timeout() {
        let mut sleeper = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let started = Instant::now();
        assert!(wait_child(&mut sleeper, Duration::from_millis(100)).is_none());
        assert!(started.elapsed() < Duration::from_secs(20));
        assert!(sleeper.try_wait().unwrap().is_some(), "killed and reaped");

        let mut quick = std::process::Command::new("true").spawn().unwrap();
        assert!(wait_child(&mut quick, WAIT).unwrap().success());
    }
}
