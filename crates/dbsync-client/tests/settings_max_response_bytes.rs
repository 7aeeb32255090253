//! The settings key `max_response_bytes`: read with validation, written back, and applied to
//! the connection (an answer over it fails with `ResponseTooLarge`).

use dbsync_client::{ConnectionSettings, Error, RetryPolicy, TransportKind};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn settings(extra: serde_json::Value) -> Result<ConnectionSettings, Error> {
    let mut value = json!({"api_url": "http://127.0.0.1:9"});
    if let (Some(top), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
        top.extend(extra.clone());
    }
    ConnectionSettings::from_json(&value.to_string())
}

#[test]
fn max_response_bytes_is_read_and_written_back() {
    let parsed = settings(json!({"max_response_bytes": 1_048_576})).unwrap();
    assert_eq!(parsed.max_response_bytes, Some(1_048_576));
    let (written, _) = parsed.to_json(false);
    assert_eq!(written["max_response_bytes"], json!(1_048_576));
    assert_eq!(
        ConnectionSettings::from_json_value(&written).unwrap(),
        parsed
    );

    // Absent: not written, and the connection keeps its default.
    let parsed = settings(json!({})).unwrap();
    assert_eq!(parsed.max_response_bytes, None);
    assert!(parsed.to_json(false).0.get("max_response_bytes").is_none());
    // `null` is the same as absent, like every other optional key.
    assert_eq!(
        settings(json!({"max_response_bytes": null}))
            .unwrap()
            .max_response_bytes,
        None
    );
}

#[test]
fn a_max_response_bytes_that_is_not_a_positive_whole_number_is_refused() {
    for (bad, expected) in [
        (json!(0), "max_response_bytes must be at least 1"),
        (
            json!(-1),
            "max_response_bytes must be a non-negative whole number",
        ),
        (
            json!(1.5),
            "max_response_bytes must be a non-negative whole number",
        ),
        (
            json!("64MiB"),
            "max_response_bytes must be a non-negative whole number",
        ),
        (
            json!(true),
            "max_response_bytes must be a non-negative whole number",
        ),
    ] {
        match settings(json!({ "max_response_bytes": bad })) {
            Err(Error::Config(message)) => assert_eq!(message, expected, "for {bad}"),
            other => panic!("{bad}: expected a config error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_limit_from_settings_reaches_the_connection() {
    let server = MockServer::start().await;
    let record = json!({"id": "1", "padding": "x".repeat(4096)});
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&record))
        .mount(&server)
        .await;
    let json =
        |limit: u64| json!({"api_url": server.uri(), "max_response_bytes": limit}).to_string();

    let small = ConnectionSettings::from_json(&json(1024)).unwrap();
    let connection = small
        .builder_with_env(&|_: &str| None)
        .unwrap()
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    match connection.records().get("1").await {
        Err(Error::Transport {
            kind: TransportKind::ResponseTooLarge,
            ..
        }) => {}
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }

    // The same answer fits a larger limit.
    let large = ConnectionSettings::from_json(&json(65_536)).unwrap();
    let connection = large.connect_with_env(&|_: &str| None).unwrap();
    assert_eq!(connection.records().get("1").await.unwrap(), record);
}
