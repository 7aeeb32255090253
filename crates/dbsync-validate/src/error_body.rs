//! The contract's error body, `{"error":{"code":400,"message":"...","details":[...]}}`, and its
//! conversion to and from [`Violations`].
//!
//! These are the error body types of the whole project: the sandbox writes them, the client reads
//! them.

use serde::{Deserialize, Serialize};

use crate::violation::{Violation, ViolationCode, Violations};

/// The whole error body: `{"error": {...}}`.
///
/// ```
/// use dbsync_validate::{ErrorBody, Field, Schema, Violations};
/// use serde_json::json;
///
/// let schema = Schema::builder().field(Field::string("email").required()).build()?;
/// let violations = schema.validate(&json!({})).unwrap_err();
/// let body = violations.to_error_body();
/// assert_eq!(
///     serde_json::to_value(&body)?,
///     json!({"error": {"code": 400, "message": "Invalid field value: email is required",
///            "details": [{"field": "email", "message": "email is required", "code": "required"}]}})
/// );
/// assert_eq!(Violations::from_error_body(&body), violations);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error object.
    pub error: ErrorObject,
}

/// The inner error object: HTTP status, message and optional per-field details. A failed batch
/// item carries this object on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The HTTP status (`400`, `401`, ...).
    pub code: u16,
    /// A sentence for people.
    pub message: String,
    /// One entry per violation; left out of the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorDetail>,
}

/// One entry of `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorDetail {
    /// The field (`""` for the record as a whole).
    #[serde(default)]
    pub field: String,
    /// A sentence for people.
    pub message: String,
    /// The machine-readable [`ViolationCode`] (an extra member; absent in bodies that do not have it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl ErrorDetail {
    /// A violation of `field` (`""` for the record as a whole), without a code.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            code: None,
        }
    }

    /// The same violation with its machine-readable code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

impl ErrorBody {
    /// An error body without details.
    pub fn new(code: u16, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: ErrorObject::new(code, message),
        }
    }

    /// Adds details.
    pub fn with_details(mut self, details: Vec<ErrorDetail>) -> ErrorBody {
        self.error.details = details;
        self
    }
}

impl ErrorObject {
    /// An error object without details.
    pub fn new(code: u16, message: impl Into<String>) -> ErrorObject {
        ErrorObject {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }
}

impl From<&Violation> for ErrorDetail {
    fn from(v: &Violation) -> ErrorDetail {
        ErrorDetail {
            field: v.field.clone(),
            message: v.message.clone(),
            code: Some(v.code.as_str().to_owned()),
        }
    }
}

impl From<&ErrorDetail> for Violation {
    fn from(d: &ErrorDetail) -> Violation {
        Violation {
            field: d.field.clone(),
            code: d
                .code
                .as_deref()
                .map_or(ViolationCode::Invalid, ViolationCode::parse),
            message: d.message.clone(),
        }
    }
}

impl Violations {
    /// The `400` error object: message `Invalid field value: ...` (one violation) or
    /// `Invalid field values (n): ...`, and one detail per violation.
    pub fn to_error_object(&self) -> ErrorObject {
        let message = match self.len() {
            0 => "Invalid field value".to_owned(),
            1 => format!("Invalid field value: {self}"),
            n => {
                let list: Vec<&str> = self.iter().map(|v| v.message.as_str()).collect();
                format!("Invalid field values ({n}): {}", list.join("; "))
            }
        };
        ErrorObject {
            code: 400,
            message,
            details: self.iter().map(ErrorDetail::from).collect(),
        }
    }

    /// The whole `400` error body.
    pub fn to_error_body(&self) -> ErrorBody {
        ErrorBody {
            error: self.to_error_object(),
        }
    }

    /// Reads violations back from an error object. Details without `code` get
    /// [`ViolationCode::Invalid`]; an object without details gives one violation for the whole
    /// record (field `""`) carrying the object's message, so the result is never empty.
    pub fn from_error_object(error: &ErrorObject) -> Violations {
        if error.details.is_empty() {
            return Violations::from(vec![Violation::new(
                "",
                ViolationCode::Invalid,
                error.message.clone(),
            )]);
        }
        error.details.iter().map(Violation::from).collect()
    }

    /// Reads violations back from an error body; see [`Violations::from_error_object`].
    pub fn from_error_body(body: &ErrorBody) -> Violations {
        Violations::from_error_object(&body.error)
    }
}

impl From<&Violations> for ErrorBody {
    fn from(v: &Violations) -> ErrorBody {
        v.to_error_body()
    }
}
