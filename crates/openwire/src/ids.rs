//! Identifier data structures (notes §3.1): connection, session, consumer, producer, message and
//! broker ids. They have no command header; their `Display` is the Java string form.

use std::fmt;

use crate::wire_field::{nested_single, wire_struct};
use crate::IdStr;

wire_struct! {
    /// `ConnectionId` (120). `value` looks like `ID:host-port-millis-n:m`.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
    pub struct ConnectionId {
        /// The id string.
        pub value: IdStr,
    }
}
nested_single!(ConnectionId, 120);

wire_struct! {
    /// `SessionId` (121). Session `-1` is the connection's implicit default session.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
    pub struct SessionId {
        /// Owning connection's id string.
        pub connection_id: IdStr,
        /// Session number.
        pub value: i64,
    }
}
nested_single!(SessionId, 121);

wire_struct! {
    /// `ConsumerId` (122). Wire order: connectionId, sessionId, value.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
    pub struct ConsumerId {
        /// Owning connection's id string.
        pub connection_id: IdStr,
        /// Owning session number.
        pub session_id: i64,
        /// Consumer number.
        pub value: i64,
    }
}
nested_single!(ConsumerId, 122);

wire_struct! {
    /// `ProducerId` (123). Wire order: connectionId, **value, sessionId** (not the ConsumerId
    /// order).
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
    pub struct ProducerId {
        /// Owning connection's id string.
        pub connection_id: IdStr,
        /// Producer number.
        pub value: i64,
        /// Owning session number.
        pub session_id: i64,
    }
}
nested_single!(ProducerId, 123);

wire_struct! {
    /// `MessageId` (110). Java identity is `producer_id` + `producer_sequence_id` only;
    /// `broker_sequence_id` is stamped by the broker and echoed in acks.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
    pub struct MessageId {
        /// Explicit text form; null from Java clients.
        pub text_view: Option<String>,
        /// The sending producer.
        pub producer_id: Option<ProducerId>,
        /// 1, 2, 3 … per producer.
        pub producer_sequence_id: i64,
        /// Broker-assigned sequence (0 from producers).
        pub broker_sequence_id: i64,
    }
}
nested_single!(MessageId, 110);

wire_struct! {
    /// `BrokerId` (124).
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
    pub struct BrokerId {
        /// The id string.
        pub value: String,
    }
}
nested_single!(BrokerId, 124);

impl ConnectionId {
    /// A connection id with this value.
    pub fn new(value: impl Into<IdStr>) -> Self {
        Self {
            value: value.into(),
        }
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.connection_id, self.value)
    }
}

impl fmt::Display for ConsumerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.connection_id, self.session_id, self.value
        )
    }
}

impl fmt::Display for ProducerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.connection_id, self.session_id, self.value
        )
    }
}

impl fmt::Display for BrokerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

/// The JMSMessageID: `text_view` (with `ID:` added if missing) or `<producerId>:<seq>`.
impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.text_view, &self.producer_id) {
            (Some(t), _) if t.starts_with("ID:") => f.write_str(t),
            (Some(t), _) => write!(f, "ID:{t}"),
            (None, Some(p)) => write!(f, "{p}:{}", self.producer_sequence_id),
            (None, None) => write!(f, "null:{}", self.producer_sequence_id),
        }
    }
}

impl SessionId {
    /// The id of the session's connection.
    pub fn connection(&self) -> ConnectionId {
        ConnectionId::new(self.connection_id.clone())
    }
}

impl ConsumerId {
    /// The id of the consumer's session.
    pub fn session(&self) -> SessionId {
        SessionId {
            connection_id: self.connection_id.clone(),
            value: self.session_id,
        }
    }
}

impl ProducerId {
    /// The id of the producer's session.
    pub fn session(&self) -> SessionId {
        SessionId {
            connection_id: self.connection_id.clone(),
            value: self.session_id,
        }
    }
}
