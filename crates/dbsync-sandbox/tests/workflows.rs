//! Workflows over real HTTP: list, trigger, status progression on tokio's paused clock, failure
//! by input, cancel, `409` after the end, `404`s.

mod common;

use std::time::Duration;

use dbsync_sandbox::Sandbox;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const WF: &str = "wf_sync_contacts";

async fn sandbox(duration: Duration) -> (Sandbox, Client) {
    let sandbox = common::checked(Sandbox::builder().workflow_duration(duration))
        .start()
        .await
        .expect("sandbox starts");
    // No connection pool: no idle timers for the paused clock to jump to.
    let http = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    (sandbox, http)
}

async fn trigger(sandbox: &Sandbox, http: &Client, input: Option<Value>) -> Value {
    let mut request = http.post(common::url(sandbox, &format!("/v1/workflows/{WF}/runs")));
    if let Some(input) = input {
        request = request.json(&input);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    common::body(response).await
}

async fn run(sandbox: &Sandbox, http: &Client, id: &str) -> Value {
    let response = http
        .get(common::url(
            sandbox,
            &format!("/v1/workflows/{WF}/runs/{id}"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    common::body(response).await
}

async fn cancel(sandbox: &Sandbox, http: &Client, id: &str) -> reqwest::Response {
    http.delete(common::url(
        sandbox,
        &format!("/v1/workflows/{WF}/runs/{id}"),
    ))
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn workflows_are_listed_with_meta() {
    let (sandbox, http) = sandbox(Duration::from_secs(60)).await;
    let body = common::body(
        http.get(common::url(&sandbox, "/v1/workflows"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let data = body["data"].as_array().unwrap();
    assert!(data.len() >= 3);
    assert!(
        data.iter()
            .all(|w| w["id"].is_string() && w["name"].is_string())
    );
    assert!(data.iter().any(|w| w["id"] == WF));
    assert_eq!(body["meta"]["total"], data.len());
    let page = common::body(
        http.get(common::url(&sandbox, "/v1/workflows?limit=1&offset=1"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"][0], data[1]);
    let bad = http
        .get(common::url(&sandbox, "/v1/workflows?limit=0"))
        .send()
        .await
        .unwrap();
    common::expect_error(bad, StatusCode::BAD_REQUEST).await;
}

#[tokio::test(start_paused = true)]
async fn a_run_goes_queued_running_succeeded() {
    let (sandbox, http) = sandbox(Duration::from_secs(60)).await;
    let created = trigger(&sandbox, &http, Some(json!({"contacts": 12}))).await;
    assert_eq!(created["status"], "queued");
    assert_eq!(created["workflow_id"], WF);
    assert!(created["created_at"].is_string());
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("run_"));

    let queued = run(&sandbox, &http, &id).await;
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["input"], json!({"contacts": 12}));
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(run(&sandbox, &http, &id).await["status"], "running");
    tokio::time::advance(Duration::from_secs(30)).await;
    let done = run(&sandbox, &http, &id).await;
    assert_eq!(done["status"], "succeeded");
    assert!(done["finished_at"].is_string());

    // Finished: cancel is a 409 that says the run already ended, and changes nothing.
    let error =
        common::expect_error(cancel(&sandbox, &http, &id).await, StatusCode::CONFLICT).await;
    assert!(
        error["message"].as_str().unwrap().contains("already ended"),
        "{error}"
    );
    assert_eq!(run(&sandbox, &http, &id).await["status"], "succeeded");
}

#[tokio::test(start_paused = true)]
async fn input_can_make_a_run_fail() {
    let (sandbox, http) = sandbox(Duration::from_secs(60)).await;
    let created = trigger(&sandbox, &http, Some(json!({"fail": true}))).await;
    let id = created["id"].as_str().unwrap();
    tokio::time::advance(Duration::from_secs(61)).await;
    let failed = run(&sandbox, &http, id).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"]["message"].is_string());
    common::expect_error(cancel(&sandbox, &http, id).await, StatusCode::CONFLICT).await;
}

#[tokio::test(start_paused = true)]
async fn queued_and_running_runs_can_be_cancelled_once() {
    let (sandbox, http) = sandbox(Duration::from_secs(60)).await;
    let queued = trigger(&sandbox, &http, None).await;
    let running = trigger(&sandbox, &http, None).await;
    let queued_id = queued["id"].as_str().unwrap();
    let running_id = running["id"].as_str().unwrap();
    assert_ne!(queued_id, running_id);

    let response = cancel(&sandbox, &http, queued_id).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(common::body(response).await["status"], "cancelled");

    tokio::time::advance(Duration::from_secs(40)).await;
    assert_eq!(run(&sandbox, &http, running_id).await["status"], "running");
    let response = cancel(&sandbox, &http, running_id).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(common::body(response).await["status"], "cancelled");

    // Cancelled stays cancelled, and a second cancel is a 409.
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(
        run(&sandbox, &http, running_id).await["status"],
        "cancelled"
    );
    common::expect_error(
        cancel(&sandbox, &http, queued_id).await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn unknown_workflows_and_runs_are_404() {
    let (sandbox, http) = sandbox(Duration::from_secs(60)).await;
    let created = trigger(&sandbox, &http, None).await;
    let id = created["id"].as_str().unwrap();
    let requests = [
        http.post(common::url(&sandbox, "/v1/workflows/wf_nope/runs")),
        http.get(common::url(
            &sandbox,
            "/v1/workflows/wf_nope/runs/run_000001",
        )),
        http.get(common::url(
            &sandbox,
            &format!("/v1/workflows/{WF}/runs/run_999999"),
        )),
        http.delete(common::url(
            &sandbox,
            &format!("/v1/workflows/{WF}/runs/run_999999"),
        )),
        // A run belongs to its own workflow only.
        http.get(common::url(
            &sandbox,
            &format!("/v1/workflows/wf_import_orders/runs/{id}"),
        )),
    ];
    for request in requests {
        common::expect_error(request.send().await.unwrap(), StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn bad_trigger_bodies_are_rejected() {
    let (sandbox, http) = sandbox(Duration::from_secs(60)).await;
    let path = common::url(&sandbox, &format!("/v1/workflows/{WF}/runs"));
    let response = http
        .post(&path)
        .header("content-type", "application/json")
        .body("{\"fail\":")
        .send()
        .await
        .unwrap();
    common::expect_error(response, StatusCode::BAD_REQUEST).await;
    let response = http
        .post(&path)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    common::expect_error(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    // Any JSON is an input, not only objects.
    let created = trigger(&sandbox, &http, Some(json!([1, 2, 3]))).await;
    assert_eq!(created["input"], json!([1, 2, 3]));
    assert_eq!(
        created["id"], "run_000001",
        "the rejected triggers created no run"
    );
}

#[tokio::test]
async fn a_trigger_body_over_the_configured_limit_is_413() {
    let sandbox = common::checked(Sandbox::builder().max_body_bytes(1024))
        .start()
        .await
        .expect("sandbox starts");
    let http = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let response = http
        .post(common::url(&sandbox, &format!("/v1/workflows/{WF}/runs")))
        .json(&json!({"notes": "x".repeat(4096)}))
        .send()
        .await
        .unwrap();
    common::expect_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    // Under the limit, as before; the refused trigger created no run.
    let created = trigger(&sandbox, &http, Some(json!({"notes": "short"}))).await;
    assert_eq!(created["id"], "run_000001");
}
