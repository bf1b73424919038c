//! Where the Runtime API lives and how to reach it: the two forms of
//! `AWS_LAMBDA_RUNTIME_API`, the one socket address they name, and a
//! connection to it.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// The environment variable that holds the API's address.
pub const VARIABLE: &str = "AWS_LAMBDA_RUNTIME_API";

/// Turns either form of `AWS_LAMBDA_RUNTIME_API` into a base URL without a
/// trailing slash: `host:port` (real Lambda) gets `http://`, a full URL
/// (`cargo lambda watch`: `http://127.0.0.1:9000/.rt`) keeps its path.
/// `None` for anything else.
pub fn base_url(address: &str) -> Option<String> {
    let address = address.trim();
    if address.is_empty() || address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    // Char patterns, not "://" (docs/design.md, "Size").
    let scheme = address
        .split_once(':')
        .and_then(|(scheme, rest)| rest.strip_prefix("//").map(|rest| (scheme, rest)));
    let url = match scheme {
        // No TLS on loopback: https would fail later with a worse message.
        Some(("http", rest)) if !rest.is_empty() => address.to_owned(),
        Some(_) => return None,
        None => format!("http://{address}"),
    };
    Some(url.trim_end_matches('/').to_owned())
}

/// The socket address of `http://host:port/...`, where host is an IP
/// literal (`127.0.0.1`, `[::1]`) or `localhost`: the only hosts the Runtime
/// API lives on, so no name is ever looked up. The port is required: the
/// API never listens on port 80.
pub fn socket_address(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (host, port) = bracketed.split_once(']')?;
            (host, port.strip_prefix(':')?)
        }
        None => authority.split_once(':')?,
    };
    let ip = if host.eq_ignore_ascii_case("localhost") {
        Ipv4Addr::LOCALHOST.into()
    } else {
        host.parse().ok()?
    };
    Some(SocketAddr::new(ip, port.parse().ok()?))
}

/// A new connection to `address`; the error names the address.
pub fn connect(address: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(address)
        .map_err(|error| io::Error::new(error.kind(), format!("connecting to {address}: {error}")))?;
    // Writes are already whole requests: Nagle's delay would only stall them.
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Hands ureq the one address, parsed up front, for every request. ureq
/// asks before every request, pooled connection or not, so the answer is
/// built once and copied.
pub struct FixedAddress(ResolvedSocketAddrs);

impl FixedAddress {
    /// A resolver that always answers `address`.
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
    fn resolve(&self, _: &Uri, _: &Config, _: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        Ok(self.0.clone())
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
            assert_eq!(base_url(address), None, "{address:?}");
        }
    }

    #[test]
    fn addresses_are_ip_literals_or_localhost_with_a_port() {
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
        assert_eq!(
            address("http://LocalHost:9001").as_deref(),
            Some("127.0.0.1:9001")
        );
        for unusable in [
            "http://example.com:9001",
            "http://127.0.0.1:x",
            "http://:9001",
            "127.0.0.1:9001",
            "http://[::1:9",
            // No port: the Runtime API never listens on HTTP's default.
            "http://127.0.0.1",
            "http://[::1]/x",
            "http://10.0.0.1",
        ] {
            assert_eq!(address(unusable), None, "{unusable}");
        }
    }

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
}
