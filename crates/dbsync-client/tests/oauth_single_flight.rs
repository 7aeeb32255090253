//! 1,000 concurrent calls with an expired OAuth 2.0 token make exactly one token request,
//! whether the client sees the expiry itself or the server refuses the old token with `401`.

mod common;

use std::time::Duration;

use dbsync_auth::OAuth2Auth;
use dbsync_client::Connection;
use futures::future::join_all;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CALLS: usize = 1_000;

fn token(access: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access, "token_type": "Bearer", "expires_in": expires_in
    }))
}

fn connection(server: &MockServer) -> (Connection, OAuth2Auth) {
    let auth =
        OAuth2Auth::client_credentials("app", "s3cret", format!("{}/oauth/token", server.uri()))
            .build()
            .unwrap();
    let connection = Connection::builder()
        .base_url(server.uri())
        .auth(auth.clone())
        .retry(common::quick_retries())
        .build()
        .unwrap();
    (connection, auth)
}

async fn call_many(connection: &Connection) {
    let calls = (0..CALLS).map(|n| {
        let records = connection.records();
        async move { records.get(&n.to_string()).await }
    });
    let results: Vec<Result<Value, _>> = join_all(calls).await;
    for result in results {
        result.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expired_on_the_client_side_is_renewed_once_for_1000_calls() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(token("first", 1)) // renewed after half its life
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(token("second", 3_600))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer second"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .expect(CALLS as u64)
        .mount(&server)
        .await;
    let (connection, auth) = connection(&server);
    assert_eq!(auth.access_token().await.unwrap().expose(), "first");
    tokio::time::sleep(Duration::from_millis(700)).await; // "first" is now stale
    call_many(&connection).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_server_refuses_is_renewed_once_for_1000_calls() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(token("old", 3_600))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(token("new", 3_600))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer old"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("WWW-Authenticate", "Bearer error=\"invalid_token\"")
                .set_body_json(json!({"error": {"code": 401, "message": "token expired"}}))
                // Slow refusals, so that many calls are refused before the token is renewed.
                .set_delay(Duration::from_millis(300)),
        )
        .expect(1..=CALLS as u64)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .expect(CALLS as u64)
        .mount(&server)
        .await;
    let (connection, auth) = connection(&server);
    assert_eq!(auth.access_token().await.unwrap().expose(), "old");
    call_many(&connection).await;
    let refused = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| {
            r.headers
                .get("authorization")
                .is_some_and(|v| v == "Bearer old")
        })
        .count();
    assert!(
        refused >= 100,
        "only {refused} calls were refused concurrently"
    );
    eprintln!("{refused} of {CALLS} calls were refused with the old token; 1 renewal");
}
