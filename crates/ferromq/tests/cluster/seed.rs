//! The seed's scenario on three nodes: its own Java programs, its `failover:` URL.

use crate::java::{self, JavaOutput};
use crate::{serial, MASTER_TIMEOUT};
use std::time::{Duration, Instant};
use testkit::TestCluster;

/// Budget per seed program; the consumer alone waits 10 s for the message that never comes.
const SEED_PROGRAM_TIMEOUT: Duration = Duration::from_secs(90);

fn produce(url: &str) {
    let out = java::run("SeedProducer", &[url], SEED_PROGRAM_TIMEOUT);
    assert!(
        out.success() && out.lines.iter().any(|l| l == "publishing succeeded"),
        "the seed producer failed\n{}",
        out.report()
    );
}

fn consume_five(url: &str, round: u32) -> JavaOutput {
    let out = java::run("SeedConsumer", &[url], SEED_PROGRAM_TIMEOUT);
    let received: Vec<&str> = out
        .lines
        .iter()
        .filter_map(|l| l.strip_prefix("received: "))
        .collect();
    let expected: Vec<String> = (1..=5).map(|i| format!("cluster-queue-msg-{i}")).collect();
    let lost: Vec<&String> = expected
        .iter()
        .filter(|e| !received.contains(&e.as_str()))
        .collect();
    eprintln!(
        "--- round {round}: sent 5 (send() returned), received {} ({} lost, {} extra)",
        received.len(),
        lost.len(),
        received.len().saturating_sub(5 - lost.len()),
    );
    assert!(out.success(), "the seed consumer failed\n{}", out.report());
    assert_eq!(
        received,
        expected,
        "the seed consumer must print the five messages in order\n{}",
        out.report()
    );
    out
}

/// The seed's headline: SeedProducer sends five messages over
/// `failover:(tcp://A,tcp://B,tcp://C)?randomize=false`, the master is killed with
/// SIGKILL, and SeedConsumer with the same URL receives all five, in order, from the new
/// master; the cluster then goes on serving a second round of five.
#[test]
fn seed_scenario_survives_killing_the_master() {
    let _serial = serial();
    eprintln!("--- starting three replicated nodes");
    let mut cluster = TestCluster::start(3);
    let master = cluster.wait_for_master(MASTER_TIMEOUT);
    let url = cluster.failover_url();
    eprintln!(
        "--- node {} is master; seed producer over {url}",
        master + 1
    );
    produce(&url);

    eprintln!(
        "--- kill -9 the master (node {}): the five messages must survive it",
        master + 1
    );
    let killed_at = Instant::now();
    cluster.kill(master);
    let new_master = cluster.wait_for_master(MASTER_TIMEOUT);
    eprintln!(
        "--- node {} took over {} ms after the kill",
        new_master + 1,
        killed_at.elapsed().as_millis()
    );
    assert_ne!(new_master, master);
    consume_five(&url, 1);

    eprintln!(
        "--- restart node {} (a slave now); second round on the new master",
        master + 1
    );
    cluster.restart(master);
    produce(&url);
    consume_five(&url, 2);
    assert_eq!(
        cluster.master(),
        Some(new_master),
        "the restarted node must not take over"
    );
}
