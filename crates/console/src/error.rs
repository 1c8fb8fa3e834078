//! Errors of the console: start-up failures and what a request can run into.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("cannot listen for the console on {address}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("console user {user:?} has an invalid password_hash: {reason}")]
    BadHash { user: String, reason: String },
    #[error("cannot read or write the console password file {path}")]
    PasswordFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot hash a password: {0}")]
    Hash(String),
    #[error("no randomness available: {0}")]
    Random(String),
}

/// A request that failed, as an HTTP status and a message (JSON for the API).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    /// The change conflicts with the broker's state (e.g. a subscription in use).
    #[error("{0}")]
    Conflict(String),
    #[error("broker: {0}")]
    Broker(#[from] broker::BrokerError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Broker(
                broker::BrokerError::NoSuchQueue(_) | broker::BrokerError::NoSuchSubscription(_),
            ) => StatusCode::NOT_FOUND,
            ApiError::Broker(broker::BrokerError::TooManyMessages { .. }) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Broker(broker::BrokerError::Store(broker::StoreError::NotMaster {
                ..
            })) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Broker(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        (self.status(), axum::Json(body)).into_response()
    }
}
