//! The TOML configuration (ARCHITECTURE decision 5). Every key is optional; flags override.

use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub broker: BrokerSection,
    pub listeners: ListenersSection,
    pub console: ConsoleSection,
    pub persistence: PersistenceSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerSection {
    pub name: String,
    pub data_dir: PathBuf,
    pub memory_limit: ByteSize,
    pub store_limit: ByteSize,
    pub max_frame_size: ByteSize,
    pub max_redeliveries: u32,
}

impl Default for BrokerSection {
    fn default() -> Self {
        BrokerSection {
            name: "ferromq".to_string(),
            data_dir: PathBuf::from("./data"),
            memory_limit: ByteSize(256 << 20),
            store_limit: ByteSize(100 << 30),
            max_frame_size: ByteSize(100 << 20),
            max_redeliveries: 6,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenersSection {
    pub openwire: String,
    pub stomp: String,
    /// Sessions, producers, consumers (STOMP: subscriptions) and open transactions one
    /// client connection may hold, each.
    pub max_per_connection: usize,
}

impl Default for ListenersSection {
    fn default() -> Self {
        ListenersSection {
            openwire: "0.0.0.0:61616".to_string(),
            stomp: "0.0.0.0:61613".to_string(),
            max_per_connection: server::openwire_connection::DEFAULT_MAX_PER_CONNECTION,
        }
    }
}

/// `[console]`: the web console, JSON API and `/metrics` (issue 6).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleSection {
    pub bind: String,
    /// Who may log in; none = a password generated on the first start (single node).
    pub users: Vec<ConsoleUser>,
    /// The consoles of a cluster's nodes, `"ID=http://host:port"` (ids as in
    /// `persistence.replicated.peers`), so the cluster page links to the master's.
    pub peers: Vec<String>,
}

/// `[[console.users]]`: a name and an argon2 hash (`ferromq console hash-password`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleUser {
    pub name: String,
    pub password_hash: String,
}

impl Default for ConsoleSection {
    fn default() -> Self {
        ConsoleSection {
            bind: "127.0.0.1:8161".to_string(),
            users: Vec::new(),
            peers: Vec::new(),
        }
    }
}

impl ConsoleSection {
    /// The peers' consoles as id → URL.
    pub fn peer_map(&self) -> Result<std::collections::BTreeMap<u64, String>, ConfigError> {
        id_map("console.peers", "ID=http://host:port", &self.peers, |url| {
            let url = url.trim();
            if url.starts_with("http://") || url.starts_with("https://") {
                Ok(url.to_string())
            } else {
                Err("is not an http:// or https:// URL".to_string())
            }
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.peer_map()?;
        for (i, u) in self.users.iter().enumerate() {
            let key = |k: &str, msg: String| {
                Err(ConfigError(format!(
                    "invalid value for console.users[{i}].{k}: {msg}"
                )))
            };
            if u.name.is_empty() || u.name.contains(':') || u.name.contains(char::is_control) {
                return key(
                    "name",
                    format!("{:?} must be non-empty without ':'", u.name),
                );
            }
            if self.users[..i].iter().any(|o| o.name == u.name) {
                return key("name", format!("{:?} is listed twice", u.name));
            }
            if let Err(e) = console::users::check_hash(&u.password_hash) {
                return key(
                    "password_hash",
                    format!("{e} (make one with `ferromq console hash-password`)"),
                );
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersistenceSection {
    pub kind: String,
    pub journal: JournalSection,
    pub replicated: ReplicatedSection,
}

impl Default for PersistenceSection {
    fn default() -> Self {
        PersistenceSection {
            kind: "journal".to_string(),
            journal: JournalSection::default(),
            replicated: ReplicatedSection::default(),
        }
    }
}

/// `[persistence.replicated]`: a replicated store over Raft (issue 4).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicatedSection {
    /// Number of nodes; a write needs `replicas/2+1` of them. Must equal `peers.len()`.
    pub replicas: usize,
    /// This node's id: one of the ids in `peers`.
    pub node_id: u64,
    /// The same on every node of the cluster; nodes refuse replication connections from a
    /// node with another name (two clusters sharing an address by mistake).
    pub cluster_name: String,
    /// Replication listener of this node.
    pub bind: String,
    /// Address the other nodes and clients use for this node.
    pub hostname: String,
    /// Every node, this one included: `"ID=tcp://host:port"`.
    pub peers: Vec<String>,
    pub heartbeat_interval: Millis,
    pub election_timeout: Millis,
}

impl Default for ReplicatedSection {
    fn default() -> Self {
        ReplicatedSection {
            replicas: 3,
            node_id: 0,
            cluster_name: "ferromq".to_string(),
            bind: "tcp://0.0.0.0:61619".to_string(),
            hostname: "127.0.0.1".to_string(),
            peers: Vec::new(),
            heartbeat_interval: Millis(50),
            election_timeout: Millis(300),
        }
    }
}

impl ReplicatedSection {
    /// The peers as id → `host:port`.
    pub fn peer_map(&self) -> Result<std::collections::BTreeMap<u64, String>, ConfigError> {
        id_map(
            "persistence.replicated.peers",
            "ID=tcp://host:port",
            &self.peers,
            parse_address,
        )
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let key = |k: &str, msg: String| {
            Err(ConfigError(format!(
                "invalid value for persistence.replicated.{k}: {msg}"
            )))
        };
        let peers = self.peer_map()?;
        if peers.is_empty() {
            return key(
                "peers",
                "at least one peer is needed (this node included)".into(),
            );
        }
        if self.replicas != peers.len() {
            return key(
                "replicas",
                format!(
                    "replicas = {} but {} peers are listed; they must be equal",
                    self.replicas,
                    peers.len()
                ),
            );
        }
        if !peers.contains_key(&self.node_id) {
            return key(
                "node_id",
                format!("{} is not one of the peers' ids", self.node_id),
            );
        }
        if self.cluster_name.trim().is_empty() {
            return key("cluster_name", "must not be empty".into());
        }
        if let Err(e) = parse_address(&self.bind) {
            return key("bind", e);
        }
        if self.election_timeout.0 < 2 * self.heartbeat_interval.0 {
            return key(
                "election_timeout",
                "must be at least twice heartbeat_interval".into(),
            );
        }
        Ok(())
    }
}

/// A duration in milliseconds, written `"300ms"`, `"2s"` or a number of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Millis(pub u64);

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(Millis(n)),
            Raw::Text(s) => {
                let t = s.trim();
                let parsed = if let Some(ms) = t.strip_suffix("ms") {
                    ms.trim().parse().ok()
                } else if let Some(sec) = t.strip_suffix('s') {
                    sec.trim().parse::<f64>().ok().map(|v| (v * 1000.0) as u64)
                } else {
                    t.parse().ok()
                };
                parsed.map(Millis).ok_or_else(|| {
                    de::Error::custom(format!(
                        "invalid duration {s:?}: expected e.g. \"300ms\" or \"2s\""
                    ))
                })
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JournalSection {
    pub segment_size: ByteSize,
    pub snapshot_bytes: ByteSize,
    pub sync: bool,
}

impl Default for JournalSection {
    fn default() -> Self {
        JournalSection {
            segment_size: ByteSize(64 << 20),
            snapshot_bytes: ByteSize(64 << 20),
            sync: true,
        }
    }
}

/// A size in bytes, written as a number or with a unit: `"256 MiB"`, `"64MB"`, `"4096"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(text: &str) -> Result<ByteSize, String> {
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("invalid size {text:?}: expected e.g. \"256 MiB\""))?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" | "kib" => 1 << 10,
            "m" | "mb" | "mib" => 1 << 20,
            "g" | "gb" | "gib" => 1 << 30,
            "t" | "tb" | "tib" => 1 << 40,
            other => return Err(format!("invalid size unit {other:?} in {text:?}")),
        };
        n.checked_mul(mult)
            .map(ByteSize)
            .ok_or_else(|| format!("size {text:?} is too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(ByteSize(n)),
            Raw::Text(s) => ByteSize::parse(&s).map_err(de::Error::custom),
        }
    }
}

/// A configuration problem, naming the key.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        toml::from_str(text)
            .map_err(|e| ConfigError(format!("invalid configuration in {origin}: {e}")))
    }

    /// Checks what serde cannot, naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err =
            |key: &str, msg: String| Err(ConfigError(format!("invalid value for {key}: {msg}")));
        if self.broker.name.is_empty() || self.broker.name.contains(char::is_whitespace) {
            return err(
                "broker.name",
                format!("{:?} must be non-empty without spaces", self.broker.name),
            );
        }
        if self.broker.memory_limit.0 < 1 << 20 {
            return err("broker.memory_limit", "must be at least 1 MiB".into());
        }
        if self.broker.max_frame_size.0 < 1024 || self.broker.max_frame_size.0 > 2 << 30 {
            return err(
                "broker.max_frame_size",
                "must be between 1 KiB and 2 GiB".into(),
            );
        }
        if self.listeners.max_per_connection == 0 {
            return err("listeners.max_per_connection", "must be at least 1".into());
        }
        for (key, addr) in [
            ("listeners.stomp", &self.listeners.stomp),
            ("listeners.openwire", &self.listeners.openwire),
            ("console.bind", &self.console.bind),
        ] {
            if let Err(e) = parse_address(addr) {
                return err(key, e);
            }
        }
        self.console.validate()?;
        match self.persistence.kind.as_str() {
            "journal" | "memory" => {}
            "replicated" => self.persistence.replicated.validate()?,
            "shared-file" | "jdbc" => {
                return err(
                    "persistence.kind",
                    format!(
                        "{:?} is not implemented yet (use \"journal\")",
                        self.persistence.kind
                    ),
                )
            }
            other => {
                return err(
                    "persistence.kind",
                    format!("unknown kind {other:?}; expected \"journal\" or \"memory\""),
                )
            }
        }
        if self.persistence.journal.segment_size.0 < 4096 {
            return err(
                "persistence.journal.segment_size",
                "must be at least 4 KiB".into(),
            );
        }
        Ok(())
    }
}

/// Parses `"ID=VALUE"` entries of the list `key` into id → checked value, naming the
/// entry and the expected form on error.
fn id_map(
    key: &str,
    expected: &str,
    entries: &[String],
    check: impl Fn(&str) -> Result<String, String>,
) -> Result<std::collections::BTreeMap<u64, String>, ConfigError> {
    let mut out = std::collections::BTreeMap::new();
    for p in entries {
        let bad = |why: &str| {
            ConfigError(format!(
                "invalid value for {key}: {p:?} {why} (expected \"{expected}\")"
            ))
        };
        let (id, value) = p.split_once('=').ok_or_else(|| bad("has no '='"))?;
        let id: u64 = id.trim().parse().map_err(|_| bad("has a non-numeric id"))?;
        let value = check(value).map_err(|e| bad(&e))?;
        if out.insert(id, value).is_some() {
            return Err(bad("repeats an id"));
        }
    }
    Ok(out)
}

/// Accepts `host:port` or `tcp://host:port`; returns `host:port`.
pub fn parse_address(text: &str) -> Result<String, String> {
    let t = text.trim();
    let hp = t.strip_prefix("tcp://").unwrap_or(t);
    let hp = hp.split(['?', '/']).next().unwrap_or(hp);
    let Some((host, port)) = hp.rsplit_once(':') else {
        return Err(format!("{text:?} is not host:port"));
    };
    if host.is_empty() {
        return Err(format!("{text:?} has no host"));
    }
    port.parse::<u16>()
        .map_err(|_| format!("{text:?} has an invalid port"))?;
    Ok(hp.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `validate` says of `toml`, which must parse but be invalid.
    fn invalid(toml: &str) -> ConfigError {
        Config::from_toml(toml, "t")
            .unwrap()
            .validate()
            .unwrap_err()
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(ByteSize::parse("256 MiB"), Ok(ByteSize(256 << 20)));
        assert_eq!(ByteSize::parse("64MB"), Ok(ByteSize(64 << 20)));
        assert_eq!(ByteSize::parse("4096"), Ok(ByteSize(4096)));
        assert!(ByteSize::parse("12 parsecs").is_err());
    }

    #[test]
    fn unknown_and_bad_keys_are_named() {
        let e = Config::from_toml("[broker]\nnmae = \"x\"\n", "t").unwrap_err();
        assert!(e.0.contains("nmae"), "{e}");
        let e = Config::from_toml("[broker]\nmemory_limit = \"lots\"\n", "t").unwrap_err();
        assert!(e.0.contains("memory_limit"), "{e}");
        let c = Config::from_toml("[listeners]\nstomp = \"nope\"\n", "t").unwrap();
        assert!(c.validate().unwrap_err().0.contains("listeners.stomp"));
    }

    #[test]
    fn replicated_section_is_checked() {
        let ok = "[persistence]\nkind = \"replicated\"\n[persistence.replicated]\nreplicas = 3\nnode_id = 2\n\
                  peers = [\"1=tcp://127.0.0.1:61619\", \"2=127.0.0.1:61629\", \"3=tcp://127.0.0.1:61639\"]\n";
        let c = Config::from_toml(ok, "t").unwrap();
        c.validate().unwrap();
        assert_eq!(
            c.persistence.replicated.peer_map().unwrap()[&2],
            "127.0.0.1:61629"
        );
        let bad = ok.replace("replicas = 3", "replicas = 5");
        let e = invalid(&bad);
        assert!(e.0.contains("persistence.replicated.replicas"), "{e}");
        let bad = ok.replace("node_id = 2", "node_id = 9");
        let e = invalid(&bad);
        assert!(e.0.contains("node_id"), "{e}");
        assert_eq!(c.persistence.replicated.cluster_name, "ferromq");
        let named = ok.replace("node_id = 2", "node_id = 2\ncluster_name = \"orders\"");
        let c = Config::from_toml(&named, "t").unwrap();
        c.validate().unwrap();
        assert_eq!(c.persistence.replicated.cluster_name, "orders");
        let bad = ok.replace("node_id = 2", "node_id = 2\ncluster_name = \" \"");
        let e = invalid(&bad);
        assert!(e.0.contains("persistence.replicated.cluster_name"), "{e}");
    }

    #[test]
    fn addresses_accept_tcp_scheme() {
        assert_eq!(
            parse_address("tcp://0.0.0.0:61616").as_deref(),
            Ok("0.0.0.0:61616")
        );
        assert_eq!(parse_address("127.0.0.1:1").as_deref(), Ok("127.0.0.1:1"));
        assert!(parse_address("localhost").is_err());
    }

    #[test]
    fn console_users_are_checked() {
        let hash = console::hash_password("pw").unwrap();
        let ok = format!("[[console.users]]\nname = \"ops\"\npassword_hash = \"{hash}\"\n");
        let c = Config::from_toml(&ok, "t").unwrap();
        c.validate().unwrap();
        assert_eq!(c.console.users[0].name, "ops");
        let bad = "[[console.users]]\nname = \"ops\"\npassword_hash = \"secret\"\n";
        let e = invalid(bad);
        assert!(e.0.contains("console.users[0].password_hash"), "{e}");
        let peers = "[console]\npeers = [\"1=http://127.0.0.1:8161\", \"2=https://b:8162\"]\n";
        let c = Config::from_toml(peers, "t").unwrap();
        c.validate().unwrap();
        assert_eq!(c.console.peer_map().unwrap()[&2], "https://b:8162");
        let e = invalid("[console]\npeers = [\"1=javascript:alert(1)\"]\n");
        assert!(e.0.contains("console.peers"), "{e}");
        let twice = format!("{ok}{ok}");
        let e = invalid(&twice);
        assert!(e.0.contains("console.users[1].name"), "{e}");
    }

    #[test]
    fn example_config_is_valid() {
        let text = include_str!("../../../ferromq.example.toml");
        let c = Config::from_toml(text, "example").unwrap();
        c.validate().unwrap();
        assert_eq!(c.broker.memory_limit, ByteSize(256 << 20));
    }
}
