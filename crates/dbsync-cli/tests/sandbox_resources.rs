//! `dbsync sandbox --resource NAME=SCHEMA_FILE --fixtures NAME=FILE --generate NAME=COUNT`.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Stdio};

use assert_cmd::Command;
use serde_json::{Value, json};

/// Stops the process even when an assertion fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write_files(dir: &Path, fixtures: &str) {
    let schema = json!({"fields": [
        {"name": "title", "type": "string", "required": true},
        {"name": "pages", "type": "integer", "min": 1}
    ], "additional_fields": false});
    std::fs::write(dir.join("books.json"), schema.to_string()).unwrap();
    std::fs::write(dir.join("books.jsonl"), fixtures).unwrap();
}

fn sandbox_args(dir: &Path) -> Vec<String> {
    let file = |name: &str| dir.join(name).display().to_string();
    vec![
        "sandbox".into(),
        "--port".into(),
        "0".into(),
        "--records".into(),
        "0".into(),
        "--resource".into(),
        format!("books={}", file("books.json")),
        "--fixtures".into(),
        format!("books={}", file("books.jsonl")),
        "--generate".into(),
        "books=4".into(),
        "--seed".into(),
        "11".into(),
    ]
}

fn dbsync() -> Command {
    let mut cmd = Command::cargo_bin("dbsync").unwrap();
    for var in [
        "DBSYNC_API_URL",
        "DBSYNC_AUTH_TYPE",
        "DBSYNC_TOKEN",
        "DBSYNC_CONFIG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn the_sandbox_serves_a_resource_with_its_fixtures_and_generated_rows() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), "{\"title\": \"Dune\", \"pages\": 412}\n");
    let bin = assert_cmd::cargo::cargo_bin("dbsync");
    let mut child = std::process::Command::new(&bin)
        .args(sandbox_args(dir.path()))
        .env("DBSYNC_CONFIG_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let _running = Running(child);
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line.trim_end().to_owned());
    }
    let url = lines[0].clone();
    assert!(
        lines[2].starts_with("resource: books (5 rows)"),
        "{lines:?}"
    );
    let list = |cmd: &mut Command| {
        let output = cmd
            .env("DBSYNC_CONFIG_DIR", dir.path())
            .args(["--url", &url, "--auth", "none"])
            .args(["list", "-r", "books", "--all", "--format", "jsonl"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let rows: Vec<Value> = list(&mut dbsync())
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["title"], "Dune");
    // The resource validates like `records`: an invalid create is refused.
    let output = dbsync()
        .env("DBSYNC_CONFIG_DIR", dir.path())
        .args(["--url", &url, "--auth", "none"])
        .args(["create", "-r", "books", "--data", "{\"pages\": 0}"])
        .output()
        .unwrap();
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("title") && stderr.contains("pages"),
        "{stderr}"
    );
}

#[test]
fn a_bad_fixture_line_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), "{\"title\": \"Dune\"}\nnot json\n");
    let output = dbsync()
        .env("DBSYNC_CONFIG_DIR", dir.path())
        .args(sandbox_args(dir.path()))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty(), "nothing served: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("books.jsonl") && stderr.contains("line 2"),
        "{stderr}"
    );
}
