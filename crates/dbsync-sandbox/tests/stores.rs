//! Every store of the sandbox is capped and swept: OAuth tokens and codes, workflow runs, the
//! idempotency cache, and the bytes of a list page (checked end to end with the client's
//! scans, which must lose and repeat nothing over pages cut short).

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dbsync_client::{Connection, Query, ScanMode, ScanOptions};
use dbsync_sandbox::{Sandbox, SandboxAuth, SandboxBuilder, StoreLimits};
use futures::TryStreamExt as _;
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CLIENT_ID: &str = "stores-client";
const CLIENT_SECRET: &str = "stores-secret-0123456789";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// Not checked against docs/openapi.yaml by itself: the caller wraps it in `common::checked`.
fn oauth(limits: StoreLimits) -> SandboxBuilder {
    Sandbox::builder()
        .auth(SandboxAuth::OAuth2 {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        })
        .store_limits(limits)
}

/// No connection pool: no idle timers for the paused clock to jump to; no redirects followed.
fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

async fn token(sandbox: &Sandbox, pairs: &[(&str, &str)]) -> (StatusCode, Option<u64>, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let response = client()
        .post(sandbox.token_url())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("token request");
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (status, retry_after, common::body(response).await)
}

async fn client_credentials(sandbox: &Sandbox) -> (StatusCode, Option<u64>, Value) {
    token(sandbox, &[("grant_type", "client_credentials")]).await
}

/// The authorize endpoint's status and the `Location` it redirects to, if any.
async fn authorize(sandbox: &Sandbox, redirect: &str) -> (StatusCode, Option<String>) {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", redirect),
            ("state", "s"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let response = client()
        .get(format!("{}?{query}", sandbox.authorize_url()))
        .send()
        .await
        .expect("authorize");
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (response.status(), location)
}

fn query_param(location: &str, name: &str) -> Option<String> {
    url::Url::parse(location)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn code_exchanged(sandbox: &Sandbox) -> Value {
    let (_, location) = authorize(sandbox, REDIRECT).await;
    let code = query_param(&location.expect("a redirect"), "code").expect("a code");
    let (status, _, body) = token(
        sandbox,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test(start_paused = true)]
async fn client_credentials_refresh_tokens_and_used_codes_are_swept() {
    let sandbox = common::checked(oauth(StoreLimits::default()))
        .start()
        .await
        .unwrap();
    for _ in 0..60 {
        assert_eq!(client_credentials(&sandbox).await.0, StatusCode::OK);
    }
    for _ in 0..5 {
        code_exchanged(&sandbox).await;
    }
    let usage = sandbox.store_usage();
    assert_eq!(usage.refresh_tokens.entries, 65);
    assert_eq!(usage.used_codes.entries, 5);
    // Past the refresh tokens' lifetime (24 h) and everything a code produced: a few new
    // grants sweep all of them.
    tokio::time::advance(Duration::from_secs(26 * 3600)).await;
    for _ in 0..3 {
        code_exchanged(&sandbox).await;
    }
    let usage = sandbox.store_usage();
    assert_eq!(usage.refresh_tokens.entries, 3, "{usage:?}");
    assert_eq!(usage.access_tokens.entries, 3, "{usage:?}");
    assert_eq!(usage.used_codes.entries, 3, "{usage:?}");
    assert_eq!(usage.pending_codes.entries, 0, "{usage:?}");
}

#[tokio::test(start_paused = true)]
async fn a_full_token_store_refuses_with_503_and_keeps_every_live_token() {
    let mut limits = StoreLimits::default();
    limits.max_access_tokens = 5;
    let sandbox = common::checked(oauth(limits)).start().await.unwrap();
    let mut tokens = Vec::new();
    for _ in 0..5 {
        let (status, _, body) = client_credentials(&sandbox).await;
        assert_eq!(status, StatusCode::OK);
        tokens.push(body["access_token"].as_str().unwrap().to_owned());
    }
    let (status, retry_after, body) = client_credentials(&sandbox).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body.get("access_token").is_none());
    // The oldest token is swept an hour after it expires (one hour): two hours.
    assert_eq!(retry_after, Some(7200));
    for token in &tokens {
        let response = client()
            .get(format!("{}/v1/records", sandbox.base_url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    tokio::time::advance(Duration::from_secs(7201)).await;
    assert_eq!(client_credentials(&sandbox).await.0, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn pending_codes_are_capped_and_expire() {
    let mut limits = StoreLimits::default();
    limits.max_pending_codes = 3;
    let sandbox = common::checked(oauth(limits)).start().await.unwrap();
    for _ in 0..3 {
        let (status, location) = authorize(&sandbox, REDIRECT).await;
        assert_eq!(status, StatusCode::FOUND);
        assert!(query_param(&location.unwrap(), "code").is_some());
    }
    let (status, location) = authorize(&sandbox, REDIRECT).await;
    assert_eq!(status, StatusCode::FOUND);
    let location = location.unwrap();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("temporarily_unavailable")
    );
    assert!(query_param(&location, "code").is_none());
    assert_eq!(sandbox.store_usage().pending_codes.entries, 3);
    // Codes live a minute.
    tokio::time::advance(Duration::from_secs(61)).await;
    code_exchanged(&sandbox).await;
}

#[tokio::test]
async fn a_flood_of_authorize_calls_stays_within_the_caps() {
    let mut limits = StoreLimits::default();
    limits.max_pending_code_bytes = 16 * 1024;
    let sandbox = common::checked(oauth(limits)).start().await.unwrap();
    // 60 KB URIs: refused outright, nothing kept.
    let huge = format!("http://127.0.0.1:9/{}", "a".repeat(60_000));

    for _ in 0..50 {
        let (status, location) = authorize(&sandbox, &huge).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(location.is_none());
    }
    assert_eq!(sandbox.store_usage().pending_codes.entries, 0);
    // URIs just under the length cap: kept until the byte cap, then refused.
    let long = format!("http://127.0.0.1:9/{}", "b".repeat(2000));
    let mut issued = 0;
    for _ in 0..20 {
        let (_, location) = authorize(&sandbox, &long).await;
        if query_param(&location.expect("a redirect"), "code").is_some() {
            issued += 1;
        }
    }
    let usage = sandbox.store_usage().pending_codes;
    assert!(usage.bytes <= 16 * 1024, "{usage:?}");
    // About 2,060 bytes each (the URI and the PKCE challenge): seven fit in 16 KiB.
    assert_eq!(issued, 7);
    assert_eq!(usage.entries, issued);
}

async fn trigger(sandbox: &Sandbox, input: &Value) -> (StatusCode, Option<u64>, Value) {
    let response = client()
        .post(format!(
            "{}/v1/workflows/wf_sync_contacts/runs",
            sandbox.base_url()
        ))
        .json(input)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (status, retry_after, common::body(response).await)
}

#[tokio::test(start_paused = true)]
async fn workflow_runs_are_capped_in_count_and_bytes_and_swept_after_retention() {
    let mut limits = StoreLimits::default();
    limits.max_runs = 3;
    limits.max_run_input_bytes = 1000;
    limits.run_retention = Duration::from_secs(10);
    let sandbox = common::checked(Sandbox::builder())
        .workflow_duration(Duration::from_secs(2))
        .store_limits(limits)
        .start()
        .await
        .unwrap();
    let (status, _, first) = trigger(&sandbox, &json!({"n": 1})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Bytes: 900 more fit, 1,000 more do not.
    let (status, retry_after, body) = trigger(&sandbox, &json!({"pad": "x".repeat(1000)})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry_after, Some(12));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_run")
    );
    assert_eq!(
        trigger(&sandbox, &json!({"pad": "x".repeat(900)})).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        trigger(&sandbox, &json!({"n": 3})).await.0,
        StatusCode::ACCEPTED
    );
    // Count: three runs held, all still live.
    let (status, _, _) = trigger(&sandbox, &json!({"n": 4})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(sandbox.store_usage().runs.entries, 3);
    // Finished (2 s) and past the retention (10 s): forgotten, room again.
    tokio::time::advance(Duration::from_secs(13)).await;
    assert_eq!(
        trigger(&sandbox, &json!({"n": 5})).await.0,
        StatusCode::ACCEPTED
    );
    let response = client()
        .get(format!(
            "{}/v1/workflows/wf_sync_contacts/runs/{}",
            sandbox.base_url(),
            first["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(sandbox.store_usage().runs.entries, 1);
}

async fn create_with_key(sandbox: &Sandbox, key: &str, n: usize) -> reqwest::Response {
    client()
        .post(format!("{}/v1/records", sandbox.base_url()))
        .header("Idempotency-Key", key)
        .json(&common::person(n))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_idempotency_cache_is_capped_and_forgets_its_oldest_keys() {
    let mut limits = StoreLimits::default();
    limits.max_idempotency_keys = 3;
    let sandbox = common::checked(Sandbox::builder().store_limits(limits))
        .start()
        .await
        .unwrap();
    for n in 0..5 {
        let response = create_with_key(&sandbox, &format!("key-{n}"), n).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    assert_eq!(sandbox.store_usage().idempotency_keys.entries, 3);
    // The newest keys still replay; nothing was created twice.
    let replay = create_with_key(&sandbox, "key-4", 4).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(sandbox.record_count("records"), 5);

    // Bytes: each remembered response counts.
    let mut limits = StoreLimits::default();
    limits.max_idempotency_bytes = 4096;
    let sandbox = common::checked(Sandbox::builder().store_limits(limits))
        .start()
        .await
        .unwrap();
    for n in 0..40 {
        let response = create_with_key(&sandbox, &format!("key-{n}"), n).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let usage = sandbox.store_usage().idempotency_keys;
    assert!(usage.bytes <= 4096 && usage.entries < 40, "{usage:?}");
    let replay = create_with_key(&sandbox, "key-39", 39).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
}

/// Creates `count` records of about `size` bytes each in the schemaless resource `blobs`.
async fn create_blobs(sandbox: &Sandbox, count: usize, size: usize) {
    let http = client();
    for n in 0..count {
        let response = http
            .post(format!("{}/v1/blobs", sandbox.base_url()))
            .json(&json!({"n": n, "pad": "z".repeat(size)}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
}

async fn scan_ids(sandbox: &Sandbox, mode: ScanMode) -> Vec<u64> {
    let connection = Connection::builder()
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let blobs = connection.resource::<Value>("blobs").unwrap();
    let records: Vec<Value> = blobs
        .scan_with(Query::new().limit(1000), ScanOptions::default().mode(mode))
        .try_collect()
        .await
        .unwrap();
    records.iter().map(|r| r["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn pages_are_cut_at_the_byte_cap_and_scans_lose_nothing() {
    let mut limits = StoreLimits::default();
    limits.max_page_bytes = 64 * 1024;
    let sandbox = common::checked(Sandbox::builder().store_limits(limits))
        .start()
        .await
        .unwrap();
    create_blobs(&sandbox, 50, 10_000).await;
    let response = client()
        .get(format!(
            "{}/v1/blobs?limit=1000&offset=3",
            sandbox.base_url()
        ))
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    assert!(text.len() <= 64 * 1024 + 100, "{} bytes", text.len());
    let page: Value = serde_json::from_str(&text).unwrap();
    let held = page["data"].as_array().unwrap().len();
    assert!((5..=6).contains(&held), "{held}");
    assert_eq!(
        page["meta"],
        json!({"limit": held, "offset": 3, "total": 50})
    );
    assert_eq!(page["data"][0]["n"], 3);
    // Both scan modes read every record once, in order.
    let expected: Vec<u64> = (1..=50).collect();
    assert_eq!(scan_ids(&sandbox, ScanMode::Plain).await, expected);
    assert_eq!(scan_ids(&sandbox, ScanMode::Consistent).await, expected);
    // A filtered list is cut the same way; a record larger than the cap still comes alone.
    let mut limits = StoreLimits::default();
    limits.max_page_bytes = 1000;
    let sandbox = common::checked(Sandbox::builder().store_limits(limits))
        .start()
        .await
        .unwrap();
    create_blobs(&sandbox, 3, 5000).await;
    let page = common::body(
        client()
            .get(format!(
                "{}/v1/blobs?limit=10&from=2000-01-01T00:00:00Z",
                sandbox.base_url()
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["meta"], json!({"limit": 1, "offset": 0, "total": 3}));
    assert_eq!(scan_ids(&sandbox, ScanMode::Plain).await, vec![1, 2, 3]);
}

#[tokio::test]
async fn the_default_page_cap_holds_a_limit_1000_page_of_large_records_to_16_mib() {
    let sandbox = common::checked(Sandbox::builder()).start().await.unwrap();
    create_blobs(&sandbox, 20, 1_000_000).await;
    let response = client()
        .get(format!("{}/v1/blobs?limit=1000", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    assert!(text.len() <= 16 * 1024 * 1024 + 100, "{} bytes", text.len());
    let page: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(page["meta"]["total"], 20);
    assert_eq!(
        page["meta"]["limit"],
        page["data"].as_array().unwrap().len()
    );
    assert_eq!(
        scan_ids(&sandbox, ScanMode::Plain).await,
        (1..=20).collect::<Vec<u64>>()
    );
}
