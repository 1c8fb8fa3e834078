//! One real broker process.

use crate::port::reserve_port;
use crate::wait_until;
use std::fs::File;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long a broker may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The `ferromq` binary: `$FERROMQ_BIN`, else `target/<profile>/ferromq` next to the test
/// executable (`target/<profile>/deps/<test>`).
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("FERROMQ_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    profile_dir.join("ferromq")
}

pub struct TestBroker {
    dir: tempfile::TempDir,
    stomp_port: u16,
    openwire_port: u16,
    console_port: u16,
    extra_args: Vec<String>,
    config: Option<String>,
    child: Option<Child>,
    starts: u32,
}

impl TestBroker {
    /// Starts a broker with embedded defaults, a fresh data dir and a free STOMP port.
    pub fn start() -> TestBroker {
        TestBroker::start_with(None, &[])
    }

    /// Starts a broker with a TOML config (written to its dir) and extra flags.
    pub fn start_with(config: Option<&str>, extra_args: &[&str]) -> TestBroker {
        let dir = tempfile::Builder::new()
            .prefix("ferromq-test-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create temp dir: {e}"));
        let mut broker = TestBroker {
            dir,
            stomp_port: reserve_port(),
            openwire_port: reserve_port(),
            console_port: reserve_port(),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            config: config.map(str::to_string),
            child: None,
            starts: 0,
        };
        broker.launch();
        broker
    }

    pub fn stomp_addr(&self) -> String {
        format!("127.0.0.1:{}", self.stomp_port)
    }

    /// The OpenWire listener (`--openwire`); the same port across `restart()`.
    pub fn openwire_addr(&self) -> String {
        format!("127.0.0.1:{}", self.openwire_port)
    }

    /// The web console (`--console`); the same port across `restart()`.
    pub fn console_addr(&self) -> String {
        format!("127.0.0.1:{}", self.console_port)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("broker.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn launch(&mut self) {
        self.starts += 1;
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap_or_else(|e| panic!("cannot open broker log: {e}"));
        let log2 = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone log handle: {e}"));
        let mut cmd = Command::new(binary());
        cmd.arg("broker")
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--stomp")
            .arg(self.stomp_addr())
            .arg("--openwire")
            .arg(self.openwire_addr())
            .arg("--console")
            .arg(self.console_addr());
        if let Some(c) = &self.config {
            let path = self.dir.path().join("ferromq.toml");
            std::fs::write(&path, c).unwrap_or_else(|e| panic!("cannot write config: {e}"));
            cmd.arg("--config").arg(path);
        }
        cmd.args(&self.extra_args)
            .env(
                "RUST_LOG",
                std::env::var("FERROMQ_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (build it with cargo build)",
                binary().display()
            )
        });
        self.child = Some(child);
        let addr = self.stomp_addr();
        let up = wait_until(START_TIMEOUT, || {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!(
                        "broker exited during start-up ({status}); log:\n{}",
                        self.log()
                    );
                }
            }
            TcpStream::connect(&addr).is_ok()
        });
        assert!(
            up,
            "broker did not listen on {addr} within {START_TIMEOUT:?}; log:\n{}",
            self.log()
        );
    }

    /// SIGKILL: the process dies at once, nothing is flushed.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        self.child.take().is_some_and(crate::process::stop_child)
    }

    /// Starts the broker again on the same data dir and port.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "----- broker log ({}) -----\n{}",
                self.log_path().display(),
                self.log()
            );
        }
    }
}
