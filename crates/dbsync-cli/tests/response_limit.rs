//! `--max-response-bytes`: an answer over the limit fails the command with exit 8 (network)
//! and a message naming the flag; one within it works.

use assert_cmd::Command;
use dbsync_sandbox::{Sandbox, SandboxAuth};

const TOKEN: &str = "tok-limit-test";

#[test]
fn an_answer_over_the_limit_exits_8_and_names_the_flag() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = runtime
        .block_on(
            dbsync_openapi::sandbox::check_responses(
                Sandbox::builder()
                    .auth(SandboxAuth::Bearer {
                        token: TOKEN.into(),
                    })
                    .seed_records(20),
            )
            .expect("docs/openapi.yaml loads")
            .start(),
        )
        .unwrap();
    let config_dir = tempfile::tempdir().unwrap();
    let list = |limit: &str| {
        let mut cmd = Command::cargo_bin("dbsync").unwrap();
        for var in [
            "DBSYNC_API_URL",
            "DBSYNC_CONFIG",
            "DBSYNC_TOKEN",
            "DBSYNC_AUTH_TYPE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("DBSYNC_CONFIG_DIR", config_dir.path())
            .args([
                "--url",
                sandbox.base_url(),
                "--auth",
                "bearer",
                "--token",
                TOKEN,
            ])
            .args(["--max-response-bytes", limit, "list", "--limit", "20"])
            .output()
            .unwrap()
    };
    let out = list("256");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert!(
        stderr.contains("256 B") && stderr.contains("--max-response-bytes"),
        "{stderr}"
    );
    let out = list("1048576");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
