//! ActiveMQ's REST message endpoint: `POST /api/message/NAME?type=queue` with a `body`
//! parameter and `GET` to consume one, with Basic auth, as existing curl scripts use it.

use crate::http::{broker_with_user, Api};
use std::time::{Duration, Instant};

/// Sends through the query, a form and a raw body arrive in order and are consumed
/// once each; an empty queue answers 204 after `readTimeout`.
#[test]
fn rest_endpoint_sends_and_consumes() {
    let b = broker_with_user();
    let api = Api::new(&b);
    assert_eq!(
        api.post_form("/api/message/jobs?type=queue&body=first", "")
            .status,
        200
    );
    assert_eq!(
        api.post_form("/api/message/jobs?type=queue", "body=second+%26+more")
            .status,
        200
    );
    let raw = crate::http::request(
        &api.addr,
        "POST",
        "/api/message/jobs?type=queue",
        &[
            (
                "Authorization",
                &crate::http::basic(crate::http::USER, crate::http::PASSWORD),
            ),
            ("Content-Type", "text/plain"),
        ],
        b"third",
    );
    assert_eq!(raw.status, 200, "{}", raw.text());
    assert_eq!(api.get("/api/v1/queues/jobs").json()["pending"], 3);
    for expected in ["first", "second & more", "third"] {
        let r = api.get("/api/message/jobs?type=queue&readTimeout=5000");
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), expected);
        assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    }
    let q = api.get("/api/v1/queues/jobs").json();
    assert_eq!(q["pending"], 0, "{q}");
    assert_eq!(q["inflight"], 0, "{q}");
    assert_eq!(q["dequeued"], 3, "{q}");
    eprintln!("--- nothing left: 204 after the read timeout, and no consumer stays behind");
    let started = Instant::now();
    let r = api.get("/api/message/jobs?type=queue&readTimeout=300");
    assert_eq!(r.status, 204);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(api.get("/api/v1/queues/jobs").json()["consumers"], 0);
    assert_eq!(api.get("/api/v1/overview").json()["connections"], 0);
    eprintln!("--- a waiting GET gets a message sent meanwhile");
    let late = api.clone();
    let waiter =
        std::thread::spawn(move || late.get("/api/message/late?type=queue&readTimeout=20000"));
    let consumer_waiting = testkit::wait_until(Duration::from_secs(10), || {
        api.get("/api/v1/queues/late").json()["consumers"] == 1
    });
    assert!(consumer_waiting);
    assert_eq!(
        api.post_form("/api/message/late?type=queue", "body=hello")
            .status,
        200
    );
    let r = waiter.join().unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello");
    assert_eq!(
        api.post_form("/api/message/x?type=mailbox", "body=1")
            .status,
        400
    );
}

/// A `GET /api/message` waiting for a message does not hold up a clean shutdown.
#[test]
fn waiting_rest_consumer_does_not_block_shutdown() {
    let mut b = broker_with_user();
    let api = Api::new(&b);
    let idle = api.clone();
    let waiter = std::thread::spawn(move || {
        idle.get("/api/message/idle?type=queue&readTimeout=60000")
            .status
    });
    let waiting = testkit::wait_until(Duration::from_secs(10), || {
        api.get("/api/v1/queues/idle").json()["consumers"] == 1
    });
    assert!(waiting);
    let started = Instant::now();
    assert!(b.stop(), "the broker did not stop cleanly:\n{}", b.log());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(waiter.join().unwrap(), 204);
}
