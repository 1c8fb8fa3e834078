//! Destination names and ActiveMQ wildcard matching.

use std::fmt;

/// A queue or topic, as the broker core sees it (protocol prefixes such as `/queue/` are
/// removed at the edge).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    Queue(Name),
    Topic(Name),
    /// Temporary queue: lives as long as the connection that created it.
    TempQueue(Name),
    /// Temporary topic: lives as long as the connection that created it.
    TempTopic(Name),
}

/// A destination's name, shared: the destination of every message, delivery, queue entry
/// and dispatch source is a clone of it, so cloning copies a pointer instead of the string.
/// Protocol layers that already hold the name shared (OpenWire's decoded strings) hand
/// their `Arc` over as it is.
pub type Name = std::sync::Arc<str>;

/// The dead-letter queue ActiveMQ uses by default.
pub const DLQ_NAME: &str = "ActiveMQ.DLQ";

impl Destination {
    pub fn name(&self) -> &str {
        self.shared_name()
    }

    /// The name as shared: a clone copies a pointer.
    pub fn shared_name(&self) -> &Name {
        match self {
            Destination::Queue(n)
            | Destination::Topic(n)
            | Destination::TempQueue(n)
            | Destination::TempTopic(n) => n,
        }
    }

    /// Queues (temporary or not) deliver each message to one consumer; topics to all.
    pub fn is_queue(&self) -> bool {
        matches!(self, Destination::Queue(_) | Destination::TempQueue(_))
    }

    pub fn is_temporary(&self) -> bool {
        matches!(self, Destination::TempQueue(_) | Destination::TempTopic(_))
    }

    /// True when the name uses ActiveMQ wildcards (`*` one segment, `>` the rest).
    pub fn is_wildcard(&self) -> bool {
        self.name().split('.').any(|s| s == "*" || s == ">")
    }

    /// Whether `self` (possibly a wildcard) selects the concrete destination `other`.
    /// Both must be the same kind (queue vs topic).
    pub fn selects(&self, other: &Destination) -> bool {
        if std::mem::discriminant(self) != std::mem::discriminant(other) {
            return false;
        }
        wildcard_match(self.name(), other.name())
    }

    pub fn dlq() -> Destination {
        Destination::Queue(DLQ_NAME.into())
    }
}

/// ActiveMQ wildcard match over `.`-separated segments: `*` matches exactly one segment,
/// `>` matches one or more trailing segments (ActiveMQ also lets it match zero).
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let mut names = name.split('.');
    for p in pattern.split('.') {
        if p == ">" {
            return true;
        }
        match names.next() {
            Some(n) if p == "*" || p == n => {}
            _ => return false,
        }
    }
    names.next().is_none()
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Queue(n) => write!(f, "queue://{n}"),
            Destination::Topic(n) => write!(f, "topic://{n}"),
            Destination::TempQueue(n) => write!(f, "temp-queue://{n}"),
            Destination::TempTopic(n) => write!(f, "temp-topic://{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_activemq_rules() {
        assert!(wildcard_match("a.*.c", "a.b.c"));
        assert!(!wildcard_match("a.*.c", "a.b.d"));
        assert!(!wildcard_match("a.*", "a.b.c"));
        assert!(wildcard_match("a.>", "a.b.c"));
        assert!(wildcard_match("a.>", "a.b"));
        assert!(wildcard_match(">", "x"));
        assert!(wildcard_match("a.b", "a.b"));
        assert!(!wildcard_match("a.b", "a.b.c"));
        assert!(!wildcard_match("a.b.c", "a.b"));
    }

    #[test]
    fn selects_needs_same_kind() {
        let q = Destination::Queue("a.>".into());
        assert!(q.selects(&Destination::Queue("a.b".into())));
        assert!(!q.selects(&Destination::Topic("a.b".into())));
        assert!(q.is_wildcard());
        assert!(!Destination::Queue("a.b".into()).is_wildcard());
    }
}
