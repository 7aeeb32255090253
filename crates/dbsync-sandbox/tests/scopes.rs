//! Scopes over real HTTP: every route group refuses a token or key without its scope with
//! `403` and `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`, and a refused
//! call changes nothing; OAuth 2.0 tokens carry the scopes granted.

mod common;

use std::time::Duration;

use dbsync_sandbox::{Sandbox, SandboxAuth, Scope};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "fixed-token";
const CLIENT_ID: &str = "scope-client";
const CLIENT_SECRET: &str = "scope-secret";

async fn bearer_sandbox() -> (Sandbox, Client) {
    common::start(
        Sandbox::builder()
            .auth(SandboxAuth::Bearer {
                token: TOKEN.into(),
            })
            .seed_records(5),
    )
    .await
}

/// A key made by the fixed token (every scope) with exactly these scopes.
async fn key_with(sandbox: &Sandbox, http: &Client, scopes: &[&str]) -> String {
    let response = http
        .post(common::url(sandbox, "/v1/api-keys"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "scoped", "scopes": scopes}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    common::body(response).await["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn all_but(scope: &str) -> Vec<&'static str> {
    Scope::ALL
        .iter()
        .map(|s| s.as_str())
        .filter(|s| *s != scope)
        .collect()
}

/// One call per route group: (method, path, body, the scope it needs).
fn calls() -> Vec<(Method, &'static str, Option<Value>, &'static str)> {
    let write = "records:write";
    vec![
        (Method::GET, "/v1/records", None, "records:read"),
        (Method::GET, "/v1/records/1", None, "records:read"),
        (Method::GET, "/v1/records/schema", None, "records:read"),
        (Method::GET, "/v1/workflows", None, "records:read"),
        (
            Method::GET,
            "/v1/workflows/wf_sync_contacts/runs/run_none",
            None,
            "records:read",
        ),
        (Method::POST, "/v1/records", Some(common::person(1)), write),
        (Method::PUT, "/v1/records/1", Some(common::person(2)), write),
        (Method::DELETE, "/v1/records/2", None, write),
        (
            Method::POST,
            "/v1/records/batch",
            Some(json!({"records": [common::person(3)]})),
            write,
        ),
        (
            Method::POST,
            "/v1/workflows/wf_sync_contacts/runs",
            Some(json!({})),
            "workflows:run",
        ),
        (
            Method::DELETE,
            "/v1/workflows/wf_sync_contacts/runs/run_none",
            None,
            "workflows:run",
        ),
        (Method::GET, "/v1/logs", None, "logs:read"),
        (Method::GET, "/v1/logs/export", None, "logs:read"),
        (Method::GET, "/v1/usage", None, "logs:read"),
        (Method::GET, "/v1/api-keys", None, "keys:manage"),
        (
            Method::POST,
            "/v1/api-keys",
            Some(json!({"name": "x"})),
            "keys:manage",
        ),
        (
            Method::POST,
            "/v1/api-keys/key_000001/regenerate",
            None,
            "keys:manage",
        ),
        (
            Method::DELETE,
            "/v1/api-keys/key_000001",
            None,
            "keys:manage",
        ),
    ]
}

async fn call(
    sandbox: &Sandbox,
    http: &Client,
    token: &str,
    (method, path, body): (&Method, &str, &Option<Value>),
) -> reqwest::Response {
    let mut request = http
        .request(method.clone(), common::url(sandbox, path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

async fn assert_forbidden(response: reqwest::Response, scope: &str) {
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(
        challenge,
        format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\"")
    );
    let error = common::expect_error(response, StatusCode::FORBIDDEN).await;
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(scope), "{message}");
}

async fn get_record(sandbox: &Sandbox, http: &Client, id: u64) -> Value {
    let response = http
        .get(common::url(sandbox, &format!("/v1/records/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    common::body(response).await
}

#[tokio::test]
async fn every_route_group_refuses_a_key_without_its_scope_and_changes_nothing() {
    let (sandbox, http) = bearer_sandbox().await;
    // key_000001: the target of the key calls (within reach of a `keys:manage` key).
    key_with(&sandbox, &http, &["keys:manage"]).await;
    let record_1 = get_record(&sandbox, &http, 1).await;
    let mut lacking = Vec::new();
    for (_, _, _, scope) in calls() {
        lacking.push(key_with(&sandbox, &http, &all_but(scope)).await);
    }
    for ((method, path, body, scope), key) in calls().iter().zip(&lacking) {
        let response = call(&sandbox, &http, key, (method, path, body)).await;
        assert_forbidden(response, scope).await;
    }
    // Nothing changed: no record created, updated or deleted, no run, no key touched.
    assert_eq!(sandbox.record_count("records"), 5);
    assert_eq!(get_record(&sandbox, &http, 1).await, record_1);
    get_record(&sandbox, &http, 2).await;
    let keys = call(
        &sandbox,
        &http,
        TOKEN,
        (&Method::GET, "/v1/api-keys", &None),
    )
    .await;
    let keys = common::body(keys).await;
    assert_eq!(keys["data"].as_array().unwrap().len(), 1 + lacking.len());
    assert!(
        sandbox
            .request_log()
            .iter()
            .all(|e| !(e.method == "POST" && e.endpoint.contains("/runs") && e.status == 202))
    );

    // The same calls with only the scope each needs pass the scope check.
    for (method, path, body, scope) in calls() {
        let key = key_with(&sandbox, &http, &[scope]).await;
        let response = call(&sandbox, &http, &key, (&method, path, &body)).await;
        let status = response.status();
        assert!(
            status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
            "{method} {path} with {scope}: {status}"
        );
    }
}

#[tokio::test]
async fn a_read_only_key_cannot_create_update_or_delete() {
    let (sandbox, http) = bearer_sandbox().await;
    let key = key_with(&sandbox, &http, &["records:read"]).await;
    let before = get_record(&sandbox, &http, 3).await;
    let response = http
        .delete(common::url(&sandbox, "/v1/records/3"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_forbidden(response, "records:write").await;
    let response = http
        .put(common::url(&sandbox, "/v1/records/3"))
        .bearer_auth(&key)
        .json(&common::person(99))
        .send()
        .await
        .unwrap();
    assert_forbidden(response, "records:write").await;
    assert_eq!(get_record(&sandbox, &http, 3).await, before);
    assert_eq!(sandbox.record_count("records"), 5);
    // Reading still works.
    let response = http
        .get(common::url(&sandbox, "/v1/records/3"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn fixed_credentials_have_every_scope() {
    let (sandbox, http) = common::start(
        Sandbox::builder()
            .auth(SandboxAuth::Basic {
                username: "u".into(),
                password: "p".into(),
            })
            .seed_records(5),
    )
    .await;
    for (method, path, body, scope) in calls() {
        let mut request = http
            .request(method.clone(), common::url(&sandbox, path))
            .basic_auth("u", Some("p"));
        if let Some(body) = &body {
            request = request.json(body);
        }
        let status = request.send().await.unwrap().status();
        assert_ne!(status, StatusCode::FORBIDDEN, "{method} {path} ({scope})");
        assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
}

async fn oauth_sandbox() -> Sandbox {
    Sandbox::builder()
        .auth(SandboxAuth::OAuth2 {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        })
        .token_ttl(Duration::from_secs(3600))
        .seed_records(5)
        .start()
        .await
        .unwrap()
}

async fn token(sandbox: &Sandbox, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = Client::new()
        .post(sandbox.token_url())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    (response.status(), common::body(response).await)
}

#[tokio::test]
async fn a_records_read_token_cannot_delete_or_create_an_api_key() {
    let sandbox = oauth_sandbox().await;
    let http = Client::new();
    let (status, body) = token(
        &sandbox,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "records:read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["scope"], "records:read");
    let read = body["access_token"].as_str().unwrap().to_owned();

    let response = http
        .delete(common::url(&sandbox, "/v1/records/1"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_forbidden(response, "records:write").await;
    let response = http
        .post(common::url(&sandbox, "/v1/api-keys"))
        .bearer_auth(&read)
        .json(&json!({"name": "sneaky"}))
        .send()
        .await
        .unwrap();
    assert_forbidden(response, "keys:manage").await;
    assert_eq!(sandbox.record_count("records"), 5);

    // A token asked for without `scope` has every scope: it sees that no key was created.
    let (_, body) = token(&sandbox, &[("grant_type", "client_credentials")]).await;
    let full = body["access_token"].as_str().unwrap().to_owned();
    let response = http
        .get(common::url(&sandbox, "/v1/api-keys"))
        .bearer_auth(&full)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(common::body(response).await["data"], json!([]));
}

#[tokio::test]
async fn unknown_scopes_are_invalid_scope() {
    let sandbox = oauth_sandbox().await;
    for scope in ["admin", "records:read admin", "records:*"] {
        let (status, body) = token(
            &sandbox,
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{scope}");
        assert_eq!(body["error"], "invalid_scope", "{scope}");
    }
}

#[tokio::test]
async fn a_refresh_narrows_the_access_token_but_the_refresh_token_keeps_the_grant() {
    let sandbox = oauth_sandbox().await;
    let http = Client::new();
    let (_, first) = token(&sandbox, &[("grant_type", "client_credentials")]).await;
    let refresh = first["refresh_token"].as_str().unwrap();
    let (status, narrowed) = token(
        &sandbox,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("scope", "records:read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    assert_eq!(narrowed["scope"], "records:read");
    let response = http
        .delete(common::url(&sandbox, "/v1/records/1"))
        .bearer_auth(narrowed["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_forbidden(response, "records:write").await;

    // The rotated refresh token still holds the original (default, full) grant.
    let (status, again) = token(
        &sandbox,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", narrowed["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let response = http
        .delete(common::url(&sandbox, "/v1/records/1"))
        .bearer_auth(again["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // Asking a narrow grant for more is invalid_scope.
    let (_, narrow) = token(
        &sandbox,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "records:read"),
        ],
    )
    .await;
    let (status, body) = token(
        &sandbox,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", narrow["refresh_token"].as_str().unwrap()),
            ("scope", "records:read records:write"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");
}
