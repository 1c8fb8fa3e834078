//! The JSON API with Basic auth: queues end to end, topics, subscriptions, connections,
//! `/metrics`, and the OpenAPI description checked against the served routes.

use crate::http::{broker_with_user, enc, stomp_connect, stomp_with_receipt, Api, FsyncHistogram};
use serde_json::json;

/// Create, send, list, browse, view, move, copy, purge and delete a queue; every step is
/// checked through the API's own view of the broker.
#[test]
fn queue_lifecycle_through_the_api() {
    let b = broker_with_user();
    let api = Api::new(&b);
    eprintln!("--- create two queues; a wildcard name is refused");
    for name in ["orders", "orders.retry", "other"] {
        let r = api.post_json("/api/v1/queues", &json!({"name": name}));
        assert_eq!(r.status, 201, "{}", r.text());
    }
    assert_eq!(
        api.post_json("/api/v1/queues", &json!({"name": "a.>"}))
            .status,
        400
    );
    assert_eq!(
        api.post_json("/api/v1/queues", &json!({"name": ""})).status,
        400
    );

    eprintln!("--- send three messages with properties");
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = api.post_json(
            "/api/v1/queues/orders/messages",
            &json!({"body": format!("order {i}"), "priority": 4, "properties": {"n": i.to_string()}}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["message_id"].as_str().unwrap().to_string());
    }

    eprintln!("--- list: filter, sort, paginate");
    let all = api.get("/api/v1/queues").json();
    assert_eq!(all["total"], 3);
    let filtered = api
        .get("/api/v1/queues?filter=orders&sort=pending&order=desc&limit=1")
        .json();
    assert_eq!(filtered["total"], 2, "{filtered}");
    assert_eq!(filtered["queues"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["queues"][0]["name"], "orders");
    assert_eq!(filtered["queues"][0]["pending"], 3);
    assert_eq!(filtered["queues"][0]["enqueued"], 3);
    let second = api
        .get("/api/v1/queues?filter=orders&sort=pending&order=desc&limit=1&offset=1")
        .json();
    assert_eq!(second["queues"][0]["name"], "orders.retry");

    eprintln!("--- browse with paging, in order, messages left in place");
    let page = api
        .get("/api/v1/queues/orders/messages?offset=1&limit=1")
        .json();
    assert_eq!(page["total"], 3);
    assert_eq!(page["messages"][0]["message_id"], ids[1].as_str());
    assert_eq!(api.get("/api/v1/queues/missing/messages").status, 404);

    eprintln!("--- view one message");
    let m = api.get(&format!("/api/v1/queues/orders/messages/{}", enc(&ids[0])));
    assert_eq!(m.status, 200, "{}", m.text());
    let m = m.json();
    assert_eq!(m["body_text"], "order 0");
    assert_eq!(m["properties"]["n"], "0");
    assert_eq!(m["persistent"], true);
    assert_eq!(
        api.get("/api/v1/queues/orders/messages/ID%3Anope").status,
        404
    );

    eprintln!("--- move one, copy one");
    let r = api.post_json(
        "/api/v1/queues/orders/move",
        &json!({"to": "orders.retry", "message_ids": [ids[0]]}),
    );
    assert_eq!(r.json()["moved"], 1, "{}", r.text());
    let r = api.post_json(
        "/api/v1/queues/orders/move",
        &json!({"to": "orders.retry", "message_ids": [ids[1]], "copy": true}),
    );
    assert_eq!(r.json()["moved"], 1);
    assert_eq!(api.get("/api/v1/queues/orders").json()["pending"], 2);
    let retry = api.get("/api/v1/queues/orders.retry/messages").json();
    assert_eq!(retry["total"], 2, "{retry}");
    let moved: Vec<&str> = retry["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    assert!(
        moved.contains(&ids[0].as_str()) && moved.contains(&ids[1].as_str()),
        "{moved:?}"
    );
    let moved_body = api
        .get(&format!(
            "/api/v1/queues/orders.retry/messages/{}",
            enc(&ids[0])
        ))
        .json();
    assert_eq!(moved_body["body_text"], "order 0");
    assert_eq!(moved_body["destination"], "queue://orders.retry");

    eprintln!("--- a moved message is consumed from its new queue");
    let got = api.get("/api/message/orders.retry?type=queue&readTimeout=5000");
    assert_eq!(got.status, 200);
    assert_eq!(got.text(), "order 0");

    eprintln!("--- purge, delete");
    assert_eq!(
        api.post_json("/api/v1/queues/orders/purge", &json!({}))
            .json()["purged"],
        2
    );
    assert_eq!(api.get("/api/v1/queues/orders").json()["pending"], 0);
    assert_eq!(api.delete("/api/v1/queues/orders").status, 204);
    assert_eq!(api.get("/api/v1/queues/orders").status, 404);
    assert_eq!(api.delete("/api/v1/queues/orders").status, 404);
    assert_eq!(
        api.post_json("/api/v1/queues/orders/purge", &json!({}))
            .status,
        404
    );
}

/// A persistent message moved through the console is where it was moved to after a
/// restart, and only there.
#[test]
fn moved_messages_stay_moved_after_restart() {
    let mut b = broker_with_user();
    let api = Api::new(&b);
    let id = api
        .post_json(
            "/api/v1/queues/ActiveMQ.DLQ/messages",
            &json!({"body": "poison"}),
        )
        .json()["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api.post_json(
        "/api/v1/queues/ActiveMQ.DLQ/move",
        &json!({"to": "work", "message_ids": [id]}),
    );
    assert_eq!(r.json()["moved"], 1);
    b.restart();
    let api = Api::new(&b);
    assert_eq!(api.get("/api/v1/queues/ActiveMQ.DLQ").json()["pending"], 0);
    assert_eq!(api.get("/api/v1/queues/work").json()["pending"], 1);
}

/// A STOMP client with a client id and a durable subscription shows up under
/// connections (protocol, remote address), topics and subscriptions.
#[test]
fn connections_topics_and_subscriptions_are_listed() {
    let b = broker_with_user();
    let api = Api::new(&b);
    let mut s = stomp_connect(&b.stomp_addr(), "client-id:console-test\n");
    stomp_with_receipt(
        &mut s,
        "SUBSCRIBE\ndestination:/topic/prices\nid:1\nactivemq.subscriptionName:watch",
        "",
    );
    let conns = api.get("/api/v1/connections").json();
    let c = conns["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "console-test")
        .unwrap_or_else(|| panic!("{conns}"))
        .clone();
    assert_eq!(c["protocol"], "stomp");
    assert!(
        c["remote_address"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{c}"
    );
    assert_eq!(c["consumers"], 1);
    assert_eq!(c["sessions"], 1, "a STOMP connection is one session: {c}");
    let subs = api.get("/api/v1/subscriptions").json();
    assert_eq!(subs["subscriptions"][0]["name"], "watch", "{subs}");
    assert_eq!(subs["subscriptions"][0]["topic"], "prices");
    assert_eq!(subs["subscriptions"][0]["active"], true);
    assert_eq!(
        api.post_form("/api/message/prices?type=topic", "body=42")
            .status,
        200
    );
    let topics = api.get("/api/v1/topics").json();
    let t = &topics["topics"][0];
    assert_eq!(t["name"], "prices", "{topics}");
    assert_eq!(t["enqueued"], 1);
    assert_eq!(t["durables"], 1);
    let o = api.get("/api/v1/overview").json();
    assert_eq!(o["connections"], 1, "{o}");
    assert!(o["messages_in"].as_u64().unwrap() >= 1);
}

/// `/metrics` has broker-wide and per-queue series, with label values escaped.
#[test]
fn metrics_show_per_queue_series() {
    let b = broker_with_user();
    let api = Api::new(&b);
    let hostile = "q\"with\\quote";
    for _ in 0..2 {
        let r = api.post_json(
            &format!("/api/v1/queues/{}/messages", enc(hostile)),
            &json!({"body": "m"}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = api.get("/metrics");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let text = r.text();
    assert!(
        text.contains("ferromq_queue_pending{queue=\"q\\\"with\\\\quote\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("ferromq_queue_enqueued_total{queue=\"q\\\"with\\\\quote\"} 2"),
        "{text}"
    );
    assert!(text.contains("# TYPE ferromq_messages_in_total counter"));
    assert!(text.contains("ferromq_messages_in_total 2"), "{text}");
    assert!(text.contains("ferromq_role{role=\"master\"} 1"));
    assert!(text.contains("ferromq_connections 0"));
}

/// Every fsync the journal does for persistent sends is in the latency histogram: one
/// send through the API waits for its own fsync, so 20 sends add at least 20; the buckets
/// are cumulative and end, at `+Inf`, with the count.
#[test]
fn metrics_show_the_journal_fsync_latency_histogram() {
    let b = broker_with_user();
    let api = Api::new(&b);
    let read = || {
        let text = api.get("/metrics").text();
        FsyncHistogram::parse(&text).unwrap_or_else(|| panic!("no fsync histogram:\n{text}"))
    };
    let before = read();
    before.assert_consistent();
    eprintln!("--- 20 persistent sends, one after the other");
    for i in 0..20 {
        let r = api.post_json(
            "/api/v1/queues/synced/messages",
            &json!({"body": format!("m{i}"), "persistent": true}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let after = read();
    after.assert_consistent();
    assert!(
        after.count >= before.count + 20,
        "20 persistent sends, fsyncs counted {} -> {}",
        before.count,
        after.count
    );
    assert!(after.sum > before.sum, "{before:?} -> {after:?}");
    let text = api.get("/metrics").text();
    assert!(
        text.contains("# TYPE ferromq_journal_fsync_seconds histogram"),
        "{text}"
    );
}

/// Every route the OpenAPI file describes is served (not the "no such route" fallback,
/// not 405), and the served description is the file.
#[test]
fn openapi_describes_served_routes() {
    let file = include_str!("../../../console/openapi.json");
    let spec: serde_json::Value = serde_json::from_str(file).unwrap();
    let b = broker_with_user();
    let api = Api::new(&b);
    assert_eq!(
        api.post_json("/api/v1/queues", &json!({"name": "spec"}))
            .status,
        201
    );
    let served = api.get("/api/v1/openapi.json");
    assert_eq!(served.json(), spec);
    let fallback = api.get("/api/v1/not-a-route");
    assert_eq!(fallback.status, 404);
    assert_eq!(fallback.json()["error"], "no such route");
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 12, "{}", paths.len());
    for (path, ops) in paths {
        let concrete = path
            .replace("{name}", "spec")
            .replace("{id}", "ID%3Ax")
            .replace("{client_id}", "spec-client");
        for method in ops.as_object().unwrap().keys() {
            let m = method.to_uppercase();
            let suffix = if concrete.starts_with("/api/message/") {
                "?readTimeout=1"
            } else {
                ""
            };
            let r = crate::http::request(
                &api.addr,
                &m,
                &format!("{concrete}{suffix}"),
                &[
                    (
                        "Authorization",
                        &crate::http::basic(crate::http::USER, crate::http::PASSWORD),
                    ),
                    ("Content-Type", "application/json"),
                ],
                b"{}",
            );
            assert_ne!(r.status, 405, "{m} {path}: method not served");
            let fell_back = r.status == 404
                && serde_json::from_slice::<serde_json::Value>(&r.body)
                    .is_ok_and(|v| v["error"] == "no such route");
            assert!(!fell_back, "{m} {path}: no such route");
            assert!(
                ops[method]["responses"].get(r.status.to_string()).is_some(),
                "{m} {path}: status {} not described: {}",
                r.status,
                r.text()
            );
        }
    }
}
