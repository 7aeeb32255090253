//! First end-to-end checks of the public API: schema JSON round trip, validation, error body.

use dbsync_validate::{BatchOptions, ErrorBody, Field, Format, Schema, ViolationCode, Violations};
use serde_json::json;

fn contacts() -> Schema {
    Schema::builder()
        .field(
            Field::string("email")
                .required()
                .unique()
                .format(Format::Email)
                .max_length(254),
        )
        .field(Field::string("name").required().max_length(100))
        .field(Field::integer("age").min(0).max(150))
        .additional_fields(false)
        .build()
        .expect("valid schema")
}

#[test]
fn json_and_builder_give_the_same_schema_and_json_round_trips() {
    let json = json!({"fields": [
        {"name": "email", "type": "string", "required": true, "unique": true, "max_length": 254, "format": "email"},
        {"name": "name", "type": "string", "required": true, "max_length": 100},
        {"name": "age", "type": "integer", "min": 0, "max": 150}
    ], "additional_fields": false});
    let parsed = Schema::from_json(&json).expect("valid schema");
    assert_eq!(parsed, contacts());
    assert_eq!(parsed.to_json(), json);
    let via_serde: Schema = serde_json::from_value(json.clone()).expect("deserializes");
    assert_eq!(serde_json::to_value(&via_serde).expect("serializes"), json);
}

#[test]
fn a_valid_record_passes_and_a_bad_one_reports_every_violation() {
    let schema = contacts();
    assert_eq!(
        schema.validate(&json!({"email": "ada@example.com", "name": "Ada", "age": 36})),
        Ok(())
    );
    let violations = schema
        .validate(&json!({"email": "nope", "age": 1.5, "extra": 1}))
        .expect_err("invalid");
    let codes: Vec<_> = violations
        .iter()
        .map(|v| (v.field.as_str(), v.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("email", "format"),
            ("name", "required"),
            ("age", "type"),
            ("extra", "unknown_field")
        ]
    );
}

#[test]
fn partial_mode_ignores_absent_fields() {
    let schema = contacts();
    assert_eq!(schema.validate_partial(&json!({"age": 3})), Ok(()));
    let err = schema
        .validate_partial(&json!({"age": -1}))
        .expect_err("below min");
    assert_eq!(err.as_slice()[0].code, ViolationCode::Min);
}

#[test]
fn error_body_round_trips() {
    let violations = contacts().validate(&json!({})).expect_err("missing fields");
    let body = violations.to_error_body();
    let text = serde_json::to_string(&body).expect("serializes");
    let back: ErrorBody = serde_json::from_str(&text).expect("parses");
    assert_eq!(Violations::from_error_body(&back), violations);
}

#[test]
fn batch_reports_the_index_of_the_first_duplicate() {
    let schema = contacts();
    let records = [
        json!({"email": "a@example.com", "name": "A"}),
        json!({"email": "b@example.com", "name": "B"}),
        json!({"email": "a@example.com", "name": "C"}),
    ];
    let report = schema.validate_batch(&records, &BatchOptions::new());
    assert_eq!(report.failure_count(), 1);
    let v = report.violations(2).expect("third fails");
    assert_eq!(
        v.as_slice()[0].message,
        "email must be unique: the same value is at index 0 of this batch"
    );
}

#[test]
fn public_types_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Schema>();
    shareable::<Violations>();
    shareable::<ErrorBody>();
    shareable::<dbsync_validate::SchemaError>();
    shareable::<dbsync_validate::BatchReport>();
}
