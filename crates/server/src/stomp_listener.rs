//! The STOMP listener: accepts sockets and runs one task per connection.

use crate::accept_loop::accept_until;
use crate::stomp_connection::{serve, StompSettings};
use broker::Broker;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub struct StompListener {
    listener: TcpListener,
}

impl StompListener {
    /// # Errors
    /// The address cannot be bound.
    pub async fn bind(addr: &str) -> std::io::Result<StompListener> {
        Ok(StompListener {
            listener: TcpListener::bind(addr).await?,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts until `shutdown` turns true.
    pub async fn run(
        self,
        broker: Broker,
        settings: StompSettings,
        shutdown: watch::Receiver<bool>,
    ) {
        let settings = Arc::new(settings);
        let conn_shutdown = shutdown.clone();
        accept_until(&self.listener, shutdown, |stream, peer| {
            tokio::spawn(serve(
                stream,
                peer,
                broker.clone(),
                settings.clone(),
                conn_shutdown.clone(),
            ));
        })
        .await;
    }
}
