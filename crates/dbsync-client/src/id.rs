//! Record ids: opaque strings to the client, strings or integers on the wire.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::Error;

/// A record id, for typed records: `id: Option<Id>`.
///
/// The contract sends ids as JSON strings or integers; the client treats them as opaque
/// strings. `Id` reads either, remembers which it was so it writes the same form back, and
/// displays as the plain text (which is what [`crate::Resource::get`] and friends take).
///
/// ```
/// use dbsync_client::Id;
/// let from_number: Id = serde_json::from_str("42").unwrap();
/// let from_text: Id = serde_json::from_str("\"crm-42\"").unwrap();
/// assert_eq!(from_number.as_str(), "42");
/// assert_eq!(from_text.to_string(), "crm-42");
/// assert_eq!(serde_json::to_string(&from_number).unwrap(), "42");
/// assert_eq!(serde_json::to_string(&from_text).unwrap(), "\"crm-42\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id {
    text: String,
    numeric: bool,
}

impl Id {
    /// An id given as text.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            numeric: false,
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the server sent the id as a JSON number.
    pub fn is_numeric(&self) -> bool {
        self.numeric
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl From<&str> for Id {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<String> for Id {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<u64> for Id {
    fn from(number: u64) -> Self {
        Self {
            text: number.to_string(),
            numeric: true,
        }
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.numeric {
            if let Ok(number) = self.text.parse::<i64>() {
                return serializer.serialize_i64(number);
            }
            if let Ok(number) = self.text.parse::<u64>() {
                return serializer.serialize_u64(number);
            }
        }
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Id {
    /// A string or an integer. Read through a JSON value, so an integer is taken whatever the
    /// build's serde_json features (with `arbitrary_precision`, numbers arrive in another
    /// shape) and at any size.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => Ok(Id::new(text)),
            serde_json::Value::Number(number) => {
                let text = number.to_string();
                let digits = text.strip_prefix('-').unwrap_or(&text);
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(Id {
                        text,
                        numeric: true,
                    })
                } else {
                    Err(de::Error::custom(format!(
                        "an id must be a string or an integer, not the number {text}"
                    )))
                }
            }
            other => Err(de::Error::custom(format!(
                "an id must be a string or an integer, not {}",
                match other {
                    serde_json::Value::Null => "null",
                    serde_json::Value::Bool(_) => "a boolean",
                    serde_json::Value::Array(_) => "an array",
                    _ => "an object",
                }
            ))),
        }
    }
}

impl From<Id> for String {
    fn from(id: Id) -> Self {
        id.text
    }
}

/// For `#[serde(deserialize_with)]`: an id (a string or an integer on the wire) kept as text.
pub(crate) fn string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    Id::deserialize(deserializer).map(String::from)
}

/// Checks that `id` can be sent as one path segment: `url` drops `.` and `..` segments, so
/// they (and the empty id) are refused rather than silently addressing the collection. `what`
/// names it in the error ("record id", "run id"...).
pub(crate) fn check_path_segment(what: &str, id: &str) -> Result<(), Error> {
    if id.is_empty() || id == "." || id == ".." {
        return Err(Error::config(format!(
            "`{id}` is not a usable {what} (empty, `.` and `..` cannot be sent as a path segment)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strings_and_integers_and_writes_the_same_form_back() {
        for wire in ["7", "-3", "18446744073709551615", "\"a/b\"", "\"0042\""] {
            let id: Id = serde_json::from_str(wire).unwrap();
            assert_eq!(serde_json::to_string(&id).unwrap(), wire);
        }
        let leading_zero: Id = serde_json::from_str("\"0042\"").unwrap();
        assert_eq!(leading_zero.as_str(), "0042");
        assert!(!leading_zero.is_numeric());
    }

    #[test]
    fn refuses_what_is_not_an_id() {
        // 1.0 is not an integer on the wire; an integer past u64 reaches the client as a float
        // (without serde_json's arbitrary_precision) and would lose digits.
        for wire in [
            "1.5",
            "1.0",
            "18446744073709551616",
            "true",
            "null",
            "{}",
            "[]",
        ] {
            let error = serde_json::from_str::<Id>(wire).unwrap_err();
            assert!(error.to_string().contains("an id"), "{wire}: {error}");
        }
    }
}
