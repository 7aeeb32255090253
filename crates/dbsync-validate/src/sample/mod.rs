//! [`Samples`]: seeded sample records for a schema, valid ones and invalid ones that each carry
//! one named violation (feature `samples`).
//!
//! - `values`: a valid value for one field (every type, format and constraint).
//! - `pattern`: a string matching a `pattern`, drawn from its parsed form.
//! - `invalid`: a value that breaks exactly one constraint of a field.

mod invalid;
mod pattern;
mod values;

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

use crate::json_schema::SERVER_FIELDS;
use crate::schema::{Field, Schema};
use crate::violation::ViolationCode;

/// How many candidates are drawn for one field before it counts as unsatisfiable.
pub const MAX_TRIES: usize = 200;

/// Longest string or array the generator makes, in characters or items: a `min_length` above it
/// is a [`SampleError::Unsatisfiable`].
pub const MAX_GENERATED_LEN: u64 = 4_096;

/// A record that fails [`Schema::validate`] with exactly one violation: `code` on `field`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InvalidSample {
    /// The record (a JSON object).
    pub record: Value,
    /// The field the violation names (an unknown field's key for
    /// [`ViolationCode::UnknownField`]).
    pub field: String,
    /// The violation the record carries.
    pub code: ViolationCode,
}

/// Why no sample could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SampleError {
    /// No value was found for a field within [`MAX_TRIES`] candidates: its constraints
    /// contradict each other (a `pattern` no string of the allowed length matches, a `unique`
    /// field whose values ran out, ...).
    #[error("no valid value found for field `{field}` in {tries} tries: {reason}")]
    Unsatisfiable {
        /// The field.
        field: String,
        /// How many candidates were tried.
        tries: usize,
        /// What made it hard.
        reason: String,
    },
    /// The schema has nothing to break: no fields with constraints, and additional fields
    /// allowed.
    #[error("the schema accepts every object, so no invalid record can be made")]
    NothingToBreak,
}

/// Seeded sample records for a schema: [`valid`](Samples::valid) records that pass
/// [`Schema::validate`], and [`invalid`](Samples::invalid) ones that each carry one named
/// violation. The same schema and seed give the same records.
///
/// Valid records hold every required field; optional fields are sometimes absent, nullable
/// ones sometimes `null`; with `additional_fields`, sometimes an extra field (never one of the
/// [`SERVER_FIELDS`](crate::SERVER_FIELDS)). Values of `unique` fields differ across all records
/// of one `Samples` (it remembers them: memory grows by one value per unique field per record).
///
/// ```
/// use dbsync_validate::{Field, Format, Samples, Schema};
///
/// let schema = Schema::builder()
///     .field(Field::string("email").required().unique().format(Format::Email))
///     .field(Field::integer("age").min(0).max(150))
///     .field(Field::string("code").pattern("^[A-Z]{2}-[0-9]{4}$"))
///     .build()?;
/// let mut samples = Samples::new(&schema, 42);
/// for _ in 0..100 {
///     let record = samples.valid()?;
///     assert!(schema.validate(&record).is_ok());
///     let bad = samples.invalid()?;
///     let violations = schema.validate(&bad.record).unwrap_err();
///     assert_eq!(violations.len(), 1);
///     assert_eq!(violations.as_slice()[0].code, bad.code);
///     assert_eq!(violations.as_slice()[0].field, bad.field);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Samples<'s> {
    schema: &'s Schema,
    rng: StdRng,
    /// How many records were made; mixed into unique values.
    count: u64,
    /// Per field: the parsed `pattern`, if any.
    patterns: Vec<Option<regex_syntax::hir::Hir>>,
    /// Per field: the values handed out so far, for `unique` fields.
    used: Vec<HashSet<String>>,
}

impl<'s> Samples<'s> {
    /// A generator for `schema`, seeded with `seed`.
    pub fn new(schema: &'s Schema, seed: u64) -> Samples<'s> {
        let patterns = schema
            .fields()
            .iter()
            .map(|f| f.pattern_source().and_then(pattern::parse))
            .collect();
        Samples {
            schema,
            rng: StdRng::seed_from_u64(seed),
            count: 0,
            patterns,
            used: vec![HashSet::new(); schema.fields().len()],
        }
    }

    /// A record that passes [`Schema::validate`].
    pub fn valid(&mut self) -> Result<Value, SampleError> {
        let schema = self.schema;
        let mut record = Map::new();
        for (index, field) in schema.fields().iter().enumerate() {
            if !field.is_required() && self.rng.random_ratio(1, 4) {
                continue;
            }
            let value = if field.is_nullable() && self.rng.random_ratio(1, 6) {
                Value::Null
            } else {
                self.unique_value(index, field)?
            };
            record.insert(field.name().to_owned(), value);
        }
        if schema.additional_fields() && self.rng.random_ratio(1, 4) {
            let name = self.extra_name("extra");
            record.insert(name, Value::from(self.rng.random_range(0..1000)));
        }
        self.count += 1;
        Ok(Value::Object(record))
    }

    /// A record that fails [`Schema::validate`] with exactly one violation, named in the result.
    /// Every kind that applies to the schema is drawn: `required`, `null`, `type`, `format`,
    /// `min`, `max`, `min_length`, `max_length`, `pattern`, `enum` and `unknown_field`
    /// (`unique` needs other records and is not made).
    pub fn invalid(&mut self) -> Result<InvalidSample, SampleError> {
        let schema = self.schema;
        let Value::Object(mut record) = self.valid()? else {
            return Err(SampleError::NothingToBreak);
        };
        let mut kinds = invalid::kinds(schema);
        while !kinds.is_empty() {
            let (index, code) = kinds.swap_remove(self.rng.random_range(0..kinds.len()));
            let Some(index) = index else {
                let name = self.extra_name("unknown");
                record.insert(name.clone(), Value::Bool(true));
                return Ok(sample(record, name, code));
            };
            let field = &schema.fields()[index];
            let name = field.name().to_owned();
            if code == ViolationCode::Required {
                record.remove(&name);
                return Ok(sample(record, name, code));
            }
            if let Some(value) = invalid::breaking_value(self, index, &code) {
                record.insert(name.clone(), value);
                return Ok(sample(record, name, code));
            }
        }
        Err(SampleError::NothingToBreak)
    }

    /// A field name that is neither in the schema nor a server field.
    fn extra_name(&mut self, stem: &str) -> String {
        let mut n = self.count;
        loop {
            let name = format!("{stem}_{n}");
            if self.schema.field(&name).is_none() && !SERVER_FIELDS.contains(&name.as_str()) {
                return name;
            }
            n = n.wrapping_add(1);
        }
    }

    /// A valid value for field `index`, not handed out before if the field is unique.
    fn unique_value(&mut self, index: usize, field: &Field) -> Result<Value, SampleError> {
        for attempt in 0..MAX_TRIES {
            let Some(value) = values::candidate(self, field, index, attempt) else {
                continue;
            };
            if !crate::check::check_field_value(field, &value).is_empty() {
                continue;
            }
            if field.is_unique() && !self.used[index].insert(unique_key(&value)) {
                continue;
            }
            return Ok(value);
        }
        Err(SampleError::Unsatisfiable {
            field: field.name().to_owned(),
            tries: MAX_TRIES,
            reason: if field.is_unique() {
                "its constraints allow no value, or no value not used already".to_owned()
            } else {
                "its constraints allow no value the generator finds".to_owned()
            },
        })
    }
}

fn sample(record: Map<String, Value>, field: String, code: ViolationCode) -> InvalidSample {
    InvalidSample {
        record: Value::Object(record),
        field,
        code,
    }
}

/// The key under which a unique value is remembered (numbers by value: `1` and `1.0` are one).
fn unique_key(value: &Value) -> String {
    match value {
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => (f as i64).to_string(),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}
