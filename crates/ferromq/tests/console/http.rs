//! A tiny HTTP/1.1 client over `std::net::TcpStream` (one request per connection), and
//! the broker set-up the console tests share.

use base64::Engine;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;
use testkit::TestBroker;

/// Every request must be answered within this (argon2 checks take tens of milliseconds).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub const USER: &str = "ops";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }
}

/// Percent-encodes everything but unreserved characters (one path segment or value).
pub fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(REQUEST_TIMEOUT)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let raw = read_response(&mut s).unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
    parse(&raw)
}

/// Reads one response: up to its Content-Length, the last chunk, or the end of the stream
/// (a peer may keep the connection open despite `Connection: close`).
fn read_response(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let body = &raw[end + 4..];
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            match length {
                Some(n) if body.len() >= n => return Ok(raw),
                None if head.contains("transfer-encoding: chunked")
                    && body.ends_with(b"0\r\n\r\n") =>
                {
                    return Ok(raw)
                }
                _ => {}
            }
        }
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Ok(raw);
        }
        raw.extend_from_slice(&buf[..n]);
    }
}

fn parse(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
}

/// The argon2 hash of [`PASSWORD`], made once by `ferromq console hash-password`.
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let mut child = Command::new(testkit::binary())
            .args(["console", "hash-password"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run ferromq console hash-password");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "hash-password failed");
        let hash = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        hash
    })
}

/// A broker whose console has the user [`USER`] with [`PASSWORD`].
pub fn broker_with_user() -> TestBroker {
    let config = format!(
        "[[console.users]]\nname = \"{USER}\"\npassword_hash = \"{}\"\n",
        password_hash()
    );
    TestBroker::start_with(Some(&config), &[])
}

/// A script's view of one console: Basic auth on every request.
#[derive(Clone)]
pub struct Api {
    pub addr: String,
    auth: String,
}

impl Api {
    pub fn new(broker: &TestBroker) -> Api {
        Api::with(&broker.console_addr(), USER, PASSWORD)
    }

    pub fn with(addr: &str, user: &str, password: &str) -> Api {
        Api {
            addr: addr.to_string(),
            auth: basic(user, password),
        }
    }

    pub fn get(&self, path: &str) -> Response {
        request(
            &self.addr,
            "GET",
            path,
            &[("Authorization", &self.auth)],
            b"",
        )
    }

    pub fn delete(&self, path: &str) -> Response {
        request(
            &self.addr,
            "DELETE",
            path,
            &[("Authorization", &self.auth)],
            b"",
        )
    }

    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> Response {
        request(
            &self.addr,
            "POST",
            path,
            &[
                ("Authorization", &self.auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
    }

    pub fn post_form(&self, path: &str, form: &str) -> Response {
        request(
            &self.addr,
            "POST",
            path,
            &[
                ("Authorization", &self.auth),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            form.as_bytes(),
        )
    }
}

/// A browser's view: a session cookie after the login form.
pub struct Browser {
    pub addr: String,
    pub cookie: String,
}

impl Browser {
    /// Logs in through the form; panics unless it is accepted.
    pub fn login(broker: &TestBroker) -> Browser {
        Browser::login_as(&broker.console_addr(), USER, PASSWORD)
    }

    pub fn login_as(addr: &str, user: &str, password: &str) -> Browser {
        let addr = addr.to_string();
        let r = request(
            &addr,
            "POST",
            "/login",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            format!("user={}&password={}", enc(user), enc(password)).as_bytes(),
        );
        assert_eq!(r.status, 303, "login refused: {}", r.text());
        let set = r
            .header("set-cookie")
            .expect("a session cookie")
            .to_string();
        let cookie = set.split(';').next().unwrap().to_string();
        Browser { addr, cookie }
    }

    pub fn get(&self, path: &str) -> Response {
        request(&self.addr, "GET", path, &[("Cookie", &self.cookie)], b"")
    }

    pub fn post(&self, path: &str, form: &str) -> Response {
        request(
            &self.addr,
            "POST",
            path,
            &[
                ("Cookie", &self.cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            form.as_bytes(),
        )
    }

    /// The CSRF token the page's forms carry.
    pub fn csrf(&self, page: &str) -> String {
        let html = self.get(page).text();
        let marker = "name=\"csrf\" value=\"";
        let start = html
            .find(marker)
            .unwrap_or_else(|| panic!("no CSRF field on {page}: {html}"))
            + marker.len();
        html[start..start + html[start..].find('"').unwrap()].to_string()
    }
}

/// The log line that carries a generated console password.
pub const GENERATED: &str = "generated a password for the console";

/// The console password a broker generated on its first start, from its log.
pub fn generated_password(log: &str) -> String {
    let line = log
        .lines()
        .find(|l| l.contains(GENERATED))
        .unwrap_or_else(|| panic!("no generated password in the log:\n{log}"));
    let start = line.find("password=").expect("password field") + "password=".len();
    line[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_matches('"')
        .to_string()
}

/// A STOMP 1.2 connection, CONNECTED, with extra CONNECT `headers` (`key:value\n` each).
pub fn stomp_connect(addr: &str, headers: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(REQUEST_TIMEOUT)).unwrap();
    s.write_all(format!("CONNECT\naccept-version:1.2\nhost:x\n{headers}\n\0").as_bytes())
        .unwrap();
    let reply = read_frame(&mut s);
    assert!(reply.starts_with("CONNECTED"), "{reply}");
    s
}

/// Reads one STOMP frame (up to its NUL) and returns it as text.
pub fn read_frame(s: &mut TcpStream) -> String {
    let mut frame = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match s.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == 0 => break,
            Ok(_) => frame.push(byte[0]),
            Err(e) => panic!("no STOMP frame: {e}"),
        }
    }
    String::from_utf8_lossy(&frame)
        .trim_start_matches('\n')
        .to_string()
}

/// Sends a STOMP frame asking for a receipt and waits for it (frames before it are done).
pub fn stomp_with_receipt(s: &mut TcpStream, command_and_headers: &str, body: &str) {
    s.write_all(format!("{command_and_headers}\nreceipt:r\n\n{body}\0").as_bytes())
        .unwrap();
    let reply = read_frame(s);
    assert!(
        reply.starts_with("RECEIPT"),
        "{command_and_headers}: {reply}"
    );
}

/// `ferromq_journal_fsync_seconds` as `/metrics` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FsyncHistogram {
    /// `(le, count)` in the order served, `+Inf` last.
    pub buckets: Vec<(String, u64)>,
    pub sum: f64,
    pub count: u64,
}

/// The bucket bounds the histogram must have, in order.
pub const FSYNC_BUCKETS: [&str; 14] = [
    "0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1", "0.25", "1", "+Inf",
];

impl FsyncHistogram {
    /// Reads it from a `/metrics` text; `None` if the series is absent.
    pub fn parse(metrics: &str) -> Option<FsyncHistogram> {
        const NAME: &str = "ferromq_journal_fsync_seconds";
        let value = |rest: &str| rest.trim().to_string();
        let mut h = FsyncHistogram {
            buckets: Vec::new(),
            sum: f64::NAN,
            count: u64::MAX,
        };
        for line in metrics.lines() {
            if let Some(rest) = line.strip_prefix(&format!("{NAME}_bucket{{le=\"")) {
                let (le, n) = rest.split_once("\"} ")?;
                h.buckets.push((le.to_string(), value(n).parse().ok()?));
            } else if let Some(rest) = line.strip_prefix(&format!("{NAME}_sum ")) {
                h.sum = value(rest).parse().ok()?;
            } else if let Some(rest) = line.strip_prefix(&format!("{NAME}_count ")) {
                h.count = value(rest).parse().ok()?;
            }
        }
        (!h.buckets.is_empty()).then_some(h)
    }

    /// Panics unless it is a well-formed Prometheus histogram: the expected bounds in
    /// order, cumulative counts that never decrease, `+Inf` equal to the count, and a sum
    /// that is positive when anything was counted.
    pub fn assert_consistent(&self) {
        let les: Vec<&str> = self.buckets.iter().map(|(le, _)| le.as_str()).collect();
        assert_eq!(les, FSYNC_BUCKETS, "{self:?}");
        assert!(
            self.buckets.windows(2).all(|w| w[0].1 <= w[1].1),
            "buckets are not cumulative: {self:?}"
        );
        assert_eq!(
            self.buckets.last().map(|b| b.1),
            Some(self.count),
            "{self:?}"
        );
        if self.count > 0 {
            assert!(self.sum > 0.0, "{self:?}");
        }
    }
}
