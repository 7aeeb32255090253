//! The contract's error body, `{"error":{"code","message","details":[{"field","message"}]}}`.
//!
//! Private stand-in until dbsync-validate's public `ErrorBody`/`ErrorObject`/`ErrorDetail` land;
//! only [`ErrorDetail`] is public (re-exported at the crate root).

use serde::Deserialize;

/// One violation in a validation error: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorDetail {
    /// The field the violation is about, when the server names one.
    #[serde(default)]
    pub field: Option<String>,
    /// What is wrong, in words.
    #[serde(default)]
    pub message: String,
}

impl std::fmt::Display for ErrorDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The whole error body.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorObject,
}

/// The inner error object (also what a failed batch item carries).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ErrorObject {
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) details: Vec<ErrorDetail>,
}

impl ErrorBody {
    /// Parses a body as the contract's error body, or `None` when it is something else.
    pub(crate) fn parse(body: &[u8]) -> Option<Self> {
        serde_json::from_slice(body).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_shape_with_and_without_details() {
        let body = br#"{"error":{"code":400,"message":"Invalid field value","details":[{"field":"email","message":"not an email"}]}}"#;
        let parsed = ErrorBody::parse(body).unwrap();
        assert_eq!(parsed.error.message.as_deref(), Some("Invalid field value"));
        assert_eq!(parsed.error.details.len(), 1);
        assert_eq!(parsed.error.details[0].to_string(), "email: not an email");
        let bare = ErrorBody::parse(br#"{"error":{"code":404,"message":"gone"}}"#).unwrap();
        assert!(bare.error.details.is_empty());
        assert!(ErrorBody::parse(b"<html>").is_none());
        assert!(ErrorBody::parse(b"").is_none());
    }
}
