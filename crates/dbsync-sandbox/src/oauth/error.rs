//! The RFC 6749 section 5.2 error of both endpoints, and the `no-store` headers of their
//! answers.

use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::bounded::Full;

/// An RFC 6749 section 5.2 error.
#[derive(Debug)]
pub(super) struct OAuthError {
    pub(super) status: StatusCode,
    pub(super) error: &'static str,
    pub(super) description: String,
    /// Seconds for a `Retry-After` header (a full store).
    pub(super) retry_after: Option<u64>,
}

impl OAuthError {
    pub(super) fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = if error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        Self {
            status,
            error,
            description: description.into(),
            retry_after: None,
        }
    }

    /// The store of `what` (tokens, codes) is full: a `503` `temporarily_unavailable` with a
    /// `Retry-After` of when its oldest entry expires.
    pub(super) fn full(what: &str, full: Full) -> Self {
        let secs = full.retry_after_secs();
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: format!(
                "This sandbox holds as many {what} as its limits allow (StoreLimits); the oldest \
                 expires in {secs} s. Restart the sandbox or raise the limit"
            ),
            retry_after: Some(secs),
        }
    }

    /// Why the token request's body could not be read: `413` past the server's body limit
    /// (the contract's status for a body over the limit, in RFC 6749's error shape), else `400`.
    pub(super) fn unreadable_body(rejection: &BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                error: "invalid_request",
                description: "The token request body is larger than this server's request body \
                              limit; send only the parameters of the grant"
                    .to_owned(),
                retry_after: None,
            }
        } else {
            Self::new(
                "invalid_request",
                "The token request body could not be read",
            )
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut response = (self.status, axum::Json(body)).into_response();
        no_store(response.headers_mut());
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"dbsync\""),
            );
        }
        response
    }
}

/// Answers of both endpoints are never cached (RFC 6749 5.1).
pub(super) fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}
