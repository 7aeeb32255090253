//! Output shaping and flag consistency, end to end: `--fields`, `--jq`, tables fitted to
//! `COLUMNS`, errors as JSON with `--format json`, `--limit`/`--page-size`, `dbsync man`,
//! completions, and the environment variables in `--help`.

mod common;

use common::{jsonl, run};

use assert_cmd::Command;
use serde_json::Value;
use unicode_width::UnicodeWidthStr as _;

const TOKEN: &str = "tok-output-3c1d-never-print";

type Env = common::TestEnv;

/// `dbsync` with no DBSYNC_*, COLUMNS or NO_COLOR from the outside, profiles in `config_dir`.
fn bare(config_dir: &std::path::Path) -> Command {
    let mut cmd = common::clean_command();
    cmd.env("DBSYNC_CONFIG_DIR", config_dir);
    cmd
}

fn keys(record: &Value) -> Vec<&str> {
    record
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn fields_keep_the_named_fields_in_every_format() {
    let env = Env::seeded(20, TOKEN);
    let out = run(env
        .cmd()
        .args(["list", "--limit", "3", "--fields", "email, id,nope"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = jsonl(&out.stdout);
    assert_eq!(records.len(), 3);
    for record in &records {
        assert_eq!(keys(record), ["email", "id", "nope"]);
        assert!(record["email"].is_string() && record["nope"].is_null());
    }
    let out = run(env.cmd().args([
        "list", "--limit", "2", "--fields", "id,email", "--format", "csv",
    ]));
    assert_eq!(
        out.stdout.lines().next(),
        Some("id,email"),
        "{}",
        out.stdout
    );
    let out = run(env.cmd().args([
        "list", "--limit", "2", "--fields", "country", "--format", "table",
    ]));
    assert!(
        out.stdout.starts_with("country\n-------\n"),
        "{}",
        out.stdout
    );
    let out = run(env
        .cmd()
        .args(["get", "1", "--fields", "id", "--format", "json"]));
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap(),
        serde_json::json!({"id": 1})
    );
}

#[test]
fn fields_naming_nothing_is_a_usage_error_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    for fields in [",", " ", ""] {
        // Nothing listens on port 1: a request would fail with exit 8.
        let out =
            run(bare(dir.path()).args(["--url", "http://127.0.0.1:1", "list", "--fields", fields]));
        assert_eq!(out.code, 2, "{fields:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.contains("--fields names no field"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn jq_shapes_each_record_and_a_bad_expression_is_a_usage_error() {
    let env = Env::seeded(10, TOKEN);
    let out = run(env.cmd().args([
        "list",
        "--limit",
        "5",
        "--jq",
        "select(.id > 3) | {id, mail: .email}",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = jsonl(&out.stdout);
    assert_eq!(records.len(), 2, "{}", out.stdout);
    assert_eq!(keys(&records[0]), ["id", "mail"]);
    assert_eq!(records[1]["id"], 5);
    // --fields first, then --jq; many values of one record are many records.
    let out = run(env.cmd().args([
        "list",
        "--limit",
        "2",
        "--fields",
        "id",
        "--jq",
        ".id, .id * 10",
        "--format",
        "json",
    ]));
    let values: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(values, serde_json::json!([1, 10, 2, 20]));
    let out = run(env.cmd().args(["get", "2", "--jq", ".id"]));
    assert_eq!(out.stdout.trim(), "2");

    let dir = tempfile::tempdir().unwrap();
    for expr in [".a |", "nosuchfilter", "{a:"] {
        let out = run(bare(dir.path()).args(["--url", "http://127.0.0.1:1", "list", "--jq", expr]));
        assert_eq!(out.code, 2, "{expr}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{expr}: {}", out.stdout);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.starts_with("dbsync: --jq `") && out.stderr.contains("not a valid jq"),
            "{}",
            out.stderr
        );
    }
    // A filter failing on a record stops the command (exit 1) and says so.
    let out = run(env.cmd().args(["list", "--limit", "2", "--jq", ".email.x"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("dbsync: --jq failed on a record"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_jq_failure_does_not_stop_a_bulk_create() {
    let env = Env::seeded(0, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.jsonl");
    let lines: Vec<String> = (0..3)
        .map(|i| {
            serde_json::json!({"email": format!("jq{i}@example.com"), "first_name": "J",
                "last_name": "Q", "country": "US", "active": true})
            .to_string()
        })
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = run(env
        .cmd()
        .args(["create", "--jq", ".email.x", "--file"])
        .arg(&file));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        env.sandbox.record_count("records"),
        3,
        "every record created"
    );
    assert_eq!(
        out.stderr.matches("--jq failed on a record").count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
fn a_table_fits_columns_and_cuts_cells_with_an_ellipsis() {
    let env = Env::seeded(5, TOKEN);
    let out = run(env
        .cmd()
        .env("COLUMNS", "50")
        .args(["list", "--limit", "5", "--format", "table"])
        .args(["--fields", "id,email,first_name,last_name,address"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{}", out.stdout);
    for line in &lines {
        assert!(line.width() <= 50, "{line:?}");
    }
    assert!(out.stdout.contains('…'), "{}", out.stdout);
    // Without COLUMNS and not on a terminal: only the per-cell cap.
    let wide = run(env
        .cmd()
        .args(["list", "--limit", "5", "--format", "table"])
        .args(["--fields", "id,email,first_name,last_name,address"]));
    assert!(
        wide.stdout.lines().any(|l| l.width() > 50),
        "{}",
        wide.stdout
    );
    // No color, ever: no escape sequence in a table or a -v log, NO_COLOR or not.
    for no_color in [None, Some("1")] {
        let mut cmd = env.cmd();
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = run(cmd.args(["-v", "list", "--limit", "2", "--format", "table"]));
        assert!(!out.stdout.contains('\u{1b}') && !out.stderr.contains('\u{1b}'));
    }
}

#[test]
fn a_long_table_streams_in_fitted_blocks() {
    let env = Env::seeded(2_100, TOKEN);
    let out = run(env
        .cmd()
        .env("COLUMNS", "40")
        .args(["list", "--all", "--page-size", "700", "--format", "table"])
        .args(["--fields", "id,email,address"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Blocks of 1,000 rows: three headers, 2,100 rows, every line fitted.
    assert_eq!(
        out.stdout.lines().filter(|l| l.starts_with("id ")).count(),
        3
    );
    assert_eq!(
        out.stdout
            .lines()
            .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .count(),
        2_100
    );
    assert!(out.stdout.lines().all(|l| l.width() <= 40));
}

#[test]
fn an_error_is_one_json_object_on_stderr_with_format_json() {
    let env = Env::seeded(1, TOKEN);
    let out = run(env.cmd().args(["get", "999999", "--format", "json"]));
    assert_eq!(out.code, 4);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    let error: Value = serde_json::from_str(&out.stderr).unwrap();
    assert_eq!(error["error"]["code"], "not_found");
    assert_eq!(error["error"]["exit_code"], 4);
    assert!(error["error"]["message"].as_str().unwrap().contains("404"));
    // A validation error carries its details.
    let out = run(env.cmd().args([
        "--format",
        "json",
        "create",
        "--data",
        "{\"email\": \"not-an-email\"}",
    ]));
    assert_eq!(out.code, 5, "{}", out.stderr);
    let error: Value = serde_json::from_str(&out.stderr).unwrap();
    assert_eq!(error["error"]["code"], "validation");
    assert!(
        !error["error"]["details"].as_array().unwrap().is_empty(),
        "{error}"
    );
    // A command line clap refuses, and a bad --jq.
    for args in [
        &["--format", "json", "lisst"][..],
        &["list", "--format=json", "--limit", "0"],
        &["list", "--format", "json", "--jq", ".a |"],
    ] {
        let out = run(env.bare().args(args));
        assert_eq!(out.code, 2, "{args:?}");
        let error: Value = serde_json::from_str(&out.stderr)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", out.stderr));
        assert_eq!(error["error"]["code"], "usage", "{args:?}");
        assert_eq!(error["error"]["exit_code"], 2);
    }
    // Other formats keep the text line.
    let out = run(env.cmd().args(["get", "999999", "--format", "jsonl"]));
    assert!(
        out.stderr.starts_with("dbsync: not found"),
        "{}",
        out.stderr
    );
}

#[test]
fn limit_is_the_total_and_page_size_the_page_everywhere() {
    let env = Env::seeded(1_100, TOKEN);
    let out = run(env
        .cmd()
        .args(["list", "--limit", "25", "--page-size", "10"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = jsonl(&out.stdout);
    assert_eq!(records.len(), 25);
    assert_eq!(records[24]["id"], 25);
    // More than one page of the largest size.
    let out = run(env
        .cmd()
        .args(["list", "--limit", "1001", "--offset", "10"]));
    let records = jsonl(&out.stdout);
    assert_eq!(records.len(), 1001);
    assert_eq!(records[0]["id"], 11);
    // A page size alone: one page of it.
    let out = run(env.cmd().args(["list", "--page-size", "7"]));
    assert_eq!(jsonl(&out.stdout).len(), 7);
    // `--all --limit N` set the page size before: now an error naming --page-size.
    let out = run(env.cmd().args(["list", "--all", "--limit", "10"]));
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("--page-size"), "{}", out.stderr);
    for bad in [
        &["list", "--page-size", "1001"][..],
        &["list", "--limit", "0"],
    ] {
        assert_eq!(run(env.cmd().args(bad)).code, 2, "{bad:?}");
    }
    // logs: --limit the total, --page-size the page; no page size for an export.
    let out = run(env.cmd().args(["logs", "--limit", "3", "--page-size", "1"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(jsonl(&out.stdout).len(), 3);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("logs.csv");
    let out = run(env
        .cmd()
        .args(["logs", "--page-size", "5", "export", "--out"])
        .arg(&file));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!file.exists());
}

#[test]
fn man_prints_a_page_or_writes_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(bare(dir.path()).arg("man"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with(".ie") || out.stdout.contains(".TH dbsync"),
        "{}",
        &out.stdout[..200]
    );
    assert!(
        out.stdout.contains("Exit codes"),
        "the exit codes are in the page"
    );
    let out = run(bare(dir.path()).args(["man", "logs", "export"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("dbsync\\-logs\\-export"),
        "{}",
        out.stdout
    );
    let out = run(bare(dir.path()).args(["man", "logs", "nope"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.is_empty() && out.stderr.contains("logs nope"),
        "{}",
        out.stderr
    );
    let pages = dir.path().join("man");
    let out = run(bare(dir.path()).args(["man", "--dir"]).arg(&pages));
    assert_eq!(out.code, 0, "{}", out.stderr);
    for page in [
        "dbsync.1",
        "dbsync-list.1",
        "dbsync-logs-export.1",
        "dbsync-man.1",
    ] {
        let text = std::fs::read_to_string(pages.join(page)).unwrap();
        assert!(!text.is_empty(), "{page}");
    }
}

fn completion(shell: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = run(bare(dir.path()).args(["completions", shell]));
    assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
    assert!(!out.stdout.trim().is_empty(), "{shell}");
    for word in ["dbsync", "list", "man", "page-size", "fields"] {
        assert!(out.stdout.contains(word), "{shell}: no {word}");
    }
    out.stdout
}

#[test]
fn completions_for_bash() {
    assert!(completion("bash").contains("complete"));
}

#[test]
fn completions_for_zsh() {
    assert!(completion("zsh").starts_with("#compdef dbsync"));
}

#[test]
fn completions_for_fish() {
    assert!(completion("fish").contains("complete -c dbsync"));
}

#[test]
fn completions_for_powershell() {
    assert!(completion("powershell").contains("Register-ArgumentCompleter"));
}

#[test]
fn help_names_every_environment_variable_and_no_secret_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(bare(dir.path())
        .env("DBSYNC_TOKEN", TOKEN)
        .env("DBSYNC_PASSWORD", TOKEN)
        .env("DBSYNC_CLIENT_SECRET", TOKEN)
        .arg("--help"));
    assert_eq!(out.code, 0);
    for var in [
        "DBSYNC_API_URL",
        "DBSYNC_AUTH_TYPE",
        "DBSYNC_USERNAME",
        "DBSYNC_PASSWORD",
        "DBSYNC_PASSWORD_FILE",
        "DBSYNC_TOKEN",
        "DBSYNC_TOKEN_FILE",
        "DBSYNC_CLIENT_ID",
        "DBSYNC_CLIENT_SECRET",
        "DBSYNC_CLIENT_SECRET_FILE",
        "DBSYNC_TOKEN_URL",
        "DBSYNC_SCOPES",
        "DBSYNC_CONFIG",
        "DBSYNC_PROFILE",
        "COLUMNS",
    ] {
        assert!(out.stdout.contains(var), "{var} not in --help");
    }
    assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN));
    let out = run(bare(dir.path()).args(["list", "--help"]));
    for flag in [
        "--limit <N>",
        "--page-size <N>",
        "--fields <A,B,C>",
        "--jq <EXPR>",
    ] {
        assert!(out.stdout.contains(flag), "{flag} not in list --help");
    }
}
