//! `ferromq produce|consume|browse|bench --url …`: the CLI over the Rust client, run as a
//! process against a real broker.

use std::process::Command;
use testkit::TestBroker;

/// Runs `ferromq ARGS`, asserts it succeeded and returns its stdout lines.
fn ferromq(args: &[&str]) -> Vec<String> {
    let out = Command::new(testkit::binary())
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ferromq");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "ferromq {args:?} failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(str::to_string).collect()
}

fn json_lines(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// `produce` over a failover URL whose first broker is down names the broker it reached
/// and each message id; `browse` lists them without consuming; `consume` takes them.
#[test]
fn produce_browse_consume_with_failover_urls() {
    let broker = TestBroker::start();
    let dead = testkit::reserve_port();
    let live = format!("tcp://{}", broker.openwire_addr());
    let failover = format!(
        "failover:(tcp://127.0.0.1:{dead},{live})?randomize=false&initialReconnectDelay=10"
    );

    eprintln!("--- produce 5 through failover:");
    let out = ferromq(&[
        "produce", "--url", &failover, "--queue", "cli-q", "--count", "5",
    ]);
    assert_eq!(out[0], format!("connected to {live}"), "{out:?}");
    let sent: Vec<&String> = out
        .iter()
        .filter(|l| l.starts_with("sent message "))
        .collect();
    assert_eq!(sent.len(), 5, "{out:?}");
    assert!(sent[0].contains("to /queue/cli-q as ID:"), "{}", sent[0]);

    eprintln!("--- browse sees 5, twice (nothing consumed)");
    for _ in 0..2 {
        let events = json_lines(&ferromq(&[
            "browse", "--url", &failover, "--queue", "cli-q", "--json",
        ]));
        assert_eq!(events[0]["event"], "connected");
        assert_eq!(events[0]["broker"], live.as_str());
        let bodies: Vec<&str> = events
            .iter()
            .filter(|e| e["event"] == "message")
            .filter_map(|e| e["body"].as_str())
            .collect();
        assert_eq!(
            bodies,
            [
                "message 1",
                "message 2",
                "message 3",
                "message 4",
                "message 5"
            ]
        );
        assert_eq!(events.last().expect("done")["messages"], 5);
    }

    eprintln!("--- consume takes them; the queue is empty afterwards");
    let events = json_lines(&ferromq(&[
        "consume", "--url", &live, "--queue", "cli-q", "--count", "5", "--json",
    ]));
    let received = events.iter().filter(|e| e["event"] == "received").count();
    assert_eq!(received, 5);
    let out = ferromq(&["browse", "--url", &live, "--queue", "cli-q"]);
    assert_eq!(
        out.last().map(String::as_str),
        Some("0 messages on /queue/cli-q")
    );

    eprintln!("--- consume with too few messages fails after its timeout");
    let status = Command::new(testkit::binary())
        .args([
            "consume",
            "--url",
            &live,
            "--queue",
            "cli-q",
            "--count",
            "1",
            "--timeout",
            "0.3",
        ])
        .output()
        .expect("run ferromq");
    assert!(!status.status.success());
}

/// `bench --url` runs producers and consumers over OpenWire and counts every message.
#[test]
fn bench_runs_over_openwire() {
    let broker = TestBroker::start();
    let url = format!("tcp://{}", broker.openwire_addr());
    for ack in ["auto", "dups-ok", "client-individual"] {
        let out = ferromq(&[
            "bench",
            "--url",
            &url,
            "--producers",
            "2",
            "--consumers",
            "2",
            "--count",
            "500",
            "--non-persistent",
            "--ack",
            ack,
            "--json",
        ]);
        let result = &json_lines(&out)[0];
        assert_eq!(result["sent"], 1000, "{result}");
        assert_eq!(result["received"], 1000, "{result}");
        assert_eq!(result["broker"], url.as_str());
        assert_eq!(result["latency_ms"]["samples"], 1000, "timestamps travel");
    }
}
