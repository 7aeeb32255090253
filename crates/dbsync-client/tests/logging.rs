//! The request path logs one span per call and one event per attempt, with no secret and no body.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::builder;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn attempts_are_logged_without_secrets_or_bodies() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "r1", "ssn": "body-value-123"})),
        )
        .mount(&server)
        .await;
    let conn = builder(&server)
        .auth(dbsync_auth::BearerAuth::new("tok-very-secret"))
        .build()
        .unwrap();
    conn.records()
        .update("person-42", &json!({"ssn": "body-value-123"}))
        .await
        .unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("dbsync_call"), "{logs}");
    assert!(logs.contains("path=/v1/records/{id}"), "{logs}");
    // Each attempt event names its method, endpoint template and error kind itself.
    assert!(
        logs.contains("method=PUT endpoint=/v1/records/{id} attempt=1 status=503"),
        "{logs}"
    );
    assert!(logs.contains("error=\"server\""), "{logs}");
    assert!(
        logs.contains("attempt=1") && logs.contains("status=503"),
        "{logs}"
    );
    assert!(
        logs.contains("attempt=2") && logs.contains("status=200"),
        "{logs}"
    );
    for secret in ["tok-very-secret", "body-value-123", "person-42"] {
        assert!(
            !logs.contains(secret),
            "`{secret}` reached the logs:\n{logs}"
        );
    }
}
