//! Resources of one's own: a schema (value or file), fixture rows (values or a JSON Lines
//! file) and rows generated from the schema, checked like creates, with clear startup errors.

mod common;

use std::path::PathBuf;

use common::*;
use dbsync_sandbox::{Sandbox, SandboxError, Schema, StoreLimits};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn widgets_schema_json() -> Value {
    json!({
        "fields": [
            {"name": "name", "type": "string", "required": true, "min_length": 1, "max_length": 40},
            {"name": "sku", "type": "string", "required": true, "unique": true, "pattern": "^[A-Z]{3}-[0-9]{4}$"},
            {"name": "price", "type": "number", "min": 0},
            {"name": "kind", "type": "string", "enum": ["gear", "bolt"]},
            {"name": "launched", "type": "date", "nullable": true}
        ],
        "additional_fields": false
    })
}

fn widgets_schema() -> Schema {
    Schema::from_json(&widgets_schema_json()).unwrap()
}

/// A fresh directory for this test's files.
fn dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("custom_resources")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn widget(n: usize) -> Value {
    json!({"name": format!("widget {n}"), "sku": format!("WID-{n:04}"), "price": 2.5, "kind": "gear"})
}

async fn list(sb: &Sandbox, resource: &str) -> Vec<Value> {
    let page = body(
        reqwest::get(url(sb, &format!("/v1/{resource}?limit=1000")))
            .await
            .unwrap(),
    )
    .await;
    page["data"].as_array().cloned().unwrap_or_default()
}

/// A listed record without the server's fields.
fn fields(record: &Value) -> Value {
    let mut record = record.clone();
    for name in ["id", "created_at", "updated_at"] {
        record.as_object_mut().unwrap().remove(name);
    }
    record
}

#[tokio::test]
async fn a_resource_from_a_schema_file_accepts_valid_and_refuses_invalid_records() {
    let dir = dir("schema_file");
    let path = write(&dir, "widgets.json", &widgets_schema_json().to_string());
    let (sb, http) = start(Sandbox::builder().schema_file("widgets", &path)).await;
    let created = http
        .post(url(&sb, "/v1/widgets"))
        .json(&widget(1))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let bad = http
        .post(url(&sb, "/v1/widgets"))
        .json(&json!({"name": "", "sku": "nope", "kind": "nut", "color": "red"}))
        .send()
        .await
        .unwrap();
    let error = expect_error(bad, StatusCode::BAD_REQUEST).await;
    let mut fields = detail_fields(&error);
    fields.sort();
    assert_eq!(fields, ["color", "kind", "name", "sku"], "{error}");
    let again = http
        .post(url(&sb, "/v1/widgets"))
        .json(&widget(1))
        .send()
        .await
        .unwrap();
    let error = expect_error(again, StatusCode::BAD_REQUEST).await;
    assert_eq!(detail_fields(&error), ["sku"], "unique: {error}");
    assert_eq!(
        sb.record_count("widgets"),
        1,
        "nothing stored but the valid one"
    );
    let schema = body(reqwest::get(url(&sb, "/v1/widgets/schema")).await.unwrap()).await;
    assert_eq!(Schema::from_json(&schema).unwrap(), widgets_schema());
}

#[tokio::test]
async fn fixtures_from_values_and_a_file_load_in_order_and_list() {
    let dir = dir("fixtures");
    let lines = format!("{}\n\n{}\r\n{}", widget(3), widget(4), widget(5));
    let path = write(&dir, "widgets.jsonl", &lines);
    let (sb, _) = start(
        Sandbox::builder()
            .schema("widgets", widgets_schema())
            .fixtures("widgets", [widget(1), widget(2)])
            .fixtures_file("widgets", &path)
            .fixtures("notes", [json!({"free": ["form"]})]),
    )
    .await;
    let listed = list(&sb, "widgets").await;
    let ids: Vec<u64> = listed.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    let rows: Vec<Value> = listed.iter().map(fields).collect();
    assert_eq!(rows, (1..=5).map(widget).collect::<Vec<_>>());
    assert_eq!(
        sb.record_count("notes"),
        1,
        "a resource without schema takes any object"
    );
}

async fn refused(builder: dbsync_sandbox::SandboxBuilder) -> String {
    match builder.start().await {
        Ok(sb) => panic!("started at {}", sb.base_url()),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn a_bad_fixture_line_is_a_startup_error_naming_file_and_line() {
    let dir = dir("bad_line");
    let base = || Sandbox::builder().schema("widgets", widgets_schema());
    let not_json = write(&dir, "a.jsonl", &format!("{}\n{{\"name\": \n", widget(1)));
    let error = base()
        .fixtures_file("widgets", &not_json)
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SandboxError::FixtureFile { line: 2, path, .. } if *path == not_json),
        "{error}"
    );
    assert!(error.to_string().contains("a.jsonl") && error.to_string().contains("line 2"));

    let invalid = format!("{}\n{}\n", widget(1), json!({"name": "x", "sku": "bad"}));
    let invalid = write(&dir, "b.jsonl", &invalid);
    let message = refused(base().fixtures_file("widgets", &invalid)).await;
    assert!(
        message.contains("b.jsonl line 2") && message.contains("sku"),
        "{message}"
    );

    let duplicate = write(&dir, "c.jsonl", &format!("{}\n{}\n", widget(1), widget(1)));
    let message = refused(base().fixtures_file("widgets", &duplicate)).await;
    assert!(
        message.contains("c.jsonl line 2") && message.contains("sku"),
        "{message}"
    );

    let server_field = write(
        &dir,
        "d.jsonl",
        &json!({"id": 9, "name": "x", "sku": "ABC-0001"}).to_string(),
    );
    let message = refused(base().fixtures_file("widgets", &server_field)).await;
    assert!(
        message.contains("d.jsonl line 1") && message.contains("read-only"),
        "{message}"
    );

    let array = write(&dir, "e.jsonl", "[1, 2]\n");
    let message = refused(base().fixtures_file("widgets", &array)).await;
    assert!(
        message.contains("e.jsonl line 1") && message.contains("object"),
        "{message}"
    );

    let message =
        refused(base().fixtures("widgets", [widget(1), json!({"sku": "ABC-0002"})])).await;
    assert!(
        message.contains("row 2") && message.contains("name"),
        "{message}"
    );

    let missing = dir.join("missing.jsonl");
    let message = refused(base().fixtures_file("widgets", &missing)).await;
    assert!(message.contains("missing.jsonl"), "{message}");
}

#[tokio::test]
async fn fixture_files_and_rows_are_bounded() {
    let dir = dir("limits");
    let limited = |edit: fn(&mut StoreLimits)| {
        let mut limits = StoreLimits::default();
        edit(&mut limits);
        Sandbox::builder()
            .schema("widgets", widgets_schema())
            .store_limits(limits)
    };
    let text: String = (1..=3).map(|n| format!("{}\n", widget(n))).collect();
    let path = write(&dir, "w.jsonl", &text);
    let line_len = widget(1).to_string().len();

    let message =
        refused(limited(|l| l.max_fixture_rows = 2).fixtures_file("widgets", &path)).await;
    assert!(
        message.contains("line 3") && message.contains("max_fixture_rows"),
        "{message}"
    );
    let message = refused(limited(|l| l.max_fixture_rows = 2).generate("widgets", 3)).await;
    assert!(message.contains("generated row 3"), "{message}");

    let mut limits = StoreLimits::default();
    limits.max_fixture_line_bytes = line_len - 1;
    let builder = Sandbox::builder().store_limits(limits.clone());
    let message = refused(builder.fixtures_file("widgets", &path)).await;
    assert!(
        message.contains("line 1") && message.contains("max_fixture_line_bytes"),
        "{message}"
    );
    // A line of exactly the limit is fine.
    limits.max_fixture_line_bytes = line_len;
    let (sb, _) = start(
        Sandbox::builder()
            .store_limits(limits)
            .fixtures_file("widgets", &path),
    )
    .await;
    assert_eq!(sb.record_count("widgets"), 3);

    let message =
        refused(limited(|l| l.max_fixture_bytes = 100).fixtures_file("widgets", &path)).await;
    assert!(
        message.contains("line 2") && message.contains("max_fixture_bytes"),
        "{message}"
    );
}

#[tokio::test]
async fn a_bad_schema_file_is_a_startup_error_naming_it() {
    let dir = dir("bad_schema");
    let cases = [
        ("not_json.json", "{\"fields\": [", "EOF"),
        (
            "bad_type.json",
            r#"{"fields": [{"name": "a", "type": "strnig"}]}"#,
            "strnig",
        ),
    ];
    for (file, text, says) in cases {
        let path = write(&dir, file, text);
        let error = Sandbox::builder()
            .schema_file("widgets", &path)
            .start()
            .await
            .unwrap_err();
        assert!(matches!(error, SandboxError::SchemaFile { .. }), "{error}");
        let message = error.to_string();
        assert!(
            message.contains(file) && message.contains("widgets"),
            "{message}"
        );
        assert!(message.contains(says), "{message}");
    }
    let message = refused(Sandbox::builder().schema_file("widgets", dir.join("nope.json"))).await;
    assert!(message.contains("nope.json"), "{message}");
    let big = write(
        &dir,
        "big.json",
        &" ".repeat(dbsync_sandbox::MAX_SCHEMA_FILE_BYTES as usize + 1),
    );
    let message = refused(Sandbox::builder().schema_file("widgets", &big)).await;
    assert!(message.contains("larger than"), "{message}");
    let message = refused(Sandbox::builder().schema_file("Bad Name", &big)).await;
    assert!(message.contains("not a valid resource name"), "{message}");
}

#[tokio::test]
async fn generated_rows_all_validate_and_are_reproducible_for_a_seed() {
    let builder = |seed: u64| {
        Sandbox::builder()
            .seed(seed)
            .schema("widgets", widgets_schema())
            .fixtures("widgets", [widget(1)])
            .generate("widgets", 200)
            .generate("records", 20)
    };
    let (a, _) = start(builder(7)).await;
    let (b, _) = start(builder(7)).await;
    let (c, _) = start(builder(8)).await;
    let rows = |listed: Vec<Value>| listed.iter().map(fields).collect::<Vec<_>>();
    let (rows_a, rows_b, rows_c) = (
        rows(list(&a, "widgets").await),
        rows(list(&b, "widgets").await),
        rows(list(&c, "widgets").await),
    );
    assert_eq!(rows_a.len(), 201);
    assert_eq!(rows_a, rows_b, "same seed, same rows");
    assert_ne!(rows_a, rows_c, "another seed, other rows");
    let schema = widgets_schema();
    for row in &rows_a {
        assert_eq!(schema.validate(row), Ok(()), "{row}");
    }
    let records = dbsync_sandbox::records_schema().unwrap();
    for row in rows(list(&a, "records").await) {
        assert_eq!(records.validate(&row), Ok(()), "{row}");
    }
    assert_eq!(a.record_count("records"), 20);

    let message = refused(Sandbox::builder().generate("notes", 1)).await;
    assert!(message.contains("no schema"), "{message}");
}
