//! Who may use the console: the generated first-start password, Basic auth, sessions,
//! rate limiting of wrong passwords, CSRF tokens, cross-site API requests.

use crate::http::{
    basic, broker_with_user, enc, generated_password, request, Api, Browser, GENERATED, PASSWORD,
    USER,
};
use testkit::TestBroker;

/// Without configured users the first start generates a password, logs it once and keeps
/// only its hash; a restart uses the same password and does not log a new one.
#[test]
fn generated_password_is_logged_once_and_survives_restart() {
    eprintln!("--- a broker without console users");
    let mut b = TestBroker::start();
    let password = generated_password(&b.log());
    assert!(password.len() >= 16, "{password}");
    let hash = std::fs::read_to_string(b.data_dir().join("console-admin.hash")).unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains(&password));
    let ok = |b: &TestBroker, pw: &str| {
        request(
            &b.console_addr(),
            "GET",
            "/api/v1/overview",
            &[("Authorization", &basic("admin", pw))],
            b"",
        )
        .status
    };
    assert_eq!(ok(&b, &password), 200);
    eprintln!("--- restart: same password, nothing new logged");
    b.restart();
    assert_eq!(b.log().matches(GENERATED).count(), 1, "{}", b.log());
    assert_eq!(ok(&b, &password), 200);
    assert_eq!(ok(&b, "not-it"), 401);
}

/// The API answers nothing without the right Basic credentials; pages send a browser
/// without a session to the login form.
#[test]
fn api_and_pages_require_login() {
    let b = broker_with_user();
    let addr = b.console_addr();
    for path in [
        "/api/v1/overview",
        "/api/v1/queues",
        "/metrics",
        "/api/message/q?type=queue",
    ] {
        let r = request(&addr, "GET", path, &[], b"");
        assert_eq!(r.status, 401, "{path}");
        assert!(r
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Basic")));
    }
    let wrong = request(
        &addr,
        "GET",
        "/api/v1/overview",
        &[("Authorization", &basic(USER, "wrong"))],
        b"",
    );
    assert_eq!(wrong.status, 401);
    let unknown = request(
        &addr,
        "GET",
        "/api/v1/overview",
        &[("Authorization", &basic("nobody", PASSWORD))],
        b"",
    );
    assert_eq!(unknown.status, 401);
    let o = Api::new(&b).get("/api/v1/overview");
    assert_eq!(o.status, 200);
    let o = o.json();
    assert_eq!(o["name"], "ferromq");
    assert_eq!(o["role"], "master");
    assert_eq!(o["version"], env!("CARGO_PKG_VERSION"));
    for page in ["/", "/queues", "/topics", "/connections", "/queues/x"] {
        let r = request(&addr, "GET", page, &[], b"");
        assert_eq!(r.status, 303, "{page}");
        assert_eq!(r.header("location"), Some("/login"), "{page}");
    }
    let forged = request(
        &addr,
        "GET",
        "/",
        &[("Cookie", "ferromq_session=forged")],
        b"",
    );
    assert_eq!(forged.status, 303);
    eprintln!("--- the login form: wrong password refused, right one opens a session");
    let r = request(
        &addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("user={USER}&password=nope").as_bytes(),
    );
    assert_eq!(r.status, 401);
    assert!(r.header("set-cookie").is_none());
    let browser = Browser::login(&b);
    let page = browser.get("/");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Overview"));
    eprintln!("--- logging out ends the session");
    let token = browser.csrf("/");
    assert_eq!(
        browser.post("/logout", &format!("csrf={token}")).status,
        303
    );
    assert_eq!(browser.get("/").status, 303);
}

/// The session cookie is HttpOnly and SameSite=Strict.
#[test]
fn session_cookie_is_http_only_and_same_site_strict() {
    let b = broker_with_user();
    let r = request(
        &b.console_addr(),
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("user={}&password={}", enc(USER), enc(PASSWORD)).as_bytes(),
    );
    let cookie = r.header("set-cookie").expect("cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
}

/// After five wrong passwords from one address even the right one is refused with 429
/// and Retry-After, on the API and on the login form alike.
#[test]
fn wrong_passwords_are_rate_limited() {
    let b = broker_with_user();
    let addr = b.console_addr();
    let overview = |pw: &str| {
        request(
            &addr,
            "GET",
            "/api/v1/overview",
            &[("Authorization", &basic(USER, pw))],
            b"",
        )
    };
    assert_eq!(overview(PASSWORD).status, 200);
    for i in 0..5 {
        assert_eq!(overview(&format!("guess{i}")).status, 401, "guess {i}");
    }
    let locked = overview(PASSWORD);
    assert_eq!(locked.status, 429);
    let retry: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1, "{retry}");
    let form = request(
        &addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("user={}&password={}", enc(USER), enc(PASSWORD)).as_bytes(),
    );
    assert_eq!(form.status, 429);
    assert!(form.header("set-cookie").is_none());
}

/// A page action without the session's CSRF token (or with another one) changes nothing;
/// with it, it happens. An API request from a foreign origin is refused too.
#[test]
fn actions_without_csrf_token_are_refused() {
    let b = broker_with_user();
    let api = Api::new(&b);
    assert_eq!(
        api.post_json("/api/v1/queues", &serde_json::json!({"name": "keep"}))
            .status,
        201
    );
    let sent = api.post_json(
        "/api/v1/queues/keep/messages",
        &serde_json::json!({"body": "x"}),
    );
    assert_eq!(sent.status, 201);
    let browser = Browser::login(&b);
    let token = browser.csrf("/queues");
    for form in ["", "csrf=", "csrf=0123456789abcdef"] {
        let r = browser.post("/queues/keep/purge", form);
        assert_eq!(r.status, 403, "{form:?}");
        let r = browser.post("/queues/keep/delete", form);
        assert_eq!(r.status, 403, "{form:?}");
        let r = browser.post("/queues", &format!("{form}&name=made"));
        assert_eq!(r.status, 403, "{form:?}");
    }
    let q = api.get("/api/v1/queues/keep").json();
    assert_eq!(q["pending"], 1, "{q}");
    assert_eq!(api.get("/api/v1/queues/made").status, 404);
    eprintln!("--- another session's token is not this session's");
    let other = Browser::login(&b);
    let other_token = other.csrf("/queues");
    assert_ne!(other_token, token);
    assert_eq!(
        browser
            .post("/queues/keep/purge", &format!("csrf={other_token}"))
            .status,
        403
    );
    eprintln!("--- with the token the purge happens");
    let r = browser.post("/queues/keep/purge", &format!("csrf={token}"));
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(api.get("/api/v1/queues/keep").json()["pending"], 0);
    eprintln!("--- a cross-site API request is refused even with valid Basic credentials");
    let r = request(
        &api.addr,
        "POST",
        "/api/v1/queues",
        &[
            ("Authorization", &basic(USER, PASSWORD)),
            ("Content-Type", "application/json"),
            ("Origin", "http://evil.example"),
        ],
        br#"{"name":"evil"}"#,
    );
    assert_eq!(r.status, 403);
    assert_eq!(api.get("/api/v1/queues/evil").status, 404);
}
