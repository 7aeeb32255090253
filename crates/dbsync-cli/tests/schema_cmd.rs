//! `dbsync schema` against the sandbox: the DBSync schema JSON, `--json-schema` and `--rust`.

mod common;

use dbsync_sandbox::{Sandbox, SandboxBuilder, Schema};
use serde_json::{Value, json};

/// A sandbox on a runtime that outlives the commands.
struct Env {
    sandbox: Sandbox,
    _runtime: tokio::runtime::Runtime,
}

impl Env {
    fn start(builder: SandboxBuilder) -> Self {
        let (runtime, sandbox) = common::start_checked(builder, 1);
        Self {
            sandbox,
            _runtime: runtime,
        }
    }

    /// `dbsync --url <sandbox> schema ARGS`: (exit code, stdout, stderr).
    fn schema(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = common::clean_command();
        let dir = tempfile::tempdir().unwrap();
        cmd.env("DBSYNC_CONFIG_DIR", dir.path());
        cmd.args(["--url", self.sandbox.base_url(), "--auth", "none", "schema"]);
        let output = cmd.args(args).output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

fn books() -> Schema {
    Schema::from_json(&json!({"fields": [
        {"name": "title", "type": "string", "required": true, "max_length": 200},
        {"name": "isbn", "type": "string", "unique": true, "pattern": "^[0-9]{13}$"},
        {"name": "pages", "type": "integer", "min": 1},
        {"name": "published", "type": "date", "nullable": true},
        {"name": "type", "type": "string", "enum": ["novel", "essay"]}
    ], "additional_fields": false}))
    .unwrap()
}

fn env() -> Env {
    Env::start(
        Sandbox::builder()
            .schema("book-list", books())
            .fixtures(
                "book-list",
                [json!({"title": "Dune", "pages": 412, "isbn": "9780441013593"})],
            )
            .seed_records(3),
    )
}

#[test]
fn without_a_flag_it_prints_the_dbsync_schema() {
    let env = env();
    let (code, stdout, stderr) = env.schema(&["-r", "book-list"]);
    assert_eq!(code, 0, "{stderr}");
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(Schema::from_json(&printed).unwrap(), books());
    let (code, stdout, _) = env.schema(&[]);
    assert_eq!(code, 0);
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        Schema::from_json(&printed).unwrap(),
        dbsync_sandbox::records_schema().unwrap()
    );
}

#[test]
fn json_schema_is_valid_json_and_accepts_what_the_server_returns() {
    let env = env();
    for (resource, schema) in [
        ("book-list", books()),
        ("records", dbsync_sandbox::records_schema().unwrap()),
    ] {
        let (code, stdout, stderr) = env.schema(&["-r", resource, "--json-schema"]);
        assert_eq!(code, 0, "{stderr}");
        let printed: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(printed, schema.to_json_schema());
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&printed)
            .unwrap();
        let records = env
            ._runtime
            .block_on(first_page(env.sandbox.base_url(), resource));
        assert!(!records.is_empty());
        for record in &records {
            assert!(validator.is_valid(record), "{resource}: {record}");
        }
        let mut bad = records[0].clone();
        bad["unknown_field"] = json!(1);
        assert!(!validator.is_valid(&bad), "additionalProperties: false");
    }
}

/// The first page of a resource, through the client.
async fn first_page(base_url: &str, resource: &str) -> Vec<Value> {
    let connection = dbsync_client::Connection::builder()
        .base_url(base_url)
        .build()
        .unwrap();
    let resource = connection.resource::<Value>(resource).unwrap();
    resource
        .list(&dbsync_client::Query::new())
        .await
        .unwrap()
        .data
}

#[test]
fn rust_prints_a_serde_struct_that_parses_as_rust() {
    let env = env();
    let (code, stdout, stderr) = env.schema(&["-r", "book-list", "--rust"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, books().to_rust_struct("book-list"));
    assert!(stdout.contains("pub struct BookList {"), "{stdout}");
    assert!(
        stdout.contains("pub id: Option<dbsync_client::Id>,"),
        "{stdout}"
    );
    assert!(stdout.contains("    pub title: String,\n"), "{stdout}");
    assert!(stdout.contains("pub pages: Option<i64>,"), "{stdout}");
    assert!(stdout.contains("pub r#type: Option<String>,"), "{stdout}");
    assert!(
        stdout.contains("#[serde(default, skip_serializing)]"),
        "{stdout}"
    );
    syn::parse_file(&stdout).unwrap_or_else(|e| panic!("not Rust: {e}\n{stdout}"));

    let (code, stdout, stderr) = env.schema(&["--rust", "--type-name", "Person"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("pub struct Person {"), "{stdout}");
    let file = syn::parse_file(&stdout).unwrap();
    assert_eq!(file.items.len(), 1);
}

#[test]
fn flags_that_contradict_and_unknown_resources_are_clear_errors() {
    let env = env();
    let (code, _, stderr) = env.schema(&["--rust", "--json-schema"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--json-schema"), "{stderr}");
    let (code, _, stderr) = env.schema(&["--type-name", "X"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = env.schema(&["-r", "Not A Name"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("Not A Name"), "{stderr}");
}
