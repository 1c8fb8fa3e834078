//! Interop suite: the real Python `stomp.py` client against real `ferromq` processes.
//!
//! The Python tests live in `interop/python/` (pytest); this binary starts the brokers
//! with `testkit`, runs `python3 -m pytest` with their addresses in the environment and
//! fails with pytest's output when any Python test fails. Missing Python packages are a
//! failure, never a skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use testkit::TestBroker;

/// The whole Python suite must stay well inside this.
const SUITE_BUDGET: Duration = Duration::from_secs(60);
/// `max_redeliveries` of the second broker, so the redelivery-limit test needs 3
/// deliveries instead of 7.
const LOW_MAX_REDELIVERIES: u32 = 2;

fn python_suite_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop/python")).to_path_buf()
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn output_text(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Fails (never skips) when python3, stomp.py or pytest is missing.
fn require_python_packages() {
    let out = Command::new(python())
        .args(["-c", "import stomp, pytest"])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; the interop suite needs Python 3 with \
                 `pip install stomp.py pytest`",
                python()
            )
        });
    assert!(
        out.status.success(),
        "the interop suite needs the Python packages stomp.py and pytest: \
         run `pip install stomp.py pytest`\n{}",
        output_text(&out)
    );
}

/// Every pytest test in `interop/python` passes (known broker bugs are tracked there as
/// strict xfails) against a default broker plus one with `max_redeliveries = 2`.
#[test]
fn stomp_py_client_suite_passes_against_ferromq() {
    eprintln!("--- checking that python3 has stomp.py and pytest");
    require_python_packages();

    eprintln!(
        "--- starting a default broker and one with max_redeliveries = {LOW_MAX_REDELIVERIES}"
    );
    let broker = TestBroker::start();
    let low_config = format!("[broker]\nmax_redeliveries = {LOW_MAX_REDELIVERIES}\n");
    let low = TestBroker::start_with(Some(&low_config), &[]);

    eprintln!("--- running pytest in {}", python_suite_dir().display());
    let started = Instant::now();
    let out = Command::new(python())
        .args(["-m", "pytest", "-q", "-rxXs", "-p", "no:cacheprovider"])
        .arg(python_suite_dir())
        .env("FERROMQ_STOMP", broker.stomp_addr())
        .env("FERROMQ_STOMP_LOW_REDELIVERY", low.stomp_addr())
        .env(
            "FERROMQ_LOW_MAX_REDELIVERIES",
            LOW_MAX_REDELIVERIES.to_string(),
        )
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run pytest: {e}"));
    let elapsed = started.elapsed();
    let text = output_text(&out);

    assert!(
        out.status.success(),
        "pytest failed ({}) after {elapsed:?}\n{text}\n--- default broker log\n{}\n--- low-redelivery broker log\n{}",
        out.status,
        broker.log(),
        low.log()
    );
    eprintln!("{text}");
    assert!(
        elapsed < SUITE_BUDGET,
        "the interop suite took {elapsed:?}, over its {SUITE_BUDGET:?} budget\n{text}"
    );
}
