//! Who is asking: HTTP Basic auth for scripts (JSON API, `/api/message`, `/metrics`) and
//! the session cookie for browsers (ARCHITECTURE decision 8). Both pass through the login
//! limiter, so wrong passwords are rate-limited the same way.

use crate::console_state::Shared;
use crate::sessions::{Session, COOKIE};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use std::net::{IpAddr, SocketAddr};

/// A script authenticated with HTTP Basic auth.
pub struct ApiUser(pub String);

/// A browser with a live session.
pub struct PageUser(pub String, pub Session, pub String);

impl PageUser {
    pub fn name(&self) -> &str {
        &self.0
    }
    pub fn csrf(&self) -> &str {
        &self.1.csrf
    }
    /// The session id (for logout).
    pub fn session_id(&self) -> &str {
        &self.2
    }
}

/// The client's IP address (the connection's peer).
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// A refusal of a locked-out client.
pub fn too_many(wait: std::time::Duration) -> Response {
    let secs = wait.as_secs().max(1).to_string();
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, secs)],
        axum::Json(serde_json::json!({"error": "too many wrong passwords; try again later"})),
    )
        .into_response()
}

/// Checks a user name and password against the users, counting failures per address.
/// Argon2 runs on a blocking thread.
pub async fn check_password(
    state: &Shared,
    ip: IpAddr,
    user: String,
    password: String,
) -> Result<String, Response> {
    if let Some(wait) = state.limiter.locked_for(ip) {
        return Err(too_many(wait));
    }
    let s = state.clone();
    let name = user.clone();
    let ok = tokio::task::spawn_blocking(move || s.users.verify(&name, &password))
        .await
        .unwrap_or(false);
    if ok {
        state.limiter.record_success(ip);
        Ok(user)
    } else {
        tracing::info!(client = %ip, user = %user, "console: wrong user name or password");
        state.limiter.record_failure(ip);
        Err(StatusCode::UNAUTHORIZED.into_response())
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"ferromq\"")],
        axum::Json(serde_json::json!({"error": "authentication required"})),
    )
        .into_response()
}

/// A browser sends `Origin` (or `Sec-Fetch-Site`) on cross-site requests; scripts do not.
/// Browsers may replay cached Basic credentials cross-site, so a changing API request
/// from another site is refused: that is the API's CSRF protection.
fn cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return true;
        }
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => {
            origin != format!("http://{host}") && origin != format!("https://{host}")
        }
        (Some(_), None) => true,
        _ => false,
    }
}

impl FromRequestParts<Shared> for ApiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        if cross_site(&parts.method, &parts.headers) {
            return Err((
                StatusCode::FORBIDDEN,
                axum::Json(serde_json::json!({"error": "cross-site request refused"})),
            )
                .into_response());
        }
        let ip = client_ip(parts);
        if let Some(wait) = state.limiter.locked_for(ip) {
            return Err(too_many(wait));
        }
        let Some((user, password)) = basic_credentials(&parts.headers) else {
            return Err(unauthorized());
        };
        match check_password(state, ip, user, password).await {
            Ok(user) => Ok(ApiUser(user)),
            Err(r) if r.status() == StatusCode::UNAUTHORIZED => Err(unauthorized()),
            Err(r) => Err(r),
        }
    }
}

/// `Authorization: Basic base64(user:password)`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The value of one cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<Shared> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let id = cookie(&parts.headers, COOKIE).map(str::to_string);
        match id.as_deref().and_then(|id| state.sessions.get(id)) {
            Some(s) => Ok(PageUser(s.user.clone(), s, id.unwrap_or_default())),
            None => Err(Redirect::to("/login").into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_credentials_parse() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic b3BzOnM6M2M="),
        );
        assert_eq!(basic_credentials(&h), Some(("ops".into(), "s:3c".into())));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(basic_credentials(&h), None);
    }

    #[test]
    fn cross_site_changes_are_detected() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8161"));
        assert!(!cross_site(&Method::POST, &h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8161"),
        );
        assert!(!cross_site(&Method::POST, &h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(cross_site(&Method::POST, &h));
        assert!(!cross_site(&Method::GET, &h));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; ferromq_session=xyz"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
