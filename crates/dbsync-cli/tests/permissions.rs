//! The contract's permissions, key expiry and rate windows from the command line, against
//! wiremock: a `403` exits 9 naming the missing scope (no secret shown), an expired key exits 3
//! saying so, `keys create --scope --expires-at` sends them, `keys list` and `usage` show them.

use std::process::Output;

use assert_cmd::Command;
use serde_json::json;
use wiremock::matchers::{any, body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "tok-perm-SECRET-test";

struct Server {
    runtime: tokio::runtime::Runtime,
    mock: MockServer,
    config_dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mock = runtime.block_on(MockServer::start());
        Self {
            runtime,
            mock,
            config_dir: tempfile::tempdir().unwrap(),
        }
    }

    fn mount(&self, mock: Mock) {
        self.runtime.block_on(mock.mount(&self.mock));
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::cargo_bin("dbsync").unwrap();
        for var in [
            "DBSYNC_API_URL",
            "DBSYNC_CONFIG",
            "DBSYNC_TOKEN",
            "DBSYNC_AUTH_TYPE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("DBSYNC_CONFIG_DIR", self.config_dir.path())
            .args([
                "--url",
                &self.mock.uri(),
                "--auth",
                "bearer",
                "--token",
                TOKEN,
            ])
            .args(args)
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .unwrap()
    }

    fn verify(&self) {
        self.runtime.block_on(self.mock.verify());
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_403_exits_9_naming_the_scope_once_and_without_the_token() {
    let server = Server::start();
    server.mount(
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(403)
                    .set_body_raw(
                        r#"{"error":{"code":403,"message":"Forbidden: needs records:write"}}"#,
                        "application/json",
                    )
                    .insert_header(
                        "WWW-Authenticate",
                        r#"Bearer error="insufficient_scope", scope="records:write""#,
                    ),
            )
            .expect(1),
    );
    let out = server.run(&["delete", "1"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(9), "{stderr}");
    for part in [
        "forbidden (403)",
        "lack the scope `records:write`",
        "retrying will not help",
    ] {
        assert!(stderr.contains(part), "{part:?} missing: {stderr}");
    }
    let all = format!("{stderr}{}", text(&out.stdout));
    assert!(!all.contains(TOKEN), "{all}");
    server.verify();
}

#[test]
fn an_expired_key_exits_3_and_says_it_expired() {
    let server = Server::start();
    server.mount(
        Mock::given(any()).respond_with(
            ResponseTemplate::new(401)
                .set_body_raw(
                    r#"{"error":{"code":401,"message":"Unauthorized: the API key has expired"}}"#,
                    "application/json",
                )
                .insert_header(
                    "WWW-Authenticate",
                    r#"Bearer error="invalid_token", error_description="the API key has expired""#,
                ),
        ),
    );
    let out = server.run(&["get", "1"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("the API key has expired: create a new key"),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN), "{stderr}");
}

#[test]
fn keys_create_sends_scopes_and_expiry_and_shows_them() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/v1/api-keys"))
            .and(body_json(json!({
                "name": "ci",
                "scopes": ["records:read", "logs:read"],
                "expires_at": "2030-01-01T00:00:00Z"
            })))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "id": "k1", "name": "ci", "key": "sk_new",
                "scopes": ["records:read", "logs:read"], "expires_at": "2030-01-01T00:00:00Z"
            })))
            .expect(1),
    );
    let out = server.run(&[
        "--format",
        "json",
        "keys",
        "create",
        "ci",
        "--scope",
        "records:read",
        "--scope",
        "logs:read",
        "--expires-at",
        "2030-01-01T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["scopes"], json!(["records:read", "logs:read"]));
    assert_eq!(shown["expires_at"], "2030-01-01T00:00:00Z");
    server.verify();
}

#[test]
fn a_bad_expiry_or_scope_is_a_usage_error_before_sending() {
    let server = Server::start();
    server.mount(
        Mock::given(any())
            .respond_with(ResponseTemplate::new(500))
            .expect(0),
    );
    for args in [
        &["keys", "create", "ci", "--expires-at", "tomorrow"][..],
        &[
            "keys",
            "create",
            "ci",
            "--expires-at",
            "2030-01-01T00:00:00",
        ],
        &["keys", "create", "ci", "--scope", ""],
        &["keys", "create", "ci", "--scope", "records read"],
    ] {
        let out = server.run(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    server.verify();
}

#[test]
fn keys_list_and_usage_show_scopes_expiry_and_both_windows() {
    let server = Server::start();
    server.mount(
        Mock::given(method("GET"))
            .and(path("/v1/api-keys"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
                {"id": "k1", "name": "reader", "prefix": "sk_ab",
                 "scopes": ["records:read", "logs:read"], "expires_at": "2030-01-01T00:00:00Z"},
                {"id": "k2", "name": "old"}
            ]}))),
    );
    server.mount(
        Mock::given(method("GET"))
            .and(path("/v1/usage"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "plan": "pro", "limit_per_minute": 600, "used": 12, "remaining": 588,
                "reset_at": "2030-01-01T00:01:00Z", "limit_per_hour": 10000,
                "windows": [
                    {"window": "minute", "limit": 600, "used": 12, "remaining": 588,
                     "reset_at": "2030-01-01T00:01:00Z"},
                    {"window": "hour", "limit": 10000, "used": 512, "remaining": 9488,
                     "reset_at": "2030-01-01T01:00:00Z"}
                ]
            }))),
    );
    let out = server.run(&["--format", "table", "keys", "list"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("scopes") && stdout.contains("expires_at"),
        "{stdout}"
    );
    assert!(
        stdout.contains("records:read logs:read") && stdout.contains("2030-01-01T00:00:00Z"),
        "{stdout}"
    );

    let out = server.run(&["--format", "table", "usage"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("limit_per_hour"), "{stdout}");
    assert!(
        stdout.contains("12 of 600 used, 588 left, resets at 2030-01-01T00:01:00Z"),
        "{stdout}"
    );
    assert!(
        stdout.contains("512 of 10000 used, 9488 left, resets at 2030-01-01T01:00:00Z"),
        "{stdout}"
    );
    let out = server.run(&["--format", "json", "usage"]);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["windows"][1]["window"], "hour");
}
