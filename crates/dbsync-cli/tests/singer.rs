//! `dbsync tap` and `dbsync target` against sandboxes on 127.0.0.1:0: a copy under faults, the
//! message formats of the Singer specification, resuming from a mid-stream state, partitions,
//! and bad input.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use dbsync_sandbox::{Faults, Sandbox, SandboxAuth, SandboxBuilder};
use serde_json::{Value, json};

const TOKEN: &str = "tok-singer-never-print-me";

struct Server {
    sandbox: Sandbox,
    runtime: tokio::runtime::Runtime,
}

impl Server {
    fn start(builder: SandboxBuilder) -> Self {
        let (runtime, sandbox) = common::start_checked(
            builder.auth(SandboxAuth::Bearer {
                token: TOKEN.into(),
            }),
            2,
        );
        Self { sandbox, runtime }
    }

    fn connection(&self) -> dbsync_client::Connection {
        dbsync_client::Connection::builder()
            .base_url(self.sandbox.base_url())
            .auth(dbsync_client::BearerAuth::new(TOKEN))
            .build()
            .unwrap()
    }

    /// Updates the records `ids` of `records` through the client: their `updated_at` becomes
    /// the sandbox's now.
    fn touch(&self, ids: &[i64]) {
        let records = self.connection().records();
        self.runtime.block_on(async {
            for id in ids {
                records
                    .update(id, &json!({"first_name": "Touched"}))
                    .await
                    .unwrap();
            }
        });
    }

    /// Every record of `records`, read with the client.
    fn records(&self) -> Vec<Value> {
        let connection = self.connection();
        self.runtime.block_on(async {
            use futures::TryStreamExt as _;
            connection
                .records()
                .scan_with(dbsync_client::Query::new().limit(1000), Default::default())
                .try_collect::<Vec<_>>()
                .await
                .unwrap()
        })
    }

    /// A connector config file for this server, with `extra` keys.
    fn config(&self, dir: &Path, name: &str, extra: Value) -> PathBuf {
        let mut config = json!({
            "api_url": self.sandbox.base_url(),
            "auth": {"type": "bearer", "token": "${DBSYNC_TOKEN}"},
            "retry": {"initial_backoff_ms": 5, "max_backoff_ms": 50},
        });
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        let path = dir.join(name);
        std::fs::write(&path, config.to_string()).unwrap();
        path
    }
}

fn dbsync() -> Command {
    let mut cmd = common::clean_command();
    cmd.env("DBSYNC_TOKEN", TOKEN);
    cmd
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Out {
    let out = cmd
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let run = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    };
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
    run
}

fn tap(config: &Path, args: &[&str]) -> Out {
    run(dbsync().arg("tap").arg("--config").arg(config).args(args))
}

fn target(config: &Path, input: &str) -> Out {
    run(dbsync()
        .arg("target")
        .arg("--config")
        .arg(config)
        .write_stdin(input.to_owned()))
}

/// Messages as the input of a target: one JSON line each.
fn lines(messages: &[Value]) -> String {
    messages.iter().map(|m| m.to_string() + "\n").collect()
}

fn messages(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The message formats of the Singer specification (docs/SPEC.md of singer-io/getting-started).
fn singer_schemas() -> HashMap<&'static str, jsonschema::Validator> {
    let time = json!({"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$"});
    let schemas = [
        (
            "SCHEMA",
            json!({"type": "object", "required": ["type", "stream", "schema", "key_properties"],
            "properties": {"type": {"const": "SCHEMA"}, "stream": {"type": "string"},
              "schema": {"type": "object"}, "key_properties": {"type": "array", "items": {"type": "string"}},
              "bookmark_properties": {"type": "array", "items": {"type": "string"}}},
            "additionalProperties": false}),
        ),
        (
            "RECORD",
            json!({"type": "object", "required": ["type", "stream", "record"],
            "properties": {"type": {"const": "RECORD"}, "stream": {"type": "string"},
              "record": {"type": "object"}, "version": {"type": "integer"}, "time_extracted": time},
            "additionalProperties": false}),
        ),
        (
            "STATE",
            json!({"type": "object", "required": ["type", "value"],
            "properties": {"type": {"const": "STATE"}, "value": {"type": "object"}},
            "additionalProperties": false}),
        ),
        (
            "CATALOG",
            json!({"type": "object", "required": ["streams"], "properties": {"streams": {
            "type": "array", "items": {"type": "object",
              "required": ["tap_stream_id", "stream", "schema", "metadata"],
              "properties": {"tap_stream_id": {"type": "string"}, "stream": {"type": "string"},
                "schema": {"type": "object"}, "key_properties": {"type": "array", "items": {"type": "string"}},
                "replication_key": {"type": "string"}, "replication_method": {"enum": ["FULL_TABLE", "INCREMENTAL", "LOG_BASED"]},
                "metadata": {"type": "array", "items": {"type": "object", "required": ["breadcrumb", "metadata"],
                  "properties": {"breadcrumb": {"type": "array", "items": {"type": "string"}},
                    "metadata": {"type": "object", "properties": {
                      "inclusion": {"enum": ["available", "automatic", "unsupported"]},
                      "selected": {"type": "boolean"}, "selected-by-default": {"type": "boolean"},
                      "valid-replication-keys": {"type": "array", "items": {"type": "string"}},
                      "forced-replication-method": {"enum": ["FULL_TABLE", "INCREMENTAL", "LOG_BASED"]},
                      "table-key-properties": {"type": "array", "items": {"type": "string"}}}}}}}}}}}}),
        ),
    ];
    schemas
        .into_iter()
        .map(|(k, s)| (k, jsonschema::validator_for(&s).unwrap()))
        .collect()
}

fn check_messages(out: &str) -> Vec<Value> {
    let schemas = singer_schemas();
    let messages = messages(out);
    for message in &messages {
        let kind = message["type"].as_str().unwrap();
        let errors: Vec<String> = schemas[kind]
            .iter_errors(message)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{message}: {errors:?}");
    }
    messages
}

fn records_of(messages: &[Value]) -> Vec<&Value> {
    messages
        .iter()
        .filter(|m| m["type"] == "RECORD")
        .map(|m| &m["record"])
        .collect()
}

fn emails(
    records: impl IntoIterator<Item = impl std::borrow::Borrow<Value>>,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        *counts
            .entry(record.borrow()["email"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    counts
}

fn faults(seed: u64) -> Faults {
    Faults {
        seed,
        error_rate: 0.05,
        drop_rate: 0.03,
        lost_response_rate: 0.08,
        ..Faults::default()
    }
}

#[test]
fn tap_into_target_copies_every_record_once_under_faults_then_nothing_new() {
    let source = Server::start(Sandbox::builder().seed_records(600).faults(faults(11)));
    let dest = Server::start(Sandbox::builder().seed_records(0).faults(faults(12)));
    let dir = tempfile::tempdir().unwrap();
    let tap_config = source.config(
        dir.path(),
        "tap.json",
        json!({"state_every": 100, "page_size": 50}),
    );
    let journal = dir.path().join("failed.jsonl");
    let target_config = dest.config(
        dir.path(),
        "target.json",
        json!({"failures_journal": journal, "batch_size": 150}),
    );

    // `dbsync tap | dbsync target` through an OS pipe, as a shell runs it.
    let command = |args: &[&str], config: &Path| {
        let mut cmd = common::clean_std_command();
        cmd.env("DBSYNC_TOKEN", TOKEN)
            .args(args)
            .arg("--config")
            .arg(config);
        cmd
    };
    let copy = |extra: &[&str]| {
        let tap_args = [&["tap"][..], extra].concat();
        common::pipe(
            command(&tap_args, &tap_config),
            command(&["target"], &target_config),
        )
    };
    let piped = copy(&[]);
    assert_eq!(piped.codes, (0, 0), "{:?}", piped.stderr);
    assert!(!journal.exists());
    let copied = dest.records();
    assert_eq!(copied.len(), 600);
    assert_eq!(emails(&copied), emails(source.records()));
    // The target's last line is the tap's final state, with the watermark.
    let final_state: Value = serde_json::from_str(piped.stdout.lines().last().unwrap()).unwrap();
    let bookmark = &final_state["bookmarks"]["records"];
    assert!(
        bookmark["replication_key_value"].is_string(),
        "{final_state}"
    );
    assert!(bookmark.get("checkpoint").is_none(), "{final_state}");
    assert!(
        messages(&piped.stdout).len() >= 7,
        "a state every 100 records and at the end"
    );

    // Again from the final state: nothing new.
    let state = dir.path().join("state.json");
    std::fs::write(&state, final_state.to_string()).unwrap();
    let again = copy(&["--state", state.to_str().unwrap()]);
    assert_eq!(again.codes, (0, 0), "{:?}", again.stderr);
    assert!(again.stderr.0.contains("0 record(s)"), "{}", again.stderr.0);
    assert_eq!(dest.records().len(), 600);

    // What the tap sent follows the Singer message formats.
    let tapped = tap(&tap_config, &[]);
    assert_eq!(tapped.code, 0, "{}", tapped.stderr);
    let sent = check_messages(&tapped.stdout);
    assert_eq!(records_of(&sent).len(), 600);
    assert_eq!(sent[0]["type"], "SCHEMA");
    assert!(sent.iter().filter(|m| m["type"] == "STATE").count() >= 7);
}

#[test]
fn a_mid_stream_state_resumes_without_missing_or_repeating() {
    let source = Server::start(Sandbox::builder().seed_records(450).faults(faults(5)));
    let dir = tempfile::tempdir().unwrap();
    let config = source.config(
        dir.path(),
        "tap.json",
        json!({"state_every": 70, "page_size": 40}),
    );
    for method in ["INCREMENTAL", "FULL_TABLE"] {
        let catalog = discover_selected(&config, dir.path(), method);
        let full = tap(&config, &["--catalog", catalog.to_str().unwrap()]);
        assert_eq!(full.code, 0, "{}", full.stderr);
        let all = check_messages(&full.stdout);
        // The third state: after 210 records.
        let (at, state) = all
            .iter()
            .enumerate()
            .filter(|(_, m)| m["type"] == "STATE")
            .nth(2)
            .unwrap();
        assert!(state["value"]["bookmarks"]["records"]["checkpoint"].is_object());
        let before: Vec<Value> = records_of(&all[..at]).into_iter().cloned().collect();
        assert_eq!(before.len(), 210);
        let path = dir.path().join("mid.json");
        std::fs::write(&path, state["value"].to_string()).unwrap();
        let rest = tap(
            &config,
            &[
                "--catalog",
                catalog.to_str().unwrap(),
                "--state",
                path.to_str().unwrap(),
            ],
        );
        assert_eq!(rest.code, 0, "{}", rest.stderr);
        let rest = check_messages(&rest.stdout);
        let mut ids: Vec<&Value> = before.iter().map(|r| &r["id"]).collect();
        ids.extend(records_of(&rest).into_iter().map(|r| &r["id"]));
        let expected: Vec<&Value> = records_of(&all).into_iter().map(|r| &r["id"]).collect();
        assert_eq!(ids, expected, "{method}");
    }
}

fn discover_selected(config: &Path, dir: &Path, method: &str) -> PathBuf {
    let discovered = tap(config, &["--discover"]);
    assert_eq!(discovered.code, 0, "{}", discovered.stderr);
    let mut catalog: Value = serde_json::from_str(&discovered.stdout).unwrap();
    let validator = &singer_schemas()["CATALOG"];
    assert!(validator.is_valid(&catalog), "{catalog}");
    let stream = &mut catalog["streams"][0];
    assert_eq!(stream["key_properties"], json!(["id"]));
    assert_eq!(stream["replication_key"], "updated_at");
    assert!(stream["schema"]["properties"]["email"].is_object());
    let top = &mut stream["metadata"][0];
    assert_eq!(top["breadcrumb"], json!([]));
    assert_eq!(
        top["metadata"]["valid-replication-keys"],
        json!(["updated_at"])
    );
    top["metadata"]["selected"] = json!(true);
    top["metadata"]["replication-method"] = json!(method);
    let path = dir.join(format!("catalog-{method}.json"));
    std::fs::write(&path, catalog.to_string()).unwrap();
    path
}

#[test]
fn partitioned_taps_read_every_id_exactly_once() {
    let source = Server::start(Sandbox::builder().seed_records(500));
    let dir = tempfile::tempdir().unwrap();
    let config = source.config(dir.path(), "tap.json", json!({"page_size": 30}));
    let mut ids = BTreeMap::new();
    for index in 0..4 {
        let out = if index == 3 {
            // A Kubernetes Indexed Job: I from JOB_COMPLETION_INDEX.
            run(dbsync()
                .env("JOB_COMPLETION_INDEX", "3")
                .args(["tap", "--partition", "4", "--config"])
                .arg(&config))
        } else {
            tap(&config, &["--partition", &format!("{index}/4")])
        };
        assert_eq!(out.code, 0, "{}", out.stderr);
        let messages = check_messages(&out.stdout);
        let last = &messages.last().unwrap()["value"]["bookmarks"]["records"];
        assert_eq!(last["partition"], format!("{index}/4"));
        let records = records_of(&messages);
        assert!(records.len() >= 100, "partition {index}: {}", records.len());
        for record in records {
            *ids.entry(record["id"].to_string()).or_insert(0) += 1;
        }
    }
    assert_eq!(ids.len(), 500);
    assert!(ids.values().all(|n| *n == 1));
    // `dbsync list --all --partition I/N` splits the same way.
    let mut listed = BTreeMap::new();
    for index in 0..3 {
        for id in listed_ids(&source, &format!("{index}/3"), None) {
            *listed.entry(id.to_string()).or_insert(0) += 1;
        }
    }
    assert_eq!(listed, ids);
    let bad = tap(&config, &["--partition", "4/4"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("below N"), "{}", bad.stderr);
}

/// The ids `dbsync list --all --page-size 20 --partition PARTITION` prints, with
/// `JOB_COMPLETION_INDEX` set to `job_index` when given.
fn listed_ids(server: &Server, partition: &str, job_index: Option<usize>) -> Vec<i64> {
    let mut cmd = dbsync();
    if let Some(index) = job_index {
        cmd.env("JOB_COMPLETION_INDEX", index.to_string());
    }
    let out = run(cmd
        .args(["--url", server.sandbox.base_url(), "--auth", "bearer"])
        .args(["--format", "jsonl", "list", "--all", "--page-size", "20"])
        .args(["--partition", partition]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    messages(&out.stdout)
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn bad_tap_input_is_a_clear_error() {
    let source = Server::start(Sandbox::builder().seed_records(5));
    let dir = tempfile::tempdir().unwrap();
    let config = source.config(dir.path(), "tap.json", json!({}));
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let not_settings = write(
        "bad.json",
        r#"{"url": "http://127.0.0.1:1", "resources": ["records"]}"#,
    );
    let unknown = write(
        "catalog.json",
        r#"{"streams": [{"tap_stream_id": "contacts", "stream": "contacts", "schema": {}, "metadata": [{"breadcrumb": [], "metadata": {"selected": true}}]}]}"#,
    );
    let bad_property = write(
        "bad-property.json",
        r#"{"streams": [{"tap_stream_id": "records", "stream": "records", "schema": {}, "metadata": [{"breadcrumb": [], "metadata": {"selected": true}}, {"breadcrumb": ["properties", "email"], "metadata": {"selected": "no"}}]}]}"#,
    );
    let checkpoint = json!({"version":1,"resource":"contacts","query":{"limit":100,"offset":null,"from":null,"to":null,"filters":[]},"mode":"plain","overlap":32,"offset":2,"last_id":null,"end_offset":null,"upper_id":null,"slices":null,"finished":false});
    let other_resource = write("other.json", &json!({"version": 1, "bookmarks": {"records": {"replication_key": "updated_at", "replication_method": "FULL_TABLE", "checkpoint": checkpoint}}}).to_string());
    let other_version = write("v2.json", r#"{"version": 2, "bookmarks": {}}"#);
    for (args, needle) in [
        (
            vec!["--catalog", unknown.to_str().unwrap()],
            "stream `contacts` is not one of the config's resources",
        ),
        (
            vec!["--catalog", bad_property.to_str().unwrap()],
            "property `email`: `selected` must be true or false",
        ),
        (
            vec!["--state", other_resource.to_str().unwrap()],
            "another resource",
        ),
        (
            vec!["--state", other_version.to_str().unwrap()],
            "version 2",
        ),
    ] {
        let out = tap(&config, &args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    let out = tap(&not_settings, &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("url"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_target_input_stops_without_a_state_past_what_was_stored() {
    let dest = Server::start(Sandbox::builder().seed_records(0));
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("failed.jsonl");
    let config = dest.config(
        dir.path(),
        "target.json",
        json!({"failures_journal": journal}),
    );
    let schema = r#"{"type":"SCHEMA","stream":"records","schema":{"type":"object"},"key_properties":["id"]}"#;
    let good = |n: u32| {
        json!({"type": "RECORD", "stream": "records", "record": {
            "email": format!("p{n}@example.com"), "first_name": "A", "last_name": "B",
            "country": "SE", "active": true}})
        .to_string()
    };
    let state = |n: u32| json!({"type": "STATE", "value": {"n": n}}).to_string();
    let cases: Vec<(String, &str, i32)> = vec![
        (
            format!(
                "{schema}\n{}\n{}\nnot json\n{}\n",
                good(1),
                state(1),
                good(2)
            ),
            "line 4: not a JSON message",
            2,
        ),
        (
            format!("{}\n{}\n", good(3), state(2)),
            "before its SCHEMA",
            2,
        ),
        (
            format!(
                "{schema}\n{}\n{}\n{{\"type\":\"RECORD\",\"str",
                good(4),
                state(3)
            ),
            "ended in the middle",
            2,
        ),
        (
            format!(
                "{schema}\n{}\n{}\n{}\n{}\n{}\n",
                good(5),
                state(4),
                json!({"type": "RECORD", "stream": "records", "record": {"email": "not-an-email", "first_name": "A"}}),
                good(6),
                state(5)
            ),
            "not stored",
            5,
        ),
    ];
    for (input, needle, code) in cases {
        let out = target(&config, &input);
        assert_eq!(out.code, code, "{input}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{input}: {}", out.stderr);
        // Only states whose records were all stored came out.
        let emitted: Vec<Value> = messages(&out.stdout);
        let stored = dest.records();
        for state in &emitted {
            let n = state["n"].as_u64().unwrap();
            let email = format!("p{}@example.com", [0, 1, 3, 4, 5][n as usize]);
            assert!(
                stored.iter().any(|r| r["email"] == email),
                "state {n} past {email}"
            );
        }
        assert!(
            emitted.iter().all(|s| s["n"] != 2 && s["n"] != 5),
            "{input}: {}",
            out.stdout
        );
    }
    let entries = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(entries.lines().count(), 1, "{entries}");
    assert!(entries.contains("not-an-email"));
    // A line over the limit.
    let long = format!("{schema}\n{}\n", "x".repeat(2000));
    let out = run(dbsync()
        .args(["target", "--max-line-bytes", "1000", "--config"])
        .arg(&config)
        .write_stdin(long));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("longer than 1000 bytes"),
        "{}",
        out.stderr
    );
}

#[test]
fn deselected_properties_are_left_out_of_the_schema_and_the_records() {
    let source = Server::start(Sandbox::builder().seed_records(30));
    let dir = tempfile::tempdir().unwrap();
    let config = source.config(dir.path(), "tap.json", json!({"page_size": 10}));
    let path = discover_selected(&config, dir.path(), "FULL_TABLE");
    let mut catalog: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut deselected = 0;
    for entry in catalog["streams"][0]["metadata"].as_array_mut().unwrap() {
        // `email` (available) is left out; `id` (automatic, the key) stays whatever it says.
        if entry["breadcrumb"] == json!(["properties", "email"])
            || entry["breadcrumb"] == json!(["properties", "id"])
        {
            entry["metadata"]["selected"] = json!(false);
            deselected += 1;
        }
    }
    assert_eq!(deselected, 2, "{catalog}");
    std::fs::write(&path, catalog.to_string()).unwrap();

    let out = tap(&config, &["--catalog", path.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let messages = check_messages(&out.stdout);
    let schema = &messages[0];
    assert_eq!(schema["type"], "SCHEMA");
    let properties = schema["schema"]["properties"].as_object().unwrap();
    assert!(!properties.contains_key("email"), "{schema}");
    for kept in ["id", "updated_at", "first_name"] {
        assert!(properties.contains_key(kept), "{kept}: {schema}");
    }
    if let Some(required) = schema["schema"]["required"].as_array() {
        assert!(!required.contains(&json!("email")), "{schema}");
    }
    assert_eq!(schema["key_properties"], json!(["id"]));
    let records = records_of(&messages);
    assert_eq!(records.len(), 30);
    for record in &records {
        assert!(record.get("email").is_none(), "{record}");
        assert!(
            record["id"].is_string() || record["id"].is_number(),
            "{record}"
        );
        assert!(record["updated_at"].is_string(), "{record}");
    }
    assert!(records.iter().any(|r| r.get("first_name").is_some()));
}

#[test]
fn a_record_that_does_not_match_its_schema_is_journaled_and_nothing_since_the_last_state_is_written()
 {
    let dir = tempfile::tempdir().unwrap();
    // The sandbox's `records` would store every one of these records: only the SCHEMA message
    // (first_name of at most 3 characters) tells the bad one apart.
    let schema = json!({"type": "SCHEMA", "stream": "records", "key_properties": ["id"],
        "schema": {"type": "object", "required": ["email"], "properties": {
            "id": {"type": "integer"}, "email": {"type": "string"},
            "first_name": {"type": "string", "maxLength": 3}}}});
    let record = |n: u32, first_name: &str| {
        json!({"type": "RECORD", "stream": "records", "record": {"id": n,
            "email": format!("s{n}@example.com"), "first_name": first_name, "last_name": "B",
            "country": "SE", "active": true}})
    };
    let state = |n: u32| json!({"type": "STATE", "value": {"n": n}});
    let input = lines(&[
        schema.clone(),
        record(1, "Ann"),
        state(1),
        record(2, "Bo"),
        record(3, "Abcdefgh"),
        record(4, "Cy"),
        state(2),
    ]);

    let dest = Server::start(Sandbox::builder().seed_records(0));
    let journal = dir.path().join("failed.jsonl");
    let config = dest.config(
        dir.path(),
        "target.json",
        json!({"failures_journal": journal}),
    );
    let out = target(&config, &input);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "input line 5: the record does not match the schema of stream `records`: first_name:"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("the records buffered since the last write were not sent"),
        "{}",
        out.stderr
    );
    // The state before it came out, nothing after; s2 (buffered with it) was not written.
    assert_eq!(messages(&out.stdout), vec![json!({"n": 1})]);
    let stored: Vec<Value> = dest
        .records()
        .into_iter()
        .map(|r| r["email"].clone())
        .collect();
    assert_eq!(stored, vec![json!("s1@example.com")]);
    let entries: Vec<Value> = messages(&std::fs::read_to_string(&journal).unwrap());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["line"], 5);
    assert_eq!(entries[0]["outcome"], "not_saved");
    assert_eq!(entries[0]["error"]["details"][0]["field"], "first_name");
    // As it would be sent (no server fields): `dbsync resend` can send it once fixed.
    assert_eq!(entries[0]["record"]["email"], "s3@example.com");
    assert!(entries[0]["record"].get("id").is_none());

    // validate_records: false sends what the server takes.
    let unchecked = Server::start(Sandbox::builder().seed_records(0));
    let config = unchecked.config(
        dir.path(),
        "unchecked.json",
        json!({"failures_journal": dir.path().join("unchecked.jsonl"), "validate_records": false}),
    );
    let out = target(&config, &input);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(unchecked.records().len(), 4);
    assert_eq!(messages(&out.stdout).len(), 2);

    // A setting that is not a boolean, and a SCHEMA that is not a usable JSON Schema: exit 2,
    // nothing stored.
    let config = unchecked.config(dir.path(), "bad.json", json!({"validate_records": "yes"}));
    let out = target(&config, &input);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("validate_records must be true or false"),
        "{}",
        out.stderr
    );
    let config = dest.config(
        dir.path(),
        "again.json",
        json!({"failures_journal": journal}),
    );
    let unusable = json!({"type": "SCHEMA", "stream": "records", "key_properties": [],
        "schema": {"type": "object", "properties": {"n": {"type": "no-such-type"}}}});
    let out = target(
        &config,
        &format!("{unusable}\n{}\n{}\n", record(5, "Di"), state(3)),
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("input line 1: the SCHEMA of stream `records` is not a usable JSON Schema"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    assert_eq!(dest.records().len(), 1);

    // A later SCHEMA of the stream replaces the earlier one.
    let mut wider = schema.clone();
    wider["schema"]["properties"]["first_name"]["maxLength"] = json!(10);
    let input = lines(&[
        schema,
        record(6, "Ed"),
        wider,
        record(7, "Abcdefgh"),
        state(4),
    ]);
    let out = target(&config, &input);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(dest.records().len(), 3);
}

/// The ids of the records of `messages`, in order.
fn ids_of(messages: &[Value]) -> Vec<i64> {
    records_of(messages)
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

/// The value of the last `STATE` of `messages`, written to `dir/name`.
fn last_state(messages: &[Value], dir: &Path, name: &str) -> PathBuf {
    let state = messages
        .iter()
        .rev()
        .find(|m| m["type"] == "STATE")
        .expect("a STATE");
    let path = dir.join(name);
    std::fs::write(&path, state["value"].to_string()).unwrap();
    path
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[test]
fn every_record_carries_an_rfc3339_utc_time_extracted_within_the_run() {
    // Pins `time_extracted` on every RECORD (docs/connectors.md, "each with `time_extracted`"):
    // present, RFC 3339, UTC, and taken during the run (not a constant or a record field).
    let source = Server::start(Sandbox::builder().seed_records(120));
    let dir = tempfile::tempdir().unwrap();
    let config = source.config(dir.path(), "tap.json", json!({"page_size": 25}));
    let started = time::OffsetDateTime::now_utc();
    let out = tap(&config, &[]);
    let ended = time::OffsetDateTime::now_utc();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let messages = check_messages(&out.stdout);
    let records: Vec<&Value> = messages.iter().filter(|m| m["type"] == "RECORD").collect();
    assert_eq!(records.len(), 120);
    for record in records {
        let text = record["time_extracted"]
            .as_str()
            .unwrap_or_else(|| panic!("no time_extracted: {record}"));
        let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{e}: {record}"));
        assert!(at.offset().is_utc(), "not UTC: {text}");
        assert!(
            started <= at && at <= ended,
            "{text} is not within {} .. {}",
            rfc3339(started),
            rfc3339(ended)
        );
    }
}

fn gadgets_schema() -> dbsync_sandbox::Schema {
    dbsync_sandbox::Schema::from_json(&json!({
        "fields": [
            {"name": "label", "type": "string", "required": true, "min_length": 1, "max_length": 40},
            {"name": "size", "type": "integer", "min": 1, "max": 9}
        ],
        "additional_fields": false
    }))
    .unwrap()
}

/// The streams of the SCHEMA and RECORD messages, each run of one stream once, in order.
fn stream_order(messages: &[Value]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for message in messages.iter().filter(|m| m["type"] != "STATE") {
        let stream = message["stream"].as_str().unwrap();
        if order.last().map(String::as_str) != Some(stream) {
            order.push(stream.to_owned());
        }
    }
    order
}

#[test]
fn only_the_selected_streams_are_synced_in_catalog_order() {
    // Pins stream selection with two resources: a stream of the config that the catalog does
    // not select gets no SCHEMA, RECORD or bookmark; selected streams are synced one after the
    // other in the catalog's order (not the config's).
    let gadgets: Vec<Value> = (1..=12)
        .map(|n| json!({"label": format!("gadget {n}"), "size": n % 9 + 1}))
        .collect();
    let source = Server::start(
        Sandbox::builder()
            .seed_records(15)
            .schema("gadgets", gadgets_schema())
            .fixtures("gadgets", gadgets),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = source.config(
        dir.path(),
        "tap.json",
        json!({"resources": ["records", "gadgets"], "page_size": 5, "state_every": 4}),
    );
    let discovered = tap(&config, &["--discover"]);
    assert_eq!(discovered.code, 0, "{}", discovered.stderr);
    let catalog: Value = serde_json::from_str(&discovered.stdout).unwrap();
    assert!(singer_schemas()["CATALOG"].is_valid(&catalog), "{catalog}");
    let names: Vec<&Value> = catalog["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["tap_stream_id"])
        .collect();
    assert_eq!(names, [&json!("records"), &json!("gadgets")]);
    assert!(catalog["streams"][1]["schema"]["properties"]["label"].is_object());
    let select = |catalog: &mut Value, index: usize| {
        let top = &mut catalog["streams"][index]["metadata"][0];
        assert_eq!(top["breadcrumb"], json!([]));
        top["metadata"]["selected"] = json!(true);
        // The fixture rows were updated when the sandbox started, within the incremental
        // settle second: FULL_TABLE reads them all.
        top["metadata"]["replication-method"] = json!("FULL_TABLE");
    };
    let sync = |catalog: &Value, name: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, catalog.to_string()).unwrap();
        let out = tap(&config, &["--catalog", path.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        check_messages(&out.stdout)
    };

    // Only `gadgets` selected (`records` as discovered, without `selected`).
    let mut only_gadgets = catalog.clone();
    select(&mut only_gadgets, 1);
    let messages = sync(&only_gadgets, "only-gadgets.json");
    assert_eq!(stream_order(&messages), ["gadgets"]);
    assert_eq!(messages.iter().filter(|m| m["type"] == "SCHEMA").count(), 1);
    let labels: Vec<&Value> = records_of(&messages).iter().map(|r| &r["label"]).collect();
    assert_eq!(labels.len(), 12);
    assert_eq!(labels[0], "gadget 1");
    for state in messages.iter().filter(|m| m["type"] == "STATE") {
        let bookmarks: Vec<&String> = state["value"]["bookmarks"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(bookmarks, ["gadgets"], "{state}");
    }

    // Both selected: in the discovered order, then with the catalog's streams reversed.
    let mut both = catalog.clone();
    select(&mut both, 0);
    select(&mut both, 1);
    let mut reversed = both.clone();
    reversed["streams"].as_array_mut().unwrap().reverse();
    for (catalog, order) in [
        (both, ["records", "gadgets"]),
        (reversed, ["gadgets", "records"]),
    ] {
        let messages = sync(&catalog, &format!("{}-first.json", order[0]));
        assert_eq!(stream_order(&messages), order);
        let schemas: Vec<&str> = messages
            .iter()
            .filter(|m| m["type"] == "SCHEMA")
            .map(|m| m["stream"].as_str().unwrap())
            .collect();
        assert_eq!(schemas, order);
        let count = |stream: &str| {
            messages
                .iter()
                .filter(|m| m["type"] == "RECORD" && m["stream"] == stream)
                .count()
        };
        assert_eq!((count("records"), count("gadgets")), (15, 12));
        let last = &messages.last().unwrap()["value"]["bookmarks"];
        assert!(
            last["records"].is_object() && last["gadgets"].is_object(),
            "{last}"
        );
    }
}

#[test]
fn the_target_writes_a_stream_to_the_resource_stream_map_names() {
    // Pins `stream_map` in the target: records of stream `people` go to the `records` resource
    // (not to a `people` resource), and a stream_map value that is not a resource name is a
    // config error (exit 2) before anything is stored.
    let dest = Server::start(Sandbox::builder().seed_records(0));
    let dir = tempfile::tempdir().unwrap();
    let schema = json!({"type": "SCHEMA", "stream": "people", "key_properties": ["id"],
        "schema": {"type": "object"}});
    let record = |n: u32| {
        json!({"type": "RECORD", "stream": "people", "record": {
            "email": format!("m{n}@example.com"), "first_name": "A", "last_name": "B",
            "country": "SE", "active": true}})
    };
    let input = lines(&[
        schema,
        record(1),
        record(2),
        record(3),
        json!({"type": "STATE", "value": {"n": 1}}),
    ]);

    let config = dest.config(
        dir.path(),
        "mapped.json",
        json!({"failures_journal": dir.path().join("failed.jsonl"),
            "stream_map": {"people": "records"}}),
    );
    let out = target(&config, &input);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(messages(&out.stdout), vec![json!({"n": 1})]);
    assert_eq!(
        emails(dest.records()),
        emails([1, 2, 3].map(|n| json!({"email": format!("m{n}@example.com")})))
    );
    assert_eq!(dest.sandbox.record_count("people"), 0);

    for (name, resource) in [("upper.json", "Records"), ("slash.json", "a/b")] {
        let config = dest.config(
            dir.path(),
            name,
            json!({"failures_journal": dir.path().join("failed.jsonl"),
                "stream_map": {"people": resource}}),
        );
        let out = target(&config, &input);
        assert_eq!(out.code, 2, "{resource}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("stream_map.people must be a resource name"),
            "{resource}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{resource}: {}", out.stdout);
        assert_eq!(dest.records().len(), 3, "{resource}");
    }
}

#[test]
fn a_first_incremental_run_starts_at_start_date() {
    // Pins `start_date`: a first INCREMENTAL run (no state) emits only the records updated at or
    // after it; the seeded records (updated in 2024) are before it.
    let source = Server::start(Sandbox::builder().seed_records(30));
    let dir = tempfile::tempdir().unwrap();
    let start_date = time::OffsetDateTime::now_utc();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let touched = [4, 17, 29];
    source.touch(&touched);
    // Past the tap's upper bound (now minus 1 s).
    std::thread::sleep(std::time::Duration::from_millis(1300));

    let config = source.config(
        dir.path(),
        "tap.json",
        json!({"start_date": rfc3339(start_date), "page_size": 10}),
    );
    let out = tap(&config, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let messages = check_messages(&out.stdout);
    let mut ids = ids_of(&messages);
    ids.sort_unstable();
    assert_eq!(ids, touched);
    for record in records_of(&messages) {
        let at = time::OffsetDateTime::parse(
            record["updated_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert!(at >= start_date, "{record}");
    }
    // Without start_date the same run starts at the beginning.
    let config = source.config(dir.path(), "all.json", json!({"page_size": 10}));
    let out = tap(&config, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(records_of(&check_messages(&out.stdout)).len(), 30);
}

#[test]
fn a_rerun_from_the_final_state_emits_exactly_the_records_updated_since() {
    // Pins incremental pick-up: from a finished run's final state, the next run emits the
    // records updated since (each once) and nothing else; a run from that run's final state
    // emits nothing.
    let source = Server::start(Sandbox::builder().seed_records(40));
    let dir = tempfile::tempdir().unwrap();
    let config = source.config(
        dir.path(),
        "tap.json",
        json!({"page_size": 15, "state_every": 10}),
    );
    let first = tap(&config, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let first = check_messages(&first.stdout);
    assert_eq!(records_of(&first).len(), 40);
    let state = last_state(&first, dir.path(), "first.json");

    let touched = [5, 22, 38];
    source.touch(&touched);
    // Past the tap's upper bound (now minus 1 s).
    std::thread::sleep(std::time::Duration::from_millis(1300));
    let second = tap(&config, &["--state", state.to_str().unwrap()]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let second = check_messages(&second.stdout);
    let mut ids = ids_of(&second);
    ids.sort_unstable();
    assert_eq!(ids, touched);
    assert!(
        records_of(&second)
            .iter()
            .all(|r| r["first_name"] == "Touched")
    );

    let state = last_state(&second, dir.path(), "second.json");
    let third = tap(&config, &["--state", state.to_str().unwrap()]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    let third = check_messages(&third.stdout);
    assert!(records_of(&third).is_empty(), "{third:?}");
}

#[test]
fn list_all_takes_the_partition_index_from_job_completion_index() {
    // Pins `dbsync list --all --partition N` reading I from JOB_COMPLETION_INDEX: the same ids
    // as `--partition I/N`, for each I.
    let source = Server::start(Sandbox::builder().seed_records(90));
    let mut all = Vec::new();
    for index in 0..3 {
        let explicit = listed_ids(&source, &format!("{index}/3"), None);
        let from_env = listed_ids(&source, "3", Some(index));
        assert!(
            !explicit.is_empty() && explicit.len() < 90,
            "{index}: {}",
            explicit.len()
        );
        assert_eq!(from_env, explicit, "partition {index}");
        all.extend(from_env);
    }
    all.sort_unstable();
    assert_eq!(all, (1..=90).collect::<Vec<i64>>());
}

#[test]
fn a_tap_that_fails_mid_scan_leaves_a_state_that_resumes_without_missing_or_repeating() {
    // Pins the tap's failure state: without retries a third of the requests fail, each failed
    // run ends with a STATE holding the checkpoint (then a non-zero exit), and the next run from
    // that STATE continues: the records before each run's last STATE are every id once.
    let source = Server::start(Sandbox::builder().seed_records(300).faults(Faults {
        seed: 11,
        error_rate: 0.3,
        ..Faults::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    // The catalog, discovered on a sandbox without faults (the same `records` schema).
    let clean = Server::start(Sandbox::builder().seed_records(0));
    let clean_config = clean.config(dir.path(), "clean.json", json!({}));
    let catalog = discover_selected(&clean_config, dir.path(), "INCREMENTAL");
    let config = source.config(
        dir.path(),
        "tap.json",
        json!({"retry": {"max_retries": 0}, "state_every": 25, "page_size": 20}),
    );
    let mut ids = Vec::new();
    let mut state: Option<PathBuf> = None;
    let (mut failures, mut mid_scan) = (0, 0);
    for attempt in 0..60 {
        let mut args = vec!["--catalog", catalog.to_str().unwrap()];
        if let Some(path) = &state {
            args.extend(["--state", path.to_str().unwrap()]);
        }
        let out = tap(&config, &args);
        let messages = check_messages(&out.stdout);
        // Only the records before the last STATE count: the rest would be read again.
        let last = messages.iter().rposition(|m| m["type"] == "STATE");
        ids.extend(ids_of(&messages[..last.map_or(0, |at| at + 1)]));
        if last.is_some() {
            state = Some(last_state(
                &messages,
                dir.path(),
                &format!("state{attempt}.json"),
            ));
        }
        if out.code == 0 {
            break;
        }
        failures += 1;
        assert_ne!(out.code, 2, "{}", out.stderr);
        assert!(!out.stderr.is_empty());
        let end = messages.last().unwrap();
        assert_eq!(end["type"], "STATE", "{}", out.stdout);
        assert!(
            end["value"]["bookmarks"]["records"]["checkpoint"].is_object(),
            "{end}"
        );
        if !records_of(&messages).is_empty() {
            mid_scan += 1;
        }
    }
    assert!(failures > 0, "the faults never hit");
    assert!(mid_scan > 0, "no run failed after emitting records");
    ids.sort_unstable();
    assert_eq!(ids, (1..=300).collect::<Vec<i64>>());
}

#[test]
fn a_target_config_that_is_not_the_settings_format_is_a_config_error() {
    // Pins the target's config check: an unknown key (`url`) or a file that is not JSON stops
    // the target with exit 2 and the problem on stderr, before any state or record is written.
    let dest = Server::start(Sandbox::builder().seed_records(0));
    let dir = tempfile::tempdir().unwrap();
    let input = lines(&[
        json!({"type": "SCHEMA", "stream": "records", "key_properties": ["id"],
            "schema": {"type": "object"}}),
        json!({"type": "RECORD", "stream": "records", "record": {"email": "c1@example.com",
            "first_name": "A", "last_name": "B", "country": "SE", "active": true}}),
        json!({"type": "STATE", "value": {"n": 1}}),
    ]);
    // Otherwise a working config: without `url` it stores the record.
    let unknown = dest.config(
        dir.path(),
        "unknown.json",
        json!({"url": dest.sandbox.base_url(),
            "failures_journal": dir.path().join("failed.jsonl")}),
    );
    let not_json = dir.path().join("not-json.json");
    std::fs::write(&not_json, "api_url = \"http://127.0.0.1:1\"").unwrap();
    for (config, needles) in [
        (
            &unknown,
            &[
                "url is not a known setting",
                "connector keys: resources, start_date, stream_map",
            ][..],
        ),
        (&not_json, &["not-json.json: not valid JSON"][..]),
    ] {
        let out = target(config, &input);
        assert_eq!(out.code, 2, "{config:?}: {}", out.stderr);
        for needle in needles {
            assert!(out.stderr.contains(needle), "{config:?}: {}", out.stderr);
        }
        assert!(out.stdout.is_empty(), "{config:?}: {}", out.stdout);
        assert!(dest.records().is_empty(), "{config:?}");
    }
    assert!(!dir.path().join("failed.jsonl").exists());
}
