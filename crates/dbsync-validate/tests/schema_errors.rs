//! Every kind of bad schema is refused with a clear error, from JSON and from the builder.

use dbsync_validate::{Field, FieldType, Format, Schema, SchemaError};
use serde_json::{Value, json};

fn from_fields(fields: Value) -> Result<Schema, SchemaError> {
    Schema::from_json(&json!({ "fields": fields }))
}

fn error_text(result: Result<Schema, SchemaError>) -> (SchemaError, String) {
    let err = result.expect_err("schema must be refused");
    let text = err.to_string();
    (err, text)
}

#[test]
fn unknown_type() {
    let (err, text) = error_text(from_fields(json!([{"name": "a", "type": "strin"}])));
    assert_eq!(
        err,
        SchemaError::UnknownType {
            field: "a".into(),
            found: "strin".into()
        }
    );
    assert!(
        text.contains("unknown type \"strin\"") && text.contains("datetime"),
        "{text}"
    );
    let (err, _) = error_text(from_fields(json!([{"name": "a", "type": 3}])));
    assert!(matches!(
        err,
        SchemaError::InvalidConstraint {
            constraint: "type",
            ..
        }
    ));
}

#[test]
fn invalid_regex_names_the_field_and_why() {
    let (err, text) = error_text(from_fields(
        json!([{"name": "phone", "type": "string", "pattern": "([0-9]+"}]),
    ));
    assert!(matches!(&err, SchemaError::InvalidPattern { field, .. } if field == "phone"));
    assert!(
        text.contains("phone") && text.contains("unclosed group"),
        "{text}"
    );
    let (err, _) = error_text(
        Schema::builder()
            .field(Field::string("p").pattern("[z-a]"))
            .build(),
    );
    assert!(matches!(err, SchemaError::InvalidPattern { .. }));
}

#[test]
fn a_hostile_pattern_fails_to_compile_instead_of_using_huge_memory() {
    let (err, text) = error_text(from_fields(
        json!([{"name": "p", "type": "string", "pattern": "(\\w{1000}){1000}"}]),
    ));
    assert!(matches!(err, SchemaError::InvalidPattern { .. }));
    assert!(text.contains("size limit"), "{text}");
}

#[test]
fn min_greater_than_max() {
    let (err, text) = error_text(from_fields(
        json!([{"name": "n", "type": "integer", "min": 10, "max": 1}]),
    ));
    assert!(matches!(err, SchemaError::MinGreaterThanMax { .. }));
    assert_eq!(text, "field `n` has min 10 greater than max 1");
    let (err, _) = error_text(
        Schema::builder()
            .field(Field::number("x").min(0.5).max(0.25))
            .build(),
    );
    assert!(matches!(err, SchemaError::MinGreaterThanMax { .. }));
    // Equal bounds are fine.
    assert!(
        Schema::builder()
            .field(Field::integer("x").min(3).max(3))
            .build()
            .is_ok()
    );
}

#[test]
fn min_length_greater_than_max_length() {
    let (err, text) = error_text(from_fields(
        json!([{"name": "s", "type": "string", "min_length": 5, "max_length": 2}]),
    ));
    assert!(matches!(
        err,
        SchemaError::MinLengthGreaterThanMaxLength {
            min_length: 5,
            max_length: 2,
            ..
        }
    ));
    assert!(
        text.contains("min_length 5 greater than max_length 2"),
        "{text}"
    );
}

#[test]
fn duplicate_field_name() {
    let (err, text) = error_text(from_fields(
        json!([{"name": "a", "type": "string"}, {"name": "a", "type": "integer"}]),
    ));
    assert_eq!(err, SchemaError::DuplicateField { field: "a".into() });
    assert!(text.contains("defined twice"), "{text}");
    let (err, _) = error_text(
        Schema::builder()
            .field(Field::string("a"))
            .field(Field::string("a"))
            .build(),
    );
    assert!(matches!(err, SchemaError::DuplicateField { .. }));
}

#[test]
fn constraints_that_do_not_fit_the_type() {
    let cases = [
        (Field::string("f").min(1), "min", FieldType::String),
        (Field::boolean("f").max(1), "max", FieldType::Boolean),
        (
            Field::integer("f").min_length(1),
            "min_length",
            FieldType::Integer,
        ),
        (
            Field::date("f").max_length(1),
            "max_length",
            FieldType::Date,
        ),
        (
            Field::integer("f").pattern("x"),
            "pattern",
            FieldType::Integer,
        ),
        (
            Field::array("f").format(Format::Email),
            "format",
            FieldType::Array,
        ),
        (
            Field::object("f").enum_values([json!({})]),
            "enum",
            FieldType::Object,
        ),
        (Field::array("f").unique(), "unique", FieldType::Array),
    ];
    for (field, constraint, field_type) in cases {
        let (err, text) = error_text(Schema::builder().field(field).build());
        assert!(
            matches!(&err, SchemaError::ConstraintNotApplicable { constraint: c, field_type: t, .. }
                if *c == constraint && *t == field_type),
            "{err:?}"
        );
        assert!(
            text.contains(constraint) && text.contains(field_type.as_str()),
            "{text}"
        );
    }
    let (err, _) = error_text(from_fields(
        json!([{"name": "f", "type": "boolean", "min_length": 1}]),
    ));
    assert!(matches!(
        err,
        SchemaError::ConstraintNotApplicable {
            constraint: "min_length",
            ..
        }
    ));
}

#[test]
fn invalid_field_names() {
    for name in ["", "   ", " padded", "tab\tname", &"x".repeat(129)] {
        let (err, _) = error_text(Schema::builder().field(Field::string(name)).build());
        assert!(
            matches!(err, SchemaError::InvalidFieldName { .. }),
            "{name:?}: {err:?}"
        );
        let (err, _) = error_text(from_fields(json!([{"name": name, "type": "string"}])));
        assert!(
            matches!(err, SchemaError::InvalidFieldName { .. }),
            "{name:?}: {err:?}"
        );
    }
    assert!(
        Schema::builder()
            .field(Field::string("First Name"))
            .build()
            .is_ok()
    );
}

#[test]
fn empty_enum_and_enum_values_of_the_wrong_type() {
    let (err, _) = error_text(from_fields(
        json!([{"name": "e", "type": "string", "enum": []}]),
    ));
    assert_eq!(err, SchemaError::EmptyEnum { field: "e".into() });
    let (err, text) = error_text(from_fields(
        json!([{"name": "e", "type": "integer", "enum": [1, 2.5]}]),
    ));
    assert!(
        matches!(err, SchemaError::InvalidEnumValue { index: 1, .. }),
        "{err:?}"
    );
    assert!(text.contains("position 1"), "{text}");
    let (err, _) = error_text(from_fields(
        json!([{"name": "e", "type": "date", "enum": ["2026-02-30"]}]),
    ));
    assert!(matches!(
        err,
        SchemaError::InvalidEnumValue { index: 0, .. }
    ));
    let (err, text) = error_text(from_fields(
        json!([{"name": "e", "type": "string", "enum": ["a", null]}]),
    ));
    assert!(text.contains("nullable"), "{err:?}");
}

#[test]
fn unknown_format_and_non_finite_bounds() {
    let (err, _) = error_text(from_fields(
        json!([{"name": "f", "type": "string", "format": "phone"}]),
    ));
    assert_eq!(
        err,
        SchemaError::UnknownFormat {
            field: "f".into(),
            found: "phone".into()
        }
    );
    let (err, _) = error_text(
        Schema::builder()
            .field(Field::number("n").max(f64::NAN))
            .build(),
    );
    assert!(matches!(
        err,
        SchemaError::InvalidConstraint {
            constraint: "max",
            ..
        }
    ));
    let (err, _) = error_text(
        Schema::builder()
            .field(Field::number("n").min(f64::INFINITY))
            .build(),
    );
    assert!(matches!(
        err,
        SchemaError::InvalidConstraint {
            constraint: "min",
            ..
        }
    ));
}

#[test]
fn constraints_of_the_wrong_json_kind() {
    let cases = [
        (
            json!({"name": "f", "type": "string", "required": "yes"}),
            "required",
        ),
        (
            json!({"name": "f", "type": "string", "nullable": 1}),
            "nullable",
        ),
        (
            json!({"name": "f", "type": "string", "unique": null}),
            "unique",
        ),
        (json!({"name": "f", "type": "integer", "min": "0"}), "min"),
        (json!({"name": "f", "type": "integer", "max": [1]}), "max"),
        (
            json!({"name": "f", "type": "string", "min_length": -1}),
            "min_length",
        ),
        (
            json!({"name": "f", "type": "string", "max_length": 2.5}),
            "max_length",
        ),
        (
            json!({"name": "f", "type": "string", "pattern": 1}),
            "pattern",
        ),
        (json!({"name": "f", "type": "string", "enum": "a"}), "enum"),
        (
            json!({"name": "f", "type": "string", "format": true}),
            "format",
        ),
    ];
    for (field, constraint) in cases {
        let (err, text) = error_text(from_fields(json!([field])));
        assert!(
            matches!(&err, SchemaError::InvalidConstraint { constraint: c, .. } if *c == constraint),
            "{err:?}"
        );
        assert!(
            text.contains("field `f`") && text.contains(constraint),
            "{text}"
        );
    }
}

#[test]
fn malformed_schema_documents() {
    for bad in [
        json!([]),
        json!({}),
        json!({"fields": {}}),
        json!({"fields": [1]}),
        json!({"fields": [{"type": "string"}]}),
        json!({"fields": [{"name": 1, "type": "string"}]}),
        json!({"fields": [{"name": "a"}]}),
        json!({"fields": [], "additional_fields": "yes"}),
        json!({"fields": [], "extra": 1}),
    ] {
        let (err, _) = error_text(Schema::from_json(&bad));
        assert!(
            matches!(err, SchemaError::Malformed { .. }),
            "{bad}: {err:?}"
        );
    }
    let (err, text) = error_text(from_fields(
        json!([{"name": "a", "type": "string", "max_lenght": 3}]),
    ));
    assert!(matches!(err, SchemaError::UnknownMember { .. }));
    assert!(text.contains("max_lenght"), "{text}");
    let (err, _) = error_text(Schema::from_json_str("{\"fields\": ["));
    assert!(matches!(err, SchemaError::InvalidJson { .. }));
    // Deserialize applies the same rules.
    let err = serde_json::from_value::<Schema>(json!({"fields": [{"name": "a", "type": "nope"}]}))
        .unwrap_err();
    assert!(err.to_string().contains("unknown type"), "{err}");
}

#[test]
fn every_type_and_constraint_round_trips_through_json() {
    let schema = Schema::builder()
        .field(
            Field::string("s")
                .required()
                .unique()
                .min_length(1)
                .max_length(9)
                .pattern("^a")
                .format(Format::Email),
        )
        .field(Field::string("st").enum_values(["x", "y"]).nullable())
        .field(
            Field::integer("i")
                .min(-3)
                .max(u64::MAX)
                .enum_values([1, 2]),
        )
        .field(Field::number("n").min(-0.5).max(1.5))
        .field(Field::boolean("b").required())
        .field(Field::date("d").unique())
        .field(Field::datetime("t").nullable())
        .field(Field::object("o"))
        .field(Field::array("a").min_length(0).max_length(3))
        .field(Field::string("u").format(Format::Url))
        .field(Field::string("id").format(Format::Uuid))
        .additional_fields(true)
        .build()
        .unwrap();
    let json = schema.to_json();
    let back = Schema::from_json(&json).unwrap();
    assert_eq!(back, schema);
    assert_eq!(back.to_json(), json);
    let text = serde_json::to_string(&schema).unwrap();
    assert_eq!(Schema::from_json_str(&text).unwrap(), schema);
    // Accessors.
    let s = schema.field("s").unwrap();
    assert_eq!(s.field_type(), FieldType::String);
    assert!(s.is_required() && s.is_unique() && !s.is_nullable());
    assert_eq!(
        (s.min_length_value(), s.max_length_value()),
        (Some(1), Some(9))
    );
    assert_eq!(s.pattern_source(), Some("^a"));
    assert_eq!(s.format_value(), Some(Format::Email));
    assert_eq!(
        schema.field("i").unwrap().max_value().unwrap().as_u64(),
        Some(u64::MAX)
    );
    assert_eq!(
        schema.field("st").unwrap().allowed_values().unwrap().len(),
        2
    );
    assert_eq!(schema.fields().len(), 11);
    assert!(schema.field("missing").is_none());
}
