//! A loopback TCP proxy the test controls: network faults without touching the broker.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Forwards every connection accepted on its own loopback port to `target`.
///
/// [`TcpProxy::cut`] closes every connection open at that moment (both sides see a reset or
/// EOF) and keeps accepting, so a `failover:` client reconnects through it.
/// [`TcpProxy::block`] turns it into a silent partition (bytes are swallowed, new
/// connections are held open without a target) until [`TcpProxy::unblock`]. `Drop` stops
/// accepting and closes everything.
pub struct TcpProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    target: String,
    stopped: AtomicBool,
    /// A silent partition: pumps swallow what they read, new connections are held.
    blocked: AtomicBool,
    accepted: AtomicU64,
    /// Both ends of every live connection, so that `cut` can shut them down.
    live: Mutex<Vec<(TcpStream, TcpStream)>>,
    /// Connections accepted while blocked: open, never forwarded, closed on unblock.
    held: Mutex<Vec<TcpStream>>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards to `target` (`HOST:PORT`).
    ///
    /// # Panics
    /// When no loopback port can be bound: a test cannot go on then.
    pub fn start(target: &str) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("tcp proxy: cannot bind a loopback port: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("tcp proxy: no local address: {e}"));
        let shared = Arc::new(Shared {
            target: target.to_string(),
            stopped: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            accepted: AtomicU64::new(0),
            live: Mutex::new(Vec::new()),
            held: Mutex::new(Vec::new()),
        });
        let s = Arc::clone(&shared);
        thread::Builder::new()
            .name("tcp-proxy-accept".into())
            .spawn(move || accept_loop(&listener, &s))
            .unwrap_or_else(|e| panic!("tcp proxy: cannot spawn: {e}"));
        TcpProxy { addr, shared }
    }

    /// `127.0.0.1:PORT` that clients connect to.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Connections accepted so far (reconnects included).
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Closes every connection open now, both towards the client and towards the target;
    /// returns how many were cut. New connections are still accepted.
    pub fn cut(&self) -> usize {
        let pairs: Vec<_> = std::mem::take(&mut *lock(&self.shared.live));
        for (client, upstream) in &pairs {
            let _ = client.shutdown(Shutdown::Both);
            let _ = upstream.shutdown(Shutdown::Both);
        }
        let held: Vec<_> = std::mem::take(&mut *lock(&self.shared.held));
        for client in &held {
            let _ = client.shutdown(Shutdown::Both);
        }
        pairs.len() + held.len()
    }

    /// A silent partition: from now on nothing passes in either direction, but no
    /// connection is closed either (open ones swallow their bytes, new ones are accepted
    /// and held), so the peers only notice through their own timeouts.
    pub fn block(&self) {
        self.shared.blocked.store(true, Ordering::SeqCst);
    }

    /// Ends [`block`](Self::block): every connection open now is cut (their streams lost
    /// bytes, so they cannot go on) and new ones are forwarded again.
    pub fn unblock(&self) {
        self.shared.blocked.store(false, Ordering::SeqCst);
        self.cut();
    }

    pub fn is_blocked(&self) -> bool {
        self.shared.blocked.load(Ordering::SeqCst)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for incoming in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = incoming else { continue };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        if shared.blocked.load(Ordering::SeqCst) {
            lock(&shared.held).push(client);
            continue;
        }
        let Ok(upstream) = TcpStream::connect_timeout(
            &match shared.target.parse() {
                Ok(a) => a,
                Err(_) => continue,
            },
            Duration::from_secs(5),
        ) else {
            // Target down: the client sees its connection closed, like a refused connect.
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = upstream.set_nodelay(true);
        let handles = (
            client.try_clone(),
            upstream.try_clone(),
            upstream.try_clone(),
            client.try_clone(),
        );
        let (Ok(c_read), Ok(u_write), Ok(u_read), Ok(c_write)) = handles else {
            continue;
        };
        lock(&shared.live).push((client, upstream));
        spawn_pump("tcp-proxy-up", c_read, u_write, Arc::clone(shared));
        spawn_pump("tcp-proxy-down", u_read, c_write, Arc::clone(shared));
    }
}

/// Copies `from` into `to` until either side closes, then closes both directions; while the
/// proxy is blocked, what is read is dropped.
fn spawn_pump(name: &str, mut from: TcpStream, mut to: TcpStream, shared: Arc<Shared>) {
    let _ = thread::Builder::new().name(name.into()).spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) if shared.blocked.load(Ordering::SeqCst) => {}
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees `stopped`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        self.cut();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = l.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
        thread::spawn(move || {
            for s in l.incoming().flatten() {
                thread::spawn(move || {
                    let mut s = s;
                    let mut buf = [0u8; 1024];
                    while let Ok(n @ 1..) = s.read(&mut buf) {
                        if s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    fn roundtrip(addr: &str) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"ping")?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf)?;
        Ok(buf.to_vec())
    }

    #[test]
    fn forwards_and_cut_closes_open_connections_only() {
        let proxy = TcpProxy::start(&echo_server().to_string());
        assert_eq!(roundtrip(&proxy.addr()).ok(), Some(b"ping".to_vec()));
        let mut open = TcpStream::connect(proxy.addr()).unwrap_or_else(|e| panic!("{e}"));
        open.write_all(b"ab").unwrap_or_else(|e| panic!("{e}"));
        let mut two = [0u8; 2];
        open.read_exact(&mut two).unwrap_or_else(|e| panic!("{e}"));
        assert!(proxy.cut() >= 1);
        let _ = open.set_read_timeout(Some(Duration::from_secs(5)));
        let mut one = [0u8; 1];
        assert!(
            matches!(open.read(&mut one), Ok(0) | Err(_)),
            "cut connection still open"
        );
        assert_eq!(roundtrip(&proxy.addr()).ok(), Some(b"ping".to_vec()));
        assert!(proxy.accepted() >= 3);
    }

    #[test]
    fn blocked_proxy_is_silent_until_unblocked() {
        let proxy = TcpProxy::start(&echo_server().to_string());
        let mut open = TcpStream::connect(proxy.addr()).unwrap_or_else(|e| panic!("{e}"));
        let _ = open.set_read_timeout(Some(Duration::from_millis(300)));
        proxy.block();
        open.write_all(b"x").unwrap_or_else(|e| panic!("{e}"));
        let mut one = [0u8; 1];
        assert!(
            open.read(&mut one).is_err(),
            "a blocked proxy must neither answer nor close"
        );
        let mut fresh = TcpStream::connect(proxy.addr()).unwrap_or_else(|e| panic!("{e}"));
        let _ = fresh.set_read_timeout(Some(Duration::from_millis(300)));
        fresh.write_all(b"y").unwrap_or_else(|e| panic!("{e}"));
        assert!(fresh.read(&mut one).is_err(), "new connection answered");
        proxy.unblock();
        let _ = fresh.set_read_timeout(Some(Duration::from_secs(5)));
        assert!(matches!(fresh.read(&mut one), Ok(0) | Err(_)));
        assert_eq!(roundtrip(&proxy.addr()).ok(), Some(b"ping".to_vec()));
    }
}
