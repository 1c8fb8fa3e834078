//! [`StompError`]: everything the codec can fail with.

/// A decoding or encoding failure. After a decode error the stream is not usable:
/// the peer should get an ERROR frame and the connection should be closed.
#[derive(Debug, thiserror::Error)]
pub enum StompError {
    /// A body (by `content-length` or bytes seen before the NUL) exceeds `max_frame_size`.
    #[error("frame body of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge { size: usize, limit: usize },
    /// The command line plus headers exceed `max_header_size` before the blank line.
    #[error("frame header section exceeds the limit of {limit} bytes")]
    HeaderTooLarge { limit: usize },
    /// More than `max_headers` header lines.
    #[error("frame has more than {limit} headers")]
    TooManyHeaders { limit: usize },
    /// A command, header name or header value is not valid UTF-8.
    #[error("frame header is not valid UTF-8")]
    InvalidUtf8,
    /// The command line is not a STOMP command (the text is truncated to 64 bytes).
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// An undefined escape sequence in a header (STOMP 1.1/1.2).
    #[error("invalid escape sequence in header {0:?}")]
    InvalidEscape(String),
    /// A header line without `:` (or a NUL inside the header section).
    #[error("malformed header line {0:?}")]
    MalformedHeader(String),
    /// `content-length` is not a non-negative decimal integer.
    #[error("invalid content-length {0:?}")]
    InvalidContentLength(String),
    /// The byte after a `content-length` body is not NUL.
    #[error("frame body is not terminated by NUL")]
    MissingNul,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
