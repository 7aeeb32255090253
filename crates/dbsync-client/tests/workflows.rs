//! Workflows: each call against wiremock (shapes, headers, call counts) and the sandbox; the
//! `409` on cancel; waiting until done and waiting past the timeout (paused clock).

mod common;

use std::time::Duration;

use common::{builder, connection};
use dbsync_client::{Connection, Error, PollBackoff, RunStatus, WaitError};
use dbsync_sandbox::Sandbox;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn run(status: &str) -> Value {
    json!({"id": "run_000001", "workflow_id": "wf_a", "status": status,
           "created_at": "2026-01-01T00:00:00Z", "input": {"x": 1}})
}

#[tokio::test]
async fn list_trigger_get_and_cancel_send_the_contract_requests() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/workflows"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": "wf_a", "name": "A"}, {"id": 2, "name": "B"}],
            "meta": {"limit": 100, "offset": 0, "total": 2}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/workflows/wf_a/runs"))
        .and(header("content-type", "application/json"))
        .and(header_exists("idempotency-key"))
        .and(body_json(json!({"x": 1})))
        .respond_with(ResponseTemplate::new(202).set_body_json(run("queued")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/workflows/wf_a/runs/run_000001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(run("running")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/workflows/wf_a/runs/run_000001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(run("cancelled")))
        .expect(1)
        .mount(&server)
        .await;
    let workflows = connection(&server).workflows();

    let list = workflows.list().await.unwrap();
    assert_eq!(
        list.iter()
            .map(|w| (w.id.as_str(), w.name.as_str()))
            .collect::<Vec<_>>(),
        [("wf_a", "A"), ("2", "B")]
    );
    let triggered = workflows.trigger("wf_a", &json!({"x": 1})).await.unwrap();
    assert_eq!(triggered.status, RunStatus::Queued);
    assert_eq!(triggered.input, Some(json!({"x": 1})));
    let now = workflows.run("wf_a", &triggered.id).await.unwrap();
    assert_eq!(now.status, RunStatus::Running);
    let cancelled = workflows.cancel("wf_a", &triggered.id).await.unwrap();
    assert_eq!(cancelled.status, RunStatus::Cancelled);
}

#[tokio::test]
async fn an_unknown_status_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(run("paused_by_admin")))
        .expect(1)
        .mount(&server)
        .await;
    let run = connection(&server)
        .workflows()
        .run("wf_a", "run_000001")
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Unknown("paused_by_admin".into()));
    assert!(!run.status.is_finished());
}

#[tokio::test]
async fn cancelling_a_finished_run_says_how_it_ended() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "error": {"code": 409, "message": "conflict"}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(run("succeeded")))
        .expect(1)
        .mount(&server)
        .await;
    let err = connection(&server)
        .workflows()
        .cancel("wf_a", "run_000001")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "conflict (409): run run_000001 of workflow wf_a already finished (status succeeded); \
         nothing to cancel"
    );
}

#[tokio::test(start_paused = true)]
async fn waiting_past_the_timeout_fails_with_the_last_run() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(run("running")))
        .mount(&server)
        .await;
    let workflows = connection(&server).workflows();
    let started = tokio::time::Instant::now();
    let err = workflows
        .wait_with(
            "wf_a",
            "run_000001",
            Duration::from_secs(10),
            PollBackoff::default()
                .initial(Duration::from_secs(1))
                .factor(2.0)
                .max(Duration::from_secs(4)),
        )
        .await
        .unwrap_err();
    // Polls at 0, 1, 3, 7 and 10 s (the last pause cut to the deadline).
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
    match &err {
        WaitError::TimedOut { run, message } => {
            assert_eq!(run.status, RunStatus::Running);
            assert!(
                message.contains("run_000001") && message.contains("last status running"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.kind(), "wait_timed_out");
}

#[tokio::test(start_paused = true)]
async fn waiting_returns_the_finished_run() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(run("queued")))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(run("failed")))
        .mount(&server)
        .await;
    let done = builder(&server)
        .build()
        .unwrap()
        .workflows()
        .wait("wf_a", "run_000001", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Failed);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

async fn sandbox(duration: Duration) -> (Sandbox, Connection) {
    let sandbox = common::checked(Sandbox::builder().workflow_duration(duration))
        .start()
        .await
        .unwrap();
    let connection = Connection::builder()
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    (sandbox, connection)
}

#[tokio::test]
async fn the_sandbox_runs_triggers_waits_and_refuses_to_cancel_a_finished_run() {
    let (_sandbox, connection) = sandbox(Duration::from_millis(200)).await;
    let workflows = connection.workflows();
    let list = workflows.list().await.unwrap();
    assert!(list.iter().any(|w| w.id == "wf_sync_contacts"), "{list:?}");

    let run = workflows
        .trigger("wf_sync_contacts", &json!({"since": "2026-01-01"}))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Queued);
    assert_eq!(run.workflow_id, "wf_sync_contacts");
    let fast = PollBackoff::default()
        .initial(Duration::from_millis(20))
        .max(Duration::from_millis(50));
    let done = workflows
        .wait_with(&run.workflow_id, &run.id, Duration::from_secs(30), fast)
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    assert!(done.finished_at.is_some());

    let err = workflows
        .cancel(&run.workflow_id, &run.id)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("already finished (status succeeded)"),
        "{err}"
    );

    let failing = workflows
        .trigger("wf_import_orders", &json!({"fail": true}))
        .await
        .unwrap();
    let failed = workflows
        .wait_with(
            &failing.workflow_id,
            &failing.id,
            Duration::from_secs(30),
            fast,
        )
        .await
        .unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(failed.error.is_some());
}

#[tokio::test]
async fn the_sandbox_cancels_a_running_run_and_404s_unknown_ones() {
    let (_sandbox, connection) = sandbox(Duration::from_secs(600)).await;
    let workflows = connection.workflows();
    let run = workflows
        .trigger("wf_export_invoices", &Value::Null)
        .await
        .unwrap();
    let cancelled = workflows.cancel(&run.workflow_id, &run.id).await.unwrap();
    assert_eq!(cancelled.status, RunStatus::Cancelled);
    let again = workflows
        .cancel(&run.workflow_id, &run.id)
        .await
        .unwrap_err();
    assert!(again.to_string().contains("(status cancelled)"), "{again}");
    let missing = workflows.run("wf_nope", "run_1").await.unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing}");
}
