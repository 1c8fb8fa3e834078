//! `Throwable`: the exception payload of ExceptionResponse, ConnectionError and poison acks
//! (notes §2.8). The class name is data only — never interpreted or instantiated.

use crate::reader::WireReader;
use crate::writer::WireWriter;
use crate::OpenWireError;

/// One `java.lang.StackTraceElement`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StackTraceElement {
    /// Declaring class name.
    pub declaring_class: Option<String>,
    /// Method name.
    pub method_name: Option<String>,
    /// Source file name.
    pub file_name: Option<String>,
    /// Line number (negative = unknown / native).
    pub line_number: i32,
}

/// A Java throwable as plain strings.
///
/// `stack_trace` and `cause` are on the wire only when StackTraceEnabled was negotiated; the
/// codec's setting decides whether they are read and written (when it is off they are ignored on
/// encode and always empty on decode).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Throwable {
    /// Java class name, e.g. `javax.jms.InvalidClientIDException`.
    pub class_name: Option<String>,
    /// `getMessage()`.
    pub message: Option<String>,
    /// Stack frames (StackTraceEnabled only).
    pub stack_trace: Vec<StackTraceElement>,
    /// The cause (StackTraceEnabled only).
    pub cause: Option<Box<Throwable>>,
}

impl Throwable {
    /// A throwable with a class name and message and nothing else.
    pub fn new(class_name: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            class_name: Some(class_name.into()),
            message: Some(message.into()),
            stack_trace: Vec::new(),
            cause: None,
        }
    }

    pub(crate) fn read_opt(r: &mut WireReader) -> Result<Option<Self>, OpenWireError> {
        if !r.bool("throwable flag")? {
            return Ok(None);
        }
        let class_name = r.opt_string("throwable class")?;
        let message = r.opt_string("throwable message")?;
        let mut t = Self {
            class_name,
            message,
            stack_trace: Vec::new(),
            cause: None,
        };
        if r.stack_trace_enabled() {
            let count = r.i16("stack trace length")?;
            // Each element: three string flags + int32 line number.
            let n = r.check_count(i64::from(count), 7, "stack trace")?;
            t.stack_trace.reserve(n);
            for _ in 0..n {
                t.stack_trace.push(StackTraceElement {
                    declaring_class: r.opt_string("stack trace class")?,
                    method_name: r.opt_string("stack trace method")?,
                    file_name: r.opt_string("stack trace file")?,
                    line_number: r.i32("stack trace line")?,
                });
            }
            r.enter()?;
            let cause = Self::read_opt(r);
            r.leave();
            t.cause = cause?.map(Box::new);
        }
        Ok(Some(t))
    }

    pub(crate) fn write_opt(t: Option<&Self>, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        let Some(t) = t else {
            w.bool(false);
            return Ok(());
        };
        w.bool(true);
        w.opt_string(t.class_name.as_deref(), "throwable class")?;
        w.opt_string(t.message.as_deref(), "throwable message")?;
        if w.stack_trace_enabled() {
            let count =
                i16::try_from(t.stack_trace.len()).map_err(|_| OpenWireError::TooLongToEncode {
                    what: "stack trace",
                    length: t.stack_trace.len(),
                })?;
            w.i16(count);
            for e in &t.stack_trace {
                w.opt_string(e.declaring_class.as_deref(), "stack trace class")?;
                w.opt_string(e.method_name.as_deref(), "stack trace method")?;
                w.opt_string(e.file_name.as_deref(), "stack trace file")?;
                w.i32(e.line_number);
            }
            Self::write_opt(t.cause.as_deref(), w)?;
        }
        Ok(())
    }
}
