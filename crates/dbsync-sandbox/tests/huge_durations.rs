//! Durations at the edge of what the builder (and the CLI's `--token-ttl`) accept never make a
//! request panic: an overflow in the server would drop the connection instead of answering.

mod common;

use std::time::Duration;

use common::{body, start, url};
use dbsync_sandbox::{MAX_DURATION, Sandbox, SandboxAuth};
use reqwest::StatusCode;

#[tokio::test]
async fn a_huge_token_ttl_issues_a_token_that_works() {
    let (sandbox, client) = start(
        Sandbox::builder()
            .auth(SandboxAuth::OAuth2 {
                client_id: "cid".into(),
                client_secret: "cs".into(),
            })
            .token_ttl(Duration::from_secs(u64::MAX)),
    )
    .await;
    assert_eq!(sandbox.token_ttl(), MAX_DURATION);
    let response = client
        .post(sandbox.token_url())
        .basic_auth("cid", Some("cs"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("the token endpoint answers");
    assert_eq!(response.status(), StatusCode::OK);
    let token = body(response).await;
    assert_eq!(token["expires_in"], MAX_DURATION.as_secs());
    let access = token["access_token"].as_str().expect("a token");
    let listed = client
        .get(url(&sandbox, "/v1/records"))
        .bearer_auth(access)
        .send()
        .await
        .expect("the list answers");
    assert_eq!(listed.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_huge_workflow_duration_keeps_runs_queued() {
    let (sandbox, client) = start(Sandbox::builder().workflow_duration(Duration::MAX)).await;
    let triggered = client
        .post(url(&sandbox, "/v1/workflows/wf_sync_contacts/runs"))
        .send()
        .await
        .expect("the trigger answers");
    assert_eq!(triggered.status(), StatusCode::ACCEPTED);
    let run = body(triggered).await;
    let id = run["id"].as_str().expect("a run id");
    let status = client
        .get(url(
            &sandbox,
            &format!("/v1/workflows/wf_sync_contacts/runs/{id}"),
        ))
        .send()
        .await
        .expect("the status answers");
    assert_eq!(status.status(), StatusCode::OK);
    assert_eq!(body(status).await["status"], "queued");
}
