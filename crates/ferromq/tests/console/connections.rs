//! The connections page and API: who is connected, with how many sessions and consumers.

use crate::http::{broker_with_user, Api, Browser};
use client::{AckMode, ConnectOptions, Connection, ConsumerOptions, Destination};
use std::time::Duration;

/// How long the broker may take to see a session closed (the client does not wait for
/// an answer to its RemoveInfo).
const SETTLE: Duration = Duration::from_secs(10);

/// The `sessions` and `consumers` of the connection with `client_id`, from the API.
fn counts(api: &Api, client_id: &str) -> Option<(u64, u64)> {
    let all = api.get("/api/v1/connections").json();
    let c = all["connections"]
        .as_array()?
        .iter()
        .find(|c| c["client_id"] == client_id)?
        .clone();
    Some((c["sessions"].as_u64()?, c["consumers"].as_u64()?))
}

/// An OpenWire connection (our Rust client) with two JMS sessions shows 2 sessions, in
/// the API and on the page; closing one leaves 1.
#[test]
fn openwire_connection_shows_its_sessions() {
    let b = broker_with_user();
    let api = Api::new(&b);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = format!("tcp://{}", b.openwire_addr());
    eprintln!("--- one connection, two sessions, a consumer on the first");
    let (conn, first, second, consumer) = rt.block_on(async {
        let options = ConnectOptions {
            client_id: Some("sessions-test".into()),
        };
        let conn = Connection::connect_with(&url, options).await.unwrap();
        let first = conn.create_session(AckMode::Auto).await.unwrap();
        let second = conn.create_session(AckMode::Client).await.unwrap();
        let consumer = first
            .create_consumer(&Destination::queue("work"), ConsumerOptions::default())
            .await
            .unwrap();
        (conn, first, second, consumer)
    });
    // create_session waited for the broker's answer to each SessionInfo.
    assert_eq!(counts(&api, "sessions-test"), Some((2, 1)));
    let row = Browser::login(&b).get("/connections").text();
    assert!(
        row.contains("<td>sessions-test</td>")
            && row.contains("<td>openwire</td><td>2</td><td>1</td>"),
        "{row}"
    );

    eprintln!("--- the second session closes");
    rt.block_on(async { drop(second) });
    let mut seen = None;
    let one = testkit::wait_until(SETTLE, || {
        seen = counts(&api, "sessions-test");
        seen == Some((1, 1))
    });
    assert!(one, "after closing one of two sessions: {seen:?}");
    rt.block_on(async {
        drop(consumer);
        drop(first);
        conn.close().await.unwrap();
    });
}
