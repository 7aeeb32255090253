//! Auth modes, rate limiting, fault injection and the binary, over real HTTP.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use dbsync_sandbox::{Faults, Sandbox, SandboxAuth, Scopes, TokenVerifier, secrets_equal};
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::json;

/// One request per kind of endpoint (and an unknown route).
fn every_endpoint(http: &Client, base: &str) -> Vec<RequestBuilder> {
    let body = person(900);
    vec![
        http.get(format!("{base}/v1/records")),
        http.get(format!("{base}/v1/records/1")),
        http.post(format!("{base}/v1/records")).json(&body),
        http.put(format!("{base}/v1/records/1"))
            .json(&json!({"age": 33})),
        http.delete(format!("{base}/v1/records/2")),
        http.post(format!("{base}/v1/records/batch"))
            .json(&json!({"records": [body]})),
        http.put(format!("{base}/v1/records/batch"))
            .json(&json!({"records": [{"id": 1}]})),
        http.get(format!("{base}/v1/records/schema")),
        http.get(format!("{base}/v1/other")),
        http.get(format!("{base}/no/such/route")),
        http.request(Method::PATCH, format!("{base}/v1/records/1")),
    ]
}

async fn assert_all_unauthorized(
    sb: &Sandbox,
    http: &Client,
    auth: impl Fn(RequestBuilder) -> RequestBuilder,
    challenge: &str,
) {
    for request in every_endpoint(http, sb.base_url()) {
        let response = auth(request).send().await.unwrap();
        let url = response.url().clone();
        assert_eq!(response.headers()["www-authenticate"], challenge, "{url}");
        expect_error(response, StatusCode::UNAUTHORIZED).await;
    }
    assert_eq!(
        sb.record_count("records"),
        3,
        "nothing written without credentials"
    );
}

async fn assert_all_pass(
    sb: &Sandbox,
    http: &Client,
    auth: impl Fn(RequestBuilder) -> RequestBuilder,
) {
    for request in every_endpoint(http, sb.base_url()) {
        let response = auth(request).send().await.unwrap();
        assert_ne!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{}",
            response.url()
        );
    }
}

#[tokio::test]
async fn basic_auth() {
    let auth = SandboxAuth::Basic {
        username: "ann".into(),
        password: "s3cret".into(),
    };
    let (sb, http) = start(Sandbox::builder().auth(auth).seed_records(3)).await;
    let challenge = "Basic realm=\"dbsync\"";
    assert_all_unauthorized(&sb, &http, |r| r, challenge).await;
    assert_all_unauthorized(
        &sb,
        &http,
        |r| r.basic_auth("ann", Some("wrong")),
        challenge,
    )
    .await;
    assert_all_unauthorized(
        &sb,
        &http,
        |r| r.basic_auth("bob", Some("s3cret")),
        challenge,
    )
    .await;
    assert_all_unauthorized(&sb, &http, |r| r.bearer_auth("s3cret"), challenge).await;
    assert_all_unauthorized(
        &sb,
        &http,
        |r| r.header("authorization", "Basic !!!"),
        challenge,
    )
    .await;
    assert_all_pass(&sb, &http, |r| r.basic_auth("ann", Some("s3cret"))).await;
}

#[tokio::test]
async fn bearer_auth_with_runtime_tokens() {
    let (sb, http) = start(
        Sandbox::builder()
            .auth(SandboxAuth::Bearer {
                token: "demo".into(),
            })
            .seed_records(3),
    )
    .await;
    assert_all_unauthorized(&sb, &http, |r| r, "Bearer").await;
    assert_all_unauthorized(&sb, &http, |r| r.bearer_auth("demo2"), "Bearer").await;
    assert_all_unauthorized(&sb, &http, |r| r.bearer_auth("dem"), "Bearer").await;
    assert_all_unauthorized(&sb, &http, |r| r.basic_auth("demo", Some("demo")), "Bearer").await;
    assert_all_unauthorized(&sb, &http, |r| r.bearer_auth("api-key-1"), "Bearer").await;

    struct ApiKey;
    impl TokenVerifier for ApiKey {
        fn verify(&self, token: &str) -> Option<Scopes> {
            secrets_equal(token, "api-key-1").then_some(Scopes::all())
        }
    }
    sb.add_token_verifier(Arc::new(ApiKey));
    let r = http
        .get(url(&sb, "/v1/records"))
        .bearer_auth("api-key-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_all_pass(&sb, &http, |r| r.bearer_auth("demo")).await;
}

#[tokio::test]
async fn oauth2_mode_refuses_the_client_secret_as_a_token() {
    let auth = SandboxAuth::OAuth2 {
        client_id: "cid".into(),
        client_secret: "csecret".into(),
    };
    let (sb, http) = start(Sandbox::builder().auth(auth).seed_records(3)).await;
    assert_all_unauthorized(&sb, &http, |r| r, "Bearer").await;
    assert_all_unauthorized(&sb, &http, |r| r.bearer_auth("csecret"), "Bearer").await;
    assert_all_unauthorized(
        &sb,
        &http,
        |r| r.basic_auth("cid", Some("csecret")),
        "Bearer",
    )
    .await;
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output() {
    let builder = Sandbox::builder()
        .auth(SandboxAuth::Bearer {
            token: "tok-very-secret".into(),
        })
        .seed_records(2);
    assert!(!format!("{builder:?}").contains("tok-very-secret"));
    let sb = builder.start().await.unwrap();
    let http = Client::new();
    http.post(url(&sb, "/v1/keys"))
        .bearer_auth("tok-very-secret")
        .header("Idempotency-Key", "k")
        .json(&json!({"key": "created-secret"}))
        .send()
        .await
        .unwrap();
    let printed = format!("{sb:?}");
    assert!(printed.contains(sb.base_url()), "{printed}");
    assert!(
        !printed.contains("tok-very-secret") && !printed.contains("created-secret"),
        "{printed}"
    );
    let basic = SandboxAuth::Basic {
        username: "u".into(),
        password: "pw-secret".into(),
    };
    assert!(!format!("{:?}", Sandbox::builder().auth(basic)).contains("pw-secret"));
}

#[tokio::test]
async fn no_auth_mode_accepts_anything() {
    let (sb, http) = start(Sandbox::builder().seed_records(3)).await;
    assert_all_pass(&sb, &http, |r| r).await;
    assert_all_pass(&sb, &http, |r| r.bearer_auth("whatever")).await;
}

#[tokio::test]
async fn rate_limit_headers_and_429() {
    let (sb, http) = start(Sandbox::builder().rate_limit(3)).await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = http.get(url(&sb, "/v1/records")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["x-ratelimit-limit"], "3");
        let reset: i64 = r.headers()["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(reset > 1_700_000_000);
        remaining.push(
            r.headers()["x-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let r = http
        .post(url(&sb, "/v1/records"))
        .json(&person(1))
        .send()
        .await
        .unwrap();
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    expect_error(r, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(
        sb.record_count("records"),
        0,
        "a limited create does nothing"
    );
    // Unknown routes are counted and limited too.
    let r = http.get(url(&sb, "/nope")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        sb.rate_limit().map(|s| (s.limit, s.remaining)),
        Some((3, 0))
    );
    // Without a limit there are no headers.
    let (free, _) = start(Sandbox::builder()).await;
    let r = http.get(url(&free, "/v1/records")).send().await.unwrap();
    assert!(r.headers().get("x-ratelimit-limit").is_none());
}

#[tokio::test(start_paused = true)]
async fn rate_limit_window_resets_after_a_minute() {
    let (sb, http) = start(Sandbox::builder().rate_limit(1)).await;
    let first = http.get(url(&sb, "/v1/records")).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let limited = http.get(url(&sb, "/v1/records")).send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    tokio::time::advance(Duration::from_secs(61)).await;
    let again = http.get(url(&sb, "/v1/records")).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["x-ratelimit-remaining"], "0");
}

#[tokio::test(start_paused = true)]
async fn idempotency_keys_expire_after_a_day() {
    let (sb, http) = start(Sandbox::builder()).await;
    let post = || {
        http.post(url(&sb, "/v1/notes"))
            .header("Idempotency-Key", "day")
            .json(&json!({"a": 1}))
            .send()
    };
    post().await.unwrap();
    tokio::time::advance(Duration::from_secs(23 * 3600)).await;
    assert_eq!(
        post().await.unwrap().headers()["idempotent-replayed"],
        "true"
    );
    assert_eq!(sb.record_count("notes"), 1);
    tokio::time::advance(Duration::from_secs(2 * 3600)).await;
    let fresh = post().await.unwrap();
    assert!(fresh.headers().get("idempotent-replayed").is_none());
    assert_eq!(sb.record_count("notes"), 2);
}

fn faulty(faults: Faults) -> dbsync_sandbox::SandboxBuilder {
    Sandbox::builder().faults(faults)
}

#[tokio::test]
async fn injected_500_creates_nothing() {
    let (sb, http) = start(faulty(Faults {
        seed: 1,
        error_rate: 1.0,
        ..Faults::default()
    }))
    .await;
    let r = http
        .post(url(&sb, "/v1/records"))
        .json(&person(1))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::INTERNAL_SERVER_ERROR).await;
    let r = http
        .post(url(&sb, "/v1/records/batch"))
        .json(&json!({"records": [person(2)]}))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::INTERNAL_SERVER_ERROR).await;
    assert_eq!(sb.record_count("records"), 0);
}

#[tokio::test]
async fn every_nth_request_is_429() {
    let faults = Faults {
        every_nth_429: Some(3),
        retry_after_secs: 2,
        ..Faults::default()
    };
    let (sb, http) = start(faulty(faults)).await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let r = http
            .post(url(&sb, "/v1/records"))
            .json(&person(i))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(r.headers()["retry-after"], "2");
        }
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [201, 201, 429, 201, 201, 429]);
    assert_eq!(sb.record_count("records"), 4);
}

#[tokio::test]
async fn dropped_connection_creates_nothing() {
    let (sb, http) = start(faulty(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    }))
    .await;
    let outcome = match http
        .post(url(&sb, "/v1/records"))
        .json(&person(1))
        .send()
        .await
    {
        Err(error) => Err(error),
        Ok(response) => response.bytes().await.map(|_| ()),
    };
    assert!(outcome.is_err(), "the client sees a broken response");
    assert_eq!(sb.record_count("records"), 0);
}

#[tokio::test]
async fn truncated_body_creates_nothing() {
    let (sb, http) = start(faulty(Faults {
        truncate_rate: 1.0,
        ..Faults::default()
    }))
    .await;
    let response = http
        .post(url(&sb, "/v1/records"))
        .json(&person(1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let declared: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(declared > 10);
    assert!(response.bytes().await.is_err(), "body cut short");
    assert_eq!(sb.record_count("records"), 0);
}

#[tokio::test]
async fn lost_responses_act_exactly_once() {
    let faults = Faults {
        seed: 3,
        lost_response_rate: 1.0,
        ..Faults::default()
    };
    let (sb, http) = start(faulty(faults)).await;
    let mut saw = (false, false);
    for i in 0..8 {
        let key = format!("key-{i}");
        for _attempt in 0..2 {
            let sent = http
                .post(url(&sb, "/v1/records"))
                .header("Idempotency-Key", &key)
                .json(&person(i))
                .send()
                .await;
            match sent {
                Err(_) => saw.0 = true,
                Ok(response) => {
                    assert_eq!(response.status(), StatusCode::CREATED);
                    assert!(response.bytes().await.is_err(), "body must be cut short");
                    saw.1 = true;
                }
            }
        }
        assert_eq!(
            sb.record_count("records"),
            i + 1,
            "the server acted once per key"
        );
    }
    assert!(
        saw.0 && saw.1,
        "both dropped and truncated lost responses happen: {saw:?}"
    );
}

#[tokio::test]
async fn lost_response_without_key_duplicates_on_retry() {
    let (sb, http) = start(faulty(Faults {
        lost_response_rate: 1.0,
        ..Faults::default()
    }))
    .await;
    for _ in 0..2 {
        let _ = http
            .post(url(&sb, "/v1/notes"))
            .json(&json!({"a": 1}))
            .send()
            .await;
    }
    assert_eq!(
        sb.record_count("notes"),
        2,
        "this is why creates need an Idempotency-Key"
    );
}

#[tokio::test(start_paused = true)]
async fn slow_responses_and_latency() {
    let faults = Faults {
        slow_rate: 1.0,
        slow_delay: Duration::from_secs(30),
        latency: Duration::from_secs(2),
        ..Faults::default()
    };
    let (sb, http) = start(faulty(faults)).await;
    let before = tokio::time::Instant::now();
    let r = http.get(url(&sb, "/v1/records")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        before.elapsed() >= Duration::from_secs(32),
        "{:?}",
        before.elapsed()
    );

    let (sb, http) = start(Sandbox::builder().latency(Duration::from_secs(5))).await;
    let before = tokio::time::Instant::now();
    let r = http.get(url(&sb, "/v1/records")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(before.elapsed() >= Duration::from_secs(5));
}

#[tokio::test]
async fn fault_schedule_is_deterministic() {
    let faults = Faults {
        seed: 11,
        error_rate: 0.5,
        ..Faults::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (sb, http) = start(faulty(faults.clone())).await;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(
                http.get(url(&sb, "/v1/records"))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&500) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let (sb, http) = start(Sandbox::builder()).await;
    let base = sb.base_url().to_string();
    assert!(http.get(format!("{base}/v1/records")).send().await.is_ok());
    sb.shutdown().await;
    assert!(
        Client::new()
            .get(format!("{base}/v1/records"))
            .send()
            .await
            .is_err()
    );

    let sb = Sandbox::builder().start().await.unwrap();
    let base = sb.base_url().to_string();
    assert!(base.starts_with("http://127.0.0.1:"));
    drop(sb);
    let mut stopped = false;
    for _ in 0..100 {
        if Client::new()
            .get(format!("{base}/v1/records"))
            .send()
            .await
            .is_err()
        {
            stopped = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(stopped);
}

#[test]
fn binary_prints_url_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbsync-sandbox"))
        .args([
            "--port",
            "0",
            "--auth",
            "bearer",
            "--token",
            "demo",
            "--records",
            "5",
            "--show-secrets",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines.next().unwrap().unwrap();
    let credentials = lines.next().unwrap().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(credentials.contains("token=demo"), "{credentials}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = Client::new();
        let r = http
            .get(format!("{base}/v1/records"))
            .bearer_auth("demo")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(body(r).await["meta"]["total"], 5);
        let r = http.get(format!("{base}/v1/records")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    });
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}

#[tokio::test]
async fn failed_authentications_do_not_use_up_the_rate_limit() {
    let auth = SandboxAuth::Basic {
        username: "ann".into(),
        password: "s3cret".into(),
    };
    let (sb, http) = start(Sandbox::builder().auth(auth).rate_limit(2)).await;
    for _ in 0..5 {
        let r = http
            .get(url(&sb, "/v1/records"))
            .basic_auth("ann", Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()["x-ratelimit-remaining"], "2");
    }
    for remaining in ["1", "0"] {
        let r = http
            .get(url(&sb, "/v1/records"))
            .basic_auth("ann", Some("s3cret"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "the budget is the caller's, whole"
        );
        assert_eq!(r.headers()["x-ratelimit-remaining"], remaining);
    }
}
