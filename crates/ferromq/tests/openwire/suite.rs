//! `JmsSuite` (interop/java/JmsSuite.java): the JMS feature suite on the real client. On
//! failure the test prints the suite's output; the broker's log follows (testkit prints it).

use crate::broker::Broker;
use crate::java;
use std::time::Duration;

/// Whole-suite budget; the suite itself times out each test (30 s) and needs about 40 s
/// against ActiveMQ 5.17 on 2 cores.
const SUITE_TIMEOUT: Duration = Duration::from_secs(300);

/// Every test of `JmsSuite` prints `PASS`: message types and properties, headers, queues
/// and topics, temporary destinations, durable subscribers, selectors, every
/// acknowledgement mode, transactions, recover, prefetch 0/1/1000, async sends with a
/// producer window, browsing, the DLQ, credentials and XA (works or refused, never hangs).
/// `OPENWIRE_SUITE_TESTS="a b"` runs a subset.
#[test]
fn jms_suite_passes() {
    eprintln!("--- starting a broker");
    let broker = Broker::start();
    let url = broker.tcp_url();
    let subset = std::env::var("OPENWIRE_SUITE_TESTS").unwrap_or_default();
    let mut args = vec![url.as_str()];
    args.extend(subset.split_whitespace());
    eprintln!("--- running JmsSuite against {url}");
    let out = java::run("JmsSuite", &args, SUITE_TIMEOUT);
    let failed: Vec<&String> = out
        .lines
        .iter()
        .filter(|l| l.starts_with("FAIL "))
        .collect();
    let passed = out.lines.iter().filter(|l| l.starts_with("PASS ")).count();
    eprintln!("{}", out.stdout());
    assert!(
        out.success() && failed.is_empty() && passed > 0,
        "JmsSuite: {passed} passed, {} failed:\n{}\n{}",
        failed.len(),
        failed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        out.report()
    );
}
