//! The same feature checks against a real ActiveMQ 5.17 broker (Debian's `activemq`
//! package, started as a plain process by `bench/activemq/start-activemq.sh`): proof that
//! the client speaks real OpenWire, not only ferromq's dialect. Skipped, with a message,
//! when `/usr/share/activemq` is not installed.

use crate::checks::{self, Target};
use std::path::{Path, PathBuf};
use std::process::Command;

const AMQ_HOME: &str = "/usr/share/activemq";

/// An ActiveMQ process in its own data directory, stopped (by its PID file) on drop.
struct ActiveMq {
    data_dir: PathBuf,
    scripts: PathBuf,
    port: u16,
}

impl ActiveMq {
    fn start() -> ActiveMq {
        let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/activemq");
        let port = testkit::reserve_port();
        let data_dir = std::env::temp_dir().join(format!(
            "ferromq-client-activemq-{}-{port}",
            std::process::id()
        ));
        let status = Command::new("bash")
            .arg(scripts.join("start-activemq.sh"))
            .arg(&data_dir)
            .arg(port.to_string())
            .arg("none")
            .env("BROKER_JAVA_OPTS", "-Xms128M -Xmx256M")
            .status()
            .expect("run start-activemq.sh");
        let amq = ActiveMq {
            data_dir,
            scripts,
            port,
        };
        if !status.success() {
            let log = std::fs::read_to_string(amq.data_dir.join("broker.log")).unwrap_or_default();
            panic!("ActiveMQ did not start ({status}):\n{log}");
        }
        amq
    }
}

impl Drop for ActiveMq {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(self.scripts.join("stop-activemq.sh"))
            .arg(&self.data_dir)
            .arg("9")
            .status();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Every feature check of `checks.rs` against ActiveMQ 5.17, one broker for all of them
/// (start-up takes seconds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_speaks_real_openwire_to_activemq() {
    if !Path::new(AMQ_HOME).join("bin").exists() {
        eprintln!("SKIPPED: {AMQ_HOME} not installed (apt-get install activemq)");
        return;
    }
    let amq = ActiveMq::start();
    let target = Target {
        url: format!("tcp://127.0.0.1:{}", amq.port),
        prefix: "amq".into(),
        prioritized: false,
    };
    eprintln!("--- ActiveMQ on port {}", amq.port);
    checks::message_types(&target).await;
    checks::ack_modes(&target).await;
    checks::transactions(&target).await;
    checks::producer_options(&target).await;
    checks::consumers(&target).await;
    checks::browsing(&target).await;
    checks::request_reply(&target).await;
}
