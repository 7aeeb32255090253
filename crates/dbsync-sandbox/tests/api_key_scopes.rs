//! API keys with scopes and an expiry over real HTTP: defaults, the subset rules, bad values,
//! an expired key's `401`, regenerate keeping both, and the cap on the number of keys.

mod common;

use std::time::{Duration, SystemTime};

use dbsync_sandbox::{Sandbox, SandboxAuth};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "fixed-token";

fn bearer() -> dbsync_sandbox::SandboxBuilder {
    Sandbox::builder().auth(SandboxAuth::Bearer {
        token: TOKEN.into(),
    })
}

async fn post(
    sandbox: &Sandbox,
    http: &Client,
    as_: &str,
    path: &str,
    body: Value,
) -> reqwest::Response {
    http.post(common::url(sandbox, path))
        .bearer_auth(as_)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn create(sandbox: &Sandbox, http: &Client, as_: &str, body: Value) -> Value {
    let response = post(sandbox, http, as_, "/v1/api-keys", body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    common::body(response).await
}

async fn list(sandbox: &Sandbox, http: &Client) -> Vec<Value> {
    let response = http
        .get(common::url(sandbox, "/v1/api-keys"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    common::body(response).await["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn status_with(sandbox: &Sandbox, http: &Client, key: &str) -> StatusCode {
    http.get(common::url(sandbox, "/v1/records"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
}

fn str_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field].as_str().unwrap()
}

const EVERY_SCOPE: [&str; 5] = [
    "records:read",
    "records:write",
    "workflows:run",
    "logs:read",
    "keys:manage",
];

#[tokio::test]
async fn create_and_list_show_scopes_and_expiry() {
    let (sandbox, http) = common::start(bearer()).await;
    let plain = create(&sandbox, &http, TOKEN, json!({"name": "plain"})).await;
    assert_eq!(plain["scopes"], json!(EVERY_SCOPE));
    assert!(plain["expires_at"].is_null());
    let narrow = create(
        &sandbox,
        &http,
        TOKEN,
        json!({"name": "narrow", "scopes": ["logs:read", "records:read"],
               "expires_at": "2099-01-31T12:00:00+01:00"}),
    )
    .await;
    assert_eq!(narrow["scopes"], json!(["records:read", "logs:read"]));
    assert_eq!(narrow["expires_at"], "2099-01-31T11:00:00Z");
    let listed = list(&sandbox, &http).await;
    assert_eq!(listed[0]["scopes"], json!(EVERY_SCOPE));
    assert!(listed[0].get("expires_at").is_some_and(Value::is_null));
    assert_eq!(listed[1]["scopes"], narrow["scopes"]);
    assert_eq!(listed[1]["expires_at"], narrow["expires_at"]);
    // `null` means the default, like leaving the field out.
    let nulls = create(
        &sandbox,
        &http,
        TOKEN,
        json!({"name": "nulls", "scopes": null, "expires_at": null}),
    )
    .await;
    assert_eq!(nulls["scopes"], json!(EVERY_SCOPE));
    assert!(nulls["expires_at"].is_null());
}

#[tokio::test]
async fn a_key_gets_at_most_its_creators_scopes() {
    let (sandbox, http) = common::start(bearer().seed_records(2)).await;
    let manager = create(
        &sandbox,
        &http,
        TOKEN,
        json!({"name": "manager", "scopes": ["keys:manage", "records:read"]}),
    )
    .await;
    let manager_key = str_of(&manager, "key").to_owned();

    // Default: exactly the creator's scopes.
    let child = create(&sandbox, &http, &manager_key, json!({"name": "child"})).await;
    assert_eq!(child["scopes"], json!(["records:read", "keys:manage"]));

    // More than the creator has: 403 naming what is missing, nothing created.
    let response = post(
        &sandbox,
        &http,
        &manager_key,
        "/v1/api-keys",
        json!({"name": "wider", "scopes": ["records:read", "records:write"]}),
    )
    .await;
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"records:write\""
    );
    let error = common::expect_error(response, StatusCode::FORBIDDEN).await;
    assert!(error["message"].as_str().unwrap().contains("records:write"));
    assert_eq!(list(&sandbox, &http).await.len(), 2);

    // A broader key is out of reach: neither regenerated nor revoked, and still works.
    let admin = create(&sandbox, &http, TOKEN, json!({"name": "admin"})).await;
    let admin_id = str_of(&admin, "id");
    let path = format!("/v1/api-keys/{admin_id}/regenerate");
    let response = post(&sandbox, &http, &manager_key, &path, json!({})).await;
    let error = common::expect_error(response, StatusCode::FORBIDDEN).await;
    assert!(error["message"].as_str().unwrap().contains("records:write"));
    let response = http
        .delete(common::url(&sandbox, &format!("/v1/api-keys/{admin_id}")))
        .bearer_auth(&manager_key)
        .send()
        .await
        .unwrap();
    common::expect_error(response, StatusCode::FORBIDDEN).await;
    assert_eq!(
        status_with(&sandbox, &http, str_of(&admin, "key")).await,
        StatusCode::OK
    );
    assert_eq!(list(&sandbox, &http).await.len(), 3);

    // A key within the caller's scopes: regenerated and revoked.
    let child_id = str_of(&child, "id");
    let response = post(
        &sandbox,
        &http,
        &manager_key,
        &format!("/v1/api-keys/{child_id}/regenerate"),
        json!({}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = http
        .delete(common::url(&sandbox, &format!("/v1/api-keys/{child_id}")))
        .bearer_auth(&manager_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn bad_scopes_and_expiries_are_400_and_create_nothing() {
    let (sandbox, http) = common::start(bearer()).await;
    for (body, field) in [
        (json!({"name": "x", "scopes": ["admin"]}), "scopes"),
        (
            json!({"name": "x", "scopes": ["records:read", 7]}),
            "scopes",
        ),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "x", "scopes": "records:read"}), "scopes"),
        (
            json!({"name": "x", "expires_at": "2000-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"name": "x", "expires_at": "2099-01-01T00:00:00"}),
            "expires_at",
        ),
        (
            json!({"name": "x", "expires_at": "2099-01-01"}),
            "expires_at",
        ),
        (json!({"name": "x", "expires_at": "tomorrow"}), "expires_at"),
        (
            json!({"name": "x", "expires_at": 4_102_444_800u64}),
            "expires_at",
        ),
    ] {
        let response = post(&sandbox, &http, TOKEN, "/v1/api-keys", body.clone()).await;
        let error = common::expect_error(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(common::detail_fields(&error), [field], "{body}");
    }
    assert!(list(&sandbox, &http).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_expired_key_is_401_and_says_so_and_regenerate_keeps_scopes_and_expiry() {
    let (sandbox, http) = common::start(bearer()).await;
    let expires_at =
        dbsync_contract::timestamp::format_seconds(SystemTime::now() + Duration::from_secs(120));
    let created = create(
        &sandbox,
        &http,
        TOKEN,
        json!({"name": "short", "scopes": ["records:read"], "expires_at": expires_at}),
    )
    .await;
    let key = str_of(&created, "key").to_owned();
    assert_eq!(created["expires_at"], expires_at.as_str());
    assert_eq!(status_with(&sandbox, &http, &key).await, StatusCode::OK);

    // Before expiry, regenerate keeps scopes and expiry, and the new secret works.
    let id = str_of(&created, "id").to_owned();
    let response = post(
        &sandbox,
        &http,
        TOKEN,
        &format!("/v1/api-keys/{id}/regenerate"),
        json!({}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let renewed = common::body(response).await;
    assert_eq!(renewed["scopes"], json!(["records:read"]));
    assert_eq!(renewed["expires_at"], expires_at.as_str());
    let key = str_of(&renewed, "key").to_owned();
    assert_eq!(status_with(&sandbox, &http, &key).await, StatusCode::OK);

    tokio::time::advance(Duration::from_secs(121)).await;
    let response = http
        .get(common::url(&sandbox, "/v1/records"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\", error_description=\"the API key has expired\""
    );
    let error = common::expect_error(response, StatusCode::UNAUTHORIZED).await;
    assert!(error["message"].as_str().unwrap().contains("expired"));

    // Still listed, with its expiry; regenerating it keeps the expiry, so it stays expired.
    let listed = list(&sandbox, &http).await;
    assert_eq!(listed[0]["expires_at"], expires_at.as_str());
    let response = post(
        &sandbox,
        &http,
        TOKEN,
        &format!("/v1/api-keys/{id}/regenerate"),
        json!({}),
    )
    .await;
    let renewed = common::body(response).await;
    assert_eq!(renewed["expires_at"], expires_at.as_str());
    assert_eq!(
        status_with(&sandbox, &http, str_of(&renewed, "key")).await,
        StatusCode::UNAUTHORIZED
    );
    // An unknown token is still a plain 401, without the expiry reason.
    let response = http
        .get(common::url(&sandbox, "/v1/records"))
        .bearer_auth("dbs_unknown")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn the_number_of_keys_is_capped() {
    let (sandbox, http) = common::start(bearer().max_api_keys(3)).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let created = create(&sandbox, &http, TOKEN, json!({"name": format!("k{n}")})).await;
        ids.push(str_of(&created, "id").to_owned());
    }
    let response = post(
        &sandbox,
        &http,
        TOKEN,
        "/v1/api-keys",
        json!({"name": "k3"}),
    )
    .await;
    let error = common::expect_error(response, StatusCode::CONFLICT).await;
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("at most 3 API keys"), "{message}");
    assert_eq!(list(&sandbox, &http).await.len(), 3);

    let response = http
        .delete(common::url(&sandbox, &format!("/v1/api-keys/{}", ids[0])))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    create(&sandbox, &http, TOKEN, json!({"name": "k3"})).await;
}

/// An `Idempotency-Key` answer is replayed only to a caller with the same scopes: a
/// `keys:manage`-only key that repeats another caller's key and body must not receive the
/// broader key's secret from the cache (it gets its own, narrower key).
#[tokio::test]
async fn an_idempotent_replay_never_hands_a_broader_key_to_a_narrower_caller() {
    let (sandbox, http) = common::start(bearer()).await;
    let manager = create(
        &sandbox,
        &http,
        TOKEN,
        json!({"name": "m", "scopes": ["keys:manage"]}),
    )
    .await;
    let send = |as_: String| {
        http.post(common::url(&sandbox, "/v1/api-keys"))
            .bearer_auth(as_)
            .header("Idempotency-Key", "same-key")
            .json(&json!({"name": "wide"}))
            .send()
    };
    let wide = common::body(send(TOKEN.to_owned()).await.unwrap()).await;
    assert_eq!(wide["scopes"], json!(EVERY_SCOPE));
    let replayed_to_owner = common::body(send(TOKEN.to_owned()).await.unwrap()).await;
    assert_eq!(str_of(&replayed_to_owner, "key"), str_of(&wide, "key"));

    let narrow = send(str_of(&manager, "key").to_owned()).await.unwrap();
    assert_eq!(narrow.status(), StatusCode::CREATED);
    let narrow = common::body(narrow).await;
    assert_ne!(str_of(&narrow, "key"), str_of(&wide, "key"));
    assert_eq!(narrow["scopes"], json!(["keys:manage"]));
}
