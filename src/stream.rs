//! Response streaming: the one request ureq can't send.
//!
//! A streamed answer is `POST /invocation/{id}/response` with a chunked body
//! and, when the function fails after its first byte, HTTP trailers naming
//! the error (`Lambda-Runtime-Function-Error-Type` and `-Body`, the body in
//! base64). ureq has no request trailers, so this module writes that request
//! itself, on the worker's own connection (lent by [`Lender`]), and reads the
//! API's answer. All HTTP framing of it is here, in [`head`], [`chunk`],
//! [`last_chunk`] and [`read_answer`].
//!
//! The way through: each worker's client has one [`Outlet`], which the
//! client puts in the [`Context`](crate::Context) of every invocation it
//! hands out. [`Context::stream`](crate::Context::stream) opens the
//! invocation's stream in that outlet and returns a [`Stream`] on it; the
//! function writes; after the function returns, the client
//! ([`crate::client::Client::answer`]) finishes the stream through the same
//! outlet, with the error trailers if the function failed.

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;

use crate::Error;
use crate::lend::Lender;
use crate::transport;

/// The content type of a function URL's streamed answer: a JSON prelude
/// (status, headers, cookies), eight NUL bytes, then the body.
const HTTP_CONTENT_TYPE: &str = "application/vnd.awslambda.http-integration-response";

/// The body of a streamed answer, from [`Context::stream`](crate::Context::stream)
/// or [`Context::stream_http`](crate::Context::stream_http). Each `write`
/// goes out at once as one HTTP chunk (wrap it in a `BufWriter` to send
/// fewer, larger ones); the first also sends the request head, and the HTTP
/// prelude if there is one. A write fails once the API has refused the
/// stream or the connection is gone; the runtime then reports what happened
/// after the function returns.
///
/// A function that streams returns `Ok(())` when it is done: the runtime
/// ends the stream then. An error returned after the first byte ends it
/// with Lambda's error trailers; before it, the error is reported as from
/// any function.
///
/// ```no_run
/// use std::io::Write;
///
/// use lambda_bootstrap::{Config, Context, Error, Function};
///
/// struct Ticker;
///
/// impl Function for Ticker {
///     type Event = serde_json::Value;
///     type Output = ();
///
///     fn init(_config: &Config) -> Result<Ticker, Error> {
///         Ok(Ticker)
///     }
///
///     fn handle(&self, _event: serde_json::Value, context: &Context) -> Result<(), Error> {
///         let mut body = context.stream_http(200, &[("content-type", "text/event-stream")], &[]);
///         for tick in 1..=3 {
///             write!(body, "data: {tick}\n\n")?;
///         }
///         Ok(())
///     }
/// }
///
/// fn main() -> std::process::ExitCode {
///     lambda_bootstrap::run::<Ticker>()
/// }
/// ```
pub struct Stream {
    /// `None` for a [`Context`](crate::Context) that no runtime handed out
    /// (made in a test): there is nowhere to write.
    outlet: Option<Arc<Outlet>>,
    /// The serial of the invocation the stream belongs to: a write after it
    /// is over fails.
    serial: u64,
}

/// Where one worker's streamed answers go: its connection (through the
/// [`Lender`]), and the stream of the invocation it serves, if the function
/// opened one.
pub(crate) struct Outlet {
    lender: Arc<Lender>,
    address: SocketAddr,
    /// `[/prefix]/2018-06-01/runtime/invocation/`, before `{id}/response`.
    invocations_path: Arc<str>,
    /// `host:port`, for the `Host` header.
    authority: Arc<str>,
    serving: Mutex<Serving>,
}

/// The invocation a worker serves, and its stream: a stream belongs to it
/// alone. A `Context` (or a `Stream`) kept past its invocation, on a thread
/// of the function's, can open or write nothing in a later one's. They are
/// told apart by serial (the invocation's number on this worker, from 1),
/// not by request id: an asynchronous retry comes again with the same id,
/// possibly to the same worker.
#[derive(Default)]
struct Serving {
    /// How many invocations this worker has begun: the last one's serial.
    begun: u64,
    /// The serial of the invocation it serves; `None` once it is answered.
    serial: Option<u64>,
    /// Its request id, for the stream's path.
    request_id: String,
    /// Its stream, once the function opened one.
    open: Option<Open>,
}

/// The stream an invocation opened.
struct Open {
    invocation_id: Option<String>,
    /// The HTTP prelude, until it is sent.
    prelude: Option<Vec<u8>>,
    /// The connection, once the head is sent.
    socket: Option<TcpStream>,
    /// Why sending failed, if it did: later writes fail the same way.
    broken: Option<io::ErrorKind>,
    /// The bytes of one write, framed as a chunk.
    buffer: Vec<u8>,
    /// [`Open::finish`], reached through this pointer so that only a binary
    /// whose function streams (calls [`Stream::open`]) contains it
    /// (docs/design.md, "Size").
    finish: fn(Open, &Outlet, &str, Option<&Error>) -> io::Result<u16>,
}

impl Stream {
    /// Opens the stream of invocation `serial` in `outlet`, or
    /// returns the one already open (a second `stream_http` keeps the first
    /// one's prelude). Nothing opens once the invocation is answered: the
    /// stream returned then refuses every write.
    pub(crate) fn open(
        outlet: Option<&Arc<Outlet>>,
        serial: u64,
        invocation_id: Option<&str>,
        prelude: Option<Vec<u8>>,
    ) -> Stream {
        if let Some(outlet) = outlet {
            let mut serving = outlet.lock();
            if serving.serial == Some(serial) && serving.open.is_none() {
                serving.open = Some(Open {
                    invocation_id: invocation_id.map(str::to_owned),
                    prelude,
                    socket: None,
                    broken: None,
                    buffer: Vec::new(),
                    finish: Open::finish,
                });
            }
        }
        Stream {
            outlet: outlet.cloned(),
            serial,
        }
    }
}

impl Write for Stream {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if bytes.is_empty() {
            return Ok(0);
        }
        let Some(outlet) = &self.outlet else {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "this Context was not handed out by the runtime: its stream goes nowhere",
            ));
        };
        let mut serving = outlet.lock();
        let Serving {
            serial,
            request_id,
            open,
            ..
        } = &mut *serving;
        match open {
            Some(open) if *serial == Some(self.serial) => {
                open.send(bytes, outlet, request_id).map(|()| bytes.len())
            }
            _ => Err(io::Error::other("the invocation this stream belonged to is over")),
        }
    }

    /// One `write!` is one chunk, not one a piece of its format: formatted
    /// whole first.
    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        match args.as_str() {
            Some(text) => self.write_all(text.as_bytes()),
            None => self.write_all(args.to_string().as_bytes()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Outlet {
    /// The outlet of a client whose connections `lender` watches: answers
    /// go to `invocations_path` on `address`, named `authority`.
    pub fn new(
        lender: Arc<Lender>,
        address: SocketAddr,
        invocations_path: Arc<str>,
        authority: Arc<str>,
    ) -> Outlet {
        Outlet {
            lender,
            address,
            invocations_path,
            authority,
            serving: Mutex::default(),
        }
    }

    /// An outlet to the same API for a client whose connections `lender`
    /// watches.
    pub fn for_lender(&self, lender: Arc<Lender>) -> Outlet {
        Outlet::new(
            lender,
            self.address,
            Arc::clone(&self.invocations_path),
            Arc::clone(&self.authority),
        )
    }

    fn lock(&self) -> MutexGuard<'_, Serving> {
        self.serving.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From now on this worker serves invocation `request_id`. Returns its
    /// serial, which its [`Context`](crate::Context) carries.
    pub fn begin(&self, request_id: &str) -> u64 {
        let mut serving = self.lock();
        serving.begun += 1;
        serving.serial = Some(serving.begun);
        serving.request_id.clear();
        serving.request_id.push_str(request_id);
        serving.open = None;
        serving.begun
    }

    /// The path a streamed answer to invocation `request_id` is posted to.
    pub fn answer_path(&self, request_id: &str) -> String {
        format!("{}{request_id}/response", self.invocations_path)
    }

    /// `host:port`, as the `Host` header names the API.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Whether invocation `serial` opened a stream here.
    pub fn is_open_for(&self, serial: u64) -> bool {
        let serving = self.lock();
        serving.serial == Some(serial) && serving.open.is_some()
    }

    /// Invocation `serial` is being answered: ends its stream if the
    /// function opened one, and returns the API's status for it; `None` if
    /// it did not, and the answer is buffered. `failure` is the function's
    /// error, if any. From now on nothing opens or writes for it.
    pub fn finish(&self, serial: u64, failure: Option<&Error>) -> Option<io::Result<u16>> {
        let (open, request_id) = {
            let mut serving = self.lock();
            if serving.serial != Some(serial) {
                return None;
            }
            serving.serial = None;
            (serving.open.take()?, std::mem::take(&mut serving.request_id))
        };
        if open.socket.is_none() && failure.is_some() {
            // Not a byte sent: the error goes to `/error` like a buffered one.
            return None;
        }
        Some((open.finish)(open, self, &request_id, failure))
    }
}

/// Outlets are equal when they are the same one: two contexts are equal
/// when they describe the same invocation, answered the same way.
impl PartialEq for Outlet {
    fn eq(&self, other: &Outlet) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Outlet {}

impl fmt::Debug for Outlet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outlet")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Open {
    /// Frames `bytes` as a chunk (after the head and prelude if this is the
    /// first) and writes them in one call, the bytes as they are: a large
    /// write is not copied.
    fn send(&mut self, bytes: &[u8], outlet: &Outlet, request_id: &str) -> io::Result<()> {
        if let Some(kind) = self.broken {
            return Err(io::Error::new(kind, "the response stream is closed"));
        }
        self.buffer.clear();
        if self.socket.is_none() {
            self.socket = Some(outlet.lender.lend(outlet.address)?);
            let path = outlet.answer_path(request_id);
            let http = self.prelude.is_some();
            head(
                &mut self.buffer,
                &path,
                outlet.authority(),
                self.invocation_id.as_deref(),
                http,
            );
            if let Some(prelude) = self.prelude.take() {
                // Each in a chunk of its own: `cargo lambda watch` reads the
                // prelude and the separator as one HTTP frame each (Lambda
                // reads bytes, so it takes either framing).
                chunk(&mut self.buffer, &prelude);
                chunk(&mut self.buffer, &[0; 8]);
            }
        }
        let Open { socket, buffer, .. } = self;
        let Some(socket) = socket.as_mut() else {
            return Ok(());
        };
        write_chunk(socket, buffer, bytes).inspect_err(|error| self.broken = Some(error.kind()))
    }

    fn write_buffer(&mut self) -> io::Result<()> {
        let Some(socket) = self.socket.as_mut() else {
            return Ok(());
        };
        socket
            .write_all(&self.buffer)
            .inspect_err(|error| self.broken = Some(error.kind()))
    }

    /// Ends the stream: the last chunk, with the error trailers after a
    /// failure, then the API's answer. Returns its status.
    fn finish(mut self, outlet: &Outlet, request_id: &str, failure: Option<&Error>) -> io::Result<u16> {
        if self.socket.is_none() {
            // Nothing written yet: send the head (and prelude) now.
            self.send(b"", outlet, request_id)?;
        }
        if self.broken.is_none() {
            self.buffer.clear();
            last_chunk(&mut self.buffer, failure);
            // A failed write may still have an answer to read (an early 4xx).
            let _ = self.write_buffer();
        }
        let Some(socket) = self.socket.as_mut() else {
            return Err(io::Error::from(io::ErrorKind::NotConnected));
        };
        let answer = read_answer(socket);
        // AWS asks the runtime to close the connection after a stream.
        let _ = socket.shutdown(Shutdown::Both);
        answer
    }
}

/// The JSON prelude of a function URL's streamed answer.
pub(crate) fn prelude(status: u16, headers: &[(&str, &str)], cookies: &[&str]) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Prelude<'a> {
        status_code: u16,
        #[serde(serialize_with = "as_map")]
        headers: &'a [(&'a str, &'a str)],
        cookies: &'a [&'a str],
    }
    fn as_map<S: serde::Serializer>(pairs: &&[(&str, &str)], to: S) -> Result<S::Ok, S::Error> {
        to.collect_map(pairs.iter().map(|(name, value)| (name, value)))
    }
    let prelude = Prelude {
        status_code: status,
        headers,
        cookies,
    };
    // Numbers and strings always serialize.
    serde_json::to_vec(&prelude).unwrap_or_default()
}

/// The request head of a streamed answer.
fn head(out: &mut Vec<u8>, path: &str, authority: &str, invocation_id: Option<&str>, http: bool) {
    let content_type = if http {
        HTTP_CONTENT_TYPE
    } else {
        "application/octet-stream"
    };
    let _ = write!(
        out,
        "POST {path} HTTP/1.1\r\n\
         Host: {authority}\r\n\
         Content-Type: {content_type}\r\n\
         Lambda-Runtime-Function-Response-Mode: streaming\r\n\
         Transfer-Encoding: chunked\r\n\
         Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
    );
    if let Some(id) = invocation_id {
        let _ = write!(out, "Lambda-Runtime-Invocation-Id: {id}\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// One chunk: its size in hex, the bytes, CRLF. Empty input frames nothing
/// (an empty chunk would end the body).
fn chunk(out: &mut Vec<u8>, bytes: &[u8]) {
    if !bytes.is_empty() {
        let _ = write!(out, "{:x}\r\n", bytes.len());
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
}

/// Writes `before` (the head, at the start of a stream), then `bytes` as a
/// chunk, in one vectored write: the chunk's size line goes at the end of
/// `before`, the bytes go out from where they are.
fn write_chunk(to: &mut impl Write, before: &mut Vec<u8>, bytes: &[u8]) -> io::Result<()> {
    if !bytes.is_empty() {
        let _ = write!(before, "{:x}\r\n", bytes.len());
    }
    let end: &[u8] = if bytes.is_empty() { b"" } else { b"\r\n" };
    let mut parts = [IoSlice::new(before), IoSlice::new(bytes), IoSlice::new(end)];
    let mut parts = &mut parts[..];
    IoSlice::advance_slices(&mut parts, 0);
    while !parts.is_empty() {
        match to.write_vectored(parts) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => IoSlice::advance_slices(&mut parts, written),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// The last chunk, and the error trailers if the function failed.
fn last_chunk(out: &mut Vec<u8>, failure: Option<&Error>) {
    out.extend_from_slice(b"0\r\n");
    if let Some(error) = failure {
        let _ = write!(
            out,
            "Lambda-Runtime-Function-Error-Type: {}\r\nLambda-Runtime-Function-Error-Body: ",
            error.header_type()
        );
        base64(out, &error.to_json());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Standard base64 with padding (RFC 4648), as the trailer's body.
fn base64(out: &mut Vec<u8>, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            let sextet = (n >> (18 - 6 * i)) & 63;
            out.push(if i <= group.len() {
                ALPHABET[sextet as usize]
            } else {
                b'='
            });
        }
    }
}

/// Reads the API's answer to the stream, and returns its status. The body,
/// when its length is given, is read (and dropped) so the peer is not
/// reset before it is done writing.
fn read_answer(socket: &mut impl Read) -> io::Result<u16> {
    let mut buffer = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > transport::MAX_HEAD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the answer's head is too large",
            ));
        }
        let mut piece = [0; 1024];
        match socket.read(&mut piece)? {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "no answer to the stream",
                ));
            }
            n => buffer.extend_from_slice(&piece[..n]),
        }
    };
    let status = buffer
        .strip_prefix(b"HTTP/1.1 ")
        .and_then(|rest| std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "the answer to the stream is not HTTP/1.1",
            )
        })?;
    let length =
        transport::find_field(&buffer[..head_end], b"content-length").and_then(|v| v.parse::<u64>().ok());
    let rest = length
        .unwrap_or(0)
        .saturating_sub((buffer.len() - head_end) as u64);
    io::copy(&mut socket.take(rest.min(MAX_ANSWER_BODY)), &mut io::sink())?;
    Ok(status)
}

/// The API's answers are a line of JSON; more is not read.
const MAX_ANSWER_BODY: u64 = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_head_announces_chunks_and_trailers() {
        let mut out = Vec::new();
        head(
            &mut out,
            "/.rt/2018-06-01/runtime/invocation/id-1/response",
            "127.0.0.1:9001",
            Some("inv-1"),
            false,
        );
        assert_eq!(
            text(out),
            "POST /.rt/2018-06-01/runtime/invocation/id-1/response HTTP/1.1\r\n\
             Host: 127.0.0.1:9001\r\n\
             Content-Type: application/octet-stream\r\n\
             Lambda-Runtime-Function-Response-Mode: streaming\r\n\
             Transfer-Encoding: chunked\r\n\
             Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\
             Lambda-Runtime-Invocation-Id: inv-1\r\n\
             \r\n"
        );
        let mut out = Vec::new();
        head(&mut out, "/p", "h:1", None, true);
        let out = text(out);
        assert!(out.contains("Content-Type: application/vnd.awslambda.http-integration-response\r\n"));
        assert!(!out.contains("Invocation-Id"));
    }

    #[test]
    fn chunks_are_hex_sized() {
        let mut out = Vec::new();
        chunk(&mut out, b"hello");
        chunk(&mut out, b"");
        chunk(&mut out, &[b'x'; 26]);
        assert_eq!(text(out), format!("5\r\nhello\r\n1a\r\n{}\r\n", "x".repeat(26)));
    }

    /// A writer that takes at most `most` bytes a call, as a socket may.
    struct Trickle {
        written: Vec<u8>,
        most: usize,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(bytes)])
        }

        fn write_vectored(&mut self, parts: &[IoSlice<'_>]) -> io::Result<usize> {
            self.calls += 1;
            let mut taken = 0;
            for part in parts {
                let n = part.len().min(self.most - taken);
                self.written.extend_from_slice(&part[..n]);
                taken += n;
            }
            Ok(taken)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_chunk_goes_out_with_its_framing_in_one_write() {
        let mut to = Trickle {
            written: Vec::new(),
            most: usize::MAX,
            calls: 0,
        };
        let mut before = b"HEAD\r\n\r\n".to_vec();
        write_chunk(&mut to, &mut before, &[b'x'; 26]).unwrap();
        assert_eq!(
            text(to.written),
            format!("HEAD\r\n\r\n1a\r\n{}\r\n", "x".repeat(26))
        );
        assert_eq!(to.calls, 1);

        let mut to = Trickle {
            written: Vec::new(),
            most: 3,
            calls: 0,
        };
        write_chunk(&mut to, &mut Vec::new(), b"hello").unwrap();
        assert_eq!(text(to.written), "5\r\nhello\r\n", "partial writes resumed");

        let mut to = Trickle {
            written: Vec::new(),
            most: usize::MAX,
            calls: 0,
        };
        write_chunk(&mut to, &mut b"HEAD".to_vec(), b"").unwrap();
        write_chunk(&mut to, &mut Vec::new(), b"").unwrap();
        assert_eq!(to.calls, 1, "nothing at all: no write");
        assert_eq!(text(to.written), "HEAD", "nothing to frame");
    }

    #[test]
    fn the_last_chunk_carries_the_error_in_trailers() {
        let mut out = Vec::new();
        last_chunk(&mut out, None);
        assert_eq!(text(out), "0\r\n\r\n");

        let error = Error::new("Function.Boom", "it broke");
        let mut out = Vec::new();
        last_chunk(&mut out, Some(&error));
        let mut body = Vec::new();
        base64(&mut body, &error.to_json());
        assert_eq!(
            text(out),
            format!(
                "0\r\nLambda-Runtime-Function-Error-Type: Function.Boom\r\nLambda-Runtime-Function-Error-Body: {}\r\n\r\n",
                text(body)
            )
        );
    }

    #[test]
    fn base64_is_rfc_4648() {
        // RFC 4648, section 10.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut out = Vec::new();
            base64(&mut out, plain.as_bytes());
            assert_eq!(text(out), encoded, "{plain:?}");
        }
        let mut out = Vec::new();
        base64(&mut out, &[0xff, 0xfe, 0x00]);
        assert_eq!(text(out), "//4A");
    }

    #[test]
    fn answers_give_their_status() {
        let read = |raw: &str| read_answer(&mut raw.as_bytes());
        let accepted = "HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n";
        assert_eq!(read(accepted).unwrap(), 202);
        let refused = "HTTP/1.1 413 Payload Too Large\r\ncontent-length: 2\r\nConnection: close\r\n\r\n{}";
        assert_eq!(read(refused).unwrap(), 413);
        assert_eq!(read("HTTP/1.1 202 Accepted\r\n\r\n").unwrap(), 202);
        // A body cut short still gives the status that came.
        assert_eq!(
            read("HTTP/1.1 202 Accepted\r\nContent-Length: 10\r\n\r\nshort").unwrap(),
            202
        );
        for broken in ["", "HTTP/1.1 20", "SSH-2.0\r\n\r\n", "HTTP/1.1 2x2 No\r\n\r\n"] {
            assert!(read(broken).is_err(), "{broken:?}");
        }
    }

    /// A retry can come to the same worker with the same request id: a
    /// stream kept from the first invocation neither opens the retry's
    /// stream nor writes into it once the retry opened its own. Each late
    /// write must be refused as over; one let through would dial the
    /// outlet's address (the discard port, where nothing listens) and fail
    /// otherwise, or not at all.
    #[test]
    fn a_stream_belongs_to_its_invocation_not_to_its_request_id() {
        let outlet = Arc::new(Outlet::new(
            Arc::default(),
            SocketAddr::from(([127, 0, 0, 1], 9)),
            Arc::from("/2018-06-01/runtime/invocation/"),
            Arc::from("127.0.0.1:9"),
        ));
        let refused = |stream: &mut Stream| {
            let error = stream.write(b"late").expect_err("a late write is refused");
            assert_eq!(error.kind(), io::ErrorKind::Other, "{error}");
            assert!(error.to_string().contains("is over"), "{error}");
        };
        let failure = Error::new("Function.Failed", "before its first byte");

        let first = outlet.begin("same");
        let mut kept = Stream::open(Some(&outlet), first, None, None);
        assert!(outlet.is_open_for(first));
        assert!(outlet.finish(first, Some(&failure)).is_none(), "goes to /error");

        let retry = outlet.begin("same");
        assert_ne!(retry, first);
        let mut late = Stream::open(Some(&outlet), first, None, None);
        assert!(
            !outlet.is_open_for(retry),
            "a late open opened the retry's stream"
        );
        refused(&mut late);

        let _own = Stream::open(Some(&outlet), retry, None, None);
        assert!(outlet.is_open_for(retry) && !outlet.is_open_for(first));
        refused(&mut kept);
        refused(&mut late);
        // Not a byte of the retry's sent: its failure goes to /error, and
        // nothing was dialled.
        assert!(outlet.finish(retry, Some(&failure)).is_none());
        refused(&mut kept);
    }
}
