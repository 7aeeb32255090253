//! Response compression (the `gzip` feature, on by default): the client asks for gzip and
//! decodes it, against the sandbox and a mock; a compressed body that inflates past the response
//! size limit (a "gzip bomb") ends the call at the limit, counted on the inflated bytes.
#![cfg(feature = "gzip")]

mod common;

use std::io::Write as _;
use std::time::{Duration, Instant};

use dbsync_client::{Connection, Query, Record};
use dbsync_sandbox::Sandbox;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MIB: usize = 1024 * 1024;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn client(url: &str, limit: usize) -> Connection {
    Connection::builder()
        .base_url(url)
        .timeout(Duration::from_secs(30))
        .max_response_bytes(limit)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_page_from_the_sandbox_arrives_compressed_and_decodes() {
    let sandbox = common::checked(Sandbox::builder().seed_records(1000))
        .start()
        .await
        .unwrap();
    let page = client(sandbox.base_url(), MIB)
        .records()
        .list(&Query::new().limit(1000))
        .await
        .unwrap();
    let data: &[Record] = &page.data;
    assert_eq!(data.len(), 1000);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_client_asks_for_gzip_and_decodes_it() {
    let server = MockServer::start().await;
    let record = json!({"id": 7, "name": "x".repeat(1000)});
    Mock::given(method("GET"))
        .and(path("/v1/records/7"))
        .and(header("accept-encoding", "gzip"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .insert_header("content-type", "application/json")
                .set_body_bytes(gzip(record.to_string().as_bytes())),
        )
        .expect(1)
        .mount(&server)
        .await;
    let got: Record = client(&server.uri(), MIB).records().get("7").await.unwrap();
    assert_eq!(got, record);
}

#[tokio::test]
async fn a_gzip_bomb_ends_at_the_limit_on_inflated_bytes() {
    // 64 MiB of spaces before a valid object: about 64 KiB on the wire.
    let mut inflated = vec![b' '; 64 * MIB];
    inflated.extend_from_slice(br#"{"id": 1}"#);
    let bomb = gzip(&inflated);
    assert!(bomb.len() < MIB / 8, "the bomb is small on the wire");
    drop(inflated);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/records/1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .insert_header("content-type", "application/json")
                .set_body_bytes(bomb),
        )
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let error = client(&server.uri(), MIB)
        .records()
        .get("1")
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(error.kind(), "response_too_large", "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("1 MiB") && text.contains("max_response_bytes"),
        "{text}"
    );
    assert!(!error.is_retryable());
}
