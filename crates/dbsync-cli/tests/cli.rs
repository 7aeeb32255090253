//! The real `dbsync` binary against the sandbox started in-process (127.0.0.1:0).

use std::io::Write as _;
use std::path::Path;

use assert_cmd::Command;
use dbsync_sandbox::{Faults, Sandbox, SandboxAuth};
use serde_json::{Value, json};

const TOKEN: &str = "tok-7f3a9c-never-print-me";

mod common;

use common::{Run, jsonl, run};

type Env = common::TestEnv;

/// `dbsync resend FAILED --failed NEW`.
fn resend(env: &Env, failed: &std::path::Path, new: impl AsRef<std::ffi::OsStr>) -> Run {
    run(env.cmd().arg("resend").arg(failed).arg("--failed").arg(new))
}

fn count(env: &Env) -> usize {
    env.sandbox.record_count("records")
}

fn valid_record(i: usize) -> Value {
    json!({
        "email": format!("cli.user{i}@example.com"),
        "first_name": "Cli",
        "last_name": format!("User{i}"),
        "country": "US",
        "active": true,
    })
}

fn write_file(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_reports_in_every_format() {
    let env = Env::seeded(3, TOKEN);
    let out = run(env.cmd().args(["check"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(report["reachable"], true);
    assert_eq!(report["authenticated"], true);
    assert_eq!(report["auth"], "bearer");
    assert!(report["latency_ms"].is_u64());

    let out = run(env.cmd().args(["check", "--format", "json"]));
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["status"], 200);
    let out = run(env.cmd().args(["check", "--format", "csv"]));
    let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
    assert!(reader.headers().unwrap().iter().any(|h| h == "reachable"));
    assert_eq!(reader.records().count(), 1);
    let out = run(env.cmd().args(["check", "--format", "table"]));
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("reachable") && l.ends_with("true")),
        "{}",
        out.stdout
    );
}

#[test]
fn list_pages_filters_and_formats() {
    let env = Env::seeded(250, TOKEN);
    let out = run(env.cmd().args(["list", "--limit", "5"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = jsonl(&out.stdout);
    assert_eq!(records.len(), 5);
    assert_eq!(records[0]["id"], 1);

    let out = run(env
        .cmd()
        .args(["list", "--limit", "5", "--offset", "5", "--format", "json"]));
    let records: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(records.len(), 5);
    assert_eq!(records[0]["id"], 6);

    let out = run(env.cmd().args(["list", "--limit", "4", "--format", "csv"]));
    let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
    assert_eq!(&reader.headers().unwrap()[0], "id");
    assert_eq!(reader.records().count(), 4);

    let out = run(env
        .cmd()
        .args(["list", "--limit", "3", "--format", "table"]));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", out.stdout);
    assert!(lines[0].starts_with("id "));
    assert!(lines[1].starts_with("--"));

    // --all streams every page.
    let out = run(env.cmd().args(["list", "--all", "--page-size", "100"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = jsonl(&out.stdout);
    assert_eq!(records.len(), 250);
    assert_eq!(records[249]["id"], 250);
    assert!(
        out.stderr.is_empty(),
        "nothing extra on a non-terminal stderr: {}",
        out.stderr
    );

    // --where and --from/--to.
    let out = run(env.cmd().args(["list", "--all", "--where", "country=SE"]));
    let records = jsonl(&out.stdout);
    assert!(!records.is_empty() && records.len() < 250);
    assert!(records.iter().all(|r| r["country"] == "SE"));
    let out = run(env
        .cmd()
        .args(["list", "--all", "--from", "2100-01-01T00:00:00Z"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.is_empty());
    let out = run(env
        .cmd()
        .args(["list", "--all", "--to", "2100-01-01T00:00:00Z"]));
    assert_eq!(jsonl(&out.stdout).len(), 250);
    let out = run(env.cmd().args(["list", "--where", "country"]));
    assert_eq!(out.code, 2);
}

#[test]
fn create_get_update_delete_one_record() {
    let env = Env::seeded(0, TOKEN);
    let data = valid_record(1).to_string();
    let out = run(env.cmd().args(["create", "--data", &data, "--validate"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let created: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let id = created["id"].to_string().trim_matches('"').to_owned();
    assert_eq!(count(&env), 1);

    let out = run(env.cmd().args(["get", &id, "--format", "json"]));
    let got: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(got["email"], "cli.user1@example.com");

    let out = run(env
        .cmd()
        .args(["update", &id, "--data", r#"{"first_name":"Renamed"}"#]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(env.cmd().args(["get", &id]));
    assert_eq!(jsonl(&out.stdout)[0]["first_name"], "Renamed");

    let out = run(env.cmd().args(["delete", &id, "no-such-id"]));
    assert_eq!(out.code, 4, "one of the ids does not exist: {}", out.stderr);
    assert_eq!(jsonl(&out.stdout), vec![json!({"id": id, "deleted": true})]);
    assert!(out.stderr.contains("no-such-id"));
    assert_eq!(count(&env), 0);
    let out = run(env.cmd().args(["get", &id]));
    assert_eq!(out.code, 4);
    assert_eq!(
        out.stderr.lines().count(),
        1,
        "one clear line: {}",
        out.stderr
    );
}

#[test]
fn exit_codes_tell_failure_classes_apart() {
    let env = Env::seeded(2, TOKEN);
    // 2: usage.
    assert_eq!(run(env.cmd().args(["list", "--no-such-flag"])).code, 2);
    assert_eq!(
        run(env.bare().args(["list"])).code,
        2,
        "no connection given"
    );
    assert_eq!(
        run(env.cmd().args(["list", "--resource", "Bad Name"])).code,
        2
    );
    // 3: bad credentials.
    let out = run(env.bare().args([
        "--url",
        env.url(),
        "--auth",
        "bearer",
        "--token",
        "wrong",
        "list",
    ]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    // 4: not found.
    assert_eq!(run(env.cmd().args(["get", "12345"])).code, 4);
    // 5: validation, on the server and locally (then nothing is sent).
    let out = run(env.cmd().args(["create", "--data", r#"{"email":"nope"}"#]));
    assert_eq!(out.code, 5);
    assert!(
        out.stderr.contains("first_name"),
        "details listed: {}",
        out.stderr
    );
    let before = env.sandbox.request_log().len();
    let out = run(env
        .cmd()
        .args(["create", "--validate", "--data", r#"{"email":"nope"}"#]));
    assert_eq!(out.code, 5);
    assert!(out.stderr.contains("locally"), "{}", out.stderr);
    let posts = env.sandbox.request_log()[before..]
        .iter()
        .filter(|e| e.method == "POST")
        .count();
    assert_eq!(posts, 0, "nothing was sent");
    // 1: anything else (an input file that cannot be read).
    let out = run(env.cmd().args(["create", "--file", "/no/such/file.jsonl"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(count(&env), 2);
}

#[test]
fn rate_limited_server_error_and_network_exit_codes() {
    let limited = Env::start(
        Sandbox::builder().seed_records(1).faults(Faults {
            every_nth_429: Some(1),
            retry_after_secs: 1,
            ..Faults::default()
        }),
        TOKEN,
    );
    let out = run(limited
        .bare()
        .args(["--url", limited.url(), "--max-retries", "0", "list"]));
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert!(out.stderr.contains("429"), "{}", out.stderr);

    let failing = Env::start(
        Sandbox::builder().seed_records(1).faults(Faults {
            error_rate: 1.0,
            ..Faults::default()
        }),
        TOKEN,
    );
    let out = run(failing
        .bare()
        .args(["--url", failing.url(), "--max-retries", "0", "list"]));
    assert_eq!(out.code, 7, "{}", out.stderr);

    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = run(failing
        .bare()
        .args(["--url", &url, "--max-retries", "0", "check"]));
    assert_eq!(out.code, 8, "{}", out.stderr);
}

#[test]
fn credentials_over_plain_http_to_another_host_are_refused_with_the_way_out() {
    let env = Env::seeded(0, TOKEN);
    // Refused before anything is sent: no traffic leaves the machine.
    let out = run(env.bare().args([
        "--url",
        "http://dbsync.invalid",
        "--auth",
        "bearer",
        "--token",
        TOKEN,
        "check",
    ]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--allow-insecure-http"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(TOKEN));
}

#[test]
fn bulk_create_of_ten_thousand_json_lines_keeps_every_failure() {
    let env = Env::seeded(0, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    let mut invalid_lines = Vec::new();
    let mut valid = 0;
    for i in 1..=10_000usize {
        if i % 997 == 0 {
            text.push_str(&json!({"email": "not-an-email", "first_name": "X", "last_name": "Y", "country": "US", "active": true}).to_string());
            invalid_lines.push(i as u64);
        } else if i == 5_000 {
            text.push_str("{not json");
            invalid_lines.push(i as u64);
        } else {
            text.push_str(&valid_record(i).to_string());
            valid += 1;
        }
        text.push('\n');
    }
    let input = write_file(dir.path(), "in.jsonl", &text);
    let failed = dir.path().join("failed.jsonl");
    let out = run(env
        .cmd()
        .args(["create", "--file"])
        .arg(&input)
        .arg("--failed")
        .arg(&failed));
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert_eq!(
        jsonl(&out.stdout).len(),
        valid,
        "one line per created record"
    );
    assert_eq!(count(&env), valid, "the valid records stored exactly once");
    let failures = jsonl(&std::fs::read_to_string(&failed).unwrap());
    let lines: Vec<u64> = failures
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    let mut expected = invalid_lines.clone();
    expected.sort();
    assert_eq!(lines, expected);
    let email_failure = failures.iter().find(|f| f["line"] == 997).unwrap();
    assert_eq!(email_failure["record"]["email"], "not-an-email");
    assert_eq!(email_failure["error"]["code"], 400);
    assert!(
        email_failure["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["field"] == "email")
    );
    let json_failure = failures.iter().find(|f| f["line"] == 5000).unwrap();
    assert_eq!(json_failure["record"], "{not json");
    assert!(
        out.stderr
            .contains(&format!("{} failed", invalid_lines.len())),
        "{}",
        out.stderr
    );

    // The failed records, fixed, can be retried from that file.
    let retry: String = failures
        .iter()
        .filter(|f| f["record"].is_object())
        .map(|f| {
            let mut record = f["record"].clone();
            record["email"] = json!(format!("fixed{}@example.com", f["line"]));
            record.to_string() + "\n"
        })
        .collect();
    let retry_file = write_file(dir.path(), "retry.jsonl", &retry);
    let out = run(env
        .cmd()
        .args(["create", "--validate", "--file"])
        .arg(&retry_file)
        .arg("--failed")
        .arg(&failed));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(count(&env), valid + invalid_lines.len() - 1);
    assert_eq!(
        std::fs::read_to_string(&failed).unwrap(),
        "",
        "no failures this time"
    );
}

#[test]
fn bulk_create_from_a_json_array_and_bulk_update_with_validation() {
    let env = Env::seeded(5, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let array = format!(
        "[\n{},\n{},\n{}\n]\n",
        valid_record(1),
        json!({"email": "bad", "first_name": "A", "last_name": "B", "country": "US", "active": true}),
        valid_record(3)
    );
    let input = write_file(dir.path(), "in.json", &array);
    let failed = dir.path().join("failed.jsonl");
    let out = run(env
        .cmd()
        .args(["create", "--concurrency", "1", "--validate", "--file"])
        .arg(&input)
        .arg("--failed")
        .arg(&failed));
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert_eq!(count(&env), 7);
    let failures = jsonl(&std::fs::read_to_string(&failed).unwrap());
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["line"], 3);
    assert!(
        failures[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("locally")
    );

    let updates = [
        json!({"id": 1, "first_name": "One"}),
        json!({"id": "2", "first_name": "Two"}),
        json!({"first_name": "no id"}),
        json!({"id": 3, "age": 5}),
        json!({"id": 999, "first_name": "Ghost"}),
    ]
    .iter()
    .map(|r| r.to_string() + "\n")
    .collect::<String>();
    let input = write_file(dir.path(), "updates.jsonl", &updates);
    let out = run(env
        .cmd()
        .args(["update", "--validate", "--file"])
        .arg(&input)
        .arg("--failed")
        .arg(&failed));
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert_eq!(jsonl(&out.stdout).len(), 2);
    let failures = jsonl(&std::fs::read_to_string(&failed).unwrap());
    let lines: Vec<u64> = failures
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 4, 5]);
    assert_eq!(failures[2]["error"]["code"], 404);
    let out = run(env.cmd().args(["get", "2"]));
    assert_eq!(jsonl(&out.stdout)[0]["first_name"], "Two");
    // Not-found only: the class of the failures.
    let input = write_file(
        dir.path(),
        "ghost.jsonl",
        "{\"id\": 998, \"first_name\": \"G\"}\n",
    );
    let out = run(env.cmd().args(["update", "--file"]).arg(&input));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("line 1"), "{}", out.stderr);
}

#[test]
fn validate_lists_every_violation_with_its_line() {
    let env = Env::seeded(0, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let schema = write_file(
        dir.path(),
        "schema.json",
        r#"{"fields":[{"name":"name","type":"string","required":true},{"name":"age","type":"integer","min":0}]}"#,
    );
    let input = write_file(
        dir.path(),
        "in.jsonl",
        "{\"name\":\"a\"}\n{\"age\":-1}\n\n{\"name\":3,\"age\":\"x\"}\n",
    );
    let out = run(env
        .bare()
        .args(["validate", "--schema"])
        .arg(&schema)
        .arg(&input));
    assert_eq!(out.code, 5, "{}", out.stderr);
    let rows = jsonl(&out.stdout);
    let found: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["field"].as_str().unwrap()))
        .collect();
    assert_eq!(found.len(), 4, "{rows:?}");
    assert!(found.contains(&(2, "name")) && found.contains(&(2, "age")));
    assert!(found.contains(&(4, "name")) && found.contains(&(4, "age")));
    assert!(out.stderr.contains("2 of 3"), "{}", out.stderr);

    // Against the server's schema of a resource.
    let good = write_file(
        dir.path(),
        "good.jsonl",
        &(valid_record(1).to_string() + "\n"),
    );
    let out = run(env
        .cmd()
        .args(["validate", "--resource", "records"])
        .arg(&good));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(env
        .cmd()
        .args(["validate", "--resource", "records", "--format", "csv"])
        .arg(&input));
    assert_eq!(out.code, 5);
    assert!(
        out.stdout.starts_with("code,field,line,message") || out.stdout.starts_with("line"),
        "{}",
        out.stdout
    );
    assert_eq!(run(env.bare().args(["validate"]).arg(&input)).code, 2);
}

#[test]
fn validate_reports_a_unique_value_repeated_within_the_input_with_both_lines() {
    let env = Env::seeded(0, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let schema = write_file(
        dir.path(),
        "schema.json",
        r#"{"fields":[{"name":"email","type":"string","unique":true,"nullable":true},{"name":"n","type":"integer"}]}"#,
    );
    let input = write_file(
        dir.path(),
        "in.jsonl",
        "{\"email\":\"a@x.io\",\"n\":1}\n{\"email\":\"b@x.io\",\"n\":2}\n{\"email\":\"a@x.io\",\"n\":3}\n{\"email\":null}\n",
    );
    let out = run(env
        .bare()
        .args(["validate", "--schema"])
        .arg(&schema)
        .arg(&input));
    assert_eq!(out.code, 5, "{}", out.stderr);
    let rows = jsonl(&out.stdout);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["line"], 3);
    assert_eq!(rows[0]["field"], "email");
    assert_eq!(rows[0]["code"], "unique");
    assert!(
        rows[0]["message"].as_str().unwrap().contains("line 1"),
        "{rows:?}"
    );
}

#[cfg(unix)]
#[test]
fn profiles_are_saved_private_without_secrets_and_used() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::seeded(3, TOKEN);
    let out = run(env.cmd().args(["connection", "save", "prod"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let path = env.dir.path().join("profiles/prod.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(TOKEN));
    assert!(text.contains("${DBSYNC_TOKEN}"), "{text}");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Used with the secret from the environment.
    let out = run(env
        .bare()
        .args(["--profile", "prod", "list"])
        .env("DBSYNC_TOKEN", TOKEN));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(jsonl(&out.stdout).len(), 3);
    // Without it, a clear usage error.
    let out = run(env.bare().args(["--profile", "prod", "list"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("DBSYNC_TOKEN"), "{}", out.stderr);

    // --store-secret keeps the secret in the file; show never prints it.
    let out = run(env
        .cmd()
        .args(["connection", "save", "kept", "--store-secret"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let kept = env.dir.path().join("profiles/kept.json");
    assert!(std::fs::read_to_string(&kept).unwrap().contains(TOKEN));
    assert_eq!(
        std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = run(env.bare().args(["--profile", "kept", "check"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    for format in ["json", "jsonl", "table", "csv"] {
        let out = run(env
            .bare()
            .args(["connection", "show", "kept", "--format", format]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN));
        assert!(out.stdout.contains(env.url()), "{}", out.stdout);
    }
    let out = run(env.bare().args(["connection", "list"]));
    let names: Vec<String> = jsonl(&out.stdout)
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["kept", "prod"]);

    // Flags override the environment, which overrides the profile.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("http://127.0.0.1:{port}");
    let out = run(env.bare().args([
        "--profile",
        "kept",
        "--url",
        &dead,
        "--max-retries",
        "0",
        "check",
    ]));
    assert_eq!(out.code, 8, "the flag's URL was used");
    let out = run(env
        .bare()
        .args(["--profile", "kept", "--max-retries", "0", "check"])
        .env("DBSYNC_API_URL", &dead));
    assert_eq!(out.code, 8, "the variable's URL was used");
    let out = run(env
        .bare()
        .args(["--profile", "kept", "--url", env.url(), "check"])
        .env("DBSYNC_API_URL", &dead));
    assert_eq!(out.code, 0, "the flag beats the variable: {}", out.stderr);
    let out = run(env
        .bare()
        .args(["--profile", "kept", "--token", "wrong", "check"]));
    assert_eq!(out.code, 3, "the flag's token beats the stored one");

    // A failing check refuses to save; remove; unknown names.
    let out = run(env.bare().args([
        "--url",
        env.url(),
        "--auth",
        "bearer",
        "--token",
        "wrong",
        "connection",
        "save",
        "bad",
    ]));
    assert_eq!(out.code, 3);
    assert!(!env.dir.path().join("profiles/bad.json").exists());
    assert_eq!(
        run(env.bare().args(["connection", "remove", "prod"])).code,
        0
    );
    assert_eq!(
        run(env.bare().args(["connection", "remove", "prod"])).code,
        4
    );
    assert_eq!(run(env.bare().args(["--profile", "prod", "list"])).code, 4);
    assert_eq!(run(env.bare().args(["connection", "show", "../x"])).code, 2);
}

#[test]
fn settings_file_and_environment_give_the_connection() {
    let env = Env::seeded(2, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let config = write_file(
        dir.path(),
        "conn.json",
        &json!({"api_url": env.url(), "auth": {"type": "bearer", "token": "${DBSYNC_MY_TOKEN}"}})
            .to_string(),
    );
    let out = run(env
        .bare()
        .args(["--config"])
        .arg(&config)
        .arg("list")
        .env("DBSYNC_MY_TOKEN", TOKEN));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(jsonl(&out.stdout).len(), 2);
    let out = run(env
        .bare()
        .arg("list")
        .env("DBSYNC_API_URL", env.url())
        .env("DBSYNC_TOKEN", TOKEN));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(env
        .bare()
        .arg("list")
        .env("DBSYNC_CONFIG", &config)
        .env("DBSYNC_MY_TOKEN", TOKEN));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn no_secret_in_any_output() {
    let password = "pw-93b1-do-not-show";
    let secret = "cs-51d0-do-not-show";
    let basic = Env::start(
        Sandbox::builder()
            .auth(SandboxAuth::Basic {
                username: "ops".into(),
                password: password.into(),
            })
            .seed_records(3),
        TOKEN,
    );
    let oauth = Env::start(
        Sandbox::builder()
            .auth(SandboxAuth::OAuth2 {
                client_id: "cli".into(),
                client_secret: secret.into(),
            })
            .seed_records(3),
        TOKEN,
    );
    let bearer = Env::seeded(3, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "in.jsonl",
        &(valid_record(1).to_string() + "\n{\"email\":1}\n"),
    );
    let failed = dir.path().join("failed.jsonl");
    let file = file.to_str().unwrap().to_owned();
    let failed = failed.to_str().unwrap().to_owned();
    let commands: Vec<Vec<&str>> = vec![
        vec!["check"],
        vec!["list", "--limit", "2"],
        vec!["list", "--all", "--format", "table"],
        vec!["get", "1"],
        vec!["get", "404404"],
        vec!["create", "--data", "{\"email\":\"x\"}"],
        vec!["create", "--file", &file, "--failed", &failed],
        vec!["update", "1", "--data", "{\"first_name\":\"Q\"}"],
        vec!["delete", "2"],
        vec!["validate", "--resource", "records", &file],
        vec!["connection", "save", "s1"],
        vec!["connection", "save", "s2", "--store-secret"],
        vec!["connection", "show", "s2"],
        vec!["connection", "list"],
        vec!["usage"],
        vec!["logs", "--limit", "3"],
        vec!["workflow", "list"],
        vec!["keys", "list"],
    ];
    let mut runs = 0;
    for (env, creds, secret) in [
        (
            &basic,
            vec![
                "--auth",
                "basic",
                "--username",
                "ops",
                "--password",
                password,
            ],
            password,
        ),
        (
            &oauth,
            vec![
                "--auth",
                "oauth2",
                "--client-id",
                "cli",
                "--client-secret",
                secret,
            ],
            secret,
        ),
        (&bearer, vec!["--auth", "bearer", "--token", TOKEN], TOKEN),
    ] {
        for wrong in [false, true] {
            for verbose in [false, true] {
                for command in &commands {
                    let mut cmd = env.bare();
                    cmd.args(["--url", env.url()]);
                    let mut creds = creds.clone();
                    let wrong_secret = format!("{secret}-wrong");
                    if wrong {
                        *creds.last_mut().unwrap() = &wrong_secret;
                    }
                    cmd.args(&creds);
                    if verbose {
                        cmd.arg("-v");
                    }
                    cmd.args(command);
                    let out = run(&mut cmd);
                    runs += 1;
                    for text in [&out.stdout, &out.stderr] {
                        assert!(
                            !text.contains(secret),
                            "{command:?} printed the secret: {text}"
                        );
                    }
                    if verbose && !wrong && command[0] == "get" && command[1] == "1" {
                        assert!(
                            out.stderr.contains("GET") && out.stderr.contains("/v1/records/{id}"),
                            "{}",
                            out.stderr
                        );
                        assert!(
                            out.stderr.contains("status=200") && out.stderr.contains("attempt=1"),
                            "{}",
                            out.stderr
                        );
                    }
                }
            }
        }
    }
    assert_eq!(runs, 3 * 2 * 2 * commands.len());
    let failed_text = std::fs::read_to_string(dir.path().join("failed.jsonl")).unwrap_or_default();
    assert!(
        !failed_text.contains(TOKEN)
            && !failed_text.contains(password)
            && !failed_text.contains(secret)
    );
}

#[test]
fn completions_for_each_shell() {
    let env = Env::seeded(0, TOKEN);
    for shell in ["bash", "zsh", "fish"] {
        let out = run(env.bare().args(["completions", shell]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stdout.contains("dbsync") && out.stdout.contains("connection"),
            "{shell}"
        );
    }
    assert_eq!(run(env.bare().args(["completions", "tcsh"])).code, 2);
}

#[test]
fn help_documents_the_exit_codes() {
    let env = Env::seeded(0, TOKEN);
    let out = run(env.bare().arg("--help"));
    assert_eq!(out.code, 0);
    for line in [
        "0  ok",
        "2  usage",
        "3  auth",
        "4  not found",
        "5  validation",
        "6  rate limited",
        "7  server",
        "8  network",
        "1  anything else",
    ] {
        assert!(out.stdout.contains(line), "{line}");
    }
}

#[cfg(unix)]
#[test]
fn sandbox_command_serves_until_interrupted() {
    use std::io::BufRead as _;
    let bin = assert_cmd::cargo::cargo_bin("dbsync");
    let mut child = std::process::Command::new(&bin)
        .args([
            "sandbox",
            "--port",
            "0",
            "--records",
            "7",
            "--auth",
            "bearer",
            "--token",
            "demo-token",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    let url = url.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let mut usage = String::new();
    stdout.read_line(&mut usage).unwrap();
    assert!(usage.contains("--auth bearer --token '<hidden"), "{usage}");
    assert!(!usage.contains("demo-token"), "{usage}");
    let out = run(Command::cargo_bin("dbsync").unwrap().args([
        "--url",
        &url,
        "--auth",
        "bearer",
        "--token",
        "demo-token",
        "list",
        "--all",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(jsonl(&out.stdout).len(), 7);
    // Ctrl-C stops it cleanly.
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let _ = std::io::stdout().flush();
}

#[test]
fn workflows_run_wait_status_and_cancel() {
    let env = Env::start(
        Sandbox::builder()
            .auth(SandboxAuth::Bearer {
                token: TOKEN.into(),
            })
            .workflow_duration(std::time::Duration::from_millis(200)),
        TOKEN,
    );
    let out = run(env.cmd().args(["workflow", "list"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let workflows = jsonl(&out.stdout);
    assert!(workflows.iter().any(|w| w["id"] == "wf_sync_contacts"));

    let out = run(env.cmd().args([
        "workflow",
        "run",
        "wf_sync_contacts",
        "--input",
        r#"{"x":1}"#,
        "--wait",
        "--format",
        "json",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_json: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(run_json["status"], "succeeded");
    let run_id = run_json["id"].as_str().unwrap().to_owned();
    let out = run(env
        .cmd()
        .args(["workflow", "status", "wf_sync_contacts", &run_id]));
    assert_eq!(jsonl(&out.stdout)[0]["status"], "succeeded");
    // A finished run cannot be cancelled: 409, exit 1.
    let out = run(env
        .cmd()
        .args(["workflow", "cancel", "wf_sync_contacts", &run_id]));
    assert_eq!(out.code, 1, "{}", out.stderr);

    // A failing run: --wait exits non-zero and says why.
    let out = run(env.cmd().args([
        "workflow",
        "run",
        "wf_import_orders",
        "--input",
        r#"{"fail":true}"#,
        "--wait",
    ]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("failed"), "{}", out.stderr);

    // Without --wait the run is queued; cancel it (on a sandbox whose runs take minutes).
    let env = Env::start(
        Sandbox::builder()
            .auth(SandboxAuth::Bearer {
                token: TOKEN.into(),
            })
            .workflow_duration(std::time::Duration::from_secs(600)),
        TOKEN,
    );
    let out = run(env.cmd().args(["workflow", "run", "wf_import_orders"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let queued = jsonl(&out.stdout).remove(0);
    let id = queued["id"].as_str().unwrap();
    let out = run(env
        .cmd()
        .args(["workflow", "cancel", "wf_import_orders", id]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(jsonl(&out.stdout)[0]["status"], "cancelled");
    assert_eq!(
        run(env.cmd().args(["workflow", "status", "wf_nope", "run_1"])).code,
        4
    );
}

#[test]
fn logs_export_usage_and_keys() {
    let env = Env::seeded(3, TOKEN);
    assert_eq!(run(env.cmd().args(["list"])).code, 0);
    assert_eq!(run(env.cmd().args(["get", "404404"])).code, 4);

    let out = run(env
        .cmd()
        .args(["logs", "--method", "GET", "--status", "404"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let entries = jsonl(&out.stdout);
    assert!(!entries.is_empty());
    assert!(
        entries
            .iter()
            .all(|e| e["status"] == 404 && e["method"] == "GET")
    );
    let out = run(env.cmd().args(["logs", "--limit", "1"]));
    assert_eq!(jsonl(&out.stdout).len(), 1);

    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("logs.csv");
    let out = run(env.cmd().args(["logs", "export", "--out"]).arg(&csv_path));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&csv_path).unwrap();
    assert!(
        text.starts_with("id,timestamp,method,endpoint,status,duration_ms"),
        "{text}"
    );
    let jsonl_path = dir.path().join("logs.jsonl");
    let out = run(env
        .cmd()
        .args([
            "logs",
            "--endpoint",
            "/v1/records",
            "export",
            "--format",
            "jsonl",
            "--out",
        ])
        .arg(&jsonl_path));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let exported = jsonl(&std::fs::read_to_string(&jsonl_path).unwrap());
    assert!(!exported.is_empty());
    let out = run(env
        .cmd()
        .args(["logs", "export", "--format", "table", "--out"])
        .arg(dir.path().join("x")));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!dir.path().join("x").exists());

    let out = run(env.cmd().args(["usage", "--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let usage: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(usage.get("used").is_some(), "{usage}");

    let out = run(env.cmd().args(["keys", "create", "ci"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let created = jsonl(&out.stdout).remove(0);
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| created["id"].to_string());
    // The new key works as a bearer token; list never shows it.
    let out = run(env.bare().args([
        "--url",
        env.url(),
        "--auth",
        "bearer",
        "--token",
        &key,
        "keys",
        "list",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains(&key));
    assert!(jsonl(&out.stdout).iter().any(|k| k["name"] == "ci"));
    let out = run(env.cmd().args(["keys", "regenerate", &id]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let new_key = jsonl(&out.stdout)[0]["key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, key);
    assert_eq!(
        run(env.bare().args([
            "--url",
            env.url(),
            "--auth",
            "bearer",
            "--token",
            &key,
            "check"
        ]))
        .code,
        3
    );
    assert_eq!(run(env.cmd().args(["keys", "revoke", &id])).code, 0);
    assert_eq!(
        run(env.bare().args([
            "--url",
            env.url(),
            "--auth",
            "bearer",
            "--token",
            &new_key,
            "check"
        ]))
        .code,
        3
    );
    assert_eq!(run(env.cmd().args(["keys", "revoke", "key_nope"])).code, 4);
}

#[test]
fn a_closed_stdout_does_not_stop_a_bulk_create() {
    // `dbsync create --file big.jsonl | head -1`: the reader goes away at once, yet every
    // record is still sent, and the exit code is the create's own (0: all saved).
    let env = Env::seeded(0, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..2_000)
        .map(|i| format!("{}\n", valid_record(i)))
        .collect();
    let input = write_file(dir.path(), "in.jsonl", &text);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dbsync"))
        .env_clear()
        .env("DBSYNC_CONFIG_DIR", env.dir.path())
        .args(["--url", env.url(), "--auth", "bearer", "--token", TOKEN])
        .args(["create", "--file"])
        .arg(&input)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&env), 2_000);
}

#[test]
fn a_lost_batch_response_leaves_the_idempotency_key_in_the_failed_file_and_no_duplicate() {
    // The first batch request is carried out and its answer lost; every other request is
    // answered.
    let env = Env::start(
        Sandbox::builder()
            .auth(SandboxAuth::Bearer {
                token: TOKEN.into(),
            })
            .faults(Faults::first_answer_lost()),
        TOKEN,
    );
    let dir = tempfile::tempdir().unwrap();
    // 150 records: a request of 100 (lost) and one of 50 with an invalid record (line 120).
    let text: String = (1..=150usize)
        .map(|i| {
            let mut record = valid_record(i);
            if i == 120 {
                record["email"] = json!("not-an-email");
            }
            format!("{record}\n")
        })
        .collect();
    let input = write_file(dir.path(), "in.jsonl", &text);
    let failed = dir.path().join("failed.jsonl");
    let out = run(env
        .cmd()
        .args([
            "--max-retries",
            "0",
            "create",
            "--concurrency",
            "1",
            "--file",
        ])
        .arg(&input)
        .arg("--failed")
        .arg(&failed));
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert_eq!(jsonl(&out.stdout).len(), 49);
    // The lost request was carried out: its 100 records are stored.
    assert_eq!(count(&env), 149);
    assert!(
        out.stderr
            .contains("100 of the failed record(s) have an unknown outcome"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("dbsync resend {}", failed.display())),
        "{}",
        out.stderr
    );

    let failures = jsonl(&std::fs::read_to_string(&failed).unwrap());
    assert_eq!(failures.len(), 101);
    let (unknown, not_saved): (Vec<&Value>, Vec<&Value>) =
        failures.iter().partition(|f| f["outcome"] == "unknown");
    let lines =
        |fs: &[&Value]| -> Vec<u64> { fs.iter().map(|f| f["line"].as_u64().unwrap()).collect() };
    assert_eq!(lines(&unknown), (1..=100).collect::<Vec<u64>>());
    assert_eq!(lines(&not_saved), vec![120]);
    assert_eq!(not_saved[0]["outcome"], "not_saved");
    assert_eq!(not_saved[0]["idempotency_key"], Value::Null);
    assert_eq!(not_saved[0]["error"]["code"], 400);
    // Every unknown record carries the key of its request: one key for the whole request.
    let key = unknown[0]["idempotency_key"].as_str().unwrap().to_owned();
    assert!(!key.is_empty());
    assert!(unknown.iter().all(|f| f["idempotency_key"] == key.as_str()));
    assert!(
        unknown[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the outcome is unknown"),
        "{}",
        unknown[0]
    );

    // `dbsync resend`, nothing fixed: the 100 lines sharing the key go again as one batch with
    // that key, and the server replays its first answer (the 100 records it saved, with their
    // ids), creating nothing; the invalid record goes as a new create, is refused again and is
    // in the new failures file, at its line in the old one.
    let failed2 = dir.path().join("failed2.jsonl");
    let out = resend(&env, &failed, &failed2);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert_eq!(count(&env), 149, "the replay created nothing");
    let replayed = jsonl(&out.stdout);
    assert_eq!(replayed.len(), 100, "{}", out.stderr);
    for (i, record) in replayed.iter().enumerate() {
        assert_eq!(record["email"], format!("cli.user{}@example.com", i + 1));
    }
    let stored = jsonl(&run(env.cmd().args(["--format", "jsonl", "list", "--all"])).stdout);
    let stored_ids: std::collections::HashSet<String> =
        stored.iter().map(|r| r["id"].to_string()).collect();
    let replayed_ids: std::collections::HashSet<String> =
        replayed.iter().map(|r| r["id"].to_string()).collect();
    assert_eq!(replayed_ids.len(), 100);
    assert!(
        replayed_ids.is_subset(&stored_ids),
        "the ids of the first answer"
    );
    assert!(
        out.stderr
            .contains(&format!("dbsync resend {}", failed2.display())),
        "{}",
        out.stderr
    );
    let again = jsonl(&std::fs::read_to_string(&failed2).unwrap());
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["line"], 101);
    assert_eq!(again[0]["outcome"], "not_saved");
    assert_eq!(again[0]["idempotency_key"], Value::Null);
    assert_eq!(again[0]["error"]["code"], 400);
    assert_eq!(again[0]["record"]["email"], "not-an-email");

    // Fixed in the new failures file and resent: created, exactly once.
    let mut fixed = again[0].clone();
    fixed["record"]["email"] = json!("fixed120@example.com");
    std::fs::write(&failed2, format!("{fixed}\n")).unwrap();
    let failed3 = dir.path().join("failed3.jsonl");
    let out = resend(&env, &failed2, &failed3);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(jsonl(&out.stdout).len(), 1);
    assert_eq!(count(&env), 150);
    assert_eq!(std::fs::read_to_string(&failed3).unwrap(), "");
}

/// A line of a failures file, as `dbsync create --failed` writes it.
fn failure_line(line: u64, record: &Value, outcome: &str, key: Option<&str>) -> String {
    let entry = json!({
        "line": line,
        "record": record,
        "error": {"code": null, "message": "the connection was closed; the outcome is unknown", "details": []},
        "outcome": outcome,
        "idempotency_key": key,
    });
    format!("{entry}\n")
}

/// An RFC 3339 UTC time, as `dbsync create` writes `key_sent_at`.
fn rfc3339(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A line of a failures file of a request lost as a whole, as `dbsync create` writes it.
fn keyed_line(
    line: u64,
    record: &Value,
    key: &str,
    sent_at: Option<std::time::SystemTime>,
    position: u64,
    size: u64,
) -> String {
    let mut entry: Value =
        serde_json::from_str(&failure_line(line, record, "unknown", Some(key))).unwrap();
    entry["key_sent_at"] = sent_at.map(rfc3339).into();
    entry["request_position"] = position.into();
    entry["request_size"] = size.into();
    format!("{entry}\n")
}

#[test]
fn resend_never_sends_a_record_that_may_exist_without_its_key() {
    let env = Env::seeded(0, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let old_format =
        json!({"line": 8, "record": valid_record(2), "error": {"code": 503, "message": "down"}});
    let text = [
        // 1: unknown, no key: not sent.
        failure_line(7, &valid_record(1), "unknown", None),
        // 2: a file from before "outcome": not sent.
        format!("{old_format}\n"),
        // 3: not JSON.
        "{\"line\":9,\"record\":\n".to_owned(),
        // 4: blank, skipped.
        "\n".to_owned(),
        // 5: an outcome that means nothing.
        format!(
            "{}\n",
            json!({"record": valid_record(3), "outcome": "maybe"})
        ),
        // 6: not saved: created.
        failure_line(10, &valid_record(4), "not_saved", None),
        // 7: not an object.
        "[1, 2]\n".to_owned(),
    ]
    .concat();
    let failed = write_file(dir.path(), "failed.jsonl", &text);
    let new = dir.path().join("new.jsonl");
    let out = resend(&env, &failed, &new);
    assert_eq!(
        out.code, 5,
        "a malformed line is a validation failure: {}",
        out.stderr
    );
    assert_eq!(count(&env), 1, "only the record not saved was sent");
    let created = jsonl(&out.stdout);
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["email"], "cli.user4@example.com");
    assert!(
        out.stderr.contains("saved 1 of 6 record(s); 5 failed"),
        "{}",
        out.stderr
    );

    let again = jsonl(&std::fs::read_to_string(&new).unwrap());
    let lines: Vec<u64> = again.iter().map(|f| f["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![1, 2, 3, 5, 7]);
    for entry in &again {
        assert_eq!(entry["outcome"], "unknown", "{entry}");
        assert_eq!(entry["idempotency_key"], Value::Null, "{entry}");
    }
    let message = |i: usize| again[i]["error"]["message"].as_str().unwrap().to_owned();
    assert!(message(0).contains("no idempotency_key"), "{}", message(0));
    assert!(
        message(0).contains("check whether it exists"),
        "{}",
        message(0)
    );
    assert!(
        message(0).contains("first error: the connection was closed"),
        "{}",
        message(0)
    );
    assert_eq!(again[0]["record"], valid_record(1));
    assert!(message(1).contains("no \"outcome\""), "{}", message(1));
    assert!(message(1).contains("older dbsync"), "{}", message(1));
    assert_eq!(again[1]["record"], valid_record(2));
    assert!(
        message(2).contains("not an entry of a failures file"),
        "{}",
        message(2)
    );
    assert!(message(2).contains("not a JSON document"), "{}", message(2));
    assert_eq!(again[2]["record"], "{\"line\":9,\"record\":");
    assert!(
        message(3).contains("\"outcome\" is \"maybe\""),
        "{}",
        message(3)
    );
    assert!(message(4).contains("not a JSON object"), "{}", message(4));

    // The new file resent (without --failed: each failure on stderr with its line): nothing
    // is sent, and the messages are not wrapped again.
    let out = run(env.cmd().arg("resend").arg(&new));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(count(&env), 1);
    for line in 1..=5 {
        assert!(
            out.stderr
                .contains(&format!("dbsync: line {line}: not sent again: ")),
            "line {line}: {}",
            out.stderr
        );
    }
    assert!(
        !out.stderr.contains("first error: not sent again"),
        "{}",
        out.stderr
    );

    // --failed must not be the file read (it would be emptied first).
    let out = resend(&env, &failed, dir.path().join(".").join("failed.jsonl"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&failed).unwrap(), text);
}

#[test]
fn resend_sends_a_key_again_only_while_the_server_keeps_it() {
    let env = Env::seeded(0, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    // Two records of a request whose answer was lost, and that in fact never arrived.
    let key = "resend-test-key-1";
    let text = [
        failure_line(1, &valid_record(1), "unknown", Some(key)),
        failure_line(2, &valid_record(2), "unknown", Some(key)),
    ]
    .concat();
    let failed = write_file(dir.path(), "failed.jsonl", &text);

    // Sent 24 hours ago (key_sent_at), though the file itself was just written: the server
    // has forgotten the key, so it is not sent, and the new file no longer carries it.
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(24 * 3600);
    let old = [
        keyed_line(1, &valid_record(1), key, Some(day_ago), 0, 2),
        keyed_line(2, &valid_record(2), key, Some(day_ago), 1, 2),
    ]
    .concat();
    std::fs::write(&failed, &old).unwrap();
    let new = dir.path().join("new.jsonl");
    let out = resend(&env, &failed, &new);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(count(&env), 0);
    let again = jsonl(&std::fs::read_to_string(&new).unwrap());
    assert_eq!(again.len(), 2);
    for entry in &again {
        assert_eq!(entry["outcome"], "unknown");
        assert_eq!(entry["idempotency_key"], Value::Null);
        let message = entry["error"]["message"].as_str().unwrap();
        assert!(message.contains("over 23 hours ago"), "{message}");
        assert!(message.contains("check whether it exists"), "{message}");
    }
    // A key without key_sent_at (an older dbsync's file) is never sent either.
    let failed_old_format = write_file(dir.path(), "old-format.jsonl", &text);
    let out = run(env.cmd().arg("resend").arg(&failed_old_format));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(count(&env), 0);
    assert!(out.stderr.contains("no \"key_sent_at\""), "{}", out.stderr);

    let now = std::time::SystemTime::now();
    let text = [
        keyed_line(1, &valid_record(1), key, Some(now), 0, 2),
        keyed_line(2, &valid_record(2), key, Some(now), 1, 2),
    ]
    .concat();
    // Fresh: sent with the key. The server never saw it, so it creates them now; sent again,
    // it replays that answer and creates nothing.
    std::fs::write(&failed, &text).unwrap();
    for _ in 0..2 {
        let out = run(env.cmd().arg("resend").arg(&failed));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let saved = jsonl(&out.stdout);
        assert_eq!(saved.len(), 2);
        assert_eq!(saved[1]["email"], "cli.user2@example.com");
        assert_eq!(count(&env), 2);
    }

    // The same key with other records (one changed): refused (409), nothing created, and the
    // lines keep the key and their unknown outcome.
    let changed = [
        keyed_line(1, &valid_record(1), key, Some(now), 0, 2),
        keyed_line(2, &valid_record(3), key, Some(now), 1, 2),
    ]
    .concat();
    let failed = write_file(dir.path(), "changed.jsonl", &changed);
    let out = resend(&env, &failed, &new);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(count(&env), 2);
    let again = jsonl(&std::fs::read_to_string(&new).unwrap());
    assert_eq!(again.len(), 2);
    for entry in &again {
        assert_eq!(entry["outcome"], "unknown");
        assert_eq!(entry["idempotency_key"], key);
        assert!(entry["key_sent_at"].is_string(), "{entry}");
        assert_eq!(entry["request_size"], 2);
        assert_eq!(entry["error"]["code"], 409);
        let message = entry["error"]["message"].as_str().unwrap();
        assert!(message.contains("still unknown"), "{message}");
    }
}

#[test]
fn failed_must_not_be_the_input_by_any_name_nor_stdin() {
    let env = Env::seeded(0, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let text = failure_line(1, &valid_record(1), "not_saved", None);
    let input = write_file(dir.path(), "failed.jsonl", &text);
    let link = dir.path().join("link.jsonl");
    std::fs::hard_link(&input, &link).unwrap();
    for command in ["resend", "create"] {
        // A hard link to the input.
        let mut cmd = env.cmd();
        if command == "resend" {
            cmd.arg("resend").arg(&input);
        } else {
            cmd.args(["create", "--file"]).arg(&input);
        }
        let out = run(cmd.arg("--failed").arg(&link));
        assert_eq!(out.code, 2, "{command}: {}", out.stderr);
        assert_eq!(std::fs::read_to_string(&input).unwrap(), text, "{command}");
        // Stdin redirected from the --failed file.
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("dbsync"));
        cmd.env_clear()
            .env("DBSYNC_CONFIG_DIR", env.dir.path())
            .args(["--url", env.url(), "--auth", "bearer", "--token", TOKEN]);
        if command == "resend" {
            cmd.args(["resend", "-"]);
        } else {
            cmd.args(["create", "--file", "-"]);
        }
        let out = cmd
            .arg("--failed")
            .arg(&input)
            .stdin(std::fs::File::open(&input).unwrap())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read_to_string(&input).unwrap(), text, "{command}");
    }
    assert_eq!(count(&env), 0);
}

#[cfg(unix)]
#[test]
fn sandbox_command_prints_secrets_only_when_asked() {
    use std::io::BufRead as _;
    let bin = assert_cmd::cargo::cargo_bin("dbsync");
    for (extra, shown) in [(None, false), (Some("--show-secrets"), true)] {
        let mut args = vec!["sandbox", "--records", "1", "--auth", "basic"];
        args.extend(["--username", "u", "--password", "pw-5c1e-only-when-asked"]);
        args.extend(extra);
        let mut child = std::process::Command::new(&bin)
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut head = String::new();
        for _ in 0..2 {
            stdout.read_line(&mut head).unwrap();
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(head.contains("--username u --password "), "{head}");
        assert_eq!(head.contains("pw-5c1e-only-when-asked"), shown, "{head}");
    }
}

/// `dbsync sandbox` takes its secrets like every command: from standard input or a `DBSYNC_*`
/// variable, not only as a flag (flags show in `ps`).
#[cfg(unix)]
#[test]
fn sandbox_command_takes_secrets_from_stdin_and_the_environment() {
    use std::io::{BufRead as _, Write as _};
    let bin = assert_cmd::cargo::cargo_bin("dbsync");
    for from_stdin in [false, true] {
        let mut command = std::process::Command::new(&bin);
        command
            .args([
                "sandbox",
                "--records",
                "1",
                "--auth",
                "bearer",
                "--show-secrets",
            ])
            .env_remove("DBSYNC_TOKEN")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        if from_stdin {
            command.arg("--token-stdin");
        } else {
            command.env("DBSYNC_TOKEN", "tok-from-env-7d3a");
        }
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if from_stdin {
            stdin.write_all(b"tok-from-stdin-7d3a\n").unwrap();
        }
        drop(stdin);
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut head = String::new();
        for _ in 0..2 {
            stdout.read_line(&mut head).unwrap();
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let expected = if from_stdin {
            "--token tok-from-stdin-7d3a"
        } else {
            "--token tok-from-env-7d3a"
        };
        assert!(head.contains(expected), "{head}");
    }
}
