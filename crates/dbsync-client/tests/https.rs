//! End-to-end over HTTPS against the sandbox's `tls` mode: a private CA (trusted or not),
//! HTTP/2 by ALPN, a client certificate, a CONNECT proxy; and the bad TLS and proxy settings.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dbsync_client::{Connection, ConnectionBuilder, Error, RetryPolicy, TransportKind};
use dbsync_sandbox::Sandbox;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Every test is bounded by this.
const LIMIT: Duration = Duration::from_secs(20);

async fn https_sandbox() -> Sandbox {
    common::checked(Sandbox::builder().tls(true).seed_records(3))
        .start()
        .await
        .unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A builder for `sandbox` that ignores the machine's proxy variables and retries nothing.
fn builder(sandbox: &Sandbox) -> ConnectionBuilder {
    Connection::builder()
        .base_url(sandbox.base_url())
        .proxy_from_env(false)
        .retry(RetryPolicy::default().max_retries(0))
}

#[tokio::test]
async fn with_the_ca_calls_succeed_over_http2() {
    let sandbox = https_sandbox().await;
    assert!(sandbox.base_url().starts_with("https://127.0.0.1:"));
    let dir = tempfile::tempdir().unwrap();
    let ca = write(&dir, "ca.pem", sandbox.ca_certificate_pem().unwrap());
    let connection = builder(&sandbox)
        .ca_certificate_pem_file(&ca)
        .build()
        .unwrap();
    let report = tokio::time::timeout(LIMIT, connection.validate())
        .await
        .unwrap()
        .unwrap();
    let _ = report;
    assert!(
        sandbox.http2_requests() >= 1,
        "the call went over HTTP/1 although the server offered h2"
    );

    // The same from settings JSON, with `localhost` (also in the certificate).
    let url = sandbox.base_url().replace("127.0.0.1", "localhost");
    let settings = serde_json::json!({
        "api_url": url,
        "tls": {"ca_file": ca},
        "proxy_from_env": false,
        "retry": {"max_retries": 0},
    });
    let connection = Connection::from_settings_json(&settings.to_string()).unwrap();
    let before = sandbox.http2_requests();
    let page = tokio::time::timeout(
        LIMIT,
        connection
            .records()
            .list(&dbsync_client::Query::new().limit(2)),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(page.data.len(), 2);
    assert!(sandbox.http2_requests() > before);
}

#[tokio::test]
async fn without_the_ca_the_error_is_tls_and_says_to_add_it() {
    let sandbox = https_sandbox().await;
    let connection = builder(&sandbox).build().unwrap();
    let error = tokio::time::timeout(LIMIT, connection.validate())
        .await
        .unwrap()
        .unwrap_err();
    let Error::Transport { kind, message, .. } = &error else {
        panic!("not a transport error: {error}");
    };
    assert_eq!(*kind, TransportKind::Tls, "{message}");
    assert!(message.contains("tls.ca_file"), "{message}");
    assert!(message.contains("ca_certificate_pem_file"), "{message}");
    assert!(
        sandbox.request_log().is_empty(),
        "no request may reach a server that was not trusted"
    );
}

#[tokio::test]
async fn a_client_certificate_is_presented_when_the_server_requires_one() {
    let sandbox = common::checked(
        Sandbox::builder()
            .tls(true)
            .require_client_certificates(true),
    )
    .start()
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = write(&dir, "ca.pem", sandbox.ca_certificate_pem().unwrap());
    let identity = sandbox.client_identity_pem().unwrap();
    let cert = write(&dir, "client.pem", &identity.cert_pem);
    let key = write(&dir, "client.key", &identity.key_pem);

    let with = builder(&sandbox)
        .ca_certificate_pem_file(&ca)
        .client_identity_pem_files(&cert, &key)
        .build()
        .unwrap();
    tokio::time::timeout(LIMIT, with.validate())
        .await
        .unwrap()
        .unwrap();

    let without = builder(&sandbox)
        .ca_certificate_pem_file(&ca)
        .build()
        .unwrap();
    let before = sandbox.request_log().len();
    let error = tokio::time::timeout(LIMIT, without.validate())
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error}");
    assert_eq!(sandbox.request_log().len(), before, "refused before HTTP");
}

/// A CONNECT proxy on 127.0.0.1 that counts its tunnels, for at most `max` connections.
async fn connect_proxy(max: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let tunnels = Arc::new(AtomicUsize::new(0));
    let count = tunnels.clone();
    tokio::spawn(async move {
        for _ in 0..max {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let count = count.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(LIMIT, tunnel(client, count)).await;
            });
        }
    });
    (url, tunnels)
}

/// Reads one `CONNECT host:port` head (at most 8 KiB), opens the tunnel and copies both ways.
async fn tunnel(mut client: TcpStream, count: Arc<AtomicUsize>) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 || client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let Some(target) = head
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("CONNECT "))
        .and_then(|rest| rest.split_whitespace().next())
    else {
        client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            .await?;
        return Ok(());
    };
    // Only the loopback sandbox is ever a target.
    if !target.starts_with("127.0.0.1:") && !target.starts_with("localhost:") {
        client.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").await?;
        return Ok(());
    }
    let mut server = TcpStream::connect(target).await?;
    count.fetch_add(1, Ordering::SeqCst);
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}

#[tokio::test]
async fn requests_go_through_the_configured_proxy() {
    let sandbox = https_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = write(&dir, "ca.pem", sandbox.ca_certificate_pem().unwrap());
    let (proxy, tunnels) = connect_proxy(4).await;

    let connection = builder(&sandbox)
        .ca_certificate_pem_file(&ca)
        .proxy(&proxy)
        .build()
        .unwrap();
    tokio::time::timeout(LIMIT, connection.validate())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        tunnels.load(Ordering::SeqCst),
        1,
        "the call did not use the proxy"
    );

    // `no_proxy` sends the sandbox's host around the proxy.
    let direct = builder(&sandbox)
        .ca_certificate_pem_file(&ca)
        .proxy(&proxy)
        .no_proxy("127.0.0.1")
        .build()
        .unwrap();
    tokio::time::timeout(LIMIT, direct.validate())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        tunnels.load(Ordering::SeqCst),
        1,
        "no_proxy was not honoured"
    );
}

#[tokio::test]
async fn a_proxy_that_is_down_fails_the_call_and_never_falls_back_to_direct() {
    let sandbox = https_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = write(&dir, "ca.pem", sandbox.ca_certificate_pem().unwrap());
    // A port with nothing listening: bind, note it, close.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let connection = builder(&sandbox)
        .ca_certificate_pem_file(&ca)
        .proxy(&proxy)
        .build()
        .unwrap();
    let error = tokio::time::timeout(LIMIT, connection.validate())
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error}");
    assert!(sandbox.request_log().is_empty(), "went around the proxy");
}

/// The bad settings of issue 14: each an `Error::Config` naming the setting, when building.
#[test]
fn bad_tls_and_proxy_settings_are_config_errors_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = write(&dir, "not.pem", "this is not PEM\n");
    let cert = write(
        &dir,
        "cert.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    let cases = [
        (
            serde_json::json!({"tls": {"ca_file": dir.path().join("missing.pem")}}),
            "tls.ca_file",
        ),
        (
            serde_json::json!({"tls": {"ca_file": not_pem}}),
            "tls.ca_file",
        ),
        (
            serde_json::json!({"tls": {"client_cert_file": cert}}),
            "tls.client_key_file",
        ),
        (serde_json::json!({"proxy": "http://[::1"}), "proxy"),
        (
            serde_json::json!({"proxy": "ftp://proxy.example.com"}),
            "proxy",
        ),
    ];
    for (extra, setting) in cases {
        let mut settings = serde_json::json!({"api_url": "https://api.example.com"});
        for (key, value) in extra.as_object().unwrap() {
            settings[key] = value.clone();
        }
        let error = Connection::from_settings_json(&settings.to_string()).unwrap_err();
        let Error::Config(message) = &error else {
            panic!("{settings}: not a config error: {error}");
        };
        assert!(message.contains(setting), "{settings}: {message}");
    }
}

#[test]
fn a_proxy_with_credentials_is_never_shown() {
    let error = Connection::from_settings_json(
        r#"{"api_url":"https://api.example.com","proxy":"http://u:s3cret@proxy:3128"}"#,
    )
    .unwrap_err();
    assert!(error.to_string().contains("proxy"), "{error}");
    assert!(!error.to_string().contains("s3cret"), "{error}");
    let connection = Connection::builder()
        .base_url("https://api.example.com")
        .proxy("http://u:s3cret@127.0.0.1:3128")
        .build()
        .unwrap();
    assert!(!format!("{connection:?}").contains("s3cret"));
}

#[test]
fn tls_and_proxy_settings_cannot_be_lost_on_a_callers_client() {
    let error = Connection::builder()
        .base_url("https://api.example.com")
        .http_client(reqwest::Client::new())
        .proxy("http://127.0.0.1:3128")
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error}");
    assert!(error.to_string().contains("http_client"), "{error}");
}
