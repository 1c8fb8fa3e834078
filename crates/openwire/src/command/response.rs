//! Responses (notes §3.5): Response, ExceptionResponse, DataResponse, DataArrayResponse,
//! IntegerResponse. `correlation_id` is the commandId of the request being answered.

use crate::data_structure::DataStructure;
use crate::throwable::Throwable;
use crate::wire_field::wire_struct;

wire_struct! {
    /// `Response` (30).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct Response {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The request's commandId.
        pub correlation_id: i32,
    }
}

wire_struct! {
    /// `ExceptionResponse` (31).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ExceptionResponse {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The request's commandId.
        pub correlation_id: i32,
        /// The error (use a real JMS class name, notes §2.8).
        pub exception: Option<Throwable>,
    }
}

wire_struct! {
    /// `DataResponse` (32).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct DataResponse {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The request's commandId.
        pub correlation_id: i32,
        /// Payload.
        pub data: Option<DataStructure>,
    }
}

wire_struct! {
    /// `DataArrayResponse` (33): XA recover answers with XATransactionIds.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct DataArrayResponse {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The request's commandId.
        pub correlation_id: i32,
        /// Payload.
        pub data: Option<Vec<DataStructure>>,
    }
}

wire_struct! {
    /// `IntegerResponse` (34): XA prepare answers XA_OK (0) / XA_RDONLY (3).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct IntegerResponse {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The request's commandId.
        pub correlation_id: i32,
        /// The result.
        pub result: i32,
    }
}
