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
//! - the connection counts as open until a read or write says otherwise,
//!   with no probe of the socket: the Runtime API never closes it. If a peer
//!   did, the next call would fail and the runtime exit, as on any dropped
//!   connection. Bytes left in the buffer after a response close it (ureq
//!   checks that);
//! - buffers come zeroed from the allocator;
//! - the address is an IP literal or `localhost`, parsed once: no DNS, which
//!   keeps std's lookup code and musl's resolver (about 60 KB) out.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};

use ureq::Error;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
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
            write_failed: None,
        }))
    }
}

/// The socket address of `http://host[:port]/...`, where host is an IP
/// literal (`127.0.0.1`, `[::1]`) or `localhost`: the only hosts the Runtime
/// API lives on.
pub fn socket_address(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    // Port 80, HTTP's default, when none is given.
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']')?;
            let port = if after.is_empty() {
                80
            } else {
                after.strip_prefix(':')?.parse().ok()?
            };
            (host, port)
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, port.parse().ok()?),
            None => (authority, 80),
        },
    };
    let ip = if host.eq_ignore_ascii_case("localhost") {
        Ipv4Addr::LOCALHOST.into()
    } else {
        host.parse().ok()?
    };
    Some(SocketAddr::new(ip, port))
}

/// Hands ureq the one address, parsed up front, for every request. ureq
/// asks before every request, pooled connection or not, so the answer is
/// built once and copied: building it costs a thousand instructions.
pub struct FixedAddress(ResolvedSocketAddrs);

impl FixedAddress {
    pub fn new(address: SocketAddr) -> FixedAddress {
        // `from_fn` fills the spare slots and starts out empty.
        let mut addresses = ResolvedSocketAddrs::from_fn(|_| address);
        addresses.push(address);
        FixedAddress(addresses)
    }
}

impl fmt::Debug for FixedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FixedAddress").field(&&self.0[..]).finish()
    }
}

impl Resolver for FixedAddress {
    fn resolve(&self, _: &Uri, _: &Config, _: NextTimeout) -> Result<ResolvedSocketAddrs, Error> {
        Ok(self.0.clone())
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
    /// Why a write failed. The peer may have answered before it stopped
    /// reading (Go's `net/http` answers 413 to an oversized body without
    /// reading it, then closes): the rest of the request is dropped and the
    /// answer read; only when there is none does this error stand.
    write_failed: Option<io::Error>,
}

impl Connection {
    fn flush(&mut self) {
        if !self.pending.is_empty() && self.write_failed.is_none() {
            if let Err(error) = self.stream.write_all(&self.pending) {
                self.open = false;
                self.write_failed = Some(error);
            }
        }
        self.pending.clear();
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
        // `amount` is at most the output buffer, well under the threshold.
        if self.pending.len() + amount > COALESCE_BYTES {
            self.flush();
        }
        self.pending.extend_from_slice(&self.buffers.output[..amount]);
        Ok(())
    }

    fn await_input(&mut self, _: NextTimeout) -> Result<bool, Error> {
        self.flush();
        if self.buffers.input_append_buf().is_empty() {
            // A response head that fills the whole buffer: say so, rather
            // than read into nothing and take the 0 for a closed peer.
            return Err(Error::LargeResponseHeader(BUFFER_BYTES + 1, BUFFER_BYTES));
        }
        let read = loop {
            match self.stream.read(self.buffers.input_append_buf()) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let amount = match (read, self.write_failed.take()) {
            (Ok(amount), _) if amount > 0 => amount,
            // No answer after all: the failed write is what happened.
            (_, Some(failed)) => return self.io(Err(failed)),
            (Ok(amount), None) => amount,
            (Err(error), None) => return self.io(Err(error)),
        };
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
    fn the_resolver_always_gives_the_one_address() {
        let address: SocketAddr = "127.0.0.1:9001".parse().unwrap();
        let resolver = FixedAddress::new(address);
        let uri: Uri = "http://127.0.0.1:9001/x".parse().unwrap();
        for _ in 0..2 {
            let resolved = resolver
                .resolve(&uri, &Config::default(), NextTimeout::default())
                .unwrap();
            assert_eq!(&resolved[..], &[address]);
        }
    }

    #[test]
    fn addresses_are_ip_literals_or_localhost() {
        let address = |url| socket_address(url).map(|a| a.to_string());
        assert_eq!(
            address("http://127.0.0.1:9001").as_deref(),
            Some("127.0.0.1:9001")
        );
        assert_eq!(
            address("http://127.0.0.1:9000/.rt/fn").as_deref(),
            Some("127.0.0.1:9000")
        );
        assert_eq!(address("http://[::]:9000/.rt").as_deref(), Some("[::]:9000"));
        assert_eq!(address("http://[::1]/x").as_deref(), Some("[::1]:80"));
        assert_eq!(
            address("http://LocalHost:9001").as_deref(),
            Some("127.0.0.1:9001")
        );
        assert_eq!(address("http://10.0.0.1").as_deref(), Some("10.0.0.1:80"));
        for unusable in [
            "http://example.com:9001",
            "http://127.0.0.1:x",
            "http://:9001",
            "127.0.0.1:9001",
            "http://[::1:9",
        ] {
            assert_eq!(address(unusable), None, "{unusable}");
        }
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
}
