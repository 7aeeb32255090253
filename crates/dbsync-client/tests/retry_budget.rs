//! Retries by budget (issue 13): a call retries while its deadline and the connection's retry
//! quota allow, not only up to a count; a `429` within the caps uses neither; each wait is told
//! to the wait observer. Against wiremock, on the real clock with millisecond backoffs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dbsync_client::{
    Connection, ConnectionBuilder, Error, MAX_RATE_LIMITED_RETRIES, RetryPolicy, RetryQuota,
    WaitNotice, WaitReason,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The default policy (the safety net of 50 retries) with millisecond backoffs and a deadline.
fn quick(deadline: Duration) -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(4))
        .call_deadline(deadline)
}

fn builder(server: &MockServer) -> ConnectionBuilder {
    Connection::builder()
        .base_url(server.uri())
        .retry(quick(Duration::from_secs(10)))
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"id": "1"}))
}

/// `status` answered `times` times at `at`, before anything else mounted later.
async fn answer_first(server: &MockServer, at: &str, status: u16, times: u64) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(status))
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
}

async fn answer_always(server: &MockServer, at: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn requests_to(server: &MockServer, at: &str) -> usize {
    let requests = server.received_requests().await.unwrap_or_default();
    requests.iter().filter(|r| r.url.path() == at).count()
}

#[tokio::test]
async fn failures_are_retried_beyond_the_old_count_while_the_budget_allows() {
    let server = MockServer::start().await;
    answer_first(&server, "/v1/records/1", 500, 6).await;
    answer_always(&server, "/v1/records/1", ok()).await;
    let connection = builder(&server).build().unwrap();
    let record = connection.records().get("1").await.unwrap();
    assert_eq!(record["id"], "1");
    assert_eq!(requests_to(&server, "/v1/records/1").await, 7);
}

#[tokio::test]
async fn the_quota_is_shared_by_every_call_and_bounds_their_requests() {
    let server = MockServer::start().await;
    answer_always(&server, "/v1/records/1", ResponseTemplate::new(500)).await;
    // 50 tokens at 5 per retry: 10 retries in all, whatever the number of calls.
    let connection = builder(&server)
        .retry_quota(RetryQuota::default().capacity(50))
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let records = connection.clone().records();
        tasks.push(tokio::spawn(async move { records.get("1").await }));
    }
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert!(matches!(err, Error::Server { status: 500, .. }), "{err}");
        assert!(
            err.to_string()
                .contains("the connection's retry quota is used up"),
            "{err}"
        );
    }
    assert_eq!(
        requests_to(&server, "/v1/records/1").await,
        20 + 10,
        "20 first attempts and the 10 retries the quota paid for"
    );
}

#[tokio::test]
async fn successes_refill_the_quota() {
    let server = MockServer::start().await;
    answer_always(&server, "/v1/records/bad", ResponseTemplate::new(503)).await;
    answer_always(&server, "/v1/records/good", ok()).await;
    let connection = builder(&server)
        .retry_quota(
            RetryQuota::default()
                .capacity(10)
                .retry_cost(5)
                .success_reward(5),
        )
        .build()
        .unwrap();
    let records = connection.records();
    // 10 tokens: two retries, then empty.
    assert!(records.get("bad").await.is_err());
    assert_eq!(requests_to(&server, "/v1/records/bad").await, 3);
    // Empty: no retry at all.
    let err = records.get("bad").await.unwrap_err();
    assert!(err.to_string().contains("gave up after 1 attempt"), "{err}");
    assert_eq!(requests_to(&server, "/v1/records/bad").await, 4);
    // A first-attempt success gives 5 back: one retry again.
    records.get("good").await.unwrap();
    assert!(records.get("bad").await.is_err());
    assert_eq!(requests_to(&server, "/v1/records/bad").await, 6);
}

#[tokio::test]
async fn without_a_quota_the_retry_count_is_the_bound() {
    let server = MockServer::start().await;
    answer_always(&server, "/v1/records/1", ResponseTemplate::new(500)).await;
    let connection = builder(&server)
        .retry(quick(Duration::from_secs(10)).max_retries(4))
        .retry_quota(None)
        .build()
        .unwrap();
    let err = connection.records().get("1").await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("gave up after 5 attempts"), "{text}");
    assert!(text.contains("its limit of 4 retries is used up"), "{text}");
    assert_eq!(requests_to(&server, "/v1/records/1").await, 5);
}

#[tokio::test]
async fn a_429_within_the_caps_uses_neither_retries_nor_quota() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/records/1"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(3)
        .expect(3)
        .mount(&server)
        .await;
    answer_always(&server, "/v1/records/1", ok()).await;
    // Two retries at most and a quota that cannot pay for any: the 429s are not failures.
    let connection = builder(&server)
        .retry(quick(Duration::from_secs(10)).max_retries(2))
        .retry_quota(RetryQuota::default().capacity(0))
        .build()
        .unwrap();
    let record = connection.records().get("1").await.unwrap();
    assert_eq!(record["id"], "1");
    assert_eq!(requests_to(&server, "/v1/records/1").await, 4);
}

#[tokio::test]
async fn a_server_answering_429_forever_is_bounded() {
    let server = MockServer::start().await;
    let zero = ResponseTemplate::new(429).insert_header("Retry-After", "0");
    answer_always(&server, "/v1/records/1", zero).await;
    let connection = builder(&server)
        .retry(quick(Duration::from_secs(20)).call_deadline(None))
        .build()
        .unwrap();
    let err = connection.records().get("1").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err}");
    assert!(
        err.to_string().contains("the most one call retries"),
        "{err}"
    );
    let limit = usize::try_from(MAX_RATE_LIMITED_RETRIES).unwrap();
    assert_eq!(requests_to(&server, "/v1/records/1").await, limit + 1);
}

#[tokio::test]
async fn the_deadline_ends_retries_with_the_last_error() {
    let server = MockServer::start().await;
    answer_always(&server, "/v1/records/1", ResponseTemplate::new(503)).await;
    let policy = RetryPolicy::default()
        .initial_backoff(Duration::from_millis(40))
        .max_backoff(Duration::from_millis(80))
        .call_deadline(Duration::from_millis(500));
    let connection = builder(&server).retry(policy).build().unwrap();
    let started = Instant::now();
    let err = connection.records().get("1").await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err}");
    assert!(
        err.to_string()
            .contains("another retry would end past its deadline of 500 ms"),
        "{err}"
    );
    assert!(requests_to(&server, "/v1/records/1").await >= 3);
}

#[tokio::test]
async fn a_429_wait_past_the_deadline_fails_at_once() {
    let server = MockServer::start().await;
    answer_always(
        &server,
        "/v1/records/1",
        ResponseTemplate::new(429).insert_header("Retry-After", "30"),
    )
    .await;
    let connection = builder(&server)
        .retry(quick(Duration::from_secs(2)))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = connection.records().get("1").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(err.is_timeout(), "{err}");
    assert_eq!(requests_to(&server, "/v1/records/1").await, 1);
}

#[tokio::test]
async fn the_wait_observer_hears_each_wait_in_whole_units() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/records/1"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    answer_first(&server, "/v1/records/1", 500, 1).await;
    answer_always(&server, "/v1/records/1", ok()).await;
    let heard: Arc<Mutex<Vec<WaitNotice>>> = Arc::default();
    let ear = Arc::clone(&heard);
    let connection = builder(&server)
        .on_wait(move |notice| ear.lock().unwrap().push(notice.clone()))
        .build()
        .unwrap();
    connection.records().get("1").await.unwrap();
    let heard = heard.lock().unwrap();
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert_eq!(heard[0].wait, Duration::from_secs(1));
    assert_eq!(heard[0].reason, WaitReason::RetryAfter);
    assert_eq!(heard[0].call, "GET /v1/records/{id}");
    assert_eq!(
        heard[0].to_string(),
        "waiting 1 s (the server asked us to slow down: 429 Retry-After)"
    );
    assert_eq!(heard[1].reason, WaitReason::FailureBackoff);
    assert!(heard[1].wait <= Duration::from_millis(4));
    assert!(
        heard[1]
            .to_string()
            .ends_with(" ms (backing off before retrying a failed request)")
    );
}

#[tokio::test]
async fn a_deadline_passing_during_a_retry_reports_the_failure_it_retried() {
    let server = MockServer::start().await;
    answer_first(&server, "/v1/records/1", 503, 1).await;
    answer_always(
        &server,
        "/v1/records/1",
        ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
    )
    .await;
    let connection = builder(&server)
        .retry(quick(Duration::from_millis(300)))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = connection.records().get("1").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("gave up after 1 attempt in "), "{text}");
    assert!(
        text.contains("its deadline of 300 ms passed during the next one"),
        "{text}"
    );
}

#[tokio::test]
async fn a_429_naming_no_wait_counts_as_a_failed_attempt() {
    let server = MockServer::start().await;
    let garbage = ResponseTemplate::new(429).insert_header("Retry-After", "soon");
    answer_always(&server, "/v1/records/1", garbage).await;
    let connection = builder(&server)
        .retry(quick(Duration::from_secs(10)).max_retries(1))
        .build()
        .unwrap();
    let err = connection.records().get("1").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err}");
    assert!(err.to_string().contains("its limit of 1 retries"), "{err}");
    assert_eq!(requests_to(&server, "/v1/records/1").await, 2);
}
