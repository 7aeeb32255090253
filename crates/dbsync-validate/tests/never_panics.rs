//! Property tests: arbitrary schemas and arbitrary records never make the crate panic.

use dbsync_validate::{BatchOptions, Schema};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("2024-02-29"),
            Just("2026-02-30"),
            Just("2026-11-27T20:52:28Z"),
            Just("a@b.co"),
            Just("https://x.org"),
            Just("123e4567-e89b-12d3-a456-426614174000"),
            Just("active"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop_oneof![
            Just("a"),
            Just("b"),
            Just("email"),
            Just("password"),
            Just("n")
        ]
        .prop_map(str::to_owned),
        "\\PC{0,6}",
    ]
}

fn type_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop_oneof![
            Just("string"),
            Just("integer"),
            Just("number"),
            Just("boolean"),
            Just("date"),
            Just("datetime"),
            Just("object"),
            Just("array"),
        ]
        .prop_map(Value::from),
        json_value(),
    ]
}

/// A field definition with a random subset of members, each usually well-formed.
fn field_json() -> impl Strategy<Value = Value> {
    let constraint = prop_oneof![
        any::<bool>().prop_map(|b| ("required", json!(b))),
        any::<bool>().prop_map(|b| ("nullable", json!(b))),
        any::<bool>().prop_map(|b| ("unique", json!(b))),
        (-100i64..100).prop_map(|n| ("min", json!(n))),
        (-100i64..100).prop_map(|n| ("max", json!(n))),
        (0u64..20).prop_map(|n| ("min_length", json!(n))),
        (0u64..20).prop_map(|n| ("max_length", json!(n))),
        prop_oneof![Just("^[a-z]+$"), Just("(unclosed"), Just("\\d"), Just("")]
            .prop_map(|p| ("pattern", json!(p))),
        prop::collection::vec(json_value(), 0..4).prop_map(|v| ("enum", Value::Array(v))),
        prop_oneof![Just("email"), Just("url"), Just("uuid"), Just("nope")]
            .prop_map(|f| ("format", json!(f))),
        json_value().prop_map(|v| ("min", v)),
    ];
    (
        field_name(),
        type_name(),
        prop::collection::vec(constraint, 0..4),
    )
        .prop_map(|(name, ty, constraints)| {
            let mut m = Map::new();
            m.insert("name".into(), Value::String(name));
            m.insert("type".into(), ty);
            for (k, v) in constraints {
                m.insert(k.into(), v);
            }
            Value::Object(m)
        })
}

fn schema_json() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(field_json(), 0..5),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(fields, additional)| {
            let mut m = Map::new();
            m.insert("fields".into(), Value::Array(fields));
            if let Some(a) = additional {
                m.insert("additional_fields".into(), Value::Bool(a));
            }
            Value::Object(m)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_schemas_and_records_never_panic(
        schema in schema_json(),
        records in prop::collection::vec(json_value(), 0..6),
        any_schema in json_value(),
    ) {
        let _ = Schema::from_json(&any_schema);
        if let Ok(schema) = Schema::from_json(&schema) {
            // A schema that was accepted writes back to JSON that reads back the same.
            prop_assert_eq!(&Schema::from_json(&schema.to_json()).unwrap(), &schema);
            for record in &records {
                for result in [schema.validate(record), schema.validate_partial(record)] {
                    if let Err(violations) = result {
                        prop_assert!(!violations.is_empty());
                        let _ = violations.to_error_body();
                    }
                }
            }
            let report = schema.validate_batch(&records, &BatchOptions::new());
            prop_assert_eq!(report.len(), records.len());
        }
    }

    #[test]
    fn records_matching_an_object_schema_shape_never_panic(
        record in prop::collection::btree_map(field_name(), json_value(), 0..8),
    ) {
        let schema = Schema::from_json(&json!({"fields": [
            {"name": "a", "type": "string", "max_length": 3, "pattern": "^[a-z]*$", "enum": ["ab", "abc"]},
            {"name": "b", "type": "integer", "min": -5, "max": 5, "unique": true},
            {"name": "n", "type": "number", "nullable": true},
            {"name": "email", "type": "string", "format": "email", "required": true},
            {"name": "password", "type": "string", "min_length": 8}
        ]})).unwrap();
        let record = Value::Object(record.into_iter().collect());
        let _ = schema.validate(&record);
        let _ = schema.validate_partial(&record);
    }
}
