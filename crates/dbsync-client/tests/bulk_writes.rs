//! Concurrent batches (concurrency, order, progress, splitting, idempotency keys) against
//! wiremock and a small counting server.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::connection;
use dbsync_client::{BatchOptions, Error, Progress, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers a batch like the contract: every record saved with `id-{n}`. Batches whose first
/// record has `"slow": true` are answered after `delay`.
struct Echo {
    delay: Duration,
}

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let records = body["records"].as_array().unwrap();
        let results: Vec<Value> = records
            .iter()
            .enumerate()
            .map(|(index, record)| {
                let mut saved = record.clone();
                saved["id"] = json!(format!("id-{}", record["n"]));
                json!({"index": index, "status": 201, "data": saved})
            })
            .collect();
        let template = ResponseTemplate::new(200).set_body_json(json!({"results": results}));
        if records[0]["slow"] == true {
            template.set_delay(self.delay)
        } else {
            template
        }
    }
}

fn echo() -> Echo {
    Echo {
        delay: Duration::ZERO,
    }
}

fn numbered(count: usize) -> Vec<Value> {
    (0..count).map(|n| json!({"n": n})).collect()
}

fn sizes_of(requests: &[Request]) -> Vec<usize> {
    let mut sizes: Vec<usize> = requests
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["records"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    sizes.sort_unstable();
    sizes
}

/// Matches a batch with more than `max` records.
struct MoreThan(usize);

impl Match for MoreThan {
    fn matches(&self, request: &Request) -> bool {
        serde_json::from_slice::<Value>(&request.body)
            .ok()
            .and_then(|body| body["records"].as_array().map(Vec::len))
            .is_some_and(|len| len > self.0)
    }
}

#[tokio::test]
async fn outcomes_come_back_by_input_index_whatever_the_completion_order() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .respond_with(Echo {
            delay: Duration::from_millis(300),
        })
        .expect(3)
        .mount(&server)
        .await;
    let mut input = numbered(250);
    input[0]["slow"] = json!(true); // the first batch (of 100) finishes last
    let order = Arc::new(Mutex::new(Vec::new()));
    let seen = order.clone();
    let outcomes = connection(&server)
        .records()
        .create_many_with(
            &input,
            &BatchOptions::default()
                .concurrency(3)
                .on_progress(move |p| seen.lock().unwrap().push(p.done)),
        )
        .await;
    assert_eq!(outcomes.len(), 250);
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome.index, i);
        assert_eq!(outcome.result.as_ref().unwrap()["id"], format!("id-{i}"));
        assert_eq!(outcome.result.as_ref().unwrap()["n"], i);
    }
    // The batches of 100 and 50 came back before the slow first one.
    let order = order.lock().unwrap().clone();
    assert!(
        order == [0, 100, 150, 250] || order == [0, 50, 150, 250],
        "{order:?}"
    );
}

#[tokio::test]
async fn progress_reaches_the_total_and_counts_failures() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .respond_with(echo())
        .expect(3)
        .mount(&server)
        .await;
    let reports: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = reports.clone();
    let options = BatchOptions::default()
        .chunk_size(40)
        .on_progress(move |p| sink.lock().unwrap().push(p));
    let outcomes = connection(&server)
        .records()
        .create_many_with(&numbered(100), &options)
        .await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    let reports = reports.lock().unwrap().clone();
    assert_eq!(reports.len(), 4, "one at the start, one per batch");
    assert_eq!(reports[0].done, 0);
    assert!(reports.iter().all(|p| p.total == 100));
    assert!(reports.windows(2).all(|w| w[0].done < w[1].done));
    assert_eq!(*reports.last().unwrap(), Progress::new(100, 100, 100, 0));
    assert_eq!(
        sizes_of(&server.received_requests().await.unwrap()),
        [20, 40, 40]
    );
}

#[tokio::test]
async fn a_batch_refused_as_a_whole_with_400_is_split_to_isolate_the_bad_record() {
    let server = MockServer::start().await;
    // Any request holding the bad record is refused as a whole: [0..8], [4..8], [4..6], [5].
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .and(body_string_contains("\"bad\""))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": 400, "message": "Invalid field value",
            "details": [{"field": "bad", "message": "not allowed"}]}})))
        .expect(4)
        .mount(&server)
        .await;
    // The good parts go in: [0..4], [4], [6..8].
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .respond_with(echo())
        .expect(3)
        .mount(&server)
        .await;
    let mut input = numbered(8);
    input[5]["bad"] = json!(true);
    let outcomes = connection(&server)
        .records()
        .create_many_with(&input, &BatchOptions::default().chunk_size(8))
        .await;
    for (i, outcome) in outcomes.iter().enumerate() {
        if i == 5 {
            let err = outcome.result.as_ref().unwrap_err();
            assert!(matches!(err, Error::Validation { .. }), "{err}");
            assert_eq!(err.details()[0].field, "bad");
        } else {
            assert_eq!(outcome.result.as_ref().unwrap()["id"], format!("id-{i}"));
        }
    }
    let requests = server.received_requests().await.unwrap();
    assert_eq!(sizes_of(&requests), [1, 1, 2, 2, 4, 4, 8]);
    let keys: std::collections::HashSet<_> = requests
        .iter()
        .map(|r| r.headers.get("idempotency-key").unwrap().clone())
        .collect();
    assert_eq!(keys.len(), 7, "each part has its own body, so its own key");
}

#[tokio::test]
async fn a_batch_refused_with_413_is_split_until_the_parts_fit() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/v1/records/batch"))
        .and(MoreThan(2))
        .respond_with(ResponseTemplate::new(413))
        .expect(5) // 10, 5, 5, 3, 3
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v1/records/batch"))
        .respond_with(echo())
        .expect(6) // 2, 1, 2 for each half
        .mount(&server)
        .await;
    let patches: Vec<(String, Value)> = (0..10)
        .map(|n| (format!("r{n}"), json!({"n": n})))
        .collect();
    let outcomes = connection(&server)
        .records()
        .update_many_with(&patches, &BatchOptions::default().chunk_size(10))
        .await;
    for (i, outcome) in outcomes.iter().enumerate() {
        let saved = outcome.result.as_ref().unwrap();
        assert_eq!(saved["n"], i);
        assert_eq!(saved["id"], format!("id-{i}"));
        assert_eq!(outcome.idempotency_key, None, "PUT needs no key");
    }
}

#[tokio::test]
async fn a_single_record_refused_with_413_is_reported_failed_at_its_index() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .and(body_string_contains("huge"))
        .respond_with(ResponseTemplate::new(413))
        .expect(3) // [0..3], [1..3], [1]
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .respond_with(echo())
        .expect(2) // [0], [2]
        .mount(&server)
        .await;
    let mut input = numbered(3);
    input[1]["blob"] = json!("huge");
    let outcomes = connection(&server)
        .records()
        .create_many_with(&input, &BatchOptions::default())
        .await;
    assert!(outcomes[0].result.is_ok() && outcomes[2].result.is_ok());
    assert!(matches!(
        outcomes[1].result,
        Err(Error::PayloadTooLarge { .. })
    ));
}

#[tokio::test]
async fn a_failed_chunk_is_retried_with_its_same_key_and_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .respond_with(echo())
        .expect(1)
        .mount(&server)
        .await;
    let outcomes = connection(&server)
        .records()
        .create_many_with(&numbered(5), &BatchOptions::default())
        .await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    let key = requests[0].headers.get("idempotency-key").unwrap();
    for request in &requests {
        assert_eq!(request.headers.get("idempotency-key").unwrap(), key);
        assert_eq!(request.body, requests[0].body, "the same bytes every time");
    }
    assert_eq!(
        outcomes[0].idempotency_key.as_deref(),
        Some(key.to_str().unwrap())
    );
}

#[tokio::test]
async fn a_lost_response_is_never_reported_saved_and_names_the_key_to_retry_with() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"results\": [ {\"ind"))
        .expect(4) // the first attempt and 3 retries
        .mount(&server)
        .await;
    let outcomes = connection(&server)
        .records()
        .create_many_with(&numbered(3), &BatchOptions::default())
        .await;
    let requests = server.received_requests().await.unwrap();
    let key = requests[0].headers.get("idempotency-key").unwrap();
    assert!(
        requests
            .iter()
            .all(|r| r.headers.get("idempotency-key") == Some(key))
    );
    for outcome in &outcomes {
        let err = outcome.result.as_ref().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("outcome is unknown"), "{text}");
        assert!(text.contains(key.to_str().unwrap()), "{text}");
        assert!(text.contains("input indices 0..=2"), "{text}");
        assert_eq!(
            outcome.idempotency_key.as_deref(),
            Some(key.to_str().unwrap())
        );
    }
}

#[tokio::test]
async fn records_refused_before_sending_count_in_progress_and_are_not_sent() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/v1/records/batch"))
        .respond_with(echo())
        .expect(1)
        .mount(&server)
        .await;
    let last = Arc::new(Mutex::new(None));
    let sink = last.clone();
    let patches = vec![
        ("a", json!({"n": 0})),
        ("b", json!(7)),
        ("c", json!({"n": 2})),
    ];
    let outcomes = connection(&server)
        .records()
        .update_many_with(
            &patches,
            &BatchOptions::default().on_progress(move |p| *sink.lock().unwrap() = Some(p)),
        )
        .await;
    assert!(matches!(outcomes[1].result, Err(Error::Config(_))));
    assert!(outcomes[0].result.is_ok() && outcomes[2].result.is_ok());
    assert_eq!(last.lock().unwrap().unwrap(), Progress::new(3, 3, 2, 1));
    assert_eq!(sizes_of(&server.received_requests().await.unwrap()), [2]);
}

mod in_flight {
    //! A server that counts how many batch requests it holds at once.
    use super::*;
    use axum::Router;
    use axum::extract::State;
    use axum::routing::post;

    #[derive(Clone, Default)]
    struct Counter {
        now: Arc<AtomicUsize>,
        max: Arc<AtomicUsize>,
        requests: Arc<AtomicUsize>,
    }

    async fn batch(State(counter): State<Counter>, body: axum::body::Bytes) -> axum::Json<Value> {
        let now = counter.now.fetch_add(1, Ordering::SeqCst) + 1;
        counter.max.fetch_max(now, Ordering::SeqCst);
        counter.requests.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(40)).await;
        counter.now.fetch_sub(1, Ordering::SeqCst);
        let body: Value = serde_json::from_slice(&body).unwrap();
        let results: Vec<Value> = body["records"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(index, record)| json!({"index": index, "status": 201, "data": record}))
            .collect();
        axum::Json(json!({ "results": results }))
    }

    async fn max_in_flight(concurrency: usize) -> (usize, usize) {
        let counter = Counter::default();
        let app = Router::new()
            .route("/v1/records/batch", post(batch))
            .with_state(counter.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let connection = dbsync_client::Connection::builder()
            .base_url(format!("http://{addr}"))
            .build()
            .unwrap();
        let outcomes = connection
            .records()
            .create_many_with(
                &numbered(2_000),
                &BatchOptions::default().concurrency(concurrency),
            )
            .await;
        server.abort();
        assert!(outcomes.iter().all(|o| o.result.is_ok()));
        (
            counter.max.load(Ordering::SeqCst),
            counter.requests.load(Ordering::SeqCst),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_configured_batches_are_in_flight() {
        let (max, requests) = max_in_flight(3).await;
        assert_eq!(requests, 20);
        assert!(max <= 3, "{max} batches in flight with a concurrency of 3");
        assert!(
            max >= 2,
            "the batches were not sent concurrently (max {max})"
        );
        let (max, _) = max_in_flight(1).await;
        assert_eq!(max, 1);
    }
}

#[tokio::test]
async fn a_connection_refused_chunk_fails_only_its_records_with_a_clear_error() {
    let connection = dbsync_client::Connection::builder()
        .base_url(format!("http://127.0.0.1:{}", common::closed_port()))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let outcomes = connection
        .records()
        .create_many_with(&numbered(3), &BatchOptions::default())
        .await;
    for outcome in outcomes {
        assert!(!outcome.outcome_unknown, "nothing was sent");
        let err = outcome.result.unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{err}");
        assert!(
            !err.to_string().contains("outcome is unknown"),
            "nothing was sent: {err}"
        );
    }
}

/// A connection whose retries come quickly and whose attempts time out after 200 ms.
fn quick_retries(server: &MockServer) -> dbsync_client::Connection {
    common::builder(server)
        .timeout(Duration::from_millis(200))
        .retry(
            RetryPolicy::default()
                .max_retries(3)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(2)),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_409_after_an_attempt_that_timed_out_leaves_the_outcome_unknown() {
    // The first attempt outlives the client's timeout (the server may still save the records);
    // the retry with the same key meets the key in use.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "error": {"code": "conflict", "message": "a request with this key is in progress"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let outcomes = quick_retries(&server)
        .records()
        .create_many(&numbered(2))
        .await;
    for outcome in &outcomes {
        assert!(outcome.outcome_unknown, "{outcome:?}");
        let err = outcome.result.as_ref().unwrap_err();
        assert!(matches!(err, Error::Conflict { .. }), "{err}");
        assert!(err.to_string().contains("outcome is unknown"), "{err}");
    }
}

#[tokio::test]
async fn a_429_after_a_5xx_leaves_the_outcome_unknown_but_a_400_does_not() {
    // A 503 (the server may have acted), then a 429 asking for longer than the client waits.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("\"n\":0"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("\"n\":0"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "86400"))
        .expect(1)
        .mount(&server)
        .await;
    let outcomes = quick_retries(&server)
        .records()
        .create_many(&numbered(1))
        .await;
    assert!(outcomes[0].outcome_unknown, "{:?}", outcomes[0]);
    assert!(matches!(outcomes[0].result, Err(Error::RateLimited { .. })));

    // A 429 alone, or a 503 then the request's own 400 (its replayed verdict): known.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "86400"))
        .expect(1)
        .mount(&server)
        .await;
    let outcomes = quick_retries(&server)
        .records()
        .create_many(&numbered(1))
        .await;
    assert!(!outcomes[0].outcome_unknown, "{:?}", outcomes[0]);
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"code": "validation_failed", "message": "bad", "details": []}
        })))
        .mount(&server)
        .await;
    let outcomes = quick_retries(&server)
        .records()
        .create_many(&numbered(1))
        .await;
    assert!(!outcomes[0].outcome_unknown, "{:?}", outcomes[0]);
    assert!(matches!(outcomes[0].result, Err(Error::Validation { .. })));
}

#[tokio::test]
async fn resending_no_records_or_with_an_unusable_key_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let records = connection(&server).records();
    assert!(records.create_batch_with_key(&[], "k-1").await.is_empty());
    let refused = records
        .create_batch_with_key(&numbered(2), "line\nbreak")
        .await;
    assert_eq!(refused.len(), 2);
    for outcome in refused {
        assert!(!outcome.outcome_unknown);
        let err = outcome.result.unwrap_err();
        assert!(err.to_string().contains("nothing was sent"), "{err}");
    }
}

#[tokio::test]
async fn a_resend_refused_as_a_whole_is_not_split_and_stays_unknown() {
    // A server may check a body's size before it looks its key up: the refusal does not prove
    // the first request saved nothing, and parts with new keys could create records twice.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(413).set_body_json(json!({
            "error": {"code": "payload_too_large", "message": "too big"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let outcomes = connection(&server)
        .records()
        .create_batch_with_key(&numbered(4), "k-first")
        .await;
    assert_eq!(outcomes.len(), 4);
    for outcome in &outcomes {
        assert!(outcome.outcome_unknown, "{outcome:?}");
        assert_eq!(outcome.idempotency_key.as_deref(), Some("k-first"));
        assert!(matches!(outcome.result, Err(Error::PayloadTooLarge { .. })));
    }
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].headers["idempotency-key"], "k-first");
}
