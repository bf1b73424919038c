//! A tiny blocking HTTP/1.1 client: one request per connection.
//!
//! For tests that must call an HTTP endpoint themselves, such as an
//! emulator's invoke API, without a client dependency. It reuses the server's
//! parser, so answers framed by `Content-Length`, chunked, or by closing the
//! connection are all read whole.

use std::io::{self, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::http;

/// An answer: status, header fields in order, and the decoded body.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        http::field(&self.headers, name)
    }
}

/// Sends `method path` to `addr` (`host:port`) with `headers`, a
/// `Content-Length` body and `Connection: close`, and reads the answer.
/// `timeout` bounds the connect and every read and write, so a silent server
/// fails the call instead of hanging it.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> io::Result<Response> {
    let target = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no address for {addr}")))?;
    let stream = TcpStream::connect_timeout(&target, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;

    let mut message = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        message.push_str(&format!("{name}: {value}\r\n"));
    }
    message.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut writer = stream.try_clone()?;
    writer.write_all(message.as_bytes())?;
    writer.write_all(body)?;

    let mut reader = BufReader::new(stream);
    loop {
        let head = http::read_head(&mut reader)?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before an answer")
        })?;
        let status = http::parse_status_line(&head.start)?;
        if (100..200).contains(&status) {
            continue; // An interim answer: the real one follows.
        }
        let framing = http::response_framing(status, &head.fields)?;
        let body = http::read_body(&mut reader, framing)?;
        return Ok(Response {
            status,
            headers: head.fields,
            body: body.bytes,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Reply, Script, Server, error_path};
    use std::net::TcpListener;
    use std::thread;

    const WAIT: Duration = Duration::from_secs(10);

    #[test]
    fn talks_to_the_fake_api() {
        let server = Server::start_with_prefix(
            "/.rt",
            Script::new().invoke("a", "{}").on_error("a", Reply::Status(410)),
        )
        .unwrap();
        let next = format!("/.rt{}", crate::NEXT_PATH);
        let answer = request(&server.addr(), "GET", &next, &[], b"", WAIT).unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("LAMBDA-RUNTIME-AWS-REQUEST-ID"), Some("a"));
        let error = format!("/.rt{}", error_path("a"));
        let headers = [("Lambda-Runtime-Function-Error-Type", "Runtime.X")];
        let answer = request(&server.addr(), "POST", &error, &headers, b"{}", WAIT).unwrap();
        assert_eq!(answer.status, 410);

        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[1].header("connection"), Some("close"));
        assert_eq!(
            requests[1].header("Lambda-Runtime-Function-Error-Type"),
            Some("Runtime.X")
        );
        assert_eq!(requests[1].body, b"{}");
    }

    /// Serves one canned answer to one connection.
    fn canned(answer: &'static [u8]) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let head = http::read_head(&mut reader).unwrap().unwrap();
            http::read_body(&mut reader, http::request_framing(&head.fields).unwrap()).unwrap();
            (&stream).write_all(answer).unwrap();
        });
        addr
    }

    #[test]
    fn reads_chunked_and_close_delimited_answers() {
        let addr = canned(
            b"HTTP/1.1 100 Continue\r\n\r\n\
              HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n\
              4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
        );
        let answer = request(&addr, "POST", "/", &[], b"x", WAIT).unwrap();
        assert_eq!(
            (answer.status, answer.body.as_slice()),
            (500, b"{\"a\":1}".as_slice())
        );

        let addr = canned(b"HTTP/1.0 200 OK\r\n\r\nuntil close");
        let answer = request(&addr, "GET", "/", &[], b"", WAIT).unwrap();
        assert_eq!(
            (answer.status, answer.body.as_slice()),
            (200, b"until close".as_slice())
        );
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let error = request(&addr, "GET", "/", &[], b"", Duration::from_millis(100)).unwrap_err();
        assert!(
            matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut),
            "{error:?}"
        );
        drop(listener);
    }
}
