//! `Destination`: ActiveMQQueue / Topic / TempQueue / TempTopic (notes §3.2).

use std::fmt;

use crate::data_structure::DataStructure;
use crate::reader::WireReader;
use crate::wire_field::Nested;
use crate::writer::WireWriter;
use crate::{IdStr, OpenWireError};

/// Which of the four destination types (the type byte is the only difference on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DestinationKind {
    /// `ActiveMQQueue` (100).
    #[default]
    Queue,
    /// `ActiveMQTopic` (101).
    Topic,
    /// `ActiveMQTempQueue` (102).
    TempQueue,
    /// `ActiveMQTempTopic` (103).
    TempTopic,
}

impl DestinationKind {
    /// The type byte.
    pub fn type_code(self) -> u8 {
        match self {
            Self::Queue => 100,
            Self::Topic => 101,
            Self::TempQueue => 102,
            Self::TempTopic => 103,
        }
    }

    /// The kind for a type byte, if it is a destination.
    pub fn from_type_code(code: u8) -> Option<Self> {
        match code {
            100 => Some(Self::Queue),
            101 => Some(Self::Topic),
            102 => Some(Self::TempQueue),
            103 => Some(Self::TempTopic),
            _ => None,
        }
    }

    /// Queue or temp queue.
    pub fn is_queue(self) -> bool {
        matches!(self, Self::Queue | Self::TempQueue)
    }

    /// Temp queue or temp topic.
    pub fn is_temporary(self) -> bool {
        matches!(self, Self::TempQueue | Self::TempTopic)
    }
}

/// A destination. `physical_name` may be composite (`A,B`) or contain wildcards (`.`, `*`, `>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Destination {
    /// Queue, topic, temp queue or temp topic.
    pub kind: DestinationKind,
    /// The name, without `queue://` or `?options`.
    pub physical_name: IdStr,
}

impl Destination {
    /// A destination of the given kind.
    pub fn new(kind: DestinationKind, physical_name: impl Into<IdStr>) -> Self {
        Self {
            kind,
            physical_name: physical_name.into(),
        }
    }

    /// A queue.
    pub fn queue(name: impl Into<IdStr>) -> Self {
        Self::new(DestinationKind::Queue, name)
    }

    /// A topic.
    pub fn topic(name: impl Into<IdStr>) -> Self {
        Self::new(DestinationKind::Topic, name)
    }
}

/// `queue://NAME`, `topic://NAME`, `temp-queue://NAME`, `temp-topic://NAME` (Java's form).
impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            DestinationKind::Queue => "queue",
            DestinationKind::Topic => "topic",
            DestinationKind::TempQueue => "temp-queue",
            DestinationKind::TempTopic => "temp-topic",
        };
        write!(f, "{scheme}://{}", self.physical_name)
    }
}

impl Nested for Destination {
    fn read_typed(type_code: u8, r: &mut WireReader) -> Result<Self, OpenWireError> {
        match DestinationKind::from_type_code(type_code) {
            Some(kind) => Ok(Self {
                kind,
                physical_name: r
                    .opt_id("destination name")?
                    .ok_or(OpenWireError::NullField {
                        what: "destination name",
                    })?,
            }),
            None if DataStructure::is_known_type(type_code) => Err(OpenWireError::UnexpectedType {
                expected: "ActiveMQDestination",
                found: type_code,
            }),
            None => Err(OpenWireError::UnknownType { type_code }),
        }
    }

    fn type_code(&self) -> u8 {
        self.kind.type_code()
    }

    fn write_body(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        w.opt_string(Some(&self.physical_name), "destination name")
    }
}
