//! A server's schema may carry descriptive members; a lenient parse ignores them but still
//! refuses what looks like a constraint.

use dbsync_validate::{Schema, SchemaError};
use serde_json::json;

#[test]
fn descriptive_members_are_ignored_leniently_and_refused_strictly() {
    let served = json!({
        "fields": [
            {"name": "email", "type": "string", "format": "email", "required": true,
             "label": "E-mail", "description": "Where we write to", "x-ui": {"widget": "email"}},
            {"name": "age", "type": "integer", "min": 0, "placeholder": "36"}
        ],
        "additional_fields": false,
        "description": "CRM contacts",
        "version": 3
    });
    assert!(matches!(
        Schema::from_json(&served),
        Err(SchemaError::UnknownMember { .. } | SchemaError::Malformed { .. })
    ));
    let schema = Schema::from_json_lenient(&served).expect("lenient parse");
    let plain = Schema::from_json(&json!({"fields": [
        {"name": "email", "type": "string", "format": "email", "required": true},
        {"name": "age", "type": "integer", "min": 0}
    ]}))
    .expect("strict parse");
    assert_eq!(schema, plain);
    // The constraints that were read are enforced.
    assert!(schema.validate(&json!({"age": -1})).is_err());
    let text = served.to_string();
    assert_eq!(Schema::from_json_str_lenient(&text).ok(), Some(plain));
}

#[test]
fn constraint_like_members_are_refused_even_leniently() {
    for member in [
        "max_lenght",
        "maxLength",
        "Required",
        "minimum",
        "exclusiveMaximum",
        "regex",
    ] {
        let doc = json!({"fields": [{"name": "a", "type": "string", member: 3}]});
        assert_eq!(
            Schema::from_json_lenient(&doc),
            Err(SchemaError::UnknownMember {
                field: "a".into(),
                member: member.into()
            }),
            "{member}"
        );
    }
    for member in ["additionalFields", "additional_field", "field"] {
        let doc = json!({"fields": [], member: true});
        let err = Schema::from_json_lenient(&doc).expect_err(member);
        assert!(err.to_string().contains(member), "{err}");
    }
}

#[test]
fn lenient_parse_still_refuses_unknown_types_and_formats() {
    let doc = json!({"fields": [{"name": "a", "type": "money", "label": "A"}]});
    assert!(matches!(
        Schema::from_json_lenient(&doc),
        Err(SchemaError::UnknownType { .. })
    ));
    let doc = json!({"fields": [{"name": "a", "type": "string", "format": "phone"}]});
    assert!(matches!(
        Schema::from_json_lenient(&doc),
        Err(SchemaError::UnknownFormat { .. })
    ));
}
