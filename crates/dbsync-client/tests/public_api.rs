//! What the public API promises a user: an `Auth` strategy written against dbsync-client alone
//! (no dbsync-auth, async-trait or http dependency needed), and call shapes that compile
//! without type annotations.

use dbsync_client::http::{HeaderMap, HeaderValue};
use dbsync_client::{
    Auth, AuthError, AuthRequest, Connection, IncrementalOptions, Query, Record, async_trait,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A key in a header of its own, written with dbsync-client's re-exports only.
#[derive(Debug)]
struct HeaderKey(&'static str);

#[async_trait]
impl Auth for HeaderKey {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        request.set_header("x-api-key", self.0)
    }

    async fn on_unauthorized_for(&self, _sent: &HeaderMap) -> Result<bool, AuthError> {
        Ok(false)
    }

    fn scheme(&self) -> &'static str {
        "header-key"
    }
}

#[tokio::test]
async fn a_strategy_built_from_the_client_crate_alone_authorizes_calls() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/records/7"))
        .and(header("x-api-key", "k-123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": 7})))
        .expect(1)
        .mount(&server)
        .await;
    let connection = Connection::builder()
        .base_url(server.uri())
        .auth(HeaderKey("k-123"))
        .build()
        .unwrap();
    let record: Record = connection.records().get(7).await.unwrap();
    assert_eq!(record["id"], 7);
    assert_eq!(connection.auth_scheme(), "header-key");
    let _ = HeaderValue::from_static("unused");
}

#[test]
fn changes_since_takes_a_bare_none() {
    let connection = Connection::builder()
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    let scan =
        connection
            .records()
            .changes_since(Query::new(), None, IncrementalOptions::default());
    assert!(scan.is_ok());
}
