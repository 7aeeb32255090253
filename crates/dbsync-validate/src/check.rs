//! Checking one record against a [`Schema`]: the hot path.
//!
//! A valid record costs no allocation: fields are looked up by walking the schema and calling
//! `map.get`, unknown keys are only searched for when the object has more keys than the schema
//! fields it holds, and messages are built only for violations.

use std::cmp::Ordering;

use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::formats;
use crate::message::{found, kind, list_values, quote};
use crate::schema::{Field, FieldType, Format, Schema};
use crate::violation::{Violation, ViolationCode, Violations};

/// Deepest nesting of arrays and objects accepted in a record, the record object counting as
/// one level. `serde_json` parses at most 127 levels, so every accepted record can be written as
/// JSON text and read back. Checked without unbounded recursion.
pub const MAX_DEPTH: usize = 127;

/// Whether absent fields count as missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// A whole record (a create): required fields must be present.
    #[default]
    Full,
    /// An update: absent fields are left unchanged, so only present fields are checked.
    Partial,
}

/// Tells whether a unique value is already held by a stored record.
///
/// The sandbox implements it over its store; a client could implement it over a cache.
///
/// ```
/// use dbsync_validate::{Field, Schema, UniqueLookup, ValidateOptions};
/// use serde_json::{json, Value};
///
/// struct Taken;
/// impl UniqueLookup for Taken {
///     fn existing_owner(&self, field: &str, value: &Value) -> Option<String> {
///         (field == "email" && value == "ada@example.com").then(|| "42".to_owned())
///     }
/// }
///
/// let schema = Schema::builder().field(Field::string("email").unique()).build()?;
/// let record = json!({"email": "ada@example.com"});
/// // A create: the value belongs to record 42 already.
/// let err = schema.validate_with(&record, &ValidateOptions::new().lookup(&Taken)).unwrap_err();
/// assert_eq!(err.as_slice()[0].message,
///     "email must be unique: the same value is already used by record 42");
/// // An update of record 42 itself keeps its own value.
/// let update = ValidateOptions::partial().lookup(&Taken).own_id("42");
/// assert!(schema.validate_with(&record, &update).is_ok());
/// # Ok::<(), dbsync_validate::SchemaError>(())
/// ```
pub trait UniqueLookup: Send + Sync {
    /// The id of a stored record whose `field` holds `value`, if there is one.
    fn existing_owner(&self, field: &str, value: &Value) -> Option<String>;
}

/// How to validate one record: full or partial, and an optional uniqueness lookup.
#[derive(Clone, Copy, Default)]
pub struct ValidateOptions<'a> {
    pub(crate) mode: Mode,
    pub(crate) lookup: Option<&'a dyn UniqueLookup>,
    pub(crate) own_id: Option<&'a str>,
}

impl std::fmt::Debug for ValidateOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidateOptions")
            .field("mode", &self.mode)
            .field("lookup", &self.lookup.is_some())
            .field("own_id", &self.own_id)
            .finish()
    }
}

impl<'a> ValidateOptions<'a> {
    /// Full mode, no lookup.
    pub fn new() -> ValidateOptions<'a> {
        ValidateOptions::default()
    }

    /// Partial mode (an update), no lookup.
    pub fn partial() -> ValidateOptions<'a> {
        ValidateOptions::new().mode(Mode::Partial)
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: Mode) -> ValidateOptions<'a> {
        self.mode = mode;
        self
    }

    /// Checks unique fields against stored records too.
    pub fn lookup(mut self, lookup: &'a dyn UniqueLookup) -> ValidateOptions<'a> {
        self.lookup = Some(lookup);
        self
    }

    /// The id of the record being validated (an update): a stored value owned by this id is not
    /// a conflict.
    pub fn own_id(mut self, id: &'a str) -> ValidateOptions<'a> {
        self.own_id = Some(id);
        self
    }
}

impl Schema {
    /// Checks a whole record (a create). Returns every violation, in schema field order, then
    /// unknown fields in key order.
    pub fn validate(&self, record: &Value) -> Result<(), Violations> {
        check_record(self, record, Mode::Full, |_, _, _| None).into_result()
    }

    /// Checks an update: absent fields are fine, present ones are checked (`null` only where
    /// nullable, even for required fields).
    pub fn validate_partial(&self, record: &Value) -> Result<(), Violations> {
        check_record(self, record, Mode::Partial, |_, _, _| None).into_result()
    }

    /// Checks a record with options: mode, uniqueness lookup and own id.
    pub fn validate_with(
        &self,
        record: &Value,
        options: &ValidateOptions<'_>,
    ) -> Result<(), Violations> {
        check_record(self, record, options.mode, |_, field, value| {
            lookup_conflict(options.lookup, options.own_id, field, value)
        })
        .into_result()
    }

    /// Checks a record given as the map of a JSON object (what a server holds after taking a
    /// body apart), without building a `Value` around it.
    pub fn validate_object_with(
        &self,
        record: &Map<String, Value>,
        options: &ValidateOptions<'_>,
    ) -> Result<(), Violations> {
        check_object(self, record, options.mode, |_, field, value| {
            lookup_conflict(options.lookup, options.own_id, field, value)
        })
        .into_result()
    }

    /// Checks any serializable record (turned into JSON first).
    pub fn validate_serialize<T: Serialize + ?Sized>(
        &self,
        record: &T,
        mode: Mode,
    ) -> Result<(), Violations> {
        self.validate_serialize_with(record, &ValidateOptions::new().mode(mode))
    }

    /// Checks any serializable record with options.
    pub fn validate_serialize_with<T: Serialize + ?Sized>(
        &self,
        record: &T,
        options: &ValidateOptions<'_>,
    ) -> Result<(), Violations> {
        let value = to_json_record(record)?;
        self.validate_with(&value, options)
    }
}

/// A serializable record as JSON, or a `not_serializable` violation.
pub(crate) fn to_json_record<T: Serialize + ?Sized>(record: &T) -> Result<Value, Violations> {
    serde_json::to_value(record).map_err(|e| {
        Violations::from(vec![Violation::new(
            "",
            ViolationCode::NotSerializable,
            format!("the record could not be turned into JSON: {e}"),
        )])
    })
}

/// A stored-record conflict for a unique value, unless the owner is the record itself.
pub(crate) fn lookup_conflict(
    lookup: Option<&dyn UniqueLookup>,
    own_id: Option<&str>,
    field: &Field,
    value: &Value,
) -> Option<Violation> {
    let owner = lookup?.existing_owner(&field.name, value)?;
    if own_id == Some(owner.as_str()) {
        return None;
    }
    Some(Violation::new(
        field.name.clone(),
        ViolationCode::Unique,
        format!(
            "{} must be unique: the same value is already used by record {}",
            field.name, owner
        ),
    ))
}

/// Checks one record. `unique(field_index, field, value)` is asked about every unique field
/// whose present, non-null value passed all its other checks.
pub(crate) fn check_record<'v, U>(
    schema: &Schema,
    record: &'v Value,
    mode: Mode,
    unique: U,
) -> Violations
where
    U: FnMut(usize, &Field, &'v Value) -> Option<Violation>,
{
    match record {
        Value::Object(map) => check_object(schema, map, mode, unique),
        other => Violations::from(vec![Violation::new(
            "",
            ViolationCode::NotAnObject,
            format!("a record must be a JSON object, found {}", kind(other)),
        )]),
    }
}

/// Checks one record given as an object's map; see [`check_record`].
pub(crate) fn check_object<'v, U>(
    schema: &Schema,
    map: &'v Map<String, Value>,
    mode: Mode,
    mut unique: U,
) -> Violations
where
    U: FnMut(usize, &Field, &'v Value) -> Option<Violation>,
{
    let mut out = Violations::new();
    // One pass over the record's entries: each key is read once and looked up in the (small,
    // hot) schema, which is much cheaper than a `map.get` per schema field.
    let mut required_seen = 0usize;
    for (key, value) in map {
        match schema.lookup(key) {
            Some((index, field)) => {
                required_seen += usize::from(field.required);
                let before = out.len();
                check_value(field, value, &mut out);
                if field.unique
                    && out.len() == before
                    && !value.is_null()
                    && let Some(v) = unique(index, field, value)
                {
                    out.push(v);
                }
            }
            None if !schema.additional_fields() => out.push(Violation::new(
                key.clone(),
                ViolationCode::UnknownField,
                format!(
                    "{} is not a field of this schema (additional fields are not allowed)",
                    name_for_message(key)
                ),
            )),
            None => {
                if nesting_exceeds(value, MAX_DEPTH - 1) {
                    out.push(too_deep(key));
                }
            }
        }
    }
    if mode == Mode::Full && required_seen < schema.required_count() {
        for field in schema.fields() {
            if field.required && !map.contains_key(&field.name) {
                out.push(Violation::new(
                    field.name.clone(),
                    ViolationCode::Required,
                    format!("{} is required", field.name),
                ));
            }
        }
    }
    if out.len() > 1 {
        // Report in schema field order, then fields not in the schema (in record order).
        out.sort_by_key(|v| schema.lookup(&v.field).map_or(usize::MAX, |(i, _)| i));
    }
    out
}

fn name_for_message(name: &str) -> String {
    if name.chars().count() <= 64 && !name.chars().any(char::is_control) {
        name.to_owned()
    } else {
        quote(name).to_string()
    }
}

fn too_deep(name: &str) -> Violation {
    Violation::new(
        name,
        ViolationCode::TooDeep,
        format!(
            "{} is nested deeper than {} levels of arrays and objects",
            name_for_message(name),
            MAX_DEPTH
        ),
    )
}

/// Whether a value holds more than `budget` levels of arrays/objects. Recursion depth is at most
/// `budget + 1`.
fn nesting_exceeds(value: &Value, budget: usize) -> bool {
    match value {
        Value::Array(items) => budget == 0 || items.iter().any(|v| nesting_exceeds(v, budget - 1)),
        Value::Object(map) => budget == 0 || map.values().any(|v| nesting_exceeds(v, budget - 1)),
        _ => false,
    }
}

/// Why a value does not have a field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeProblem {
    Null,
    WrongType(FieldType),
    Fraction,
    OutOfRange,
    BadDate,
    BadDateTime,
}

impl TypeProblem {
    fn code(self) -> ViolationCode {
        match self {
            TypeProblem::Null => ViolationCode::Null,
            TypeProblem::BadDate | TypeProblem::BadDateTime => ViolationCode::Format,
            _ => ViolationCode::Type,
        }
    }

    /// "must be ..., found ..." (without the field name).
    pub(crate) fn describe(self, value: &Value, secret: bool) -> Describe<'_> {
        Describe {
            problem: self,
            value,
            secret,
        }
    }
}

/// See [`TypeProblem::describe`]: written straight into the message.
pub(crate) struct Describe<'a> {
    problem: TypeProblem,
    value: &'a Value,
    secret: bool,
}

impl std::fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let found = found(self.value, self.secret);
        match self.problem {
            TypeProblem::Null => f.write_str("must not be null"),
            TypeProblem::WrongType(ty) => write!(f, "must be {}, found {found}", a_type(ty)),
            TypeProblem::Fraction => {
                write!(
                    f,
                    "must be an integer, found {found} with a fractional part"
                )
            }
            TypeProblem::OutOfRange => write!(
                f,
                "must be an integer between {} and {}, found {found}",
                i64::MIN,
                i64::MAX
            ),
            TypeProblem::BadDate => write!(
                f,
                "must be a date YYYY-MM-DD that exists in the calendar, found {found}"
            ),
            TypeProblem::BadDateTime => write!(
                f,
                "must be an RFC 3339 date-time with an offset (like 2026-01-31T09:30:00Z), found {found}"
            ),
        }
    }
}

fn a_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String => "a string",
        FieldType::Integer => "an integer",
        FieldType::Number => "a number",
        FieldType::Boolean => "a boolean",
        FieldType::Date => "a date string (YYYY-MM-DD)",
        FieldType::DateTime => "a date-time string (RFC 3339)",
        FieldType::Object => "an object",
        FieldType::Array => "an array",
    }
}

/// Whether `value` has type `ty` (null never does).
pub(crate) fn check_type(ty: FieldType, value: &Value) -> Result<(), TypeProblem> {
    let wrong = Err(TypeProblem::WrongType(ty));
    match (ty, value) {
        (_, Value::Null) => Err(TypeProblem::Null),
        (FieldType::String, Value::String(_))
        | (FieldType::Number, Value::Number(_))
        | (FieldType::Boolean, Value::Bool(_))
        | (FieldType::Object, Value::Object(_))
        | (FieldType::Array, Value::Array(_)) => Ok(()),
        (FieldType::Integer, Value::Number(n)) => check_integer(n),
        (FieldType::Date, Value::String(s)) => {
            if formats::is_date(s) {
                Ok(())
            } else {
                Err(TypeProblem::BadDate)
            }
        }
        (FieldType::DateTime, Value::String(s)) => {
            if formats::is_datetime(s) {
                Ok(())
            } else {
                Err(TypeProblem::BadDateTime)
            }
        }
        _ => wrong,
    }
}

fn check_integer(n: &Number) -> Result<(), TypeProblem> {
    if n.is_i64() {
        return Ok(());
    }
    if n.is_u64() {
        return Err(TypeProblem::OutOfRange);
    }
    let Some(f) = n.as_f64() else {
        return Err(TypeProblem::OutOfRange);
    };
    if !f.is_finite() {
        Err(TypeProblem::OutOfRange)
    } else if f.fract() != 0.0 {
        Err(TypeProblem::Fraction)
    } else if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        Err(TypeProblem::OutOfRange)
    } else {
        Ok(())
    }
}

/// Orders two JSON numbers: exactly for integers, by `f64` otherwise.
pub(crate) fn compare_numbers(a: &Number, b: &Number) -> Ordering {
    if let (Some(x), Some(y)) = (as_i128(a), as_i128(b)) {
        return x.cmp(&y);
    }
    let x = a.as_f64().unwrap_or(f64::NAN);
    let y = b.as_f64().unwrap_or(f64::NAN);
    x.partial_cmp(&y).unwrap_or(Ordering::Equal)
}

fn as_i128(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

/// Equality of two scalars as an `enum` sees it (numbers compare by value: `1` equals `1.0`).
pub(crate) fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Ordering::Equal,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => false,
    }
}

/// Every violation of one present value against its field (the sample generator's filter).
#[cfg(feature = "samples")]
pub(crate) fn check_field_value(field: &Field, value: &Value) -> Violations {
    let mut out = Violations::new();
    check_value(field, value, &mut out);
    out
}

/// Checks one present value against its field, pushing every violation.
fn check_value(field: &Field, value: &Value, out: &mut Violations) {
    let name = &field.name;
    if value.is_null() {
        if !field.nullable {
            out.push(Violation::new(
                name.clone(),
                ViolationCode::Null,
                format!(
                    "{name} must not be null (expected {})",
                    a_type(field.field_type)
                ),
            ));
        }
        return;
    }
    if let Err(problem) = check_type(field.field_type, value) {
        out.push(Violation::new(
            name.clone(),
            problem.code(),
            format!("{name} {}", problem.describe(value, field.secret)),
        ));
        return;
    }
    match value {
        Value::Number(n) => check_bounds(field, n, value, out),
        Value::String(s) => check_string(field, s, value, out),
        Value::Array(items) => {
            check_length(field, items.len() as u64, "items", out);
            if nesting_exceeds(value, MAX_DEPTH - 1) {
                out.push(too_deep(name));
            }
        }
        Value::Object(_) => {
            if nesting_exceeds(value, MAX_DEPTH - 1) {
                out.push(too_deep(name));
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
    if let Some(allowed) = &field.enum_values
        && !allowed.iter().any(|a| scalar_eq(a, value))
    {
        out.push(Violation::new(
            name.clone(),
            ViolationCode::Enum,
            format!(
                "{name} must be one of {}, found {}",
                list_values(allowed),
                found(value, field.secret)
            ),
        ));
    }
}

fn check_bounds(field: &Field, n: &Number, value: &Value, out: &mut Violations) {
    let name = &field.name;
    if let Some(min) = &field.min
        && compare_numbers(n, min) == Ordering::Less
    {
        out.push(Violation::new(
            name.clone(),
            ViolationCode::Min,
            format!(
                "{name} must be at least {min}, found {}",
                found(value, field.secret)
            ),
        ));
    }
    if let Some(max) = &field.max
        && compare_numbers(n, max) == Ordering::Greater
    {
        out.push(Violation::new(
            name.clone(),
            ViolationCode::Max,
            format!(
                "{name} must be at most {max}, found {}",
                found(value, field.secret)
            ),
        ));
    }
}

fn check_string(field: &Field, s: &str, value: &Value, out: &mut Violations) {
    let name = &field.name;
    if field.min_length.is_some() || field.max_length.is_some() {
        // Characters never outnumber bytes: a string whose byte length is within max_length
        // needs no counting for the max.
        let needs_count = field.min_length.is_some()
            || field.max_length.is_some_and(|max| (s.len() as u64) > max);
        let chars = if needs_count {
            s.chars().count() as u64
        } else {
            s.len() as u64
        };
        check_length(field, chars, "characters", out);
    }
    if let Some(regex) = &field.regex
        && !regex.is_match(s)
    {
        let pattern = field.pattern.as_deref().unwrap_or_default();
        out.push(Violation::new(
            name.clone(),
            ViolationCode::Pattern,
            format!(
                "{name} must match the pattern {}, found {}",
                quote(pattern),
                found(value, field.secret)
            ),
        ));
    }
    if let Some(format) = field.format {
        let (ok, expected) = match format {
            Format::Email => (
                formats::is_email(s),
                "an email address like name@example.com",
            ),
            Format::Url => (
                formats::is_url(s),
                "an absolute URL like https://example.com/path",
            ),
            Format::Uuid => (
                formats::is_uuid(s),
                "a UUID like 123e4567-e89b-12d3-a456-426614174000",
            ),
        };
        if !ok {
            out.push(Violation::new(
                name.clone(),
                ViolationCode::Format,
                format!(
                    "{name} must be {expected}, found {}",
                    found(value, field.secret)
                ),
            ));
        }
    }
}

/// Checks a length (characters of a string, items of an array) against min/max_length. The
/// length found is not reported for secret fields.
fn check_length(field: &Field, len: u64, unit: &str, out: &mut Violations) {
    let name = &field.name;
    let message = |bound: &str, limit: u64| {
        if field.secret {
            format!("{name} must have {bound} {limit} {unit}")
        } else {
            format!("{name} must have {bound} {limit} {unit}, found {len}")
        }
    };
    if let Some(min) = field.min_length
        && len < min
    {
        out.push(Violation::new(
            name.clone(),
            ViolationCode::MinLength,
            message("at least", min),
        ));
    }
    if let Some(max) = field.max_length
        && len > max
    {
        out.push(Violation::new(
            name.clone(),
            ViolationCode::MaxLength,
            message("at most", max),
        ));
    }
}
