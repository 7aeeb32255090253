//! The shared client-side budget, the `429` pause every task honours, pacing from
//! `X-RateLimit-*`, the cap on rate-limit waits and the call deadline, on tokio's paused clock.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::builder;
use dbsync_client::{ConnectionSettings, Error, RetryPolicy};
use serde_json::{Value, json};
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"id": "1"}))
}

/// Answers one `GET` of `at` with `response`, and expects exactly one.
async fn answer_once(server: &MockServer, at: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_429_pauses_every_task_using_the_connection() {
    let server = MockServer::start().await;
    answer_once(
        &server,
        "/v1/a/1",
        ResponseTemplate::new(429).insert_header("Retry-After", "2"),
    )
    .await;
    answer_once(&server, "/v1/b/1", ok()).await;
    let policy = RetryPolicy::none().call_deadline(None); // no timer for the paused clock
    let connection = builder(&server).retry(policy).build().unwrap();
    let a = connection.resource::<Value>("a").unwrap();
    let first = tokio::spawn(async move { a.get("1").await }).await.unwrap();
    assert!(matches!(first, Err(Error::RateLimited { .. })));

    // Another task, on a clone, never got a 429 itself, yet waits out the pause.
    let b = connection.clone().resource::<Value>("b").unwrap();
    let started = Instant::now();
    let second = tokio::spawn(async move { b.get("1").await }).await.unwrap();
    assert!(second.is_ok());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1_900) && waited <= Duration::from_secs(2),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn nothing_remaining_holds_requests_until_the_reset() {
    let server = MockServer::start().await;
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3;
    answer_once(
        &server,
        "/v1/a/1",
        ok().insert_header("X-RateLimit-Limit", "10")
            .insert_header("X-RateLimit-Remaining", "0")
            .insert_header("X-RateLimit-Reset", reset.to_string()),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/v1/b/1"))
        .respond_with(ok().insert_header("X-RateLimit-Remaining", "9"))
        .expect(2)
        .mount(&server)
        .await;
    let connection = builder(&server).build().unwrap();
    connection
        .resource::<Value>("a")
        .unwrap()
        .get("1")
        .await
        .unwrap();
    let started = Instant::now();
    let b = connection.resource::<Value>("b").unwrap();
    b.get("1").await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited > Duration::from_secs(1) && waited <= Duration::from_secs(3),
        "waited {waited:?} for a reset about 2-3 s away"
    );
    // Remaining > 0: no pause.
    let started = Instant::now();
    b.get("1").await.unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn past_the_wait_cap_the_call_ends_rate_limited_with_the_wait() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "5"))
        .expect(2)
        .mount(&server)
        .await;
    let policy = common::quick_retries()
        .max_retries(10)
        .max_rate_limit_wait(Duration::from_secs(8));
    let connection = builder(&server).retry(policy).build().unwrap();
    let started = Instant::now();
    let err = connection.records().get("1").await.unwrap_err();
    match &err {
        Error::RateLimited {
            retry_after,
            message,
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(5)));
            assert!(message.contains("cap of 8 s"), "{message}");
        }
        other => panic!("expected RateLimited, got {other}"),
    }
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(5),
        "one wait, not two"
    );
}

/// On the real clock (a paused clock would jump to the deadline while a request is on the
/// wire): the deadline covers the retries and their backoffs. When another backoff would end
/// past it, the call fails with its last error, naming the deadline (issue 13; it was a
/// timeout error that hid the last answer).
#[tokio::test]
async fn past_the_deadline_the_call_fails_with_its_last_error_naming_the_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2..)
        .mount(&server)
        .await;
    let policy = RetryPolicy::default()
        .max_retries(1_000)
        .initial_backoff(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(40))
        .call_deadline(Duration::from_millis(400));
    let connection = builder(&server).retry(policy).build().unwrap();
    let err = connection.records().get("1").await.unwrap_err();
    match &err {
        Error::Server { status, message } => {
            assert_eq!(*status, 503);
            assert!(
                message.contains("another retry would end past its deadline of 400 ms"),
                "{message}"
            );
        }
        other => panic!("expected the last 503, got {other}"),
    }
    assert!(err.is_retryable());
}

/// An auth strategy whose renewal after a `401` takes 5 s (a slow token endpoint), and which
/// notes when a renewal got to the end.
#[derive(Debug, Default)]
struct SlowRenewal {
    renewed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait::async_trait]
impl dbsync_auth::Auth for SlowRenewal {
    async fn authorize(
        &self,
        request: &mut dbsync_auth::AuthRequest<'_>,
    ) -> Result<(), dbsync_auth::AuthError> {
        request.set_header("authorization", "Bearer old")
    }
    async fn on_unauthorized(&self) -> Result<bool, dbsync_auth::AuthError> {
        tokio::time::sleep(Duration::from_secs(5)).await;
        self.renewed
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(true)
    }
    fn scheme(&self) -> &'static str {
        "slow"
    }
}

/// On the real clock, like the test above.
#[tokio::test]
async fn a_renewal_after_a_401_stays_within_the_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let policy = RetryPolicy::default().call_deadline(Duration::from_millis(400));
    let auth = SlowRenewal::default();
    let renewed = auth.renewed.clone();
    let connection = builder(&server).auth(auth).retry(policy).build().unwrap();
    let err = connection.records().get("1").await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(
        err.to_string().contains("deadline of 400 ms passed"),
        "{err}"
    );
    // The call ended at its deadline, in the middle of the renewal, not after it.
    assert!(
        !renewed.load(std::sync::atomic::Ordering::SeqCst),
        "the call waited for the renewal past its deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_answer_is_cut_at_the_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok().set_delay(Duration::from_secs(3_600)))
        .mount(&server)
        .await;
    let policy = RetryPolicy::default().call_deadline(Duration::from_secs(4));
    let connection = builder(&server).retry(policy).build().unwrap();
    let started = Instant::now();
    let err = connection.records().get("1").await.unwrap_err();
    assert!(err.to_string().contains("deadline"), "{err}");
    assert_eq!(started.elapsed(), Duration::from_secs(4));
}

#[tokio::test(start_paused = true)]
async fn the_settings_budget_is_shared_by_every_clone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok())
        .expect(61)
        .mount(&server)
        .await;
    let settings = ConnectionSettings::from_json(&format!(
        r#"{{"api_url": "{}", "auth": {{"type": "none"}}, "rate_limit": {{"requests_per_minute": 60}}}}"#,
        server.uri()
    ))
    .unwrap();
    let connection = settings
        .builder_with_env(&|_| None)
        .unwrap()
        .timeout(None)
        .connect_timeout(None)
        .pool_idle_timeout(None)
        .retry(RetryPolicy::default().call_deadline(None)) // no timer for the paused clock
        .build()
        .unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..4 {
        let records = connection.clone().records();
        tasks.push(tokio::spawn(async move {
            for n in 0..15 {
                records.get(&format!("{task}-{n}")).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // The whole minute's budget (60) goes out at once...
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    // ...and the 61st request, from any clone, waits for the next slot (one per second).
    connection.records().get("last").await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited <= Duration::from_secs(1),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_budget_wait_past_the_cap_is_rate_limited_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let connection = builder(&server)
        .requests_per_minute(1)
        .retry(
            RetryPolicy::default()
                .call_deadline(None)
                .max_rate_limit_wait(Duration::from_secs(30)),
        )
        .build()
        .unwrap();
    connection.records().get("1").await.unwrap();
    let err = connection.records().get("2").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err}");
    let wait = err.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(30) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
}

#[tokio::test]
async fn absurd_retry_after_and_reset_headers_are_errors_not_panics() {
    let server = MockServer::start().await;
    answer_once(
        &server,
        "/v1/a/1",
        ResponseTemplate::new(429).insert_header("Retry-After", u64::MAX.to_string()),
    )
    .await;
    answer_once(
        &server,
        "/v1/b/1",
        ok().insert_header("X-RateLimit-Remaining", "0")
            .insert_header("X-RateLimit-Reset", u64::MAX.to_string()),
    )
    .await;
    // A deadline too long to add to the clock is no deadline, not a panic. The absurd reset is
    // not ignored: it pauses the connection for the longest server wait allowed (kept short).
    let policy = RetryPolicy::default()
        .call_deadline(Duration::MAX)
        .max_retry_after(Duration::from_millis(200));
    let connection = builder(&server).retry(policy).build().unwrap();
    let b = connection.resource::<Value>("b").unwrap();
    assert!(b.get("1").await.is_ok());
    let a = connection.resource::<Value>("a").unwrap();
    let err = a.get("1").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
}

#[tokio::test]
async fn a_retry_after_of_a_day_pauses_the_connection_only_for_the_callers_cap() {
    let server = MockServer::start().await;
    answer_once(
        &server,
        "/v1/records/1",
        ResponseTemplate::new(429).insert_header("Retry-After", "86400"),
    )
    .await;
    answer_once(&server, "/v1/records/2", ok()).await;
    let policy = RetryPolicy::default().max_retry_after(Duration::from_millis(300));
    let connection = builder(&server).retry(policy).build().unwrap();
    // The call told to wait a day ends at once: it may not wait that long.
    let err = connection.records().get("1").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    // The next call waits the caller's cap at most, then goes (it used to fail at once: the
    // whole connection was paused for the day).
    let started = Instant::now();
    connection.records().get("2").await.unwrap();
    assert!(
        started.elapsed() <= Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_far_rate_limit_reset_pauses_only_for_the_callers_cap() {
    let server = MockServer::start().await;
    let in_a_day = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 86_400;
    answer_once(
        &server,
        "/v1/records/1",
        ok().insert_header("X-RateLimit-Remaining", "0")
            .insert_header("X-RateLimit-Reset", in_a_day.to_string()),
    )
    .await;
    answer_once(&server, "/v1/records/2", ok()).await;
    let policy = RetryPolicy::default()
        .max_retry_after(Duration::from_millis(300))
        .max_rate_limit_wait(Duration::from_secs(5));
    let connection = builder(&server).retry(policy).build().unwrap();
    connection.records().get("1").await.unwrap();
    let started = Instant::now();
    connection.records().get("2").await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited <= Duration::from_secs(3),
        "paused for the cap, not the day nor two minutes: {waited:?}"
    );
}
