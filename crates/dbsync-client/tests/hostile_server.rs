//! The library against a hostile server (`dbsync-hostile`), one test per misbehaviour: each
//! call or scan ends in bounded time, reads no more than its limit, fails with a clear error
//! of the right kind, and never shows the connection's secret.

use std::future::Future;
use std::time::{Duration, Instant};

use dbsync_auth::{BearerAuth, OAuth2Auth};
use dbsync_client::{Connection, ConnectionBuilder, Error, Query, RetryPolicy, ScanOptions};
use dbsync_hostile::{HostileServer, Mode, TokenAnswer};
use futures::StreamExt as _;
use serde_json::{Value, json};

/// The connection's token: it must never show in an error.
const SECRET: &str = "hostile-SECRET-7f3a9c";
const MIB: u64 = 1024 * 1024;
/// What a client may read past its limit: kernel socket buffers on both sides of loopback.
const SOCKET_SLACK: u64 = 32 * MIB;

async fn start(mode: Mode) -> HostileServer {
    HostileServer::start(mode).await.unwrap()
}

/// A Bearer connection to `server` with quick retries and a 5 s timeout per attempt.
fn builder(server: &HostileServer) -> ConnectionBuilder {
    Connection::builder()
        .base_url(server.url())
        .auth(BearerAuth::new(SECRET))
        .timeout(Duration::from_secs(5))
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(4)),
        )
}

fn connect(server: &HostileServer) -> Connection {
    builder(server).build().unwrap()
}

/// Runs `work` with a 20 s bound; returns its output and how long it took.
async fn bounded<T>(work: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(20), work)
        .await
        .expect("ended in bounded time");
    (out, started.elapsed())
}

/// The error is clear (not empty) and shows no secret, in Display and Debug.
fn assert_clean(error: &Error) {
    let text = error.to_string();
    assert!(text.len() > 20, "a clear message: {text}");
    assert!(!text.contains(SECRET), "the secret in {text}");
    assert!(
        !format!("{error:?}").contains(SECRET),
        "the secret in {error:?}"
    );
}

/// Prints what the server wrote and how long the call took (the figures of
/// docs/reliability.md, shown with --nocapture).
fn figure(what: &str, server: &HostileServer, took: Duration) {
    eprintln!(
        "figure: {what}: {} requests, {:.1} MiB written, {} ms",
        server.request_count(),
        server.bytes_sent() as f64 / MIB as f64,
        took.as_millis()
    );
}

fn assert_too_large(error: &Error, limit: &str) {
    assert_eq!(error.kind(), "response_too_large", "{error}");
    assert!(error.to_string().contains(limit), "{error}");
    assert!(!error.is_retryable());
    assert_clean(error);
}

/// Runs a scan of pages of 10 to its end: what it yielded and the error it ended with.
async fn scan(connection: &Connection, options: ScanOptions) -> (Vec<Value>, Option<Error>) {
    let mut scan = connection
        .records()
        .scan_with(Query::new().limit(10), options);
    let mut records = Vec::new();
    while let Some(item) = scan.next().await {
        match item {
            Ok(record) => records.push(record),
            Err(error) => return (records, Some(error)),
        }
    }
    (records, None)
}

#[tokio::test]
async fn an_endless_body_stops_at_the_limit() {
    let server = start(Mode::EndlessBody).await;
    let connection = builder(&server)
        .max_response_bytes(MIB as usize)
        .build()
        .unwrap();
    let (result, took) = bounded(connection.records().get("1")).await;
    figure("endless body, 1 MiB cap", &server, took);
    assert_too_large(&result.unwrap_err(), "1 MiB");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(server.request_count(), 1, "not retried");
    assert!(
        server.bytes_sent() < MIB + SOCKET_SLACK,
        "{}",
        server.bytes_sent()
    );
}

#[tokio::test]
async fn an_endless_body_stops_at_the_default_limit() {
    let server = start(Mode::EndlessBody).await;
    let connection = Connection::builder()
        .base_url(server.url())
        .auth(BearerAuth::new(SECRET))
        .build()
        .unwrap();
    let (result, took) = bounded(connection.records().get("1")).await;
    figure("endless body, default cap", &server, took);
    assert_too_large(&result.unwrap_err(), "64 MiB");
    assert!(server.bytes_sent() < 64 * MIB + SOCKET_SLACK);
}

#[tokio::test]
async fn a_200_mb_error_body_stops_at_the_limit_unretried() {
    let server = start(Mode::HugeErrorBody { bytes: 200 * MIB }).await;
    let connection = builder(&server)
        .max_response_bytes(2 * MIB as usize)
        .build()
        .unwrap();
    let (result, took) = bounded(connection.records().get("1")).await;
    figure("200 MB error body, 2 MiB cap", &server, took);
    let error = result.unwrap_err();
    assert_too_large(&error, "2 MiB");
    assert!(error.to_string().contains("500"), "{error}");
    assert_eq!(server.request_count(), 1, "a 500 this large is not retried");
    assert!(server.bytes_sent() < 2 * MIB + SOCKET_SLACK);
}

#[tokio::test]
async fn endless_pages_end_at_the_scan_caps() {
    let server = start(Mode::EndlessPages).await;
    let connection = connect(&server);
    let ((records, error), _) =
        bounded(scan(&connection, ScanOptions::default().max_pages(5))).await;
    assert_eq!(records.len(), 50);
    let error = error.expect("an error");
    assert!(error.to_string().contains("cap of 5 pages"), "{error}");
    assert_clean(&error);
    let ((records, error), _) =
        bounded(scan(&connection, ScanOptions::default().max_records(1_000))).await;
    assert_eq!(records.len(), 1_000);
    assert!(
        error
            .expect("an error")
            .to_string()
            .contains("cap of 1000 records")
    );
}

#[tokio::test]
async fn the_same_page_at_every_offset_ends_the_scan() {
    let server = start(Mode::SamePage).await;
    let ((records, error), _) = bounded(scan(&connect(&server), ScanOptions::default())).await;
    assert_eq!(records.len(), 10, "the page once");
    let error = error.expect("an error");
    assert!(error.to_string().contains("same records"), "{error}");
    assert_clean(&error);
    assert!(server.request_count() <= 10, "{}", server.request_count());
}

#[tokio::test]
async fn a_page_longer_than_the_limit_is_the_servers_fault() {
    let server = start(Mode::LongPage).await;
    let connection = connect(&server);
    let (result, _) = bounded(connection.records().list(&Query::new().limit(10))).await;
    let error = result.unwrap_err();
    assert_eq!(error.kind(), "decode");
    assert!(
        error
            .to_string()
            .contains("11 records to a page of at most 10"),
        "{error}"
    );
    assert_clean(&error);
    let ((records, error), _) = bounded(scan(&connection, ScanOptions::default())).await;
    assert!(records.is_empty());
    assert!(
        error
            .expect("an error")
            .to_string()
            .contains("more than asked for")
    );
}

/// A body that drips and a server that never answers both end at the timeout, retries and
/// all within the call's deadline.
#[tokio::test]
async fn a_dripping_body_and_a_silent_server_time_out() {
    for mode in [
        Mode::Drip {
            every: Duration::from_millis(50),
        },
        Mode::Silent,
    ] {
        let server = start(mode.clone()).await;
        let connection = builder(&server)
            .timeout(Duration::from_millis(500))
            .retry(RetryPolicy::default().call_deadline(Duration::from_secs(2)))
            .build()
            .unwrap();
        let (result, took) = bounded(connection.records().get("1")).await;
        let error = result.unwrap_err();
        assert!(error.is_timeout(), "{mode:?}: {error:?}");
        assert_eq!(error.kind(), "timeout");
        assert!(!error.to_string().contains("decode"), "{error}");
        assert!(took < Duration::from_secs(4), "{mode:?}: {took:?}");
        assert_clean(&error);
    }
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let target = start(Mode::EndlessBody).await;
    for status in [301, 302, 303, 307, 308] {
        // The Location even echoes the token: the error must not show it.
        let location = format!("{}/v1/records/1?access_token={SECRET}", target.url());
        let server = start(Mode::Redirect { status, location }).await;
        let (result, _) = bounded(connect(&server).records().get("1")).await;
        let error = result.unwrap_err();
        assert_eq!(error.status(), Some(status), "{error:?}");
        assert!(
            error.to_string().contains("redirects are not followed"),
            "{error}"
        );
        assert!(
            error.to_string().contains(target.url()),
            "names the target: {error}"
        );
        assert_clean(&error);
        let sent = &server.received()[0];
        assert_eq!(
            sent.header("authorization"),
            Some(&*format!("Bearer {SECRET}"))
        );
    }
    assert_eq!(target.request_count(), 0, "nothing went to the other host");
}

#[tokio::test]
async fn absurd_retry_after_values_end_the_call_quickly() {
    for value in ["86400", &u64::MAX.to_string(), "-1", "garbage", "1e9", ""] {
        let server = start(Mode::RetryAfter(value.to_owned())).await;
        let (result, took) = bounded(connect(&server).records().get("1")).await;
        let error = result.unwrap_err();
        assert_eq!(error.kind(), "rate_limited", "{value}: {error}");
        assert!(took < Duration::from_secs(5), "{value}: {took:?}");
        assert!(
            server.request_count() <= 3,
            "{value}: {}",
            server.request_count()
        );
        assert_clean(&error);
        if error
            .retry_after()
            .is_some_and(|w| w > Duration::from_secs(60))
        {
            assert_eq!(
                server.request_count(),
                1,
                "{value}: a wait past the cap is not tried"
            );
        }
    }
}

/// A reset a day away or past `u64::MAX` pauses each page for the caller's cap only.
#[tokio::test]
async fn absurd_rate_limit_resets_pause_only_for_the_cap() {
    let in_a_day = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 86_400;
    for value in [
        in_a_day.to_string(),
        u64::MAX.to_string(),
        "99999999999999999999999".into(),
    ] {
        let server = start(Mode::RateLimitReset(value.clone())).await;
        let connection = builder(&server)
            .retry(RetryPolicy::default().max_retry_after(Duration::from_millis(200)))
            .build()
            .unwrap();
        let stream = connection.records().stream(Query::new().limit(10));
        let (records, took) = bounded(stream.collect::<Vec<_>>()).await;
        let ids: Vec<Value> = records
            .into_iter()
            .map(|r| r.unwrap()["id"].clone())
            .collect();
        assert_eq!(
            ids,
            (0..25).map(|id| json!(id)).collect::<Vec<_>>(),
            "{value}"
        );
        assert!(took < Duration::from_secs(5), "{value}: {took:?}");
    }
}

async fn oauth_get(answer: TokenAnswer) -> (HostileServer, Result<Value, Error>) {
    let server = start(Mode::Token(answer)).await;
    let auth =
        OAuth2Auth::client_credentials("client", SECRET, format!("{}/oauth/token", server.url()))
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
    let connection = builder(&server).auth(auth).build().unwrap();
    let (result, took) = bounded(connection.records().get("1")).await;
    figure("token endpoint", &server, took);
    (server, result)
}

#[tokio::test]
async fn garbage_and_huge_token_responses_are_auth_errors() {
    for answer in [
        TokenAnswer::Html,
        TokenAnswer::Truncated,
        TokenAnswer::Huge { bytes: 100 * MIB },
        TokenAnswer::LongToken {
            bytes: MIB as usize,
        },
    ] {
        eprintln!("figure: {answer:?}");
        let (server, result) = oauth_get(answer.clone()).await;
        let error = result.unwrap_err();
        assert_eq!(error.kind(), "auth", "{answer:?}: {error}");
        assert!(error.to_string().contains("token"), "{answer:?}: {error}");
        assert_clean(&error);
        assert!(
            server.received().iter().all(|r| r.path() == "/oauth/token"),
            "{answer:?}: no API call without a token"
        );
        assert!(server.bytes_sent() < 2 * MIB + SOCKET_SLACK, "{answer:?}");
    }
}

#[tokio::test]
async fn escape_sequences_reach_the_library_exactly() {
    let server = start(Mode::Escapes).await;
    let connection = connect(&server);
    let (record, _) = bounded(connection.records().get("1")).await;
    let record = record.unwrap();
    assert_eq!(record["\u{1b}]0;pwned\u{7}"], "title\u{1b}]0;pwned\u{7}");
    assert_eq!(record["note"], "\u{1b}[2J\u{9b}2J cleared");
    let (result, _) = bounded(connection.records().get("2")).await;
    let error = result.unwrap_err();
    assert_eq!(error.kind(), "not_found");
    assert!(
        error.to_string().contains("\u{1b}]0;pwned"),
        "the CLI escapes it: {error:?}"
    );
    assert_clean(&error);
}

#[tokio::test]
async fn huge_and_countless_headers_fail_cleanly() {
    for mode in [
        Mode::HugeHeader {
            bytes: MIB as usize,
        },
        Mode::ManyHeaders { count: 10_000 },
    ] {
        let server = start(mode.clone()).await;
        let (result, took) = bounded(connect(&server).records().get("1")).await;
        let error = result.unwrap_err();
        assert_eq!(error.kind(), "broken", "{mode:?}: {error:?}");
        assert!(took < Duration::from_secs(5), "{mode:?}: {took:?}");
        assert_clean(&error);
    }
}

#[tokio::test]
async fn invalid_utf8_in_a_body_is_a_decode_error() {
    let server = start(Mode::InvalidUtf8Body).await;
    let connection = connect(&server);
    let (result, _) = bounded(connection.records().get("1")).await;
    let error = result.unwrap_err();
    assert_eq!(error.kind(), "decode", "{error:?}");
    assert!(!error.is_retryable());
    assert_clean(&error);
    let (result, _) = bounded(connection.records().list(&Query::new())).await;
    assert_eq!(result.unwrap_err().kind(), "decode");
    assert_eq!(server.request_count(), 2, "not retried");
}

#[tokio::test]
async fn invalid_utf8_in_header_values_is_ignored() {
    let server = start(Mode::InvalidUtf8Header).await;
    let connection = connect(&server);
    let (record, took) = bounded(connection.records().get("1")).await;
    assert_eq!(record.unwrap()["id"], "1");
    assert!(
        took < Duration::from_secs(2),
        "no pause from a garbled reset: {took:?}"
    );
}
