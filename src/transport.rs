//! The TCP connection under ureq, shaped for the Runtime API.
//!
//! ureq's own TCP transport is built for the open internet: it probes a
//! pooled connection with three system calls before every reuse, writes a
//! request's head and body separately, and asks the resolver every time. The
//! Runtime API is one HTTP/1.1 peer on loopback, so this transport:
//!
//! - sends a request in one write (head and body together) and usually reads
//!   its answer in one read: four system calls an invocation;
//! - never probes a pooled connection. Instead it keeps each request's bytes
//!   until the answer starts, and when a *reused* connection turns out to be
//!   closed by the peer it sends them again, once, on a new connection. That
//!   only happens when the peer cannot have acted on the request: a `GET`
//!   that got no answer at all, or any request the peer's kernel reset (the
//!   peer closed its socket before reading all of it, and the Runtime API
//!   acts on an answer only once it has read its whole body). A post that
//!   was read whole and then dropped without an answer is not repeated: the
//!   API may have taken it, and answering twice is worse than exiting;
//! - reads answer heads up to [`MAX_HEAD_BYTES`], in a buffer that starts at
//!   8 KiB and grows only for an unusually large head;
//! - connects to the one address [`crate::address`] parsed: no DNS.
//!
//! Each connection tells the client's [`Lender`] about its socket, so a
//! streamed answer can borrow it.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ureq::Error;
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

use crate::address;
use crate::lend::Lender;

/// The largest answer head read (ureq's default). The `/next` head carries
/// the client context (up to about 3.5 KB) and the Cognito identity; a
/// larger head is refused as [`Error::LargeResponseHeader`].
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Where the input buffer starts, and the output buffer's size.
const BUFFER_BYTES: usize = 8 * 1024;

/// The request id found in the last answer head that was over
/// [`MAX_HEAD_BYTES`]: ureq refuses such a head without handing it over,
/// and the runtime can still answer that invocation.
#[derive(Debug, Default)]
pub struct OversizedHead(Mutex<Option<String>>);

impl OversizedHead {
    /// The request id, taken once.
    pub fn take_request_id(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn note(&self, head: &[u8]) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) =
            find_field(head, b"lambda-runtime-aws-request-id");
    }
}

/// Opens connections to the Runtime API.
#[derive(Debug)]
pub struct Loopback {
    /// Told of each connection's socket.
    pub lender: Arc<Lender>,
    /// Told of a head too large to parse.
    pub oversized: Arc<OversizedHead>,
}

impl Connector for Loopback {
    type Out = Connection;

    fn connect(&self, details: &ConnectionDetails, _: Option<()>) -> Result<Option<Connection>, Error> {
        let address = details.addrs[0];
        let stream = address::connect(address)?;
        Ok(Some(Connection {
            id: self.lender.opened(&stream),
            lender: Arc::clone(&self.lender),
            oversized: Arc::clone(&self.oversized),
            address,
            stream,
            buffers: RuntimeBuffers::new(),
            request: Vec::new(),
            sending: true,
            reused: false,
            open: true,
        }))
    }
}

/// One connection to the Runtime API, as ureq drives it.
#[derive(Debug)]
pub struct Connection {
    /// Which of the client's connections this is (see [`Lender`]).
    id: u64,
    lender: Arc<Lender>,
    oversized: Arc<OversizedHead>,
    address: SocketAddr,
    stream: TcpStream,
    buffers: RuntimeBuffers,
    /// The request being sent, kept whole until its answer starts: it goes
    /// out in one write, and again on a new connection if the peer had
    /// closed this one.
    request: Vec<u8>,
    /// ureq is handing over a request's bytes, not yet sent.
    sending: bool,
    /// This is not the connection's first request (ureq reuses a connection
    /// only after reading a whole answer): a failure now may be the peer
    /// having closed it while it sat idle.
    reused: bool,
    /// False once a read saw the end of the stream or any I/O failed.
    open: bool,
}

/// Whether a request that failed this way on a reused connection can be
/// sent again: the peer can't have acted on it.
fn may_resend(request: &[u8], failure: &io::Result<usize>) -> bool {
    match failure {
        // No answer to a `GET /next`: no invocation was handed out.
        Ok(0) => request.starts_with(b"GET "),
        Ok(_) => false,
        // The peer closed before reading all of it: not a whole answer.
        Err(error) => matches!(
            error.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionAborted
        ),
    }
}

impl Connection {
    /// Sends the request and reads what comes back into the input buffer.
    /// A failed write still reads: the peer may have answered before it
    /// stopped reading (Go's `net/http` answers 413 to an oversized body
    /// without reading it, then closes), and only without an answer does
    /// the write's error stand.
    fn exchange(&mut self) -> io::Result<usize> {
        let written = self.stream.write_all(&self.request);
        match (self.read(), written) {
            (Ok(amount), _) if amount > 0 => Ok(amount),
            // No answer after all: the failed write is what happened.
            (_, Err(failed)) => Err(failed),
            (read, Ok(())) => read,
        }
    }

    /// After a request got no answer, whether the peer's kernel refused its
    /// bytes (a reset: the socket was closed when they came, so no program
    /// read them), as opposed to a peer that read them and then closed.
    /// Linux reports the end of stream first when the peer had closed an
    /// idle connection before the request, and the reset only as the
    /// socket's error, which comes within microseconds on loopback: it is
    /// waited for briefly, on this failure path only.
    fn reset_error(&self) -> Option<io::Error> {
        for _ in 0..20 {
            match self.stream.take_error() {
                Ok(Some(error)) => return Some(error),
                Err(_) => return None,
                Ok(None) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        None
    }

    /// Replaces the socket with a new connection to the same address.
    fn reconnect(&mut self) -> io::Result<()> {
        self.stream = address::connect(self.address)?;
        self.lender.reopened(self.id, &self.stream);
        self.reused = false;
        Ok(())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.lender.closed(self.id);
    }
}

// No timeouts are configured for this agent (the `/next` long poll must
// never time out), so the transport has none to apply.
impl Transport for Connection {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, _: NextTimeout) -> Result<(), Error> {
        if !self.sending {
            // A new request: ureq reuses a connection only after a whole answer.
            self.sending = true;
            self.reused = true;
            if self.request.capacity() > 4 * BUFFER_BYTES {
                self.request = Vec::new();
            }
            self.request.clear();
        }
        self.request.extend_from_slice(&self.buffers.output[..amount]);
        Ok(())
    }

    fn await_input(&mut self, _: NextTimeout) -> Result<bool, Error> {
        if self.buffers.input_append_buf().is_empty() {
            // Defensive: ureq refuses a head over MAX_HEAD_BYTES before the
            // buffer (one buffer larger) can fill up.
            self.oversized.note(self.buffers.input());
            self.open = false;
            return Err(Error::LargeResponseHeader(
                self.buffers.input().len(),
                MAX_HEAD_BYTES,
            ));
        }
        let read = if self.sending {
            self.sending = false;
            let mut read = self.exchange();
            if self.reused && matches!(read, Ok(0)) {
                read = self.reset_error().map_or(Ok(0), Err);
            }
            if self.reused && may_resend(&self.request, &read) {
                self.reconnect().and_then(|()| self.exchange())
            } else {
                read
            }
        } else {
            self.read()
        };
        let amount = match read {
            Ok(amount) => amount,
            Err(error) => {
                self.open = false;
                return Err(Error::Io(error));
            }
        };
        self.open &= amount > 0;
        self.buffers.input_appended(amount);
        if self.buffers.input().len() > MAX_HEAD_BYTES {
            // Only a head gets here (ureq consumes a body as it comes), and
            // ureq refuses it next.
            self.oversized.note(self.buffers.input());
        }
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.open && !self.lender.is_retired(self.id)
    }
}

impl Connection {
    fn read(&mut self) -> io::Result<usize> {
        loop {
            match self.stream.read(self.buffers.input_append_buf()) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}

/// The value of header `name` (lowercase) in a raw head, if it is visible
/// ASCII: enough to answer an invocation whose head ureq refused.
pub fn find_field(head: &[u8], name: &[u8]) -> Option<String> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let (field, value) = line.split_at(line.iter().position(|&b| b == b':')?);
        if !field.eq_ignore_ascii_case(name) {
            return None;
        }
        let value = std::str::from_utf8(&value[1..]).ok()?.trim();
        value
            .bytes()
            .all(|b| b.is_ascii_graphic())
            .then(|| value.to_owned())
    })
}

/// An input buffer read from the front and filled at the back, and an
/// output buffer, both allocated zeroed (calloc: no fill loop).
#[derive(Debug)]
struct RuntimeBuffers {
    input: Vec<u8>,
    /// `input[start..end]` is read but not yet consumed.
    start: usize,
    end: usize,
    /// Whether the last consume made progress (ureq's contract).
    progress: bool,
    output: Vec<u8>,
}

impl RuntimeBuffers {
    fn new() -> RuntimeBuffers {
        RuntimeBuffers {
            input: vec![0; BUFFER_BYTES],
            start: 0,
            end: 0,
            progress: false,
            output: vec![0; BUFFER_BYTES],
        }
    }

    /// Makes room at the back when it is full: moves unconsumed input to
    /// the front, or grows the buffer for a head larger than it, up to one
    /// buffer past [`MAX_HEAD_BYTES`] (so ureq can see the head is too large).
    fn make_room(&mut self) {
        if self.end < self.input.len() {
            return;
        }
        if self.start > 0 {
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        } else if self.input.len() <= MAX_HEAD_BYTES {
            let grown = (self.input.len() * 2).min(MAX_HEAD_BYTES + BUFFER_BYTES);
            self.input.resize(grown, 0);
        }
    }
}

impl Buffers for RuntimeBuffers {
    fn output(&mut self) -> &mut [u8] {
        &mut self.output
    }

    fn input(&self) -> &[u8] {
        &self.input[self.start..self.end]
    }

    fn input_append_buf(&mut self) -> &mut [u8] {
        self.make_room();
        &mut self.input[self.end..]
    }

    fn input_appended(&mut self, amount: usize) {
        self.end += amount;
    }

    fn input_consume(&mut self, amount: usize) {
        self.progress = amount > 0;
        self.start += amount;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.input.len() > BUFFER_BYTES {
                // A large head was a one-off: give the memory back.
                self.input = vec![0; BUFFER_BYTES];
            }
        }
    }

    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        self.make_room();
        (&mut self.input[self.end..], &mut self.output)
    }

    fn can_use_input(&self) -> bool {
        self.start < self.end && self.progress
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_sent_again_only_if_the_peer_cannot_have_acted_on_it() {
        let get = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n";
        let post = b"POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\n\r\n{}";
        let error = |kind| Err(io::Error::from(kind));
        assert!(may_resend(get, &Ok(0)), "a GET that got no answer");
        assert!(!may_resend(post, &Ok(0)), "a post the peer read, then dropped");
        assert!(!may_resend(get, &Ok(12)), "an answer is an answer");
        for refused in [
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::ConnectionAborted,
        ] {
            assert!(may_resend(get, &error(refused)) && may_resend(post, &error(refused)));
        }
        assert!(!may_resend(post, &error(io::ErrorKind::TimedOut)));
    }

    #[test]
    fn header_values_are_found_in_a_raw_head() {
        let head =
            b"HTTP/1.1 200 OK\r\nX-Pad: xx\r\nLambda-Runtime-Aws-Request-Id:  id-7 \r\nContent-Length: 2\r\n";
        assert_eq!(
            find_field(head, b"lambda-runtime-aws-request-id").as_deref(),
            Some("id-7")
        );
        assert_eq!(find_field(head, b"content-length").as_deref(), Some("2"));
        assert_eq!(find_field(head, b"x-missing"), None);
        assert_eq!(
            find_field(
                b"Lambda-Runtime-Aws-Request-Id: first-line\r\n",
                b"lambda-runtime-aws-request-id"
            ),
            None,
            "the status line is not a header"
        );
        assert_eq!(
            find_field(b"HTTP/1.1 200 OK\r\nA: b c\r\n", b"a"),
            None,
            "not one visible word"
        );
    }

    #[test]
    fn input_is_consumed_from_the_front_and_compacted() {
        let mut buffers = RuntimeBuffers::new();
        buffers.input_append_buf()[..5].copy_from_slice(b"hello");
        buffers.input_appended(5);
        assert_eq!(buffers.input(), b"hello");
        assert!(!buffers.can_use_input(), "no progress yet");
        buffers.input_consume(2);
        assert_eq!(buffers.input(), b"llo");
        assert!(buffers.can_use_input());
        buffers.input_consume(0);
        assert!(!buffers.can_use_input(), "a consume of nothing is no progress");

        let free = buffers.input_append_buf().len();
        buffers.input_appended(free);
        assert_eq!(buffers.input().len(), BUFFER_BYTES - 2);
        assert_eq!(buffers.input_append_buf().len(), 2, "compacted to the front");
        assert_eq!(&buffers.input()[..3], b"llo");

        buffers.input_consume(BUFFER_BYTES - 2);
        assert!(buffers.input().is_empty());
        assert_eq!(buffers.input_append_buf().len(), BUFFER_BYTES);
    }

    #[test]
    fn the_input_grows_for_a_large_head_then_shrinks() {
        let mut buffers = RuntimeBuffers::new();
        let mut total = 0;
        loop {
            let room = buffers.input_append_buf().len();
            if room == 0 {
                break;
            }
            buffers.input_appended(room);
            total += room;
        }
        assert_eq!(
            total,
            MAX_HEAD_BYTES + BUFFER_BYTES,
            "one buffer past the largest head"
        );
        buffers.input_consume(total);
        assert_eq!(buffers.input.len(), BUFFER_BYTES, "a large head was a one-off");
    }
}
