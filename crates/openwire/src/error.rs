//! The crate's single error type.

use thiserror::Error;

/// Everything that can go wrong while framing, decoding or encoding OpenWire.
///
/// A decode error means the peer sent something this crate will not interpret; the connection
/// that produced it should be closed (the stream cannot be resynchronised). No variant is ever
/// produced by a panic path.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OpenWireError {
    /// The socket failed underneath the codec.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),

    /// The 4-byte size prefix announced a frame larger than the configured limit.
    #[error("frame of {size} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// Announced (or, when encoding, produced) frame size, without the prefix.
        size: u64,
        /// Configured `max_frame_size`.
        max: usize,
    },

    /// The size prefix was negative or zero (a frame holds at least its type byte).
    #[error("invalid frame size {size}")]
    InvalidFrameSize {
        /// The announced size.
        size: i32,
    },

    /// A field ran past the end of its frame (or map / body blob).
    #[error("truncated while reading {what}: needed {needed} bytes, {remaining} left")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes required.
        needed: usize,
        /// Bytes left.
        remaining: usize,
    },

    /// A length or count inside the frame is negative or larger than what is left.
    #[error("{what} length {length} out of range ({remaining} bytes left)")]
    LengthOutOfRange {
        /// What the length describes.
        what: &'static str,
        /// The announced length.
        length: i64,
        /// Bytes left in the enclosing frame / blob.
        remaining: usize,
    },

    /// The frame body was not fully consumed by its command's fields.
    #[error("{remaining} trailing bytes after a {name} body")]
    TrailingBytes {
        /// Command name.
        name: &'static str,
        /// Unconsumed bytes.
        remaining: usize,
    },

    /// A data-structure type code this crate does not implement (or that does not exist).
    #[error("unknown or unsupported data structure type {type_code}")]
    UnknownType {
        /// The type byte.
        type_code: u8,
    },

    /// A nested object had a valid type code of the wrong kind (Java: ClassCastException).
    #[error("expected {expected}, found data structure type {found}")]
    UnexpectedType {
        /// What the field is declared as.
        expected: &'static str,
        /// The type byte found.
        found: u8,
    },

    /// A string field that is required to be non-null was null.
    #[error("null {what}")]
    NullField {
        /// The field.
        what: &'static str,
    },

    /// Bytes that are not Java modified UTF-8 (nor CESU-8 / standard UTF-8).
    #[error("invalid modified UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Offset of the offending sequence within the string.
        offset: usize,
    },

    /// Nested objects / causes / maps deeper than the decoder allows.
    #[error("nesting deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },

    /// A primitive-map / stream value tag that does not exist.
    #[error("unknown primitive type tag {tag}")]
    UnknownPrimitiveTag {
        /// The tag byte.
        tag: u8,
    },

    /// A value cannot be represented on the wire (string > 65535 encoded bytes, array > 32767...).
    #[error("{what} too long to encode: {length}")]
    TooLongToEncode {
        /// What was being encoded.
        what: &'static str,
        /// Its length.
        length: usize,
    },

    /// Decoding one command failed; `source` says why.
    #[error("decoding {name} (type {type_code}): {source}")]
    Command {
        /// Command name.
        name: &'static str,
        /// Command type code.
        type_code: u8,
        /// The underlying failure.
        #[source]
        source: Box<OpenWireError>,
    },

    /// The peer's WireFormatInfo does not start with `ActiveMQ`.
    #[error("bad WireFormatInfo magic {magic:02x?}")]
    BadMagic {
        /// The 8 bytes received.
        magic: [u8; 8],
    },

    /// The negotiated wire format is one this crate does not implement.
    #[error("unsupported wire format: {reason}")]
    UnsupportedWireFormat {
        /// What is unsupported.
        reason: String,
    },

    /// A WireFormatInfo property has the wrong primitive type (the Java client would throw
    /// ClassCastException).
    #[error("wire format property {key} has the wrong type (expected {expected})")]
    PropertyType {
        /// The property key.
        key: &'static str,
        /// The expected primitive type.
        expected: &'static str,
    },

    /// A body accessor was called on a message whose content is zlib-compressed.
    #[error("message body is compressed")]
    CompressedBody,

    /// A body accessor was called on the wrong message type.
    #[error("message is a {actual}, not a {expected}")]
    WrongMessageKind {
        /// Accessor's message type.
        expected: &'static str,
        /// The message's type.
        actual: &'static str,
    },
}

impl OpenWireError {
    pub(crate) fn truncated(what: &'static str, needed: usize, remaining: usize) -> Self {
        Self::Truncated {
            what,
            needed,
            remaining,
        }
    }
}
