//! `Schema::to_json_schema` against the `jsonschema` crate as an oracle: random schemas and
//! random records (valid and invalid) are accepted by `Schema::validate` exactly when the JSON
//! Schema accepts them.
//!
//! Left out on purpose, because the two differ by nature (docs/schema-tools.md, "What differs"):
//! - the server fields `id`, `created_at`, `updated_at`: the JSON Schema describes a record as
//!   the server returns it, `validate` a create body (`server_fields_differ_on_purpose` below);
//! - `unique`: needs other records, so neither checks it on one record (fields may be unique);
//! - leap seconds (`:60`) in `datetime`: JSON Schema takes them only at 23:59:60 UTC;
//! - nesting deeper than `MAX_DEPTH`: JSON Schema has no depth limit;
//! - `\d`, `\w`, `\s`, `\b` in a `pattern`: Unicode in `regex`, ASCII in ECMA-262, so patterns
//!   here use explicit ASCII classes;
//! - emails over 64/254 bytes and hosts over 253 bytes with non-ASCII letters (bytes here,
//!   characters in the pattern), and hosts over 253 characters (not in the pattern).

use std::collections::BTreeSet;

use dbsync_validate::{Field, FieldType, Schema, ViolationCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

mod common;
use common::{NAMES, Spec, TYPES, UNKNOWN, build, spec};

const STRINGS: &[&str] = &[
    "",
    "a",
    "abc",
    "ABC",
    "b",
    "hello world",
    "jörg",
    "٣",
    "AB-1234",
    "ab-12",
    "x\ny",
    " ",
    "ada@example.com",
    "first.last+tag@sub.example.co.uk",
    "a@b",
    "jörg@exämple.de",
    "\"x y\"@example.com",
    "a..b@example.com",
    "ada@example",
    "ada@-example.com",
    "ada@[127.0.0.1]",
    "https://example.com/x?q=1#f",
    "http://[::1]:8080/x",
    "http://localhost",
    "ftp://user@host:21/a%20b",
    "https://exämple.de/",
    "mailto:ada@example.com",
    "https://exa mple.com",
    "https://example.com:port",
    "https://exa<mple.com",
    "https:///path",
    "123e4567-e89b-12d3-a456-426614174000",
    "123E4567-E89B-12D3-A456-426614174000",
    "123e4567e89b12d3a456426614174000",
    "{123e4567-e89b-12d3-a456-426614174000}",
    "2026-02-28",
    "2024-02-29",
    "2026-02-29",
    "0000-01-01",
    "2026-1-01",
    "2026-11-27T20:52:28Z",
    "2026-11-27t20:52:28.5+01:00",
    "2026-11-27T20:52:28-05:30",
    "2026-11-27T20:52:28",
    "2026-02-30T00:00:00Z",
    "2026-11-27T20:52:28+24:00",
];

fn numbers() -> Vec<Value> {
    vec![
        json!(0),
        json!(1),
        json!(-1),
        json!(1.0),
        json!(1.5),
        json!(-0.5),
        json!(3),
        json!(10),
        json!(100),
        json!(1000),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(1u64 << 63),
        json!(1e20),
        json!(-1e20),
        json!(9.223_372_036_854_775e18),
    ]
}

/// A value for a field of type `ty`, from `pick`: mostly of the type, sometimes anything.
fn value(ty: FieldType, pick: (u8, usize, String)) -> Value {
    let (kind, index, text) = pick;
    let numbers = numbers();
    let any_pool = || -> Value {
        match index % 7 {
            0 => Value::Null,
            1 => json!(true),
            2 => numbers[index % numbers.len()].clone(),
            3 => json!(STRINGS[index % STRINGS.len()]),
            4 => json!([]),
            5 => json!({"a": 1}),
            _ => json!(text),
        }
    };
    if kind >= 7 {
        return any_pool();
    }
    match ty {
        FieldType::String | FieldType::Date | FieldType::DateTime => {
            if kind == 0 {
                json!(text)
            } else {
                json!(STRINGS[index % STRINGS.len()])
            }
        }
        FieldType::Integer | FieldType::Number => numbers[index % numbers.len()].clone(),
        FieldType::Boolean => json!(index % 2 == 0),
        FieldType::Object => match index % 3 {
            0 => json!({}),
            1 => json!({"k": [1, {"x": null}]}),
            _ => json!({"t": text}),
        },
        FieldType::Array => {
            let len = index % 7;
            Value::Array((0..len).map(|i| json!(i)).collect())
        }
    }
}

type Pick = (u8, usize, String);

/// Records drawn per schema (compiling the two validators costs more than checking a record).
const RECORDS_PER_SCHEMA: usize = 16;

/// One record as drawn: per field its presence and value, and unknown keys.
type RecordPicks = (Vec<(u8, Pick)>, Vec<(usize, Pick)>);

fn case() -> impl Strategy<Value = (Vec<Spec>, Vec<RecordPicks>, bool)> {
    (
        prop::collection::vec(spec(), 0..=NAMES.len()),
        any::<bool>(),
    )
        .prop_flat_map(|(specs, additional)| {
            let pick = || (0u8..10, any::<usize>(), "[a-zA-Z0-9@.:/ é-]{0,24}");
            let n = specs.len();
            let record = (
                prop::collection::vec((0u8..10, pick()), n),
                prop::collection::vec((0..UNKNOWN.len(), pick()), 0..2),
            );
            (
                Just(specs),
                prop::collection::vec(record, RECORDS_PER_SCHEMA),
                Just(additional),
            )
        })
}

fn record(specs: &[Spec], picks: Vec<(u8, Pick)>, unknown: Vec<(usize, Pick)>) -> Value {
    let mut record = Map::new();
    for ((spec, name), (presence, pick)) in specs.iter().zip(NAMES).zip(picks) {
        // 0: absent, 1: null, otherwise a value.
        match presence {
            0 => {}
            1 => {
                record.insert(name.into(), Value::Null);
            }
            _ => {
                record.insert(name.into(), value(TYPES[spec.ty], pick));
            }
        }
    }
    for (key, pick) in unknown {
        record.insert(UNKNOWN[key].into(), value(FieldType::String, pick));
    }
    Value::Object(record)
}

#[test]
fn validate_agrees_with_the_json_schema() {
    let mut runner = TestRunner::new(Config {
        cases: 100,
        max_shrink_time: 30_000,
        failure_persistence: None,
        ..Config::default()
    });
    let counts = std::cell::Cell::new((0usize, 0usize));
    runner
        .run(&case(), |(specs, records, additional)| {
            let schema = build(&specs, additional);
            let oracle = jsonschema::options()
                .should_validate_formats(true)
                .build(&schema.to_json_schema())
                .expect("the JSON Schema compiles");
            // The catalogs' portable form, as a consumer that does not assert formats reads it.
            let portable = jsonschema::options()
                .build(&schema.to_portable_json_schema())
                .expect("the portable JSON Schema compiles");
            for (picks, unknown) in records {
                let record = record(&specs, picks, unknown);
                let ours = schema.validate(&record);
                let theirs = oracle.is_valid(&record);
                prop_assert!(
                    !theirs || portable.is_valid(&record),
                    "the portable schema refuses {} (schema {})",
                    record,
                    schema.to_json()
                );
                let (valid, invalid) = counts.get();
                counts.set(if theirs {
                    (valid + 1, invalid)
                } else {
                    (valid, invalid + 1)
                });
                // Which fields each finds wrong ("" for the record: required, unknown fields),
                // so a difference on one field shows even when another field is wrong too.
                let ours_fields: BTreeSet<String> = ours
                    .as_ref()
                    .err()
                    .into_iter()
                    .flatten()
                    .map(|v| match v.code {
                        ViolationCode::Required | ViolationCode::UnknownField => String::new(),
                        _ => v.field.clone(),
                    })
                    .collect();
                let their_fields: BTreeSet<String> = oracle
                    .iter_errors(&record)
                    .map(|e| {
                        let path = e.instance_path().as_str();
                        let first = path.split('/').nth(1).unwrap_or("");
                        first.to_owned()
                    })
                    .collect();
                prop_assert_eq!(
                    (ours.is_ok(), &ours_fields),
                    (theirs, &their_fields),
                    "schema {} record {} ours {:?} JSON Schema {}",
                    schema.to_json(),
                    record,
                    ours,
                    schema.to_json_schema()
                );
            }
            Ok(())
        })
        .unwrap();
    let (valid, invalid) = counts.get();
    // Both outcomes are well represented, so agreement means something.
    assert!(
        valid >= 100 && invalid >= 100,
        "valid {valid}, invalid {invalid}"
    );
}

#[test]
fn the_portable_schema_has_no_unicode_property_classes() {
    // Python's `re` (Singer targets, Airbyte's Python destinations) refuses `\p{..}`.
    let schema = Schema::from_json(&json!({"fields": [
        {"name": "email", "type": "string", "format": "email", "required": true},
        {"name": "site", "type": "string", "format": "url"},
        {"name": "code", "type": "string", "format": "email", "pattern": "^[a-z]+@"}]}))
    .unwrap();
    let exact = schema.to_json_schema().to_string();
    assert!(exact.contains("\\p{"), "{exact}");
    let portable = schema.to_portable_json_schema();
    let text = portable.to_string();
    assert!(!text.contains("\\p{") && !text.contains("\\P{"), "{text}");
    let properties = &portable["properties"];
    assert_eq!(properties["email"]["format"], "email");
    assert_eq!(properties["site"]["format"], "uri");
    // A field's own pattern stays.
    assert_eq!(properties["code"]["pattern"], "^[a-z]+@");
    assert_eq!(properties["code"]["format"], "email");
    let oracle = jsonschema::options()
        .should_validate_formats(true)
        .build(&portable)
        .unwrap();
    assert!(oracle.is_valid(&json!({"email": "ada@example.com", "site": "https://example.com/x"})));
    assert!(!oracle.is_valid(&json!({"email": "not-an-email"})));
}

#[test]
fn records_that_are_not_objects_are_refused_by_both() {
    let schema = Schema::builder().build().unwrap();
    let oracle = jsonschema::validator_for(&schema.to_json_schema()).unwrap();
    for record in [json!([]), json!("x"), json!(1), Value::Null] {
        assert!(schema.validate(&record).is_err());
        assert!(!oracle.is_valid(&record));
    }
}

#[test]
fn server_fields_differ_on_purpose() {
    let schema = Schema::builder()
        .field(Field::string("name").required())
        .build()
        .unwrap();
    let oracle = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema.to_json_schema())
        .unwrap();
    let returned = json!({"id": 7, "name": "Ada",
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00.5+01:00"});
    assert!(oracle.is_valid(&returned));
    assert!(oracle.is_valid(&json!({"id": "crm-7", "name": "Ada"})));
    // A create body may not hold them: validate refuses them as unknown fields.
    let codes: Vec<String> = schema
        .validate(&returned)
        .unwrap_err()
        .iter()
        .map(|v| v.code.to_string())
        .collect();
    assert_eq!(codes, ["unknown_field"; 3]);
    // Still typed: an id that is an object, a timestamp that is not one, are refused.
    assert!(!oracle.is_valid(&json!({"id": {}, "name": "Ada"})));
    assert!(!oracle.is_valid(&json!({"created_at": "yesterday", "name": "Ada"})));
}

#[test]
fn a_schema_field_named_like_a_server_field_keeps_its_definition_and_is_read_only() {
    let schema = Schema::builder()
        .field(Field::integer("id").required().min(1))
        .build()
        .unwrap();
    let js = schema.to_json_schema();
    assert_eq!(js["properties"]["id"]["readOnly"], true);
    assert_eq!(js["properties"]["id"]["minimum"], 1);
    assert_eq!(js["required"], json!(["id"]));
    let oracle = jsonschema::validator_for(&js).unwrap();
    assert!(oracle.is_valid(&json!({"id": 1})));
    assert!(!oracle.is_valid(&json!({"id": "1"})));
}

#[test]
fn leap_seconds_differ_on_purpose() {
    let schema = Schema::builder()
        .field(Field::datetime("at"))
        .build()
        .unwrap();
    let oracle = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema.to_json_schema())
        .unwrap();
    let utc_leap = json!({"at": "2016-12-31T23:59:60Z"});
    assert!(schema.validate(&utc_leap).is_ok() && oracle.is_valid(&utc_leap));
    let local_leap = json!({"at": "2026-11-27T20:59:60Z"});
    assert!(schema.validate(&local_leap).is_ok());
    assert!(!oracle.is_valid(&local_leap));
}
