//! Using a rate limit, not fighting it (issue 15): a scan, two scans sharing one connection,
//! and a bulk write, each against a sandbox whose limit is sized so the run takes about 30 s.
//! The sandbox's per-minute window is shortened to 10 s (`SandboxBuilder::rate_limit_window`)
//! so one run spans three windows; the baseline is the limit itself: the requests the windows
//! allowed during the run (`limit x elapsed / window`) against those the server served, and the
//! `429`s it answered.
//!
//! ```sh
//! cargo run --release -p dbsync-client --example bench_ratelimit            # every arm
//! cargo run --release -p dbsync-client --example bench_ratelimit -- bulk    # one arm
//! ```

#[path = "bench_util/mod.rs"]
mod bench_util;

use std::time::{Duration, Instant};

use bench_util::{bulk_records, load_average};
use dbsync_client::{BatchOptions, Connection, Query};
use dbsync_sandbox::Sandbox;
use futures::StreamExt as _;
use serde_json::Value;

const WINDOW: Duration = Duration::from_secs(10);
/// Requests per window: 300 requests take three windows, about 30 s.
const PER_WINDOW: u32 = 100;
const REQUESTS: u64 = 300;
const PAGE: u64 = 100;

async fn sandbox(records: u64) -> Sandbox {
    Sandbox::builder()
        .seed_records(records)
        .rate_limit(PER_WINDOW)
        .rate_limit_window(WINDOW)
        .log_capacity(100_000)
        .start()
        .await
        .expect("sandbox")
}

fn connect(sandbox: &Sandbox) -> Connection {
    Connection::builder()
        .base_url(sandbox.base_url())
        .build()
        .expect("connection")
}

async fn scan(connection: &Connection, offset: u64, records: u64) -> u64 {
    let query = Query::new().limit(PAGE as u32).offset(offset);
    let mut scan = connection.records().stream(query).take(records as usize);
    let mut count = 0;
    while let Some(record) = scan.next().await {
        record.expect("record");
        count += 1;
    }
    count
}

/// Prints what the run used of the limit.
fn report(arm: &str, sandbox: &Sandbox, elapsed: Duration) {
    let log = sandbox.request_log();
    let served = log.iter().filter(|e| e.status != 429).count();
    let refused = log.len() - served;
    let allowed = f64::from(PER_WINDOW) * elapsed.as_secs_f64() / WINDOW.as_secs_f64();
    println!(
        "{arm:<28} {:>5.1} s  served {served:>4}  allowed {allowed:>6.1}  used {:>5.1}%  429s {refused}  (limit {PER_WINDOW} per {} s; load {})",
        elapsed.as_secs_f64(),
        100.0 * served as f64 / allowed,
        WINDOW.as_secs(),
        load_average()
    );
}

async fn one_scan() {
    // One request for the total, then the pages: REQUESTS requests in all.
    let records = (REQUESTS - 1) * PAGE;
    let sandbox = sandbox(records).await;
    let connection = connect(&sandbox);
    let started = Instant::now();
    assert_eq!(scan(&connection, 0, records).await, records);
    report("scan", &sandbox, started.elapsed());
}

async fn two_scans() {
    let half = (REQUESTS / 2 - 1) * PAGE;
    let sandbox = sandbox(2 * half).await;
    let connection = connect(&sandbox);
    let started = Instant::now();
    let (a, b) =
        futures::future::join(scan(&connection, 0, half), scan(&connection, half, half)).await;
    assert_eq!((a, b), (half, half));
    report("two scans, one connection", &sandbox, started.elapsed());
}

async fn bulk() {
    let sandbox = sandbox(0).await;
    let connection = connect(&sandbox);
    let input = bulk_records(REQUESTS as usize * 100);
    let notes = connection.resource::<Value>("notes").expect("resource");
    let started = Instant::now();
    let outcomes = notes
        .create_many_with(&input, &BatchOptions::default())
        .await;
    let elapsed = started.elapsed();
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "a record failed");
    report("bulk create", &sandbox, elapsed);
}

fn main() {
    let arm = std::env::args().nth(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let run = |name: &str| arm.as_deref().is_none_or(|a| a == name);
    runtime.block_on(async {
        println!("dbsync-client under a rate limit: default settings, share of the limit used");
        if run("scan") {
            one_scan().await;
        }
        if run("two") {
            two_scans().await;
        }
        if run("bulk") {
            bulk().await;
        }
    });
}
