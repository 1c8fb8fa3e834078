//! The JSON API under `/api/v1/` (HTTP Basic auth; described in `openapi.json`).

use crate::auth::ApiUser;
use crate::console_state::Shared;
use crate::error::ApiError;
use crate::listing::{select, select_queues, ListQuery, MAX_LIMIT};
use crate::message_view::{full_json, summary_json, Outgoing};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use broker::Destination;
use serde::Deserialize;
use serde_json::{json, Value};

/// The OpenAPI description of this API, served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/queues", get(list_queues).post(create_queue))
        .route("/api/v1/queues/{name}", get(get_queue).delete(delete_queue))
        .route("/api/v1/queues/{name}/purge", post(purge_queue))
        .route(
            "/api/v1/queues/{name}/messages",
            get(browse).post(send_message),
        )
        .route("/api/v1/queues/{name}/messages/{id}", get(view_message))
        .route("/api/v1/queues/{name}/move", post(move_messages))
        .route("/api/v1/topics", get(topics))
        .route("/api/v1/subscriptions", get(subscriptions))
        .route(
            "/api/v1/subscriptions/{client_id}/{name}",
            delete(delete_subscription),
        )
        .route("/api/v1/connections", get(connections))
        .route("/api/v1/cluster", get(cluster))
}

async fn openapi(_user: ApiUser) -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

/// The overview as JSON (also what the overview page shows).
pub fn overview_json(state: &Shared) -> Value {
    let o = state.broker.overview();
    let rates = state.rates.current();
    json!({
        "name": o.name,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": o.uptime.as_secs(),
        "role": state.cluster.role(),
        "memory_used": o.memory_used,
        "memory_limit": o.memory_limit,
        "store_disk_bytes": o.store.disk_bytes,
        "store_last_index": o.store.last_index,
        "connections": o.connections,
        "consumers": o.consumers,
        "queues": o.queues,
        "topics": o.topics,
        "messages_in": o.messages_in,
        "messages_out": o.messages_out,
        "rate_in": rates.messages_in,
        "rate_out": rates.messages_out,
    })
}

async fn overview(_user: ApiUser, State(state): State<Shared>) -> Json<Value> {
    Json(overview_json(&state))
}

fn queue_json(i: &broker::QueueInfo) -> Value {
    json!({
        "name": i.destination.name(),
        "pending": i.pending,
        "inflight": i.inflight,
        "consumers": i.consumers,
        "enqueued": i.counters.enqueued,
        "dequeued": i.counters.dequeued,
        "expired": i.counters.expired,
    })
}

async fn list_queues(
    _user: ApiUser,
    State(state): State<Shared>,
    Query(q): Query<ListQuery>,
) -> Json<Value> {
    let (total, page) = select_queues(state.broker.queues(), &q);
    Json(list_json(&q, total, "queues", page.iter().map(queue_json)))
}

/// One page of a list: `{total, offset, limit, <key>: [rows]}`.
fn list_json(q: &ListQuery, total: usize, key: &str, rows: impl Iterator<Item = Value>) -> Value {
    let mut out = json!({"total": total, "offset": q.offset(), "limit": q.limit()});
    out[key] = Value::Array(rows.collect());
    out
}

async fn get_queue(
    _user: ApiUser,
    State(state): State<Shared>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dest = Destination::Queue(name.as_str().into());
    state
        .broker
        .queues()
        .iter()
        .find(|i| i.destination == dest)
        .map(|i| Json(queue_json(i)))
        .ok_or(ApiError::NotFound(format!("no queue named {name}")))
}

#[derive(Deserialize)]
struct NewQueue {
    name: String,
}

async fn create_queue(
    ApiUser(user): ApiUser,
    State(state): State<Shared>,
    Json(body): Json<NewQueue>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    state.create_queue(&user, &body.name).await?;
    Ok((StatusCode::CREATED, Json(json!({"name": body.name}))))
}

async fn delete_queue(
    ApiUser(user): ApiUser,
    State(state): State<Shared>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.delete_queue(&user, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn purge_queue(
    ApiUser(user): ApiUser,
    State(state): State<Shared>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let purged = state.purge_queue(&user, &name).await?;
    Ok(Json(json!({"purged": purged})))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PageQuery {
    offset: Option<usize>,
    limit: Option<usize>,
}

async fn browse(
    _user: ApiUser,
    State(state): State<Shared>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    if !state.broker.has_queue(&name) {
        return Err(ApiError::NotFound(format!("no queue named {name}")));
    }
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    let page = state.broker.browse_page(&name, offset, limit);
    Ok(Json(json!({
        "total": page.total,
        "offset": offset,
        "limit": limit,
        "messages": page.messages.iter().map(summary_json).collect::<Vec<_>>(),
    })))
}

async fn view_message(
    _user: ApiUser,
    State(state): State<Shared>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    state
        .broker
        .find_message(&name, &id)
        .map(|m| Json(full_json(&m)))
        .ok_or(ApiError::NotFound(format!(
            "no message {id} waiting in {name}"
        )))
}

async fn send_message(
    ApiUser(user): ApiUser,
    State(state): State<Shared>,
    Path(name): Path<String>,
    Json(out): Json<Outgoing>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = state.send(&user, &name, out).await?;
    Ok((StatusCode::CREATED, Json(json!({"message_id": id}))))
}

#[derive(Deserialize)]
struct MoveRequest {
    to: String,
    message_ids: Vec<String>,
    #[serde(default)]
    copy: bool,
}

async fn move_messages(
    ApiUser(user): ApiUser,
    State(state): State<Shared>,
    Path(name): Path<String>,
    Json(req): Json<MoveRequest>,
) -> Result<Json<Value>, ApiError> {
    let moved = state
        .move_messages(&user, &name, &req.message_ids, &req.to, req.copy)
        .await?;
    Ok(Json(json!({"moved": moved})))
}

async fn topics(
    _user: ApiUser,
    State(state): State<Shared>,
    Query(q): Query<ListQuery>,
) -> Json<Value> {
    let (total, page) = select(state.broker.topics(), &q);
    let rows = page.iter().map(|t| {
        json!({"name": t.name, "enqueued": t.enqueued, "consumers": t.consumers, "durables": t.durables})
    });
    Json(list_json(&q, total, "topics", rows))
}

async fn subscriptions(
    _user: ApiUser,
    State(state): State<Shared>,
    Query(q): Query<ListQuery>,
) -> Json<Value> {
    let (total, page) = select(state.broker.durable_subscriptions(), &q);
    let rows = page.iter().map(|d| {
        json!({"client_id": d.client_id, "name": d.name, "topic": d.topic,
               "selector": d.selector, "pending": d.pending, "active": d.active})
    });
    Json(list_json(&q, total, "subscriptions", rows))
}

async fn delete_subscription(
    ApiUser(user): ApiUser,
    State(state): State<Shared>,
    Path((client_id, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.delete_subscription(&user, &client_id, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn connections(_user: ApiUser, State(state): State<Shared>) -> Json<Value> {
    let conns: Vec<Value> = state
        .broker
        .connections()
        .iter()
        .map(|c| {
            json!({"id": c.id, "client_id": c.client_id, "remote_address": c.remote,
                   "protocol": c.protocol, "sessions": c.sessions, "consumers": c.consumers})
        })
        .collect();
    Json(json!({ "connections": conns }))
}

/// The cluster as JSON (also what the cluster page shows).
pub async fn cluster_json(state: &Shared) -> Value {
    let nodes = state.cluster.nodes().await;
    let master = nodes.iter().find(|n| n.elected);
    json!({
        "mode": if state.cluster.local().is_some() { "replicated" } else { "single" },
        "role": state.cluster.role(),
        "master": master.map(|m| json!({"id": m.id, "address": m.address, "console_url": m.console_url})),
        "nodes": nodes,
    })
}

async fn cluster(_user: ApiUser, State(state): State<Shared>) -> Json<Value> {
    Json(cluster_json(&state).await)
}
