//! Every type and every constraint of the contract, each with passing and failing values.

use dbsync_validate::{Field, Format, Schema, ViolationCode};
use serde_json::{Value, json};

/// Checks that `field` accepts every value of `ok` and refuses every `(value, code)` of `bad`
/// with exactly one violation of that code.
fn check(field: Field, ok: &[Value], bad: &[(Value, &str)]) {
    let name = field.name().to_owned();
    let schema = Schema::builder()
        .field(field)
        .build()
        .expect("valid schema");
    for value in ok {
        let record = json!({ name.clone(): value });
        assert_eq!(
            schema.validate(&record),
            Ok(()),
            "{name}: {value} should pass"
        );
    }
    for (value, code) in bad {
        let record = json!({ name.clone(): value });
        let violations = schema
            .validate(&record)
            .expect_err(&format!("{name}: {value} should fail"));
        let got: Vec<(&str, &str)> = violations
            .iter()
            .map(|v| (v.field.as_str(), v.code.as_str()))
            .collect();
        assert_eq!(got, [(name.as_str(), *code)], "{name}: {value}");
        let message = &violations.as_slice()[0].message;
        assert!(
            message.starts_with(&name),
            "message names the field: {message}"
        );
    }
}

#[test]
fn string_type() {
    check(
        Field::string("s"),
        &[json!(""), json!("hello"), json!("ünïcödé")],
        &[
            (json!(1), "type"),
            (json!(true), "type"),
            (json!([]), "type"),
            (json!({}), "type"),
        ],
    );
}

#[test]
fn integer_type_refuses_fractions_and_values_outside_i64() {
    check(
        Field::integer("i"),
        &[
            json!(0),
            json!(-5),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(3.0),
        ],
        &[
            (json!(1.5), "type"),
            (json!(-0.25), "type"),
            (json!(u64::MAX), "type"),
            (json!(9_223_372_036_854_775_808u64), "type"),
            (json!(1e19), "type"),
            (json!(-1e19), "type"),
            (json!("1"), "type"),
            (json!(false), "type"),
        ],
    );
    let schema = Schema::builder()
        .field(Field::integer("i"))
        .build()
        .unwrap();
    let err = schema.validate(&json!({"i": u64::MAX})).unwrap_err();
    assert!(
        err.to_string()
            .contains("between -9223372036854775808 and 9223372036854775807"),
        "{err}"
    );
    let err = schema.validate(&json!({"i": 2.5})).unwrap_err();
    assert!(err.to_string().contains("fractional part"), "{err}");
}

#[test]
fn number_type() {
    check(
        Field::number("n"),
        &[json!(0), json!(-1.5), json!(1e300), json!(u64::MAX)],
        &[
            (json!("1.5"), "type"),
            (json!(null), "null"),
            (json!([1]), "type"),
        ],
    );
}

#[test]
fn boolean_type() {
    check(
        Field::boolean("b"),
        &[json!(true), json!(false)],
        &[(json!(0), "type"), (json!("true"), "type")],
    );
}

#[test]
fn date_type_is_a_real_calendar_date() {
    check(
        Field::date("d"),
        &[
            json!("2026-02-28"),
            json!("2024-02-29"),
            json!("2000-02-29"),
            json!("2026-12-31"),
        ],
        &[
            (json!("2026-02-30"), "format"),
            (json!("2026-02-29"), "format"),
            (json!("1900-02-29"), "format"),
            (json!("2026-04-31"), "format"),
            (json!("2026-13-01"), "format"),
            (json!("2026-1-1"), "format"),
            (json!("2026-01-01T00:00:00Z"), "format"),
            (json!(20260101), "type"),
        ],
    );
}

#[test]
fn datetime_type_needs_an_offset() {
    check(
        Field::datetime("t"),
        &[
            json!("2026-11-27T20:52:28Z"),
            json!("2026-11-27T20:52:28.5+02:00"),
            json!("2026-11-27T20:52:28-07:00"),
        ],
        &[
            (json!("2026-11-27T20:52:28"), "format"),
            (json!("2026-11-27"), "format"),
            (json!("2026-02-30T10:00:00Z"), "format"),
            (json!("2026-11-27T25:00:00Z"), "format"),
            (json!(1_764_276_748), "type"),
        ],
    );
}

#[test]
fn object_and_array_types() {
    check(
        Field::object("o"),
        &[json!({}), json!({"a": [1, {"b": 2}]})],
        &[(json!([]), "type"), (json!("{}"), "type")],
    );
    check(
        Field::array("a"),
        &[json!([]), json!([1, "two", {"three": 3}])],
        &[(json!({}), "type"), (json!("[]"), "type")],
    );
}

#[test]
fn required() {
    let schema = Schema::builder()
        .field(Field::string("s").required())
        .build()
        .unwrap();
    assert_eq!(schema.validate(&json!({"s": "x"})), Ok(()));
    let err = schema.validate(&json!({})).unwrap_err();
    assert_eq!(err.as_slice()[0].code, ViolationCode::Required);
    assert_eq!(err.as_slice()[0].message, "s is required");
    // Optional fields may be absent.
    let optional = Schema::builder().field(Field::string("s")).build().unwrap();
    assert_eq!(optional.validate(&json!({})), Ok(()));
}

#[test]
fn nullable() {
    check(
        Field::string("s").nullable(),
        &[json!(null), json!("x")],
        &[(json!(1), "type")],
    );
    check(Field::string("s"), &[json!("x")], &[(json!(null), "null")]);
    // A required nullable field may be null but not absent.
    let schema = Schema::builder()
        .field(Field::integer("i").required().nullable())
        .build()
        .unwrap();
    assert_eq!(schema.validate(&json!({"i": null})), Ok(()));
    assert_eq!(
        schema.validate(&json!({})).unwrap_err().as_slice()[0].code,
        ViolationCode::Required
    );
    // Null skips the other constraints.
    let bounded = Schema::builder()
        .field(Field::integer("i").nullable().min(5))
        .build()
        .unwrap();
    assert_eq!(bounded.validate(&json!({"i": null})), Ok(()));
}

#[test]
fn min_and_max() {
    check(
        Field::integer("i").min(1).max(10),
        &[json!(1), json!(10), json!(5)],
        &[
            (json!(0), "min"),
            (json!(11), "max"),
            (json!(-9_000_000_000i64), "min"),
        ],
    );
    check(
        Field::number("n").min(-0.5).max(0.5),
        &[json!(-0.5), json!(0), json!(0.5)],
        &[
            (json!(-0.51), "min"),
            (json!(0.500001), "max"),
            (json!(1), "max"),
        ],
    );
    // Bounds near the i64/u64 edge compare exactly.
    check(
        Field::number("big").max(u64::MAX),
        &[json!(u64::MAX), json!(i64::MAX)],
        &[(json!(1e20), "max")],
    );
    let schema = Schema::builder()
        .field(Field::integer("age").min(0))
        .build()
        .unwrap();
    assert_eq!(
        schema.validate(&json!({"age": -3})).unwrap_err().as_slice()[0].message,
        "age must be at least 0, found the integer -3"
    );
}

#[test]
fn min_length_and_max_length_count_characters() {
    check(
        Field::string("s").min_length(2).max_length(4),
        &[json!("ab"), json!("abcd"), json!("äöüß"), json!("日本語")],
        &[
            (json!("a"), "min_length"),
            (json!("abcde"), "max_length"),
            (json!("äöüßé"), "max_length"),
            (json!(""), "min_length"),
        ],
    );
    // 4 characters, 16 bytes: within max_length 4.
    check(
        Field::string("e").max_length(4),
        &[json!("😀😀😀😀")],
        &[(json!("😀😀😀😀😀"), "max_length")],
    );
    // Arrays count items.
    check(
        Field::array("a").min_length(1).max_length(2),
        &[json!([1]), json!([1, 2])],
        &[(json!([]), "min_length"), (json!([1, 2, 3]), "max_length")],
    );
    let schema = Schema::builder()
        .field(Field::string("s").max_length(3))
        .build()
        .unwrap();
    assert_eq!(
        schema
            .validate(&json!({"s": "abcdé"}))
            .unwrap_err()
            .as_slice()[0]
            .message,
        "s must have at most 3 characters, found 5"
    );
}

#[test]
fn pattern() {
    check(
        Field::string("phone").pattern(r"^\+?[0-9 -]{7,20}$"),
        &[json!("+1 555-0100"), json!("0123456789")],
        &[
            (json!("call me"), "pattern"),
            (json!("+1 555-0100 x"), "pattern"),
        ],
    );
    // Unanchored patterns match anywhere, as in JSON Schema.
    check(
        Field::string("s").pattern("b+"),
        &[json!("abba")],
        &[(json!("acca"), "pattern")],
    );
}

#[test]
fn enum_values() {
    check(
        Field::string("status").enum_values(["active", "inactive"]),
        &[json!("active"), json!("inactive")],
        &[
            (json!("Active"), "enum"),
            (json!("deleted"), "enum"),
            (json!(1), "type"),
        ],
    );
    check(
        Field::integer("level").enum_values([1, 2, 3]),
        &[json!(1), json!(3), json!(2.0)],
        &[(json!(4), "enum")],
    );
    check(
        Field::boolean("yes").enum_values([true]),
        &[json!(true)],
        &[(json!(false), "enum")],
    );
    check(
        Field::date("d").enum_values(["2026-01-01"]),
        &[json!("2026-01-01")],
        &[(json!("2026-01-02"), "enum")],
    );
    let schema = Schema::builder()
        .field(Field::string("status").enum_values(["active", "inactive"]))
        .build()
        .unwrap();
    assert_eq!(
        schema
            .validate(&json!({"status": "gone"}))
            .unwrap_err()
            .as_slice()[0]
            .message,
        r#"status must be one of "active" or "inactive", found the string "gone""#
    );
}

#[test]
fn formats() {
    check(
        Field::string("email").format(Format::Email),
        &[
            json!("ada@example.com"),
            json!("first.last+tag@sub.example.org"),
        ],
        &[
            (json!("ada"), "format"),
            (json!("ada@example"), "format"),
            (json!("a b@example.com"), "format"),
            (json!("ada@@example.com"), "format"),
        ],
    );
    check(
        Field::string("site").format(Format::Url),
        &[
            json!("https://example.com"),
            json!("http://localhost:8080/a?b=c#d"),
        ],
        &[
            (json!("example.com"), "format"),
            (json!("https://"), "format"),
            (json!("https://exa mple.com"), "format"),
        ],
    );
    check(
        Field::string("uid").format(Format::Uuid),
        &[
            json!("123e4567-e89b-12d3-a456-426614174000"),
            json!("123E4567-E89B-12D3-A456-426614174000"),
        ],
        &[
            (json!("123e4567e89b12d3a456426614174000"), "format"),
            (json!("not-a-uuid"), "format"),
        ],
    );
}

#[test]
fn additional_fields() {
    let closed = Schema::builder().field(Field::string("a")).build().unwrap();
    assert!(!closed.additional_fields());
    assert_eq!(closed.validate(&json!({"a": "x"})), Ok(()));
    let err = closed
        .validate(&json!({"a": "x", "b": 1, "c": 2}))
        .unwrap_err();
    let got: Vec<_> = err
        .iter()
        .map(|v| (v.field.as_str(), v.code.as_str()))
        .collect();
    assert_eq!(got, [("b", "unknown_field"), ("c", "unknown_field")]);

    let open = Schema::builder()
        .field(Field::string("a"))
        .additional_fields(true)
        .build()
        .unwrap();
    assert_eq!(open.validate(&json!({"a": "x", "b": 1})), Ok(()));
    // Additional fields are still not a way around the declared ones.
    assert!(open.validate(&json!({"a": 1, "b": 1})).is_err());

    // A missing `additional_fields` in schema JSON means false.
    let parsed = Schema::from_json(&json!({"fields": [{"name": "a", "type": "string"}]})).unwrap();
    assert!(!parsed.additional_fields());
    assert!(parsed.validate(&json!({"b": 1})).is_err());
}

#[test]
fn the_open_schema_accepts_any_object() {
    let open = Schema::from_json(&json!({"fields": [], "additional_fields": true})).unwrap();
    assert_eq!(open, Schema::open());
    assert_eq!(open.validate(&json!({})), Ok(()));
    assert_eq!(
        open.validate(&json!({"anything": [1, {"x": null}], "n": 1.5})),
        Ok(())
    );
    assert!(open.validate(&json!([1])).is_err());
}

#[test]
fn every_violation_of_a_record_is_reported() {
    let schema = Schema::builder()
        .field(
            Field::string("email")
                .required()
                .format(Format::Email)
                .max_length(10),
        )
        .field(Field::string("name").required())
        .field(Field::integer("age").min(0))
        .field(Field::string("code").pattern("^[A-Z]+$").min_length(3))
        .build()
        .unwrap();
    let err = schema
        .validate(&json!({"email": "not-an-email-at-all", "age": -1, "code": "a", "zzz": 0}))
        .unwrap_err();
    let got: Vec<_> = err
        .iter()
        .map(|v| (v.field.as_str(), v.code.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("email", "max_length"),
            ("email", "format"),
            ("name", "required"),
            ("age", "min"),
            ("code", "min_length"),
            ("code", "pattern"),
            ("zzz", "unknown_field"),
        ]
    );
}

#[derive(serde::Serialize)]
struct Contact {
    email: String,
    age: Option<i64>,
}

#[test]
fn works_on_serialize_types() {
    use dbsync_validate::Mode;
    let schema = Schema::builder()
        .field(Field::string("email").required().format(Format::Email))
        .field(Field::integer("age").nullable().min(0))
        .build()
        .unwrap();
    let good = Contact {
        email: "ada@example.com".into(),
        age: None,
    };
    assert_eq!(schema.validate_serialize(&good, Mode::Full), Ok(()));
    let bad = Contact {
        email: "ada".into(),
        age: Some(-1),
    };
    let err = schema.validate_serialize(&bad, Mode::Full).unwrap_err();
    assert_eq!(err.len(), 2);
    // A map with non-string keys cannot be a JSON object.
    let weird: std::collections::BTreeMap<(i32, i32), i32> = [((1, 2), 3)].into();
    let err = schema.validate_serialize(&weird, Mode::Full).unwrap_err();
    assert_eq!(err.as_slice()[0].code, ViolationCode::NotSerializable);
    // A Serialize type that is not a map is not an object.
    let err = schema
        .validate_serialize(&[1, 2], Mode::Partial)
        .unwrap_err();
    assert_eq!(err.as_slice()[0].code, ViolationCode::NotAnObject);
}
