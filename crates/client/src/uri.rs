//! Broker URIs as ActiveMQ's `activemq-client` writes them.
//!
//! * `tcp://host:port?options` — one broker. The options (`wireFormat.maxInactivityDuration=…`,
//!   `connectionTimeout=…`) are kept per URI, in order, for the transport to interpret.
//! * `failover:(uri,uri,…)?options` — a list of brokers and the [`FailoverOptions`] that govern
//!   reconnecting. `failover://(…)` is accepted too.
//! * `failover:uri,uri` — the list without parentheses, which ActiveMQ also accepts. As in
//!   ActiveMQ, a `?query` there belongs to the *last* broker URI, not to the failover
//!   transport; a failover option in that position is an error that says so.
//!
//! Failover option names, defaults and meanings are ActiveMQ's (`FailoverTransport`); an
//! option name is case-sensitive and an unknown one is an error naming it. Options prefixed
//! `nested.` are added to every broker URI ([`FailoverUri::connect_uris`]).
//!
//! ```
//! use client::uri::BrokerUri;
//! use std::time::Duration;
//!
//! let uri: BrokerUri = "failover:(tcp://a:61616,tcp://b:61616)?randomize=false".parse().unwrap();
//! let BrokerUri::Failover(f) = uri else { panic!() };
//! assert_eq!(f.uris.len(), 2);
//! assert!(!f.options.randomize);
//! let first: Vec<_> = f.options.reconnect.delays().take(4).collect();
//! assert_eq!(first, [10, 20, 40, 80].map(Duration::from_millis));
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Why a URI was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The scheme is neither `tcp` nor `failover`.
    #[error("unsupported scheme `{scheme}` in `{uri}` (expected tcp: or failover:)")]
    UnsupportedScheme { scheme: String, uri: String },
    /// The URI does not have the expected shape.
    #[error("malformed URI `{uri}`: {reason}")]
    Malformed { uri: String, reason: String },
    /// An option name the transport does not know.
    #[error("unknown option `{option}` in `{uri}`")]
    UnknownOption { option: String, uri: String },
    /// A failover option placed on a tcp URI (e.g. `failover:tcp://h:1?randomize=false`).
    #[error(
        "`{option}` is a failover option but is attached to `{uri}`; \
         write failover:(…)?{option}=… to apply it to the failover transport"
    )]
    FailoverOptionOnTcp { option: String, uri: String },
    /// The same option twice in one query.
    #[error("option `{option}` given twice in `{uri}`")]
    DuplicateOption { option: String, uri: String },
    /// A known option with a value it cannot take.
    #[error("invalid value `{value}` for option `{option}`: {reason}")]
    InvalidValue {
        option: String,
        value: String,
        reason: String,
    },
}

/// A parsed `tcp:` or `failover:` URI.
#[derive(Debug, Clone, PartialEq)]
pub enum BrokerUri {
    Tcp(TcpUri),
    Failover(FailoverUri),
}

impl BrokerUri {
    /// Parses a `tcp:` or `failover:` URI (same as [`str::parse`]).
    pub fn parse(s: &str) -> Result<BrokerUri, UriError> {
        let s = s.trim();
        let (scheme, rest) = s.split_once(':').ok_or_else(|| malformed(s, "no scheme"))?;
        match scheme {
            "tcp" => TcpUri::parse(s).map(BrokerUri::Tcp),
            "failover" => FailoverUri::parse_body(s, rest).map(BrokerUri::Failover),
            other => Err(UriError::UnsupportedScheme {
                scheme: other.to_string(),
                uri: s.to_string(),
            }),
        }
    }

    /// The broker URIs to try, in their written order (one for `tcp:`).
    pub fn brokers(&self) -> Vec<TcpUri> {
        match self {
            BrokerUri::Tcp(t) => vec![t.clone()],
            BrokerUri::Failover(f) => f.connect_uris(),
        }
    }
}

impl FromStr for BrokerUri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, UriError> {
        BrokerUri::parse(s)
    }
}

impl fmt::Display for BrokerUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerUri::Tcp(t) => t.fmt(f),
            BrokerUri::Failover(u) => u.fmt(f),
        }
    }
}

/// `tcp://host:port?options`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpUri {
    /// Host name or address; an IPv6 address without its brackets.
    pub host: String,
    pub port: u16,
    /// Transport options in written order, names as written, values percent-decoded.
    pub options: Vec<(String, String)>,
}

impl TcpUri {
    /// Parses `tcp://host:port[/][?options]`.
    pub fn parse(s: &str) -> Result<TcpUri, UriError> {
        let s = s.trim();
        let rest = s
            .strip_prefix("tcp://")
            .ok_or_else(|| match s.split_once(':') {
                Some((scheme, _)) if scheme != "tcp" => UriError::UnsupportedScheme {
                    scheme: scheme.to_string(),
                    uri: s.to_string(),
                },
                _ => malformed(s, "expected tcp://host:port"),
            })?;
        let (authority, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        if authority.contains('/') {
            return Err(malformed(s, "a tcp URI has no path"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| malformed(s, "unclosed `[` in host"))?;
            let port = after
                .strip_prefix(':')
                .ok_or_else(|| malformed(s, "missing port"))?;
            (host, port)
        } else {
            authority
                .rsplit_once(':')
                .ok_or_else(|| malformed(s, "missing port"))?
        };
        if host.is_empty() {
            return Err(malformed(s, "missing host"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| malformed(s, &format!("bad port `{port}`")))?;
        let options = match query {
            Some(q) => parse_query(s, q)?,
            None => Vec::new(),
        };
        if let Some((name, _)) = options
            .iter()
            .find(|(name, _)| FAILOVER_OPTIONS.contains(&name.as_str()))
        {
            return Err(UriError::FailoverOptionOnTcp {
                option: name.clone(),
                uri: s.to_string(),
            });
        }
        Ok(TcpUri {
            host: host.to_string(),
            port,
            options,
        })
    }

    /// `host:port` for `TcpStream::connect` (IPv6 in brackets).
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The value of a transport option (the last one if repeated through `nested.`).
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl FromStr for TcpUri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, UriError> {
        TcpUri::parse(s)
    }
}

impl fmt::Display for TcpUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tcp://{}", self.addr())?;
        for (i, (k, v)) in self.options.iter().enumerate() {
            write!(f, "{}{k}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

/// `failover:(uri,…)?options`.
#[derive(Debug, Clone, PartialEq)]
pub struct FailoverUri {
    /// The brokers as written, without the `nested.` options.
    pub uris: Vec<TcpUri>,
    pub options: FailoverOptions,
}

impl FailoverUri {
    /// Parses a `failover:` URI.
    pub fn parse(s: &str) -> Result<FailoverUri, UriError> {
        match BrokerUri::parse(s)? {
            BrokerUri::Failover(f) => Ok(f),
            BrokerUri::Tcp(_) => Err(malformed(s, "expected a failover: URI")),
        }
    }

    fn parse_body(whole: &str, body: &str) -> Result<FailoverUri, UriError> {
        let body = body.strip_prefix("//").unwrap_or(body).trim();
        let (list, query) = if let Some(inner) = body.strip_prefix('(') {
            let close = matching_paren(inner).ok_or_else(|| malformed(whole, "unbalanced `(`"))?;
            let after = inner[close + 1..].trim();
            let query = match after {
                "" => None,
                q => Some(
                    q.strip_prefix('?')
                        .ok_or_else(|| malformed(whole, "expected `?` after `)`"))?,
                ),
            };
            (&inner[..close], query)
        } else {
            // ActiveMQ (URISupport.parseComposite): without parentheses the whole rest is the
            // list; a query stays with the last URI.
            (body, None)
        };
        let uris = split_top_level(list)
            .into_iter()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| {
                if u.starts_with("failover:") {
                    Err(malformed(whole, "failover: cannot be nested"))
                } else {
                    TcpUri::parse(u)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if uris.is_empty() {
            return Err(malformed(whole, "no broker URI in the list"));
        }
        let options = match query {
            Some(q) => FailoverOptions::from_query(whole, &parse_query(whole, q)?)?,
            None => FailoverOptions::default(),
        };
        Ok(FailoverUri { uris, options })
    }

    /// The brokers with the `nested.` options added to each (they override the URI's own,
    /// as in ActiveMQ, where they are appended to each query).
    pub fn connect_uris(&self) -> Vec<TcpUri> {
        self.uris.iter().map(|u| self.with_nested(u)).collect()
    }

    /// The brokers a `priorityBackup` connection on a non-priority broker keeps trying to
    /// move to, in order: `priorityURIs`, else the first broker of the list; with the
    /// `nested.` options. Empty without `priorityBackup`.
    pub fn priority_connect_uris(&self) -> Vec<TcpUri> {
        if !self.options.priority_backup {
            return Vec::new();
        }
        if self.options.priority_uris.is_empty() {
            return self
                .uris
                .first()
                .map(|u| self.with_nested(u))
                .into_iter()
                .collect();
        }
        self.options
            .priority_uris
            .iter()
            .map(|u| self.with_nested(u))
            .collect()
    }

    fn with_nested(&self, uri: &TcpUri) -> TcpUri {
        let mut u = uri.clone();
        for (k, v) in &self.options.nested {
            u.options.retain(|(name, _)| name != k);
            u.options.push((k.clone(), v.clone()));
        }
        u
    }
}

impl FromStr for FailoverUri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, UriError> {
        FailoverUri::parse(s)
    }
}

impl fmt::Display for FailoverUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("failover:(")?;
        for (i, u) in self.uris.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            u.fmt(f)?;
        }
        f.write_str(")")
    }
}

/// The failover options that exist (besides `nested.*`).
const FAILOVER_OPTIONS: &[&str] = &[
    "randomize",
    "initialReconnectDelay",
    "maxReconnectDelay",
    "useExponentialBackOff",
    "reconnectDelayExponent",
    "maxReconnectAttempts",
    "startupMaxReconnectAttempts",
    "timeout",
    "priorityBackup",
    "priorityURIs",
    "updateURIsSupported",
];

/// The failover transport's options, with ActiveMQ's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct FailoverOptions {
    /// `randomize` (true): shuffle the broker list before each connect pass.
    pub randomize: bool,
    /// The reconnect back-off and attempt limits.
    pub reconnect: ReconnectPolicy,
    /// `timeout` (-1 = none): while the connection is reconnecting, how long a send (a
    /// message, or a request such as creating a session or consumer) waits for it before
    /// failing with [`ClientError::FailoverTimeout`](crate::ClientError::FailoverTimeout)
    /// (ActiveMQ bounds message sends only); it also bounds an async send's wait for
    /// producer window space. `None` for -1 or 0 (ActiveMQ only applies a timeout greater
    /// than zero): wait as long as it takes, until the connection closes or gives up.
    pub timeout: Option<Duration>,
    /// `priorityBackup` (false): while connected to a non-priority broker, keep trying the
    /// priority brokers ([`FailoverUri::priority_connect_uris`]) after each wait of the
    /// reconnect back-off and move to the first that accepts, replaying the state there as
    /// a reconnect does.
    pub priority_backup: bool,
    /// `priorityURIs` (empty: the first URI is the priority one), comma-separated.
    pub priority_uris: Vec<TcpUri>,
    /// `updateURIsSupported` (true): use the broker list the broker pushes.
    pub update_uris_supported: bool,
    /// `nested.*` options (prefix stripped), added to every broker URI.
    pub nested: Vec<(String, String)>,
}

impl Default for FailoverOptions {
    fn default() -> Self {
        FailoverOptions {
            randomize: true,
            reconnect: ReconnectPolicy::default(),
            timeout: None,
            priority_backup: false,
            priority_uris: Vec::new(),
            update_uris_supported: true,
            nested: Vec::new(),
        }
    }
}

impl FailoverOptions {
    fn from_query(uri: &str, query: &[(String, String)]) -> Result<FailoverOptions, UriError> {
        let mut o = FailoverOptions::default();
        for (name, value) in query {
            let r = &mut o.reconnect;
            match name.as_str() {
                "randomize" => o.randomize = parse_bool(name, value)?,
                "initialReconnectDelay" => r.initial_reconnect_delay = parse_millis(name, value)?,
                "maxReconnectDelay" => r.max_reconnect_delay = parse_millis(name, value)?,
                "useExponentialBackOff" => r.use_exponential_back_off = parse_bool(name, value)?,
                "reconnectDelayExponent" => {
                    r.reconnect_delay_exponent = value
                        .parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite() && *x > 0.0)
                        .ok_or_else(|| invalid(name, value, "expected a positive number"))?
                }
                "maxReconnectAttempts" => r.max_reconnect_attempts = parse_attempts(name, value)?,
                "startupMaxReconnectAttempts" => {
                    r.startup_max_reconnect_attempts = parse_attempts(name, value)?
                }
                "timeout" => {
                    let ms: i64 = value
                        .parse()
                        .map_err(|_| invalid(name, value, "expected milliseconds or -1"))?;
                    o.timeout = match ms {
                        -1 | 0 => None,
                        ms if ms > 0 => Some(Duration::from_millis(ms as u64)),
                        _ => return Err(invalid(name, value, "expected milliseconds or -1")),
                    };
                }
                "priorityBackup" => o.priority_backup = parse_bool(name, value)?,
                "priorityURIs" => {
                    o.priority_uris = split_top_level(value)
                        .into_iter()
                        .map(str::trim)
                        .filter(|u| !u.is_empty())
                        .map(|u| TcpUri::parse(u).map_err(|e| invalid(name, value, &e.to_string())))
                        .collect::<Result<_, _>>()?
                }
                "updateURIsSupported" => o.update_uris_supported = parse_bool(name, value)?,
                other => match other.strip_prefix("nested.") {
                    Some(inner) if !inner.is_empty() => {
                        o.nested.push((inner.to_string(), value.clone()))
                    }
                    _ => {
                        return Err(UriError::UnknownOption {
                            option: other.to_string(),
                            uri: uri.to_string(),
                        })
                    }
                },
            }
        }
        Ok(o)
    }

    /// Whether `uri` is a priority broker (ActiveMQ's `isPriority`): never without
    /// `priorityBackup`; else listed in `priorityURIs`, or the first URI when that is empty.
    pub fn is_priority(&self, uri: &TcpUri, uris: &[TcpUri]) -> bool {
        if !self.priority_backup {
            return false;
        }
        let same = |a: &TcpUri| a.host == uri.host && a.port == uri.port;
        if self.priority_uris.is_empty() {
            uris.first().is_some_and(same)
        } else {
            self.priority_uris.iter().any(same)
        }
    }
}

/// How long to wait between reconnect passes and how many passes to make.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    /// `initialReconnectDelay` (10 ms).
    pub initial_reconnect_delay: Duration,
    /// `maxReconnectDelay` (30 s).
    pub max_reconnect_delay: Duration,
    /// `useExponentialBackOff` (true).
    pub use_exponential_back_off: bool,
    /// `reconnectDelayExponent` (2.0): the back-off multiplier.
    pub reconnect_delay_exponent: f64,
    /// `maxReconnectAttempts` (-1 = `None` = unlimited; 0 = never reconnect).
    pub max_reconnect_attempts: Option<u32>,
    /// `startupMaxReconnectAttempts` (-1 = `None` = use `maxReconnectAttempts`): the limit
    /// before the first successful connection.
    pub startup_max_reconnect_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_reconnect_delay: Duration::from_millis(10),
            max_reconnect_delay: Duration::from_secs(30),
            use_exponential_back_off: true,
            reconnect_delay_exponent: 2.0,
            max_reconnect_attempts: None,
            startup_max_reconnect_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// The waits after each failed pass over the broker list, reset when a connection
    /// succeeds: ActiveMQ's sequence, endless (the caller applies [`Self::attempt_limit`]).
    ///
    /// As in `FailoverTransport.doDelay`: the first wait is `initialReconnectDelay`; with
    /// exponential back-off each next wait is the previous one in whole milliseconds times
    /// `reconnectDelayExponent`, truncated to whole milliseconds and capped at
    /// `maxReconnectDelay` (the cap applies from the second wait on); without it every wait
    /// is `initialReconnectDelay`. A zero wait stays zero.
    pub fn delays(&self) -> Delays {
        Delays {
            next_ms: millis(self.initial_reconnect_delay),
            max_ms: millis(self.max_reconnect_delay),
            exponent: self
                .use_exponential_back_off
                .then_some(self.reconnect_delay_exponent),
        }
    }

    /// How many failed passes end the reconnect loop (ActiveMQ's
    /// `calculateReconnectAttemptLimit`): `startupMaxReconnectAttempts` before the first
    /// connection if set, else `maxReconnectAttempts`; `None` means never give up.
    pub fn attempt_limit(&self, first_connection: bool) -> Option<u32> {
        match (first_connection, self.startup_max_reconnect_attempts) {
            (true, Some(n)) => Some(n),
            _ => self.max_reconnect_attempts,
        }
    }
}

/// Iterator returned by [`ReconnectPolicy::delays`]; never ends.
#[derive(Debug, Clone)]
pub struct Delays {
    next_ms: u64,
    max_ms: u64,
    exponent: Option<f64>,
}

impl Iterator for Delays {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let now = self.next_ms;
        if let Some(e) = self.exponent {
            // Java `long *= double`: computed in double, narrowed toward zero (saturating).
            self.next_ms = ((self.next_ms as f64 * e) as u64).min(self.max_ms);
        }
        Some(Duration::from_millis(now))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn malformed(uri: &str, reason: &str) -> UriError {
    UriError::Malformed {
        uri: uri.to_string(),
        reason: reason.to_string(),
    }
}

fn invalid(option: &str, value: &str, reason: &str) -> UriError {
    UriError::InvalidValue {
        option: option.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

fn parse_bool(option: &str, value: &str) -> Result<bool, UriError> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(invalid(option, value, "expected true or false"))
    }
}

fn parse_millis(option: &str, value: &str) -> Result<Duration, UriError> {
    value
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| invalid(option, value, "expected milliseconds ≥ 0"))
}

fn parse_attempts(option: &str, value: &str) -> Result<Option<u32>, UriError> {
    match value.parse::<i64>() {
        Ok(-1) => Ok(None),
        Ok(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| invalid(option, value, "expected -1 (unlimited) or a count ≥ 0")),
        Err(_) => Err(invalid(
            option,
            value,
            "expected -1 (unlimited) or a count ≥ 0",
        )),
    }
}

/// `a=1&b=2` → pairs, values percent-decoded; a repeated name is an error.
fn parse_query(uri: &str, query: &str) -> Result<Vec<(String, String)>, UriError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part
            .split_once('=')
            .ok_or_else(|| malformed(uri, &format!("option `{part}` has no `=value`")))?;
        let name = percent_decode(uri, name)?;
        if name.is_empty() {
            return Err(malformed(uri, "empty option name"));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(UriError::DuplicateOption {
                option: name,
                uri: uri.to_string(),
            });
        }
        out.push((name, percent_decode(uri, value)?));
    }
    Ok(out)
}

fn percent_decode(uri: &str, s: &str) -> Result<String, UriError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| malformed(uri, "bad %-escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| malformed(uri, "%-escapes are not UTF-8"))
}

/// Index of the `)` closing an already opened `(` in `s`.
fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 1usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits on commas outside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests;
