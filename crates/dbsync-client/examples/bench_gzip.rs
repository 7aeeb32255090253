//! Response compression: one 1,000-record page (`GET /v1/records?limit=1000`) fetched and decoded
//! by a `Connection` whose HTTP client asks for gzip, beside one that does not, interleaved round
//! by round against the in-process sandbox.
//!
//! ```sh
//! cargo run --release -p dbsync-client --example bench_gzip
//! ```
//!
//! Prints the page's size on the wire with and without gzip, the client's own cost (inflating
//! the page, measured alone), then the median time to fetch and
//! decode it on four networks: loopback, loopback with 5 ms of server latency, and loopback
//! through a relay that paces the server's bytes to 100 Mbit/s and to 20 Mbit/s (a bandwidth
//! limit, which the sandbox's latency option does not simulate).

use std::time::{Duration, Instant};

use dbsync_client::{Connection, Query, Record};
use dbsync_sandbox::Sandbox;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

const PAGE: u32 = 1000;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn connection(base: &str, gzip: bool) -> Connection {
    let http = reqwest::Client::builder()
        .gzip(gzip)
        .build()
        .expect("http client");
    Connection::builder()
        .base_url(base)
        .http_client(http)
        .build()
        .expect("connection")
}

/// The page's body size as sent, with and without `Accept-Encoding: gzip`.
async fn wire_sizes(base: &str) -> (usize, bytes::Bytes) {
    let http = reqwest::Client::builder()
        .gzip(false)
        .build()
        .expect("http client");
    let url = format!("{base}/v1/records?limit={PAGE}");
    let plain = http.get(&url).send().await.expect("send");
    let plain = plain.bytes().await.expect("body").len();
    let gzipped = http
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("send");
    assert_eq!(
        gzipped
            .headers()
            .get("content-encoding")
            .map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    (plain, gzipped.bytes().await.expect("body"))
}

/// The client's own share of the cost: inflating the gzipped page (no network, no server).
fn inflate_cost(gzipped: &[u8], rounds: usize) -> f64 {
    use std::io::Read as _;
    let mut samples = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gzipped)
            .read_to_end(&mut out)
            .expect("inflate");
        samples.push(started.elapsed().as_secs_f64() * 1e3);
    }
    median(samples)
}

/// Fetches and decodes `calls` pages; seconds per page.
async fn pages(connection: &Connection, calls: u32) -> f64 {
    let records = connection.records();
    let query = Query::new().limit(PAGE);
    let started = Instant::now();
    for _ in 0..calls {
        let page = records.list(&query).await.expect("page");
        let data: &[Record] = &page.data;
        assert_eq!(data.len(), PAGE as usize);
    }
    started.elapsed().as_secs_f64() / f64::from(calls)
}

async fn bench(label: &str, base: &str, rounds: usize, calls: u32) {
    let (with, without) = (connection(base, true), connection(base, false));
    // Warm both connections (TCP, the first page).
    pages(&with, 1).await;
    pages(&without, 1).await;
    let (mut gz, mut plain, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = pages(&with, calls).await;
            (a, pages(&without, calls).await)
        } else {
            let b = pages(&without, calls).await;
            (pages(&with, calls).await, b)
        };
        gz.push(a * 1e3);
        plain.push(b * 1e3);
        ratios.push(a / b);
    }
    println!(
        "{label:<28} gzip {:8.2} ms   plain {:8.2} ms   gzip/plain {:.2}x  (median of {rounds} rounds x {calls} pages)",
        median(gz),
        median(plain),
        median(ratios)
    );
}

/// Copies `from` to `to`, no faster than `bits_per_sec`: each chunk waits for the line to be
/// free; an idle line saves up no credit. Tokio's timers tick in milliseconds and an overshoot
/// is not made up, so the line is somewhat slower than `bits_per_sec` (more so for more chunks).
async fn paced_copy(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, bits_per_sec: f64) {
    let mut free_at = tokio::time::Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let on_the_line = Duration::from_secs_f64(n as f64 * 8.0 / bits_per_sec);
        free_at = free_at.max(tokio::time::Instant::now()) + on_the_line;
        tokio::time::sleep_until(free_at).await;
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

/// A relay on 127.0.0.1 in front of `target`: requests pass as they come, responses are paced
/// to `bits_per_sec`. Returns the relay's base URL.
async fn paced_relay(target: std::net::SocketAddr, bits_per_sec: f64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(target).await else {
                    return;
                };
                let (mut client_read, client_write) = client.into_split();
                let (server_read, mut server_write) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                });
                paced_copy(server_read, client_write, bits_per_sec).await;
            });
        }
    });
    format!("http://{addr}")
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let fast = Sandbox::builder()
            .seed_records(u64::from(PAGE))
            .start()
            .await
            .expect("sandbox");
        let slow = Sandbox::builder()
            .seed_records(u64::from(PAGE))
            .latency(Duration::from_millis(5))
            .start()
            .await
            .expect("sandbox");
        let (plain, gzipped) = wire_sizes(fast.base_url()).await;
        println!(
            "1,000-record page on the wire: plain {plain} bytes, gzip {} bytes ({:.1}x smaller)",
            gzipped.len(),
            plain as f64 / gzipped.len() as f64
        );
        println!(
            "client-side inflate of that page: {:.2} ms (median of 51)",
            inflate_cost(&gzipped, 51)
        );
        bench("loopback", fast.base_url(), 21, 10).await;
        bench("loopback + 5 ms latency", slow.base_url(), 21, 10).await;
        let relay = paced_relay(fast.addr(), 100e6).await;
        bench("paced to 100 Mbit/s", &relay, 11, 4).await;
        let relay = paced_relay(fast.addr(), 20e6).await;
        bench("paced to 20 Mbit/s", &relay, 7, 2).await;
    });
}
