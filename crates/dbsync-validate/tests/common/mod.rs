//! Random schemas for the property tests: field specs drawn from small pools, built into a
//! `Schema` (shared by json_schema_oracle.rs and samples.rs).
#![allow(dead_code)]

use dbsync_validate::{Field, FieldType, Format, Schema};
use proptest::prelude::*;
use serde_json::{Value, json};

pub const NAMES: [&str; 6] = ["name", "e-mail", "first name", "ünï", "type", "f5"];
pub const UNKNOWN: [&str; 3] = ["extra", "Name", "zzz"];
pub const PATTERNS: [&str; 5] = [
    "^[a-z]+$",
    "^[A-Z]{2}-[0-9]{4}$",
    "b",
    "^(abc|ABC)?$",
    "[0-9]",
];
pub const TYPES: [FieldType; 8] = [
    FieldType::String,
    FieldType::Integer,
    FieldType::Number,
    FieldType::Boolean,
    FieldType::Date,
    FieldType::DateTime,
    FieldType::Object,
    FieldType::Array,
];

/// A field's definition as drawn: indices into the pools above.
#[derive(Debug, Clone)]
pub struct Spec {
    pub ty: usize,
    pub required: bool,
    pub nullable: bool,
    pub unique: bool,
    pub bound: u8,
    pub length: u8,
    pub pattern: u8,
    pub format: u8,
    pub enumerated: bool,
}

pub fn spec() -> impl Strategy<Value = Spec> {
    (
        (0..TYPES.len(), any::<bool>(), any::<bool>(), any::<bool>()),
        (0u8..8, 0u8..8, 0u8..10, 0u8..6, prop::bool::weighted(0.2)),
    )
        .prop_map(
            |((ty, required, nullable, unique), (bound, length, pattern, format, enumerated))| {
                Spec {
                    ty,
                    required,
                    nullable,
                    unique,
                    bound,
                    length,
                    pattern,
                    format,
                    enumerated,
                }
            },
        )
}

pub fn field(name: &str, spec: &Spec) -> Field {
    let ty = TYPES[spec.ty];
    let mut f = Field::new(name, ty);
    if spec.required {
        f = f.required();
    }
    if spec.nullable {
        f = f.nullable();
    }
    let scalar = !matches!(ty, FieldType::Object | FieldType::Array);
    if spec.unique && scalar {
        f = f.unique();
    }
    if matches!(ty, FieldType::Integer | FieldType::Number) {
        f = match spec.bound {
            1 => f.min(0),
            2 => f.max(10),
            3 => f.min(-1).max(3),
            4 => f.min(0.5).max(2.5),
            5 => f.min(i64::MIN).max(i64::MAX),
            6 => f.min(3).max(3),
            _ => f,
        };
    }
    if matches!(ty, FieldType::String | FieldType::Array) {
        f = match spec.length {
            1 => f.min_length(1),
            2 => f.max_length(3),
            3 => f.min_length(2).max_length(5),
            4 => f.min_length(0).max_length(0),
            5 => f.min_length(20),
            _ => f,
        };
    }
    if ty == FieldType::String {
        if let Some(pattern) = PATTERNS.get(usize::from(spec.pattern)) {
            f = f.pattern(*pattern);
        }
        f = match spec.format {
            0 => f.format(Format::Email),
            1 => f.format(Format::Url),
            2 => f.format(Format::Uuid),
            _ => f,
        };
    }
    if spec.enumerated {
        let values: Option<Vec<Value>> = match ty {
            FieldType::String => Some(vec![json!("abc"), json!("ada@example.com"), json!("b")]),
            FieldType::Integer => Some(vec![json!(1), json!(100), json!(-1)]),
            FieldType::Number => Some(vec![json!(1.5), json!(1), json!(0)]),
            FieldType::Boolean => Some(vec![json!(true)]),
            FieldType::Date => Some(vec![json!("2026-02-28"), json!("2024-02-29")]),
            FieldType::DateTime => Some(vec![json!("2026-11-27T20:52:28Z")]),
            _ => None,
        };
        if let Some(values) = values {
            f = f.enum_values(values);
        }
    }
    f
}

pub fn build(specs: &[Spec], additional: bool) -> Schema {
    let fields = specs.iter().zip(NAMES).map(|(s, name)| field(name, s));
    Schema::builder()
        .fields(fields)
        .additional_fields(additional)
        .build()
        .expect("the drawn schemas are valid")
}
