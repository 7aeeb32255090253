//! The client does not trust the server: a response body over the size limit (endless, huge,
//! success or error), a body that stalls, and a single record that is not a JSON object, each
//! end the call with the right error. Raw bodies come from a tiny TCP server on 127.0.0.1.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dbsync_client::{Connection, Error, RetryPolicy, TransportKind};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MIB: usize = 1024 * 1024;

/// What the raw server sends after the request.
#[derive(Clone, Copy)]
enum Script {
    /// A status line and headers, then an endless chunked body of `x`s.
    Endless(&'static str),
    /// A `200` announcing a `Content-Length` of this many bytes, then an endless trickle.
    Announced(u64),
    /// A `200` announcing 100 bytes, sending 10, then stalling for a minute.
    Stall,
    /// A `200` with this JSON object padded to exactly this many bytes, in 16 KiB chunks.
    Exactly(usize),
}

/// Serves `script` to every connection; returns its base URL and the request count.
async fn raw_server(script: Script) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&requests);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let _ = serve(stream, script, &counted).await;
            });
        }
    });
    (url, requests)
}

async fn serve(
    mut stream: TcpStream,
    script: Script,
    requests: &AtomicUsize,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    // Any request body (the tests send small ones with a Content-Length) is left unread.
    requests.fetch_add(1, Ordering::SeqCst);
    let filler = vec![b'x'; 64 * 1024];
    match script {
        Script::Endless(status) => {
            let head = format!("HTTP/1.1 {status}\r\nTransfer-Encoding: chunked\r\n\r\n");
            stream.write_all(head.as_bytes()).await?;
            let chunk = [
                format!("{:x}\r\n", filler.len()).as_bytes(),
                &filler,
                b"\r\n",
            ]
            .concat();
            loop {
                stream.write_all(&chunk).await?;
            }
        }
        Script::Announced(length) => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n");
            stream.write_all(head.as_bytes()).await?;
            loop {
                stream.write_all(&filler).await?;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        Script::Stall => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                        Content-Length: 100\r\n\r\n{\"id\":\"1\",";
            stream.write_all(head.as_bytes()).await?;
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        }
        Script::Exactly(size) => {
            let shell = br#"{"id":"1","pad":""}"#;
            let mut body = shell[..shell.len() - 2].to_vec();
            body.resize(size - 2, b'x');
            body.extend_from_slice(br#""}"#);
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                        Transfer-Encoding: chunked\r\n\r\n";
            stream.write_all(head.as_bytes()).await?;
            for part in body.chunks(16 * 1024) {
                stream
                    .write_all(format!("{:x}\r\n", part.len()).as_bytes())
                    .await?;
                stream.write_all(part).await?;
                stream.write_all(b"\r\n").await?;
                stream.flush().await?;
            }
            stream.write_all(b"0\r\n\r\n").await?;
            stream.flush().await?;
            // Keep the connection open until the client is done with it.
            let _ = stream.read(&mut byte).await;
            Ok(())
        }
    }
}

fn client(url: &str, limit: Option<usize>) -> Connection {
    let mut builder = Connection::builder()
        .base_url(url)
        .timeout(Duration::from_secs(30))
        .retry(common::quick_retries());
    if let Some(limit) = limit {
        builder = builder.max_response_bytes(limit);
    }
    builder.build().unwrap()
}

fn assert_too_large(error: &Error, limit: &str) {
    assert!(
        matches!(
            error,
            Error::Transport {
                kind: TransportKind::ResponseTooLarge,
                ..
            }
        ),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains(limit) && text.contains("max_response_bytes"),
        "the message names the limit and how to raise it: {text}"
    );
    assert_eq!(error.kind(), "response_too_large");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn an_endless_success_body_ends_at_the_limit_unretried() {
    let (url, requests) = raw_server(Script::Endless("200 OK")).await;
    let started = Instant::now();
    let error = client(&url, Some(MIB))
        .records()
        .get("1")
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_too_large(&error, "1 MiB");
    assert_eq!(requests.load(Ordering::SeqCst), 1, "not retried as if cut");
}

#[tokio::test]
async fn an_endless_success_body_ends_at_the_default_limit() {
    let (url, _) = raw_server(Script::Endless("200 OK")).await;
    let started = Instant::now();
    let error = client(&url, None).records().get("1").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_too_large(&error, "64 MiB");
}

#[tokio::test]
async fn a_body_announced_over_the_limit_is_refused_before_it_is_read() {
    let (url, requests) = raw_server(Script::Announced(200 * MIB as u64)).await;
    let started = Instant::now();
    let error = client(&url, None).records().get("1").await.unwrap_err();
    // The trickle would take minutes: the announced length alone ends the call.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_too_large(&error, "64 MiB");
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_huge_error_body_ends_with_the_same_error_unretried() {
    let (url, requests) = raw_server(Script::Endless("503 Service Unavailable")).await;
    let started = Instant::now();
    let error = client(&url, Some(2 * MIB))
        .records()
        .get("1")
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_too_large(&error, "2 MiB");
    assert!(error.to_string().contains("503"), "{error}");
    assert_eq!(
        requests.load(Ordering::SeqCst),
        1,
        "a 503 this large is not retried"
    );
}

#[tokio::test]
async fn a_huge_answer_to_a_create_may_have_been_acted_on() {
    let (url, _) = raw_server(Script::Endless("201 Created")).await;
    let error = client(&url, Some(MIB))
        .records()
        .create(&json!({"name": "a"}))
        .await
        .unwrap_err();
    assert_too_large(&error, "1 MiB");
    assert!(error.to_string().contains("may have acted"), "{error}");
}

#[tokio::test]
async fn a_body_at_the_limit_in_many_chunks_still_works() {
    let (url, _) = raw_server(Script::Exactly(MIB)).await;
    let record = client(&url, Some(MIB)).records().get("1").await.unwrap();
    assert_eq!(record["id"], "1");
    assert_eq!(record["pad"].as_str().map(str::len), Some(MIB - 19));
}

#[tokio::test]
async fn a_body_one_byte_over_the_limit_does_not() {
    let (url, _) = raw_server(Script::Exactly(MIB + 1)).await;
    let error = client(&url, Some(MIB))
        .records()
        .get("1")
        .await
        .unwrap_err();
    assert_too_large(&error, "1 MiB");
}

#[tokio::test]
async fn a_body_that_stalls_past_the_timeout_is_a_timeout() {
    let (url, _) = raw_server(Script::Stall).await;
    let connection = Connection::builder()
        .base_url(url)
        .timeout(Duration::from_millis(500))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    let error = connection.records().get("1").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(
            error,
            Error::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_timeout() && error.is_retryable());
    assert!(!error.to_string().contains("decode"), "{error}");
}

/// The JSON values that are not a record.
const NOT_RECORDS: [&str; 4] = ["[]", "null", "\"x\"", "5"];

fn assert_not_a_record(error: &Error, answer: &str) {
    assert!(matches!(error, Error::Decode { .. }), "{answer}: {error:?}");
    let text = error.to_string();
    assert!(
        text.contains("JSON object") && text.contains("fault of the server"),
        "{answer}: {text}"
    );
}

async fn answering(method_name: &str, route: &str, status: u16, body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method(method_name))
        .and(path(route))
        .respond_with(
            ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json"),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_get_answered_with_json_that_is_not_an_object_fails() {
    for answer in NOT_RECORDS {
        let server = answering("GET", "/v1/records/1", 200, answer).await;
        let result = common::connection(&server).records().get("1").await;
        assert_not_a_record(&result.unwrap_err(), answer);
    }
}

#[tokio::test]
async fn a_create_answered_with_json_that_is_not_an_object_fails() {
    for answer in NOT_RECORDS {
        let server = answering("POST", "/v1/records", 201, answer).await;
        let result = common::connection(&server)
            .records()
            .create(&json!({"name": "a"}))
            .await;
        assert_not_a_record(&result.unwrap_err(), answer);
    }
}

#[tokio::test]
async fn an_update_answered_with_json_that_is_not_an_object_fails() {
    for answer in NOT_RECORDS {
        let server = answering("PUT", "/v1/records/1", 200, answer).await;
        let result = common::connection(&server)
            .records()
            .update("1", &json!({"name": "b"}))
            .await;
        assert_not_a_record(&result.unwrap_err(), answer);
    }
}

#[tokio::test]
async fn a_batch_item_saved_as_json_that_is_not_an_object_fails_alone() {
    let server = MockServer::start().await;
    let mut results = vec![json!({"index": 0, "status": 201, "data": {"id": "a"}})];
    for (n, answer) in ["[]", "\"x\"", "5"].into_iter().enumerate() {
        let data: Value = serde_json::from_str(answer).unwrap();
        results.push(json!({"index": n + 1, "status": 201, "data": data}));
    }
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": results})))
        .mount(&server)
        .await;
    let outcomes = common::connection(&server)
        .records()
        .create_many(&[json!({}), json!({}), json!({}), json!({})])
        .await;
    assert_eq!(outcomes[0].result.as_ref().unwrap()["id"], "a");
    for (outcome, answer) in outcomes[1..].iter().zip(["[]", "\"x\"", "5"]) {
        assert_not_a_record(outcome.result.as_ref().unwrap_err(), answer);
    }
}

#[tokio::test]
async fn a_batch_item_saved_as_null_is_no_record() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/records/batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [
            {"index": 0, "status": 201, "data": null}
        ]})))
        .mount(&server)
        .await;
    let outcomes = common::connection(&server)
        .records()
        .create_many(&[json!({})])
        .await;
    let error = outcomes[0].result.as_ref().unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
}
