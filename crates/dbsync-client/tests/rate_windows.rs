//! The contract's "Rate-limit windows" on the client, against wiremock: `GET /v1/usage` with
//! and without the minute and hour windows, the client's own per-hour budget beside the
//! per-minute one, and an hour window's far `X-RateLimit-Reset` treated like any far reset.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::builder;
use dbsync_client::{Error, MAX_USAGE_WINDOWS, RetryPolicy, WindowKind};
use serde_json::json;
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn usage_answer(body: serde_json::Value) -> Result<dbsync_client::Usage, Error> {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/usage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    common::connection(&server).usage().await
}

#[tokio::test]
async fn usage_reports_both_windows() {
    let usage = usage_answer(json!({
        "plan": "pro", "limit_per_minute": 600, "used": 12, "remaining": 588,
        "reset_at": "2030-01-01T00:01:00Z", "limit_per_hour": 10000,
        "windows": [
            {"window": "minute", "limit": 600, "used": 12, "remaining": 588,
             "reset_at": "2030-01-01T00:01:00Z"},
            {"window": "hour", "limit": 10000, "used": 512, "remaining": 9488,
             "reset_at": "2030-01-01T01:00:00Z"}
        ]
    }))
    .await
    .unwrap();
    assert_eq!(usage.limit_per_hour, Some(10_000));
    assert_eq!(usage.windows.len(), 2);
    let hour = usage.window(&WindowKind::Hour).unwrap();
    assert_eq!(
        (hour.limit, hour.used, hour.remaining),
        (Some(10_000), Some(512), Some(9488))
    );
    assert_eq!(hour.reset_at.as_deref(), Some("2030-01-01T01:00:00Z"));
    assert_eq!(
        usage.window(&WindowKind::Minute).unwrap().remaining,
        Some(588)
    );
    // Written back as the wire has it.
    let written = serde_json::to_value(&usage).unwrap();
    assert_eq!(written["windows"][1]["window"], "hour");
}

#[tokio::test]
async fn an_old_server_or_odd_windows_still_decode() {
    let old = usage_answer(json!({"plan": "free", "limit_per_minute": 60, "used": 1,
        "remaining": 59, "reset_at": "2030-01-01T00:01:00Z"}))
    .await
    .unwrap();
    assert_eq!((old.limit_per_hour, old.windows.len()), (None, 0));
    let unlimited = usage_answer(json!({"plan": "unlimited", "limit_per_minute": null,
        "limit_per_hour": null, "windows": null}))
    .await
    .unwrap();
    assert!(unlimited.windows.is_empty());
    let odd = usage_answer(json!({"windows": [
        {"window": "day", "limit": 1},
        {"limit": null, "used": 3},
        {"window": "x".repeat(1000)}
    ]}))
    .await
    .unwrap();
    assert_eq!(odd.windows[0].window, WindowKind::Other("day".into()));
    assert_eq!(odd.windows[1].window, WindowKind::default());
    assert_eq!(odd.windows[1].used, Some(3));
    assert_eq!(odd.windows[2].window.as_str().len(), 64);
    // A server sending many windows cannot grow the answer without bound.
    let many: Vec<_> = (0..1000).map(|_| json!({"window": "minute"})).collect();
    let many = usage_answer(json!({"windows": many})).await.unwrap();
    assert_eq!(many.windows.len(), MAX_USAGE_WINDOWS);
    // A wrong shape is a decode error, not a panic.
    let err = usage_answer(json!({"windows": "minute"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"id": "1"}))
}

#[tokio::test(start_paused = true)]
async fn the_hour_budget_holds_requests_the_minute_budget_allows() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok())
        .expect(3)
        .mount(&server)
        .await;
    let connection = builder(&server)
        .requests_per_minute(100)
        .requests_per_hour(2)
        .retry(
            RetryPolicy::default()
                .max_rate_limit_wait(Duration::from_secs(3600))
                .call_deadline(None),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    connection.records().get("1").await.unwrap();
    connection.records().get("2").await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(100));
    // The minute budget has 98 left; the hour budget's next request is 30 minutes away.
    connection.records().get("3").await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited > Duration::from_secs(1799) && waited <= Duration::from_secs(1800),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_hour_budget_wait_past_the_cap_is_rate_limited_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let connection = builder(&server).requests_per_hour(1).build().unwrap();
    connection.records().get("1").await.unwrap();
    let err = connection.records().get("2").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err}");
    let wait = err.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(3500) && wait <= Duration::from_secs(3600),
        "{wait:?}"
    );
    assert!(err.to_string().contains("max_rate_limit_wait"), "{err}");
}

#[tokio::test]
async fn an_hour_windows_far_reset_pauses_only_for_the_callers_cap() {
    // The headers describe the window that runs out first; here the hour's, 50 minutes away.
    let server = MockServer::start().await;
    let in_50_minutes = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3000;
    Mock::given(method("GET"))
        .and(path("/v1/records/1"))
        .respond_with(
            ok().insert_header("X-RateLimit-Limit", "10000")
                .insert_header("X-RateLimit-Remaining", "0")
                .insert_header("X-RateLimit-Reset", in_50_minutes.to_string()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/records/2"))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let policy = RetryPolicy::default()
        .max_retry_after(Duration::from_millis(300))
        .max_rate_limit_wait(Duration::from_secs(5));
    let connection = builder(&server).retry(policy).build().unwrap();
    connection.records().get("1").await.unwrap();
    let seen = connection.last_rate_limit().unwrap();
    assert_eq!((seen.limit, seen.remaining), (Some(10_000), Some(0)));
    let started = Instant::now();
    connection.records().get("2").await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited <= Duration::from_secs(3),
        "paused for the cap, not 50 minutes nor silently not at all: {waited:?}"
    );
}
