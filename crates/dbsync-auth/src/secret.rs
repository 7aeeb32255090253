//! A string that must never be shown: passwords, tokens, client secrets, API keys.

use std::fmt;

/// A secret string. `Debug` and `Display` print `[redacted]`; the value is read only through
/// [`Secret::expose`], which makes every place that uses it easy to find.
///
/// ```
/// let s = dbsync_auth::Secret::new("p@55w0rd");
/// assert_eq!(format!("{s:?} {s}"), "Secret([redacted]) [redacted]");
/// assert_eq!(s.expose(), "p@55w0rd");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself. Use it only to put the secret on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}
