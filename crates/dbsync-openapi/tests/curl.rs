//! docs/curl.md runs: every command, with the system curl, against sandboxes (bearer mode for
//! `$DBSYNC_API_URL`, oauth2 mode for `$DBSYNC_OAUTH_URL`), gets the status written above it,
//! and every answer matches docs/openapi.yaml.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dbsync_openapi::curl_doc;
use dbsync_openapi::sandbox::{check, workspace_checker};
use dbsync_sandbox::{Sandbox, SandboxAuth, SandboxBuilder};
use tokio::process::Command;

const TOKEN: &str = "curl-doc-token";
const CLIENT_ID: &str = "demo-client";
const CLIENT_SECRET: &str = "curl-doc-client-secret";
/// The longest one command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);

async fn start(builder: SandboxBuilder, mismatches: &Arc<Mutex<Vec<String>>>) -> Sandbox {
    let checker = workspace_checker().unwrap();
    let seen = mismatches.clone();
    builder
        .seed_records(3)
        .workflow_duration(Duration::from_secs(600))
        .observe_responses(move |r| {
            if let Err(m) = check(&checker, r) {
                seen.lock().unwrap().push(m.to_string());
            }
        })
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_command_of_the_curl_page_gets_its_status() {
    let page = std::fs::read_to_string(dbsync_openapi::WORKSPACE_CURL_DOC).unwrap();
    let commands = curl_doc::parse(&page).unwrap();
    assert!(commands.len() >= 25, "{} commands", commands.len());
    let version = Command::new("curl").arg("--version").output().await;
    assert!(
        version.is_ok_and(|o| o.status.success()),
        "this test needs curl on the PATH (.ci/run installs it)"
    );

    let mismatches = Arc::new(Mutex::new(Vec::new()));
    let bearer = Sandbox::builder().auth(SandboxAuth::Bearer {
        token: TOKEN.into(),
    });
    let api = start(bearer, &mismatches).await;
    let oauth2 = Sandbox::builder().auth(SandboxAuth::OAuth2 {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
    });
    let oauth = start(oauth2, &mismatches).await;

    let mut wrong = Vec::new();
    for command in &commands {
        let rest = command
            .command
            .strip_prefix("curl ")
            .expect("the parser keeps only curl commands");
        let script = format!(
            "curl -sS -o /dev/null -w '%{{http_code}}' --max-time {} {rest}",
            COMMAND_TIMEOUT.as_secs()
        );
        let run = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env("DBSYNC_API_URL", api.base_url())
            .env("TOKEN", TOKEN)
            .env("DBSYNC_OAUTH_URL", oauth.base_url())
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(COMMAND_TIMEOUT + Duration::from_secs(5), run)
            .await
            .unwrap_or_else(|_| panic!("docs/curl.md line {}: timed out", command.line))
            .unwrap();
        let status = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if status != command.expected_status.to_string() {
            wrong.push(format!(
                "docs/curl.md line {}: expected {}, got {status} ({})",
                command.line,
                command.expected_status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let mismatches = mismatches.lock().unwrap();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
