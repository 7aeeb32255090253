//! Hostile requests get the contract's error body (or a plain success), never a panic or a hang,
//! and the server keeps answering afterwards.

mod common;

use common::{body, expect_error, start, url};
use dbsync_sandbox::Sandbox;
use reqwest::StatusCode;

fn nested(depth: usize) -> String {
    format!("{{\"v\":{}1{}}}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn hostile_requests_are_answered_and_the_server_survives() {
    let (sandbox, client) = start(Sandbox::builder().seed_records(3)).await;
    let post = |path: &str, text: String| {
        client
            .post(url(&sandbox, path))
            .header("content-type", "application/json")
            .body(text)
    };
    // Nesting past serde_json's recursion limit: a 400, in a create, a batch and a keyed create.
    for (path, text) in [
        ("/v1/things", nested(100_000)),
        (
            "/v1/things/batch",
            format!("{{\"records\":[{}]}}", nested(100_000)),
        ),
    ] {
        let response = post(path, text.clone()).send().await.expect("answered");
        expect_error(response, StatusCode::BAD_REQUEST).await;
        let keyed = post(path, text)
            .header("idempotency-key", "deep")
            .send()
            .await
            .expect("answered");
        assert!(keyed.status().is_client_error(), "{}", keyed.status());
    }
    // Nesting just inside serde_json's limit is stored as given (no schema on `things`).
    let response = post("/v1/things", nested(120))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED);
    // ... and checked without trouble against a schema (`records` refuses the unknown field).
    let response = post("/v1/records", nested(120))
        .send()
        .await
        .expect("answered");
    expect_error(response, StatusCode::BAD_REQUEST).await;

    // Huge and odd `limit`/`offset` values, non-UTF-8 names and values.
    let digits = "9".repeat(10_000);
    for query in [
        format!("limit={digits}"),
        format!("offset={digits}"),
        "limit=%FF".to_owned(),
        "offset=%00".to_owned(),
        "%FF%FE=1".to_owned(),
        "from=%FF".to_owned(),
        "limit=1%00".to_owned(),
    ] {
        let response = client
            .get(url(&sandbox, &format!("/v1/records?{query}")))
            .send()
            .await
            .expect("answered");
        expect_error(response, StatusCode::BAD_REQUEST).await;
        let logs = client
            .get(url(&sandbox, &format!("/v1/logs?{query}")))
            .send()
            .await
            .expect("answered");
        expect_error(logs, StatusCode::BAD_REQUEST).await;
    }

    // A large Idempotency-Key header and a non-UTF-8 one.
    let response = post("/v1/things", "{}".into())
        .header("idempotency-key", "k".repeat(8_000))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED);
    let odd = reqwest::header::HeaderValue::from_bytes(b"key-\xff").expect("opaque header bytes");
    let response = post("/v1/things", "{}".into())
        .header("idempotency-key", odd)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED);
    // Keys that differ only in a non-UTF-8 byte are different keys: no 409 for another body.
    let other = reqwest::header::HeaderValue::from_bytes(b"key-\xfe").expect("opaque header bytes");
    let response = post("/v1/things", "{\"other\":1}".into())
        .header("idempotency-key", other)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED);

    // Still serving.
    let listed = client
        .get(url(&sandbox, "/v1/records?limit=1"))
        .send()
        .await
        .expect("answered");
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(body(listed).await["meta"]["total"], 3);
}
