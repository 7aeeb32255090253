//! The contract's error body and the one error type every handler returns.
//!
//! `{"error": {"code": <status>, "message": "...", "details": [{"field": "...", "message": "..."}]}}`

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// One violation inside an error body (`details`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// The field the violation is about.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// The inner error object (`{"code","message","details"}`), also used per failed batch item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The HTTP status code.
    pub code: u16,
    /// A human-readable message.
    pub message: String,
    /// Every violation, when there are any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorDetail>,
}

/// The whole error body: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error object.
    pub error: ErrorObject,
}

/// An error answered to the client in the contract's shape.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub details: Vec<ErrorDetail>,
    /// Extra headers (e.g. `WWW-Authenticate`, `Retry-After`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            details: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn validation(details: Vec<ErrorDetail>) -> Self {
        Self {
            details,
            ..Self::bad_request("Invalid field value")
        }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn object(&self) -> ErrorObject {
        ErrorObject {
            code: self.status.as_u16(),
            message: self.message.clone(),
            details: self.details.clone(),
        }
    }
}

/// A JSON response with the given status and an already-serialized body.
pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.object(),
        };
        let text = serde_json::to_string(&body).unwrap_or_else(|_| {
            format!(
                "{{\"error\":{{\"code\":{},\"message\":\"error\"}}}}",
                self.status.as_u16()
            )
        });
        let mut response = json_response(self.status, text);
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        response
    }
}
