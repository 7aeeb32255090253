//! [`Schema`], [`Field`], [`FieldType`], [`Format`]: what a record must look like.
//!
//! A schema is read from the contract's JSON (`{"fields":[...], "additional_fields": false}`) or
//! built in code; both paths end in the same checks ([`SchemaBuilder::build`]), and
//! [`Schema::to_json`] writes the JSON back.

use std::collections::HashMap;
use std::fmt;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

use crate::check::{self, TypeProblem};
use crate::error::SchemaError;
use crate::message::is_secret_name;

/// Longest accepted field name, in characters.
pub const MAX_FIELD_NAME_CHARS: usize = 128;

/// Compiled size limit of one `pattern` (bytes of the compiled program). A pattern that needs more
/// is refused with [`SchemaError::InvalidPattern`] instead of using unbounded memory.
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;

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

    fn is_scalar(self) -> bool {
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

/// A numeric bound given to [`Field::min`] / [`Field::max`] in code.
///
/// Converts from the integer types and `f64`; a non-finite `f64` is refused by
/// [`SchemaBuilder::build`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// A signed integer bound.
    Int(i64),
    /// An unsigned integer bound.
    UInt(u64),
    /// A floating-point bound.
    Float(f64),
}

macro_rules! limit_from {
    ($($t:ty => $v:ident as $as:ty),*) => {$(
        impl From<$t> for Limit {
            fn from(n: $t) -> Limit {
                Limit::$v(<$as>::from(n))
            }
        }
    )*};
}
limit_from!(i8 => Int as i64, i16 => Int as i64, i32 => Int as i64, i64 => Int as i64,
    u8 => UInt as u64, u16 => UInt as u64, u32 => UInt as u64, u64 => UInt as u64,
    f32 => Float as f64, f64 => Float as f64);

/// One field of a [`Schema`]: a name, a type and its constraints.
///
/// Build one with a type constructor and chain constraints; the combination is checked when the
/// schema is built.
///
/// ```
/// use dbsync_validate::{Field, Format};
/// let email = Field::string("email").required().unique().format(Format::Email).max_length(254);
/// assert_eq!(email.name(), "email");
/// assert!(email.is_required());
/// ```
#[derive(Debug, Clone)]
pub struct Field {
    pub(crate) name: String,
    pub(crate) field_type: FieldType,
    pub(crate) required: bool,
    pub(crate) nullable: bool,
    pub(crate) unique: bool,
    pub(crate) min: Option<Number>,
    pub(crate) max: Option<Number>,
    pub(crate) min_length: Option<u64>,
    pub(crate) max_length: Option<u64>,
    pub(crate) pattern: Option<String>,
    pub(crate) regex: Option<Regex>,
    pub(crate) enum_values: Option<Vec<Value>>,
    pub(crate) format: Option<Format>,
    /// Whether the name suggests a secret (values are never echoed in messages).
    pub(crate) secret: bool,
    /// A bad builder argument, reported by `build`.
    invalid: Option<(&'static str, String)>,
}

impl PartialEq for Field {
    fn eq(&self, other: &Field) -> bool {
        self.name == other.name
            && self.field_type == other.field_type
            && self.required == other.required
            && self.nullable == other.nullable
            && self.unique == other.unique
            && self.min == other.min
            && self.max == other.max
            && self.min_length == other.min_length
            && self.max_length == other.max_length
            && self.pattern == other.pattern
            && self.enum_values == other.enum_values
            && self.format == other.format
    }
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $fn:ident => $ty:ident),*) => {$(
        $(#[$doc])*
        pub fn $fn(name: impl Into<String>) -> Field {
            Field::new(name, FieldType::$ty)
        }
    )*};
}

impl Field {
    /// A field of any type; the typed constructors below are shorthands.
    pub fn new(name: impl Into<String>, field_type: FieldType) -> Field {
        let name = name.into();
        Field {
            secret: is_secret_name(&name),
            name,
            field_type,
            required: false,
            nullable: false,
            unique: false,
            min: None,
            max: None,
            min_length: None,
            max_length: None,
            pattern: None,
            regex: None,
            enum_values: None,
            format: None,
            invalid: None,
        }
    }

    constructors!(
        /// A `string` field.
        string => String,
        /// An `integer` field (`i64` range, no fractional part).
        integer => Integer,
        /// A `number` field.
        number => Number,
        /// A `boolean` field.
        boolean => Boolean,
        /// A `date` field (`YYYY-MM-DD`).
        date => Date,
        /// A `datetime` field (RFC 3339 with offset).
        datetime => DateTime,
        /// An `object` field.
        object => Object,
        /// An `array` field.
        array => Array
    );

    /// The field must be present in a full record (it may still be `null` if [`nullable`](Self::nullable)).
    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }

    /// `null` is accepted as the value.
    pub fn nullable(mut self) -> Field {
        self.nullable = true;
        self
    }

    /// No two records may hold the same value (checked across a batch and through a
    /// [`UniqueLookup`](crate::UniqueLookup)).
    pub fn unique(mut self) -> Field {
        self.unique = true;
        self
    }

    /// Smallest allowed value (inclusive), for `integer` and `number` fields.
    pub fn min(mut self, min: impl Into<Limit>) -> Field {
        self.min = self.limit_to_number("min", min.into());
        self
    }

    /// Largest allowed value (inclusive), for `integer` and `number` fields.
    pub fn max(mut self, max: impl Into<Limit>) -> Field {
        self.max = self.limit_to_number("max", max.into());
        self
    }

    /// Fewest characters of a `string` (Unicode scalar values, not bytes) or items of an `array`.
    pub fn min_length(mut self, min_length: u64) -> Field {
        self.min_length = Some(min_length);
        self
    }

    /// Most characters of a `string` (Unicode scalar values, not bytes) or items of an `array`.
    pub fn max_length(mut self, max_length: u64) -> Field {
        self.max_length = Some(max_length);
        self
    }

    /// A regular expression (syntax of the `regex` crate) a `string` must match somewhere;
    /// anchor it with `^...$` to match the whole value.
    pub fn pattern(mut self, pattern: impl Into<String>) -> Field {
        self.pattern = Some(pattern.into());
        self.regex = None;
        self
    }

    /// The allowed values (the contract's `enum`), each of the field's type.
    pub fn enum_values<I, V>(mut self, values: I) -> Field
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        self.enum_values = Some(values.into_iter().map(Into::into).collect());
        self
    }

    /// A string format the value must have.
    pub fn format(mut self, format: Format) -> Field {
        self.format = Some(format);
        self
    }

    fn limit_to_number(&mut self, constraint: &'static str, limit: Limit) -> Option<Number> {
        let number = match limit {
            Limit::Int(n) => Some(Number::from(n)),
            Limit::UInt(n) => Some(Number::from(n)),
            Limit::Float(f) => Number::from_f64(f),
        };
        if number.is_none() {
            self.invalid = Some((constraint, "must be a finite number".to_owned()));
        }
        number
    }

    /// The field's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The field's type.
    pub fn field_type(&self) -> FieldType {
        self.field_type
    }

    /// Whether a full record must hold the field.
    pub fn is_required(&self) -> bool {
        self.required
    }

    /// Whether `null` is accepted.
    pub fn is_nullable(&self) -> bool {
        self.nullable
    }

    /// Whether values must be unique.
    pub fn is_unique(&self) -> bool {
        self.unique
    }

    /// The `min` bound, if any.
    pub fn min_value(&self) -> Option<&Number> {
        self.min.as_ref()
    }

    /// The `max` bound, if any.
    pub fn max_value(&self) -> Option<&Number> {
        self.max.as_ref()
    }

    /// The `min_length` bound, if any.
    pub fn min_length_value(&self) -> Option<u64> {
        self.min_length
    }

    /// The `max_length` bound, if any.
    pub fn max_length_value(&self) -> Option<u64> {
        self.max_length
    }

    /// The `pattern` source, if any.
    pub fn pattern_source(&self) -> Option<&str> {
        self.pattern.as_deref()
    }

    /// The allowed values, if the field has an `enum`.
    pub fn allowed_values(&self) -> Option<&[Value]> {
        self.enum_values.as_deref()
    }

    /// The `format`, if any.
    pub fn format_value(&self) -> Option<Format> {
        self.format
    }

    /// Whether the name suggests a secret (password, token, secret, key, ssn...; see
    /// [`crate::is_secret_name`]): such values are never echoed in violation messages.
    pub fn is_secret(&self) -> bool {
        self.secret
    }

    /// Checks the field on its own and compiles its pattern.
    fn finish(&mut self) -> Result<(), SchemaError> {
        check_field_name(&self.name)?;
        let field = || self.name.clone();
        if let Some((constraint, reason)) = self.invalid.take() {
            return Err(SchemaError::InvalidConstraint {
                field: field(),
                constraint,
                reason,
            });
        }
        let ty = self.field_type;
        let not_applicable = |constraint: &'static str, hint: &'static str| {
            Err(SchemaError::ConstraintNotApplicable {
                field: self.name.clone(),
                constraint,
                field_type: ty,
                hint,
            })
        };
        let numeric = matches!(ty, FieldType::Integer | FieldType::Number);
        let sized = matches!(ty, FieldType::String | FieldType::Array);
        const NUMERIC: &str = "only integer and number fields have min/max";
        const SIZED: &str = "only string and array fields have a length";
        const STRING: &str = "only string fields have it";
        const SCALAR: &str = "object and array fields cannot have it";
        if self.min.is_some() && !numeric {
            return not_applicable("min", NUMERIC);
        }
        if self.max.is_some() && !numeric {
            return not_applicable("max", NUMERIC);
        }
        if self.min_length.is_some() && !sized {
            return not_applicable("min_length", SIZED);
        }
        if self.max_length.is_some() && !sized {
            return not_applicable("max_length", SIZED);
        }
        if self.pattern.is_some() && ty != FieldType::String {
            return not_applicable("pattern", STRING);
        }
        if self.format.is_some() && ty != FieldType::String {
            return not_applicable("format", STRING);
        }
        if self.enum_values.is_some() && !ty.is_scalar() {
            return not_applicable("enum", SCALAR);
        }
        if self.unique && !ty.is_scalar() {
            return not_applicable("unique", SCALAR);
        }
        if let (Some(min), Some(max)) = (&self.min, &self.max)
            && check::compare_numbers(min, max) == std::cmp::Ordering::Greater
        {
            return Err(SchemaError::MinGreaterThanMax {
                field: field(),
                min: min.clone(),
                max: max.clone(),
            });
        }
        if let (Some(min_length), Some(max_length)) = (self.min_length, self.max_length)
            && min_length > max_length
        {
            return Err(SchemaError::MinLengthGreaterThanMaxLength {
                field: field(),
                min_length,
                max_length,
            });
        }
        if let Some(values) = &self.enum_values {
            if values.is_empty() {
                return Err(SchemaError::EmptyEnum { field: field() });
            }
            for (index, value) in values.iter().enumerate() {
                let reason = match check::check_type(ty, value) {
                    Ok(()) => continue,
                    Err(TypeProblem::Null) => "is null; use `nullable` to allow null".to_owned(),
                    Err(problem) => {
                        format!("is not a valid {ty}: {}", problem.describe(value, false))
                    }
                };
                return Err(SchemaError::InvalidEnumValue {
                    field: field(),
                    index,
                    reason,
                });
            }
        }
        self.regex = match &self.pattern {
            None => None,
            Some(pattern) => Some(
                RegexBuilder::new(pattern)
                    .size_limit(PATTERN_SIZE_LIMIT)
                    .dfa_size_limit(PATTERN_SIZE_LIMIT)
                    .build()
                    .map_err(|e| SchemaError::InvalidPattern {
                        field: field(),
                        reason: e.to_string(),
                    })?,
            ),
        };
        Ok(())
    }

    fn from_json(index: usize, value: &Value, lenient: bool) -> Result<Field, SchemaError> {
        let object = value.as_object().ok_or_else(|| SchemaError::Malformed {
            reason: format!(
                "fields[{index}] must be an object like {{\"name\":\"email\",\"type\":\"string\"}}, found {}",
                crate::message::kind(value)
            ),
        })?;
        let name = match object.get("name") {
            Some(Value::String(name)) => name.clone(),
            Some(other) => {
                return Err(SchemaError::Malformed {
                    reason: format!(
                        "fields[{index}].name must be a string, found {}",
                        crate::message::kind(other)
                    ),
                });
            }
            None => {
                return Err(SchemaError::Malformed {
                    reason: format!("fields[{index}] has no `name`"),
                });
            }
        };
        let field_type = match object.get("type") {
            Some(Value::String(ty)) => {
                FieldType::parse(ty).ok_or_else(|| SchemaError::UnknownType {
                    field: name.clone(),
                    found: ty.clone(),
                })?
            }
            Some(other) => {
                return Err(SchemaError::InvalidConstraint {
                    field: name,
                    constraint: "type",
                    reason: format!("must be a string, found {}", crate::message::kind(other)),
                });
            }
            None => {
                return Err(SchemaError::Malformed {
                    reason: format!("field `{name}` has no `type`"),
                });
            }
        };
        let mut field = Field::new(name, field_type);
        for (member, value) in object {
            let bad = |constraint: &'static str, expected: &str| SchemaError::InvalidConstraint {
                field: field.name.clone(),
                constraint,
                reason: format!("must be {expected}, found {}", crate::message::kind(value)),
            };
            let flag = |c: &'static str| value.as_bool().ok_or_else(|| bad(c, "true or false"));
            let number =
                |c: &'static str| value.as_number().cloned().ok_or_else(|| bad(c, "a number"));
            let count = |c: &'static str| {
                value
                    .as_u64()
                    .ok_or_else(|| bad(c, "a non-negative integer"))
            };
            match member.as_str() {
                "name" | "type" => {}
                "required" => field.required = flag("required")?,
                "nullable" => field.nullable = flag("nullable")?,
                "unique" => field.unique = flag("unique")?,
                "min" => field.min = Some(number("min")?),
                "max" => field.max = Some(number("max")?),
                "min_length" => field.min_length = Some(count("min_length")?),
                "max_length" => field.max_length = Some(count("max_length")?),
                "pattern" => {
                    let pattern = value.as_str().ok_or_else(|| bad("pattern", "a string"))?;
                    field.pattern = Some(pattern.to_owned());
                }
                "enum" => {
                    let values = value.as_array().ok_or_else(|| bad("enum", "an array"))?;
                    field.enum_values = Some(values.clone());
                }
                "format" => {
                    let name = value.as_str().ok_or_else(|| bad("format", "a string"))?;
                    field.format =
                        Some(
                            Format::parse(name).ok_or_else(|| SchemaError::UnknownFormat {
                                field: field.name.clone(),
                                found: name.to_owned(),
                            })?,
                        );
                }
                other if lenient && !crate::lenient::field_member_is_constraint_like(other) => {}
                _ => {
                    return Err(SchemaError::UnknownMember {
                        field: field.name.clone(),
                        member: member.clone(),
                    });
                }
            }
        }
        Ok(field)
    }

    fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("name".into(), Value::String(self.name.clone()));
        object.insert(
            "type".into(),
            Value::String(self.field_type.as_str().into()),
        );
        if self.required {
            object.insert("required".into(), Value::Bool(true));
        }
        if self.nullable {
            object.insert("nullable".into(), Value::Bool(true));
        }
        if self.unique {
            object.insert("unique".into(), Value::Bool(true));
        }
        if let Some(min) = &self.min {
            object.insert("min".into(), Value::Number(min.clone()));
        }
        if let Some(max) = &self.max {
            object.insert("max".into(), Value::Number(max.clone()));
        }
        if let Some(n) = self.min_length {
            object.insert("min_length".into(), Value::from(n));
        }
        if let Some(n) = self.max_length {
            object.insert("max_length".into(), Value::from(n));
        }
        if let Some(pattern) = &self.pattern {
            object.insert("pattern".into(), Value::String(pattern.clone()));
        }
        if let Some(values) = &self.enum_values {
            object.insert("enum".into(), Value::Array(values.clone()));
        }
        if let Some(format) = self.format {
            object.insert("format".into(), Value::String(format.as_str().into()));
        }
        Value::Object(object)
    }
}

fn check_field_name(name: &str) -> Result<(), SchemaError> {
    let refuse = |reason: &str| {
        Err(SchemaError::InvalidFieldName {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.trim().is_empty() {
        return refuse("a field name must not be empty or blank");
    }
    if name.chars().count() > MAX_FIELD_NAME_CHARS {
        return refuse("a field name must be at most 128 characters");
    }
    if name.chars().any(char::is_control) {
        return refuse("a field name must not contain control characters");
    }
    if name.trim() != name {
        return refuse("a field name must not start or end with whitespace");
    }
    Ok(())
}

/// The shape records must have: fields with types and constraints, and whether other fields are
/// allowed.
///
/// ```
/// use dbsync_validate::{Field, Format, Schema};
/// use serde_json::json;
///
/// let schema = Schema::builder()
///     .field(Field::string("email").required().unique().format(Format::Email).max_length(254))
///     .field(Field::integer("age").min(0).max(150))
///     .additional_fields(false)
///     .build()?;
///
/// assert!(schema.validate(&json!({"email": "ada@example.com", "age": 36})).is_ok());
///
/// let violations = schema.validate(&json!({"age": 200, "nick": "x"})).unwrap_err();
/// let codes: Vec<&str> = violations.iter().map(|v| v.code.as_str()).collect();
/// assert_eq!(codes, ["required", "max", "unknown_field"]);
///
/// // The same schema from the contract's JSON.
/// let parsed = Schema::from_json_str(r#"{"fields":[
///     {"name":"email","type":"string","required":true,"unique":true,"max_length":254,"format":"email"},
///     {"name":"age","type":"integer","min":0,"max":150}]}"#)?;
/// assert_eq!(parsed, schema);
/// # Ok::<(), dbsync_validate::SchemaError>(())
/// ```
#[derive(Clone)]
pub struct Schema {
    fields: Vec<Field>,
    additional_fields: bool,
    /// How many fields are required (a full record holding that many is missing none).
    required_count: usize,
    /// Name -> position, for schemas too large for a linear scan.
    index: Option<HashMap<String, usize>>,
}

/// Above this many fields, names are looked up through a hash map instead of a scan.
const LINEAR_LOOKUP_MAX: usize = 16;

impl PartialEq for Schema {
    fn eq(&self, other: &Schema) -> bool {
        self.fields == other.fields && self.additional_fields == other.additional_fields
    }
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("fields", &self.fields)
            .field("additional_fields", &self.additional_fields)
            .finish()
    }
}

impl Schema {
    /// Starts a schema in code. `additional_fields` defaults to `false`, as in the contract.
    pub fn builder() -> SchemaBuilder {
        SchemaBuilder::default()
    }

    /// The schema of a resource never written to: no fields, any field accepted
    /// (`{"fields":[],"additional_fields":true}`).
    pub fn open() -> Schema {
        Schema::from_checked_fields(Vec::new(), true)
    }

    fn from_checked_fields(fields: Vec<Field>, additional_fields: bool) -> Schema {
        let required_count = fields.iter().filter(|f| f.required).count();
        let index = (fields.len() > LINEAR_LOOKUP_MAX).then(|| {
            fields
                .iter()
                .enumerate()
                .map(|(i, f)| (f.name.clone(), i))
                .collect()
        });
        Schema {
            fields,
            additional_fields,
            required_count,
            index,
        }
    }

    /// The position and definition of the field with this name. Allocation-free: a scan with a
    /// length check for small schemas, a hash lookup for large ones.
    pub(crate) fn lookup(&self, name: &str) -> Option<(usize, &Field)> {
        let position = match &self.index {
            Some(index) => *index.get(name)?,
            None => self
                .fields
                .iter()
                .position(|f| f.name.len() == name.len() && f.name == name)?,
        };
        self.fields.get(position).map(|f| (position, f))
    }

    /// How many fields are required.
    pub(crate) fn required_count(&self) -> usize {
        self.required_count
    }

    /// Reads the contract's schema JSON, strictly: a member this crate does not know is refused
    /// (a typo such as `max_lenght` must not silently drop a constraint). A missing
    /// `additional_fields` means `false`. For a schema fetched from a server, which may carry
    /// descriptive members such as `label`, use [`Schema::from_json_lenient`].
    pub fn from_json(json: &Value) -> Result<Schema, SchemaError> {
        Schema::parse_json(json, false)
    }

    /// Reads the contract's schema JSON as a server sends it: unknown members that are plainly
    /// not constraints (`label`, `description`, `x-widget`, ...) are ignored, in a field and at
    /// the top level. Members that look like constraints are still refused with
    /// [`SchemaError::UnknownMember`] (a field's) or [`SchemaError::Malformed`] (top level):
    /// a known name in another case or spelling (`maxLength`, `Required`), one or two typos away
    /// from a known name (`max_lenght`, `requird`, `additionalFields`), or another vocabulary's
    /// constraint (`minimum`, `exclusiveMaximum`, `const`, `regex`, ...). Ignoring those would
    /// let a client pass records the server refuses. Unknown types and formats are refused as
    /// in [`Schema::from_json`]: a field that cannot be checked is not silently skipped.
    ///
    /// ```
    /// use dbsync_validate::Schema;
    /// use serde_json::json;
    ///
    /// let served = json!({"fields": [{"name": "email", "type": "string", "label": "E-mail"}],
    ///                     "description": "CRM contacts"});
    /// assert!(Schema::from_json(&served).is_err());
    /// let schema = Schema::from_json_lenient(&served)?;
    /// assert_eq!(schema.fields().len(), 1);
    /// let typo = json!({"fields": [{"name": "email", "type": "string", "max_lenght": 5}]});
    /// assert!(Schema::from_json_lenient(&typo).is_err());
    /// # Ok::<(), dbsync_validate::SchemaError>(())
    /// ```
    pub fn from_json_lenient(json: &Value) -> Result<Schema, SchemaError> {
        Schema::parse_json(json, true)
    }

    /// Reads schema JSON text leniently, like [`Schema::from_json_lenient`].
    pub fn from_json_str_lenient(text: &str) -> Result<Schema, SchemaError> {
        let value: Value = serde_json::from_str(text).map_err(|e| SchemaError::InvalidJson {
            reason: e.to_string(),
        })?;
        Schema::from_json_lenient(&value)
    }

    fn parse_json(json: &Value, lenient: bool) -> Result<Schema, SchemaError> {
        let object = json.as_object().ok_or_else(|| SchemaError::Malformed {
            reason: format!(
                "a schema must be an object like {{\"fields\":[...]}}, found {}",
                crate::message::kind(json)
            ),
        })?;
        let mut builder = Schema::builder();
        for (member, value) in object {
            match member.as_str() {
                "fields" => {
                    let fields = value.as_array().ok_or_else(|| SchemaError::Malformed {
                        reason: format!(
                            "`fields` must be an array, found {}",
                            crate::message::kind(value)
                        ),
                    })?;
                    for (index, field) in fields.iter().enumerate() {
                        builder = builder.field(Field::from_json(index, field, lenient)?);
                    }
                }
                "additional_fields" => {
                    builder = builder.additional_fields(value.as_bool().ok_or_else(|| {
                        SchemaError::Malformed {
                            reason: format!(
                                "`additional_fields` must be true or false, found {}",
                                crate::message::kind(value)
                            ),
                        }
                    })?);
                }
                other if lenient && !crate::lenient::schema_member_is_constraint_like(other) => {}
                other => {
                    return Err(SchemaError::Malformed {
                        reason: format!(
                            "unknown member `{other}`; a schema has `fields` and `additional_fields`"
                        ),
                    });
                }
            }
        }
        if !object.contains_key("fields") {
            return Err(SchemaError::Malformed {
                reason: "a schema needs a `fields` array (it may be empty)".to_owned(),
            });
        }
        builder.build()
    }

    /// Reads the contract's schema JSON from text.
    pub fn from_json_str(text: &str) -> Result<Schema, SchemaError> {
        let value: Value = serde_json::from_str(text).map_err(|e| SchemaError::InvalidJson {
            reason: e.to_string(),
        })?;
        Schema::from_json(&value)
    }

    /// The schema as contract JSON; [`Schema::from_json`] of it gives back an equal schema.
    /// Constraints that are not set (and `false` flags) are left out; `additional_fields` is
    /// always written.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert(
            "fields".into(),
            Value::Array(self.fields.iter().map(Field::to_json).collect()),
        );
        object.insert(
            "additional_fields".into(),
            Value::Bool(self.additional_fields),
        );
        Value::Object(object)
    }

    /// The fields, in schema order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.lookup(name).map(|(_, f)| f)
    }

    /// Whether fields not in the schema are accepted.
    pub fn additional_fields(&self) -> bool {
        self.additional_fields
    }
}

impl Serialize for Schema {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Schema, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Schema::from_json(&value).map_err(serde::de::Error::custom)
    }
}

/// Builds a [`Schema`] in code; see [`Schema::builder`].
#[derive(Debug, Clone, Default)]
pub struct SchemaBuilder {
    fields: Vec<Field>,
    additional_fields: bool,
}

impl SchemaBuilder {
    /// Adds a field.
    pub fn field(mut self, field: Field) -> SchemaBuilder {
        self.fields.push(field);
        self
    }

    /// Adds several fields.
    pub fn fields(mut self, fields: impl IntoIterator<Item = Field>) -> SchemaBuilder {
        self.fields.extend(fields);
        self
    }

    /// Whether fields not in the schema are accepted (default `false`).
    pub fn additional_fields(mut self, allowed: bool) -> SchemaBuilder {
        self.additional_fields = allowed;
        self
    }

    /// Checks every field (constraints fit the type, bounds are ordered, names are valid and
    /// distinct, patterns compile) and returns the schema.
    pub fn build(self) -> Result<Schema, SchemaError> {
        let mut fields = self.fields;
        for field in &mut fields {
            field.finish()?;
        }
        let mut seen = std::collections::HashSet::with_capacity(fields.len());
        for field in &fields {
            if !seen.insert(field.name.as_str()) {
                return Err(SchemaError::DuplicateField {
                    field: field.name.clone(),
                });
            }
        }
        Ok(Schema::from_checked_fields(fields, self.additional_fields))
    }
}
