//! The one error type every handler returns, written as the contract's error body
//! (`dbsync_validate::ErrorBody`, the project's single error-body type).
//!
//! `{"error": {"code": <status>, "message": "...", "details": [{"field": "...", "message": "..."}]}}`

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dbsync_validate::Violations;
pub use dbsync_validate::{ErrorBody, ErrorDetail, ErrorObject};

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

    /// A `400` listing every violation.
    pub fn validation(violations: &Violations) -> Self {
        let object = violations.to_error_object();
        Self {
            status: StatusCode::BAD_REQUEST,
            message: object.message,
            details: object.details,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Every detail's message on one line (or the message when there are none), for errors
    /// met outside a request (fixture rows at startup).
    pub fn describe(&self) -> String {
        let details: Vec<&str> = self.details.iter().map(|d| d.message.as_str()).collect();
        match details.is_empty() {
            true => self.message.clone(),
            false => details.join("; "),
        }
    }

    pub fn object(&self) -> ErrorObject {
        let mut object = ErrorObject::new(self.status.as_u16(), self.message.clone());
        object.details = self.details.clone();
        object
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
