//! Secrets without flags: the real `dbsync` binary takes its token, password or client secret
//! from standard input or a `*_FILE` variable, in the documented order, refuses misuse with a
//! clear error, and never prints the secret (success and failure alike). Also `--allow-env`
//! and `--max-response-bytes` through the settings. Sandbox in-process on 127.0.0.1.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use dbsync_sandbox::{Sandbox, SandboxAuth};
use serde_json::Value;

const TOKEN: &str = "tok-51d3-secret-never-print";
const PASSWORD: &str = "pw-82c0-secret-never-print";
const CLIENT_SECRET: &str = "cs-3e9b-secret-never-print";
const WRONG: &str = "wrong-0aa7-secret-never-print";

mod common;

use common::Run;

type Env = common::TestEnv;

/// `dbsync --url <sandbox>` with a clean environment, profiles in `dir/config`.
fn cmd(env: &Env) -> Command {
    let mut cmd = env.bare();
    cmd.env("DBSYNC_CONFIG_DIR", env.path("config"));
    cmd.args(["--url", env.url()]);
    cmd
}

fn write_file(env: &Env, name: &str, text: &str) -> PathBuf {
    let path = env.path(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `cmd` and checks that no secret of this file shows in its output.
fn run(cmd: &mut Command) -> Run {
    let out = common::run(cmd);
    for secret in [TOKEN, PASSWORD, CLIENT_SECRET, WRONG] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "`{secret}` printed:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    out
}

fn lines(text: &str) -> usize {
    text.lines().count()
}

#[test]
fn a_token_from_standard_input_or_a_file_works_and_is_never_printed() {
    let env = Env::seeded(3, TOKEN);
    // Standard input, with its trailing newline; -v logs requests and no secret.
    let out = run(cmd(&env)
        .args(["-v", "--auth", "bearer", "--token-stdin", "list"])
        .write_stdin(format!("{TOKEN}\n")));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(lines(&out.stdout), 3);
    // The type is guessed from the token, as with DBSYNC_TOKEN.
    let out = run(cmd(&env)
        .args(["--token-stdin", "check"])
        .write_stdin(TOKEN));
    assert_eq!(out.code, 0, "{}", out.stderr);

    // A file named by DBSYNC_TOKEN_FILE.
    let token_file = write_file(&env, "token", &format!("{TOKEN}\r\n"));
    let out = run(cmd(&env).arg("list").env("DBSYNC_TOKEN_FILE", &token_file));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(lines(&out.stdout), 3);

    // Failure: a wrong token, from each source, is an auth error (exit 3) without the secret.
    let out = run(cmd(&env).args(["--token-stdin", "list"]).write_stdin(WRONG));
    assert_eq!(out.code, 3, "{}", out.stderr);
    let wrong_file = write_file(&env, "wrong", WRONG);
    let out = run(cmd(&env).arg("list").env("DBSYNC_TOKEN_FILE", &wrong_file));
    assert_eq!(out.code, 3, "{}", out.stderr);
    // Failure: nothing listening (exit 8).
    let out = run(Command::cargo_bin("dbsync")
        .unwrap()
        .env_remove("DBSYNC_TOKEN")
        .env_remove("DBSYNC_CONFIG")
        .args([
            "--url",
            "http://127.0.0.1:9",
            "--token-stdin",
            "--max-retries",
            "0",
        ])
        .arg("check")
        .write_stdin(TOKEN));
    assert_eq!(out.code, 8, "{}", out.stderr);
}

#[test]
fn the_order_is_flag_then_stdin_then_variable_then_file() {
    let env = Env::seeded(3, TOKEN);
    let wrong_file = write_file(&env, "wrong", WRONG);
    let right_file = write_file(&env, "right", TOKEN);
    let list = |cmd: &mut Command| run(cmd.args(["--auth", "bearer", "list"]));

    // Standard input over the variable and the file.
    let out = list(
        cmd(&env)
            .arg("--token-stdin")
            .write_stdin(TOKEN)
            .env("DBSYNC_TOKEN", WRONG)
            .env("DBSYNC_TOKEN_FILE", &wrong_file),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The variable over the file (which is then not read: a missing one is no error).
    let out = list(
        cmd(&env)
            .env("DBSYNC_TOKEN", TOKEN)
            .env("DBSYNC_TOKEN_FILE", env.dir.path().join("missing")),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = list(
        cmd(&env)
            .env("DBSYNC_TOKEN", WRONG)
            .env("DBSYNC_TOKEN_FILE", &right_file),
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    // The file over the settings file.
    let config = write_file(
        &env,
        "settings.json",
        &format!(
            r#"{{"api_url":"{}","auth":{{"type":"bearer","token":"{WRONG}"}}}}"#,
            env.sandbox.base_url()
        ),
    );
    let out = run(Command::cargo_bin("dbsync")
        .unwrap()
        .env_remove("DBSYNC_TOKEN")
        .env_remove("DBSYNC_API_URL")
        .arg("--config")
        .arg(&config)
        .arg("list")
        .env("DBSYNC_TOKEN_FILE", &right_file));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn password_and_client_secret_from_standard_input_or_files() {
    let basic = Env::start(
        Sandbox::builder().auth(SandboxAuth::Basic {
            username: "alice".into(),
            password: PASSWORD.into(),
        }),
        TOKEN,
    );
    let out = run(cmd(&basic)
        .args(["--auth", "basic", "--username", "alice", "--password-stdin"])
        .arg("check")
        .write_stdin(format!("{PASSWORD}\n")));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let file = write_file(&basic, "password", PASSWORD);
    let out = run(cmd(&basic)
        .args(["--auth", "basic", "--username", "alice", "check"])
        .env("DBSYNC_PASSWORD_FILE", &file));
    assert_eq!(out.code, 0, "{}", out.stderr);

    let oauth = Env::start(
        Sandbox::builder().auth(SandboxAuth::OAuth2 {
            client_id: "client-1".into(),
            client_secret: CLIENT_SECRET.into(),
        }),
        TOKEN,
    );
    let out = run(cmd(&oauth)
        .args(["--auth", "oauth2", "--client-id", "client-1"])
        .args(["--client-secret-stdin", "list"])
        .write_stdin(CLIENT_SECRET));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let file = write_file(&oauth, "secret", &format!("{WRONG}\n"));
    let out = run(cmd(&oauth)
        .args(["--auth", "oauth2", "--client-id", "client-1", "list"])
        .env("DBSYNC_CLIENT_SECRET_FILE", &file));
    assert_eq!(out.code, 3, "{}", out.stderr);
}

#[test]
fn misuse_is_a_clear_usage_error_and_nothing_is_sent() {
    let env = Env::seeded(3, TOKEN);
    let records = write_file(
        &env,
        "records.jsonl",
        r#"{"email":"a@b.co","first_name":"A","last_name":"B","country":"US","active":true}"#,
    );
    let huge = TOKEN.repeat(64 * 1024 / TOKEN.len() + 1);
    for (args, stdin, expected) in [
        (
            vec!["--token-stdin", "create", "--file", "-"],
            TOKEN.to_owned(),
            "this command reads its records from there too",
        ),
        (
            vec!["--token-stdin", "update", "--file", "-"],
            TOKEN.to_owned(),
            "this command reads its records from there too",
        ),
        (
            vec!["--token-stdin", "--password-stdin", "list"],
            TOKEN.to_owned(),
            "give only one of --token-stdin, --password-stdin",
        ),
        (
            vec!["--token", "x", "--token-stdin", "list"],
            TOKEN.to_owned(),
            "give --token or --token-stdin, not both",
        ),
        (
            vec!["--token-stdin", "list"],
            String::new(),
            "--token-stdin (standard input) is empty: expected the token",
        ),
        (vec!["--token-stdin", "list"], "\n".to_owned(), "is empty"),
        (
            vec!["--token-stdin", "list"],
            huge,
            "holds more than 64 KiB",
        ),
        (
            vec!["--token-stdin", "completions", "bash"],
            TOKEN.to_owned(),
            "takes no secret from standard input",
        ),
    ] {
        let out = run(cmd(&env).args(&args).write_stdin(stdin));
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
        assert_eq!(lines(&out.stdout), 0, "{args:?}");
    }
    // A file given by name is fine beside --token-stdin.
    let out = run(cmd(&env)
        .args(["--token-stdin", "create", "--file"])
        .arg(&records)
        .write_stdin(TOKEN));
    assert_eq!(out.code, 0, "{}", out.stderr);
    // A bad *_FILE: named with its path, exit 2.
    let out = run(cmd(&env)
        .arg("list")
        .env("DBSYNC_TOKEN_FILE", env.dir.path().join("nope")));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("DBSYNC_TOKEN_FILE (`") && out.stderr.contains("nope"),
        "{}",
        out.stderr
    );
    assert_eq!(env.sandbox.record_count("records"), 4);
}

#[test]
fn a_saved_profile_keeps_a_reference_and_takes_the_secret_from_a_file() {
    let env = Env::seeded(3, TOKEN);
    let out = run(cmd(&env)
        .args(["--token-stdin", "connection", "save", "p"])
        .args(["--max-response-bytes", "1048576"])
        .write_stdin(TOKEN));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let profile = env.dir.path().join("config/profiles/p.json");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    assert_eq!(saved["auth"]["token"], "${DBSYNC_TOKEN}");
    assert_eq!(saved["max_response_bytes"], 1_048_576);

    let file = write_file(&env, "token", TOKEN);
    let profile_cmd = || {
        let mut cmd = cmd(&env);
        cmd.args(["--profile", "p"]);
        cmd
    };
    let out = run(profile_cmd().arg("list").env("DBSYNC_TOKEN_FILE", &file));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(lines(&out.stdout), 3);
    // The profile's max_response_bytes applies; a flag overrides it.
    let out = run(profile_cmd()
        .args(["--max-response-bytes", "64", "list"])
        .env("DBSYNC_TOKEN_FILE", &file));
    assert_eq!(out.code, 8, "{}", out.stderr);
    // 0 is refused by the command line.
    let out = run(profile_cmd().args(["--max-response-bytes", "0", "list"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn settings_read_other_variables_only_with_allow_env() {
    let env = Env::seeded(3, TOKEN);
    let config = write_file(
        &env,
        "settings.json",
        &format!(
            r#"{{"api_url":"{}","auth":{{"type":"bearer","token":"${{CRM_TOKEN}}"}},
                "max_response_bytes": 64}}"#,
            env.sandbox.base_url()
        ),
    );
    let cmd = |config: &Path| {
        let mut cmd = Command::cargo_bin("dbsync").unwrap();
        cmd.env_remove("DBSYNC_API_URL")
            .env_remove("DBSYNC_TOKEN")
            .env("CRM_TOKEN", TOKEN)
            .arg("--config")
            .arg(config);
        cmd
    };
    let out = run(cmd(&config).arg("check"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("CRM_TOKEN"), "{}", out.stderr);
    // Allowed: read (and the file's 64-byte limit applies: the answer is over it).
    let out = run(cmd(&config).args(["--allow-env", "CRM_TOKEN", "list"]));
    assert_eq!(out.code, 8, "{}", out.stderr);
    let out = run(cmd(&config)
        .args(["--allow-env", "OTHER", "--allow-env", "CRM_TOKEN"])
        .args(["--max-response-bytes", "1048576", "list"]));
    assert_eq!(out.code, 0, "{}", out.stderr);

    // --store-secret inlines an allowed reference; without --allow-env it is refused.
    let save = |allow: bool| {
        let mut cmd = cmd(&config);
        cmd.env("DBSYNC_CONFIG_DIR", env.dir.path().join("config"));
        if allow {
            cmd.args(["--allow-env", "CRM_TOKEN"]);
        }
        run(cmd.args(["connection", "save", "kept", "--store-secret", "--no-check"]))
    };
    let out = save(false);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("CRM_TOKEN"), "{}", out.stderr);
    let out = save(true);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let kept = std::fs::read_to_string(env.dir.path().join("config/profiles/kept.json")).unwrap();
    assert!(kept.contains(TOKEN), "{kept}");
}
