//! The ferromq web console on `console.bind` (default `127.0.0.1:8161`): HTML pages for
//! browsers (login form, session cookie, CSRF token on every action), the JSON API under
//! `/api/v1/` and ActiveMQ's `/api/message` endpoint for scripts (HTTP Basic auth), and
//! Prometheus `/metrics` (ARCHITECTURE decision 8). It knows the broker, not protocols.
//!
//! How the files fit:
//! - [`users`]: configured users and argon2 hashes, the generated first-start password;
//!   [`login_limiter`]: wrong passwords rate-limited per address; [`sessions`]: browser
//!   sessions and CSRF tokens; [`auth`]: the extractors that check all of that.
//! - [`actions`]: what an operator changes (shared by the API and the pages);
//!   [`api`]: the JSON API (described in `openapi.json`); [`rest`]: `/api/message`;
//!   [`metrics`]: `/metrics`; [`pages`]: the HTML pages; [`listing`], [`message_view`]:
//!   what the API and the pages share; [`escape`]: HTML, URL and label escaping;
//!   [`rate_history`]: message rates for the overview and its live chart;
//!   [`latency_histogram`]: the journal's fsync latency, as the binary hands it over.
//! - [`console_state`]: what every handler shares; [`cluster_view`]: this node's role and
//!   cluster, as the binary tells it.

pub mod actions;
pub mod api;
pub mod auth;
pub mod cluster_view;
pub mod console_state;
pub mod error;
pub mod escape;
pub mod latency_histogram;
pub mod listing;
pub mod login_limiter;
pub mod message_view;
pub mod metrics;
pub mod pages;
pub mod rate_history;
pub mod rest;
pub mod sessions;
pub mod users;

pub use cluster_view::{ClusterNode, ClusterView, LocalRaft, NodesFuture, Standalone};
pub use error::ConsoleError;
pub use latency_histogram::{HistogramSource, LatencyHistogram};
pub use users::{hash_password, UserEntry};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use broker::Broker;
use console_state::{ConsoleState, Shared};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

/// What the console needs to start.
pub struct ConsoleSettings {
    /// `host:port` to listen on.
    pub bind: String,
    /// Configured users; empty = the generated first-start `admin`.
    pub users: Vec<UserEntry>,
    /// Where the generated password's hash is kept.
    pub data_dir: PathBuf,
    /// This node's role and cluster ([`Standalone`] for a single node).
    pub cluster: Arc<dyn ClusterView>,
    /// The store's fsync latency for `/metrics` (`None`: the store does not fsync).
    pub fsync_latency: Option<HistogramSource>,
}

/// The console's routes (without the listener), for [`start`] and tests.
pub fn router(state: Shared) -> Router {
    Router::new()
        .merge(api::router())
        .merge(rest::router())
        .merge(pages::router())
        .route("/metrics", get(metrics::metrics))
        .fallback(no_such_route)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Samples the message counters once a second until shutdown.
async fn sample_rates(state: Shared, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(rate_history::SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = tick.tick() => state.rates.sample(&state.broker),
        }
    }
}

/// Defence in depth for every answer: no framing (clickjacking of the action buttons), no
/// inline or foreign scripts, no content sniffing, nothing cached.
async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let h = response.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

/// The answer for a path no route serves (distinct from a missing queue or message).
async fn no_such_route() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"error": "no such route"})),
    )
}

/// Binds the console and serves it until `shutdown` turns true.
///
/// # Errors
/// The address cannot be bound; a configured password hash is invalid; the generated
/// password's hash file cannot be read or written.
pub async fn start(
    settings: ConsoleSettings,
    broker: Broker,
    mut shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, ConsoleError> {
    let users = {
        let (configured, dir) = (settings.users.clone(), settings.data_dir.clone());
        tokio::task::spawn_blocking(move || users::Users::load_or_generate(&configured, &dir))
            .await
            .map_err(|e| ConsoleError::Hash(e.to_string()))??
    };
    let listener = tokio::net::TcpListener::bind(&settings.bind)
        .await
        .map_err(|source| ConsoleError::Bind {
            address: settings.bind.clone(),
            source,
        })?;
    let bound = listener.local_addr().map_err(|source| ConsoleError::Bind {
        address: settings.bind.clone(),
        source,
    })?;
    let state = Arc::new(ConsoleState {
        broker,
        users,
        sessions: Default::default(),
        limiter: Default::default(),
        rates: Default::default(),
        shutdown: shutdown.clone(),
        cluster: settings.cluster,
        fsync_latency: settings.fsync_latency,
        sent: Default::default(),
        started_ms: broker::message::now_millis(),
    });
    tokio::spawn(sample_rates(state.clone(), shutdown.clone()));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    tracing::info!(address = %bound, "web console started");
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "web console stopped with an error");
        }
    }))
}
