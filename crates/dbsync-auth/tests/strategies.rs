//! Each simple strategy's exact header, checked on a real request built through `AuthRequest`.

use dbsync_auth::{Auth, AuthRequest, BasicAuth, BearerAuth, NoAuth};
use http::{HeaderMap, Method};
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Sends `GET /v1/records` to `server`, authorized by `auth`, and returns the status.
async fn send(auth: &dyn Auth, server: &MockServer) -> u16 {
    let method = Method::GET;
    let mut url = Url::parse(&format!("{}/v1/records", server.uri())).unwrap();
    let mut headers = HeaderMap::new();
    auth.authorize(&mut AuthRequest::new(&method, &mut url, &mut headers))
        .await
        .unwrap();
    // The credential header is marked sensitive, so HTTP logging layers do not print it.
    assert!(headers.values().all(|v| v.is_sensitive()));
    reqwest::Client::new()
        .request(method, url)
        .headers(headers)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn basic_auth_sends_the_guides_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/records"))
        .and(header("authorization", "Basic ZGVtbzpwQDU1dzByZA=="))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let auth = BasicAuth::new("demo", "p@55w0rd").unwrap();
    assert_eq!(send(&auth, &server).await, 200);
    assert_eq!(auth.scheme(), "basic");
}

#[tokio::test]
async fn basic_auth_refuses_a_colon_in_the_username() {
    let error = BasicAuth::new("de:mo", "p@55w0rd").unwrap_err();
    assert!(error.to_string().contains("':'"), "{error}");
    assert!(!format!("{error} {error:?}").contains("p@55w0rd"));
}

#[tokio::test]
async fn bearer_auth_sends_the_token_and_picks_up_a_rotation() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer key-one"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer key-two"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let auth = BearerAuth::new("key-one");
    let client_side_clone = auth.clone();
    assert_eq!(send(&client_side_clone, &server).await, 200);
    // The key was regenerated: rotating one handle changes every clone, without a rebuild.
    auth.rotate("key-two");
    assert_eq!(send(&client_side_clone, &server).await, 200);
    assert_eq!(send(&auth, &server).await, 200);
}

#[tokio::test]
async fn bearer_auth_refuses_an_empty_token_and_a_line_break() {
    let method = Method::GET;
    let mut url = Url::parse("http://127.0.0.1/v1/records").unwrap();
    let mut headers = HeaderMap::new();
    let mut request = AuthRequest::new(&method, &mut url, &mut headers);
    let error = BearerAuth::new("")
        .authorize(&mut request)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("empty"), "{error}");
    let error = BearerAuth::new("tok\r\nX-Evil: 1")
        .authorize(&mut request)
        .await
        .unwrap_err();
    assert!(!error.to_string().contains("tok"), "{error}");
    assert!(headers.is_empty());
}

#[tokio::test]
async fn no_auth_sends_no_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(send(&NoAuth, &server).await, 200);
    let received = server.received_requests().await.unwrap();
    assert!(received[0].headers.get("authorization").is_none());
    assert!(!NoAuth.sends_credentials());
}

#[test]
fn no_secret_in_debug_or_display_of_the_simple_strategies() {
    let basic = BasicAuth::new("demo", "p@55w0rd").unwrap();
    let bearer = BearerAuth::new("key-SECRET");
    let text = format!(
        "{basic:?} {bearer:?} {} {:?}",
        basic.header_value(),
        basic.header_value()
    );
    assert!(text.contains("demo"), "{text}");
    for secret in ["p@55w0rd", "ZGVtbzpwQDU1dzByZA", "key-SECRET"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}
