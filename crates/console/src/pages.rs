//! Server-rendered HTML pages for browsers: a login form, then overview, queues (with
//! actions), one queue's messages, one message, topics and durable subscriptions (with
//! delete), connections, cluster.
//!
//! Every name, body and property goes through [`html`] (text and attributes) or
//! [`url_component`] (links); every form that changes something carries the session's
//! CSRF token, checked before anything happens.

use crate::api::overview_json;
use crate::auth::{check_password, PageUser};
use crate::console_state::Shared;
use crate::error::ApiError;
use crate::escape::{hex, html, url_component};
use crate::listing::{select, select_queues, ListQuery, Listed};
use crate::message_view::{body_kind_name, body_size, body_text, Outgoing};
use crate::sessions::{same_secret, COOKIE};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::fmt::Write;
use std::net::SocketAddr;

/// Messages per page when browsing a queue.
const MESSAGES_PER_PAGE: usize = 50;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/", get(overview))
        .route("/overview/rates.svg", get(rates_chart))
        .route("/console.js", get(script))
        .route("/queues", get(queues).post(create_queue))
        .route("/queues/{name}", get(queue))
        .route("/queues/{name}/purge", post(purge_queue))
        .route("/queues/{name}/delete", post(delete_queue))
        .route("/queues/{name}/send", post(send_message))
        .route("/queues/{name}/messages/{id}", get(message))
        .route("/queues/{name}/messages/{id}/move", post(move_message))
        .route("/topics", get(topics))
        .route("/subscriptions", get(subscriptions))
        .route(
            "/subscriptions/{client_id}/{name}/delete",
            post(delete_subscription),
        )
        .route("/connections", get(connections))
        .route("/cluster", get(cluster))
}

const STYLE: &str = "body{font-family:sans-serif;margin:0}nav{background:#234;padding:.5em 1em}\
nav a{color:#fff;margin-right:1em}main{padding:1em}table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}form.inline{display:inline}\
pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap;word-break:break-all}.err{color:#a00}";

fn layout(title: &str, user: Option<&PageUser>, body: &str) -> Html<String> {
    let nav = match user {
        Some(u) => format!(
            "<nav><a href=\"/\">Overview</a><a href=\"/queues\">Queues</a><a href=\"/topics\">Topics</a><a href=\"/subscriptions\">Durable subscriptions</a>\
             <a href=\"/connections\">Connections</a><a href=\"/cluster\">Cluster</a><span style=\"color:#ccc\">{}</span> \
             <form class=\"inline\" method=\"post\" action=\"/logout\">{}<button>Log out</button></form></nav>",
            html(u.name()),
            csrf_field(u)
        ),
        None => String::from("<nav><a href=\"/login\">ferromq</a></nav>"),
    };
    Html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{} - ferromq</title>\
         <style>{STYLE}</style></head><body>{nav}<main><h1>{}</h1>{body}</main></body></html>",
        html(title),
        html(title)
    ))
}

fn csrf_field(u: &PageUser) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        html(u.csrf())
    )
}

/// The refusal of an action whose form lacks the session's CSRF token; `None` when the
/// token is right.
fn csrf_refusal(u: &PageUser, token: &str) -> Option<Response> {
    if same_secret(u.csrf(), token) {
        return None;
    }
    tracing::warn!(user = %u.name(), "console: action without a valid CSRF token refused");
    Some(
        (
            StatusCode::FORBIDDEN,
            layout(
                "Forbidden",
                Some(u),
                "<p class=\"err\">Invalid or missing CSRF token.</p>",
            ),
        )
            .into_response(),
    )
}

/// After an action: back to `redirect`, or an error page with the action's status.
fn finish<T>(u: &PageUser, done: Result<T, ApiError>, redirect: &str) -> Response {
    match done {
        Ok(_) => Redirect::to(redirect).into_response(),
        Err(e) => error_page(u, e.status(), &e.to_string()),
    }
}

fn error_page(u: &PageUser, status: StatusCode, message: &str) -> Response {
    (
        status,
        layout(
            "Error",
            Some(u),
            &format!("<p class=\"err\">{}</p>", html(message)),
        ),
    )
        .into_response()
}

// ----- login -------------------------------------------------------------------------

fn login_page(error: Option<&str>) -> Html<String> {
    let err = error
        .map(|e| format!("<p class=\"err\">{}</p>", html(e)))
        .unwrap_or_default();
    layout(
        "Log in",
        None,
        &format!(
            "{err}<form method=\"post\" action=\"/login\">\
             <p><label>User <input name=\"user\" autocomplete=\"username\"></label></p>\
             <p><label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label></p>\
             <p><button>Log in</button></p></form>"
        ),
    )
}

async fn login_form() -> Html<String> {
    login_page(None)
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
    password: String,
}

async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    let ip = peer.ip();
    match check_password(&state, ip, form.user, form.password).await {
        Ok(user) => match state.sessions.open(&user) {
            Ok(id) => {
                tracing::info!(%user, client = %ip, "console: logged in");
                let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict");
                (
                    StatusCode::SEE_OTHER,
                    [
                        (header::SET_COOKIE, cookie),
                        (header::LOCATION, "/".to_string()),
                    ],
                )
                    .into_response()
            }
            Err(e) => {
                tracing::error!(error = %e, "console: cannot open a session");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    login_page(Some("cannot open a session")),
                )
                    .into_response()
            }
        },
        Err(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => {
            let retry = r.headers().get(header::RETRY_AFTER).cloned();
            let mut resp = (
                StatusCode::TOO_MANY_REQUESTS,
                login_page(Some("Too many wrong passwords: try again later.")),
            )
                .into_response();
            if let Some(v) = retry {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        Err(_) => (
            StatusCode::UNAUTHORIZED,
            login_page(Some("Wrong user name or password.")),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<Shared>,
    user: PageUser,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(r) = csrf_refusal(&user, &form.csrf) {
        return r;
    }
    state.sessions.close(user.session_id());
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response()
}

// ----- overview ------------------------------------------------------------------------

async fn overview(State(state): State<Shared>, user: PageUser) -> Html<String> {
    let o = overview_json(&state);
    let mut rows = String::new();
    if let Some(map) = o.as_object() {
        for (k, v) in map {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let _ = write!(
                rows,
                "<tr><th>{}</th><td>{}</td></tr>",
                html(k),
                html(&text)
            );
        }
    }
    layout(
        "Overview",
        Some(&user),
        &format!(
            "<h2>Messages per second</h2><img id=\"rates\" src=\"/overview/rates.svg\" alt=\"message rates\">\
             <table>{rows}</table><script src=\"/console.js\"></script>"
        ),
    )
}

/// The live chart of message rates (reloaded every few seconds by `console.js`).
async fn rates_chart(State(state): State<Shared>, _user: PageUser) -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml")], state.rates.svg()).into_response()
}

/// The pages' only script: reloads the rates chart. Served as a file so the content
/// security policy can forbid inline scripts.
const SCRIPT: &str = "setInterval(function () {\n\
  var chart = document.getElementById('rates');\n\
  if (chart) { chart.src = '/overview/rates.svg?t=' + Date.now(); }\n\
}, 2000);\n";

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

// ----- queues --------------------------------------------------------------------------

fn queue_link(name: &str) -> String {
    format!("/queues/{}", url_component(name))
}

/// The parts every list page (queues, topics) shares: the filter form, column headers
/// that sort (a second click reverses), and previous/next links, all keeping the query.
struct ListControls<'a> {
    /// The page's path: `/queues`, `/topics` or `/subscriptions`.
    path: &'static str,
    q: &'a ListQuery,
    sort: &'static str,
}

impl<'a> ListControls<'a> {
    fn new<T: Listed>(path: &'static str, q: &'a ListQuery) -> ListControls<'a> {
        ListControls {
            path,
            q,
            sort: q.sort_key::<T>(),
        }
    }

    fn filter(&self) -> &str {
        self.q.filter.as_deref().unwrap_or("")
    }

    fn filter_form(&self) -> String {
        format!(
            "<form method=\"get\" action=\"{}\"><input name=\"filter\" value=\"{}\" placeholder=\"filter\">\
             <button>Filter</button></form>",
            self.path,
            html(self.filter())
        )
    }

    /// `<th>` cells for `(sort key, label)` columns.
    fn headers(&self, columns: &[(&str, &str)]) -> String {
        let mut out = String::new();
        for (key, label) in columns {
            let order = if self.sort == *key && !self.q.descending() {
                "desc"
            } else {
                "asc"
            };
            let _ = write!(
                out,
                "<th><a href=\"{}?filter={}&amp;sort={key}&amp;order={order}\">{label}</a></th>",
                self.path,
                url_component(self.filter())
            );
        }
        out
    }

    fn pager(&self, total: usize) -> String {
        let (offset, limit) = (self.q.offset(), self.q.limit());
        let base = format!(
            "{}?filter={}&amp;sort={}&amp;order={}&amp;limit={limit}",
            self.path,
            url_component(self.filter()),
            self.sort,
            if self.q.descending() { "desc" } else { "asc" }
        );
        let mut out = String::new();
        if offset > 0 {
            let _ = write!(
                out,
                "<a href=\"{base}&amp;offset={}\">previous</a> ",
                offset.saturating_sub(limit)
            );
        }
        if offset + limit < total {
            let _ = write!(
                out,
                "<a href=\"{base}&amp;offset={}\">next</a>",
                offset + limit
            );
        }
        out
    }
}

async fn queues(
    State(state): State<Shared>,
    user: PageUser,
    Query(q): Query<ListQuery>,
) -> Html<String> {
    let (total, page) = select_queues(state.broker.queues(), &q);
    let list = ListControls::new::<broker::QueueInfo>("/queues", &q);
    let mut body = format!(
        "{}<form method=\"post\" action=\"/queues\">{}<input name=\"name\" placeholder=\"new queue\">\
         <button>Create</button></form><p>{total} queues</p><table><tr>{}<th>actions</th></tr>",
        list.filter_form(),
        csrf_field(&user),
        list.headers(&[
            ("name", "Name"),
            ("pending", "Pending"),
            ("consumers", "Consumers"),
            ("enqueued", "Enqueued"),
            ("dequeued", "Dequeued"),
        ]),
    );
    for i in &page {
        let name = i.destination.name();
        let link = queue_link(name);
        let _ = write!(
            body,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>\
             <form class=\"inline\" method=\"post\" action=\"{}/purge\">{}<button>Purge</button></form> \
             <form class=\"inline\" method=\"post\" action=\"{}/delete\">{}<button>Delete</button></form></td></tr>",
            html(&link),
            html(name),
            i.pending,
            i.consumers,
            i.counters.enqueued,
            i.counters.dequeued,
            html(&link),
            csrf_field(&user),
            html(&link),
            csrf_field(&user),
        );
    }
    body.push_str("</table>");
    body.push_str(&list.pager(total));
    layout("Queues", Some(&user), &body)
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    csrf: String,
    name: String,
}

async fn create_queue(
    State(state): State<Shared>,
    user: PageUser,
    Form(form): Form<CreateForm>,
) -> Response {
    if let Some(r) = csrf_refusal(&user, &form.csrf) {
        return r;
    }
    let done = state.create_queue(user.name(), &form.name).await;
    finish(&user, done, "/queues")
}

async fn purge_queue(
    State(state): State<Shared>,
    user: PageUser,
    Path(name): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(r) = csrf_refusal(&user, &form.csrf) {
        return r;
    }
    let done = state.purge_queue(user.name(), &name).await;
    finish(&user, done, &queue_link(&name))
}

async fn delete_queue(
    State(state): State<Shared>,
    user: PageUser,
    Path(name): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(r) = csrf_refusal(&user, &form.csrf) {
        return r;
    }
    let done = state.delete_queue(user.name(), &name).await;
    finish(&user, done, "/queues")
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OffsetQuery {
    offset: usize,
}

async fn queue(
    State(state): State<Shared>,
    user: PageUser,
    Path(name): Path<String>,
    Query(q): Query<OffsetQuery>,
) -> Response {
    if !state.broker.has_queue(&name) {
        return error_page(
            &user,
            StatusCode::NOT_FOUND,
            &format!("no queue named {name}"),
        );
    }
    let page = state.broker.browse_page(&name, q.offset, MESSAGES_PER_PAGE);
    let link = queue_link(&name);
    let mut body = format!(
        "<p>{} messages waiting</p>\
         <form method=\"post\" action=\"{}/send\">{}<textarea name=\"body\" rows=\"3\" cols=\"60\"></textarea>\
         <label><input type=\"checkbox\" name=\"persistent\" value=\"true\" checked> persistent</label>\
         <button>Send</button></form>\
         <form class=\"inline\" method=\"post\" action=\"{}/purge\">{}<button>Purge</button></form>\
         <table><tr><th>Message id</th><th>Priority</th><th>Persistent</th><th>Redelivered</th><th>Size</th></tr>",
        page.total,
        html(&link),
        csrf_field(&user),
        html(&link),
        csrf_field(&user),
    );
    for m in &page.messages {
        let _ = write!(
            body,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&format!("{link}/messages/{}", url_component(&m.message.id))),
            html(&m.message.id),
            m.message.priority,
            m.message.persistent,
            m.redeliveries > 0,
            body_size(&m.message),
        );
    }
    body.push_str("</table>");
    if q.offset > 0 {
        let _ = write!(
            body,
            "<a href=\"{}?offset={}\">previous</a> ",
            html(&link),
            q.offset.saturating_sub(MESSAGES_PER_PAGE)
        );
    }
    if q.offset + MESSAGES_PER_PAGE < page.total {
        let _ = write!(
            body,
            "<a href=\"{}?offset={}\">next</a>",
            html(&link),
            q.offset + MESSAGES_PER_PAGE
        );
    }
    layout(&format!("Queue {name}"), Some(&user), &body).into_response()
}

#[derive(Deserialize)]
struct SendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    persistent: Option<String>,
}

async fn send_message(
    State(state): State<Shared>,
    user: PageUser,
    Path(name): Path<String>,
    Form(form): Form<SendForm>,
) -> Response {
    if let Some(r) = csrf_refusal(&user, &form.csrf) {
        return r;
    }
    let out = Outgoing::text(form.body, form.persistent.is_some());
    let done = state.send(user.name(), &name, out).await;
    finish(&user, done, &queue_link(&name))
}

async fn message(
    State(state): State<Shared>,
    user: PageUser,
    Path((name, id)): Path<(String, String)>,
) -> Response {
    let Some(q) = state.broker.find_message(&name, &id) else {
        return error_page(
            &user,
            StatusCode::NOT_FOUND,
            &format!("no message {id} waiting in {name}"),
        );
    };
    let m = &q.message;
    let mut body = String::from("<h2>Headers</h2><table>");
    let headers: [(&str, String); 10] = [
        ("Message id", m.id.clone()),
        ("Destination", m.destination.to_string()),
        ("Persistent", m.persistent.to_string()),
        ("Priority", m.priority.to_string()),
        ("Timestamp", m.timestamp.to_string()),
        ("Expiration", m.expiration.to_string()),
        (
            "Correlation id",
            m.correlation_id.clone().unwrap_or_default(),
        ),
        (
            "Reply to",
            m.reply_to
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ),
        ("Type", m.jms_type.clone().unwrap_or_default()),
        ("Redeliveries", q.redeliveries.to_string()),
    ];
    for (k, v) in headers {
        let _ = write!(body, "<tr><th>{k}</th><td>{}</td></tr>", html(&v));
    }
    body.push_str("</table><h2>Properties</h2><table>");
    for (k, v) in &m.properties {
        let _ = write!(
            body,
            "<tr><th>{}</th><td>{}</td></tr>",
            html(k),
            html(&v.to_text())
        );
    }
    let _ = write!(
        body,
        "</table><h2>Body ({}, {} bytes)</h2>",
        body_kind_name(m.body_kind),
        m.body.len()
    );
    match body_text(m) {
        Some(t) => {
            let _ = write!(body, "<pre>{}</pre>", html(t));
        }
        None => {
            let _ = write!(body, "<pre>{}</pre>", hex(&m.body));
        }
    }
    let action = format!("{}/messages/{}/move", queue_link(&name), url_component(&id));
    let _ = write!(
        body,
        "<h2>Move or copy</h2><form method=\"post\" action=\"{}\">{}<input name=\"to\" placeholder=\"target queue\">\
         <label><input type=\"checkbox\" name=\"copy\" value=\"true\"> copy (keep the original)</label>\
         <button>Move</button></form>",
        html(&action),
        csrf_field(&user)
    );
    layout(&format!("Message {id}"), Some(&user), &body).into_response()
}

#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    csrf: String,
    to: String,
    #[serde(default)]
    copy: Option<String>,
}

async fn move_message(
    State(state): State<Shared>,
    user: PageUser,
    Path((name, id)): Path<(String, String)>,
    Form(form): Form<MoveForm>,
) -> Response {
    if let Some(r) = csrf_refusal(&user, &form.csrf) {
        return r;
    }
    let copy = form.copy.is_some();
    let done = match state
        .move_messages(user.name(), &name, &[id], &form.to, copy)
        .await
    {
        Ok(0) => Err(ApiError::NotFound(
            "the message is no longer waiting".into(),
        )),
        other => other,
    };
    finish(&user, done, &queue_link(&form.to))
}

// ----- topics and connections ----------------------------------------------------------

async fn topics(
    State(state): State<Shared>,
    user: PageUser,
    Query(q): Query<ListQuery>,
) -> Html<String> {
    let (total, page) = select(state.broker.topics(), &q);
    let list = ListControls::new::<broker::introspect::TopicInfo>("/topics", &q);
    let mut body = format!(
        "{}<p>{total} topics</p><table><tr>{}</tr>",
        list.filter_form(),
        list.headers(&[
            ("name", "Topic"),
            ("enqueued", "Enqueued"),
            ("consumers", "Consumers"),
            ("durables", "Durable subscriptions"),
        ]),
    );
    for t in &page {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&t.name),
            t.enqueued,
            t.consumers,
            t.durables
        );
    }
    body.push_str("</table>");
    body.push_str(&list.pager(total));
    let durables = state.broker.durable_subscriptions().len();
    let _ = write!(
        body,
        "<p><a href=\"/subscriptions\">{durables} durable subscriptions</a></p>"
    );
    layout("Topics", Some(&user), &body)
}

/// Durable subscriptions, filtered (client id, name or topic), sorted and paged like the
/// destination lists, each with a form that deletes it.
async fn subscriptions(
    State(state): State<Shared>,
    user: PageUser,
    Query(q): Query<ListQuery>,
) -> Html<String> {
    let (total, page) = select(state.broker.durable_subscriptions(), &q);
    let list = ListControls::new::<broker::introspect::DurableInfo>("/subscriptions", &q);
    let mut body = format!(
        "{}<p>{total} durable subscriptions</p><table><tr>{}<th>Client id</th><th>Topic</th>\
         <th>Selector</th>{}<th>Active</th><th>actions</th></tr>",
        list.filter_form(),
        list.headers(&[("name", "Name")]),
        list.headers(&[("pending", "Pending")]),
    );
    for d in &page {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>\
             <form class=\"inline\" method=\"post\" action=\"{}\">{}<button>Delete</button></form></td></tr>",
            html(&d.name),
            html(&d.client_id),
            html(&d.topic),
            html(d.selector.as_deref().unwrap_or("")),
            d.pending,
            d.active,
            html(&format!(
                "/subscriptions/{}/{}/delete",
                url_component(&d.client_id),
                url_component(&d.name)
            )),
            csrf_field(&user),
        );
    }
    body.push_str("</table>");
    body.push_str(&list.pager(total));
    layout("Durable subscriptions", Some(&user), &body)
}

/// Deletes an inactive durable subscription and its messages (refused while it has a
/// consumer, as in ActiveMQ).
async fn delete_subscription(
    State(state): State<Shared>,
    user: PageUser,
    Path((client_id, name)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(r) = csrf_refusal(&user, &form.csrf) {
        return r;
    }
    let done = state
        .delete_subscription(user.name(), &client_id, &name)
        .await;
    finish(&user, done, "/subscriptions")
}

async fn connections(State(state): State<Shared>, user: PageUser) -> Html<String> {
    let mut body = String::from("<table><tr><th>Id</th><th>Client id</th><th>Remote address</th><th>Protocol</th><th>Sessions</th><th>Consumers</th></tr>");
    for c in state.broker.connections() {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.id,
            html(c.client_id.as_deref().unwrap_or("")),
            html(c.remote.as_deref().unwrap_or("")),
            html(c.protocol.unwrap_or("")),
            c.sessions,
            c.consumers
        );
    }
    body.push_str("</table>");
    layout("Connections", Some(&user), &body)
}

// ----- cluster -------------------------------------------------------------------------

/// Every node's role, term, log and applied index, lag; the master marked and linked (a
/// slave's console is where operators look when the master is elsewhere).
async fn cluster(State(state): State<Shared>, user: PageUser) -> Html<String> {
    let nodes = state.cluster.nodes().await;
    if state.cluster.local().is_none() {
        return layout(
            "Cluster",
            Some(&user),
            "<p>This broker runs as a single node (no replication): it is its own master.</p>",
        );
    }
    let mut body = format!(
        "<p>This node is the <strong>{}</strong>.</p>",
        html(&state.cluster.role())
    );
    match nodes.iter().find(|n| n.elected) {
        Some(m) => {
            let name = format!("node {} ({})", m.id, m.address);
            let _ = match &m.console_url {
                Some(url) if !m.this_node => write!(
                    body,
                    "<p>Master: <a id=\"master-link\" href=\"{}\">{}</a></p>",
                    html(url),
                    html(&name)
                ),
                _ => write!(body, "<p>Master: {}</p>", html(&name)),
            };
        }
        None => body.push_str("<p class=\"err\">No master answered.</p>"),
    }
    body.push_str(
        "<table><tr><th>Node</th><th>Address</th><th>Role</th><th>Term</th><th>Last log</th>\
         <th>Applied</th><th>Lag</th><th>Console</th></tr>",
    );
    let num = |n: Option<u64>| n.map_or_else(|| "-".to_string(), |n| n.to_string());
    for n in &nodes {
        let role = if n.elected {
            format!("<strong>{} (elected)</strong>", html(&n.role))
        } else {
            html(&n.role)
        };
        let console = n
            .console_url
            .as_ref()
            .map(|u| format!("<a href=\"{}\">{}</a>", html(u), html(u)))
            .unwrap_or_default();
        let _ = write!(
            body,
            "<tr><td>{}{}</td><td>{}</td><td>{role}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{console}</td></tr>",
            n.id,
            if n.this_node { " (this node)" } else { "" },
            html(&n.address),
            num(n.term),
            num(n.last_log_index),
            num(n.applied_index),
            num(n.lag),
        );
    }
    body.push_str("</table>");
    layout("Cluster", Some(&user), &body)
}
