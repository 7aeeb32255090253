//! `dbsync airbyte ...` against sandboxes on 127.0.0.1:0: every message checked against the
//! Airbyte protocol's JSON Schemas (tests/fixtures/airbyte_protocol.json, written from the
//! protocol's YAML), read piped into write copying every record once under faults, resumable
//! states, partitions, and bad input.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use dbsync_sandbox::{Faults, Sandbox, SandboxAuth, SandboxBuilder};
use serde_json::{Value, json};

const TOKEN: &str = "tok-airbyte-never-print-me";
const PROTOCOL: &str = include_str!("fixtures/airbyte_protocol.json");

struct Server {
    sandbox: Sandbox,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    fn start(builder: SandboxBuilder) -> Self {
        let (runtime, sandbox) = common::start_checked(
            builder.auth(SandboxAuth::Bearer {
                token: TOKEN.into(),
            }),
            2,
        );
        Self {
            sandbox,
            _runtime: runtime,
        }
    }

    fn seeded(records: u64) -> Self {
        Self::start(Sandbox::builder().seed_records(records))
    }

    /// The connector config of this server, written to `dir/name`.
    fn config(&self, dir: &Path, name: &str, extra: Value) -> PathBuf {
        let mut config = json!({
            "api_url": self.sandbox.base_url(),
            "auth": {"type": "bearer", "token": TOKEN},
            "retry": {"max_retries": 20, "initial_backoff_ms": 1, "max_backoff_ms": 20},
        });
        if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), extra) {
            config.extend(extra);
        }
        write(dir, name, &config.to_string())
    }

    /// Every record of `records`, without the server fields, sorted.
    fn records(&self) -> Vec<String> {
        let out = Command::cargo_bin("dbsync")
            .unwrap()
            .env_remove("DBSYNC_CONFIG")
            .args([
                "--url",
                self.sandbox.base_url(),
                "--auth",
                "bearer",
                "--token",
                TOKEN,
            ])
            .args(["--format", "jsonl", "list", "--all"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut records: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| without_server_fields(serde_json::from_str(line).unwrap()))
            .collect();
        records.sort();
        records
    }
}

fn without_server_fields(mut record: Value) -> String {
    for field in ["id", "created_at", "updated_at"] {
        record.as_object_mut().unwrap().remove(field);
    }
    record.to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn make_catalog(dir: &Path, streams: &[(&str, &str)], destination_mode: &str) -> PathBuf {
    let streams: Vec<Value> = streams
        .iter()
        .map(|(name, mode)| {
            json!({
                "stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
                "sync_mode": mode,
                "cursor_field": ["updated_at"],
                "destination_sync_mode": destination_mode,
            })
        })
        .collect();
    let catalog = json!({ "streams": streams });
    // The catalog the tests give is itself a ConfiguredAirbyteCatalog.
    let errors = schema_errors("ConfiguredAirbyteCatalog", &catalog);
    assert!(errors.is_empty(), "{errors:?}");
    write(dir, "catalog.json", &catalog.to_string())
}

/// Where `value` breaks the protocol's definition `name` (validators built once per name).
fn schema_errors(name: &str, value: &Value) -> Vec<String> {
    static VALIDATORS: Mutex<BTreeMap<String, Arc<jsonschema::Validator>>> =
        Mutex::new(BTreeMap::new());
    let validator = VALIDATORS
        .lock()
        .unwrap()
        .entry(name.to_owned())
        .or_insert_with(|| {
            let protocol: Value = serde_json::from_str(PROTOCOL).unwrap();
            let schema = json!({
                "$schema": "http://json-schema.org/draft-07/schema#",
                "definitions": protocol["definitions"],
                "$ref": format!("#/definitions/{name}"),
            });
            Arc::new(
                jsonschema::options()
                    .should_validate_formats(true)
                    .build(&schema)
                    .unwrap(),
            )
        })
        .clone();
    validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// The field that holds a message's body, by its type.
fn body_field(kind: &str) -> &'static str {
    match kind {
        "RECORD" => "record",
        "STATE" => "state",
        "LOG" => "log",
        "SPEC" => "spec",
        "CONNECTION_STATUS" => "connectionStatus",
        "CATALOG" => "catalog",
        "TRACE" => "trace",
        other => panic!("unexpected message type {other}"),
    }
}

/// Every line of `stdout` as a message checked against the protocol: valid `AirbyteMessage`,
/// with the body of its type.
fn messages(stdout: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(stdout);
    text.lines()
        .map(|line| {
            let message: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let errors = schema_errors("AirbyteMessage", &message);
            assert!(errors.is_empty(), "{errors:?}: {line}");
            let kind = message["type"].as_str().unwrap();
            assert!(message.get(body_field(kind)).is_some(), "{line}");
            if kind == "STATE" {
                assert_eq!(message["state"]["type"], "STREAM", "{line}");
            }
            message
        })
        .collect()
}

struct Run {
    code: i32,
    messages: Vec<Value>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn of(kind: &str, messages: &[Value]) -> Vec<Value> {
        messages
            .iter()
            .filter(|m| m["type"] == kind)
            .cloned()
            .collect()
    }
    fn records(&self) -> Vec<Value> {
        Self::of("RECORD", &self.messages)
    }
    fn states(&self) -> Vec<Value> {
        Self::of("STATE", &self.messages)
    }
    /// The one TRACE error: its failure type and message.
    fn trace_error(&self) -> (String, String) {
        let traces = Self::of("TRACE", &self.messages);
        assert_eq!(traces.len(), 1, "{:?} {}", self.messages, self.stderr);
        let error = &traces[0]["trace"]["error"];
        (
            error["failure_type"].as_str().unwrap().to_owned(),
            error["message"].as_str().unwrap().to_owned(),
        )
    }
}

fn airbyte(args: &[&std::ffi::OsStr], stdin: Option<Vec<u8>>) -> Run {
    let mut cmd = Command::cargo_bin("dbsync").unwrap();
    cmd.env_remove("DBSYNC_CONFIG")
        .env_remove("JOB_COMPLETION_INDEX")
        .arg("airbyte")
        .args(args);
    if let Some(stdin) = stdin {
        cmd.write_stdin(stdin);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains(TOKEN) && !String::from_utf8_lossy(&out.stdout).contains(TOKEN));
    Run {
        code: out.status.code().unwrap_or(-1),
        messages: messages(&out.stdout),
        stdout: out.stdout,
        stderr,
    }
}

macro_rules! args {
    ($($arg:expr),* $(,)?) => { &[$(std::ffi::OsStr::new($arg)),*] };
}

fn read(config: &Path, catalog: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "read".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--catalog".as_ref(),
        catalog.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    airbyte(&args, None)
}

fn write_to(config: &Path, catalog: &Path, dir: &Path, input: Vec<u8>) -> Run {
    write_with(config, catalog, dir, &[], input)
}

/// `write` with journals in `dir` and `extra` flags.
fn write_with(config: &Path, catalog: &Path, dir: &Path, extra: &[&str], input: Vec<u8>) -> Run {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "write".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--catalog".as_ref(),
        catalog.as_os_str(),
        "--failed-dir".as_ref(),
        dir.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    airbyte(&args, Some(input))
}

/// The entries of the `records` stream's failures journal in `dir`.
fn journal_entries(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("dbsync-airbyte-records-failed.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The `[state]` list a `--state` file holds, from a STATE message.
fn state_file(dir: &Path, name: &str, state: &Value) -> PathBuf {
    write(dir, name, &json!([state["state"]]).to_string())
}

fn record_ids(run: &Run) -> Vec<i64> {
    run.records()
        .iter()
        .map(|r| r["record"]["data"]["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn spec_check_and_discover_follow_the_protocol() {
    let server = Server::seeded(3);
    let dir = tempfile::tempdir().unwrap();
    let spec = airbyte(args!["spec"], None);
    assert_eq!(spec.code, 0);
    let specification = &spec.messages[0]["spec"]["connectionSpecification"];
    // Pins that each secret of the settings is in the spec and marked `airbyte_secret: true`
    // (Airbyte masks those): at least one auth option has each of `token`, `password` and
    // `client_secret`, every option that has one marks it, and so does the top-level `proxy`
    // (its URL may carry credentials).
    let options = specification["properties"]["auth"]["oneOf"]
        .as_array()
        .unwrap();
    for secret in ["token", "password", "client_secret"] {
        let fields: Vec<&Value> = options
            .iter()
            .filter_map(|option| option["properties"].get(secret))
            .collect();
        assert!(!fields.is_empty(), "no auth option has {secret}");
        assert!(
            fields.iter().all(|field| field["airbyte_secret"] == true),
            "{secret}: {fields:?}"
        );
    }
    assert_eq!(
        specification["properties"]["proxy"]["airbyte_secret"],
        json!(true),
        "{specification}"
    );
    // The spec describes the config the tests use.
    let config_path = server.config(dir.path(), "config.json", json!({"resources": ["records"]}));
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(specification).unwrap();
    assert!(validator.is_valid(&config));

    let check = airbyte(args!["check", "--config", &config_path], None);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert_eq!(check.messages[0]["connectionStatus"]["status"], "SUCCEEDED");
    let mut wrong = config.clone();
    wrong["auth"]["token"] = json!("wrong-token");
    let wrong_path = write(dir.path(), "wrong.json", &wrong.to_string());
    let failed = airbyte(args!["check", "--config", &wrong_path], None);
    assert_eq!(failed.code, 0);
    assert_eq!(failed.messages[0]["connectionStatus"]["status"], "FAILED");

    let discover = airbyte(args!["discover", "--config", &config_path], None);
    assert_eq!(discover.code, 0, "{}", discover.stderr);
    let stream = &discover.messages[0]["catalog"]["streams"][0];
    assert_eq!(stream["name"], "records");
    assert_eq!(
        stream["supported_sync_modes"],
        json!(["full_refresh", "incremental"])
    );
    assert_eq!(stream["source_defined_cursor"], true);
    assert_eq!(stream["default_cursor_field"], json!(["updated_at"]));
    assert_eq!(stream["source_defined_primary_key"], json!([["id"]]));
    // The stream's JSON Schema accepts the records the read emits.
    let catalog = make_catalog(dir.path(), &[("records", "full_refresh")], "append");
    let run = read(&config_path, &catalog, &[]);
    let records = jsonschema::options()
        .should_validate_formats(true)
        .build(&stream["json_schema"])
        .unwrap();
    assert_eq!(run.records().len(), 3);
    for record in run.records() {
        assert!(records.is_valid(&record["record"]["data"]), "{record}");
    }
    assert!(!Run::of("LOG", &run.messages).is_empty());
}

#[test]
fn read_piped_into_write_copies_every_record_once_under_faults_and_a_rerun_copies_nothing() {
    let faults = |seed| Faults {
        seed,
        error_rate: 0.1,
        lost_response_rate: 0.15,
        ..Faults::default()
    };
    let source = Server::start(Sandbox::builder().seed_records(450).faults(faults(3)));
    let target = Server::start(Sandbox::builder().seed_records(0).faults(faults(5)));
    let dir = tempfile::tempdir().unwrap();
    let source_config = source.config(dir.path(), "source.json", json!({}));
    let target_config = target.config(dir.path(), "target.json", json!({}));
    // The discovered stream, json_schema included: write checks every record against it.
    let catalog = discovered_catalog(&source_config, dir.path(), "incremental");

    let read_run = read(&source_config, &catalog, &["--state-every", "100"]);
    assert_eq!(read_run.code, 0, "{}", read_run.stderr);
    assert_eq!(read_run.records().len(), 450);
    let written = write_to(
        &target_config,
        &catalog,
        dir.path(),
        read_run.stdout.clone(),
    );
    assert_eq!(written.code, 0, "{}", written.stderr);
    // Every STATE is echoed, in order, and nothing else but a LOG.
    assert_eq!(written.states(), read_run.states());
    assert_eq!(target.records(), source.records());

    // Again from the last state: nothing new.
    let last = read_run.states().last().unwrap().clone();
    assert!(last["state"]["stream"]["stream_state"]["watermark"].is_string());
    let state = state_file(dir.path(), "state.json", &last);
    let again = read(
        &source_config,
        &catalog,
        &["--state", state.to_str().unwrap()],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.records().len(), 0);
    let written = write_to(&target_config, &catalog, dir.path(), again.stdout.clone());
    assert_eq!(written.code, 0, "{}", written.stderr);
    assert_eq!(target.sandbox.record_count("records"), 450);
}

#[test]
fn a_read_resumed_from_a_mid_stream_state_neither_misses_nor_repeats() {
    let server = Server::seeded(230);
    let dir = tempfile::tempdir().unwrap();
    let config = server.config(dir.path(), "config.json", json!({}));
    for mode in ["incremental", "full_refresh"] {
        let catalog = make_catalog(dir.path(), &[("records", mode)], "append");
        let first = read(&config, &catalog, &["--state-every", "50"]);
        assert_eq!(first.code, 0, "{}", first.stderr);
        // The messages before the second STATE, and a resumed read from it.
        let cut = first
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m["type"] == "STATE")
            .nth(1)
            .unwrap()
            .0;
        let before: Vec<i64> = first.messages[..cut]
            .iter()
            .filter(|m| m["type"] == "RECORD")
            .map(|m| m["record"]["data"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(before.len(), 100);
        let state = state_file(dir.path(), "state.json", &first.messages[cut]);
        let resumed = read(&config, &catalog, &["--state", state.to_str().unwrap()]);
        assert_eq!(resumed.code, 0, "{}", resumed.stderr);
        let mut all = before;
        all.extend(record_ids(&resumed));
        all.sort_unstable();
        assert_eq!(all, (1..=230).collect::<Vec<i64>>(), "{mode}");
    }
}

#[test]
fn partitioned_reads_take_every_record_once() {
    let server = Server::seeded(250);
    let dir = tempfile::tempdir().unwrap();
    let config = server.config(dir.path(), "config.json", json!({}));
    let catalog = make_catalog(dir.path(), &[("records", "full_refresh")], "append");
    let mut all = Vec::new();
    let mut parts = Vec::new();
    for index in 0..3 {
        let part = format!("{index}/3");
        let run = read(&config, &catalog, &["--partition", &part]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let last = run.states().last().unwrap().clone();
        assert_eq!(last["state"]["stream"]["stream_state"]["partition"], part);
        parts.push(record_ids(&run));
        all.extend(record_ids(&run));
    }
    // `N` alone takes the index from JOB_COMPLETION_INDEX.
    let mut cmd = Command::cargo_bin("dbsync").unwrap();
    let out = cmd
        .env("JOB_COMPLETION_INDEX", "1")
        .args(["airbyte", "read", "--partition", "3", "--config"])
        .arg(&config)
        .arg("--catalog")
        .arg(&catalog)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let from_env: Vec<i64> = messages(&out.stdout)
        .into_iter()
        .filter(|m| m["type"] == "RECORD")
        .map(|m| m["record"]["data"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(from_env, parts[1]);
    all.sort_unstable();
    assert_eq!(all, (1..=250).collect::<Vec<i64>>());

    // A state part-way through partition 0 resumes partition 0 only.
    let run = read(
        &config,
        &catalog,
        &["--partition", "0/3", "--state-every", "20"],
    );
    let first = run.states()[0].clone();
    assert!(first["state"]["stream"]["stream_state"]["checkpoint"].is_object());
    let state = state_file(dir.path(), "part0.json", &first);
    let resumed = read(
        &config,
        &catalog,
        &["--partition", "0/3", "--state", state.to_str().unwrap()],
    );
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(record_ids(&resumed), parts[0][20..].to_vec());
    for other in [vec!["--partition", "1/3"], vec![]] {
        let mut args = other.clone();
        args.extend(["--state", state.to_str().unwrap()]);
        let refused = read(&config, &catalog, &args);
        assert_eq!(refused.code, 1, "{other:?}");
        let (kind, message) = refused.trace_error();
        assert_eq!(kind, "config_error");
        assert!(
            message.contains("part-way through partition 0/3"),
            "{message}"
        );
        assert!(refused.records().is_empty());
    }
    let incremental = catalog_with(dir.path(), "incremental");
    let refused = read(&config, &incremental, &["--partition", "0/3"]);
    assert_eq!(refused.code, 1, "documented: any failure exits 1");
    assert_eq!(refused.trace_error().0, "config_error");
}

fn catalog_with(dir: &Path, mode: &str) -> PathBuf {
    make_catalog(dir, &[("records", mode)], "append")
}

/// A configured catalog of the discovered `records` stream (its json_schema included).
fn discovered_catalog(config: &Path, dir: &Path, mode: &str) -> PathBuf {
    let discover = airbyte(args!["discover", "--config", config], None);
    assert_eq!(discover.code, 0, "{}", discover.stderr);
    let stream = discover.messages[0]["catalog"]["streams"][0].clone();
    assert!(stream["json_schema"]["properties"]["email"].is_object());
    let catalog = json!({"streams": [{"stream": stream, "sync_mode": mode,
        "cursor_field": ["updated_at"], "destination_sync_mode": "append"}]});
    let errors = schema_errors("ConfiguredAirbyteCatalog", &catalog);
    assert!(errors.is_empty(), "{errors:?}");
    write(
        dir,
        &format!("discovered-{mode}.json"),
        &catalog.to_string(),
    )
}

#[test]
fn a_config_that_is_not_the_settings_format_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_with(dir.path(), "full_refresh");
    for (name, text) in [
        ("not-json.json", "not json"),
        ("array.json", "[]"),
        (
            "unknown.json",
            r#"{"api_url":"http://127.0.0.1:1","colour":"blue"}"#,
        ),
        (
            "no-token.json",
            r#"{"api_url":"http://127.0.0.1:1","auth":{"type":"bearer"}}"#,
        ),
        (
            "resources.json",
            r#"{"api_url":"http://127.0.0.1:1","resources":"records"}"#,
        ),
    ] {
        let config = write(dir.path(), name, text);
        for command in ["check", "discover", "read", "write"] {
            let mut args: Vec<&std::ffi::OsStr> =
                vec![command.as_ref(), "--config".as_ref(), config.as_os_str()];
            if command == "read" || command == "write" {
                args.extend(["--catalog".as_ref(), catalog.as_os_str()]);
            }
            let run = airbyte(&args, Some(Vec::new()));
            assert_ne!(run.code, 0, "{name} {command}");
            assert_eq!(run.trace_error().0, "config_error", "{name} {command}");
            assert!(run.states().is_empty() && run.records().is_empty());
        }
    }
    let missing = airbyte(args!["read", "--catalog", &catalog], None);
    assert_eq!(missing.trace_error().0, "config_error");
}

#[test]
fn bad_catalogs_and_states_are_config_errors() {
    let server = Server::seeded(10);
    let dir = tempfile::tempdir().unwrap();
    let config = server.config(dir.path(), "config.json", json!({}));
    let unknown = make_catalog(dir.path(), &[("contacts", "full_refresh")], "append");
    let run = read(&config, &unknown, &[]);
    assert_eq!(run.code, 1);
    let (kind, message) = run.trace_error();
    assert_eq!(kind, "config_error");
    assert!(message.contains("contacts"), "{message}");

    let catalog = catalog_with(dir.path(), "incremental");
    let first = read(&config, &catalog, &[]);
    let mut state = first.states().last().unwrap().clone();
    let blob = "/state/stream/stream_state";
    let mut other_version = state.clone();
    *other_version
        .pointer_mut(&format!("{blob}/version"))
        .unwrap() = json!(2);
    let mut other_resource = state.clone();
    *other_resource
        .pointer_mut(&format!("{blob}/resource"))
        .unwrap() = json!("contacts");
    *state.pointer_mut("/state/type").unwrap() = json!("GLOBAL");
    for (name, bad, needle) in [
        ("version.json", other_version, "version 2"),
        ("resource.json", other_resource, "contacts"),
        ("global.json", state, "STREAM"),
    ] {
        let path = state_file(dir.path(), name, &bad);
        let run = read(&config, &catalog, &["--state", path.to_str().unwrap()]);
        assert_ne!(run.code, 0, "{name}");
        let (kind, message) = run.trace_error();
        assert_eq!(kind, "config_error", "{name}");
        assert!(message.contains(needle), "{name}: {message}");
        assert!(run.records().is_empty());
    }
    let overwrite = make_catalog(dir.path(), &[("records", "full_refresh")], "overwrite");
    let run = write_to(&config, &overwrite, dir.path(), Vec::new());
    assert_eq!(run.trace_error().0, "config_error");
}

fn record_line(i: usize) -> String {
    let data = json!({
        "email": format!("airbyte.user{i}@example.com"),
        "first_name": "Air",
        "last_name": format!("Byte{i}"),
        "country": "US",
        "active": true,
        "id": 999_000 + i,
        "created_at": "2024-01-01T00:00:00Z",
    });
    json!({"type": "RECORD", "record": {"stream": "records", "data": data, "emitted_at": 1}})
        .to_string()
}

fn state_line(n: usize) -> String {
    json!({"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": "records"}, "stream_state": {"n": n}}}})
    .to_string()
}

#[test]
fn bad_input_to_write_stops_before_the_next_state_and_stores_nothing_after_the_last_one() {
    let server = Server::seeded(0);
    let dir = tempfile::tempdir().unwrap();
    let config = server.config(dir.path(), "config.json", json!({}));
    let catalog = catalog_with(dir.path(), "full_refresh");
    // Each case has its own records (the server refuses a second record with the same email).
    let case = |n: usize, bad: &dyn Fn(usize) -> String| {
        let base = n * 10;
        format!(
            "{}\n{}\n{}\n{}",
            record_line(base + 1),
            state_line(1),
            record_line(base + 2),
            bad(base + 3)
        )
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "not json",
            case(1, &|i| {
                format!("not json\n{}\n{}\n", record_line(i), state_line(2))
            }),
            "not a JSON message",
        ),
        (
            "cut",
            case(2, &|i| record_line(i)[..20].to_owned()),
            "middle of line 4",
        ),
        (
            "too long",
            case(3, &|_| format!("{}\n{}\n", "x".repeat(5000), state_line(2))),
            "longer than",
        ),
        (
            "unknown stream",
            case(4, &|i| {
                format!(
                    "{}\n{}\n",
                    record_line(i).replace("\"records\"", "\"contacts\""),
                    state_line(2)
                )
            }),
            "contacts",
        ),
    ];
    let mut stored = 0;
    for (name, input, needle) in cases {
        let run = write_with(
            &config,
            &catalog,
            dir.path(),
            &["--max-line-bytes", "4096"],
            input.into_bytes(),
        );
        assert_ne!(run.code, 0, "{name}");
        let (_, message) = run.trace_error();
        assert!(message.contains(needle), "{name}: {message}");
        // The state before the bad line is echoed, its record stored; nothing after it.
        assert_eq!(run.states().len(), 1, "{name}");
        assert_eq!(run.states()[0]["state"]["stream"]["stream_state"]["n"], 1);
        stored += 1;
        assert_eq!(server.sandbox.record_count("records"), stored, "{name}");
    }

    // A record the server refuses goes to the journal; no STATE after it.
    let mut bad = serde_json::from_str::<Value>(&record_line(50)).unwrap();
    bad["record"]["data"]["email"] = json!("not-an-email");
    let input = format!(
        "{}\n{bad}\n{}\n{}\n",
        record_line(51),
        state_line(7),
        record_line(52)
    );
    let run = write_to(&config, &catalog, dir.path(), input.into_bytes());
    assert_ne!(run.code, 0);
    assert!(run.states().is_empty());
    let entries = journal_entries(dir.path());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["line"], 2);
    assert_eq!(entries[0]["record"]["email"], "not-an-email");
    assert_eq!(server.sandbox.record_count("records"), stored + 1);
}

#[test]
fn the_written_records_are_the_records_read() {
    // A small copy without faults, comparing field by field (BTreeMap order).
    let source = Server::seeded(20);
    let target = Server::seeded(0);
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_with(dir.path(), "full_refresh");
    let run = read(
        &source.config(dir.path(), "s.json", json!({})),
        &catalog,
        &[],
    );
    let written = write_to(
        &target.config(dir.path(), "t.json", json!({})),
        &catalog,
        dir.path(),
        run.stdout,
    );
    assert_eq!(written.code, 0, "{}", written.stderr);
    let counts = |records: Vec<String>| {
        let mut map = BTreeMap::new();
        for r in records {
            *map.entry(r).or_insert(0) += 1;
        }
        map
    };
    assert_eq!(counts(target.records()), counts(source.records()));
}

#[test]
fn the_protocol_schemas_catch_broken_messages() {
    for broken in [
        json!({"type": "RECORD", "record": {"stream": "records", "data": {}}}),
        json!({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_state": {}}}}),
        json!({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": 1,
            "error": {"message": "x", "failure_type": "oops"}}}),
        json!({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "MAYBE"}}),
        json!({"type": "SPEC", "spec": {}}),
        json!({"type": "NOISE"}),
    ] {
        assert!(
            !schema_errors("AirbyteMessage", &broken).is_empty(),
            "{broken}"
        );
    }
}

#[test]
fn a_read_that_fails_leaves_a_state_that_resumes_it_without_missing_or_repeating() {
    // Without retries, a third of the requests fail: each run ends with a STATE and a TRACE,
    // and the next run continues from that STATE.
    let server = Server::start(Sandbox::builder().seed_records(300).faults(Faults {
        seed: 11,
        error_rate: 0.3,
        ..Faults::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    let config = server.config(
        dir.path(),
        "config.json",
        json!({"retry": {"max_retries": 0}}),
    );
    let catalog = catalog_with(dir.path(), "incremental");
    let mut ids = Vec::new();
    let mut state: Option<PathBuf> = None;
    let mut failures = 0;
    for attempt in 0..60 {
        let extra: Vec<&str> = match &state {
            Some(path) => vec!["--state-every", "40", "--state", path.to_str().unwrap()],
            None => vec!["--state-every", "40"],
        };
        let run = read(&config, &catalog, &extra);
        // Only the records before the last STATE count: the rest would be read again.
        let last = run.messages.iter().rposition(|m| m["type"] == "STATE");
        let kept = &run.messages[..last.map_or(0, |at| at + 1)];
        ids.extend(
            kept.iter()
                .filter(|m| m["type"] == "RECORD")
                .map(|m| m["record"]["data"]["id"].as_i64().unwrap()),
        );
        if let Some(at) = last {
            state = Some(state_file(
                dir.path(),
                &format!("state{attempt}.json"),
                &run.messages[at],
            ));
        }
        if run.code == 0 {
            break;
        }
        failures += 1;
        assert_eq!(run.trace_error().0, "system_error");
    }
    assert!(failures > 0, "the faults never hit");
    ids.sort_unstable();
    assert_eq!(ids, (1..=300).collect::<Vec<i64>>());
}

#[test]
fn a_record_that_does_not_match_its_json_schema_is_journaled_and_nothing_since_the_last_state_is_written()
 {
    let dir = tempfile::tempdir().unwrap();
    // The sandbox's `records` stores all of these; the catalog's json_schema (last_name of at
    // most 6 characters) refuses `Byte100`.
    let catalog_with_schema = |name: &str, json_schema: Value| {
        let catalog = json!({"streams": [{"stream": {"name": "records", "json_schema": json_schema,
            "supported_sync_modes": ["full_refresh"]}, "sync_mode": "full_refresh",
            "destination_sync_mode": "append"}]});
        let errors = schema_errors("ConfiguredAirbyteCatalog", &catalog);
        assert!(errors.is_empty(), "{errors:?}");
        write(dir.path(), name, &catalog.to_string())
    };
    let catalog = catalog_with_schema(
        "catalog.json",
        json!({"type": "object", "properties": {"last_name": {"type": "string", "maxLength": 6}}}),
    );
    let input = ([
        record_line(1),
        state_line(1),
        record_line(2),
        record_line(100),
        record_line(3),
        state_line(2),
    ]
    .join("\n")
        + "\n")
        .into_bytes();

    let server = Server::seeded(0);
    let config = server.config(dir.path(), "config.json", json!({}));
    let run = write_to(&config, &catalog, dir.path(), input.clone());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let (failure_type, message) = run.trace_error();
    assert_eq!(failure_type, "system_error");
    assert!(
        message.contains(
            "line 4: the record does not match the schema of stream `records`: last_name:"
        ) && message.contains("the records buffered since the last write were not sent"),
        "{message}"
    );
    // The state before it is echoed, nothing after; record 2 (buffered with it) is not written.
    assert_eq!(run.states().len(), 1);
    assert_eq!(run.states()[0]["state"]["stream"]["stream_state"]["n"], 1);
    assert_eq!(server.sandbox.record_count("records"), 1);
    let entries = journal_entries(dir.path());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["line"], 4);
    assert_eq!(entries[0]["error"]["details"][0]["field"], "last_name");
    assert_eq!(entries[0]["record"]["last_name"], "Byte100");
    assert!(entries[0]["record"].get("id").is_none());

    // --no-validate-records sends what the server takes.
    let unchecked = Server::seeded(0);
    let config = unchecked.config(dir.path(), "unchecked.json", json!({}));
    let run = write_with(
        &config,
        &catalog,
        dir.path(),
        &["--no-validate-records"],
        input.clone(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(unchecked.sandbox.record_count("records"), 4);
    assert_eq!(run.states().len(), 2);

    // A json_schema that is not a usable JSON Schema: a config error before anything is sent.
    let unusable = catalog_with_schema("unusable.json", json!({"type": "no-such-type"}));
    let run = write_to(&config, &unusable, dir.path(), input);
    assert_eq!(run.code, 1);
    let (failure_type, message) = run.trace_error();
    assert_eq!(failure_type, "config_error");
    assert!(message.contains("not a usable JSON Schema"), "{message}");
    assert!(run.states().is_empty());
    assert_eq!(unchecked.sandbox.record_count("records"), 4);
}
