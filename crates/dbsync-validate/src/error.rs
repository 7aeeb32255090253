//! [`SchemaError`]: why a schema (JSON or built in code) was refused.

use crate::schema::FieldType;

/// Why a schema could not be built.
///
/// Every variant names the field (where there is one) and says what to change.
///
/// ```
/// use dbsync_validate::{Field, Schema, SchemaError};
///
/// let err = Schema::from_json_str(r#"{"fields":[{"name":"age","type":"integer","min":10,"max":1}]}"#)
///     .unwrap_err();
/// assert!(matches!(err, SchemaError::MinGreaterThanMax { .. }));
/// assert_eq!(err.to_string(), "field `age` has min 10 greater than max 1");
///
/// let err = Schema::builder().field(Field::string("phone").pattern("([0-9]+")).build().unwrap_err();
/// assert!(matches!(err, SchemaError::InvalidPattern { ref field, .. } if field == "phone"));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The schema text is not JSON at all.
    #[error("the schema is not valid JSON: {reason}")]
    InvalidJson {
        /// What the JSON parser said.
        reason: String,
    },
    /// The schema JSON does not have the expected shape (`{"fields":[...], "additional_fields": bool}`).
    #[error("the schema is malformed: {reason}")]
    Malformed {
        /// What is wrong and where.
        reason: String,
    },
    /// A field definition has a member this crate does not know (often a misspelt constraint).
    #[error(
        "field `{field}` has an unknown member `{member}`; known members are name, type, required, \
         nullable, unique, min, max, min_length, max_length, pattern, enum and format"
    )]
    UnknownMember {
        /// The field whose definition holds the member.
        field: String,
        /// The unknown member.
        member: String,
    },
    /// A constraint has a value of the wrong kind (for example `"max_length": "ten"`).
    #[error("field `{field}`: `{constraint}` {reason}")]
    InvalidConstraint {
        /// The field.
        field: String,
        /// The constraint (`min`, `max_length`, `required`, ...).
        constraint: &'static str,
        /// What the value must be.
        reason: String,
    },
    /// The field name is empty, too long or holds control characters.
    #[error("invalid field name {name:?}: {reason}")]
    InvalidFieldName {
        /// The name as given.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// Two fields have the same name.
    #[error("field `{field}` is defined twice; each field name must appear once")]
    DuplicateField {
        /// The repeated name.
        field: String,
    },
    /// `type` is not one of the contract's types.
    #[error(
        "field `{field}` has unknown type {found:?}; use string, integer, number, boolean, date, \
         datetime, object or array"
    )]
    UnknownType {
        /// The field.
        field: String,
        /// The type as given.
        found: String,
    },
    /// `format` is not one of `email`, `url`, `uuid`.
    #[error("field `{field}` has unknown format {found:?}; use email, url or uuid")]
    UnknownFormat {
        /// The field.
        field: String,
        /// The format as given.
        found: String,
    },
    /// `pattern` is not a valid regular expression (or is too large to compile).
    #[error("field `{field}` has an invalid pattern: {reason}")]
    InvalidPattern {
        /// The field.
        field: String,
        /// What the regex compiler said.
        reason: String,
    },
    /// `min` is greater than `max`.
    #[error("field `{field}` has min {min} greater than max {max}")]
    MinGreaterThanMax {
        /// The field.
        field: String,
        /// The minimum as given.
        min: serde_json::Number,
        /// The maximum as given.
        max: serde_json::Number,
    },
    /// `min_length` is greater than `max_length`.
    #[error("field `{field}` has min_length {min_length} greater than max_length {max_length}")]
    MinLengthGreaterThanMaxLength {
        /// The field.
        field: String,
        /// The minimum length.
        min_length: u64,
        /// The maximum length.
        max_length: u64,
    },
    /// A constraint that does not apply to the field's type.
    #[error("field `{field}`: `{constraint}` does not apply to type {field_type} ({hint})")]
    ConstraintNotApplicable {
        /// The field.
        field: String,
        /// The constraint.
        constraint: &'static str,
        /// The field's type.
        field_type: FieldType,
        /// Which types the constraint applies to.
        hint: &'static str,
    },
    /// `enum` lists no values, so no value could ever be accepted.
    #[error("field `{field}` has an empty enum; list at least one allowed value or drop `enum`")]
    EmptyEnum {
        /// The field.
        field: String,
    },
    /// The schema is over one of the [`SchemaLimits`](crate::SchemaLimits) it was read with
    /// (a schema from a server: too many fields, too much pattern text, or patterns too costly
    /// to compile).
    #[error("the schema is too complex: {reason}, over the limit {limit} of {max}")]
    TooComplex {
        /// The limit: `max_fields`, `max_pattern_bytes`, `pattern_size_limit` or
        /// `max_compiled_pattern_bytes` (the [`SchemaLimits`](crate::SchemaLimits) field).
        limit: &'static str,
        /// The limit's value.
        max: usize,
        /// What is over it, with the number found and the field where it was reached.
        reason: String,
    },
    /// A value listed in `enum` is not of the field's type.
    #[error("field `{field}`: enum value at position {index} {reason}")]
    InvalidEnumValue {
        /// The field.
        field: String,
        /// Position of the value in the list (0-based).
        index: usize,
        /// Why it does not fit.
        reason: String,
    },
}
