//! Partial mode, non-object records and deep nesting.

use dbsync_validate::{Field, MAX_DEPTH, Mode, Schema, ValidateOptions, ViolationCode};
use serde_json::{Map, Value, json};

fn schema() -> Schema {
    Schema::builder()
        .field(Field::string("email").required().max_length(20))
        .field(Field::string("name").required())
        .field(Field::integer("age").min(0))
        .field(Field::object("meta"))
        .field(Field::array("tags"))
        .build()
        .unwrap()
}

#[test]
fn partial_mode_accepts_absent_fields_and_checks_present_ones() {
    let s = schema();
    assert_eq!(s.validate_partial(&json!({})), Ok(()));
    assert_eq!(s.validate_partial(&json!({"age": 4})), Ok(()));
    let err = s
        .validate_partial(&json!({"email": 5, "age": -1, "other": 1}))
        .unwrap_err();
    let got: Vec<_> = err
        .iter()
        .map(|v| (v.field.as_str(), v.code.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("email", "type"),
            ("age", "min"),
            ("other", "unknown_field")
        ]
    );
    // A required field present as null in an update is still refused (it is not nullable).
    let err = s.validate_partial(&json!({"name": null})).unwrap_err();
    assert_eq!(err.as_slice()[0].code, ViolationCode::Null);
    // The same through the options and the Serialize entry point.
    assert_eq!(
        s.validate_with(&json!({"age": 1}), &ValidateOptions::partial()),
        Ok(())
    );
    assert!(
        s.validate_with(&json!({"age": 1}), &ValidateOptions::new())
            .is_err()
    );
    assert_eq!(
        s.validate_serialize(&json!({"age": 1}), Mode::Partial),
        Ok(())
    );
    // Full mode reports the missing required fields.
    let err = s.validate(&json!({"age": 1})).unwrap_err();
    assert_eq!(err.len(), 2);
}

#[test]
fn records_that_are_not_objects_give_one_violation() {
    let s = schema();
    for (record, kind) in [
        (json!(null), "null"),
        (json!(1), "an integer"),
        (json!(1.5), "a number"),
        (json!("x"), "a string"),
        (json!(true), "a boolean"),
        (json!([{"email": "a"}]), "an array"),
    ] {
        for result in [s.validate(&record), s.validate_partial(&record)] {
            let err = result.unwrap_err();
            assert_eq!(err.len(), 1);
            let v = &err.as_slice()[0];
            assert_eq!(
                (v.field.as_str(), &v.code),
                ("", &ViolationCode::NotAnObject)
            );
            assert_eq!(
                v.message,
                format!("a record must be a JSON object, found {kind}")
            );
        }
    }
}

/// An array nested `levels` deep, built without recursion.
fn nested(levels: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..levels {
        v = Value::Array(vec![v]);
    }
    v
}

/// Drops a deep value without recursion (serde_json's own drop recurses).
fn dismantle(mut v: Value) {
    loop {
        v = match v {
            Value::Array(mut items) => match items.pop() {
                Some(inner) => inner,
                None => return,
            },
            Value::Object(map) => match map.into_iter().next() {
                Some((_, inner)) => inner,
                None => return,
            },
            _ => return,
        };
    }
}

#[test]
fn deeply_nested_values_are_refused_without_overflowing_the_stack() {
    let s = schema();
    // The record is one level: a field may hold MAX_DEPTH - 1 more.
    let ok = json!({"tags": nested(MAX_DEPTH - 1)});
    assert_eq!(
        s.validate(&json!({"email": "a", "name": "b", "tags": nested(MAX_DEPTH - 1)})),
        s.validate(&json!({"email": "a", "name": "b", "tags": []}))
    );
    assert_eq!(s.validate_partial(&ok), Ok(()));
    // Such a record survives a round trip through JSON text.
    let text = serde_json::to_string(&ok).unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_ok());

    let too_deep = json!({"tags": nested(MAX_DEPTH)});
    let err = s.validate_partial(&too_deep).unwrap_err();
    assert_eq!(err.as_slice()[0].code, ViolationCode::TooDeep);
    assert_eq!(err.as_slice()[0].field, "tags");
    dismantle(too_deep);

    // Far deeper than any stack could recurse: still a violation, not a crash.
    let mut meta = Map::new();
    meta.insert("x".into(), nested(1_000_000));
    let mut record = Map::new();
    record.insert("meta".into(), Value::Object(meta));
    let record = Value::Object(record);
    let err = s.validate_partial(&record).unwrap_err();
    assert_eq!(err.as_slice()[0].code, ViolationCode::TooDeep);
    // Also in an additional field of an open schema.
    let open = Schema::open();
    let err = open.validate(&record).unwrap_err();
    assert_eq!(
        (err.as_slice()[0].field.as_str(), &err.as_slice()[0].code),
        ("meta", &ViolationCode::TooDeep)
    );
    // And in a field of the wrong type or an unknown field, which are not descended into.
    let closed = Schema::builder()
        .field(Field::string("meta"))
        .build()
        .unwrap();
    assert_eq!(
        closed.validate(&record).unwrap_err().as_slice()[0].code,
        ViolationCode::Type
    );
    let none = Schema::builder().build().unwrap();
    assert_eq!(
        none.validate(&record).unwrap_err().as_slice()[0].code,
        ViolationCode::UnknownField
    );
    dismantle(record);
}

#[test]
fn an_object_map_is_checked_like_the_object() {
    let s = schema();
    let Value::Object(good) = json!({"email": "a", "name": "b"}) else {
        unreachable!()
    };
    assert_eq!(
        s.validate_object_with(&good, &ValidateOptions::new()),
        Ok(())
    );
    let Value::Object(bad) = json!({"email": 1, "zzz": 0}) else {
        unreachable!()
    };
    let via_map = s
        .validate_object_with(&bad, &ValidateOptions::new())
        .unwrap_err();
    assert_eq!(
        via_map,
        s.validate(&Value::Object(bad.clone())).unwrap_err()
    );
    assert_eq!(via_map.len(), 3);
    let partial = s
        .validate_object_with(&bad, &ValidateOptions::partial())
        .unwrap_err();
    assert_eq!(partial.len(), 2);
}
