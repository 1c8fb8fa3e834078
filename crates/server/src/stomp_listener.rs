//! The STOMP listener: accepts sockets and runs one task per connection.

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
        mut shutdown: watch::Receiver<bool>,
    ) {
        let settings = Arc::new(settings);
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        tokio::spawn(serve(stream, peer, broker.clone(), settings.clone(), shutdown.clone()));
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            }
        }
    }
}
