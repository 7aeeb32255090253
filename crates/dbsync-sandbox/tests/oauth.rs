//! OAuth 2.0 mode over real HTTP: every grant, client authentication, PKCE, refresh rotation,
//! token expiry (on tokio's paused clock) and enforcement on every API endpoint.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dbsync_sandbox::{Sandbox, SandboxAuth};
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CLIENT_ID: &str = "test-client";
const CLIENT_SECRET: &str = "test-secret-0123456789";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

async fn oauth_sandbox(ttl: Duration) -> Sandbox {
    common::checked(
        Sandbox::builder()
            .auth(SandboxAuth::OAuth2 {
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
            })
            .token_ttl(ttl)
            .seed_records(3),
    )
    .start()
    .await
    .expect("sandbox starts")
}

/// No connection pool: no idle timers for the paused clock to jump to.
fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn token_request(
    sandbox: &Sandbox,
    basic: Option<(&str, &str)>,
    pairs: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = client()
        .post(format!("{}/oauth/token", sandbox.base_url()))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(pairs));
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.expect("token request");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, common::body(response).await)
}

async fn client_credentials(sandbox: &Sandbox) -> Value {
    let (status, headers, body) = token_request(
        sandbox,
        Some((CLIENT_ID, CLIENT_SECRET)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    body
}

async fn get_records(sandbox: &Sandbox, token: &str) -> reqwest::Response {
    client()
        .get(format!("{}/v1/records", sandbox.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Runs the authorize endpoint and returns the redirect's query pairs.
async fn authorize(
    sandbox: &Sandbox,
    extra: &[(&str, &str)],
) -> (StatusCode, Vec<(String, String)>) {
    let challenge = challenge(VERIFIER);
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("state", "xyz-state"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (key, value) in extra {
        pairs.retain(|(k, _)| k != key);
        if !value.is_empty() {
            pairs.push((key, value));
        }
    }
    let response = client()
        .get(format!(
            "{}/oauth/authorize?{}",
            sandbox.base_url(),
            form(&pairs)
        ))
        .send()
        .await
        .expect("authorize");
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let query = location
        .map(|l| {
            let url = url::Url::parse(&l).expect("absolute location");
            assert!(l.starts_with(REDIRECT), "{l}");
            url.query_pairs().into_owned().collect()
        })
        .unwrap_or_default();
    (status, query)
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn exchange(
    sandbox: &Sandbox,
    code: &str,
    verifier: &str,
    redirect: &str,
) -> (StatusCode, Value) {
    let (status, _, body) = token_request(
        sandbox,
        Some((CLIENT_ID, CLIENT_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ],
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn client_credentials_token_opens_the_api() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let body = client_credentials(&sandbox).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().expect("access_token");
    let response = get_records(&sandbox, token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(common::body(response).await["meta"]["total"], 3);
}

#[tokio::test]
async fn scope_is_granted_and_checked() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let (status, _, body) = token_request(
        &sandbox,
        Some((CLIENT_ID, CLIENT_SECRET)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "records:read records:write"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["scope"], "records:read records:write");
    let (status, _, body) = token_request(
        &sandbox,
        Some((CLIENT_ID, CLIENT_SECRET)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "bad\"scope"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");
}

#[tokio::test]
async fn client_may_authenticate_with_form_fields() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let (status, _, body) = token_request(
        &sandbox,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());
}

/// Basic credentials (if any) and extra form fields.
type ClientCase = (
    Option<(&'static str, &'static str)>,
    Vec<(&'static str, &'static str)>,
);

#[tokio::test]
async fn wrong_or_missing_client_credentials_are_invalid_client() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let cases: [ClientCase; 4] = [
        (Some((CLIENT_ID, "wrong-secret")), vec![]),
        (Some(("other-client", CLIENT_SECRET)), vec![]),
        (None, vec![]),
        (
            None,
            vec![("client_id", CLIENT_ID), ("client_secret", "nope")],
        ),
    ];
    for (basic, extra) in cases {
        let mut pairs = vec![("grant_type", "client_credentials")];
        pairs.extend(extra);
        let (status, headers, body) = token_request(&sandbox, basic, &pairs).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "invalid_client");
        assert!(body["error_description"].is_string());
        assert!(!body.to_string().contains(CLIENT_SECRET));
        assert!(headers.contains_key(header::WWW_AUTHENTICATE));
        assert!(body.get("access_token").is_none());
    }
}

#[tokio::test]
async fn bad_token_requests_follow_rfc6749() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let creds = Some((CLIENT_ID, CLIENT_SECRET));
    let (status, _, body) = token_request(&sandbox, creds, &[("grant_type", "password")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    let (status, _, body) = token_request(&sandbox, creds, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    // JSON instead of a form.
    let response = client()
        .post(format!("{}/oauth/token", sandbox.base_url()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(common::body(response).await["error"], "invalid_request");
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_dies() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let first = client_credentials(&sandbox).await;
    let old_refresh = first["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    let (status, _, second) = token_request(
        &sandbox,
        Some((CLIENT_ID, CLIENT_SECRET)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &old_refresh),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let new_refresh = second["refresh_token"].as_str().expect("new refresh token");
    assert_ne!(new_refresh, old_refresh);
    assert_ne!(second["access_token"], first["access_token"]);
    let response = get_records(&sandbox, second["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);

    let (status, _, body) = token_request(
        &sandbox,
        Some((CLIENT_ID, CLIENT_SECRET)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &old_refresh),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    // The refresh grant still needs the client's own credentials.
    let (status, _, body) = token_request(
        &sandbox,
        Some((CLIENT_ID, "wrong")),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", new_refresh),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
}

#[tokio::test]
async fn authorization_code_with_pkce() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let (status, query) = authorize(&sandbox, &[("scope", "records:read")]).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(param(&query, "state"), Some("xyz-state"));
    let code = param(&query, "code").expect("code").to_owned();

    let (status, body) = exchange(&sandbox, &code, VERIFIER, REDIRECT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "records:read");
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get_records(&sandbox, &token).await.status(), StatusCode::OK);

    // Reuse: rejected, and the tokens issued from the code are revoked.
    let (status, body) = exchange(&sandbox, &code, VERIFIER, REDIRECT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(
        get_records(&sandbox, &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn pkce_wrong_verifier_and_other_redirect_are_rejected() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let (_, query) = authorize(&sandbox, &[]).await;
    let code = param(&query, "code").expect("code").to_owned();
    let wrong = "x".repeat(43);
    let (status, body) = exchange(&sandbox, &code, &wrong, REDIRECT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert!(body.get("access_token").is_none());

    let (_, query) = authorize(&sandbox, &[]).await;
    let code = param(&query, "code").expect("code").to_owned();
    let (status, body) = exchange(&sandbox, &code, VERIFIER, "http://127.0.0.1:9/elsewhere").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let (_, query) = authorize(&sandbox, &[]).await;
    let code = param(&query, "code").expect("code").to_owned();
    let (status, _, body) = token_request(
        &sandbox,
        Some((CLIENT_ID, CLIENT_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}

#[tokio::test]
async fn authorize_errors_follow_rfc6749_4_1_2_1() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    // The plain method is refused (redirected with an error, state kept).
    let (status, query) = authorize(&sandbox, &[("code_challenge_method", "plain")]).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(param(&query, "error"), Some("invalid_request"));
    assert_eq!(param(&query, "state"), Some("xyz-state"));
    assert!(param(&query, "code").is_none());
    // PKCE is required.
    let (_, query) = authorize(
        &sandbox,
        &[("code_challenge", ""), ("code_challenge_method", "")],
    )
    .await;
    assert_eq!(param(&query, "error"), Some("invalid_request"));
    // Only the code flow.
    let (_, query) = authorize(&sandbox, &[("response_type", "token")]).await;
    assert_eq!(param(&query, "error"), Some("unsupported_response_type"));
    // Unknown client or a bad redirect_uri: shown, never redirected.
    for extra in [
        ("client_id", "someone-else"),
        ("redirect_uri", "not a uri"),
        ("redirect_uri", ""),
    ] {
        let (status, query) = authorize(&sandbox, &[extra]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{extra:?}");
        assert!(query.is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn codes_are_short_lived() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let (_, query) = authorize(&sandbox, &[]).await;
    let code = param(&query, "code").expect("code").to_owned();
    tokio::time::advance(Duration::from_secs(61)).await;
    let (status, body) = exchange(&sandbox, &code, VERIFIER, REDIRECT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test(start_paused = true)]
async fn an_expired_token_is_401_invalid_token() {
    let sandbox = oauth_sandbox(Duration::from_secs(600)).await;
    let body = client_credentials(&sandbox).await;
    assert_eq!(body["expires_in"], 600);
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get_records(&sandbox, &token).await.status(), StatusCode::OK);

    tokio::time::advance(Duration::from_secs(601)).await;
    let response = get_records(&sandbox, &token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "{challenge}"
    );
    let error = common::expect_error(response, StatusCode::UNAUTHORIZED).await;
    assert!(
        error["message"].as_str().unwrap().contains("expired"),
        "{error}"
    );

    // The refresh token outlives the access token.
    let (status, _, renewed) = token_request(
        &sandbox,
        Some((CLIENT_ID, CLIENT_SECRET)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let response = get_records(&sandbox, renewed["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_api_endpoint_rejects_missing_or_invalid_tokens() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let endpoints = [
        ("GET", "/v1/records"),
        ("POST", "/v1/records"),
        ("GET", "/v1/records/1"),
        ("PUT", "/v1/records/1"),
        ("DELETE", "/v1/records/1"),
        ("POST", "/v1/records/batch"),
        ("PUT", "/v1/records/batch"),
        ("GET", "/v1/records/schema"),
        ("GET", "/v1/workflows"),
        ("POST", "/v1/workflows/wf_sync_contacts/runs"),
        ("GET", "/v1/workflows/wf_sync_contacts/runs/run_000001"),
        ("DELETE", "/v1/workflows/wf_sync_contacts/runs/run_000001"),
        ("GET", "/v1/logs"),
        ("GET", "/v1/logs/export"),
        ("GET", "/v1/usage"),
        ("GET", "/v1/api-keys"),
        ("POST", "/v1/api-keys"),
        ("POST", "/v1/api-keys/key_000001/regenerate"),
        ("DELETE", "/v1/api-keys/key_000001"),
    ];
    let http = client();
    for (method, path) in endpoints {
        for auth in [None, Some("Bearer not-a-token"), Some("Basic dGVzdDp0ZXN0")] {
            let mut request = http
                .request(
                    method.parse().unwrap(),
                    format!("{}{path}", sandbox.base_url()),
                )
                .header(header::CONTENT_TYPE, "application/json")
                .body("{}");
            if let Some(value) = auth {
                request = request.header(header::AUTHORIZATION, value);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} {auth:?}"
            );
            let challenge = response.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(challenge.starts_with("Bearer"), "{challenge}");
            common::expect_error(response, StatusCode::UNAUTHORIZED).await;
        }
    }
    // The client secret is not a bearer token.
    assert_eq!(
        get_records(&sandbox, CLIENT_SECRET).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Nothing was created by the rejected requests.
    assert_eq!(sandbox.record_count("records"), 3);
}

#[tokio::test]
async fn token_endpoint_exists_only_in_oauth2_mode() {
    let sandbox = common::checked(Sandbox::builder().auth(SandboxAuth::Bearer {
        token: "demo".into(),
    }))
    .start()
    .await
    .unwrap();
    let (status, _, body) = token_request(
        &sandbox,
        Some((CLIENT_ID, CLIENT_SECRET)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn binary_in_oauth2_mode_prints_the_token_url_and_issues_tokens() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    /// Stops the process even when an assertion fails.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let mut child = Command::new(env!("CARGO_BIN_EXE_dbsync-sandbox"))
        .args(["--port", "0", "--records", "2", "--auth", "oauth2"])
        .args([
            "--client-id",
            "cli-client",
            "--client-secret",
            "cli-secret",
            "--token-ttl",
            "120",
            "--show-secrets",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let _child = KillOnDrop(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut next = || lines.next().expect("a line").expect("readable");
    let base = next();
    let credentials = next();
    let token_url = next();
    let authorize_url = next();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(
        credentials.contains("client_id=cli-client")
            && credentials.contains("client_secret=cli-secret"),
        "{credentials}"
    );
    assert_eq!(token_url, format!("token_url: {base}/oauth/token"));
    assert_eq!(
        authorize_url,
        format!("authorize_url: {base}/oauth/authorize")
    );

    let http = client();
    let response = http
        .post(format!("{base}/oauth/token"))
        .basic_auth("cli-client", Some("cli-secret"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = common::body(response).await;
    assert_eq!(body["expires_in"], 120);
    let response = http
        .get(format!("{base}/v1/records"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_parameter_given_twice_is_an_invalid_request_and_many_distinct_ones_are_fine() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let (status, _, body) = token_request(
        &sandbox,
        Some((CLIENT_ID, CLIENT_SECRET)),
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert!(body.to_string().contains("more than once"), "{body}");

    // 100,000 distinct extra parameters: checked in one pass, and ignored.
    let names: Vec<String> = (0..100_000).map(|i| format!("x{i}")).collect();
    let mut pairs: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    pairs.push(("grant_type", "client_credentials"));
    let (status, _, body) = token_request(&sandbox, Some((CLIENT_ID, CLIENT_SECRET)), &pairs).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn token_endpoint_honours_the_configured_body_limit() {
    let sandbox = common::checked(
        Sandbox::builder()
            .auth(SandboxAuth::OAuth2 {
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
            })
            .max_body_bytes(1024),
    )
    .start()
    .await
    .expect("sandbox starts");
    // Under the limit: a token, as always.
    client_credentials(&sandbox).await;
    // Over the limit (an ignored extra parameter makes it 4 KiB): a 413 in RFC 6749's error
    // shape, not a token read under axum's default limit of 2 MiB.
    let padding = "x".repeat(4096);
    let (status, headers, body) = token_request(
        &sandbox,
        Some((CLIENT_ID, CLIENT_SECRET)),
        &[("grant_type", "client_credentials"), ("padding", &padding)],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("larger than")),
        "{body}"
    );
    assert!(body.get("access_token").is_none(), "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn an_idempotency_key_never_replays_a_token_response() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let send = |secret: &'static str| {
        client()
            .post(format!("{}/oauth/token", sandbox.base_url()))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("Idempotency-Key", "token-key")
            .basic_auth(CLIENT_ID, Some(secret))
            .body(form(&[("grant_type", "client_credentials")]))
            .send()
    };
    let first = send(CLIENT_SECRET).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let first = common::body(first).await;
    // Same key and body, wrong secret: the client is checked, nothing is replayed.
    let stranger = send("not-the-secret").await.unwrap();
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
    assert!(stranger.headers().get("idempotent-replayed").is_none());
    let stranger = common::body(stranger).await;
    assert_eq!(stranger["error"], "invalid_client", "{stranger}");
    assert!(
        !stranger
            .to_string()
            .contains(first["access_token"].as_str().expect("access token"))
    );
    // The right client gets a fresh token, not the first one again.
    let again = common::body(send(CLIENT_SECRET).await.unwrap()).await;
    assert_ne!(again["access_token"], first["access_token"]);
}

#[tokio::test]
async fn an_unregistered_or_overlong_redirect_uri_is_a_400_page_and_no_code_is_issued() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let long = format!("http://127.0.0.1:9/{}", "a".repeat(2100));
    for redirect in [
        "https://evil.example/cb",
        "http://evil.example/cb",
        "http://127.0.0.1.evil.example/cb",
        "https://127.0.0.1:9/callback",
        long.as_str(),
    ] {
        let response = client()
            .get(format!(
                "{}/oauth/authorize?{}",
                sandbox.base_url(),
                form(&[
                    ("response_type", "code"),
                    ("client_id", CLIENT_ID),
                    ("redirect_uri", redirect),
                    ("state", "xyz-state"),
                    ("code_challenge", &challenge(VERIFIER)),
                    ("code_challenge_method", "S256"),
                ])
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{redirect:.60}");
        assert!(response.headers().get(header::LOCATION).is_none());
        let body = common::body(response).await;
        assert_eq!(body["error"], "invalid_request", "{body}");
        assert!(!body.to_string().contains("ac_"), "{body}");
    }
    assert_eq!(sandbox.store_usage().pending_codes.entries, 0);
    // Loopback on any port (RFC 8252), as the examples and dbsync-auth's tests use.
    for redirect in ["http://127.0.0.1:8765/callback", "http://localhost:1/cb"] {
        let (status, query) = authorize_to(&sandbox, redirect).await;
        assert_eq!(status, StatusCode::FOUND, "{redirect}");
        assert!(param(&query, "code").is_some());
    }
}

#[tokio::test]
async fn registered_redirect_uris_replace_the_loopback_default() {
    let sandbox = common::checked(
        Sandbox::builder()
            .auth(SandboxAuth::OAuth2 {
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
            })
            .redirect_uris(["https://app.example/cb"]),
    )
    .start()
    .await
    .unwrap();
    let (status, query) = authorize_to(&sandbox, "https://app.example/cb").await;
    assert_eq!(status, StatusCode::FOUND);
    assert!(param(&query, "code").is_some());
    let (status, query) = authorize_to(&sandbox, REDIRECT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(query.is_empty());
}

/// The authorize endpoint with `redirect` and no check of where it redirects.
async fn authorize_to(sandbox: &Sandbox, redirect: &str) -> (StatusCode, Vec<(String, String)>) {
    let response = client()
        .get(format!(
            "{}/oauth/authorize?{}",
            sandbox.base_url(),
            form(&[
                ("response_type", "code"),
                ("client_id", CLIENT_ID),
                ("redirect_uri", redirect),
                ("code_challenge", &challenge(VERIFIER)),
                ("code_challenge_method", "S256"),
            ])
        ))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let query = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| url::Url::parse(v.to_str().ok()?).ok())
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default();
    (status, query)
}

async fn refresh(sandbox: &Sandbox, refresh_token: &str) -> (StatusCode, Value) {
    let (status, _, body) = token_request(
        sandbox,
        Some((CLIENT_ID, CLIENT_SECRET)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_its_whole_family() {
    let sandbox = oauth_sandbox(Duration::from_secs(3600)).await;
    let first = client_credentials(&sandbox).await;
    let other = client_credentials(&sandbox).await;
    let old = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = refresh(&sandbox, &old).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let new_access = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        get_records(&sandbox, &new_access).await.status(),
        StatusCode::OK
    );

    // The rotated token again: refused, and the family dies.
    let (status, body) = refresh(&sandbox, &old).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{body}"
    );
    let (status, body) = refresh(&sandbox, second["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    for token in [new_access.as_str(), first["access_token"].as_str().unwrap()] {
        assert_eq!(
            get_records(&sandbox, token).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Another grant is untouched.
    let other_access = other["access_token"].as_str().unwrap();
    assert_eq!(
        get_records(&sandbox, other_access).await.status(),
        StatusCode::OK
    );
    let (status, _) = refresh(&sandbox, other["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}
