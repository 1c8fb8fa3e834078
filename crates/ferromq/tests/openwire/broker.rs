//! The broker under test: a `TestBroker`, or an external one from `OPENWIRE_TEST_BROKER`.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;
use testkit::TestBroker;

/// How long a TCP connect to the OpenWire port may take before the test gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub enum Broker {
    Local(TestBroker),
    External(String),
}

impl Broker {
    /// Starts a fresh `ferromq` (or names the external broker) and fails at once, with the
    /// broker log, when nothing accepts connections on its OpenWire port.
    pub fn start() -> Broker {
        let broker = match std::env::var("OPENWIRE_TEST_BROKER") {
            Ok(addr) if !addr.is_empty() => Broker::External(addr),
            _ => Broker::Local(TestBroker::start()),
        };
        broker.require_listener();
        broker
    }

    pub fn openwire_addr(&self) -> String {
        match self {
            Broker::Local(b) => b.openwire_addr(),
            Broker::External(a) => a.clone(),
        }
    }

    /// The STOMP address (`OPENWIRE_TEST_BROKER_STOMP` for an external broker).
    pub fn stomp_addr(&self) -> String {
        match self {
            Broker::Local(b) => b.stomp_addr(),
            Broker::External(_) => {
                std::env::var("OPENWIRE_TEST_BROKER_STOMP").unwrap_or_else(|_| {
                    panic!("set OPENWIRE_TEST_BROKER_STOMP for cross-protocol tests")
                })
            }
        }
    }

    /// `tcp://HOST:PORT`
    pub fn tcp_url(&self) -> String {
        format!("tcp://{}", self.openwire_addr())
    }

    /// The seed's URL shape: `failover:(tcp://HOST:PORT)?randomize=false`.
    pub fn failover_url(&self) -> String {
        format!("failover:({})?randomize=false", self.tcp_url())
    }

    /// Whether the broker process is still alive (always true for an external broker).
    pub fn is_running(&mut self) -> bool {
        match self {
            Broker::Local(b) => b.is_running(),
            Broker::External(_) => true,
        }
    }

    pub fn socket_addr(&self) -> SocketAddr {
        let addr = self.openwire_addr();
        addr.to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .unwrap_or_else(|| panic!("bad OpenWire address {addr}"))
    }

    /// Panics with a clear message when the OpenWire port refuses connections: a `failover:`
    /// Java client would otherwise retry forever. (A `TestBroker` prints its log when a test
    /// panics.)
    pub fn require_listener(&self) {
        let addr = self.socket_addr();
        if let Err(e) = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            panic!(
                "nothing accepts connections on the OpenWire port {addr}: {e}\n\
                 (ferromq must serve OpenWire on --openwire, issue 3)"
            );
        }
    }
}
