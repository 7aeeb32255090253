//! Pieces the benchmarks share: the raw reqwest baselines (a scan with N pages in flight, a
//! bulk create with N requests in flight), medians and timing. Included with
//! `#[path = "bench_util/mod.rs"] mod bench_util;` (a subdirectory, so not an example itself).

#![allow(dead_code, reason = "each benchmark uses part of it")]

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct RawMeta {
    pub total: u64,
}

#[derive(Deserialize)]
pub struct RawPage<T> {
    pub data: Vec<T>,
    pub meta: RawMeta,
}

/// One page of `records` at `offset`, decoded whole (as `resp.json::<Page>()` would).
pub async fn raw_page<T: DeserializeOwned>(
    http: &reqwest::Client,
    base: &str,
    page: u64,
    offset: u64,
) -> RawPage<T> {
    let body = get_bytes(
        http,
        format!("{base}/v1/records?limit={page}&offset={offset}"),
    )
    .await;
    serde_json::from_slice(&body).expect("page")
}

/// Raw reqwest, the first page for the total, then `depth` pages in flight (in tasks).
pub async fn raw_scan<T: DeserializeOwned + Send + 'static>(
    http: &reqwest::Client,
    base: &str,
    page: u64,
    depth: usize,
) -> u64 {
    let first = raw_page::<T>(http, base, page, 0).await;
    let total = first.meta.total;
    let mut count = first.data.len() as u64;
    let offsets = (1..).map(|k| k * page).take_while(|o| *o < total);
    let mut pages = futures::stream::iter(offsets)
        .map(|offset| {
            let (http, base) = (http.clone(), base.to_owned());
            tokio::spawn(async move { raw_page::<T>(&http, &base, page, offset).await })
        })
        .buffered(depth);
    while let Some(page) = pages.next().await {
        count += page.expect("task").data.len() as u64;
    }
    count
}

/// Records for bulk creates into an open-schema resource.
pub fn bulk_records(count: usize) -> Vec<Value> {
    (0..count)
        .map(|n| {
            json!({
                "n": n,
                "email": format!("person-{n}@example.com"),
                "first_name": "Ada",
                "last_name": format!("Number {n}"),
                "country": "GB",
                "active": n % 2 == 0,
                "score": (n % 100) as f64 / 2.0,
            })
        })
        .collect()
}

/// Raw reqwest batch creates of `per_request` records with `in_flight` requests at once (a
/// fresh `Idempotency-Key` per request, every response parsed and its saved records counted).
pub async fn raw_bulk(
    http: &reqwest::Client,
    base: &str,
    resource: &str,
    input: &[Value],
    per_request: usize,
    in_flight: usize,
) -> usize {
    let url = format!("{base}/v1/{resource}/batch");
    futures::stream::iter(input.chunks(per_request))
        .map(|chunk| {
            let url = url.clone();
            async move {
                let body = serde_json::to_vec(&json!({ "records": chunk })).expect("json");
                let response = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json")
                    .header("idempotency-key", format!("raw-{:032x}", unique_key()))
                    .body(body)
                    .send()
                    .await
                    .expect("raw send");
                assert_eq!(response.status().as_u16(), 200);
                let bytes = response.bytes().await.expect("raw body");
                let parsed: Value = serde_json::from_slice(&bytes).expect("raw json");
                parsed["results"]
                    .as_array()
                    .map_or(0, |r| r.iter().filter(|i| i["status"] == 201).count())
            }
        })
        .buffer_unordered(in_flight)
        .fold(0, |sum, n| async move { sum + n })
        .await
}

/// A unique-enough key without another dependency.
pub fn unique_key() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    (u128::from(std::process::id()) << 64) | u128::from(n)
}

pub fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Runs `f` and returns its seconds and its count.
pub async fn timed<N, F: std::future::Future<Output = N>>(f: F) -> (f64, N) {
    let started = Instant::now();
    let n = f.await;
    (started.elapsed().as_secs_f64(), n)
}

/// The machine's 1-minute load average, for the record.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

pub const SECOND: Duration = Duration::from_secs(1);

/// Whether the benchmark's sandbox compresses its answers: off unless `DBSYNC_BENCH_GZIP=1`.
/// In one process the server's gzip would run on the client's two cores and be counted as the
/// client's time; a real server compresses on its own CPU.
pub fn compressed() -> bool {
    std::env::var("DBSYNC_BENCH_GZIP").is_ok_and(|v| v == "1")
}

/// `calls` gets of records 1..=1000 with raw reqwest through `http`, each body parsed into a
/// `Value` (what `Resource::get` of `Connection::records` decodes into).
pub async fn raw_gets(http: &reqwest::Client, base: &str, calls: u64) -> u64 {
    for i in 0..calls {
        let body = get_bytes(http, format!("{base}/v1/records/{}", 1 + i % 1000)).await;
        let _: Value = serde_json::from_slice(&body).expect("json");
    }
    calls
}

/// The body of a GET of `url`, read whole.
async fn get_bytes(http: &reqwest::Client, url: String) -> bytes::Bytes {
    http.get(url)
        .send()
        .await
        .expect("send")
        .bytes()
        .await
        .expect("body")
}
