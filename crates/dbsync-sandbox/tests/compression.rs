//! The sandbox compresses a response with gzip when the request asks (`Accept-Encoding: gzip`)
//! and only then.

mod common;

use std::io::Read as _;

use dbsync_sandbox::Sandbox;
use serde_json::Value;

/// A client that neither asks for nor decodes compression by itself.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder().no_gzip().build().unwrap()
}

#[tokio::test]
async fn a_page_is_gzipped_when_asked_and_plain_otherwise() {
    let sandbox = common::checked(Sandbox::builder().seed_records(1000))
        .start()
        .await
        .unwrap();
    let url = format!("{}/v1/records?limit=1000", sandbox.base_url());
    let http = raw_client();

    let plain = http.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();

    let gzipped = http
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.status(), 200);
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    assert_eq!(gzipped.headers()["vary"], "accept-encoding");
    let gzipped = gzipped.bytes().await.unwrap();
    assert!(
        gzipped.len() * 3 < plain.len(),
        "{} vs {}",
        gzipped.len(),
        plain.len()
    );

    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_end(&mut inflated)
        .unwrap();
    assert_eq!(inflated, plain);
    let page: Value = serde_json::from_slice(&inflated).unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 1000);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_encoding_it_does_not_speak_gets_plain_json() {
    let sandbox = common::checked(Sandbox::builder().seed_records(10))
        .start()
        .await
        .unwrap();
    let response = raw_client()
        .get(format!("{}/v1/records", sandbox.base_url()))
        .header("accept-encoding", "br, zstd")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("content-encoding").is_none());
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 10);
    sandbox.shutdown().await;
}
