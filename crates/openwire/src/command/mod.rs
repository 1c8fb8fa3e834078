//! `Command`: every frame type this crate decodes, with the type-code dispatch.

mod connection;
mod flow;
mod response;
mod session;

use bytes::{Bytes, BytesMut};

pub use connection::{
    BrokerInfo, ConnectionControl, ConnectionError, ConnectionInfo, ControlCommand, FlushCommand,
    KeepAliveInfo, RemoveInfo, ShutdownInfo,
};
pub use flow::{MessageAck, MessageDispatch, MessagePull, ProducerAck};
pub use response::{DataArrayResponse, DataResponse, ExceptionResponse, IntegerResponse, Response};
pub use session::{
    ConsumerControl, ConsumerInfo, DestinationInfo, ProducerInfo, RemoveSubscriptionInfo,
    SessionInfo, TransactionInfo,
};

use crate::message::{Message, MessageKind};
use crate::reader::WireReader;
use crate::wire_format_info::WireFormatInfo;
use crate::writer::WireWriter;
use crate::OpenWireError;

macro_rules! commands {
    ( $( $variant:ident ( $ty:ty ) = $code:literal ),* $(,)? ) => {
        /// One OpenWire command (one frame).
        ///
        /// Large variants are boxed to keep the enum small. Not implemented (decode to
        /// [`OpenWireError::UnknownType`], closing the connection): store, UDP and
        /// network-of-brokers types (40–92) that a JMS client never sends.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Command {
            /// `WireFormatInfo` (1).
            WireFormatInfo(WireFormatInfo),
            /// Any message type (23–29), told apart by `Message::kind`.
            Message(Box<Message>),
            $(
                #[doc = concat!("`", stringify!($variant), "` (", stringify!($code), ").")]
                $variant($ty),
            )*
        }

        impl Command {
            /// Whether `code` is a command type this crate decodes.
            pub fn is_known_type(code: u8) -> bool {
                matches!(code, 1 | 23..=29 $( | $code )*)
            }

            /// The frame's type byte.
            pub fn type_code(&self) -> u8 {
                match self {
                    Self::WireFormatInfo(_) => 1,
                    Self::Message(m) => m.kind.type_code(),
                    $( Self::$variant(_) => $code, )*
                }
            }

            /// The Java class name of the command.
            pub fn name(&self) -> &'static str {
                match self {
                    Self::WireFormatInfo(_) => "WireFormatInfo",
                    Self::Message(m) => m.kind.name(),
                    $( Self::$variant(_) => stringify!($variant), )*
                }
            }

            fn name_of(code: u8) -> &'static str {
                match code {
                    1 => "WireFormatInfo",
                    $( $code => stringify!($variant), )*
                    c => match MessageKind::from_type_code(c) {
                        Some(k) => k.name(),
                        None => "unknown",
                    },
                }
            }

            /// The header's commandId (0 for WireFormatInfo, which has no header).
            pub fn command_id(&self) -> i32 {
                match self {
                    Self::WireFormatInfo(_) => 0,
                    Self::Message(m) => m.command_id,
                    $( Self::$variant(c) => c.command_id, )*
                }
            }

            /// Sets the header's commandId (no-op for WireFormatInfo).
            pub fn set_command_id(&mut self, id: i32) {
                match self {
                    Self::WireFormatInfo(_) => {}
                    Self::Message(m) => m.command_id = id,
                    $( Self::$variant(c) => c.command_id = id, )*
                }
            }

            /// The header's responseRequired (false for WireFormatInfo).
            pub fn response_required(&self) -> bool {
                match self {
                    Self::WireFormatInfo(_) => false,
                    Self::Message(m) => m.response_required,
                    $( Self::$variant(c) => c.response_required, )*
                }
            }

            /// Sets the header's responseRequired (no-op for WireFormatInfo).
            pub fn set_response_required(&mut self, v: bool) {
                match self {
                    Self::WireFormatInfo(_) => {}
                    Self::Message(m) => m.response_required = v,
                    $( Self::$variant(c) => c.response_required = v, )*
                }
            }

            pub(crate) fn read_typed(code: u8, r: &mut WireReader) -> Result<Self, OpenWireError> {
                match code {
                    1 => Ok(Self::WireFormatInfo(WireFormatInfo::read_body(r)?)),
                    $( $code => Ok(Self::$variant(<$ty as Body>::read(r)?)), )*
                    c => match MessageKind::from_type_code(c) {
                        Some(kind) => Ok(Self::Message(Message::read_boxed(kind, r)?)),
                        None => Err(OpenWireError::UnknownType { type_code: c }),
                    },
                }
            }

            pub(crate) fn write_body(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
                match self {
                    Self::WireFormatInfo(c) => c.write_body(w),
                    Self::Message(m) => m.write_body(w),
                    $( Self::$variant(c) => c.write_body(w), )*
                }
            }
        }
    };
}

/// Lets the command table name boxed and unboxed bodies alike.
trait Body: Sized {
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError>;
}

macro_rules! body {
    ($($t:ident),*) => {
        $(
            impl Body for $t {
                fn read(r: &mut WireReader) -> Result<Self, OpenWireError> {
                    $t::read_body(r)
                }
            }
        )*
    };
}

body!(
    BrokerInfo,
    ConnectionInfo,
    SessionInfo,
    ConsumerInfo,
    ProducerInfo,
    TransactionInfo,
    DestinationInfo,
    RemoveSubscriptionInfo,
    KeepAliveInfo,
    ShutdownInfo,
    RemoveInfo,
    ControlCommand,
    FlushCommand,
    ConnectionError,
    ConsumerControl,
    ConnectionControl,
    ProducerAck,
    MessagePull,
    MessageDispatch,
    MessageAck,
    Response,
    ExceptionResponse,
    DataResponse,
    DataArrayResponse,
    IntegerResponse
);

impl<T: Body> Body for Box<T> {
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError> {
        T::read(r).map(Box::new)
    }
}

commands! {
    BrokerInfo(Box<BrokerInfo>) = 2,
    ConnectionInfo(Box<ConnectionInfo>) = 3,
    SessionInfo(SessionInfo) = 4,
    ConsumerInfo(Box<ConsumerInfo>) = 5,
    ProducerInfo(Box<ProducerInfo>) = 6,
    TransactionInfo(Box<TransactionInfo>) = 7,
    DestinationInfo(Box<DestinationInfo>) = 8,
    RemoveSubscriptionInfo(Box<RemoveSubscriptionInfo>) = 9,
    KeepAliveInfo(KeepAliveInfo) = 10,
    ShutdownInfo(ShutdownInfo) = 11,
    RemoveInfo(Box<RemoveInfo>) = 12,
    ControlCommand(ControlCommand) = 14,
    FlushCommand(FlushCommand) = 15,
    ConnectionError(Box<ConnectionError>) = 16,
    ConsumerControl(Box<ConsumerControl>) = 17,
    ConnectionControl(Box<ConnectionControl>) = 18,
    ProducerAck(Box<ProducerAck>) = 19,
    MessagePull(Box<MessagePull>) = 20,
    MessageDispatch(Box<MessageDispatch>) = 21,
    MessageAck(Box<MessageAck>) = 22,
    Response(Response) = 30,
    ExceptionResponse(Box<ExceptionResponse>) = 31,
    DataResponse(Box<DataResponse>) = 32,
    DataArrayResponse(Box<DataArrayResponse>) = 33,
    IntegerResponse(IntegerResponse) = 34,
}

impl Command {
    /// Decodes one frame body (type byte first, no size prefix). The body must be consumed
    /// exactly. `stack_trace_enabled` is the negotiated StackTraceEnabled (decides the layout of
    /// throwables).
    ///
    /// # Errors
    ///
    /// [`OpenWireError::Command`] wrapping the failure (unknown type, truncation, trailing
    /// bytes, bad lengths or strings).
    pub fn decode(body: Bytes, stack_trace_enabled: bool) -> Result<Self, OpenWireError> {
        let mut r = WireReader::new(body, stack_trace_enabled);
        let code = r.u8("type code")?;
        let wrap = |e: OpenWireError| match e {
            e @ OpenWireError::UnknownType { .. } => e,
            e => OpenWireError::Command {
                name: Self::name_of(code),
                type_code: code,
                source: Box::new(e),
            },
        };
        let cmd = Self::read_typed(code, &mut r).map_err(wrap)?;
        if r.remaining() != 0 {
            return Err(wrap(OpenWireError::TrailingBytes {
                name: Self::name_of(code),
                remaining: r.remaining(),
            }));
        }
        Ok(cmd)
    }

    /// Appends the frame body (type byte first, no size prefix).
    ///
    /// # Errors
    ///
    /// A field that cannot be represented (string over 65535 encoded bytes, array over 32767
    /// elements, blob over 2 GiB).
    pub fn encode(
        &self,
        out: &mut BytesMut,
        stack_trace_enabled: bool,
    ) -> Result<(), OpenWireError> {
        let mut w = WireWriter::new(out, stack_trace_enabled);
        w.u8(self.type_code());
        self.write_body(&mut w)
    }

    /// The correlationId if this is one of the response types.
    pub fn correlation_id(&self) -> Option<i32> {
        match self {
            Self::Response(r) => Some(r.correlation_id),
            Self::ExceptionResponse(r) => Some(r.correlation_id),
            Self::DataResponse(r) => Some(r.correlation_id),
            Self::DataArrayResponse(r) => Some(r.correlation_id),
            Self::IntegerResponse(r) => Some(r.correlation_id),
            _ => None,
        }
    }

    /// A plain `Response` answering `correlation_id`.
    pub fn response(correlation_id: i32) -> Self {
        Self::Response(Response {
            correlation_id,
            ..Response::default()
        })
    }

    /// An `ExceptionResponse` answering `correlation_id`.
    pub fn exception_response(
        correlation_id: i32,
        class_name: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::ExceptionResponse(Box::new(ExceptionResponse {
            correlation_id,
            exception: Some(crate::Throwable::new(class_name, message)),
            ..ExceptionResponse::default()
        }))
    }

    /// A `KeepAliveInfo` with commandId 0 and responseRequired false.
    pub fn keep_alive() -> Self {
        Self::KeepAliveInfo(KeepAliveInfo::default())
    }
}

impl crate::wire_field::Nested for Command {
    fn read_typed(type_code: u8, r: &mut WireReader) -> Result<Self, OpenWireError> {
        Command::read_typed(type_code, r)
    }
    fn type_code(&self) -> u8 {
        Command::type_code(self)
    }
    fn write_body(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        Command::write_body(self, w)
    }
}
