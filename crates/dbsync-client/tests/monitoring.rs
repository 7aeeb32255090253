//! Usage, rate-limit headers, API keys, the server's logs and the client's own API log, against
//! the sandbox (and wiremock where a shape or a failure must be forced).

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dbsync_auth::BearerAuth;
use dbsync_client::{
    API_LOG_CSV_HEADER, ApiLogFilter, Connection, Error, ExportFormat, JsonLinesApiLog, LogQuery,
    Query, RetryPolicy,
};
use dbsync_sandbox::{Sandbox, SandboxAuth};
use futures::TryStreamExt as _;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ADMIN: &str = "admin-token-xyz";

async fn bearer_sandbox() -> (Sandbox, Connection) {
    let sandbox = common::checked(
        Sandbox::builder()
            .auth(SandboxAuth::Bearer {
                token: ADMIN.into(),
            })
            .rate_limit(10_000),
    )
    .start()
    .await
    .unwrap();
    let connection = Connection::builder()
        .base_url(sandbox.base_url())
        .auth(BearerAuth::new(ADMIN))
        .build()
        .unwrap();
    (sandbox, connection)
}

#[tokio::test]
async fn usage_and_the_last_rate_limit_headers() {
    let (_sandbox, connection) = bearer_sandbox().await;
    assert_eq!(connection.last_rate_limit(), None, "nothing seen yet");
    let usage = connection.usage().await.unwrap();
    assert_eq!(usage.limit_per_minute, Some(10_000));
    assert!(usage.used.is_some_and(|u| u >= 1));
    assert!(usage.reset_at.is_some());
    let seen = connection.last_rate_limit().unwrap();
    assert_eq!(seen.limit, Some(10_000));
    let remaining = seen.remaining.unwrap();
    connection.records().list(&Query::new()).await.unwrap();
    assert!(connection.last_rate_limit().unwrap().remaining.unwrap() < remaining);

    // A plan without a limit answers nulls.
    let unlimited = common::checked(Sandbox::builder()).start().await.unwrap();
    let open = Connection::builder()
        .base_url(unlimited.base_url())
        .build()
        .unwrap();
    let usage = open.usage().await.unwrap();
    assert_eq!(usage.plan.as_deref(), Some("unlimited"));
    assert_eq!(
        (usage.limit_per_minute, usage.remaining, usage.reset_at),
        (None, None, None)
    );
    assert_eq!(
        open.last_rate_limit(),
        None,
        "no headers, nothing remembered"
    );
}

#[tokio::test]
async fn api_keys_are_listed_created_regenerated_and_revoked() {
    let (sandbox, admin) = bearer_sandbox().await;
    let keys = admin.api_keys();
    let created = keys.create("ci").await.unwrap();
    assert_eq!(created.name, "ci");
    let secret = created.key.expose().to_owned();
    assert!(
        !format!("{created:?}").contains(&secret),
        "Debug shows the key"
    );

    let listed = keys.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, created.id);
    assert!(secret.starts_with(listed[0].prefix.as_deref().unwrap()));

    let user_auth = BearerAuth::new(secret.clone());
    let user = Connection::builder()
        .base_url(sandbox.base_url())
        .auth(user_auth.clone())
        .build()
        .unwrap();
    user.records().list(&Query::new()).await.unwrap();

    let renewed = keys.regenerate(&created.id).await.unwrap();
    assert_ne!(renewed.key.expose(), secret);
    let refused = user.records().list(&Query::new()).await.unwrap_err();
    assert!(matches!(refused, Error::Unauthorized { .. }), "{refused}");

    // The rotation helper switches the running client over.
    let rotated = dbsync_client::rotate_api_key(&admin, &created.id, &user_auth)
        .await
        .unwrap();
    assert_ne!(rotated.key, renewed.key);
    user.records().list(&Query::new()).await.unwrap();

    keys.revoke(&created.id).await.unwrap();
    let refused = user.records().list(&Query::new()).await.unwrap_err();
    assert!(matches!(refused, Error::Unauthorized { .. }), "{refused}");
    let missing = keys.revoke(&created.id).await.unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing}");

    // No secret in the client's API log, whatever the format.
    let entries = admin.api_log().unwrap().entries();
    let mut csv = Vec::new();
    dbsync_client::write_api_log_csv(&entries, &mut csv).unwrap();
    let mut jsonl = Vec::new();
    dbsync_client::write_api_log_json_lines(&entries, &mut jsonl).unwrap();
    let text = format!(
        "{}{}{entries:?}",
        String::from_utf8(csv).unwrap(),
        String::from_utf8(jsonl).unwrap()
    );
    for secret in [&secret, renewed.key.expose(), rotated.key.expose(), ADMIN] {
        assert!(!text.contains(secret), "a secret is in the API log");
    }
    assert!(text.contains("/v1/api-keys/{id}/regenerate"));
}

#[tokio::test]
async fn server_logs_stream_filter_and_export() {
    let (sandbox, connection) = bearer_sandbox().await;
    let records = connection.resource::<serde_json::Value>("notes").unwrap();
    for i in 0..5 {
        records
            .create(&json!({"name": format!("n{i}"), "email": format!("n{i}@example.com")}))
            .await
            .unwrap();
    }
    let _ = records.get("nope-404").await.unwrap_err();
    let before_export = SystemTime::now();

    let logs = connection.logs();
    let all: Vec<_> = logs
        .stream(LogQuery::new().limit(2))
        .try_collect()
        .await
        .unwrap();
    assert!(all.len() >= 6, "{all:?}");
    let posts: Vec<_> = logs
        .stream(LogQuery::new().method("post").endpoint("/v1/notes"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(posts.len(), 5);
    assert!(posts.iter().all(|e| e.method == "POST" && e.status == 201));
    let missing: Vec<_> = logs
        .stream(LogQuery::new().status(404))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].endpoint, "/v1/notes/nope-404");

    // A filter that matches nothing: an empty stream, an export with the header only.
    let nothing = LogQuery::new().to("2000-01-01T00:00:00Z");
    let none: Vec<_> = logs.stream(nothing.clone()).try_collect().await.unwrap();
    assert!(none.is_empty());
    let page = logs.list(&nothing).await.unwrap();
    assert!(page.data.is_empty());
    let mut out = Vec::new();
    let summary = logs
        .export_to_writer(&nothing, ExportFormat::Csv, &mut out)
        .await
        .unwrap();
    assert_eq!(summary.entries, 0);
    assert_eq!(out, b"id,timestamp,method,endpoint,status,duration_ms\n");
    assert!(
        connection
            .api_log()
            .unwrap()
            .query(&ApiLogFilter::new().method("PATCH"))
            .is_empty()
    );

    // Exports, to a file (atomically) and to an async writer.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("posts.csv");
    let summary = logs
        .export_to_file(&LogQuery::new().method("POST"), ExportFormat::Csv, &file)
        .await
        .unwrap();
    assert_eq!(summary.entries, 5);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 6);
    assert!(text.starts_with("id,timestamp,method,endpoint,status,duration_ms\n"));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no partial file left"
    );

    let mut jsonl: Vec<u8> = Vec::new();
    let summary = logs
        .export_to(
            &LogQuery::new().status_class(2),
            ExportFormat::JsonLines,
            &mut jsonl,
        )
        .await
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(jsonl.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, summary.entries);
    assert!(
        lines
            .iter()
            .all(|l| l["status"].as_u64().unwrap() / 100 == 2)
    );
    assert!(!String::from_utf8(jsonl).unwrap().contains(ADMIN));

    // A bad filter is the server's 400, and the file is neither created nor touched.
    std::fs::write(&file, "keep me").unwrap();
    let err = logs
        .export_to_file(
            &LogQuery::new().endpoint("no-slash"),
            ExportFormat::Csv,
            &file,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // The client's own log saw the same calls, by template.
    let log = connection.api_log().unwrap();
    let creates = log.query(
        &ApiLogFilter::new()
            .method("POST")
            .endpoint("/v1/notes")
            .status(201),
    );
    assert_eq!(creates.len(), 5);
    let gets = log.query(&ApiLogFilter::new().endpoint("/v1/notes/{id}"));
    assert_eq!(gets.len(), 1);
    assert_eq!(gets[0].path, "/v1/notes/nope-404");
    assert_eq!(gets[0].error.as_deref(), Some("not_found"));
    let exports = log.query(
        &ApiLogFilter::new()
            .endpoint("/v1/logs/export")
            .from(before_export),
    );
    assert_eq!(exports.len(), 4);
    assert!(
        log.entries().iter().all(|e| !e.path.contains('?')),
        "query strings are not recorded"
    );
    let _ = sandbox;
}

#[tokio::test]
async fn every_attempt_is_recorded_with_its_number_and_error_kind() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/records/7"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/records/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 7})))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("client-api.jsonl");
    let sink = Arc::new(JsonLinesApiLog::open(&file).unwrap());
    let connection = common::builder(&server)
        .api_log_sink(sink.clone())
        .api_log_capacity(2)
        .build()
        .unwrap();
    connection.records().get(7).await.unwrap();

    let from_file = JsonLinesApiLog::read_entries(&file).unwrap();
    let attempts: Vec<_> = from_file
        .iter()
        .map(|e| (e.attempt, e.status, e.error.as_deref()))
        .collect();
    assert_eq!(
        attempts,
        [
            (1, Some(503), Some("server")),
            (2, Some(503), Some("server")),
            (3, Some(200), None)
        ]
    );
    assert!(
        from_file
            .iter()
            .all(|e| e.endpoint == "/v1/records/{id}" && e.path == "/v1/records/7")
    );
    let ring = connection.api_log().unwrap();
    assert_eq!(ring.len(), 2, "the ring keeps its capacity");
    assert_eq!(ring.dropped(), 1);
    let mut csv = Vec::new();
    assert_eq!(
        ring.export_csv(&ApiLogFilter::new().status(200), &mut csv)
            .unwrap(),
        1
    );
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().next(), Some(API_LOG_CSV_HEADER));
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .contains(",GET,/v1/records/{id},/v1/records/7,200,"),
        "{csv}"
    );

    // A transport failure has no status and names its kind; turning the ring off records nothing.
    let dead = Connection::builder()
        .base_url(format!("http://127.0.0.1:{}", common::closed_port()))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    dead.records().get(1).await.unwrap_err();
    let entry = &dead.api_log().unwrap().entries()[0];
    assert_eq!(
        (entry.status, entry.error.as_deref()),
        (None, Some("connect"))
    );
    assert_eq!(
        dead.api_log()
            .unwrap()
            .query(&ApiLogFilter::new().no_response())
            .len(),
        1
    );
    let off = common::builder(&server)
        .api_log_capacity(0)
        .build()
        .unwrap();
    assert!(off.api_log().is_none());
}

#[tokio::test]
async fn the_export_request_carries_the_filters_and_format() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/logs/export"))
        .and(query_param("format", "jsonl"))
        .and(query_param("method", "DELETE"))
        .and(query_param("status", "4xx"))
        .and(query_param("from", "2026-01-01T00:00:00+02:00"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\":1}\n{\"id\":2}"))
        .expect(1)
        .mount(&server)
        .await;
    let mut out = Vec::new();
    let summary = common::connection(&server)
        .logs()
        .export_to_writer(
            &LogQuery::new()
                .method("delete")
                .status_class(4)
                .from("2026-01-01T00:00:00+02:00"),
            ExportFormat::JsonLines,
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!(
        summary.entries, 2,
        "a last line without a line break counts"
    );
    assert_eq!(out, b"{\"id\":1}\n{\"id\":2}");
}

#[tokio::test(start_paused = true)]
async fn an_export_is_retried_before_its_body_starts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("id,timestamp\n1,t\n"))
        .expect(1)
        .mount(&server)
        .await;
    let connection = common::connection(&server);
    let mut out = Vec::new();
    let summary = connection
        .logs()
        .export_to_writer(&LogQuery::new(), ExportFormat::Csv, &mut out)
        .await
        .unwrap();
    assert_eq!(summary.entries, 1);
    let attempts: Vec<_> = connection
        .api_log()
        .unwrap()
        .entries()
        .iter()
        .map(|e| (e.attempt, e.status))
        .collect();
    assert_eq!(attempts, [(1, Some(503)), (2, Some(200))]);
    let _ = Duration::ZERO;
}

#[tokio::test]
async fn a_request_refused_during_a_rotation_is_retried_with_the_new_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer old-key",
        ))
        .respond_with(ResponseTemplate::new(401).insert_header("WWW-Authenticate", "Bearer"))
        .expect(2) // once here, once for the connection without a rotation below
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer new-key",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .expect(1)
        .mount(&server)
        .await;
    let auth = BearerAuth::new("old-key");
    let connection = common::builder(&server).auth(auth.clone()).build().unwrap();
    let rotation = auth.begin_rotation();
    let request = tokio::spawn({
        let connection = connection.clone();
        async move { connection.records().get(1).await }
    });
    // The old key has been refused; the request now waits for the rotation.
    while server.received_requests().await.unwrap().is_empty() {
        tokio::task::yield_now().await;
    }
    rotation.complete("new-key");
    assert_eq!(request.await.unwrap().unwrap(), json!({"id": 1}));
    let attempts: Vec<_> = connection
        .api_log()
        .unwrap()
        .entries()
        .iter()
        .map(|e| (e.attempt, e.status))
        .collect();
    assert_eq!(attempts, [(1, Some(401)), (2, Some(200))]);

    // Without a rotation under way, the current key's 401 is final (one call only).
    let err = Connection::builder()
        .base_url(server.uri())
        .auth(BearerAuth::new("old-key"))
        .build()
        .unwrap()
        .records()
        .get(1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
}

#[tokio::test]
async fn a_new_api_key_cut_short_is_never_quoted_in_the_error() {
    let server = MockServer::start().await;
    for route in ["/v1/api-keys", "/v1/api-keys/k1/regenerate"] {
        Mock::given(method("POST"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(201).set_body_raw(
                r#"{"id":"k1","name":"ci","key":"sk_live_SECRET"#,
                "application/json",
            ))
            .mount(&server)
            .await;
    }
    let connection = common::builder(&server)
        .retry(dbsync_client::RetryPolicy::none())
        .build()
        .unwrap();
    let keys = connection.api_keys();
    for err in [
        keys.create("ci").await.unwrap_err(),
        keys.regenerate("k1").await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("sk_live_SECRET"), "{shown}");
    }
}

/// A server that answers every request with the head of a 1,000-byte CSV export, sends part of
/// it, and hangs up.
async fn export_cut_mid_body() -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/csv\r\ncontent-length: 1000\r\n\r\n\
                      id,timestamp\n1,t\n2,",
                )
                .await;
            let _ = socket.shutdown().await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_export_cut_mid_body_is_an_error_and_leaves_no_file() {
    let base = export_cut_mid_body().await;
    let connection = Connection::builder().base_url(&base).build().unwrap();
    let logs = connection.logs();

    // Into a writer: an error, never a short export reported as complete.
    let mut out = Vec::new();
    let err = logs
        .export_to_writer(&LogQuery::new(), ExportFormat::Csv, &mut out)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(
        err.to_string().contains("reading the export"),
        "the error says the body was cut: {err}"
    );

    // Into a file: the error, and neither the file nor a partial one is left behind.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("logs.csv");
    let err = logs
        .export_to_file(&LogQuery::new(), ExportFormat::Csv, &file)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // A file that was there stays as it was.
    std::fs::write(&file, "keep me").unwrap();
    assert!(
        logs.export_to_file(&LogQuery::new(), ExportFormat::JsonLines, &file)
            .await
            .is_err()
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
