//! What every request handler shares: the broker, users, sessions, the login limiter.

use crate::cluster_view::ClusterView;
use crate::login_limiter::LoginLimiter;
use crate::rate_history::RateHistory;
use crate::sessions::Sessions;
use crate::users::Users;
use broker::Broker;
use std::sync::Arc;

pub struct ConsoleState {
    pub broker: Broker,
    pub users: Users,
    pub sessions: Sessions,
    pub limiter: LoginLimiter,
    /// Message rates, sampled once a second.
    pub rates: RateHistory,
    /// This node's role and its cluster.
    pub cluster: Arc<dyn ClusterView>,
    /// The store's fsync latency, for `/metrics`.
    pub fsync_latency: Option<crate::latency_histogram::HistogramSource>,
    /// Per-process counter for ids of messages the console sends.
    pub sent: std::sync::atomic::AtomicU64,
    /// Turns true when the broker shuts down: long waits (`GET /api/message`) end then.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Start time in epoch milliseconds: part of message ids, so they differ across restarts.
    pub started_ms: i64,
}

pub type Shared = Arc<ConsoleState>;
