//! Property-level selection: which properties of a stream a sync emits, read once per stream
//! from the catalog's property metadata (breadcrumb `["properties", NAME]`), then applied to the
//! stream's `SCHEMA` and to each `RECORD`.
//!
//! The rules of the Singer specification: `inclusion: automatic` is always emitted,
//! `unsupported` never; `available` (or no `inclusion`) follows `selected`, else
//! `selected-by-default`, else is emitted. A property without a metadata entry is emitted. The
//! key property and the replication key are always emitted (the state and the key need them).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::catalog::{KEY_PROPERTY, REPLICATION_KEY};
use crate::error::ConnectorError;

/// The properties a stream leaves out. Empty (the default): every property is emitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertySelection {
    dropped: BTreeSet<String>,
}

impl PropertySelection {
    /// Reads the property metadata of one catalog entry (`stream` names it in errors). A
    /// metadata entry that is not an object, a breadcrumb other than `[]`,
    /// `["properties", NAME]` or a nested property's (ignored: selection applies to top-level
    /// properties), a property listed twice, an unknown `inclusion` or a `selected`
    /// / `selected-by-default` that is not a boolean is a catalog error.
    pub fn from_entry(stream: &str, entry: &Value) -> Result<Self, ConnectorError> {
        let bad =
            |message: String| ConnectorError::Catalog(format!("stream `{stream}`: {message}"));
        let Some(metadata) = entry.get("metadata") else {
            return Ok(Self::default());
        };
        let metadata = metadata
            .as_array()
            .ok_or_else(|| bad("`metadata` is not an array".into()))?;
        let mut seen = BTreeSet::new();
        let mut dropped = BTreeSet::new();
        for (i, item) in metadata.iter().enumerate() {
            let item = item
                .as_object()
                .ok_or_else(|| bad(format!("metadata[{i}] is not an object")))?;
            let breadcrumb = item
                .get("breadcrumb")
                .and_then(Value::as_array)
                .ok_or_else(|| bad(format!("metadata[{i}] has no `breadcrumb` array")))?;
            let name = match breadcrumb.as_slice() {
                [] => continue,
                [Value::String(properties), Value::String(name)] if properties == "properties" => {
                    name
                }
                // A nested property (`["properties", "address", "properties", "street"]`):
                // selection applies to top-level properties only; Singer allows these entries.
                nested if is_nested_property(nested) => continue,
                _ => {
                    return Err(bad(format!(
                        "metadata[{i}]: breadcrumb {} is not [] or [\"properties\", NAME]",
                        short(&Value::Array(breadcrumb.clone()).to_string())
                    )));
                }
            };
            let what = format!("property `{}`", short(name));
            if !seen.insert(name.as_str()) {
                return Err(bad(format!("{what} has two metadata entries")));
            }
            let fields = item
                .get("metadata")
                .and_then(Value::as_object)
                .ok_or_else(|| bad(format!("{what}: its `metadata` is not an object")))?;
            if !is_emitted(fields).map_err(|m| bad(format!("{what}: {m}")))?
                && name != KEY_PROPERTY
                && name != REPLICATION_KEY
            {
                dropped.insert(name.clone());
            }
        }
        Ok(Self { dropped })
    }

    /// Whether every property is emitted (nothing to filter).
    pub fn is_all(&self) -> bool {
        self.dropped.is_empty()
    }

    /// Whether `property` is emitted. A property the metadata does not deselect is, including
    /// one the catalog's schema does not list.
    pub fn emits(&self, property: &str) -> bool {
        !self.dropped.contains(property)
    }

    /// The stream's JSON Schema without the left-out properties (in `properties` and
    /// `required`).
    pub fn schema(&self, mut schema: Value) -> Value {
        if self.is_all() {
            return schema;
        }
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            properties.retain(|name, _| self.emits(name));
        }
        if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
            required.retain(|name| name.as_str().is_none_or(|name| self.emits(name)));
        }
        schema
    }

    /// Removes the left-out fields from a record (in place; other values are not touched).
    pub fn record(&self, record: &mut Value) {
        if let Some(fields) = record.as_object_mut() {
            remove_all(fields, &self.dropped);
        }
    }
}

fn remove_all(fields: &mut Map<String, Value>, dropped: &BTreeSet<String>) {
    for name in dropped {
        fields.remove(name);
    }
}

/// The rules for one property's metadata fields.
fn is_emitted(fields: &Map<String, Value>) -> Result<bool, String> {
    let flag = |key: &str| match fields.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(format!(
            "`{key}` must be true or false, not {}",
            kind(other)
        )),
    };
    let selected = flag("selected")?;
    let by_default = flag("selected-by-default")?;
    match fields.get("inclusion") {
        Some(Value::String(s)) if s == "automatic" => Ok(true),
        Some(Value::String(s)) if s == "unsupported" => Ok(false),
        None => Ok(selected.or(by_default).unwrap_or(true)),
        Some(Value::String(s)) if s == "available" => Ok(selected.or(by_default).unwrap_or(true)),
        Some(other) => Err(format!(
            "inclusion {} is not automatic, available or unsupported",
            short(&other.to_string())
        )),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// At most 64 characters of a name from the catalog, for an error message.
fn short(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Whether `breadcrumb` is a nested property's: `["properties", A, "properties", B, ...]`, all
/// strings, at least two levels deep.
fn is_nested_property(breadcrumb: &[Value]) -> bool {
    breadcrumb.len() >= 4
        && breadcrumb.len().is_multiple_of(2)
        && breadcrumb.chunks(2).all(|pair| {
            matches!(pair, [Value::String(properties), Value::String(_)] if properties == "properties")
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry(properties: Value) -> Value {
        let mut metadata = vec![json!({"breadcrumb": [], "metadata": {"selected": true}})];
        for (name, fields) in properties.as_object().unwrap() {
            metadata.push(json!({"breadcrumb": ["properties", name], "metadata": fields}));
        }
        json!({"tap_stream_id": "records", "metadata": metadata})
    }

    fn emitted(fields: Value) -> bool {
        let selection = PropertySelection::from_entry("records", &entry(json!({"p": fields})));
        selection.unwrap().emits("p")
    }

    fn error(entry: &Value) -> String {
        PropertySelection::from_entry("records", entry)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn automatic_is_emitted_whatever_selected_says() {
        assert!(emitted(
            json!({"inclusion": "automatic", "selected": false})
        ));
        assert!(emitted(
            json!({"inclusion": "automatic", "selected-by-default": false})
        ));
    }

    #[test]
    fn unsupported_is_never_emitted() {
        assert!(!emitted(json!({"inclusion": "unsupported"})));
        assert!(!emitted(
            json!({"inclusion": "unsupported", "selected": true})
        ));
    }

    #[test]
    fn available_follows_selected_then_selected_by_default_then_true() {
        for inclusion in [json!({"inclusion": "available"}), json!({})] {
            let with = |extra: Value| {
                let mut fields = inclusion.clone();
                fields
                    .as_object_mut()
                    .unwrap()
                    .extend(extra.as_object().unwrap().clone());
                emitted(fields)
            };
            assert!(with(json!({"selected": true})));
            assert!(!with(json!({"selected": false})));
            assert!(with(
                json!({"selected": true, "selected-by-default": false})
            ));
            assert!(!with(
                json!({"selected": false, "selected-by-default": true})
            ));
            assert!(!with(json!({"selected-by-default": false})));
            assert!(with(json!({"selected-by-default": true})));
            assert!(with(json!({})));
        }
    }

    #[test]
    fn the_key_and_the_replication_key_are_never_dropped() {
        let selection = PropertySelection::from_entry(
            "records",
            &entry(json!({
                "id": {"inclusion": "unsupported", "selected": false},
                "updated_at": {"inclusion": "available", "selected": false},
                "email": {"inclusion": "available", "selected": false},
            })),
        )
        .unwrap();
        assert!(selection.emits("id") && selection.emits("updated_at"));
        assert!(!selection.emits("email"));
    }

    #[test]
    fn without_property_metadata_everything_is_emitted() {
        let none = json!({"tap_stream_id": "records"});
        assert!(
            PropertySelection::from_entry("records", &none)
                .unwrap()
                .is_all()
        );
        let top_only = entry(json!({}));
        let selection = PropertySelection::from_entry("records", &top_only).unwrap();
        assert!(selection.is_all());
        assert!(selection.emits("email"));
        let schema = json!({"properties": {"email": {}}, "required": ["email"]});
        assert_eq!(selection.schema(schema.clone()), schema);
    }

    #[test]
    fn schema_and_records_lose_only_the_dropped_properties() {
        let selection = PropertySelection::from_entry(
            "records",
            &entry(json!({
                "email": {"selected": false},
                "notes": {"inclusion": "unsupported"},
                "first_name": {"selected": true},
            })),
        )
        .unwrap();
        let schema = json!({
            "type": "object",
            "properties": {"id": {}, "updated_at": {}, "email": {}, "notes": {}, "first_name": {},
                           "last_name": {}},
            "required": ["email", "first_name", "last_name"],
        });
        assert_eq!(
            selection.schema(schema),
            json!({
                "type": "object",
                "properties": {"id": {}, "updated_at": {}, "first_name": {}, "last_name": {}},
                "required": ["first_name", "last_name"],
            })
        );
        // `extra` is not in the schema: the server returned it; it is emitted as before.
        let mut record = json!({"id": 1, "updated_at": "t", "email": "a@b.c", "notes": null,
                                "first_name": "A", "last_name": "B", "extra": 1});
        selection.record(&mut record);
        assert_eq!(
            record,
            json!({"id": 1, "updated_at": "t", "first_name": "A", "last_name": "B", "extra": 1})
        );
        let mut not_an_object = json!([1]);
        selection.record(&mut not_an_object);
        assert_eq!(not_an_object, json!([1]));
    }

    #[test]
    fn property_metadata_that_is_not_an_object_is_an_error() {
        let bad = json!({"metadata": [{"breadcrumb": ["properties", "email"], "metadata": false}]});
        let message = error(&bad);
        assert!(
            message.starts_with("catalog: stream `records`"),
            "{message}"
        );
        assert!(message.contains("property `email`: its `metadata` is not an object"));
        let bad = json!({"metadata": [{"breadcrumb": ["properties", "email"]}]});
        assert!(error(&bad).contains("is not an object"));
        let bad = json!({"metadata": ["email"]});
        assert!(error(&bad).contains("metadata[0] is not an object"));
        let bad = json!({"metadata": {"email": {}}});
        assert!(error(&bad).contains("`metadata` is not an array"));
    }

    #[test]
    fn nested_property_metadata_is_ignored() {
        let nested = json!({"metadata": [
            {"breadcrumb": ["properties", "address", "properties", "street"],
             "metadata": {"selected": false}},
        ]});
        let selection = PropertySelection::from_entry("records", &nested).unwrap();
        assert_eq!(selection, PropertySelection::default());
    }

    #[test]
    fn a_breadcrumb_other_than_properties_name_is_an_error() {
        for breadcrumb in [
            json!(["properties"]),
            json!(["properties", 3]),
            json!(["fields", "email"]),
            json!(["properties", "address", "properties"]),
            json!(["properties", "address", "fields", "street"]),
            json!("properties/email"),
        ] {
            let bad = json!({"metadata": [{"breadcrumb": breadcrumb, "metadata": {}}]});
            let message = error(&bad);
            assert!(message.contains("breadcrumb"), "{breadcrumb}: {message}");
        }
        let twice = entry(json!({}));
        let mut twice = twice;
        for _ in 0..2 {
            twice["metadata"]
                .as_array_mut()
                .unwrap()
                .push(json!({"breadcrumb": ["properties", "email"], "metadata": {}}));
        }
        assert!(error(&twice).contains("property `email` has two metadata entries"));
    }

    #[test]
    fn selected_that_is_not_a_boolean_is_an_error() {
        for fields in [
            json!({"selected": "false"}),
            json!({"selected": 0}),
            json!({"selected": null}),
            json!({"inclusion": "automatic", "selected": "yes"}),
            json!({"selected-by-default": "no"}),
        ] {
            let message = error(&entry(json!({"email": fields})));
            assert!(
                message.contains("property `email`: `selected")
                    && message.contains("true or false"),
                "{fields}: {message}"
            );
        }
        let message = error(&entry(json!({"email": {"inclusion": "sometimes"}})));
        assert!(
            message.contains("is not automatic, available or unsupported"),
            "{message}"
        );
    }
}
