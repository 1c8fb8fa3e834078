//! ActiveMQ's REST message endpoint, so existing curl scripts keep working:
//! `POST /api/message/NAME?type=queue` with a `body` parameter (query or form, else the
//! raw request body) sends a text message; `GET /api/message/NAME?type=queue` consumes one
//! (waiting up to `readTimeout` ms; 204 when none came). HTTP Basic auth.

use crate::actions::check_queue_name;
use crate::auth::ApiUser;
use crate::console_state::Shared;
use crate::error::ApiError;
use crate::message_view::Outgoing;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use broker::{Broker, ConnectionId, ConsumerSpec, Destination, Outbox};
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

/// How long a `GET` waits for a message without `readTimeout`.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest `readTimeout` honoured.
pub const MAX_READ_TIMEOUT: Duration = Duration::from_secs(60);

pub fn router() -> Router<Shared> {
    Router::new().route("/api/message/{name}", get(consume).post(produce))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Params {
    #[serde(rename = "type")]
    kind: Option<String>,
    body: Option<String>,
    #[serde(rename = "readTimeout")]
    read_timeout: Option<u64>,
    #[serde(rename = "JMSDeliveryMode")]
    delivery_mode: Option<String>,
    persistent: Option<bool>,
}

/// `NAME?type=queue|topic` (ActiveMQ also takes `queue://NAME` / `topic://NAME`).
fn destination(name: &str, kind: Option<&str>) -> Result<Destination, ApiError> {
    if let Some(n) = name.strip_prefix("queue://") {
        return Ok(Destination::Queue(n.into()));
    }
    if let Some(n) = name.strip_prefix("topic://") {
        return Ok(Destination::Topic(n.into()));
    }
    check_queue_name(name)?;
    match kind.unwrap_or("queue") {
        "queue" => Ok(Destination::Queue(name.into())),
        "topic" => Ok(Destination::Topic(name.into())),
        other => Err(ApiError::BadRequest(format!(
            "type must be queue or topic, not {other:?}"
        ))),
    }
}

async fn produce(
    _user: ApiUser,
    State(state): State<Shared>,
    Path(name): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    raw: bytes::Bytes,
) -> Result<Response, ApiError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let form: Params = if is_form {
        serde_urlencoded_form(&raw)?
    } else {
        Params::default()
    };
    let kind = params.kind.as_deref().or(form.kind.as_deref());
    let dest = destination(&name, kind)?;
    let body = match (params.body.clone(), form.body.clone()) {
        (Some(b), _) | (None, Some(b)) => b,
        (None, None) if !is_form => String::from_utf8(raw.to_vec())
            .map_err(|_| ApiError::BadRequest("the message body must be UTF-8 text".into()))?,
        (None, None) => String::new(),
    };
    let persistent = params
        .persistent
        .or(form.persistent)
        .or_else(|| {
            params
                .delivery_mode
                .as_deref()
                .or(form.delivery_mode.as_deref())
                .map(|m| !m.eq_ignore_ascii_case("non_persistent") && m != "1")
        })
        .unwrap_or(true);
    let m = state.make_message(dest, Outgoing::text(body, persistent));
    state.broker.send(m).await?;
    Ok((StatusCode::OK, "Message sent").into_response())
}

fn serde_urlencoded_form(raw: &[u8]) -> Result<Params, ApiError> {
    serde_urlencoded::from_bytes(raw)
        .map_err(|e| ApiError::BadRequest(format!("invalid form: {e}")))
}

/// Disconnects the console's temporary consumer connection however the request ends
/// (a client that hangs up mid-wait must not leave a consumer behind).
struct ConnectionGuard {
    broker: Broker,
    connection: ConnectionId,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.broker.disconnect(self.connection);
    }
}

async fn consume(
    _user: ApiUser,
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let dest = destination(&name, params.kind.as_deref())?;
    let wait = params
        .read_timeout
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_READ_TIMEOUT)
        .min(MAX_READ_TIMEOUT);
    let broker = state.broker.clone();
    let connection = broker.connect(None)?;
    let _guard = ConnectionGuard {
        broker: broker.clone(),
        connection,
    };
    broker.describe_connection(connection, peer, "rest");
    let outbox = Outbox::new();
    let mut spec = ConsumerSpec::new(dest);
    spec.prefetch = 1;
    let consumer = broker.subscribe(connection, spec, outbox.clone()).await?;
    let mut shutdown = state.shutdown.clone();
    let next = async {
        loop {
            if let Some(d) = outbox.drain(1).pop() {
                return d;
            }
            outbox.ready().await;
        }
    };
    // A waiting consumer must not hold up the broker's shutdown.
    let delivery = tokio::select! {
        d = tokio::time::timeout(wait, next) => d.ok(),
        _ = shutdown.wait_for(|stop| *stop) => None,
    };
    let Some(delivery) = delivery else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    broker.ack(consumer, &[delivery.key]).await?;
    let m = &delivery.message;
    let content_type = if matches!(
        m.body_kind,
        broker::BodyKind::Text | broker::BodyKind::Empty
    ) {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::HeaderName::from_static("jmsmessageid"),
                m.id.clone(),
            ),
        ],
        m.body.clone(),
    )
        .into_response())
}
