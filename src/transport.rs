//! The one TCP connection under ureq, shaped for the Runtime API.
//!
//! ureq's own TCP transport is built for the open internet: it probes a
//! pooled connection with three system calls before and after every request,
//! writes a request's head and body separately, zero-fills its buffers byte
//! by byte at the first request, and asks the resolver for every request.
//! The Runtime API is one HTTP/1.1 peer on loopback that keeps its connection
//! open, so this transport keeps the connection's state itself instead:
//!
//! - a request goes out in one write (head and a small body together), and
//!   its answer usually comes in one read: four system calls an invocation;
//! - the connection counts as open until a read or write says otherwise;
//!   bytes left over after a response still close it (ureq checks that);
//! - buffers come zeroed from the allocator, and the address is resolved once.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::OnceLock;

use ureq::Error;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

/// Size of the input and of the output buffer. Runtime API answer headers
/// are a few KiB at most (the client context, the largest, is capped at
/// 3,583 bytes); bodies stream through.
pub const BUFFER_BYTES: usize = 8 * 1024;

/// Writes up to this size wait to go out with the next one, so a request's
/// head and a small body share one system call. Larger bodies stream.
const COALESCE_BYTES: usize = 64 * 1024;

/// Opens the connection to the Runtime API.
#[derive(Debug, Default)]
pub struct Loopback;

impl Connector for Loopback {
    type Out = Connection;

    fn connect(&self, details: &ConnectionDetails, _: Option<()>) -> Result<Option<Connection>, Error> {
        let stream = TcpStream::connect(&details.addrs[..])?;
        // Writes are already whole requests: Nagle's delay would only stall them.
        stream.set_nodelay(true)?;
        Ok(Some(Connection {
            stream,
            buffers: RuntimeBuffers::new(),
            pending: Vec::new(),
            open: true,
        }))
    }
}

/// Resolves the API's address on the first request and reuses it: it can't
/// change while the process lives.
#[derive(Debug, Default)]
pub struct ResolveOnce(OnceLock<ResolvedSocketAddrs>);

impl Resolver for ResolveOnce {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, Error> {
        if let Some(addrs) = self.0.get() {
            return Ok(addrs.clone());
        }
        let addrs = DefaultResolver::default().resolve(uri, config, timeout)?;
        Ok(self.0.get_or_init(|| addrs).clone())
    }
}

#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    buffers: RuntimeBuffers,
    /// Output handed to us but not yet written.
    pending: Vec<u8>,
    /// False once a read saw the end of the stream or any I/O failed.
    open: bool,
}

impl Connection {
    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let written = self.stream.write_all(&self.pending);
            self.pending.clear();
            written?;
        }
        Ok(())
    }

    fn io<T>(&mut self, result: io::Result<T>) -> Result<T, Error> {
        result.map_err(|error| {
            self.open = false;
            Error::Io(error)
        })
    }
}

// No timeouts are configured for this agent (the `/next` long poll must
// never time out), so the transport has none to apply.
impl Transport for Connection {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, _: NextTimeout) -> Result<(), Error> {
        if self.pending.len() + amount > COALESCE_BYTES {
            let flushed = self.flush();
            self.io(flushed)?;
        }
        let output = &self.buffers.output[..amount];
        if amount > COALESCE_BYTES {
            let written = self.stream.write_all(output);
            return self.io(written);
        }
        self.pending.extend_from_slice(output);
        Ok(())
    }

    fn await_input(&mut self, _: NextTimeout) -> Result<bool, Error> {
        let flushed = self.flush();
        self.io(flushed)?;
        let read = loop {
            match self.stream.read(self.buffers.input_append_buf()) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let amount = self.io(read)?;
        self.open &= amount > 0;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.open
    }
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

    /// Moves unconsumed input to the front when the back is full.
    fn make_room(&mut self) {
        if self.end == self.input.len() && self.start > 0 {
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
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
}
