//! [`Violation`], [`ViolationCode`] and [`Violations`]: what is wrong with a record.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The stable, machine-readable kind of a violation. [`as_str`](Self::as_str) is the wire form
/// (the `code` member of an error detail).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ViolationCode {
    /// A required field is missing.
    Required,
    /// The value has the wrong JSON type (or an integer has a fraction or is out of range).
    Type,
    /// A string does not have the field's format, or a date/datetime is not valid.
    Format,
    /// A number is below `min`.
    Min,
    /// A number is above `max`.
    Max,
    /// A string or array is shorter than `min_length`.
    MinLength,
    /// A string or array is longer than `max_length`.
    MaxLength,
    /// A string does not match `pattern`.
    Pattern,
    /// The value is not one of the `enum` values.
    Enum,
    /// A unique value is already used (in the batch or by a stored record).
    Unique,
    /// The field is not in the schema and the schema does not allow additional fields.
    UnknownField,
    /// The value is `null` but the field is not nullable.
    Null,
    /// The record is not a JSON object.
    NotAnObject,
    /// A value is nested deeper than [`MAX_DEPTH`](crate::MAX_DEPTH).
    TooDeep,
    /// A record of a Rust type could not be turned into JSON.
    NotSerializable,
    /// An error detail without a `code` (as a server may send).
    Invalid,
    /// A code this crate does not know, kept as given.
    Other(String),
}

impl ViolationCode {
    /// The wire form: `"required"`, `"type"`, `"max_length"`, ...
    pub fn as_str(&self) -> &str {
        match self {
            ViolationCode::Required => "required",
            ViolationCode::Type => "type",
            ViolationCode::Format => "format",
            ViolationCode::Min => "min",
            ViolationCode::Max => "max",
            ViolationCode::MinLength => "min_length",
            ViolationCode::MaxLength => "max_length",
            ViolationCode::Pattern => "pattern",
            ViolationCode::Enum => "enum",
            ViolationCode::Unique => "unique",
            ViolationCode::UnknownField => "unknown_field",
            ViolationCode::Null => "null",
            ViolationCode::NotAnObject => "not_an_object",
            ViolationCode::TooDeep => "too_deep",
            ViolationCode::NotSerializable => "not_serializable",
            ViolationCode::Invalid => "invalid",
            ViolationCode::Other(code) => code,
        }
    }

    /// Reads the wire form; an unknown code becomes [`ViolationCode::Other`].
    pub fn parse(code: &str) -> ViolationCode {
        match code {
            "required" => ViolationCode::Required,
            "type" => ViolationCode::Type,
            "format" => ViolationCode::Format,
            "min" => ViolationCode::Min,
            "max" => ViolationCode::Max,
            "min_length" => ViolationCode::MinLength,
            "max_length" => ViolationCode::MaxLength,
            "pattern" => ViolationCode::Pattern,
            "enum" => ViolationCode::Enum,
            "unique" => ViolationCode::Unique,
            "unknown_field" => ViolationCode::UnknownField,
            "null" => ViolationCode::Null,
            "not_an_object" => ViolationCode::NotAnObject,
            "too_deep" => ViolationCode::TooDeep,
            "not_serializable" => ViolationCode::NotSerializable,
            "invalid" => ViolationCode::Invalid,
            other => ViolationCode::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ViolationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ViolationCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ViolationCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ViolationCode, D::Error> {
        let code = String::deserialize(deserializer)?;
        Ok(ViolationCode::parse(&code))
    }
}

/// One thing wrong with a record.
///
/// `field` is the field's name, or `""` for the record as a whole (for example when it is not an
/// object). `message` names the field, what was expected and what was found; it never quotes the
/// value of a field whose name suggests a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The field, or `""` for the whole record.
    pub field: String,
    /// The machine-readable kind.
    pub code: ViolationCode,
    /// A sentence for people.
    pub message: String,
}

impl Violation {
    /// A violation from its parts.
    pub fn new(
        field: impl Into<String>,
        code: ViolationCode,
        message: impl Into<String>,
    ) -> Violation {
        Violation {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Every violation found in one record (never empty when returned as an error).
///
/// ```
/// use dbsync_validate::{Field, Schema};
/// use serde_json::json;
///
/// let schema = Schema::builder().field(Field::string("name").required()).build()?;
/// let violations = schema.validate(&json!({"name": 7, "extra": true})).unwrap_err();
/// assert_eq!(violations.len(), 2);
/// assert_eq!(
///     violations.to_string(),
///     "2 violations: name must be a string, found the integer 7; \
///      extra is not a field of this schema (additional fields are not allowed)"
/// );
/// # Ok::<(), dbsync_validate::SchemaError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// No violations yet.
    pub fn new() -> Violations {
        Violations(Vec::new())
    }

    /// Adds one.
    pub fn push(&mut self, violation: Violation) {
        self.0.push(violation);
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over them, in the order found (schema field order, then unknown fields).
    pub fn iter(&self) -> std::slice::Iter<'_, Violation> {
        self.0.iter()
    }

    /// As a slice.
    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }

    /// The violations of one field.
    pub fn for_field<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a Violation> + 'a {
        self.0.iter().filter(move |v| v.field == field)
    }

    /// Whether some violation has this code.
    pub fn has_code(&self, code: &ViolationCode) -> bool {
        self.0.iter().any(|v| &v.code == code)
    }

    /// Sorts them (stable) by a key.
    pub(crate) fn sort_by_key<K: Ord>(&mut self, key: impl FnMut(&Violation) -> K) {
        self.0.sort_by_key(key);
    }

    /// The inner list.
    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }

    /// `Ok(())` when empty, otherwise `Err(self)`.
    pub fn into_result(self) -> Result<(), Violations> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl From<Vec<Violation>> for Violations {
    fn from(list: Vec<Violation>) -> Violations {
        Violations(list)
    }
}

impl FromIterator<Violation> for Violations {
    fn from_iter<I: IntoIterator<Item = Violation>>(iter: I) -> Violations {
        Violations(iter.into_iter().collect())
    }
}

impl Extend<Violation> for Violations {
    fn extend<I: IntoIterator<Item = Violation>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl IntoIterator for Violations {
    type Item = Violation;
    type IntoIter = std::vec::IntoIter<Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Violations {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => f.write_str("no violations"),
            [one] => f.write_str(&one.message),
            all => {
                write!(f, "{} violations: ", all.len())?;
                for (i, v) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    f.write_str(&v.message)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Violations {}
