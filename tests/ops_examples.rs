//! The issue 6 examples (`workflows`, `logs_export`, `key_rotation`) run end to end against the
//! in-process sandbox.

#[allow(dead_code)]
#[path = "../examples/workflows.rs"]
mod workflows;

#[allow(dead_code)]
#[path = "../examples/logs_export.rs"]
mod logs_export;

#[allow(dead_code)]
#[path = "../examples/key_rotation.rs"]
mod key_rotation;

use std::time::Duration;

use dbsync::auth::BearerAuth;
use dbsync::client::{Connection, RunStatus};
use dbsync::sandbox::{Sandbox, SandboxAuth};

#[tokio::test]
async fn the_workflows_example_triggers_waits_and_cancels() {
    let sandbox = Sandbox::builder()
        .workflow_duration(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let connection = Connection::builder()
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let outcome = workflows::run(&connection).await.unwrap();
    assert_eq!(outcome.workflows, 3);
    assert_eq!(outcome.finished, RunStatus::Succeeded);
    assert_eq!(outcome.cancelled, RunStatus::Cancelled);
    assert!(
        outcome
            .conflict
            .contains("already finished (status succeeded)"),
        "{}",
        outcome.conflict
    );
}

#[tokio::test]
async fn the_logs_export_example_writes_both_csv_files() {
    let sandbox = Sandbox::builder().seed_records(50).start().await.unwrap();
    let connection = Connection::builder()
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outcome = logs_export::run(&connection, dir.path()).await.unwrap();
    // Five lists and one get on /v1/records.
    assert_eq!(outcome.server_entries, 6);
    assert_eq!(outcome.client_errors, 1);
    let server = std::fs::read_to_string(&outcome.server_csv).unwrap();
    assert_eq!(server.lines().count(), 7);
    assert!(server.starts_with("id,timestamp,method,endpoint,status,duration_ms\n"));
    let client = std::fs::read_to_string(&outcome.client_csv).unwrap();
    assert_eq!(client.lines().count(), outcome.client_entries + 1);
    assert!(client.contains(",GET,/v1/records/{id},/v1/records/does-not-exist,404,"));
}

#[tokio::test]
async fn the_key_rotation_example_rotates_and_revokes() {
    let sandbox = Sandbox::builder()
        .auth(SandboxAuth::Bearer {
            token: "admin".into(),
        })
        .start()
        .await
        .unwrap();
    let admin = Connection::builder()
        .base_url(sandbox.base_url())
        .auth(BearerAuth::new("admin"))
        .build()
        .unwrap();
    let outcome = key_rotation::run(&admin).await.unwrap();
    assert_eq!(outcome.requests, 6);
    assert!(outcome.old_secret_refused);
    assert!(outcome.revoked_refused);
    assert!(admin.api_keys().list().await.unwrap().is_empty());
}
