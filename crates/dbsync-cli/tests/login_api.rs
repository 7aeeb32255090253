//! `dbsync login`, `connection use`/`show`, `DBSYNC_PROFILE` and `dbsync api` end to end: the
//! real binary against the sandbox started in-process (127.0.0.1:0), profiles in a temporary
//! DBSYNC_CONFIG_DIR.

mod common;

use common::{Run, jsonl, run};

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const TOKEN: &str = "tok-51c0-login-never-print";

type Env = common::TestEnv;

/// `dbsync` with no DBSYNC_* from outside, profiles in the temporary directory, JSON Lines out.
fn bare(env: &Env) -> Command {
    let mut cmd = env.bare();
    cmd.args(["--format", "jsonl"]);
    cmd
}

/// [`bare`] with `--url <sandbox> --auth bearer --token TOKEN`.
fn cmd(env: &Env) -> Command {
    let mut cmd = env.cmd();
    cmd.args(["--format", "jsonl"]);
    cmd
}

/// `dbsync --url <sandbox> login NAME --with-token`, the token piped in.
fn login(env: &Env, name: &str, token: &str, extra: &[&str]) -> Run {
    run(bare(env)
        .args(["--url", env.url(), "login", name, "--with-token"])
        .args(extra)
        .write_stdin(format!("{token}\n")))
}

fn files_in(dir: &Path) -> usize {
    walk(dir).len()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

#[test]
fn login_with_token_saves_a_checked_profile_that_becomes_the_default() {
    let env = Env::seeded(5, TOKEN);
    let out = login(&env, "work", TOKEN, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let saved = std::fs::read_to_string(env.profile("work")).unwrap();
    assert!(!saved.contains(TOKEN), "{saved}");
    assert!(saved.contains("${DBSYNC_TOKEN}"), "{saved}");
    assert!(out.stderr.contains("now the default"), "{}", out.stderr);
    assert!(!out.stderr.contains(TOKEN));

    // The default profile is used without --profile; the token comes from the environment.
    let out = run(env
        .bare()
        .env("DBSYNC_TOKEN", TOKEN)
        .args(["api", "GET", "records?limit=2"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(jsonl(&out.stdout)[0]["data"].as_array().unwrap().len(), 2);

    // Stored on request, in an owner-only file; a second login does not move the default.
    let out = login(&env, "kept", TOKEN, &["--store-secret"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        std::fs::read_to_string(env.profile("kept"))
            .unwrap()
            .contains(TOKEN)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(env.profile("kept"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = run(env
        .bare()
        .args(["--profile", "kept", "api", "GET", "/v1/records/1"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(jsonl(&out.stdout)[0]["id"], 1);
}

#[test]
fn refused_logins_and_bad_names_save_nothing() {
    let env = Env::seeded(1, TOKEN);
    let out = login(&env, "work", "wrong-token", &["--store-secret"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("dbsync: not saved"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert_eq!(files_in(env.dir.path()), 0);

    for name in ["../evil", "a/b", "a\\b", ".hidden"] {
        let out = login(&env, name, TOKEN, &[]);
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert!(
            out.stderr.contains("not a usable profile name"),
            "{}",
            out.stderr
        );
        assert_eq!(out.stderr.trim().lines().count(), 1);
    }
    assert_eq!(files_in(env.dir.path()), 0);
    assert!(!env.dir.path().parent().unwrap().join("evil.json").exists());

    // An empty standard input is no token.
    let out = login(&env, "work", "", &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(files_in(env.dir.path()), 0);
}

#[test]
fn use_dbsync_profile_and_show_follow_flags_over_environment_over_profile() {
    let env = Env::seeded(1, TOKEN);
    for name in ["a", "b"] {
        assert_eq!(login(&env, name, TOKEN, &["--store-secret"]).code, 0);
    }
    let out = run(bare(&env).args(["connection", "use", "nope"]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    let out = run(bare(&env).args(["connection", "use", "b"]));
    assert_eq!(out.code, 0, "{}", out.stderr);

    let show = |cmd: &mut Command| -> Vec<Value> {
        let out = run(cmd.args(["connection", "show"]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(!out.stdout.contains(TOKEN), "{}", out.stdout);
        jsonl(&out.stdout)
    };
    let source = |rows: &[Value], setting: &str| -> (String, String) {
        let row = rows.iter().find(|r| r["setting"] == setting).unwrap();
        (
            row["value"].as_str().unwrap().into(),
            row["source"].as_str().unwrap().into(),
        )
    };
    let rows = show(&mut bare(&env));
    let (url, from) = source(&rows, "url");
    assert_eq!(url, env.url());
    assert!(
        from.contains("profile `b`") && from.contains("connection use"),
        "{from}"
    );
    let (token, from) = source(&rows, "token");
    assert!(
        token.contains("not shown") && from.contains("profile `b`"),
        "{token} {from}"
    );

    let rows = show(bare(&env).env("DBSYNC_PROFILE", "a"));
    assert!(
        source(&rows, "url")
            .1
            .contains("profile `a` (chosen by DBSYNC_PROFILE)")
    );
    let rows = show(
        bare(&env)
            .env("DBSYNC_PROFILE", "a")
            .env("DBSYNC_API_URL", "http://127.0.0.1:9")
            .env("DBSYNC_TOKEN", TOKEN),
    );
    assert_eq!(
        source(&rows, "url"),
        (
            "http://127.0.0.1:9".into(),
            "environment DBSYNC_API_URL".into()
        )
    );
    assert_eq!(
        source(&rows, "token"),
        ("***".into(), "environment DBSYNC_TOKEN".into())
    );
    let rows = show(
        bare(&env)
            .env("DBSYNC_API_URL", "http://127.0.0.1:9")
            .args(["--url", "http://127.0.0.1:8", "--profile", "a"]),
    );
    assert_eq!(
        source(&rows, "url"),
        ("http://127.0.0.1:8".into(), "flag --url".into())
    );
    assert_eq!(source(&rows, "username").1, "not set");

    // A DBSYNC_PROFILE naming no profile is a clear not-found.
    let out = run(env
        .bare()
        .env("DBSYNC_PROFILE", "gone")
        .args(["api", "GET", "records"]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("DBSYNC_PROFILE"), "{}", out.stderr);
}

#[test]
fn api_gets_posts_paginates_and_sends_headers() {
    let env = Env::seeded(25, TOKEN);
    let out = run(env
        .cmd()
        .args(["api", "GET", "records?limit=10", "--paginate"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = jsonl(&out.stdout);
    assert_eq!(records.len(), 25);
    assert_eq!(records[24]["id"], 25);
    let out = run(env
        .cmd()
        .args(["api", "GET", "records?limit=10&offset=20", "--paginate"]));
    assert_eq!(jsonl(&out.stdout).len(), 5, "{}", out.stderr);

    let record = r#"{"email":"ada@example.com","first_name":"Ada","last_name":"L","country":"GB","active":true}"#;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new.json");
    std::fs::write(&file, record).unwrap();
    let out = run(env
        .cmd()
        .args(["api", "POST", "/v1/records", "--data"])
        .arg(format!("@{}", file.display())));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(jsonl(&out.stdout)[0]["email"], "ada@example.com");
    let out = run(env
        .cmd()
        .args([
            "api",
            "post",
            "records",
            "--data",
            "@-",
            "-H",
            "X-Request-Id: r-1",
        ])
        .write_stdin(record.replace("ada@", "bob@")));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(cmd(&env).args([
        "api",
        "GET",
        "records?email=bob@example.com",
        "--paginate",
        "--fields",
        "email",
    ]));
    assert_eq!(
        out.stdout.trim(),
        r#"{"email":"bob@example.com"}"#,
        "{}",
        out.stderr
    );
    let out = run(cmd(&env).args(["api", "GET", "records/9999"]));
    assert_eq!(out.code, 4, "{}", out.stderr);
}

#[test]
fn api_refuses_paths_off_the_origin_headers_and_bad_bodies() {
    let env = Env::seeded(1, TOKEN);
    for path in [
        "/v1/../admin",
        "records/../../x",
        "/v1/%2e%2e/x",
        "/v1/%2E%2e/x",
        "http://evil.example/v1/records",
        "//evil.example/v1/records",
    ] {
        let out = run(cmd(&env).args(["api", "GET", path]));
        assert_eq!(out.code, 2, "{path}: {}", out.stderr);
        assert!(out.stderr.contains("refused path"), "{}", out.stderr);
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    for header in ["Authorization: Bearer x", "Host: evil.example"] {
        let out = run(cmd(&env).args(["api", "GET", "records", "-H", header]));
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains("refused"), "{}", out.stderr);
    }
    let out = run(env
        .cmd()
        .args(["api", "POST", "records", "--data", "{nope"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--data is not JSON"), "{}", out.stderr);
    let out = run(cmd(&env).args(["api", "POST", "records", "--paginate"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    // Nothing was sent by any of them: the sandbox still has its one record.
    let out = run(cmd(&env).args(["api", "GET", "records"]));
    assert_eq!(jsonl(&out.stdout)[0]["meta"]["total"], 1, "{}", out.stderr);
}
