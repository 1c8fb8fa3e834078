//! The HTML pages: the operator's flow through a browser, and escaping of hostile names,
//! bodies and properties everywhere they are shown.

use crate::http::{broker_with_user, enc, Api, Browser};
use serde_json::json;

/// Create a queue, send a message, browse and view it, move it, purge, delete: all through
/// the pages' forms with the session's CSRF token.
#[test]
fn operator_flow_through_the_pages() {
    let b = broker_with_user();
    let api = Api::new(&b);
    let browser = Browser::login(&b);
    let token = browser.csrf("/queues");
    let r = browser.post("/queues", &format!("csrf={token}&name=inbox"));
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(browser.get("/queues").text().contains(">inbox</a>"));
    let r = browser.post(
        "/queues/inbox/send",
        &format!("csrf={token}&body=hello+page&persistent=true"),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let page = browser.get("/queues/inbox").text();
    assert!(page.contains("1 messages waiting"), "{page}");
    let id = api.get("/api/v1/queues/inbox/messages").json()["messages"][0]["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let view = browser.get(&format!("/queues/inbox/messages/{}", enc(&id)));
    assert_eq!(view.status, 200);
    assert!(
        view.text().contains("<pre>hello page</pre>"),
        "{}",
        view.text()
    );
    let r = browser.post(
        &format!("/queues/inbox/messages/{}/move", enc(&id)),
        &format!("csrf={token}&to=archive"),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(api.get("/api/v1/queues/inbox").json()["pending"], 0);
    assert_eq!(api.get("/api/v1/queues/archive").json()["pending"], 1);
    assert_eq!(
        browser
            .post("/queues/archive/purge", &format!("csrf={token}"))
            .status,
        303
    );
    assert_eq!(api.get("/api/v1/queues/archive").json()["pending"], 0);
    assert_eq!(
        browser
            .post("/queues/archive/delete", &format!("csrf={token}"))
            .status,
        303
    );
    assert_eq!(api.get("/api/v1/queues/archive").status, 404);
    for page in ["/", "/topics", "/connections"] {
        assert_eq!(browser.get(page).status, 200, "{page}");
    }
}

/// Hostile queue names, bodies and properties appear escaped on every page: no tag and
/// no attribute can be injected.
#[test]
fn hostile_names_and_bodies_are_escaped() {
    let b = broker_with_user();
    let api = Api::new(&b);
    let name = "<script>alert(\"q\")</script>'\"";
    let body = "<img src=x onerror=alert(1)>\"'&";
    let r = api.post_json(
        &format!("/api/v1/queues/{}/messages", enc(name)),
        &json!({"body": body, "properties": {"<b>key</b>": "\"><script>p()</script>"}, "correlation_id": "<i>c</i>"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["message_id"].as_str().unwrap().to_string();
    let browser = Browser::login(&b);
    let pages = [
        "/queues".to_string(),
        format!("/queues?filter={}", enc(name)),
        format!("/queues/{}", enc(name)),
        format!("/queues/{}/messages/{}", enc(name), enc(&id)),
    ];
    for page in &pages {
        let r = browser.get(page);
        assert_eq!(r.status, 200, "{page}");
        let html = r.text();
        for raw in ["<script>", "<img", "<b>key", "<i>c", "onerror=alert(1)>"] {
            assert!(!html.contains(raw), "{page} contains raw {raw:?}:\n{html}");
        }
        assert!(
            html.contains("&lt;script&gt;alert(&quot;q&quot;)&lt;/script&gt;&#39;&quot;"),
            "{page}:\n{html}"
        );
    }
    let view = browser.get(&pages[3]).text();
    assert!(
        view.contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"),
        "{view}"
    );
    assert!(view.contains("&lt;b&gt;key&lt;/b&gt;"));
    assert!(view.contains("&quot;&gt;&lt;script&gt;p()&lt;/script&gt;"));
    eprintln!("--- links to the hostile queue are percent-encoded and work");
    let list = browser.get("/queues").text();
    assert!(
        list.contains(&format!("href=\"/queues/{}\"", enc(name))),
        "{list}"
    );
}

/// Every answer forbids framing and inline scripts; the overview's live chart follows
/// the message rates (sampled once a second).
#[test]
fn security_headers_and_live_rates() {
    let b = broker_with_user();
    let api = Api::new(&b);
    let browser = Browser::login(&b);
    for r in [
        browser.get("/"),
        api.get("/api/v1/overview"),
        api.get("/metrics"),
    ] {
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        let csp = r.header("content-security-policy").expect("a CSP");
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
    }
    let page = browser.get("/").text();
    assert!(
        page.contains("<img id=\"rates\" src=\"/overview/rates.svg\""),
        "{page}"
    );
    assert!(
        !page.contains("<script>"),
        "inline script on the overview: {page}"
    );
    let script = browser.get("/console.js");
    assert_eq!(script.status, 200);
    assert!(script.text().contains("/overview/rates.svg"));
    assert_eq!(
        crate::http::request(&b.console_addr(), "GET", "/overview/rates.svg", &[], b"").status,
        303,
        "the chart needs a session"
    );
    eprintln!("--- traffic shows up in the rates and the chart");
    for i in 0..20 {
        let r = api.post_json(
            "/api/v1/queues/rated/messages",
            &json!({"body": i.to_string()}),
        );
        assert_eq!(r.status, 201);
    }
    let rising = testkit::wait_until(std::time::Duration::from_secs(10), || {
        api.get("/api/v1/overview").json()["rate_in"]
            .as_f64()
            .unwrap_or(0.0)
            > 0.0
    });
    assert!(rising, "{}", api.get("/api/v1/overview").text());
    let chart = browser.get("/overview/rates.svg");
    assert_eq!(chart.status, 200);
    assert_eq!(chart.header("content-type"), Some("image/svg+xml"));
    let svg = chart.text();
    assert!(
        svg.starts_with("<svg") && svg.matches("<polyline").count() == 2,
        "{svg}"
    );
}
