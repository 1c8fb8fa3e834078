//! Topics and durable subscriptions: both lists filtered, sorted and paginated with many
//! rows; deleting a durable subscription from the API and from the page.

use crate::http::{broker_with_user, enc, stomp_connect, stomp_with_receipt, Api, Browser};
use std::time::Duration;

/// How long the broker may take to see a STOMP subscriber gone after its socket closed.
const SETTLE: Duration = Duration::from_secs(10);

/// The `name` of every row under `key` of an API list page, in order.
fn names_in(page: &serde_json::Value, key: &str) -> Vec<String> {
    page[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {page}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Topics of a `/api/v1/topics` page, in order.
fn names(page: &serde_json::Value) -> Vec<String> {
    names_in(page, "topics")
}

/// With 1,202 topics the API and the page show one page at a time: filtered by name,
/// sorted by any column either way, and every topic on exactly one page.
#[test]
fn many_topics_are_filtered_sorted_and_paginated() {
    const MANY: usize = 1200;
    let b = broker_with_user();
    let api = Api::new(&b);
    eprintln!("--- publish to {MANY} topics, and 5 and 3 messages to two hot ones");
    let mut s = stomp_connect(&b.stomp_addr(), "");
    let mut frames = String::new();
    for i in 0..MANY {
        frames.push_str(&format!("SEND\ndestination:/topic/load.{i:04}\n\nx\0"));
    }
    for (topic, n) in [("hot.a", 5), ("hot.b", 3)] {
        for _ in 0..n {
            frames.push_str(&format!("SEND\ndestination:/topic/{topic}\n\nx\0"));
        }
    }
    std::io::Write::write_all(&mut s, frames.as_bytes()).unwrap();
    // Frames are handled in order: after this receipt every send above is counted.
    stomp_with_receipt(&mut s, "SEND\ndestination:/topic/hot.b", "x");

    let all = api.get("/api/v1/topics").json();
    assert_eq!(all["total"], MANY + 2, "{}", all["total"]);
    assert_eq!(names(&all).len(), 100, "default page size");

    let hot = api
        .get("/api/v1/topics?filter=hot&sort=enqueued&order=desc")
        .json();
    assert_eq!(hot["total"], 2);
    assert_eq!(names(&hot), ["hot.a", "hot.b"]);
    assert_eq!(hot["topics"][0]["enqueued"], 5);
    assert_eq!(hot["topics"][1]["enqueued"], 4);
    let asc = api.get("/api/v1/topics?filter=hot&sort=enqueued").json();
    assert_eq!(names(&asc), ["hot.b", "hot.a"]);

    eprintln!("--- page through the filtered list by name: each topic once, in order");
    let mut seen = Vec::new();
    for offset in (0..MANY).step_by(250) {
        let page = api
            .get(&format!(
                "/api/v1/topics?filter=load&limit=250&offset={offset}"
            ))
            .json();
        assert_eq!(page["total"], MANY);
        assert_eq!(page["offset"], offset);
        seen.extend(names(&page));
    }
    let expected: Vec<String> = (0..MANY).map(|i| format!("load.{i:04}")).collect();
    assert_eq!(seen, expected);
    let last = api
        .get("/api/v1/topics?filter=load&order=desc&limit=1")
        .json();
    assert_eq!(names(&last), ["load.1199"]);
    // A queue-only column does not apply to topics: sorted by name.
    let by_pending = api.get("/api/v1/topics?sort=pending&limit=1").json();
    assert_eq!(names(&by_pending), ["hot.a"]);

    eprintln!("--- the page: filter, sort links, next/previous");
    let browser = Browser::login(&b);
    let page = browser
        .get("/topics?filter=hot&sort=enqueued&order=desc")
        .text();
    assert!(page.contains("2 topics"), "{page}");
    let (a, bb) = (page.find("hot.a"), page.find("hot.b"));
    assert!(a.is_some() && a < bb, "hot.a should come first: {page}");
    assert!(!page.contains("load.0000"), "{page}");
    let first = browser.get("/topics").text();
    assert!(first.contains(&format!("{} topics", MANY + 2)), "{first}");
    assert!(first.contains("offset=100\">next</a>"), "{first}");
    assert!(!first.contains(">previous</a>"), "{first}");
    assert!(first.contains("sort=durables"), "{first}");
    assert_eq!(first.matches("<td>load.").count(), 98, "one page of rows");
    let last_page = browser.get("/topics?offset=1102").text();
    assert!(last_page.contains("<td>load.1199</td>"), "{last_page}");
    assert!(
        last_page.contains("offset=1002\">previous</a>"),
        "{last_page}"
    );
    assert!(!last_page.contains(">next</a>"), "{last_page}");
}

/// The `(client_id, name, pending, active)` of every durable subscription.
fn subscriptions(api: &Api) -> Vec<(String, String, u64, bool)> {
    let all = api.get("/api/v1/subscriptions").json();
    all["subscriptions"]
        .as_array()
        .unwrap_or_else(|| panic!("{all}"))
        .iter()
        .map(|s| {
            (
                s["client_id"].as_str().unwrap_or_default().to_string(),
                s["name"].as_str().unwrap_or_default().to_string(),
                s["pending"].as_u64().unwrap_or(u64::MAX),
                s["active"].as_bool().unwrap_or(true),
            )
        })
        .collect()
}

/// A durable subscription with a live consumer cannot be deleted (409 naming the reason,
/// from the API and the page); once its subscriber left, the API deletes it with its
/// messages and the page's form does so with the CSRF token (403 without). Deleted ones
/// stay deleted after a SIGKILL and restart (the removal is a store entry); the one left
/// alone is still there.
#[test]
fn durable_subscriptions_are_deleted_from_the_console() {
    let mut b = broker_with_user();
    let api = Api::new(&b);
    // Hostile names for the page: markup, quotes, a slash in the path segment.
    let page_client = "<i>\"c2\"</i>";
    let page_sub = "page/sub 'x'";
    eprintln!("--- three durable subscribers on /topic/news");
    let mut active = stomp_connect(&b.stomp_addr(), "client-id:c1\n");
    stomp_with_receipt(
        &mut active,
        "SUBSCRIBE\ndestination:/topic/news\nid:1\nactivemq.subscriptionName:watch",
        "",
    );
    for (client, sub) in [(page_client, page_sub), ("c3", "kept")] {
        let mut s = stomp_connect(&b.stomp_addr(), &format!("client-id:{client}\n"));
        stomp_with_receipt(
            &mut s,
            &format!("SUBSCRIBE\ndestination:/topic/news\nid:1\nactivemq.subscriptionName:{sub}"),
            "",
        );
    }
    let inactive = testkit::wait_until(SETTLE, || {
        subscriptions(&api).iter().filter(|s| !s.3).count() == 2
    });
    assert!(inactive, "{:?}", subscriptions(&api));

    eprintln!("--- refused while c1's consumer is active");
    let r = api.delete("/api/v1/subscriptions/c1/watch");
    assert_eq!(r.status, 409, "{}", r.text());
    let error = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(
        error.contains("in use") && error.contains("active consumer"),
        "{error}"
    );
    let browser = Browser::login(&b);
    let token = browser.csrf("/subscriptions");
    let r = browser.post("/subscriptions/c1/watch/delete", &format!("csrf={token}"));
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("active consumer"), "{}", r.text());
    assert_eq!(subscriptions(&api).len(), 3);

    eprintln!("--- c1 leaves; 3 persistent messages wait for it; the API deletes it");
    drop(active);
    let left = testkit::wait_until(SETTLE, || subscriptions(&api).iter().all(|s| !s.3));
    assert!(left, "{:?}", subscriptions(&api));
    let mut publisher = stomp_connect(&b.stomp_addr(), "");
    for _ in 0..3 {
        stomp_with_receipt(
            &mut publisher,
            "SEND\ndestination:/topic/news\npersistent:true",
            "news",
        );
    }
    assert!(
        subscriptions(&api).iter().all(|s| s.2 == 3),
        "{:?}",
        subscriptions(&api)
    );
    let r = api.delete("/api/v1/subscriptions/c1/watch");
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(api.delete("/api/v1/subscriptions/c1/watch").status, 404);
    assert!(!subscriptions(&api).iter().any(|s| s.1 == "watch"));

    eprintln!("--- the page's form: escaped, refused without the token, then deleted");
    let page = browser.get("/subscriptions").text();
    assert!(!page.contains(page_client), "unescaped client id: {page}");
    assert!(page.contains("&lt;i&gt;&quot;c2&quot;&lt;/i&gt;"), "{page}");
    let action = format!(
        "/subscriptions/{}/{}/delete",
        enc(page_client),
        enc(page_sub)
    );
    assert!(page.contains(&format!("action=\"{action}\"")), "{page}");
    assert_eq!(browser.post(&action, "csrf=wrong").status, 403);
    assert_eq!(subscriptions(&api).len(), 2);
    let r = browser.post(&action, &format!("csrf={token}"));
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/subscriptions"));
    let left: Vec<String> = subscriptions(&api).into_iter().map(|s| s.1).collect();
    assert_eq!(left, ["kept"]);

    eprintln!("--- SIGKILL and restart: the deleted subscriptions stay deleted");
    b.restart();
    let api = Api::new(&b);
    let after = subscriptions(&api);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!((after[0].0.as_str(), after[0].1.as_str()), ("c3", "kept"));
    assert_eq!(after[0].2, 3, "the kept subscription keeps its messages");
}

/// Subscription names of a `/api/v1/subscriptions` page, in order.
fn subscription_names(page: &serde_json::Value) -> Vec<String> {
    names_in(page, "subscriptions")
}

/// With 250 durable subscriptions the API and the page show one page at a time, filtered
/// by client id, name or topic, sorted by name or pending messages, each on one page.
#[test]
fn many_durable_subscriptions_are_filtered_sorted_and_paginated() {
    const MANY: usize = 250;
    let b = broker_with_user();
    let api = Api::new(&b);
    eprintln!(
        "--- {MANY} durable subscriptions of one client on /topic/wide, one more on /topic/narrow"
    );
    let mut s = stomp_connect(&b.stomp_addr(), "client-id:many\n");
    let mut frames = String::new();
    for i in 0..MANY {
        frames.push_str(&format!(
            "SUBSCRIBE\ndestination:/topic/wide\nid:{i}\nactivemq.subscriptionName:sub.{i:03}\n\n\0"
        ));
    }
    std::io::Write::write_all(&mut s, frames.as_bytes()).unwrap();
    stomp_with_receipt(
        &mut s,
        "SUBSCRIBE\ndestination:/topic/narrow\nid:narrow\nactivemq.subscriptionName:lone",
        "",
    );
    drop(s);
    // Offline now: a persistent message to /topic/narrow waits for `lone` only.
    let mut publisher = stomp_connect(&b.stomp_addr(), "");
    stomp_with_receipt(
        &mut publisher,
        "SEND\ndestination:/topic/narrow\npersistent:true",
        "x",
    );

    let all = api.get("/api/v1/subscriptions").json();
    assert_eq!(all["total"], MANY + 1, "{}", all["total"]);
    assert_eq!(subscription_names(&all).len(), 100, "default page size");
    let by_topic = api.get("/api/v1/subscriptions?filter=narrow").json();
    assert_eq!(subscription_names(&by_topic), ["lone"]);
    let busiest = api
        .get("/api/v1/subscriptions?sort=pending&order=desc&limit=1")
        .json();
    assert_eq!(subscription_names(&busiest), ["lone"]);
    assert_eq!(busiest["subscriptions"][0]["pending"], 1);

    eprintln!("--- page through one client's subscriptions: each once, in order");
    let mut seen = Vec::new();
    for offset in (0..MANY).step_by(60) {
        let page = api
            .get(&format!(
                "/api/v1/subscriptions?filter=sub.&limit=60&offset={offset}"
            ))
            .json();
        assert_eq!(page["total"], MANY);
        seen.extend(subscription_names(&page));
    }
    let expected: Vec<String> = (0..MANY).map(|i| format!("sub.{i:03}")).collect();
    assert_eq!(seen, expected);

    eprintln!("--- the page: one page of rows and a next link; the topics page links it");
    let browser = Browser::login(&b);
    let first = browser.get("/subscriptions").text();
    assert!(
        first.contains(&format!("{} durable subscriptions", MANY + 1)),
        "{first}"
    );
    // By name: `lone` first, then the first 99 of the client's.
    assert!(first.contains("<td>lone</td>"), "{first}");
    assert_eq!(first.matches("<td>sub.").count(), 99, "one page of rows");
    assert!(first.contains("offset=100\">next</a>"), "{first}");
    let filtered = browser.get("/subscriptions?filter=narrow").text();
    assert!(filtered.contains("<td>lone</td>"), "{filtered}");
    assert!(!filtered.contains("<td>sub.000</td>"), "{filtered}");
    let topics = browser.get("/topics").text();
    assert!(
        topics.contains(&format!(
            "href=\"/subscriptions\">{} durable subscriptions",
            MANY + 1
        )),
        "{topics}"
    );
}
