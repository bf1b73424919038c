//! Reading a request head off a socket without taking a byte past it.
//!
//! A `BufReader` takes whatever the kernel holds, so the body that follows a
//! head lands in user space with it. To close right after a head the way a
//! real server that gives up mid-request does ([`crate::Reply::CloseAfterHead`]),
//! the body must still be in the kernel's receive queue: closing a socket
//! with unread data there makes the kernel reset the connection instead of
//! ending it cleanly, and the client sees that reset.

use std::io::{self, BufRead, Read};
use std::net::TcpStream;

/// How much is peeked at once; a longer head just takes more peeks.
const PEEK: usize = 16 * 1024;

/// A [`BufRead`] over a socket whose `fill_buf` peeks, so bytes leave the
/// socket only once the parser has consumed them: before the next peek, and
/// at [`Exact::finish`].
pub(crate) struct Exact<'a> {
    stream: &'a TcpStream,
    /// Peeked bytes: still in the socket.
    buf: Vec<u8>,
    /// How many of `buf` the parser consumed.
    pos: usize,
}

impl<'a> Exact<'a> {
    pub(crate) fn new(stream: &'a TcpStream) -> Exact<'a> {
        Exact {
            stream,
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// Takes what the parser consumed off the socket, and nothing more.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.take_consumed()
    }

    fn take_consumed(&mut self) -> io::Result<()> {
        // These bytes were peeked, so they are in the receive queue: the read
        // returns at once, with the same bytes.
        self.stream.read_exact(&mut self.buf[..self.pos])?;
        self.buf.clear();
        self.pos = 0;
        Ok(())
    }
}

impl BufRead for Exact<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.buf.len() {
            self.take_consumed()?;
            self.buf.resize(PEEK, 0);
            // Blocks until at least one byte is there; 0 is the peer's EOF.
            match self.stream.peek(&mut self.buf) {
                Ok(n) => self.buf.truncate(n),
                Err(e) => {
                    self.buf.clear();
                    return Err(e);
                }
            }
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
}

impl Read for Exact<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http;
    use std::io::Write;
    use std::net::TcpListener;
    use std::thread;
    use std::time::Duration;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        (client, server)
    }

    #[test]
    fn reads_the_head_and_leaves_the_body_in_the_socket() {
        let (mut client, mut server) = pair();
        client
            .write_all(b"POST /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nBODY")
            .unwrap();
        let mut exact = Exact::new(&server);
        let head = http::read_head(&mut exact).unwrap().unwrap();
        exact.finish().unwrap();
        assert_eq!(head.start, "POST /a HTTP/1.1");
        assert_eq!(http::field(&head.fields, "content-length"), Some("4"));
        let mut body = [0; 4];
        server.read_exact(&mut body).unwrap();
        assert_eq!(&body, b"BODY");
    }

    #[test]
    fn a_head_split_across_writes_is_read_whole() {
        let (mut client, mut server) = pair();
        let writer = thread::spawn(move || {
            client.write_all(b"GET /b HTTP/1.1\r\nX-Spl").unwrap();
            thread::sleep(Duration::from_millis(50));
            client.write_all(b"it: yes\r\n\r\nGET /c").unwrap();
            client
        });
        let mut exact = Exact::new(&server);
        let head = http::read_head(&mut exact).unwrap().unwrap();
        exact.finish().unwrap();
        assert_eq!(http::field(&head.fields, "x-split"), Some("yes"));
        let _client = writer.join().unwrap();
        let mut next = [0; 6];
        server.read_exact(&mut next).unwrap();
        assert_eq!(&next, b"GET /c");
    }

    #[test]
    fn eof_before_a_head_is_a_clean_end() {
        let (client, server) = pair();
        drop(client);
        assert!(http::read_head(&mut Exact::new(&server)).unwrap().is_none());
    }
}
