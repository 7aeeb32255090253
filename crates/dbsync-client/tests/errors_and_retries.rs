//! Error mapping, retries, `Retry-After`, idempotency keys and 401 handling, against wiremock.

mod common;

use std::time::Duration;

use common::{CountingAuth, builder, closed_port, connection};
use dbsync_client::{Connection, Error, RetryPolicy, TransportKind};
use futures::TryStreamExt as _;
use serde_json::{Value, json};
use wiremock::matchers::{header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn error_body(code: u16, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

async fn get_error(status: u16, response: ResponseTemplate) -> (Error, MockServer) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/records/1"))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    let conn = builder(&server).retry(RetryPolicy::none()).build().unwrap();
    let err = conn.records().get(1).await.unwrap_err();
    assert_eq!(err.status(), Some(status), "{err}");
    (err, server)
}

#[tokio::test]
async fn each_status_maps_to_its_error() {
    let validation = json!({"error": {"code": 400, "message": "Invalid field value", "details": [
        {"field": "email", "message": "must be an email"},
        {"field": "age", "message": "must be an integer"}]}});
    let (err, _s) = get_error(400, ResponseTemplate::new(400).set_body_json(validation)).await;
    assert!(matches!(err, Error::Validation { .. }));
    assert_eq!(err.details().len(), 2);
    assert_eq!(err.details()[1].field, "age");

    let (err, _s) = get_error(
        401,
        ResponseTemplate::new(401)
            .insert_header("WWW-Authenticate", "Bearer")
            .set_body_json(error_body(401, "invalid API key")),
    )
    .await;
    match &err {
        Error::Unauthorized { challenge, message } => {
            assert_eq!(challenge.as_deref(), Some("Bearer"));
            assert!(message.contains("invalid API key"));
        }
        other => panic!("{other:?}"),
    }

    for (status, check) in [
        (
            404,
            (|e: &Error| matches!(e, Error::NotFound { .. })) as fn(&Error) -> bool,
        ),
        (409, |e| matches!(e, Error::Conflict { .. })),
        (413, |e| matches!(e, Error::PayloadTooLarge { .. })),
        (429, |e| matches!(e, Error::RateLimited { .. })),
        (500, |e| matches!(e, Error::Server { status: 500, .. })),
        (503, |e| matches!(e, Error::Server { status: 503, .. })),
        (418, |e| matches!(e, Error::Http { status: 418, .. })),
    ] {
        let (err, _s) = get_error(
            status,
            ResponseTemplate::new(status).set_body_json(error_body(status, "the message")),
        )
        .await;
        assert!(check(&err), "{status}: {err:?}");
        assert!(err.to_string().contains("the message"), "{err}");
    }
}

#[tokio::test]
async fn any_body_still_gives_status_and_a_snippet() {
    let (err, _s) = get_error(
        502,
        ResponseTemplate::new(502).set_body_raw("<html><h1>Bad Gateway</h1></html>", "text/html"),
    )
    .await;
    assert!(err.to_string().contains("<h1>Bad Gateway</h1>"), "{err}");

    let (err, _s) = get_error(500, ResponseTemplate::new(500)).await;
    assert!(err.to_string().contains("empty"), "{err}");

    let (err, _s) = get_error(
        400,
        ResponseTemplate::new(400).set_body_raw(r#"{"error":{"code":400,"mes"#, "application/json"),
    )
    .await;
    assert!(matches!(err, Error::Validation { .. }));
    assert!(
        err.to_string().contains(r#"{"error":{"code":400,"mes"#),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreadable_success_body_is_a_decode_error_and_get_retries_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/records/1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"id":1,"na"#, "application/json"))
        .expect(4)
        .mount(&server)
        .await;
    let err = connection(&server).records().get(1).await.unwrap_err();
    match &err {
        Error::Decode {
            status, snippet, ..
        } => {
            assert_eq!(*status, Some(200));
            assert!(snippet.contains(r#"{"id":1,"na"#));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_scan_page_with_a_truncated_body_is_read_again_and_nothing_is_lost() {
    // A complete HTTP response whose JSON stops short: the page is checked and laid out in one
    // parse, which must still tell a cut page from a short one.
    let server = MockServer::start().await;
    let page = |offset: &str| {
        Mock::given(method("GET"))
            .and(path("/v1/records"))
            .and(query_param("offset", offset))
    };
    page("0")
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"data":[{"id":1},{"id":2}],"meta":{"limit":2,"offset":0,"tot"#,
            "application/json",
        ))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    page("0")
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": [{"id": 1}, {"id": 2}], "meta": {"limit": 2, "offset": 0, "total": 3}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    page("2")
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"data":[{"id":3}"#, "application/json"),
        )
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    page("2")
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": [{"id": 3}], "meta": {"limit": 2, "offset": 2, "total": 3}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let records: Vec<Value> = connection(&server)
        .records()
        .stream(dbsync_client::Query::new().limit(2))
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<u64> = records.iter().filter_map(|r| r["id"].as_u64()).collect();
    assert_eq!(ids, [1, 2, 3]);
}

#[tokio::test]
async fn a_scan_page_of_another_shape_is_a_decode_error_without_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/records"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": [{"id": 1}]})))
        .expect(1)
        .mount(&server)
        .await;
    let err = connection(&server)
        .records()
        .stream(dbsync_client::Query::new())
        .try_collect::<Vec<Value>>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("no `data` array"), "{err}");
}

#[tokio::test]
async fn a_typed_record_cut_short_is_read_again() {
    // The typed decode is also the check that the body is JSON: a cut body must still be
    // retried, not reported as a record of the wrong type.
    #[derive(Debug, serde::Deserialize)]
    struct Contact {
        email: String,
        age: u32,
    }
    let server = MockServer::start().await;
    // Cut inside a key, and cut after a value of the wrong type (the decode fails on the type
    // first; the body is still not JSON).
    for cut in [
        r#"{"email":"a@example.com","a"#,
        r#"{"age":"forty","email":"a@"#,
    ] {
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(cut, "application/json"))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"email": "a@example.com", "age": 40})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let contacts = connection(&server).resource::<Contact>("contacts").unwrap();
    let contact = contacts.get("c1").await.unwrap();
    assert_eq!((contact.email.as_str(), contact.age), ("a@example.com", 40));
}

#[tokio::test]
async fn valid_json_that_serde_calls_a_syntax_error_is_a_decode_error_without_retries() {
    // `1e400` is valid JSON, but out of range for serde_json: not a body cut short.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"id":1,"n":1e400}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = connection(&server).records().get(1).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("does not fit"), "{err}");
}

#[tokio::test]
async fn a_record_of_the_wrong_shape_is_a_decode_error_without_retries() {
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Contact {
        email: String,
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"email": 5})))
        .expect(1)
        .mount(&server)
        .await;
    let contacts = connection(&server).resource::<Contact>("contacts").unwrap();
    let err = contacts.get("c1").await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_waited_exactly() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .expect(1)
        .mount(&server)
        .await;
    let started = tokio::time::Instant::now();
    let record = connection(&server).records().get(1).await.unwrap();
    assert_eq!(record["id"], 1);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(7) && waited < Duration::from_millis(7100),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_past_the_longest_wait_fails_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "120")
                .set_body_json(error_body(429, "slow down")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let conn = builder(&server)
        .retry(
            RetryPolicy::default()
                .call_deadline(None)
                .max_retry_after(Duration::from_secs(60)),
        )
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let err = conn.records().get(1).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(matches!(err, Error::RateLimited { .. }));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert!(err.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_up_to_the_configured_count() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let conn = builder(&server)
        .retry(RetryPolicy::default().call_deadline(None).max_retries(2))
        .build()
        .unwrap();
    let err = conn.records().get(1).await.unwrap_err();
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn create_sends_an_idempotency_key_and_reuses_it_on_retry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/records"))
        .and(header_exists("idempotency-key"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/records"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "7", "name": "Ada"})))
        .expect(2)
        .mount(&server)
        .await;
    let created = connection(&server)
        .records()
        .create(&json!({"name": "Ada"}))
        .await
        .unwrap();
    assert_eq!(created["id"], "7");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let key = |i: usize| requests[i].headers.get("idempotency-key").unwrap().clone();
    assert_eq!(key(0), key(1));
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(
        requests[0].headers.get("content-type").unwrap(),
        "application/json"
    );
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body, json!({"name": "Ada"}));

    // A second create gets a new key.
    let _ = connection(&server)
        .records()
        .create(&json!({"name": "Bob"}))
        .await;
    let requests = server.received_requests().await.unwrap();
    assert_ne!(
        requests[2].headers.get("idempotency-key").unwrap(),
        requests[0].headers.get("idempotency-key").unwrap()
    );
}

#[tokio::test]
async fn a_401_asks_the_strategy_once_and_retries_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(error_body(401, "expired")))
        .expect(2)
        .mount(&server)
        .await;
    let auth = CountingAuth::renewing();
    let conn = builder(&server).auth(auth.clone()).build().unwrap();
    let err = conn.records().get(1).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert_eq!(auth.unauthorized(), 1);
    assert_eq!(auth.authorized(), 2);
    assert_eq!(
        auth.rejected.lock().unwrap().as_deref(),
        Some("Bearer token-1"),
        "the strategy is told which credentials were rejected"
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].headers.get("authorization").unwrap(),
        "Bearer token-1"
    );
    assert_eq!(
        requests[1].headers.get("authorization").unwrap(),
        "Bearer token-2"
    );
}

#[tokio::test]
async fn a_401_is_not_retried_when_the_strategy_cannot_renew() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let auth = CountingAuth::fixed();
    let conn = builder(&server).auth(auth.clone()).build().unwrap();
    let err = conn.records().get(1).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }));
    assert_eq!((auth.unauthorized(), auth.authorized()), (1, 1));
}

#[tokio::test]
async fn a_renewed_401_then_success_returns_the_record() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .expect(1)
        .mount(&server)
        .await;
    let auth = CountingAuth::renewing();
    let conn = builder(&server).auth(auth.clone()).build().unwrap();
    assert_eq!(conn.records().get(1).await.unwrap()["id"], 1);
    assert_eq!(auth.unauthorized(), 1);
}

#[tokio::test]
async fn credentials_are_applied_afresh_on_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "a"})))
        .mount(&server)
        .await;
    let auth = CountingAuth::fixed();
    let conn = builder(&server).auth(auth.clone()).build().unwrap();
    conn.records().update("a", &json!({"x": 1})).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let tokens: Vec<_> = requests
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        tokens,
        ["Bearer token-1", "Bearer token-2", "Bearer token-3"]
    );
    assert!(requests.iter().all(|r| r.body == requests[0].body));
}

#[tokio::test]
async fn a_failed_connect_is_retried_even_for_a_post() {
    let auth = CountingAuth::fixed();
    let conn = Connection::builder()
        .base_url(format!("http://127.0.0.1:{}", closed_port()))
        .auth(auth.clone())
        .retry(common::quick_retries().max_retries(2))
        .build()
        .unwrap();
    let err = conn.records().create(&json!({"a": 1})).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(matches!(
        err,
        Error::Transport {
            kind: TransportKind::Connect,
            ..
        }
    ));
    assert_eq!(auth.authorized(), 3, "one attempt and two retries");
    assert!(err.to_string().contains("POST /v1/records"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_reported_as_such() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let conn = builder(&server)
        .timeout(Duration::from_secs(1))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = conn.records().get(1).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(!err.is_connect());
}

#[tokio::test]
async fn delete_accepts_204_and_200_with_a_body() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/v1/records/1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/records/2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 2})))
        .expect(1)
        .mount(&server)
        .await;
    let records = connection(&server).records();
    records.delete(1).await.unwrap();
    records.delete(2).await.unwrap();
}

#[tokio::test]
async fn ids_stay_one_percent_encoded_segment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(4)
        .mount(&server)
        .await;
    let records = connection(&server).records();
    for id in ["../admin", "a/b", "x y", "50%?#"] {
        records.get(id).await.unwrap();
    }
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/v1/records/..%2Fadmin",
            "/v1/records/a%2Fb",
            "/v1/records/x%20y",
            "/v1/records/50%25%3F%23"
        ]
    );
    for bad in ["..", ".", ""] {
        assert!(
            matches!(records.get(bad).await, Err(Error::Config(_))),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn secrets_never_reach_errors() {
    #[derive(Debug)]
    struct KeyInQuery;
    #[async_trait::async_trait]
    impl dbsync_auth::Auth for KeyInQuery {
        async fn authorize(
            &self,
            request: &mut dbsync_auth::AuthRequest<'_>,
        ) -> Result<(), dbsync_auth::AuthError> {
            request
                .url_mut()
                .query_pairs_mut()
                .append_pair("api_key", "sup3r-s3cret");
            Ok(())
        }
        fn scheme(&self) -> &'static str {
            "query-key"
        }
    }
    let conn = Connection::builder()
        .base_url(format!("http://127.0.0.1:{}", closed_port()))
        .auth(KeyInQuery)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = conn.records().get(1).await.unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("sup3r-s3cret"), "{text}");
    }
}
