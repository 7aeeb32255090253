//! [`Schema::to_json_schema`]: the schema as a JSON Schema (draft 2020-12) of a record as the
//! server returns it. The mapping and where it differs from [`Schema::validate`] are in
//! `docs/schema-tools.md`.

use serde_json::{Map, Number, Value, json};

use crate::check::compare_numbers;
use crate::schema::{Field, FieldType, Format, Schema};

/// The fields the server sets on every record and a create may not send: the record's `id`,
/// `created_at` and `updated_at` (contract: "read-only"). A schema does not list them;
/// [`Schema::to_json_schema`] and [`Schema::to_rust_struct`](crate::Schema::to_rust_struct)
/// describe them as read-only.
pub const SERVER_FIELDS: [&str; 3] = ["id", "created_at", "updated_at"];

/// The `$schema` URI written by [`Schema::to_json_schema`].
pub const JSON_SCHEMA_DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Our `email` format as an ECMA-262 pattern: a dot-atom local part of at most 64 characters,
/// a domain of at least two labels (letters, digits, inner hyphens, at most 63 characters
/// each), at most 254 characters in all. JSON Schema's `email` (RFC 5321) also takes quoted
/// local parts, address literals and one-label domains, and refuses non-ASCII letters.
pub(crate) const EMAIL_PATTERN: &str = concat!(
    r"^(?=.{1,254}$)(?=[^@]{1,64}@)",
    r"[\p{Alphabetic}\p{N}!#$%&'*+\-/=?^_`{|}~]+(?:\.[\p{Alphabetic}\p{N}!#$%&'*+\-/=?^_`{|}~]+)*",
    r"@[\p{Alphabetic}\p{N}](?:[\p{Alphabetic}\p{N}\-]{0,61}[\p{Alphabetic}\p{N}])?",
    r"(?:\.[\p{Alphabetic}\p{N}](?:[\p{Alphabetic}\p{N}\-]{0,61}[\p{Alphabetic}\p{N}])?)+$"
);

/// Our `url` format as an ECMA-262 pattern: `scheme://[userinfo@]host[:port][/path...]` with a
/// domain, IPv4 or bracketed IPv6 host and no whitespace, control characters or
/// `<>"\^`{|}`. JSON Schema's `uri` (RFC 3986) also takes URIs without an authority
/// (`mailto:`), and refuses non-ASCII hosts.
pub(crate) const URL_PATTERN: &str = concat!(
    r#"^(?!.*[\p{White_Space}\p{Cc}<>"\\^`{|}])[A-Za-z][A-Za-z0-9+.\-]*://(?:[^/?#]*@)?"#,
    r"(?:[\p{Alphabetic}\p{N}](?:[\p{Alphabetic}\p{N}\-]{0,61}[\p{Alphabetic}\p{N}])?",
    r"(?:\.[\p{Alphabetic}\p{N}](?:[\p{Alphabetic}\p{N}\-]{0,61}[\p{Alphabetic}\p{N}])?)*",
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{0,5})?(?:[/?#].*)?$"
);

impl Schema {
    /// A JSON Schema (draft 2020-12) that accepts a record as the server returns it: the
    /// record's fields with their types, formats and constraints, `required`, and
    /// `additionalProperties` from `additional_fields`, plus the read-only [`SERVER_FIELDS`]
    /// (`"readOnly": true`, not required). A validator must assert `format` (in the `jsonschema`
    /// crate, `should_validate_formats(true)`) for `date` and `datetime` fields.
    ///
    /// For a record without the server fields it accepts exactly what [`Schema::validate`]
    /// accepts, except for `unique` (needs other records), nesting deeper than
    /// [`MAX_DEPTH`](crate::MAX_DEPTH), leap seconds, and the dialect differences of
    /// `pattern`; `docs/schema-tools.md` lists them.
    ///
    /// ```
    /// use dbsync_validate::{Field, Format, Schema};
    /// use serde_json::json;
    ///
    /// let schema = Schema::builder()
    ///     .field(Field::string("email").required().format(Format::Email))
    ///     .field(Field::integer("age").min(0).nullable())
    ///     .build()?;
    /// let js = schema.to_json_schema();
    /// assert_eq!(js["$schema"], "https://json-schema.org/draft/2020-12/schema");
    /// assert_eq!(js["required"], json!(["email"]));
    /// assert_eq!(js["properties"]["age"]["type"], json!(["integer", "null"]));
    /// assert_eq!(js["properties"]["age"]["minimum"], 0);
    /// assert_eq!(js["properties"]["id"]["readOnly"], true);
    /// assert_eq!(js["additionalProperties"], false);
    /// # Ok::<(), dbsync_validate::SchemaError>(())
    /// ```
    pub fn to_json_schema(&self) -> Value {
        self.json_schema(FormatRules::Patterns)
    }

    /// The JSON Schema of [`Schema::to_json_schema`] for consumers whose regular expressions
    /// lack Unicode property classes: the `email` and `url` formats are `"format": "email"`
    /// and `"format": "uri"` instead of patterns built on `\p{Alphabetic}` and `\p{N}`, which
    /// Python's `re` (Python Singer targets, Airbyte's Python destinations) and ECMA-262
    /// without the `u` flag cannot compile. A field's own `pattern` is kept as it is.
    ///
    /// The Singer and Airbyte catalogs use this one. It accepts every record
    /// [`Schema::to_json_schema`] accepts; with `format` asserted, `email` and `uri` are the
    /// JSON Schema formats, which differ from DBSync's at the edges (`docs/schema-tools.md`).
    ///
    /// ```
    /// use dbsync_validate::{Field, Format, Schema};
    ///
    /// let schema = Schema::builder()
    ///     .field(Field::string("email").required().format(Format::Email))
    ///     .build()?;
    /// let js = schema.to_portable_json_schema();
    /// assert_eq!(js["properties"]["email"]["format"], "email");
    /// assert!(js["properties"]["email"].get("pattern").is_none());
    /// # Ok::<(), dbsync_validate::SchemaError>(())
    /// ```
    pub fn to_portable_json_schema(&self) -> Value {
        self.json_schema(FormatRules::Annotations)
    }

    fn json_schema(&self, formats: FormatRules) -> Value {
        let mut properties = Map::new();
        for field in self.fields() {
            let mut property = field_schema(field, formats);
            if SERVER_FIELDS.contains(&field.name()) {
                property.insert("readOnly".into(), Value::Bool(true));
            }
            properties.insert(field.name().to_owned(), Value::Object(property));
        }
        for name in SERVER_FIELDS {
            if !properties.contains_key(name) {
                properties.insert(name.to_owned(), server_field(name));
            }
        }
        let required: Vec<Value> = self
            .fields()
            .iter()
            .filter(|f| f.is_required())
            .map(|f| Value::String(f.name().to_owned()))
            .collect();
        let mut schema = Map::new();
        schema.insert("$schema".into(), JSON_SCHEMA_DIALECT.into());
        schema.insert("type".into(), "object".into());
        schema.insert("properties".into(), Value::Object(properties));
        if !required.is_empty() {
            schema.insert("required".into(), Value::Array(required));
        }
        schema.insert(
            "additionalProperties".into(),
            Value::Bool(self.additional_fields()),
        );
        Value::Object(schema)
    }
}

/// How the `email` and `url` formats are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FormatRules {
    /// As patterns that accept exactly what DBSync accepts.
    Patterns,
    /// As the JSON Schema formats `email` and `uri`, portable to every regex dialect.
    Annotations,
}

/// The description of a server field the schema does not list.
fn server_field(name: &str) -> Value {
    if name == "id" {
        json!({"type": ["string", "integer"], "readOnly": true})
    } else {
        json!({"type": "string", "format": "date-time", "readOnly": true})
    }
}

/// The JSON Schema type name of a field type.
fn json_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String | FieldType::Date | FieldType::DateTime => "string",
        FieldType::Integer => "integer",
        FieldType::Number => "number",
        FieldType::Boolean => "boolean",
        FieldType::Object => "object",
        FieldType::Array => "array",
    }
}

/// One field's subschema.
fn field_schema(field: &Field, formats: FormatRules) -> Map<String, Value> {
    let mut out = Map::new();
    let ty = field.field_type();
    let name = Value::String(json_type(ty).to_owned());
    out.insert(
        "type".into(),
        if field.is_nullable() {
            json!([name, "null"])
        } else {
            name
        },
    );
    match ty {
        FieldType::Date => {
            out.insert("format".into(), "date".into());
        }
        FieldType::DateTime => {
            out.insert("format".into(), "date-time".into());
        }
        _ => {}
    }
    numeric_bounds(field, &mut out);
    let (min_key, max_key) = if ty == FieldType::Array {
        ("minItems", "maxItems")
    } else {
        ("minLength", "maxLength")
    };
    if let Some(n) = field.min_length_value() {
        out.insert(min_key.into(), n.into());
    }
    if let Some(n) = field.max_length_value() {
        out.insert(max_key.into(), n.into());
    }
    let format_pattern = match field.format_value() {
        None => None,
        Some(Format::Uuid) => {
            out.insert("format".into(), "uuid".into());
            None
        }
        Some(Format::Email) if formats == FormatRules::Annotations => {
            out.insert("format".into(), "email".into());
            None
        }
        Some(Format::Url) if formats == FormatRules::Annotations => {
            out.insert("format".into(), "uri".into());
            None
        }
        Some(Format::Email) => Some(EMAIL_PATTERN),
        Some(Format::Url) => Some(URL_PATTERN),
    };
    match (field.pattern_source(), format_pattern) {
        (Some(own), Some(format)) => {
            out.insert("pattern".into(), own.into());
            out.insert("allOf".into(), json!([{"pattern": format}]));
        }
        (Some(pattern), None) | (None, Some(pattern)) => {
            out.insert("pattern".into(), pattern.into());
        }
        (None, None) => {}
    }
    if let Some(values) = field.allowed_values() {
        let mut values = values.to_vec();
        if field.is_nullable() {
            values.push(Value::Null);
        }
        out.insert("enum".into(), Value::Array(values));
    }
    out
}

/// `minimum`/`maximum` from `min`/`max`; an integer field is also held to the `i64` range that
/// [`Schema::validate`] requires.
fn numeric_bounds(field: &Field, out: &mut Map<String, Value>) {
    let mut minimum = field.min_value().cloned();
    if field.field_type() == FieldType::Integer {
        let floor = Number::from(i64::MIN);
        minimum = Some(match minimum {
            Some(min) if compare_numbers(&min, &floor).is_gt() => min,
            _ => floor,
        });
        // 2^63, exclusive: the largest integer that is not an i64.
        out.insert("exclusiveMaximum".into(), Value::from(1u64 << 63));
    }
    if let Some(min) = minimum {
        out.insert("minimum".into(), Value::Number(min));
    }
    if let Some(max) = field.max_value() {
        out.insert("maximum".into(), Value::Number(max.clone()));
    }
}
