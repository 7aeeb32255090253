//! The `dbsync-sandbox` binary's `--resource`, `--fixtures`, `--generate` and `--seed` flags.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// Stops the process even when an assertion fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("binary_resources")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn files(test: &str, fixtures: &str) -> (PathBuf, PathBuf) {
    let dir = dir(test);
    let schema = json!({"fields": [
        {"name": "title", "type": "string", "required": true},
        {"name": "pages", "type": "integer", "min": 1}
    ], "additional_fields": false});
    let schema_path = dir.join("books.json");
    std::fs::write(&schema_path, schema.to_string()).unwrap();
    let fixtures_path = dir.join("books.jsonl");
    std::fs::write(&fixtures_path, fixtures).unwrap();
    (schema_path, fixtures_path)
}

fn sandbox(schema: &Path, fixtures: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbsync-sandbox"));
    command.args(["--port", "0", "--records", "0", "--seed", "3"]);
    command
        .arg("--resource")
        .arg(format!("books={}", schema.display()));
    command
        .arg("--fixtures")
        .arg(format!("books={}", fixtures.display()));
    command.args(["--generate", "books=5"]);
    command
}

async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn resources_fixtures_and_generated_rows_are_served() {
    let (schema, fixtures) = files("served", "{\"title\": \"Dune\", \"pages\": 412}\n");
    let mut child = sandbox(&schema, &fixtures)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let _running = Running(child);
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line.trim_end().to_owned());
    }
    let base = lines[0].clone();
    assert!(
        lines[2].starts_with("resource: books (6 rows) at "),
        "{lines:?}"
    );
    let (status, page) = get(&format!("{base}/v1/books")).await;
    assert_eq!(status, 200);
    let data = page["data"].as_array().unwrap();
    assert_eq!(data.len(), 6);
    assert_eq!(data[0]["title"], "Dune");
    let (_, schema) = get(&format!("{base}/v1/books/schema")).await;
    let schema = dbsync_sandbox::Schema::from_json(&schema).unwrap();
    for record in data {
        let mut record = record.clone();
        for name in ["id", "created_at", "updated_at"] {
            record.as_object_mut().unwrap().remove(name);
        }
        assert_eq!(schema.validate(&record), Ok(()), "{record}");
    }
    let client = reqwest::Client::new();
    let refused = client
        .post(format!("{base}/v1/books"))
        .json(&json!({"pages": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 400);
}

#[test]
fn a_bad_fixture_line_stops_the_start_naming_file_and_line() {
    let (schema, fixtures) = files("bad_line", "{\"title\": \"Dune\"}\n{\"pages\": 3}\n");
    let output = sandbox(&schema, &fixtures).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty(), "nothing served: {output:?}");
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("books.jsonl line 2") && error.contains("title"),
        "{error}"
    );
}

#[test]
fn a_bad_schema_file_or_flag_stops_the_start() {
    let (schema, fixtures) = files("bad_schema", "");
    std::fs::write(&schema, "{\"fields\": 3}").unwrap();
    let output = sandbox(&schema, &fixtures).output().unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("books.json") && error.contains("schema"),
        "{error}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_dbsync-sandbox"))
        .args(["--generate", "books"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("NAME=VALUE"), "{error}");
}
