//! The contract's "Scopes, permissions and key expiry" on the client, against wiremock: a `403`
//! is [`Error::Forbidden`] naming the missing scope (bounded, from untrusted headers), never
//! retried and never a token renewal; an expired key's `401` says so; API keys are created with
//! scopes and an expiry, and listed with them.

mod common;

use std::sync::Arc;

use common::{CountingAuth, builder};
use dbsync_client::{Error, NewApiKey, scopes};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FORBIDDEN_BODY: &str =
    r#"{"error":{"code":403,"message":"Forbidden: this call needs the scope records:write"}}"#;

fn forbidden(challenge: Option<&str>, body: &str) -> ResponseTemplate {
    let mut response = ResponseTemplate::new(403).set_body_raw(body, "application/json");
    if let Some(challenge) = challenge {
        response = response.insert_header("WWW-Authenticate", challenge);
    }
    response
}

/// Mounts `response` for every request, expecting exactly one; returns a connection that
/// authenticates with a counting strategy (which would renew its token after a `401`) and
/// retries quickly.
async fn one_answer(
    server: &MockServer,
    response: ResponseTemplate,
) -> (dbsync_client::Connection, Arc<CountingAuth>) {
    Mock::given(wiremock::matchers::any())
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
    let auth = CountingAuth::renewing();
    let connection = builder(server).auth(auth.clone()).build().unwrap();
    (connection, auth)
}

#[tokio::test]
async fn a_403_names_the_scope_and_is_neither_retried_nor_renewed() {
    let server = MockServer::start().await;
    let challenge = r#"Bearer error="insufficient_scope", scope="records:write""#;
    let (connection, auth) = one_answer(&server, forbidden(Some(challenge), FORBIDDEN_BODY)).await;
    // A create carries an Idempotency-Key, so a transient failure of it would be retried.
    let err = connection
        .records()
        .create(&json!({"name": "Ada"}))
        .await
        .unwrap_err();
    assert!(err.is_forbidden(), "{err:?}");
    assert_eq!(err.missing_scope(), Some(scopes::RECORDS_WRITE));
    assert_eq!((err.status(), err.kind()), (Some(403), "forbidden"));
    assert!(!err.is_retryable() && !err.is_expired_credentials());
    let text = err.to_string();
    for part in [
        "forbidden (403)",
        "Forbidden: this call needs the scope records:write",
        "lack the scope `records:write`",
        "retrying will not help",
        "not bad credentials",
    ] {
        assert!(text.contains(part), "{part:?} missing from {text}");
    }
    assert!(!text.contains("token-1"), "{text}");
    // One request (the mock expects exactly one), one authorization, no renewal.
    assert_eq!((auth.authorized(), auth.unauthorized()), (1, 0));
}

#[tokio::test]
async fn a_403_on_a_get_is_not_retried_either() {
    let server = MockServer::start().await;
    let (connection, auth) = one_answer(&server, forbidden(None, FORBIDDEN_BODY)).await;
    let err = connection.records().get("1").await.unwrap_err();
    assert!(
        matches!(err, Error::Forbidden { scope: None, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("did not name a scope"), "{err}");
    assert_eq!((auth.authorized(), auth.unauthorized()), (1, 0));
}

#[tokio::test]
async fn a_403_with_any_body_and_any_header_is_forbidden_and_bounded() {
    let huge_scope = format!(
        r#"Bearer error="insufficient_scope", scope="{}""#,
        "records:read".repeat(900) // about 10 KB
    );
    let cases: [(Option<&str>, &str); 7] = [
        (None, "<html><body><h1>403 Forbidden</h1></body></html>"),
        (None, ""),
        (Some("garbage ,,,=\"\"\\"), "not json"),
        (
            Some("Bearer error=\"insufficient_scope\", scope=\"récords:read\""),
            "",
        ),
        (
            Some("Bearer error=\"insufficient_scope\", scope=\"unterminated"),
            "",
        ),
        (Some(r#"Basic realm="dbsync""#), FORBIDDEN_BODY),
        (Some(&huge_scope), FORBIDDEN_BODY),
    ];
    for (challenge, body) in cases {
        let server = MockServer::start().await;
        let (connection, auth) = one_answer(&server, forbidden(challenge, body)).await;
        let err = connection.records().get("1").await.unwrap_err();
        let label = format!("{challenge:.60?} / {body:.40}");
        assert!(err.is_forbidden(), "{label}: {err:?}");
        assert_eq!(err.missing_scope(), None, "{label}");
        let text = err.to_string();
        assert!(text.len() < 600, "{label}: {} bytes", text.len());
        assert!(text.contains("retrying will not help"), "{label}: {text}");
        assert_eq!((auth.authorized(), auth.unauthorized()), (1, 0), "{label}");
    }
    // The HTML is quoted (as for any other status), on one line.
    let server = MockServer::start().await;
    let (connection, _) = one_answer(
        &server,
        forbidden(None, "<html>\n<h1>403   Forbidden</h1></html>"),
    )
    .await;
    let err = connection.records().get("1").await.unwrap_err();
    assert!(
        err.to_string().contains("<html> <h1>403 Forbidden"),
        "{err}"
    );
}

#[tokio::test]
async fn an_expired_key_says_so_and_what_to_do() {
    let challenge = r#"Bearer error="invalid_token", error_description="the API key has expired""#;
    let body = r#"{"error":{"code":401,"message":"Unauthorized: the API key has expired"}}"#;
    let only_challenge = r#"{"error":{"code":401,"message":"Unauthorized"}}"#;
    let only_body = (Some("Bearer"), body);
    for (challenge, body) in [
        (Some(challenge), body),
        (Some(challenge), only_challenge),
        only_body,
    ] {
        let server = MockServer::start().await;
        let response = ResponseTemplate::new(401)
            .set_body_raw(body, "application/json")
            .insert_header("WWW-Authenticate", challenge.unwrap_or_default());
        Mock::given(wiremock::matchers::any())
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let auth = CountingAuth::fixed();
        let connection = builder(&server).auth(auth.clone()).build().unwrap();
        let err = connection.records().get("1").await.unwrap_err();
        assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
        assert!(err.is_expired_credentials(), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("the API key has expired: create a new key"),
            "{text}"
        );
        assert!(!text.contains("token-1"), "{text}");
        // The usual 401 path: the strategy was asked once (and could not renew).
        assert_eq!(auth.unauthorized(), 1);
    }
}

#[tokio::test]
async fn other_401s_keep_their_message() {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(401)
        .set_body_raw(
            r#"{"error":{"code":401,"message":"Unauthorized: send a valid token"}}"#,
            "application/json",
        )
        .insert_header("WWW-Authenticate", "Bearer");
    Mock::given(wiremock::matchers::any())
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    let connection = builder(&server)
        .auth(CountingAuth::fixed())
        .build()
        .unwrap();
    let err = connection.records().get("1").await.unwrap_err();
    assert!(!err.is_expired_credentials(), "{err:?}");
    assert!(
        err.to_string()
            .contains("check the credentials (a wrong, expired, rotated or revoked"),
        "{err}"
    );
    // An expired access token (not a key) is told apart.
    let token = Error::Unauthorized {
        message: "the access token has expired".into(),
        challenge: Some(r#"Bearer error="invalid_token""#.into()),
    };
    assert!(token.is_expired_credentials());
    assert!(
        token.to_string().contains("the credentials have expired"),
        "{token}"
    );
}

#[tokio::test]
async fn a_key_is_created_with_scopes_and_an_expiry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/api-keys"))
        .and(body_json(json!({
            "name": "ci-reader",
            "scopes": ["records:read", "logs:read"],
            "expires_at": "2030-01-01T00:00:00Z"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "k1", "name": "ci-reader", "key": "sk_SECRET",
            "scopes": ["records:read", "logs:read"], "expires_at": "2030-01-01T00:00:00Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let connection = common::connection(&server);
    let expires = time::macros::datetime!(2030-01-01 00:00 UTC);
    let new = NewApiKey::new("ci-reader")
        .scope(scopes::RECORDS_READ)
        .scope(scopes::LOGS_READ)
        .expires_at(expires);
    let created = connection.api_keys().create_with(&new).await.unwrap();
    assert_eq!(created.scopes, vec!["records:read", "logs:read"]);
    assert_eq!(created.expires_at.as_deref(), Some("2030-01-01T00:00:00Z"));
    assert_eq!(created.key.expose(), "sk_SECRET");
    assert!(!format!("{created:?}").contains("sk_SECRET"));
}

#[tokio::test]
async fn the_simple_create_sends_only_the_name_and_an_old_answer_decodes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/api-keys"))
        .and(body_json(json!({"name": "ci"})))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": 7, "name": "ci", "key": "sk_X", "expires_at": null})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let created = common::connection(&server)
        .api_keys()
        .create("ci")
        .await
        .unwrap();
    assert_eq!(created.id, "7");
    assert!(created.scopes.is_empty() && created.expires_at.is_none());
}

#[tokio::test]
async fn asking_for_a_scope_the_caller_lacks_is_forbidden() {
    let server = MockServer::start().await;
    let challenge = r#"Bearer error="insufficient_scope", scope="keys:manage""#;
    let (connection, _) = one_answer(
        &server,
        forbidden(
            Some(challenge),
            r#"{"error":{"code":403,"message":"the caller lacks keys:manage"}}"#,
        ),
    )
    .await;
    let err = connection
        .api_keys()
        .create_with(&NewApiKey::new("x").scopes([scopes::KEYS_MANAGE]))
        .await
        .unwrap_err();
    assert_eq!(err.missing_scope(), Some("keys:manage"), "{err:?}");
}

#[tokio::test]
async fn listed_keys_show_scopes_and_expiry_whatever_the_server_sends() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/api-keys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "a", "name": "full", "scopes": scopes::ALL, "expires_at": null},
            {"id": "b", "name": "reader", "scopes": ["records:read"],
             "expires_at": "2030-01-01T00:00:00Z"},
            {"id": "c", "name": "old server"},
            {"id": "d", "name": "null scopes", "scopes": null},
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let keys = common::connection(&server).api_keys().list().await.unwrap();
    assert_eq!(keys[0].scopes.len(), 5);
    assert_eq!(keys[0].expires_at, None);
    assert_eq!(keys[1].scopes, vec!["records:read"]);
    assert_eq!(keys[1].expires_at.as_deref(), Some("2030-01-01T00:00:00Z"));
    assert!(keys[2].scopes.is_empty() && keys[3].scopes.is_empty());
    let shown: Value = serde_json::to_value(&keys[1]).unwrap();
    assert_eq!(shown["scopes"], json!(["records:read"]));
}
