//! Scans and bulk writes at internet latency (issue 15): the client with default settings
//! (adaptive concurrency) beside raw reqwest keeping 16 requests in flight, against the
//! in-process sandbox with 50 ms and 150 ms of latency per request. Arms interleaved round by
//! round, alternating which goes first; the ratio is the median of per-round ratios.
//!
//! ```sh
//! cargo run --release -p dbsync-client --example bench_latency            # every arm
//! cargo run --release -p dbsync-client --example bench_latency -- scan 150 # one arm
//! ```
//!
//! Arms: `scan MS` (200,000 `Value` records at `limit=1000`), `bulk MS` (20,000 records, 100
//! per request, into the open-schema `notes`).

#[path = "bench_util/mod.rs"]
mod bench_util;

use std::time::Duration;

use bench_util::{bulk_records, compressed, load_average, median, raw_bulk, raw_scan, timed};
use dbsync_client::{BatchOptions, Connection, Query, Record, ScanOptions};
use dbsync_sandbox::Sandbox;
use futures::StreamExt as _;
use serde_json::Value;

const SCAN_RECORDS: u64 = 200_000;
const PAGE: u64 = 1000;
const BULK_RECORDS: usize = 20_000;
const PER_REQUEST: usize = 100;
const RAW_IN_FLIGHT: usize = 16;

fn connect(base: &str) -> Connection {
    Connection::builder()
        .base_url(base)
        .build()
        .expect("connection")
}

async fn client_scan(connection: &Connection) -> u64 {
    let mut scan = connection
        .records()
        .scan_with(Query::new().limit(PAGE as u32), ScanOptions::default());
    let mut count = 0;
    while let Some(record) = scan.next().await {
        let _: Record = record.expect("record");
        count += 1;
    }
    count
}

async fn bench_scan(latency_ms: u64, rounds: usize) {
    let sandbox = Sandbox::builder()
        .compression(compressed())
        .seed_records(SCAN_RECORDS)
        .latency(Duration::from_millis(latency_ms))
        .start()
        .await
        .expect("sandbox");
    let base = sandbox.base_url().trim_end_matches('/').to_owned();
    let connection = connect(&base);
    let http = reqwest::Client::new();
    let (mut ours, mut raw, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut secs = [0.0; 2];
        for arm in [round % 2, (round + 1) % 2] {
            let (s, n) = if arm == 0 {
                timed(client_scan(&connection)).await
            } else {
                timed(raw_scan::<Value>(&http, &base, PAGE, RAW_IN_FLIGHT)).await
            };
            assert_eq!(n, SCAN_RECORDS);
            secs[arm] = s;
        }
        ours.push(SCAN_RECORDS as f64 / secs[0]);
        raw.push(SCAN_RECORDS as f64 / secs[1]);
        ratios.push(secs[1] / secs[0]);
    }
    println!(
        "scan 200k Value {latency_ms:>3} ms  dbsync-client {:>8.0} rec/s   raw 16 in flight {:>8.0} rec/s   throughput ratio {:.2}x (median of {rounds} rounds; load {})",
        median(ours),
        median(raw),
        median(ratios),
        load_average()
    );
}

async fn bench_bulk(latency_ms: u64, rounds: usize) {
    let sandbox = Sandbox::builder()
        .compression(compressed())
        .latency(Duration::from_millis(latency_ms))
        .start()
        .await
        .expect("sandbox");
    let base = sandbox.base_url().trim_end_matches('/').to_owned();
    let connection = connect(&base);
    let http = reqwest::Client::new();
    let input = bulk_records(BULK_RECORDS);
    let notes = connection.resource::<Value>("notes").expect("resource");
    let (mut ours, mut raw, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut secs = [0.0; 2];
        for arm in [round % 2, (round + 1) % 2] {
            let (s, saved) = if arm == 0 {
                timed(async {
                    let outcomes = notes
                        .create_many_with(&input, &BatchOptions::default())
                        .await;
                    outcomes.iter().filter(|o| o.result.is_ok()).count()
                })
                .await
            } else {
                timed(raw_bulk(
                    &http,
                    &base,
                    "notes",
                    &input,
                    PER_REQUEST,
                    RAW_IN_FLIGHT,
                ))
                .await
            };
            assert_eq!(saved, BULK_RECORDS);
            secs[arm] = s;
        }
        ours.push(BULK_RECORDS as f64 / secs[0]);
        raw.push(BULK_RECORDS as f64 / secs[1]);
        ratios.push(secs[1] / secs[0]);
    }
    println!(
        "bulk 20k        {latency_ms:>3} ms  dbsync-client {:>8.0} rec/s   raw 16 in flight {:>8.0} rec/s   throughput ratio {:.2}x (median of {rounds} rounds; load {})",
        median(ours),
        median(raw),
        median(ratios),
        load_average()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let only = |arm: &str, ms: u64| {
        args.is_empty()
            || (args.first().map(String::as_str) == Some(arm)
                && args.get(1).is_none_or(|m| m.parse() == Ok(ms)))
    };
    runtime.block_on(async {
        println!("dbsync-client at latency: default settings vs raw reqwest with 16 in flight");
        for ms in [50, 150] {
            if only("scan", ms) {
                bench_scan(ms, 7).await;
            }
        }
        if only("bulk", 50) {
            bench_bulk(50, 7).await;
        }
    });
}
