//! Pagination, query encoding, batching and Validate Connection, against wiremock.

mod common;

use common::{builder, closed_port, connection};
use dbsync_client::{Connection, Error, PageFormat, Query, TransportKind};
use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn records(from: u64, count: u64) -> Vec<Value> {
    (from..from + count).map(|id| json!({"id": id})).collect()
}

async fn mount_page(server: &MockServer, offset: u64, body: Value, calls: u64) {
    Mock::given(method("GET"))
        .and(path("/v1/records"))
        .and(query_param("offset", offset.to_string()))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(calls)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_list_over_three_and_a_half_pages_asks_for_each_offset_once() {
    let server = MockServer::start().await;
    for (offset, count) in [(0, 100), (100, 100), (200, 100), (300, 50)] {
        let body = json!({"data": records(offset, count),
                          "meta": {"limit": 100, "offset": offset, "total": 350}});
        mount_page(&server, offset, body, 1).await;
    }
    mount_page(&server, 400, json!({"data": [], "meta": {"total": 350}}), 0).await;
    let stream = connection(&server)
        .records()
        .stream(Query::new().limit(100));
    // The stream is owned: it can move into a task.
    let all: Vec<Value> = tokio::spawn(stream.try_collect()).await.unwrap().unwrap();
    assert_eq!(all.len(), 350);
    assert_eq!(all[349]["id"], 349);
}

#[tokio::test]
async fn the_stream_stops_at_total_without_asking_for_the_empty_page() {
    let server = MockServer::start().await;
    for offset in [0, 100] {
        let body = json!({"data": records(offset, 100), "meta": {"limit": 100, "offset": offset, "total": 200}});
        mount_page(&server, offset, body, 1).await;
    }
    mount_page(&server, 200, json!({"data": []}), 0).await;
    let all: Vec<Value> = connection(&server)
        .records()
        .stream(Query::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 200);
}

#[tokio::test]
async fn bare_array_pages_stop_at_the_short_page() {
    let server = MockServer::start().await;
    for (offset, count) in [(0, 10), (10, 10), (20, 3)] {
        mount_page(&server, offset, Value::Array(records(offset, count)), 1).await;
    }
    mount_page(&server, 23, json!([]), 0).await;
    let records = connection(&server)
        .records()
        .with_page_format(PageFormat::BareArray);
    let all: Vec<Value> = records
        .stream(Query::new().limit(10))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 23);
}

#[tokio::test]
async fn a_custom_records_key_is_read() {
    let server = MockServer::start().await;
    mount_page(
        &server,
        0,
        json!({"items": records(0, 2), "meta": {"total": 2}}),
        2,
    )
    .await;
    let conn = builder(&server)
        .page_format(PageFormat::records_under("items"))
        .build()
        .unwrap();
    let page = conn.records().list(&Query::new().offset(0)).await.unwrap();
    assert_eq!(page.data.len(), 2);
    assert_eq!(page.meta.unwrap().total, Some(2));
    let all: Vec<Value> = conn
        .records()
        .stream(Query::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn a_failing_page_ends_the_stream_with_its_error() {
    let server = MockServer::start().await;
    mount_page(
        &server,
        0,
        json!({"data": records(0, 2), "meta": {"limit": 2, "total": 10}}),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(query_param("offset", "2"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let items: Vec<_> = connection(&server)
        .records()
        .stream(Query::new().limit(2))
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert!(matches!(items[2], Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn query_parameters_are_encoded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/contacts"))
        .and(query_param("from", "2024-01-01T00:00:00+02:00"))
        .and(query_param("status", "a b"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&server)
        .await;
    let contacts = connection(&server).resource::<Value>("contacts").unwrap();
    let query = Query::new()
        .limit(5)
        .from("2024-01-01T00:00:00+02:00")
        .filter("status", "a b");
    contacts.list(&query).await.unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    let raw = request.url.query().unwrap();
    assert!(
        raw.contains("from=2024-01-01T00%3A00%3A00%2B02%3A00"),
        "{raw}"
    );
    assert!(matches!(
        contacts.list(&Query::new().limit(0)).await,
        Err(Error::Config(_))
    ));
    assert!(matches!(
        contacts.list(&Query::new().limit(1001)).await,
        Err(Error::Config(_))
    ));
    assert!(matches!(
        contacts.list(&Query::new().filter("offset", 5)).await,
        Err(Error::Config(_))
    ));
    assert!(connection(&server).resource::<Value>("../admin").is_err());
}

/// Answers a batch like the contract: each record saved with an id, except those with
/// `"bad": true`, which fail with a 400.
struct BatchEcho;

impl Respond for BatchEcho {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let results: Vec<Value> = body["records"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(index, record)| {
                if record["bad"] == true {
                    json!({"index": index, "status": 400, "error": {"code": 400,
                        "message": "Invalid field value",
                        "details": [{"field": "bad", "message": "not allowed"}]}})
                } else {
                    let mut saved = record.clone();
                    saved["id"] = json!(format!("id-{}", record["n"]));
                    json!({"index": index, "status": 201, "data": saved})
                }
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"results": results}))
    }
}

#[tokio::test]
async fn a_batch_of_250_goes_out_as_100_100_50_with_outcomes_by_input_index() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .respond_with(BatchEcho)
        .expect(3)
        .mount(&server)
        .await;
    let input: Vec<Value> = (0..250)
        .map(|n| {
            if n == 137 {
                json!({"n": n, "bad": true})
            } else {
                json!({"n": n})
            }
        })
        .collect();
    let outcomes = connection(&server).records().create_many(&input).await;
    assert_eq!(outcomes.len(), 250);
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome.index, i);
        if i == 137 {
            let err = outcome.result.as_ref().unwrap_err();
            assert!(matches!(err, Error::Validation { .. }));
            assert_eq!(err.details()[0].field, "bad");
        } else {
            assert_eq!(outcome.result.as_ref().unwrap()["id"], format!("id-{i}"));
        }
    }
    let requests = server.received_requests().await.unwrap();
    let sizes: Vec<usize> = requests
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["records"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    let mut sizes = sizes;
    sizes.sort_unstable(); // the batches go out concurrently
    assert_eq!(sizes, [50, 100, 100]);
    let keys: std::collections::HashSet<_> = requests
        .iter()
        .map(|r| r.headers.get("idempotency-key").unwrap().clone())
        .collect();
    assert_eq!(keys.len(), 3, "one key per batch");
}

#[tokio::test]
async fn a_failed_batch_request_fails_only_its_records() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/v1/records/batch"))
        .respond_with(BatchEcho)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v1/records/batch"))
        .respond_with(ResponseTemplate::new(413))
        .mount(&server)
        .await;
    let patches: Vec<(String, Value)> = (0..150)
        .map(|n| (format!("r{n}"), json!({"n": n})))
        .collect();
    // One request at a time, so the first batch meets the first mock.
    let outcomes = connection(&server)
        .records()
        .update_many_with(
            &patches,
            &dbsync_client::BatchOptions::default().concurrency(1),
        )
        .await;
    assert!(outcomes[..100].iter().all(|o| o.result.is_ok()));
    assert!(
        outcomes[100..]
            .iter()
            .all(|o| matches!(o.result, Err(Error::PayloadTooLarge { .. })))
    );
    let first: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(first["records"][3], json!({"id": "r3", "n": 3}));
}

#[tokio::test]
async fn a_batch_answer_missing_a_record_never_reports_it_saved() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [
            {"index": 0, "status": 201, "data": {"id": "a"}},
            {"index": 7, "status": 201, "data": {"id": "ghost"}}
        ]})))
        .mount(&server)
        .await;
    let outcomes = connection(&server)
        .records()
        .create_many(&[json!({}), json!({})])
        .await;
    assert!(outcomes[0].result.is_ok());
    assert!(matches!(outcomes[1].result, Err(Error::Decode { .. })));
}

#[tokio::test]
async fn a_saved_record_that_does_not_fit_the_type_fails_alone() {
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Numbered {
        n: u64,
    }
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [
            {"index": 0, "status": 201, "data": {"n": 1}},
            {"index": 1, "status": 201, "data": {"n": "two"}},
            {"index": 2, "status": 201, "data": {"n": 3}}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let input: Vec<Numbered> = (1..=3).map(|n| Numbered { n }).collect();
    let outcomes = connection(&server)
        .resource::<Numbered>("records")
        .unwrap()
        .create_many(&input)
        .await;
    assert_eq!(outcomes[0].result.as_ref().unwrap().n, 1);
    assert_eq!(outcomes[2].result.as_ref().unwrap().n, 3);
    let err = outcomes[1].result.as_ref().unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("the saved record does not fit the expected type") && text.contains("two"),
        "{text}"
    );
}

#[tokio::test]
async fn a_batch_answer_of_another_shape_fails_its_records_as_unknown_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"saved": 2})))
        .expect(1)
        .mount(&server)
        .await;
    let outcomes = connection(&server)
        .records()
        .create_many(&[json!({"n": 1}), json!({"n": 2})])
        .await;
    let key = outcomes[0].idempotency_key.clone().unwrap();
    for outcome in &outcomes {
        let err = outcome.result.as_ref().unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("the batch response") && text.contains("outcome is unknown"),
            "{text}"
        );
        assert!(text.contains(&key), "the key to resend with: {text}");
        assert_eq!(outcome.idempotency_key.as_deref(), Some(key.as_str()));
    }
}

#[tokio::test]
async fn validate_reports_latency_and_rate_limit_headers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/records"))
        .and(query_param("limit", "1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-RateLimit-Limit", "600")
                .insert_header("X-RateLimit-Remaining", "599")
                .insert_header("X-RateLimit-Reset", "1700000000")
                .set_body_json(json!({"data": [], "meta": {"total": 0}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let report = builder(&server)
        .auth(dbsync_auth::BearerAuth::new("t"))
        .build()
        .unwrap()
        .validate()
        .await
        .unwrap();
    assert!(report.reachable && report.authenticated);
    assert_eq!(report.auth_scheme, "bearer");
    assert_eq!(report.rate_limit.limit, Some(600));
    assert_eq!(report.rate_limit.remaining, Some(599));
    assert_eq!(report.rate_limit.reset, Some(1_700_000_000));
}

#[tokio::test]
async fn validate_tells_the_failures_apart() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let err = connection(&server).validate().await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }));
    assert!(err.to_string().contains("base URL"), "{err}");

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let err = builder(&server)
        .auth(dbsync_auth::BearerAuth::new("wrong"))
        .build()
        .unwrap()
        .validate()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }));
    assert!(err.to_string().contains("bearer"), "{err}");

    let unreachable = Connection::builder()
        .base_url(format!("http://127.0.0.1:{}", closed_port()))
        .build()
        .unwrap();
    let err = unreachable.validate().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );

    // A TLS handshake against a plain-HTTP port fails as TLS, not as "unreachable".
    let server = MockServer::start().await;
    let tls = Connection::builder()
        .base_url(server.uri().replace("http://", "https://"))
        .build()
        .unwrap();
    let err = tls.validate().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Tls,
                ..
            }
        ),
        "{err:?}"
    );
}
