//! Compiling `interop/java/*.java` once per test process and running the classes with a
//! timeout.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Debian `libactivemq-java` 5.17.2 plus its runtime dependencies.
const JARS: &[&str] = &[
    "activemq-client.jar",
    "geronimo-jms_1.1_spec.jar",
    "hawtbuf.jar",
    "geronimo-j2ee-management-1.1-spec.jar",
    "slf4j-api.jar",
    "slf4j-nop.jar",
];
const INSTALL_HINT: &str = "apt-get install openjdk-17-jdk-headless libactivemq-java";
/// Small heap and quick start-up: up to a few JVMs share 2 cores.
const JVM_FLAGS: &[&str] = &["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"];

fn sources_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop/java")).to_path_buf()
}

fn jars_dir() -> PathBuf {
    std::env::var_os("ACTIVEMQ_JARS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java"))
}

fn classpath_jars() -> Vec<PathBuf> {
    JARS.iter().map(|j| jars_dir().join(j)).collect()
}

fn join_classpath(parts: &[PathBuf]) -> String {
    parts
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// The compiled classes directory; compiles on first use. Panics (fails the test) with the
/// packages to install when `javac` or a jar is missing.
pub fn classes_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(compile)
}

fn compile() -> PathBuf {
    for jar in classpath_jars() {
        assert!(
            jar.is_file(),
            "missing {}: the OpenWire suite needs the ActiveMQ client jars, run `{INSTALL_HINT}`",
            jar.display()
        );
    }
    let mut sources: Vec<PathBuf> = std::fs::read_dir(sources_dir())
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", sources_dir().display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "java"))
        .collect();
    sources.sort();
    assert!(
        !sources.is_empty(),
        "no Java sources in {}",
        sources_dir().display()
    );
    // Classes are cached under target/tmp by a hash of the sources, so repeated runs and
    // concurrent test processes reuse one compilation.
    let mut hasher = DefaultHasher::new();
    for s in &sources {
        s.file_name().hash(&mut hasher);
        std::fs::read(s)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", s.display()))
            .hash(&mut hasher);
    }
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.join(format!("openwire-java-{:016x}", hasher.finish()));
    if dir.join(".complete").is_file() {
        return dir;
    }
    let staging = tmp.join(format!(
        "openwire-java-staging-{}-{:016x}",
        std::process::id(),
        hasher.finish()
    ));
    let _ = std::fs::remove_dir_all(&staging);
    eprintln!(
        "--- compiling {} Java sources into {}",
        sources.len(),
        dir.display()
    );
    let javac = std::env::var("JAVAC").unwrap_or_else(|_| "javac".to_string());
    let out = Command::new(&javac)
        .arg("-nowarn")
        .arg("-encoding")
        .arg("UTF-8")
        .arg("-cp")
        .arg(join_classpath(&classpath_jars()))
        .arg("-d")
        .arg(&staging)
        .args(&sources)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {javac}: {e}; the OpenWire suite needs a JDK: run `{INSTALL_HINT}`")
        });
    assert!(
        out.status.success(),
        "javac failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(staging.join(".complete"), b"")
        .unwrap_or_else(|e| panic!("cannot write marker: {e}"));
    if std::fs::rename(&staging, &dir).is_err() {
        // Another test process won the race; its classes are the same.
        let _ = std::fs::remove_dir_all(&staging);
    }
    dir
}

/// A running JVM whose stdout lines and stderr are collected as they arrive.
pub struct JavaProcess {
    label: String,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<thread::JoinHandle<()>>,
}

/// What a finished (or killed) JVM printed.
pub struct JavaOutput {
    pub label: String,
    /// `None` when the JVM was killed on timeout.
    pub code: Option<i32>,
    pub timed_out: bool,
    pub lines: Vec<String>,
    pub stderr: String,
}

impl JavaOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    pub fn stdout(&self) -> String {
        self.lines.join("\n")
    }

    /// Everything printed, for failure messages.
    pub fn report(&self) -> String {
        format!(
            "--- {} exit={:?}{}\n--- stdout\n{}\n--- stderr\n{}",
            self.label,
            self.code,
            if self.timed_out {
                " (killed: timed out)"
            } else {
                ""
            },
            self.stdout(),
            self.stderr
        )
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl JavaProcess {
    /// Starts `java <main_class> <args>` with the compiled classes and the jars.
    pub fn spawn(main_class: &str, args: &[&str]) -> JavaProcess {
        let mut cp = vec![classes_dir().to_path_buf()];
        cp.extend(classpath_jars());
        let java = std::env::var("JAVA").unwrap_or_else(|_| "java".to_string());
        let mut child = Command::new(&java)
            .args(JVM_FLAGS)
            .arg("-cp")
            .arg(join_classpath(&cp))
            .arg(main_class)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {java}: {e}; run `{INSTALL_HINT}`"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            let lines = Arc::clone(&lines);
            readers.push(thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    lock(&lines).push(line);
                }
            }));
        }
        if let Some(mut err) = child.stderr.take() {
            let stderr = Arc::clone(&stderr);
            readers.push(thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match err.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => lock(&stderr).push_str(&String::from_utf8_lossy(&buf[..n])),
                    }
                }
            }));
        }
        JavaProcess {
            label: format!("java {main_class} {}", args.join(" ")),
            child,
            lines,
            stderr,
            readers,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How many stdout lines so far start with `prefix`.
    #[allow(dead_code)] // the cluster suite's
    pub fn count_lines_starting(&self, prefix: &str) -> usize {
        lock(&self.lines)
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }

    /// Waits until a stdout line equals `line`; false when `timeout` passes or the JVM exits
    /// first.
    pub fn wait_for_line(&mut self, line: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if lock(&self.lines).iter().any(|l| l == line) {
                return true;
            }
            if Instant::now() >= deadline || matches!(self.child.try_wait(), Ok(Some(_))) {
                // One last look: the line may have arrived with the exit.
                thread::sleep(Duration::from_millis(50));
                return lock(&self.lines).iter().any(|l| l == line);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the JVM to exit; kills it when `timeout` passes first.
    pub fn finish(mut self, timeout: Duration) -> JavaOutput {
        let deadline = Instant::now() + timeout;
        let mut timed_out = false;
        let code = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status.code(),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => {
                    timed_out = true;
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        JavaOutput {
            label: self.label.clone(),
            code,
            timed_out,
            lines: lock(&self.lines).clone(),
            stderr: lock(&self.stderr).clone(),
        }
    }
}

impl Drop for JavaProcess {
    fn drop(&mut self) {
        // A test that panics mid-run must not leave a JVM behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a class to completion (killed after `timeout`).
pub fn run(main_class: &str, args: &[&str], timeout: Duration) -> JavaOutput {
    eprintln!("--- running java {main_class} {}", args.join(" "));
    JavaProcess::spawn(main_class, args).finish(timeout)
}
