//! The sandbox's connection limits, one at a time over raw TCP: header-read, body-read and idle
//! timeouts, the connection cap, graceful shutdown, and HTTP/1 + HTTP/2 still served.

mod common;

use std::time::{Duration, Instant};

use dbsync_sandbox::{Sandbox, SandboxBuilder, SandboxError};
use reqwest::{Client, StatusCode, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(30);
/// How long a test waits for the server to close a connection before failing.
const BOUND: Duration = Duration::from_secs(5);

const GET: &[u8] = b"GET /v1/records?limit=1 HTTP/1.1\r\nHost: sandbox\r\n\r\n";

/// A sandbox whose timeouts are all long except the ones a test sets.
fn builder() -> SandboxBuilder {
    Sandbox::builder()
        .seed_records(3)
        .header_read_timeout(LONG)
        .body_read_timeout(LONG)
        .idle_timeout(LONG)
}

async fn connect(sandbox: &Sandbox) -> TcpStream {
    TcpStream::connect(sandbox.addr()).await.expect("connects")
}

/// Reads until the server closes the connection; returns how long that took and what was read.
async fn until_closed(stream: &mut TcpStream) -> (Duration, String) {
    let started = Instant::now();
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(BOUND, stream.read(&mut buf)).await {
            Err(_) => panic!(
                "the server kept the connection open for {BOUND:?}; read so far: {}",
                String::from_utf8_lossy(&read)
            ),
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => read.extend_from_slice(&buf[..n]),
        }
    }
    (
        started.elapsed(),
        String::from_utf8_lossy(&read).into_owned(),
    )
}

/// Reads one whole response (head and `Content-Length` body) and returns it.
async fn one_response(stream: &mut TcpStream) -> String {
    read_response(stream, true).await
}

/// [`one_response`]; `bounded: false` waits without a tokio timer (for a paused clock, which
/// would fire the timer at once).
async fn read_response(stream: &mut TcpStream, bounded: bool) -> String {
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&read).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(String::from)
                })
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if read.len() >= end + 4 + length {
                return text;
            }
        }
        let n = if bounded {
            tokio::time::timeout(BOUND, stream.read(&mut buf))
                .await
                .expect("a response in time")
        } else {
            stream.read(&mut buf).await
        }
        .expect("readable");
        assert!(n > 0, "closed before a whole response: {text}");
        read.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn half_a_request_line_is_closed_after_the_header_read_timeout() {
    let (sandbox, _) = common::start(builder().header_read_timeout(SHORT)).await;
    let mut stream = connect(&sandbox).await;
    stream.write_all(b"GET /v1/rec").await.unwrap();
    let (waited, read) = until_closed(&mut stream).await;
    assert!(waited >= SHORT - Duration::from_millis(50), "{waited:?}");
    assert!(!read.contains("200 OK"), "{read}");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let (sandbox, _) = common::start(builder().header_read_timeout(SHORT)).await;
    let mut stream = connect(&sandbox).await;
    let (waited, read) = until_closed(&mut stream).await;
    assert!(waited >= SHORT - Duration::from_millis(50), "{waited:?}");
    assert_eq!(read, "");
}

#[tokio::test]
async fn headers_that_trickle_in_are_cut_at_the_header_read_timeout() {
    let (sandbox, _) = common::start(builder().header_read_timeout(SHORT)).await;
    let mut stream = connect(&sandbox).await;
    stream
        .write_all(b"GET /v1/records HTTP/1.1\r\nHost: sandbox\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    // A header byte every 50 ms, never ending: the timer is not reset by progress.
    let mut closed = false;
    while started.elapsed() < BOUND {
        if stream.write_all(b"X").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 64];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buf)).await
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "still open after {BOUND:?}");
    assert!(started.elapsed() < SHORT * 4, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_keep_alive_connection_that_stops_mid_request_is_closed_by_the_header_timer() {
    // Idle timeout long: only hyper's header-read timer can close it.
    let (sandbox, _) = common::start(builder().header_read_timeout(SHORT)).await;
    let mut stream = connect(&sandbox).await;
    stream.write_all(GET).await.unwrap();
    assert!(one_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    stream.write_all(b"GET /v1/records HTT").await.unwrap();
    let (waited, _) = until_closed(&mut stream).await;
    assert!(waited >= SHORT - Duration::from_millis(50), "{waited:?}");
}

#[tokio::test]
async fn a_trickling_body_is_cut_with_a_408_and_the_connection_closed() {
    let (sandbox, _) = common::start(builder().body_read_timeout(SHORT)).await;
    let mut stream = connect(&sandbox).await;
    stream
        .write_all(
            b"POST /v1/records HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let mut read = Vec::new();
    let mut closed = false;
    while started.elapsed() < BOUND {
        let _ = stream.write_all(b" ").await;
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => read.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    let read = String::from_utf8_lossy(&read);
    assert!(closed, "still open after {BOUND:?}: {read}");
    assert!(read.starts_with("HTTP/1.1 408"), "{read}");
    assert!(read.contains("connection: close"), "{read}");
    assert!(read.contains("\"code\":408"), "{read}");
    assert!(started.elapsed() >= SHORT - Duration::from_millis(50));
    assert_eq!(sandbox.record_count("records"), 3, "nothing was created");
}

#[tokio::test]
async fn a_slow_body_that_arrives_in_time_is_served() {
    let (sandbox, _) = common::start(builder().body_read_timeout(Duration::from_secs(5))).await;
    let body = serde_json::to_vec(&common::person(1)).unwrap();
    let mut stream = connect(&sandbox).await;
    let head = format!(
        "POST /v1/records HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(body.len() / 3 + 1) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stream.write_all(chunk).await.unwrap();
    }
    let response = one_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert_eq!(sandbox.record_count("records"), 4);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let (sandbox, _) = common::start(builder().idle_timeout(SHORT)).await;
    let mut stream = connect(&sandbox).await;
    stream.write_all(GET).await.unwrap();
    assert!(one_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    let (waited, read) = until_closed(&mut stream).await;
    assert!(waited >= SHORT - Duration::from_millis(50), "{waited:?}");
    assert_eq!(read, "");
}

#[tokio::test]
async fn an_idle_http2_connection_gets_a_goaway_and_is_closed() {
    let (sandbox, _) = common::start(builder().idle_timeout(SHORT)).await;
    let mut stream = connect(&sandbox).await;
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    // An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
    stream
        .write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    let started = Instant::now();
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(BOUND, stream.read(&mut buf)).await {
            Err(_) => panic!("an idle HTTP/2 connection stayed open for {BOUND:?}"),
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => read.extend_from_slice(&buf[..n]),
        }
    }
    // Somewhere in what was read: a GOAWAY frame header (type 7 on stream 0).
    let goaway = read
        .windows(9)
        .any(|w| w[3] == 7 && w[5..9] == [0, 0, 0, 0] && w[0..3] == [0, 0, 8]);
    assert!(goaway, "{read:?}");
    assert!(started.elapsed() >= SHORT - Duration::from_millis(50));
}

#[tokio::test]
async fn a_long_request_is_not_idle() {
    let (sandbox, http) = common::start(builder().idle_timeout(SHORT).latency(SHORT * 3)).await;
    let response = http
        .get(common::url(&sandbox, "/v1/records"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn http1_and_http2_are_both_served() {
    let (sandbox, http1) = common::start(builder()).await;
    let response = http1
        .get(common::url(&sandbox, "/v1/records"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(response.status(), StatusCode::OK);
    let http2 = Client::builder().http2_prior_knowledge().build().unwrap();
    let response = http2
        .get(common::url(&sandbox, "/v1/records"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_connection_cap_holds_and_a_freed_slot_is_reused() {
    let (sandbox, _) = common::start(builder().max_connections(2)).await;
    let mut first = connect(&sandbox).await;
    first.write_all(GET).await.unwrap();
    assert!(one_response(&mut first).await.starts_with("HTTP/1.1 200"));
    let mut second = connect(&sandbox).await;
    second.write_all(GET).await.unwrap();
    assert!(one_response(&mut second).await.starts_with("HTTP/1.1 200"));

    // The third connects (the kernel's backlog) but is not served while two are open.
    let mut third = connect(&sandbox).await;
    third.write_all(GET).await.unwrap();
    let mut buf = [0u8; 64];
    let waited = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(waited.is_err(), "served past the cap: {waited:?}");

    drop(first);
    let response = one_response(&mut third).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn shutdown_is_prompt_with_idle_and_half_sent_connections_open() {
    let (sandbox, _) = common::start(builder()).await;
    let _silent = connect(&sandbox).await;
    let mut half = connect(&sandbox).await;
    half.write_all(b"GET /v1/rec").await.unwrap();
    let mut kept = connect(&sandbox).await;
    kept.write_all(GET).await.unwrap();
    assert!(one_response(&mut kept).await.starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    sandbox.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let (_, read) = until_closed(&mut kept).await;
    assert_eq!(read, "");
}

#[tokio::test]
async fn an_in_flight_request_finishes_during_shutdown() {
    let (sandbox, http) = common::start(builder().latency(SHORT)).await;
    let url = common::url(&sandbox, "/v1/records");
    let call = tokio::spawn(async move { http.get(url).send().await.map(|r| r.status()) });
    tokio::time::sleep(SHORT / 3).await;
    sandbox.shutdown().await;
    assert_eq!(call.await.unwrap().unwrap(), StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn pausing_and_advancing_tokios_clock_does_not_close_connections() {
    let (sandbox, _) =
        common::start(builder().header_read_timeout(SHORT).idle_timeout(SHORT)).await;
    let mut stream = connect(&sandbox).await;
    stream.write_all(GET).await.unwrap();
    let response = read_response(&mut stream, false).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    tokio::time::advance(Duration::from_secs(3600)).await;
    stream.write_all(GET).await.unwrap();
    let response = read_response(&mut stream, false).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn zero_limits_are_refused_at_start() {
    for (builder, name) in [
        (
            Sandbox::builder().header_read_timeout(Duration::ZERO),
            "header_read_timeout",
        ),
        (
            Sandbox::builder().body_read_timeout(Duration::ZERO),
            "body_read_timeout",
        ),
        (
            Sandbox::builder().idle_timeout(Duration::ZERO),
            "idle_timeout",
        ),
        (Sandbox::builder().max_connections(0), "max_connections"),
    ] {
        let error = builder.start().await.unwrap_err();
        assert!(
            matches!(&error, SandboxError::InvalidConnectionLimit { name: n } if *n == name),
            "{error:?}"
        );
        assert!(error.to_string().contains(name), "{error}");
    }
}

/// A response still being written is not idle: a client reading an 8 MB page steadily but
/// slowly (more than the kernel's socket buffers hold; about 3 s) gets all of it, not a body cut
/// when the idle timer (500 ms here, plus its 1 s grace) runs out after the handler returned.
#[tokio::test]
async fn a_response_read_slowly_is_not_cut_by_the_idle_timeout() {
    const IDLE: Duration = Duration::from_millis(500);
    let (sandbox, http) = common::start(
        Sandbox::builder()
            .header_read_timeout(LONG)
            .body_read_timeout(LONG)
            .idle_timeout(IDLE),
    )
    .await;
    let filler = "x".repeat(8 * 1024);
    for batch in 0..10 {
        let records: Vec<_> = (0..100)
            .map(|i| serde_json::json!({"n": batch * 100 + i, "filler": filler}))
            .collect();
        let response = http
            .post(common::url(&sandbox, "/v1/blobs/batch"))
            .json(&serde_json::json!({ "records": records }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    let mut stream = socket.connect(sandbox.addr()).await.unwrap();
    stream
        .write_all(b"GET /v1/blobs?limit=1000 HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut read = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let complete = |read: &[u8]| {
        let Some(head_end) = read.windows(4).position(|w| w == b"\r\n\r\n") else {
            return false;
        };
        let head = String::from_utf8_lossy(&read[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().unwrap())
            .expect("a Content-Length");
        read.len() >= head_end + 4 + length
    };
    while !complete(&read) {
        assert!(started.elapsed() < Duration::from_secs(20), "too slow");
        match tokio::time::timeout(BOUND, stream.read(&mut buf)).await {
            Ok(Ok(0)) => panic!(
                "the server closed the connection after {:?} with {} bytes read",
                started.elapsed(),
                read.len()
            ),
            Ok(Err(error)) => panic!("the connection failed: {error}"),
            Ok(Ok(n)) => read.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server stalled"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(read.len() > 8_000_000, "{} bytes", read.len());
    assert!(
        started.elapsed() > IDLE + Duration::from_secs(1),
        "read too fast to test anything: {:?}",
        started.elapsed()
    );
}
