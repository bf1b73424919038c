//! Response streaming: the one request ureq can't send.
//!
//! A streamed answer is `POST /invocation/{id}/response` with a chunked body
//! and, when the function fails after its first byte, HTTP trailers naming
//! the error (`Lambda-Runtime-Function-Error-Type` and `-Body`, the body in
//! base64). ureq has no request trailers, so this module writes that request
//! itself, on the worker's own connection, and reads the API's answer. All
//! HTTP framing of it is here, in [`head`], [`chunk`], [`end`] and
//! [`read_answer`].
//!
//! A stream belongs to the thread serving the invocation: the function
//! writes to it through [`Stream`], and the runtime ends it after the
//! function returns, or from the panic hook if the function panics on that
//! thread. (A panic on a thread of the function's own, mid-stream, can't
//! reach the stream: the report goes to `/error`, which Lambda refuses
//! after the first byte, and the caller sees the stream cut short.)

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::marker::PhantomData;
use std::net::{Shutdown, TcpStream};

use crate::api::Client;
use crate::function::Error;
use crate::transport;

/// The content type of a function URL's streamed answer: a JSON prelude
/// (status, headers, cookies), eight NUL bytes, then the body.
const HTTP_CONTENT_TYPE: &str = "application/vnd.awslambda.http-integration-response";

/// The body of a streamed answer. Each `write` goes out at once as one
/// HTTP chunk (wrap it in a `BufWriter` to send fewer, larger ones); the
/// first also sends the request head, and the HTTP prelude if there is one.
/// A write fails once the API has refused the stream or the connection is
/// gone; the runtime then reports what happened after the function returns.
///
/// The stream stays on the thread that serves the invocation.
pub struct Stream {
    _thread_bound: PhantomData<*const ()>,
}

/// The current invocation's stream, per thread.
struct Open {
    request_id: String,
    invocation_id: Option<String>,
    /// The HTTP prelude, until it is sent.
    prelude: Option<Vec<u8>>,
    http: bool,
    /// The connection, once the head is sent.
    socket: Option<TcpStream>,
    /// Why sending failed, if it did: later writes fail the same way.
    broken: Option<io::ErrorKind>,
    /// The bytes of one write, framed as a chunk.
    buffer: Vec<u8>,
    /// [`Open::end`], reached through this pointer so that only a binary
    /// whose function streams (calls [`Stream::new`]) contains it: a
    /// buffered function pays nothing for streaming.
    end: fn(Open, Option<&Error>) -> io::Result<u16>,
}

thread_local! {
    static OPEN: RefCell<Option<Open>> = const { RefCell::new(None) };
}

impl Stream {
    /// Opens the stream for this invocation, or returns the one already open
    /// (a second `stream_http` keeps the first one's prelude).
    pub(crate) fn new(request_id: &str, invocation_id: Option<&str>, prelude: Option<Vec<u8>>) -> Stream {
        OPEN.with(|open| {
            let mut open = open.borrow_mut();
            if open.as_ref().is_none_or(|o| o.request_id != request_id) {
                *open = Some(Open {
                    request_id: request_id.to_owned(),
                    invocation_id: invocation_id.map(str::to_owned),
                    http: prelude.is_some(),
                    prelude,
                    socket: None,
                    broken: None,
                    buffer: Vec::new(),
                    end: Open::end,
                });
            }
        });
        Stream {
            _thread_bound: PhantomData,
        }
    }
}

impl Write for Stream {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if bytes.is_empty() {
            return Ok(0);
        }
        OPEN.with(|open| match open.borrow_mut().as_mut() {
            Some(open) => open.send(bytes).map(|()| bytes.len()),
            None => Err(io::Error::other("the invocation this stream belonged to is over")),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Open {
    /// Frames `bytes` as a chunk (after the head and prelude if this is the
    /// first) and writes them in one call.
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some(kind) = self.broken {
            return Err(io::Error::new(kind, "the response stream is closed"));
        }
        self.buffer.clear();
        if self.socket.is_none() {
            let (socket, path, authority) = Client::with_thread(|client| {
                let path = client.path(&self.request_id, "response");
                client
                    .stream_socket()
                    .map(|socket| (socket, path, client.authority().to_owned()))
            })??;
            self.socket = Some(socket);
            head(
                &mut self.buffer,
                &path,
                &authority,
                self.invocation_id.as_deref(),
                self.http,
            );
            if let Some(prelude) = self.prelude.take() {
                // Each in a chunk of its own: `cargo lambda watch` reads the
                // prelude and the separator as one HTTP frame each (Lambda
                // reads bytes, so it takes either framing).
                chunk(&mut self.buffer, &prelude);
                chunk(&mut self.buffer, &[0; 8]);
            }
        }
        chunk(&mut self.buffer, bytes);
        self.write_buffer()
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
    fn end(mut self, failure: Option<&Error>) -> io::Result<u16> {
        if self.socket.is_none() {
            // Nothing written yet: send the head (and prelude) now.
            self.send(b"")?;
        }
        if self.broken.is_none() {
            self.buffer.clear();
            end(&mut self.buffer, failure);
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

/// Ends this thread's stream if the function opened one; `None` if not, and
/// the answer is buffered. `failure` is the function's error, if any.
pub(crate) fn finish(failure: Option<&Error>) -> Option<io::Result<u16>> {
    let open = OPEN.with(|open| open.try_borrow_mut().ok()?.take())?;
    if open.socket.is_none() && failure.is_some() {
        // Not a byte sent: the error goes to `/error` like a buffered one.
        return None;
    }
    Some((open.end)(open, failure))
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

/// The last chunk, and the error trailers if the function failed.
fn end(out: &mut Vec<u8>, failure: Option<&Error>) {
    out.extend_from_slice(b"0\r\n");
    if let Some(error) = failure {
        let _ = write!(
            out,
            "Lambda-Runtime-Function-Error-Type: {}\r\nLambda-Runtime-Function-Error-Body: ",
            error.error_type()
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

    #[test]
    fn the_end_carries_the_error_in_trailers() {
        let mut out = Vec::new();
        end(&mut out, None);
        assert_eq!(text(out), "0\r\n\r\n");

        let error = Error::new("Function.Boom", "it broke");
        let mut out = Vec::new();
        end(&mut out, Some(&error));
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
}
