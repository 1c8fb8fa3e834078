use thiserror::Error;

/// Why a selector could not be parsed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SelectorError {
    /// The text is not a valid selector; `position` is the byte offset of the offending token.
    #[error("selector syntax error at position {position}: {message}")]
    Syntax { position: usize, message: String },
    /// The text exceeds the length or nesting limits that keep parsing and evaluation bounded.
    #[error("selector too long or too deeply nested ({what})")]
    TooComplex { what: String },
}

impl SelectorError {
    pub(crate) fn syntax(position: usize, message: impl Into<String>) -> Self {
        SelectorError::Syntax {
            position,
            message: message.into(),
        }
    }
}
