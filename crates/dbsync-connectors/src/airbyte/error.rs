//! Errors of the Airbyte commands, each a `TRACE` error message whose `failure_type` tells a
//! configuration error (the user must change the config, catalog or state) from a system error.

use std::fmt;

use serde_json::{Value, json};

use super::message::now_ms;

/// The `failure_type` of a `TRACE` error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureType {
    /// `config_error`: the config, catalog, state or credentials are wrong.
    Config,
    /// `system_error`: anything else (the server failed, the input broke off...).
    System,
}

impl FailureType {
    /// The protocol's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config_error",
            Self::System => "system_error",
        }
    }
}

/// An error of an Airbyte command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AirbyteError {
    /// Config or system.
    pub failure: FailureType,
    /// One clear line (never a secret).
    pub message: String,
    /// The stream it concerns, if any.
    pub stream: Option<String>,
}

impl AirbyteError {
    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        Self {
            failure: FailureType::Config,
            message: message.into(),
            stream: None,
        }
    }

    /// A system error.
    pub fn system(message: impl Into<String>) -> Self {
        Self {
            failure: FailureType::System,
            message: message.into(),
            stream: None,
        }
    }

    /// The same error, about `stream`.
    pub fn in_stream(mut self, stream: &str) -> Self {
        self.stream = Some(stream.to_owned());
        self
    }

    /// A client error: credentials, permissions, a missing resource and refused settings are
    /// config errors; the rest system errors.
    pub fn from_client(context: &str, error: &dbsync_client::Error) -> Self {
        let message = format!("{context}: {error}");
        match error.kind() {
            "unauthorized" | "forbidden" | "not_found" | "auth" | "config" | "tls" => {
                Self::config(message)
            }
            _ => Self::system(message),
        }
    }

    /// The `TRACE` error message.
    pub fn to_trace(&self) -> Value {
        let mut error = json!({"message": self.message, "failure_type": self.failure.as_str()});
        if let Some(stream) = &self.stream {
            error["stream_descriptor"] = json!({"name": stream});
        }
        json!({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": now_ms(), "error": error}})
    }
}

impl fmt::Display for AirbyteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.failure.as_str())
    }
}

impl std::error::Error for AirbyteError {}

/// The shared errors as Airbyte sees them: a bad config, catalog or state (and refused
/// credentials) is a config error, the rest a system error.
impl From<crate::ConnectorError> for AirbyteError {
    fn from(error: crate::ConnectorError) -> Self {
        use crate::ConnectorError as E;
        match &error {
            E::Client(client) => Self::from_client("DBSync", client),
            E::Config(_) | E::Catalog(_) | E::State(_) => Self::config(error.to_string()),
            _ => Self::system(error.to_string()),
        }
    }
}

/// Writing to standard output failed: a system error.
pub(crate) fn output_error(error: std::io::Error) -> AirbyteError {
    AirbyteError::system(format!("cannot write to standard output: {error}"))
}
