//! Minute and hour rate-limit windows over real HTTP: the headers describe the window that runs
//! out first, `429` when either is used up with `Retry-After` to that window's reset, and
//! `GET /v1/usage` lists both windows.

mod common;

use std::time::Duration;

use dbsync_sandbox::{RateWindow, Sandbox, SandboxAuth};
use reqwest::{Client, Response, StatusCode};
use serde_json::json;

fn header(response: &Response, name: &str) -> i64 {
    response.headers()[name].to_str().unwrap().parse().unwrap()
}

async fn get(sandbox: &Sandbox, http: &Client) -> Response {
    http.get(common::url(sandbox, "/v1/records"))
        .send()
        .await
        .unwrap()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn the_hour_window_reached_first_is_the_one_described() {
    let (sandbox, http) =
        common::start(Sandbox::builder().rate_limit(10).rate_limit_per_hour(3)).await;
    for remaining in [2, 1, 0] {
        let response = get(&sandbox, &http).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "x-ratelimit-limit"), 3);
        assert_eq!(header(&response, "x-ratelimit-remaining"), remaining);
        let reset = header(&response, "x-ratelimit-reset") - unix_now();
        assert!((3590..=3601).contains(&reset), "{reset}");
    }
    let response = get(&sandbox, &http).await;
    assert_eq!(header(&response, "x-ratelimit-limit"), 3);
    assert_eq!(header(&response, "x-ratelimit-remaining"), 0);
    let retry_after = header(&response, "retry-after");
    assert!((3590..=3601).contains(&retry_after), "{retry_after}");
    let error = common::expect_error(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(error["message"].as_str().unwrap().contains("3 per hour"));
    // The minute window still had room, and the refused request was counted in neither.
    let windows = sandbox.rate_limit_windows();
    assert_eq!(windows[0].0, RateWindow::Minute);
    assert_eq!((windows[0].1.used, windows[1].1.used), (3, 3));
}

#[tokio::test]
async fn the_minute_window_is_described_while_it_is_the_tighter_one() {
    let (sandbox, http) =
        common::start(Sandbox::builder().rate_limit(2).rate_limit_per_hour(100)).await;
    let response = get(&sandbox, &http).await;
    assert_eq!(header(&response, "x-ratelimit-limit"), 2);
    assert_eq!(header(&response, "x-ratelimit-remaining"), 1);
    get(&sandbox, &http).await;
    let response = get(&sandbox, &http).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&response, "retry-after") <= 60);
    assert_eq!(header(&response, "x-ratelimit-limit"), 2);
}

#[tokio::test(start_paused = true)]
async fn after_the_minute_resets_the_hour_decides() {
    let (sandbox, http) =
        common::start(Sandbox::builder().rate_limit(2).rate_limit_per_hour(3)).await;
    get(&sandbox, &http).await;
    get(&sandbox, &http).await;
    let response = get(&sandbox, &http).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&response, "retry-after") <= 60);

    tokio::time::advance(Duration::from_secs(61)).await;
    let response = get(&sandbox, &http).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Minute: 1 left of 2; hour: 0 left of 3. The hour runs out first.
    assert_eq!(header(&response, "x-ratelimit-limit"), 3);
    assert_eq!(header(&response, "x-ratelimit-remaining"), 0);
    let response = get(&sandbox, &http).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after = header(&response, "retry-after");
    assert!((3500..=3540).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn usage_lists_both_windows() {
    let (sandbox, http) =
        common::start(Sandbox::builder().rate_limit(50).rate_limit_per_hour(1000)).await;
    let response = http
        .get(common::url(&sandbox, "/v1/usage"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let usage = common::body(response).await;
    assert_eq!(usage["plan"], "sandbox");
    assert_eq!(usage["limit_per_minute"], 50);
    assert_eq!(usage["used"], 1);
    assert_eq!(usage["remaining"], 49);
    assert_eq!(usage["limit_per_hour"], 1000);
    let windows = usage["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 2);
    assert_eq!(windows[0]["window"], "minute");
    assert_eq!(windows[0]["reset_at"], usage["reset_at"]);
    assert_eq!(windows[1]["window"], "hour");
    assert_eq!(
        (
            &windows[1]["limit"],
            &windows[1]["used"],
            &windows[1]["remaining"]
        ),
        (&json!(1000), &json!(1), &json!(999))
    );
    let mut keys: Vec<&String> = windows[1].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["limit", "remaining", "reset_at", "used", "window"]);
    let reset = dbsync_contract::timestamp::parse(windows[1]["reset_at"].as_str().unwrap());
    assert!(reset.is_some());
}

#[tokio::test]
async fn usage_without_a_minute_window_or_any_window() {
    let (sandbox, http) = common::start(Sandbox::builder().rate_limit_per_hour(5)).await;
    let usage = common::body(
        http.get(common::url(&sandbox, "/v1/usage"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(usage["plan"], "sandbox");
    assert!(usage["limit_per_minute"].is_null());
    assert_eq!(usage["limit_per_hour"], 5);
    assert_eq!(usage["windows"][0]["window"], "hour");
    assert_eq!(usage["windows"][0]["remaining"], 4);

    let (sandbox, http) = common::start(Sandbox::builder()).await;
    let usage = common::body(
        http.get(common::url(&sandbox, "/v1/usage"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(usage["plan"], "unlimited");
    assert!(usage["limit_per_hour"].is_null());
    assert_eq!(usage["windows"], json!([]));
}

#[tokio::test]
async fn failed_authentications_count_in_neither_window() {
    let auth = SandboxAuth::Bearer {
        token: "good".into(),
    };
    let (sandbox, http) = common::start(
        Sandbox::builder()
            .auth(auth)
            .rate_limit(10)
            .rate_limit_per_hour(2),
    )
    .await;
    for _ in 0..5 {
        let response = http
            .get(common::url(&sandbox, "/v1/records"))
            .bearer_auth("bad")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    for _ in 0..2 {
        let response = http
            .get(common::url(&sandbox, "/v1/records"))
            .bearer_auth("good")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
