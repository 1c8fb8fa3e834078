//! The cluster page: a slave's console shows every node and links to the master's console
//! (in the seed, a slave's console was unreachable).

use crate::http::{generated_password, Api, Browser, FsyncHistogram};
use std::time::Duration;
use testkit::TestCluster;

/// How long a three-node cluster may take to elect a master.
const ELECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// A slave's console answers, names itself a slave, lists all three nodes with the elected
/// master marked and links to the master's console; its `/metrics` carries Raft series and
/// the fsync latency of its Raft log (the replicated store syncs through the journal too).
#[test]
fn slave_console_shows_cluster_and_links_to_master() {
    let cluster = TestCluster::start(3);
    let master = cluster.wait_for_master(ELECTION_TIMEOUT);
    let slave = (0..cluster.len()).find(|i| *i != master).unwrap();
    let master_console = format!("http://{}", cluster.console_addr(master));
    eprintln!(
        "--- master is node {}, asking node {}'s console",
        master + 1,
        slave + 1
    );
    // A slave may still be starting when the master already serves.
    let console_up = testkit::wait_until(ELECTION_TIMEOUT, || {
        cluster.log(slave).contains("web console started")
    });
    assert!(console_up, "node {}'s console did not start", slave + 1);
    let password = generated_password(&cluster.log(slave));
    let api = Api::with(&cluster.console_addr(slave), "admin", &password);
    let mut last = serde_json::Value::Null;
    let agreed = testkit::wait_until(ELECTION_TIMEOUT, || {
        last = api.get("/api/v1/cluster").json();
        last["master"]["id"] == (master + 1) as u64
    });
    assert!(
        agreed,
        "the slave's console does not name the master: {last}"
    );
    assert_eq!(last["mode"], "replicated");
    assert_eq!(last["role"], "slave");
    assert_eq!(last["master"]["console_url"], master_console.as_str());
    let nodes = last["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3, "{last}");
    let me = nodes.iter().find(|n| n["this_node"] == true).unwrap();
    assert_eq!(me["id"], (slave + 1) as u64);
    assert_eq!(me["role"], "slave");
    assert!(
        nodes
            .iter()
            .all(|n| n["term"].as_u64().is_some_and(|t| t >= 1)),
        "{last}"
    );
    assert_eq!(nodes.iter().filter(|n| n["elected"] == true).count(), 1);
    assert_eq!(api.get("/api/v1/overview").json()["role"], "slave");

    eprintln!("--- the page, through the login form");
    let browser = Browser::login_as(&cluster.console_addr(slave), "admin", &password);
    let page = browser.get("/cluster");
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains(&format!("id=\"master-link\" href=\"{master_console}\"")),
        "{html}"
    );
    assert!(html.contains("(this node)"), "{html}");

    eprintln!("--- Raft numbers in /metrics");
    let metrics = api.get("/metrics").text();
    assert!(
        metrics.contains("ferromq_role{role=\"slave\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "ferromq_raft_is_master{{node_id=\"{}\"}} 0",
            slave + 1
        )),
        "{metrics}"
    );
    assert!(metrics.contains("ferromq_raft_term{"), "{metrics}");

    eprintln!("--- sends to the master are fsynced in the slave's Raft log, and counted");
    let fsyncs = || {
        let text = api.get("/metrics").text();
        let h = FsyncHistogram::parse(&text)
            .unwrap_or_else(|| panic!("no fsync histogram on the slave:\n{text}"));
        h.assert_consistent();
        h
    };
    let before = fsyncs().count;
    let master_api = Api::with(
        &cluster.console_addr(master),
        "admin",
        &generated_password(&cluster.log(master)),
    );
    for i in 0..5 {
        let r = master_api.post_json(
            "/api/v1/queues/replicated/messages",
            &serde_json::json!({"body": format!("m{i}")}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let mut after = before;
    let counted = testkit::wait_until(ELECTION_TIMEOUT, || {
        after = fsyncs().count;
        after > before
    });
    assert!(
        counted,
        "the slave counted no fsync for 5 replicated sends ({before} -> {after})"
    );

    eprintln!("--- a change on the slave is refused, not lost");
    let r = api.post_json("/api/v1/queues", &serde_json::json!({"name": "on-slave"}));
    assert_eq!(r.status, 503, "{}", r.text());
    // The refusal names the master.
    assert!(
        r.text()
            .contains(&format!("(the master is node {} at ", master + 1)),
        "{}",
        r.text()
    );
}
