//! The load test with the real Java client: several `failover:` producers and
//! consumers (activemq-client 5.17) while the master is SIGKILLed again and again.

use crate::java::JavaProcess;
use crate::{serial, MASTER_TIMEOUT};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use testkit::{wait_until, TestCluster};

/// How many times the master is SIGKILLed.
const KILLS: usize = 10;
const PRODUCERS: usize = 2;
const CONSUMERS: usize = 2;
/// Acknowledged sends to see between two kills, so each kill lands under load.
const SENDS_BETWEEN_KILLS: usize = 50;
const PROGRESS_TIMEOUT: Duration = Duration::from_secs(60);
const FINISH_TIMEOUT: Duration = Duration::from_secs(120);

fn sent(producers: &[JavaProcess]) -> usize {
    producers
        .iter()
        .map(|p| p.count_lines_starting("SENT "))
        .sum()
}

/// Java producers and consumers over `failover:(tcp://A,tcp://B,tcp://C)?randomize=false`
/// keep working while the master is SIGKILLed 10 times (each killed node restarted):
/// every message whose `send()` returned is received in the end; duplicates are reported.
#[test]
fn java_failover_clients_lose_nothing_across_ten_master_kills() {
    let _serial = serial();
    eprintln!("--- starting three replicated nodes");
    let mut cluster = TestCluster::start(3);
    cluster.wait_for_master(MASTER_TIMEOUT);
    let url = cluster.failover_url();
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("no temp dir: {e}"));
    let stop = scratch.path().join("stop");
    let stop_arg = stop.display().to_string();
    let queue = "java.kills";

    eprintln!("--- {PRODUCERS} Java producers and {CONSUMERS} Java consumers over {url}");
    let consumers: Vec<JavaProcess> = (0..CONSUMERS)
        .map(|_| JavaProcess::spawn("FailoverLoad", &["consume", &url, queue, &stop_arg]))
        .collect();
    let producers: Vec<JavaProcess> = (0..PRODUCERS)
        .map(|p| {
            let name = format!("p{p}");
            JavaProcess::spawn("FailoverLoad", &["produce", &url, queue, &name, &stop_arg])
        })
        .collect();

    let mut gaps = Vec::new();
    for kill in 1..=KILLS {
        let master = cluster.wait_for_master(MASTER_TIMEOUT);
        let before = sent(&producers);
        assert!(
            wait_until(PROGRESS_TIMEOUT, || sent(&producers)
                >= before + SENDS_BETWEEN_KILLS),
            "kill {kill}: the Java producers made no progress on node {} ({} sent)",
            master + 1,
            sent(&producers)
        );
        let at_kill = sent(&producers);
        eprintln!(
            "--- kill {kill}/{KILLS}: SIGKILL master node {} ({at_kill} sends returned so far)",
            master + 1
        );
        let killed_at = Instant::now();
        cluster.kill(master);
        assert!(
            wait_until(PROGRESS_TIMEOUT, || sent(&producers) > at_kill + PRODUCERS),
            "kill {kill}: no send returned after the kill"
        );
        let gap = killed_at.elapsed();
        let new_master = cluster.wait_for_master(MASTER_TIMEOUT);
        eprintln!(
            "--- node {} is master; sends returning again after ~{} ms; restarting node {}",
            new_master + 1,
            gap.as_millis(),
            master + 1
        );
        gaps.push(gap.as_millis());
        cluster.restart(master);
    }

    eprintln!("--- stopping the producers, then letting the consumers drain");
    std::fs::write(&stop, b"stop").unwrap_or_else(|e| panic!("cannot write {stop_arg}: {e}"));
    let produced: Vec<_> = producers
        .into_iter()
        .map(|p| p.finish(FINISH_TIMEOUT))
        .collect();
    let consumed: Vec<_> = consumers
        .into_iter()
        .map(|c| c.finish(FINISH_TIMEOUT))
        .collect();

    let mut acked = HashSet::new();
    for out in &produced {
        assert!(out.success(), "a producer failed\n{}", out.report());
        for body in out.lines.iter().filter_map(|l| l.strip_prefix("SENT ")) {
            acked.insert(body.to_string());
        }
    }
    let mut received: HashMap<String, u32> = HashMap::new();
    for out in &consumed {
        assert!(out.success(), "a consumer failed\n{}", out.report());
        for body in out.lines.iter().filter_map(|l| l.strip_prefix("RECV ")) {
            *received.entry(body.to_string()).or_default() += 1;
        }
    }
    let mut lost: Vec<&String> = acked
        .iter()
        .filter(|b| !received.contains_key(*b))
        .collect();
    lost.sort();
    let duplicates: u32 = received.values().map(|n| n - 1).sum();
    let unacked = received.keys().filter(|b| !acked.contains(*b)).count();
    gaps.sort_unstable();
    eprintln!(
        "--- java failover load, {KILLS} kills: acknowledged {}, received {} distinct \
         ({} in total), lost {}, duplicates {duplicates}, received but never acknowledged {unacked}; \
         kill → sends returning again, sorted ms: {gaps:?}",
        acked.len(),
        received.len(),
        received.values().sum::<u32>(),
        lost.len(),
    );
    assert!(
        lost.is_empty(),
        "{} acknowledged messages lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    assert!(acked.len() >= KILLS * SENDS_BETWEEN_KILLS);
}
