//! Messages (and secrets never appearing in them), and the contract's error body.

use dbsync_validate::{
    ErrorBody, ErrorDetail, ErrorObject, Field, Format, Schema, Violation, ViolationCode,
    Violations, is_secret_name,
};
use serde_json::json;

#[test]
fn secret_named_fields_never_have_their_values_in_messages() {
    const SECRET: &str = "hunter2-SuperSecret-Value";
    let names = [
        "password",
        "api_token",
        "clientSecret",
        "API_KEY",
        "Passwords",
        "refreshToken",
        "passphrase",
        "db_pwd",
        "session_id",
        "Authorization",
        "credentials",
        "userSSN",
        "cardPin",
    ];
    for name in names {
        assert!(is_secret_name(name), "{name}");
        let schema = Schema::builder()
            .field(
                Field::string(name)
                    .min_length(100)
                    .max_length(200)
                    .pattern("^[0-9]+$")
                    .format(Format::Uuid)
                    .enum_values(["a".repeat(120)]),
            )
            .build()
            .unwrap();
        let err = schema.validate(&json!({ name: SECRET })).unwrap_err();
        assert_eq!(err.len(), 4, "{err}");
        let everything = format!(
            "{err} {err:?} {}",
            serde_json::to_string(&err.to_error_body()).unwrap()
        );
        assert!(!everything.contains("hunter2"), "{everything}");
        assert!(
            !everything.contains("25"),
            "length of a secret leaked: {everything}"
        );
        // Type errors and bounds on numbers do not quote the value either.
        let numeric = Schema::builder()
            .field(Field::integer(name).max(10))
            .build()
            .unwrap();
        for value in [json!(987_654_321), json!(98_765.432_1), json!("987654321")] {
            let err = numeric.validate(&json!({ name: value })).unwrap_err();
            assert!(!format!("{err:?}").contains("98765"), "{err:?}");
        }
    }
    // Ordinary fields do quote the value, which helps.
    let schema = Schema::builder()
        .field(Field::string("nickname").pattern("^[a-z]+$"))
        .build()
        .unwrap();
    let err = schema
        .validate(&json!({"nickname": "Bad Name"}))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"nickname must match the pattern "^[a-z]+$", found the string "Bad Name""#
    );
    assert!(!is_secret_name("email") && !is_secret_name("name"));
    // Names that merely contain a short secret word inside another word quote the value too.
    for name in ["country", "business_name", "shipping", "author", "passport"] {
        assert!(!is_secret_name(name), "{name}");
        let schema = Schema::builder()
            .field(Field::string(name).pattern("^[a-z]+$"))
            .build()
            .unwrap();
        let err = schema.validate(&json!({ name: "Bad Value" })).unwrap_err();
        assert!(err.to_string().contains("\"Bad Value\""), "{err}");
    }
}

#[test]
fn long_values_are_shortened_in_messages() {
    let schema = Schema::builder()
        .field(Field::string("bio").max_length(5).pattern("^x"))
        .build()
        .unwrap();
    let long = "y".repeat(10_000);
    let err = schema.validate(&json!({ "bio": long })).unwrap_err();
    for v in &err {
        assert!(v.message.len() < 200, "{}", v.message);
    }
}

#[test]
fn messages_name_the_field_what_was_expected_and_what_was_found() {
    let schema = Schema::builder()
        .field(Field::string("email").format(Format::Email))
        .field(Field::integer("age"))
        .field(Field::date("born"))
        .field(Field::string("name"))
        .build()
        .unwrap();
    let err = schema
        .validate(&json!({"email": "ada", "age": "36", "born": "2026-02-30", "name": null}))
        .unwrap_err();
    let messages: Vec<&str> = err.iter().map(|v| v.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            r#"email must be an email address like name@example.com, found the string "ada""#,
            r#"age must be an integer, found the string "36""#,
            r#"born must be a date YYYY-MM-DD that exists in the calendar, found the string "2026-02-30""#,
            "name must not be null (expected a string)",
        ]
    );
}

#[test]
fn error_body_has_the_contract_shape_and_round_trips() {
    let schema = Schema::builder()
        .field(Field::string("email").required())
        .field(Field::integer("age").min(0))
        .build()
        .unwrap();
    let violations = schema.validate(&json!({"age": -1})).unwrap_err();
    let body = violations.to_error_body();
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"error": {
            "code": 400,
            "message": "Invalid field values (2): email is required; age must be at least 0, found the integer -1",
            "details": [
                {"field": "email", "message": "email is required", "code": "required"},
                {"field": "age", "message": "age must be at least 0, found the integer -1", "code": "min"}
            ]
        }})
    );
    let parsed: ErrorBody = serde_json::from_str(&serde_json::to_string(&body).unwrap()).unwrap();
    assert_eq!(parsed, body);
    assert_eq!(Violations::from_error_body(&parsed), violations);
    assert_eq!(ErrorBody::from(&violations), body);
}

#[test]
fn error_bodies_from_a_server_without_codes_or_details_are_read() {
    let body: ErrorBody = serde_json::from_value(json!({"error": {
        "code": 400, "message": "Invalid field value",
        "details": [{"field": "email", "message": "email is taken"}, {"field": "x", "message": "m", "code": "custom_rule"}]
    }}))
    .unwrap();
    let v = Violations::from_error_body(&body);
    assert_eq!(
        v.into_vec(),
        [
            Violation::new("email", ViolationCode::Invalid, "email is taken"),
            Violation::new("x", ViolationCode::Other("custom_rule".into()), "m"),
        ]
    );
    // Without details: one whole-record violation with the message.
    let bare: ErrorBody =
        serde_json::from_value(json!({"error": {"code": 400, "message": "Invalid field value"}}))
            .unwrap();
    assert_eq!(bare.error.details, Vec::<ErrorDetail>::new());
    let v = Violations::from_error_body(&bare);
    assert_eq!(
        v.as_slice(),
        [Violation::new(
            "",
            ViolationCode::Invalid,
            "Invalid field value"
        )]
    );
    // Serializing a body without details leaves `details` out, as in the product guide.
    assert_eq!(
        serde_json::to_value(ErrorBody::new(404, "Not found")).unwrap(),
        json!({"error": {"code": 404, "message": "Not found"}})
    );
    let with = ErrorBody::new(400, "m").with_details(vec![ErrorDetail::new("f", "x")]);
    assert_eq!(
        serde_json::to_value(&with).unwrap()["error"]["details"],
        json!([{"field": "f", "message": "x"}])
    );
    assert_eq!(
        Violations::from_error_object(&ErrorObject::new(400, "m")).len(),
        1
    );
}

#[test]
fn every_code_has_a_stable_wire_form() {
    let codes = [
        (ViolationCode::Required, "required"),
        (ViolationCode::Type, "type"),
        (ViolationCode::Format, "format"),
        (ViolationCode::Min, "min"),
        (ViolationCode::Max, "max"),
        (ViolationCode::MinLength, "min_length"),
        (ViolationCode::MaxLength, "max_length"),
        (ViolationCode::Pattern, "pattern"),
        (ViolationCode::Enum, "enum"),
        (ViolationCode::Unique, "unique"),
        (ViolationCode::UnknownField, "unknown_field"),
        (ViolationCode::Null, "null"),
        (ViolationCode::NotAnObject, "not_an_object"),
        (ViolationCode::TooDeep, "too_deep"),
        (ViolationCode::NotSerializable, "not_serializable"),
        (ViolationCode::Invalid, "invalid"),
    ];
    for (code, text) in codes {
        assert_eq!(code.as_str(), text);
        assert_eq!(ViolationCode::parse(text), code);
        assert_eq!(serde_json::to_value(&code).unwrap(), json!(text));
    }
}

#[test]
fn violations_display_and_error() {
    let one: Violations = vec![Violation::new(
        "a",
        ViolationCode::Required,
        "a is required",
    )]
    .into();
    assert_eq!(one.to_string(), "a is required");
    let err: Box<dyn std::error::Error> = Box::new(one.clone());
    assert_eq!(err.to_string(), "a is required");
    assert_eq!(Violations::new().to_string(), "no violations");
    assert!(Violations::new().into_result().is_ok());
    assert_eq!(one.for_field("a").count(), 1);
    assert!(one.has_code(&ViolationCode::Required));
}
