//! Lending a worker's connection to a streamed answer.
//!
//! ureq owns the connections it pools, but a streamed answer is a request
//! the runtime writes itself ([`crate::stream`]). It goes over the worker's
//! own connection when that one is idle and open, and that connection is
//! closed afterwards, as AWS asks of a streamed answer: the [`Lender`] keeps
//! a second handle on the newest connection's socket for this, and tells
//! the transport which connection it lent (retired), so that ureq opens a
//! new one rather than reuse it.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::address;

/// What a client's connections tell it about their sockets. One per client:
/// one worker's connections.
#[derive(Debug)]
pub struct Lender {
    /// The next connection's number: never reused, so a retired number
    /// means one connection only.
    next_id: AtomicU64,
    /// The newest connection's number and a second handle on its socket.
    newest: Mutex<Option<(u64, TcpStream)>>,
    /// The connection that a stream used and closed: ureq must not reuse it.
    retired: AtomicU64,
}

impl Default for Lender {
    fn default() -> Lender {
        Lender {
            next_id: AtomicU64::new(0),
            newest: Mutex::default(),
            retired: AtomicU64::new(u64::MAX),
        }
    }
}

impl Lender {
    /// Numbers a connection the transport just opened, and keeps a handle
    /// on its socket.
    pub fn opened(&self, socket: &TcpStream) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        *self.lock() = socket.try_clone().ok().map(|socket| (id, socket));
        id
    }

    /// Connection `id` now runs over `socket` (the transport reconnected).
    pub fn reopened(&self, id: u64, socket: &TcpStream) {
        let mut newest = self.lock();
        if newest.as_ref().is_some_and(|(newest, _)| *newest == id) {
            *newest = socket.try_clone().ok().map(|socket| (id, socket));
        }
    }

    /// Connection `id` is gone.
    pub fn closed(&self, id: u64) {
        let mut newest = self.lock();
        if newest.as_ref().is_some_and(|(newest, _)| *newest == id) {
            *newest = None;
        }
    }

    /// Whether connection `id` was lent to a stream, which closed it.
    pub fn is_retired(&self, id: u64) -> bool {
        self.retired.load(Ordering::Relaxed) == id
    }

    /// A socket for a streamed answer: the newest connection's, when it is
    /// idle and open (that connection is retired: its borrower closes it),
    /// else a new connection to `address`.
    pub fn lend(&self, address: SocketAddr) -> io::Result<TcpStream> {
        let newest = {
            let newest = self.lock();
            newest
                .as_ref()
                .and_then(|(id, socket)| Some((*id, socket.try_clone().ok()?)))
        };
        match newest {
            Some((id, socket)) if idle_and_open(&socket) => {
                self.retired.store(id, Ordering::Relaxed);
                Ok(socket)
            }
            _ => address::connect(address),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, TcpStream)>> {
        self.newest.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether an idle socket is still open: nothing to read yet, and no end
/// of stream. Three system calls, once per stream.
fn idle_and_open(socket: &TcpStream) -> bool {
    if socket.set_nonblocking(true).is_err() {
        return false;
    }
    let open = matches!(socket.peek(&mut [0]), Err(error) if error.kind() == io::ErrorKind::WouldBlock);
    socket.set_nonblocking(false).is_ok() && open
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn an_idle_open_connection_is_lent_and_retired() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (client, _server) = pair(&listener);
        let lender = Lender::default();
        let id = lender.opened(&client);
        assert!(!lender.is_retired(id));
        let lent = lender.lend(listener.local_addr().unwrap()).unwrap();
        assert_eq!(lent.local_addr().unwrap(), client.local_addr().unwrap());
        assert!(lender.is_retired(id));
    }

    #[test]
    fn a_connection_with_unread_bytes_or_closed_is_not_lent() {
        for close in [false, true] {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let address = listener.local_addr().unwrap();
            let (client, mut server) = pair(&listener);
            if close {
                drop(server);
            } else {
                server.write_all(b"x").unwrap();
            }
            let lender = Lender::default();
            let id = lender.opened(&client);
            // Until loopback has delivered the byte or the close (bounded).
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while idle_and_open(&client) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let lent = lender.lend(address).unwrap();
            assert_ne!(
                lent.local_addr().unwrap(),
                client.local_addr().unwrap(),
                "close: {close}"
            );
            assert!(!lender.is_retired(id));
        }
    }

    #[test]
    fn a_closed_connection_is_forgotten() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (client, _server) = pair(&listener);
        let lender = Lender::default();
        let id = lender.opened(&client);
        lender.closed(id);
        let lent = lender.lend(listener.local_addr().unwrap()).unwrap();
        assert_ne!(lent.local_addr().unwrap(), client.local_addr().unwrap());
    }
}
