//! Schema limits: a schema read `_with_limits` (as from a server) is refused over each limit,
//! with an error naming the limit and the numbers; schemas read without limits are unchanged.

use dbsync_validate::{Field, Schema, SchemaError, SchemaLimits};
use serde_json::{Value, json};

fn schema_of(fields: Vec<Value>) -> Value {
    json!({"fields": fields, "additional_fields": false})
}

fn string_field(i: usize, pattern: Option<&str>) -> Value {
    match pattern {
        Some(p) => json!({"name": format!("f{i}"), "type": "string", "pattern": p}),
        None => json!({"name": format!("f{i}"), "type": "string"}),
    }
}

/// The limit named by a `TooComplex` error, and its text.
fn too_complex(result: Result<Schema, SchemaError>) -> (&'static str, usize, String) {
    match result {
        Err(err @ SchemaError::TooComplex { limit, max, .. }) => (limit, max, err.to_string()),
        other => panic!(
            "expected TooComplex, got {:?}",
            other.map(|schema| schema.fields().len())
        ),
    }
}

fn both_parsers(json: &Value, limits: &SchemaLimits) -> [Result<Schema, SchemaError>; 2] {
    [
        Schema::from_json_with_limits(json, limits),
        Schema::from_json_lenient_with_limits(json, limits),
    ]
}

#[test]
fn the_defaults() {
    let limits = SchemaLimits::default();
    assert_eq!(limits.max_fields, 1_000);
    assert_eq!(limits.max_pattern_bytes, 64 * 1024);
    assert_eq!(limits.pattern_size_limit, 1 << 20);
    assert_eq!(
        limits.pattern_size_limit,
        dbsync_validate::PATTERN_SIZE_LIMIT
    );
    assert_eq!(limits.max_compiled_pattern_bytes, 32 << 20);
}

#[test]
fn too_many_fields() {
    let json = schema_of((0..1_001).map(|i| string_field(i, None)).collect());
    for result in both_parsers(&json, &SchemaLimits::default()) {
        let (limit, max, text) = too_complex(result);
        assert_eq!((limit, max), ("max_fields", 1_000));
        assert!(text.contains("1001 fields"), "{text}");
        assert!(text.contains("max_fields of 1000"), "{text}");
    }
    // At the limit, and without limits (schemas built in code or read by the sandbox).
    let at_limit = schema_of((0..1_000).map(|i| string_field(i, None)).collect());
    assert!(Schema::from_json_lenient_with_limits(&at_limit, &SchemaLimits::default()).is_ok());
    assert_eq!(Schema::from_json(&json).unwrap().fields().len(), 1_001);
    let built = Schema::builder()
        .fields((0..1_001).map(|i| Field::string(format!("f{i}"))))
        .build()
        .unwrap();
    assert_eq!(built.fields().len(), 1_001);
}

#[test]
fn too_much_pattern_text() {
    // One pattern over the default: refused before it is compiled.
    let long = "a".repeat(64 * 1024 + 1);
    let json = schema_of(vec![
        string_field(0, Some("^x$")),
        string_field(1, Some(&long)),
    ]);
    for result in both_parsers(&json, &SchemaLimits::default()) {
        let (limit, max, text) = too_complex(result);
        assert_eq!((limit, max), ("max_pattern_bytes", 65_536));
        assert!(text.contains("field `f1`"), "{text}");
        assert!(
            text.contains(&format!("{} bytes of text", 64 * 1024 + 4)),
            "{text}"
        );
    }
    // The total counts, not each pattern on its own.
    let mut limits = SchemaLimits::default();
    limits.max_pattern_bytes = 10;
    let json = schema_of(vec![
        string_field(0, Some("^[a-z]$")),
        string_field(1, None),
        string_field(2, Some("^[0-9]$")),
    ]);
    let (limit, max, text) = too_complex(Schema::from_json_with_limits(&json, &limits));
    assert_eq!((limit, max), ("max_pattern_bytes", 10));
    assert!(text.contains("field `f2` hold 14 bytes"), "{text}");
    limits.max_pattern_bytes = 14;
    assert!(Schema::from_json_with_limits(&json, &limits).is_ok());
}

#[test]
fn a_pattern_too_large_compiled() {
    let json = schema_of(vec![string_field(0, Some(r"(\w{1000}){1000}"))]);
    for result in both_parsers(&json, &SchemaLimits::default()) {
        let (limit, max, text) = too_complex(result);
        assert_eq!((limit, max), ("pattern_size_limit", 1 << 20));
        assert!(text.contains("field `f0`"), "{text}");
        assert!(text.contains("1048576"), "{text}");
    }
    // A smaller limit refuses a smaller pattern (`^\w+$` needs more than 4 KiB).
    let mut limits = SchemaLimits::default();
    limits.pattern_size_limit = 4 * 1024;
    let json = schema_of(vec![string_field(0, Some(r"^\w+$"))]);
    let (limit, max, _) = too_complex(Schema::from_json_with_limits(&json, &limits));
    assert_eq!((limit, max), ("pattern_size_limit", 4096));
    assert!(Schema::from_json_with_limits(&json, &SchemaLimits::default()).is_ok());
    // An invalid pattern is still InvalidPattern.
    let json = schema_of(vec![string_field(0, Some("([0-9]+"))]);
    assert!(matches!(
        Schema::from_json_with_limits(&json, &SchemaLimits::default()),
        Err(SchemaError::InvalidPattern { .. })
    ));
}

#[test]
fn too_much_compiled_pattern_in_all() {
    // `\w{20}` (Unicode classes are large) compiles to more than 512 KiB and less than 1 MiB, so
    // it counts 1 MiB: 32 of them fit the default 32 MiB, the 33rd does not.
    let heavy = |n: usize| schema_of((0..n).map(|i| string_field(i, Some(r"\w{20}"))).collect());
    let limits = SchemaLimits::default();
    let (limit, max, text) =
        too_complex(Schema::from_json_lenient_with_limits(&heavy(33), &limits));
    assert_eq!((limit, max), ("max_compiled_pattern_bytes", 32 << 20));
    assert!(text.contains("field `f32`"), "{text}");
    assert!(
        text.contains(&format!("{} compiled bytes", 33 << 20)),
        "{text}"
    );
    // Without limits the same schema is read as before.
    assert_eq!(Schema::from_json(&heavy(33)).unwrap().fields().len(), 33);

    // Small patterns count little: each of these counts 4 KiB.
    let mut limits = SchemaLimits::default();
    limits.max_compiled_pattern_bytes = 8 * 1024;
    let small = |n: usize| {
        schema_of(
            (0..n)
                .map(|i| string_field(i, Some("^[A-Za-z0-9]+$")))
                .collect(),
        )
    };
    assert!(Schema::from_json_with_limits(&small(2), &limits).is_ok());
    let (limit, max, text) = too_complex(Schema::from_json_with_limits(&small(3), &limits));
    assert_eq!((limit, max), ("max_compiled_pattern_bytes", 8192));
    assert!(text.contains("12288 compiled bytes"), "{text}");
}

#[test]
fn a_schema_within_the_limits_is_the_same_schema() {
    let json = json!({"fields": [
        {"name": "email", "type": "string", "required": true, "pattern": "^[^@]+@[^@]+$"},
        {"name": "code", "type": "string", "pattern": r"^\w+$", "label": "Code"},
        {"name": "age", "type": "integer", "min": 0}
    ]});
    let limited = Schema::from_json_lenient_with_limits(&json, &SchemaLimits::default()).unwrap();
    assert_eq!(limited, Schema::from_json_lenient(&json).unwrap());
    assert!(
        limited
            .validate(&json!({"email": "a@b", "code": "x1"}))
            .is_ok()
    );
    assert!(
        limited
            .validate(&json!({"email": "nope", "code": "x 1"}))
            .is_err()
    );
}
