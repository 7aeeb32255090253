//! Per-resource schemas and server-side validation.
//!
//! This module is the one seam between the sandbox and `dbsync-validate`.

use serde_json::{Map, Value};

use crate::error::ErrorDetail;

/// Finds the id of a stored record that already holds `value` in unique field `field`.
pub(crate) trait OwnerLookup {
    fn owner(&self, field: &str, value: &Value) -> Option<u64>;
}

/// A resource's schema: the JSON document served at `/schema` plus what validation needs.
#[derive(Debug, Clone)]
pub(crate) struct ResourceSchema {
    doc: Value,
    fields: Vec<Map<String, Value>>,
    additional_fields: bool,
}

impl ResourceSchema {
    /// Reads a schema in the contract's JSON shape.
    pub fn from_json(doc: Value) -> Result<Self, String> {
        let list = doc
            .get("fields")
            .and_then(Value::as_array)
            .ok_or("a schema needs a \"fields\" array")?;
        let mut fields = Vec::new();
        for field in list {
            let object = field
                .as_object()
                .filter(|o| o.get("name").and_then(Value::as_str).is_some())
                .ok_or("every schema field needs a \"name\"")?;
            fields.push(object.clone());
        }
        let additional_fields = doc
            .get("additional_fields")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Self {
            doc,
            fields,
            additional_fields,
        })
    }

    /// The schema document served at `GET /v1/{resource}/schema`.
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    fn name(field: &Map<String, Value>) -> &str {
        field.get("name").and_then(Value::as_str).unwrap_or("")
    }

    fn flag(field: &Map<String, Value>, key: &str) -> bool {
        field.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    /// Whether `name` is a field of this schema.
    pub fn has_field(&self, name: &str) -> bool {
        self.fields.iter().any(|f| Self::name(f) == name)
    }

    /// The names of the fields marked `unique`.
    pub fn unique_fields(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| Self::flag(f, "unique"))
            .map(|f| Self::name(f).to_string())
            .collect()
    }

    /// Every violation of `record` (a full record, without read-only fields).
    pub fn validate(
        &self,
        record: &Map<String, Value>,
        lookup: &dyn OwnerLookup,
    ) -> Vec<ErrorDetail> {
        let mut details = Vec::new();
        let mut push = |field: &str, message: String| {
            details.push(ErrorDetail {
                field: field.to_string(),
                message,
            })
        };
        if !self.additional_fields {
            for key in record.keys() {
                if !self.has_field(key) {
                    push(key, "is not a field of this resource".into());
                }
            }
        }
        for field in &self.fields {
            let name = Self::name(field);
            let value = match record.get(name) {
                None => {
                    if Self::flag(field, "required") {
                        push(name, "is required".into());
                    }
                    continue;
                }
                Some(Value::Null) => {
                    if !Self::flag(field, "nullable") {
                        push(name, "must not be null".into());
                    }
                    continue;
                }
                Some(v) => v,
            };
            let ty = field
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("string");
            let type_ok = match ty {
                "string" | "date" | "datetime" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                "object" => value.is_object(),
                "array" => value.is_array(),
                _ => true,
            };
            if !type_ok {
                push(name, format!("must be of type {ty}"));
                continue;
            }
            if let Some(allowed) = field.get("enum").and_then(Value::as_array)
                && !allowed.contains(value)
            {
                push(name, "is not one of the allowed values".into());
            }
            if let Some(n) = value.as_f64() {
                if let Some(min) = field.get("min").and_then(Value::as_f64)
                    && n < min
                {
                    push(name, format!("must be at least {min}"));
                }
                if let Some(max) = field.get("max").and_then(Value::as_f64)
                    && n > max
                {
                    push(name, format!("must be at most {max}"));
                }
            }
            if let Some(s) = value.as_str() {
                let len = s.chars().count() as u64;
                if let Some(min) = field.get("min_length").and_then(Value::as_u64)
                    && len < min
                {
                    push(name, format!("must be at least {min} characters"));
                }
                if let Some(max) = field.get("max_length").and_then(Value::as_u64)
                    && len > max
                {
                    push(name, format!("must be at most {max} characters"));
                }
                if field.get("format").and_then(Value::as_str) == Some("email") && !s.contains('@')
                {
                    push(name, "must be an email address".into());
                }
            }
            if Self::flag(field, "unique") && lookup.owner(name, value).is_some() {
                push(
                    name,
                    "must be unique: another record already has this value".into(),
                );
            }
        }
        details
    }
}
