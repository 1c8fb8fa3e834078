//! A minimal W3C WebDriver client for headless Chromium through Debian's `chromedriver`
//! (JSON over HTTP with the suite's own HTTP client): enough to log in, fill forms, click,
//! read pages and take screenshots.

use crate::http::request;
use base64::Engine;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long chromedriver may take to listen, and an element to appear.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const ELEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// The W3C key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Debian's driver and browser (`apt-get install chromium chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

pub fn available() -> bool {
    Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists()
}

/// Where screenshots go (kept after the run as test artifacts).
pub fn artifacts_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// One chromedriver process with one headless Chromium session; both end on drop.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
}

impl Browser {
    pub fn start() -> Browser {
        let port = testkit::reserve_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let addr = format!("127.0.0.1:{port}");
        let up = testkit::wait_until(START_TIMEOUT, || {
            std::net::TcpStream::connect(&addr).is_ok()
        });
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
        };
        assert!(up, "chromedriver did not listen within {START_TIMEOUT:?}");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900"]
            }
        }}});
        let answer = browser.call("POST", "/session", &caps);
        browser.session = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        browser
    }

    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let payload = if method == "GET" {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let r = request(
            &self.addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            &payload,
        );
        let v: Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("webdriver {method} {path}: not JSON ({e}): {}", r.text()));
        assert_eq!(r.status, 200, "webdriver {method} {path}: {v}");
        v["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: &Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", &json!({ "url": url }));
    }

    pub fn url(&self) -> String {
        self.session_call("GET", "/url", &Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn source(&self) -> String {
        self.session_call("GET", "/source", &Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The first element matching a CSS selector, waiting for it to appear.
    pub fn find(&self, css: &str) -> String {
        let mut found = None;
        testkit::wait_until(ELEMENT_TIMEOUT, || {
            let r = request(
                &self.addr,
                "POST",
                &format!("/session/{}/element", self.session),
                &[("Content-Type", "application/json")],
                json!({"using": "css selector", "value": css})
                    .to_string()
                    .as_bytes(),
            );
            if r.status == 200 {
                found = r.json()["value"][ELEMENT_KEY].as_str().map(str::to_string);
            }
            found.is_some()
        });
        found.unwrap_or_else(|| panic!("no element {css} on {}:\n{}", self.url(), self.source()))
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.session_call(
            "POST",
            &format!("/element/{id}/value"),
            &json!({ "text": text }),
        );
    }

    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.session_call("POST", &format!("/element/{id}/click"), &json!({}));
    }

    pub fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let id = self.find(css);
        self.session_call(
            "GET",
            &format!("/element/{id}/attribute/{name}"),
            &Value::Null,
        )
        .as_str()
        .map(str::to_string)
    }

    /// Saves a PNG of the page as `<artifacts>/<name>.png`.
    pub fn screenshot(&self, name: &str) {
        let data = self.session_call("GET", "/screenshot", &Value::Null);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("screenshot is not base64: {e}"));
        assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
        let path = artifacts_dir().join(format!("{name}.png"));
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        eprintln!("screenshot: {}", path.display());
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = request(
                &self.addr,
                "DELETE",
                &format!("/session/{}", self.session),
                &[],
                b"",
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
