//! `Samples`: seeded valid records pass `validate`, invalid ones fail with exactly the named
//! violation, across a schema with every type, format and constraint.

use std::collections::{HashMap, HashSet};

use dbsync_validate::{Field, Format, SampleError, Samples, Schema, ViolationCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

mod common;

fn every_kind() -> Schema {
    Schema::builder()
        .field(
            Field::string("email")
                .required()
                .unique()
                .format(Format::Email)
                .max_length(40),
        )
        .field(Field::string("website").format(Format::Url).nullable())
        .field(Field::string("uuid").unique().format(Format::Uuid))
        .field(
            Field::string("code")
                .required()
                .pattern(r"^[A-Z]{2}-\d{4}$")
                .unique(),
        )
        .field(
            Field::string("slug")
                .pattern("^[a-z]+(-[a-z]+)*$")
                .min_length(3)
                .max_length(12),
        )
        .field(Field::string("nick").min_length(2).max_length(8).nullable())
        .field(
            Field::string("status")
                .required()
                .enum_values(["lead", "active", "gone"]),
        )
        .field(
            Field::string("mail_or_id")
                .format(Format::Email)
                .pattern("^[a-z0-9]+@"),
        )
        .field(Field::string("vorname ünï"))
        .field(Field::integer("age").min(0).max(150))
        .field(Field::integer("seq").required().unique().min(1))
        .field(Field::integer("level").enum_values([1, 2, 3]))
        .field(Field::integer("half").min(0.5).max(10.5))
        .field(
            Field::number("balance")
                .min(-1000.5)
                .max(1000.25)
                .nullable(),
        )
        .field(Field::number("ratio").max(1))
        .field(Field::boolean("vip").required())
        .field(Field::date("birthday").nullable())
        .field(Field::date("day").required().unique())
        .field(Field::datetime("signed_up_at").required())
        .field(Field::datetime("seen_at").unique())
        .field(Field::object("meta"))
        .field(Field::array("tags").min_length(1).max_length(5))
        .build()
        .unwrap()
}

#[test]
fn ten_thousand_valid_records_pass_and_unique_values_never_repeat() {
    let schema = every_kind();
    let mut samples = Samples::new(&schema, 7);
    let unique: Vec<&str> = schema
        .fields()
        .iter()
        .filter(|f| f.is_unique())
        .map(|f| f.name())
        .collect();
    let mut seen: HashMap<&str, HashSet<String>> = HashMap::new();
    let (mut absent, mut null) = (0usize, 0usize);
    for _ in 0..10_000 {
        let record = samples.valid().unwrap();
        if let Err(v) = schema.validate(&record) {
            panic!("{record} is not valid: {v}");
        }
        for name in &unique {
            if let Some(value) = record.get(*name).filter(|v| !v.is_null()) {
                assert!(
                    seen.entry(name).or_default().insert(value.to_string()),
                    "{name} repeats {value}"
                );
            }
        }
        absent += usize::from(record.get("nick").is_none());
        null += usize::from(record.get("nick").is_some_and(Value::is_null));
    }
    // Optional fields are sometimes absent, nullable ones sometimes null.
    assert!(absent > 1000 && null > 500, "absent {absent}, null {null}");
}

#[test]
fn every_invalid_record_fails_with_exactly_the_named_violation() {
    let schema = every_kind();
    let mut samples = Samples::new(&schema, 11);
    let mut codes = HashSet::new();
    for _ in 0..3_000 {
        let bad = samples.invalid().unwrap();
        let violations = schema.validate(&bad.record).unwrap_err();
        let found: Vec<_> = violations
            .iter()
            .map(|v| (v.field.as_str(), &v.code))
            .collect();
        assert_eq!(
            found,
            [(bad.field.as_str(), &bad.code)],
            "record {}",
            bad.record
        );
        codes.insert(bad.code.clone());
    }
    for code in [
        ViolationCode::Required,
        ViolationCode::Null,
        ViolationCode::Type,
        ViolationCode::Format,
        ViolationCode::Min,
        ViolationCode::Max,
        ViolationCode::MinLength,
        ViolationCode::MaxLength,
        ViolationCode::Pattern,
        ViolationCode::Enum,
        ViolationCode::UnknownField,
    ] {
        assert!(codes.contains(&code), "no invalid sample with {code}");
    }
}

#[test]
fn the_same_seed_gives_the_same_records() {
    let schema = every_kind();
    let draw = |seed| {
        let mut samples = Samples::new(&schema, seed);
        (0..20)
            .map(|_| (samples.valid().unwrap(), samples.invalid().unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(1), draw(1));
    assert_ne!(draw(1), draw(2));
}

#[test]
fn additional_fields_are_sometimes_added_and_never_server_fields() {
    let schema = Schema::builder()
        .field(Field::string("name"))
        .additional_fields(true)
        .build()
        .unwrap();
    let mut samples = Samples::new(&schema, 3);
    let mut extra = 0;
    for _ in 0..400 {
        let record = samples.valid().unwrap();
        assert!(schema.validate(&record).is_ok());
        for key in ["id", "created_at", "updated_at"] {
            assert!(record.get(key).is_none());
        }
        extra += usize::from(record.as_object().unwrap().keys().any(|k| k != "name"));
    }
    assert!(extra > 50, "{extra}");
}

#[test]
fn contradicting_constraints_are_an_error_naming_the_field() {
    let schema = Schema::builder()
        .field(
            Field::string("code")
                .required()
                .pattern("^a$")
                .min_length(3),
        )
        .build()
        .unwrap();
    let err = Samples::new(&schema, 1).valid().unwrap_err();
    assert!(
        matches!(&err, SampleError::Unsatisfiable { field, .. } if field == "code"),
        "{err}"
    );
    // A unique boolean has two values; the third required record cannot have one.
    let schema = Schema::builder()
        .field(Field::boolean("flag").required().unique())
        .build()
        .unwrap();
    let mut samples = Samples::new(&schema, 1);
    let (a, b) = (samples.valid().unwrap(), samples.valid().unwrap());
    assert_ne!(a, b);
    assert!(matches!(
        samples.valid(),
        Err(SampleError::Unsatisfiable { .. })
    ));
    // An over-long minimum length is refused, not allocated.
    let schema = Schema::builder()
        .field(Field::string("huge").required().min_length(1 << 40))
        .build()
        .unwrap();
    assert!(Samples::new(&schema, 1).valid().is_err());
}

#[test]
fn an_open_schema_has_nothing_to_break() {
    let schema = Schema::open();
    let mut samples = Samples::new(&schema, 1);
    // Valid records of an open schema: at most an extra field.
    assert!(samples.valid().unwrap().as_object().unwrap().len() <= 1);
    assert_eq!(samples.invalid().unwrap_err(), SampleError::NothingToBreak);
}

#[test]
fn random_schemas_give_valid_and_exactly_invalid_records() {
    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop::collection::vec(common::spec(), 0..=common::NAMES.len()),
        any::<bool>(),
        any::<u64>(),
    );
    let outcome = std::cell::Cell::new((0usize, 0usize));
    runner
        .run(&strategy, |(specs, additional, seed)| {
            let schema = common::build(&specs, additional);
            let mut samples = Samples::new(&schema, seed);
            let (mut made, mut unsatisfiable) = outcome.get();
            for _ in 0..20 {
                match samples.valid() {
                    Ok(record) => {
                        prop_assert!(schema.validate(&record).is_ok(), "{}", record);
                        made += 1;
                    }
                    // Some drawn schemas contradict themselves (a pattern of 7 characters with
                    // max_length 3, a unique boolean): the error names a field of the schema.
                    Err(SampleError::Unsatisfiable { field, .. }) => {
                        prop_assert!(schema.field(&field).is_some());
                        unsatisfiable += 1;
                        break;
                    }
                    Err(other) => prop_assert!(false, "{}", other),
                }
                match samples.invalid() {
                    Ok(bad) => {
                        let violations = schema.validate(&bad.record).unwrap_err();
                        let found: Vec<_> = violations
                            .iter()
                            .map(|v| (v.field.as_str(), &v.code))
                            .collect();
                        prop_assert_eq!(found, [(bad.field.as_str(), &bad.code)]);
                    }
                    Err(SampleError::NothingToBreak) => prop_assert!(additional),
                    Err(SampleError::Unsatisfiable { .. }) => {
                        unsatisfiable += 1;
                        break;
                    }
                    Err(other) => prop_assert!(false, "{}", other),
                }
            }
            outcome.set((made, unsatisfiable));
            Ok(())
        })
        .unwrap();
    let (made, unsatisfiable) = outcome.get();
    // Most drawn schemas can be satisfied (the others contradict themselves or run out of
    // unique values within 20 records).
    assert!(made > 2000, "made {made}, unsatisfiable {unsatisfiable}");
}

#[test]
fn costly_patterns_and_extreme_bounds_end_quickly() {
    let started = std::time::Instant::now();
    // Nested repetitions of an assertion, a billion steps if followed naively: regex-syntax
    // folds them, and the draw also has a step budget (pattern::MAX_STEPS).
    let schema = Schema::builder()
        .field(
            Field::string("p")
                .required()
                .pattern("(?:(?:(?:^){1000}){1000}){1000}x"),
        )
        .build()
        .unwrap();
    let record = Samples::new(&schema, 1).valid().unwrap();
    assert!(schema.validate(&record).is_ok());
    let schema = Schema::builder()
        .field(Field::number("n").required().min(-1e308).max(1e308))
        .field(Field::integer("i").required().min(i64::MIN).max(i64::MAX))
        .field(Field::number("tiny").required().min(f64::MAX))
        .build()
        .unwrap();
    let mut samples = Samples::new(&schema, 1);
    for _ in 0..100 {
        let record = samples.valid().unwrap();
        assert!(schema.validate(&record).is_ok(), "{record}");
        let bad = samples.invalid().unwrap();
        assert!(schema.validate(&bad.record).is_err());
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}
