//! API keys over real HTTP: create (secret once), list (never the secret), regenerate (old secret
//! dead at once), revoke (dead at once), and keys as Bearer tokens in bearer and oauth2 modes.

mod common;

use dbsync_sandbox::{Sandbox, SandboxAuth};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "fixed-token";

async fn bearer_sandbox() -> (Sandbox, Client) {
    common::start(Sandbox::builder().auth(SandboxAuth::Bearer {
        token: TOKEN.into(),
    }))
    .await
}

async fn create(sandbox: &Sandbox, http: &Client, name: &str) -> Value {
    let response = http
        .post(common::url(sandbox, "/v1/api-keys"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": name}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    common::body(response).await
}

async fn status_with(sandbox: &Sandbox, http: &Client, key: &str) -> StatusCode {
    http.get(common::url(sandbox, "/v1/records"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
}

async fn list(sandbox: &Sandbox, http: &Client) -> Value {
    let response = http
        .get(common::url(sandbox, "/v1/api-keys"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    common::body(response).await
}

#[tokio::test]
async fn create_shows_the_secret_once_and_list_never() {
    let (sandbox, http) = bearer_sandbox().await;
    let created = create(&sandbox, &http, "ci pipeline").await;
    let key = created["key"].as_str().expect("key").to_owned();
    assert_eq!(created["name"], "ci pipeline");
    let id = created["id"].as_str().expect("id").to_owned();

    let listed = list(&sandbox, &http).await;
    let entries = listed["data"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry["id"], id.as_str());
    assert_eq!(entry["name"], "ci pipeline");
    assert!(entry["created_at"].is_string());
    assert!(entry["last_used_at"].is_null());
    assert!(key.starts_with(entry["prefix"].as_str().unwrap()));
    assert!(entry.get("key").is_none());
    assert!(!listed.to_string().contains(&key));

    // A live key is a Bearer token; using it sets last_used_at.
    assert_eq!(status_with(&sandbox, &http, &key).await, StatusCode::OK);
    let listed = list(&sandbox, &http).await;
    assert!(listed["data"][0]["last_used_at"].is_string());
}

#[tokio::test]
async fn regenerate_kills_the_old_secret_at_once() {
    let (sandbox, http) = bearer_sandbox().await;
    let created = create(&sandbox, &http, "rotate me").await;
    let old = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap();
    assert_eq!(status_with(&sandbox, &http, &old).await, StatusCode::OK);

    let response = http
        .post(common::url(
            &sandbox,
            &format!("/v1/api-keys/{id}/regenerate"),
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let renewed = common::body(response).await;
    assert_eq!(renewed["id"], id);
    assert_eq!(renewed["name"], "rotate me");
    let new = renewed["key"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(
        status_with(&sandbox, &http, &old).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(status_with(&sandbox, &http, new).await, StatusCode::OK);
}

#[tokio::test]
async fn revoke_kills_the_key_at_once() {
    let (sandbox, http) = bearer_sandbox().await;
    let keep = create(&sandbox, &http, "keep").await;
    let created = create(&sandbox, &http, "revoke").await;
    let key = created["key"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(status_with(&sandbox, &http, key).await, StatusCode::OK);

    let response = http
        .delete(common::url(&sandbox, &format!("/v1/api-keys/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        status_with(&sandbox, &http, key).await,
        StatusCode::UNAUTHORIZED
    );
    // The other key still works and is the only one listed.
    assert_eq!(
        status_with(&sandbox, &http, keep["key"].as_str().unwrap()).await,
        StatusCode::OK
    );
    let listed = list(&sandbox, &http).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);

    // A second revoke and a regenerate of the dead key are 404s.
    for request in [
        http.delete(common::url(&sandbox, &format!("/v1/api-keys/{id}"))),
        http.post(common::url(
            &sandbox,
            &format!("/v1/api-keys/{id}/regenerate"),
        )),
    ] {
        let response = request.bearer_auth(TOKEN).send().await.unwrap();
        common::expect_error(response, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn a_revoked_key_cannot_manage_keys_either() {
    let (sandbox, http) = bearer_sandbox().await;
    let created = create(&sandbox, &http, "self").await;
    let key = created["key"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    let response = http
        .delete(common::url(&sandbox, &format!("/v1/api-keys/{id}")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = http
        .get(common::url(&sandbox, "/v1/api-keys"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    common::expect_error(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn bad_create_bodies_are_rejected_and_create_nothing() {
    let (sandbox, http) = bearer_sandbox().await;
    for body in [
        json!({}),
        json!({"name": ""}),
        json!({"name": 5}),
        json!({"name": "x", "extra": 1}),
        json!(["x"]),
    ] {
        let response = http
            .post(common::url(&sandbox, "/v1/api-keys"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        common::expect_error(response, StatusCode::BAD_REQUEST).await;
    }
    let response = http
        .post(common::url(&sandbox, "/v1/api-keys"))
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body("{\"name\":\"x\"}")
        .send()
        .await
        .unwrap();
    common::expect_error(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let response = http
        .post(common::url(&sandbox, "/v1/api-keys"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    common::expect_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(list(&sandbox, &http).await["data"], json!([]));
}

#[tokio::test]
async fn keys_are_bearer_tokens_in_oauth2_mode_but_not_in_basic_mode() {
    let sandbox = Sandbox::builder()
        .auth(SandboxAuth::OAuth2 {
            client_id: "c".into(),
            client_secret: "s".into(),
        })
        .start()
        .await
        .unwrap();
    let http = Client::new();
    // Bootstrap: an access token creates the key.
    let token = common::body(
        http.post(common::url(&sandbox, "/oauth/token"))
            .basic_auth("c", Some("s"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap(),
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = common::body(
        http.post(common::url(&sandbox, "/v1/api-keys"))
            .bearer_auth(&token)
            .json(&json!({"name": "oauth"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let key = created["key"].as_str().unwrap();
    assert_eq!(status_with(&sandbox, &http, key).await, StatusCode::OK);

    let basic = Sandbox::builder()
        .auth(SandboxAuth::Basic {
            username: "u".into(),
            password: "p".into(),
        })
        .start()
        .await
        .unwrap();
    let created = common::body(
        http.post(common::url(&basic, "/v1/api-keys"))
            .basic_auth("u", Some("p"))
            .json(&json!({"name": "basic"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let key = created["key"].as_str().unwrap();
    assert_eq!(
        status_with(&basic, &http, key).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_create_body_over_the_configured_limit_is_413() {
    let (sandbox, http) = common::start(
        Sandbox::builder()
            .auth(SandboxAuth::Bearer {
                token: TOKEN.into(),
            })
            .max_body_bytes(1024),
    )
    .await;
    let response = http
        .post(common::url(&sandbox, "/v1/api-keys"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "x".repeat(4096)}))
        .send()
        .await
        .unwrap();
    common::expect_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(list(&sandbox, &http).await["data"], json!([]));
    // Under the limit, as before.
    create(&sandbox, &http, "small").await;
}
