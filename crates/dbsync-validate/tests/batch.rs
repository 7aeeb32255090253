//! Batch validation: per-record checks, uniqueness across the batch, and the uniqueness hook.

use std::collections::HashMap;
use std::sync::Mutex;

use dbsync_validate::{
    BatchOptions, Field, Format, Schema, UniqueLookup, ValidateOptions, ViolationCode,
};
use serde_json::{Value, json};

fn schema() -> Schema {
    Schema::builder()
        .field(
            Field::string("email")
                .required()
                .unique()
                .format(Format::Email),
        )
        .field(Field::integer("badge").unique().nullable())
        .field(Field::string("name"))
        .build()
        .unwrap()
}

/// A store of `(field, value) -> id`, counting lookups.
#[derive(Default)]
struct Store {
    owners: HashMap<(String, String), String>,
    calls: Mutex<Vec<(String, Value)>>,
}

impl Store {
    fn with(entries: &[(&str, Value, &str)]) -> Store {
        Store {
            owners: entries
                .iter()
                .map(|(f, v, id)| (((*f).to_owned(), v.to_string()), (*id).to_owned()))
                .collect(),
            calls: Mutex::default(),
        }
    }
    fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

impl UniqueLookup for Store {
    fn existing_owner(&self, field: &str, value: &Value) -> Option<String> {
        self.calls
            .lock()
            .unwrap()
            .push((field.to_owned(), value.clone()));
        self.owners
            .get(&(field.to_owned(), value.to_string()))
            .cloned()
    }
}

#[test]
fn second_occurrence_is_reported_with_the_index_of_the_first() {
    let records = [
        json!({"email": "a@example.com", "badge": 1}),
        json!({"email": "b@example.com", "badge": 2}),
        json!({"email": "c@example.com", "badge": 3}),
        json!({"email": "d@example.com", "badge": 4}),
        json!({"email": "d@example.com", "badge": 1.0}),
        json!({"email": "d@example.com", "badge": 5}),
    ];
    let report = schema().validate_batch(&records, &BatchOptions::new());
    assert_eq!(report.len(), 6);
    assert!(!report.is_ok());
    let failed: Vec<usize> = report.failures().map(|(i, _)| i).collect();
    assert_eq!(failed, [4, 5]);
    let four: Vec<_> = report
        .violations(4)
        .unwrap()
        .iter()
        .map(|v| (v.field.clone(), v.message.clone()))
        .collect();
    assert_eq!(
        four,
        [
            (
                "email".to_owned(),
                "email must be unique: the same value is at index 3 of this batch".to_owned()
            ),
            (
                "badge".to_owned(),
                "badge must be unique: the same value is at index 0 of this batch".to_owned()
            ),
        ]
    );
    // The third occurrence also points at the first.
    assert_eq!(
        report.violations(5).unwrap().as_slice()[0].message,
        "email must be unique: the same value is at index 3 of this batch"
    );
    assert!(report.violations(0).is_none());
    assert_eq!(report.failure_count(), 2);
}

#[test]
fn nulls_and_invalid_values_are_never_duplicates() {
    let records = [
        json!({"email": "a@example.com", "badge": null}),
        json!({"email": "b@example.com", "badge": null}),
        json!({"email": "nope"}),
        json!({"email": "nope"}),
    ];
    let report = schema().validate_batch(&records, &BatchOptions::new());
    assert!(report.result(0).unwrap().is_ok() && report.result(1).unwrap().is_ok());
    for i in [2, 3] {
        let codes: Vec<_> = report
            .violations(i)
            .unwrap()
            .iter()
            .map(|v| v.code.clone())
            .collect();
        assert_eq!(codes, [ViolationCode::Format]);
    }
}

#[test]
fn a_bad_record_does_not_fail_the_others() {
    let records = [
        json!({"email": "a@example.com"}),
        json!([1]),
        json!({"email": 3}),
        json!({"email": "b@example.com"}),
    ];
    let report = schema().validate_batch(&records, &BatchOptions::new());
    let results: Vec<bool> = report.results().iter().map(Result::is_ok).collect();
    assert_eq!(results, [true, false, false, true]);
    assert_eq!(
        report.violations(1).unwrap().as_slice()[0].code,
        ViolationCode::NotAnObject
    );
    assert!(schema().validate_batch(&[], &BatchOptions::new()).is_ok());
}

#[test]
fn lookup_reports_values_held_by_stored_records() {
    let store = Store::with(&[("email", json!("taken@example.com"), "17")]);
    let records = [
        json!({"email": "taken@example.com"}),
        json!({"email": "free@example.com"}),
    ];
    let report = schema().validate_batch(&records, &BatchOptions::new().lookup(&store));
    let v = &report.violations(0).unwrap().as_slice()[0];
    assert_eq!(v.code, ViolationCode::Unique);
    assert_eq!(
        v.message,
        "email must be unique: the same value is already used by record 17"
    );
    assert!(report.result(1).unwrap().is_ok());
    assert_eq!(
        store.calls(),
        [
            ("email".to_owned(), json!("taken@example.com")),
            ("email".to_owned(), json!("free@example.com"))
        ]
    );
}

#[test]
fn an_update_keeping_its_own_value_is_not_a_conflict() {
    let store = Store::with(&[
        ("email", json!("ada@example.com"), "7"),
        ("badge", json!(9), "8"),
    ]);
    let s = schema();
    let record = json!({"email": "ada@example.com"});
    // Single record.
    assert_eq!(
        s.validate_with(
            &record,
            &ValidateOptions::partial().lookup(&store).own_id("7")
        ),
        Ok(())
    );
    let err = s
        .validate_with(
            &record,
            &ValidateOptions::partial().lookup(&store).own_id("8"),
        )
        .unwrap_err();
    assert_eq!(err.as_slice()[0].code, ViolationCode::Unique);
    let err = s
        .validate_with(&record, &ValidateOptions::new().lookup(&store))
        .unwrap_err();
    assert_eq!(err.as_slice()[0].code, ViolationCode::Unique);
    // Batch update with ids by position.
    let records = [
        json!({"email": "ada@example.com"}),
        json!({"badge": 9}),
        json!({"badge": 9}),
    ];
    let options = BatchOptions::partial()
        .lookup(&store)
        .own_ids([Some("7"), Some("8"), None]);
    let report = s.validate_batch(&records, &options);
    assert!(report.result(0).unwrap().is_ok());
    assert!(report.result(1).unwrap().is_ok());
    assert_eq!(
        report.violations(2).unwrap().as_slice()[0].message,
        "badge must be unique: the same value is at index 1 of this batch"
    );
}

#[test]
fn lookup_is_not_asked_about_invalid_null_or_batch_duplicate_values() {
    let store = Store::default();
    let records = [
        json!({"email": "bad", "badge": null}),
        json!({"email": "a@example.com"}),
        json!({"email": "a@example.com"}),
    ];
    let report = schema().validate_batch(&records, &BatchOptions::new().lookup(&store));
    assert_eq!(report.failure_count(), 2);
    assert_eq!(
        store.calls(),
        [("email".to_owned(), json!("a@example.com"))]
    );
    // Without a lookup nothing is asked; validate() never asks.
    assert_eq!(
        schema().validate(&json!({"email": "a@example.com"})),
        Ok(())
    );
}

#[test]
fn batch_of_serialize_records() {
    #[derive(serde::Serialize)]
    struct Row<'a> {
        email: &'a str,
    }
    let rows = [
        Row {
            email: "a@example.com",
        },
        Row {
            email: "a@example.com",
        },
    ];
    let report = schema().validate_batch_serialize(&rows, &BatchOptions::new());
    assert_eq!(report.failures().map(|(i, _)| i).collect::<Vec<_>>(), [1]);
}
