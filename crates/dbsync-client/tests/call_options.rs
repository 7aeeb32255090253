//! Per-call options on a resource view: each takes effect on the wire, and none can replace
//! the connection's credentials.

mod common;

use std::time::{Duration, Instant};

use common::{builder, connection, quick_retries};
use dbsync_client::{
    Auth, AuthError, AuthRequest, BearerAuth, CallOptions, Error, Id, Query, RetryPolicy,
    async_trait,
};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

fn values<'a>(request: &'a Request, name: &str) -> Vec<&'a str> {
    request
        .headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect()
}

#[tokio::test]
async fn extra_headers_go_on_every_call_of_the_view_only() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [], "meta": {"total": 0}})),
        )
        .mount(&server)
        .await;
    let records = connection(&server).records();
    let traced = records.with_options(CallOptions::new().header("x-request-id", "import-42"));
    let _ = traced.list(&Query::new()).await.unwrap();
    let _ = records.list(&Query::new()).await.unwrap();
    let got = received(&server).await;
    assert_eq!(got.len(), 2);
    assert_eq!(values(&got[0], "x-request-id"), ["import-42"]);
    assert!(
        values(&got[1], "x-request-id").is_empty(),
        "the plain resource is unchanged"
    );
}

#[tokio::test]
async fn the_callers_idempotency_key_is_sent_and_kept_across_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/records"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/records"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1, "name": "Ada"})))
        .mount(&server)
        .await;
    let records = connection(&server).records();
    let created = records
        .with_options(CallOptions::new().idempotency_key("import-7-row-1"))
        .create(&json!({"name": "Ada"}))
        .await
        .unwrap();
    assert_eq!(created["id"], 1);
    let got = received(&server).await;
    assert_eq!(got.len(), 2, "the 503 was retried");
    for request in &got {
        assert_eq!(values(request, "idempotency-key"), ["import-7-row-1"]);
    }
    // Without the option, a create sends a fresh key of its own.
    let _ = records.create(&json!({"name": "Bob"})).await.unwrap();
    let got = received(&server).await;
    let fresh = values(&got[2], "idempotency-key");
    assert_eq!(fresh.len(), 1);
    assert_ne!(fresh[0], "import-7-row-1");
}

#[tokio::test]
async fn the_per_call_timeout_replaces_the_connections() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 1}))
                .set_delay(Duration::from_millis(400)),
        )
        .mount(&server)
        .await;
    let connection = builder(&server)
        .timeout(Duration::from_secs(10))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let records = connection.records();
    let started = Instant::now();
    let err = records
        .with_options(CallOptions::new().timeout(Duration::from_millis(50)))
        .get(Id::from(1_u64))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(350),
        "{:?}",
        started.elapsed()
    );
    // The connection's own timeout still lets the slow answer arrive.
    let record: Value = records.get(Id::from(1_u64)).await.unwrap();
    assert_eq!(record["id"], 1);
}

#[tokio::test]
async fn the_per_call_retry_policy_replaces_the_connections() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    // The connection retries 3 times; the view not at all.
    let records = connection(&server).records();
    let err = records
        .with_options(CallOptions::new().retry(RetryPolicy::none()))
        .get("1")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(received(&server).await.len(), 1);
    // A connection that never retries; the view retries once.
    let never = builder(&server).retry(RetryPolicy::none()).build().unwrap();
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let _ = never
        .records()
        .with_options(CallOptions::new().retry(quick_retries().max_retries(1)))
        .get("1")
        .await
        .unwrap_err();
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn an_extra_authorization_header_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .mount(&server)
        .await;
    let connection = builder(&server)
        .auth(BearerAuth::new("the-real-token"))
        .build()
        .unwrap();
    for name in ["Authorization", "proxy-authorization", "Idempotency-Key"] {
        let err = connection
            .records()
            .with_options(CallOptions::new().header(name, "Bearer forged"))
            .get("1")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        assert!(
            err.to_string().contains(&name.to_ascii_lowercase()),
            "{err}"
        );
        assert!(!err.to_string().contains("forged"), "{err}");
    }
    assert!(received(&server).await.is_empty(), "nothing was sent");
}

/// A strategy that puts its key in a header of its own.
#[derive(Debug)]
struct HeaderKey;

#[async_trait]
impl Auth for HeaderKey {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        request.set_header("x-api-key", "the-real-key")
    }

    fn scheme(&self) -> &'static str {
        "header-key"
    }
}

#[tokio::test]
async fn the_strategy_wins_over_an_extra_header_of_the_same_name() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("x-api-key", "the-real-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .expect(1)
        .mount(&server)
        .await;
    let connection = builder(&server).auth(HeaderKey).build().unwrap();
    let _: Value = connection
        .records()
        .with_options(CallOptions::new().header("x-api-key", "forged"))
        .get("1")
        .await
        .unwrap();
    let got = received(&server).await;
    assert_eq!(values(&got[0], "x-api-key"), ["the-real-key"]);
}

#[tokio::test]
async fn a_bulk_write_keeps_one_key_per_request_and_sends_the_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .respond_with(|request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let n = body["records"].as_array().unwrap().len();
            let results: Vec<Value> = (0..n)
                .map(|i| json!({"index": i, "status": 201, "data": {"id": i}}))
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"results": results}))
        })
        .mount(&server)
        .await;
    let records = connection(&server).records().with_options(
        CallOptions::new()
            .header("x-import", "7")
            .idempotency_key("one-key"),
    );
    let input: Vec<Value> = (0..150).map(|i| json!({"n": i})).collect();
    let outcomes = records.create_many(&input).await;
    assert_eq!(outcomes.len(), 150);
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    let got = received(&server).await;
    assert_eq!(got.len(), 2);
    let keys: Vec<&str> = got
        .iter()
        .map(|r| values(r, "idempotency-key")[0])
        .collect();
    assert_ne!(keys[0], keys[1]);
    assert!(got.iter().all(|r| values(r, "x-import") == ["7"]));
}
