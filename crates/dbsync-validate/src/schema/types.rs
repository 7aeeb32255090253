//! [`FieldType`] and [`Format`]: the type and string-format names a schema uses.

use std::fmt;

/// The type of a field, as named in the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// A JSON string.
    String,
    /// A JSON number without a fractional part that fits in an `i64`.
    Integer,
    /// Any JSON number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A calendar date `YYYY-MM-DD` (a string on the wire).
    Date,
    /// An RFC 3339 date-time with an offset (`Z` or `±hh:mm`), a string on the wire.
    DateTime,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
}

impl FieldType {
    /// The name used in schema JSON (`"string"`, `"datetime"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Object => "object",
            FieldType::Array => "array",
        }
    }

    /// Parses a schema type name; `None` for a name the contract does not have.
    pub fn parse(name: &str) -> Option<FieldType> {
        Some(match name {
            "string" => FieldType::String,
            "integer" => FieldType::Integer,
            "number" => FieldType::Number,
            "boolean" => FieldType::Boolean,
            "date" => FieldType::Date,
            "datetime" => FieldType::DateTime,
            "object" => FieldType::Object,
            "array" => FieldType::Array,
            _ => return None,
        })
    }

    pub(super) fn is_scalar(self) -> bool {
        !matches!(self, FieldType::Object | FieldType::Array)
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string format checked by the `format` constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `local@domain.tld`: a dot-atom local part and a domain of at least two labels.
    Email,
    /// An absolute URL `scheme://host[:port][/path][?query][#fragment]` without spaces.
    Url,
    /// A UUID in its hyphenated 8-4-4-4-12 hex form (any version, any case).
    Uuid,
}

impl Format {
    /// The name used in schema JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Email => "email",
            Format::Url => "url",
            Format::Uuid => "uuid",
        }
    }

    /// Parses a format name; `None` for an unknown one.
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "email" => Format::Email,
            "url" => Format::Url,
            "uuid" => Format::Uuid,
            _ => return None,
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
