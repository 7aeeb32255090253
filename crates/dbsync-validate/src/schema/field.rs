//! [`Field`]: one field's name, type and constraints, chained in code and read by accessors.

use regex::Regex;
use serde_json::{Number, Value};

use super::{FieldType, Format};
use crate::message::is_secret_name;

/// A numeric bound given to [`Field::min`] / [`Field::max`] in code.
///
/// Converts from the integer types and `f64`; a non-finite `f64` is refused by
/// [`SchemaBuilder::build`](crate::SchemaBuilder::build).
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

/// One field of a [`Schema`](crate::Schema): a name, a type and its constraints.
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
    pub(super) invalid: Option<(&'static str, String)>,
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
}
