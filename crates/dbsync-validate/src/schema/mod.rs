//! [`Schema`]: the fields a record must have and whether other fields are allowed.
//!
//! A schema is read from the contract's JSON (`{"fields":[...], "additional_fields": false}`) or
//! built in code; both paths end in the same checks ([`SchemaBuilder::build`]), and
//! [`Schema::to_json`] writes the JSON back.
//!
//! - `types`: [`FieldType`] and [`Format`], the type and format names of the contract.
//! - `field`: [`Field`], one field's type and constraints, chained in code ([`Limit`]).
//! - `builder`: [`SchemaBuilder`], which checks the fields and makes the [`Schema`].
//! - `json`: reading and writing the contract's schema JSON (and serde).
//! - `limits`: [`SchemaLimits`], the size and cost limits of a schema read from a server.

mod builder;
mod field;
mod json;
mod limits;
mod types;

use std::collections::HashMap;
use std::fmt;

pub use builder::SchemaBuilder;
pub use field::{Field, Limit};
pub use limits::SchemaLimits;
pub use types::{FieldType, Format};

/// Longest accepted field name, in characters.
pub const MAX_FIELD_NAME_CHARS: usize = 128;

/// Compiled size limit of one `pattern` (bytes of the compiled program). A pattern that needs more
/// is refused with [`SchemaError::InvalidPattern`](crate::SchemaError::InvalidPattern) instead of
/// using unbounded memory.
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;

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
