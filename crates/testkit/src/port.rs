//! Free loopback ports for test processes.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::Mutex;

static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// Ports are picked below the kernel's ephemeral range (32768–60999 on Linux), where no
/// outgoing connection takes them between this check and the broker's bind: with ports
/// from `bind(0)` a node's own outbound replication connection sometimes got the port
/// reserved for its neighbour's listener ("Address already in use").
const LOW: u32 = 20_000;
const SPAN: u32 = 12_000;

/// A port that was free a moment ago and that this process has not handed out before.
///
/// # Panics
/// When no port can be found (the machine is out of ports): a test cannot go on then.
pub fn reserve_port() -> u16 {
    // A different walk through the range per process, so parallel test binaries rarely
    // try the same ports.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ (std::process::id() << 7);
    let mut guard = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let handed = guard.get_or_insert_with(HashSet::new);
    for n in 0..SPAN {
        let port = (LOW + (seed.wrapping_add(n.wrapping_mul(7_919))) % SPAN) as u16;
        if handed.contains(&port) || TcpListener::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        handed.insert(port);
        return port;
    }
    panic!("no free loopback port found");
}
