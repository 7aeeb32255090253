//! Using the server's rate limit without running into it (issue 15): scans and bulk writes
//! against a sandbox whose per-minute window is shortened to 2 s, so that a run of a few
//! seconds spans several windows. Every run must see no `429` and lose nothing; the timing
//! figures (share of the budget used) are measured by the benchmarks, not asserted here.

mod common;

use common::sandbox_connection as connection;

use std::time::Duration;

use dbsync_client::{BatchOptions, Connection, Query, Record};
use dbsync_sandbox::{Sandbox, SandboxAuth};
use futures::StreamExt as _;
use serde_json::{Value, json};

const WINDOW: Duration = Duration::from_secs(2);

async fn sandbox(records: u64, per_window: u32) -> Sandbox {
    common::checked(
        Sandbox::builder()
            .auth(SandboxAuth::None)
            .seed_records(records)
            .rate_limit(per_window)
            .rate_limit_window(WINDOW)
            .log_capacity(100_000),
    )
    .start()
    .await
    .unwrap()
}

fn refused(sandbox: &Sandbox) -> usize {
    sandbox
        .request_log()
        .iter()
        .filter(|entry| entry.status == 429)
        .count()
}

async fn ids(connection: &Connection, offset: u64, limit: u32) -> Vec<String> {
    let query = Query::new().offset(offset).limit(limit);
    let records: Vec<Record> = connection
        .records()
        .stream(query)
        .map(|record| record.unwrap())
        .collect()
        .await;
    records.iter().map(|r| r["id"].to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_spread_over_several_windows_meets_no_429() {
    // 60 pages of 10 against 25 requests per 2 s: about five windows.
    let sandbox = sandbox(600, 25).await;
    let connection = connection(&sandbox);
    let started = tokio::time::Instant::now();
    let ids = tokio::time::timeout(Duration::from_secs(30), ids(&connection, 0, 10))
        .await
        .expect("the scan ends");
    assert_eq!(ids.len(), 600);
    assert_eq!(refused(&sandbox), 0, "the scan ran into the rate limit");
    // 61 requests at 25 per window need at least two full windows.
    assert!(started.elapsed() >= WINDOW * 2, "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scans_sharing_a_connection_share_the_budget() {
    let sandbox = sandbox(400, 25).await;
    let connection = connection(&sandbox);
    let (first, second) = tokio::time::timeout(
        Duration::from_secs(30),
        futures::future::join(ids(&connection, 0, 10), ids(&connection, 200, 10)),
    )
    .await
    .expect("both scans end");
    assert_eq!(first.len(), 400);
    assert_eq!(second.len(), 200);
    assert_eq!(refused(&sandbox), 0, "the scans ran into the rate limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_write_over_several_windows_meets_no_429_and_saves_every_record() {
    let sandbox = sandbox(0, 20).await;
    let connection = connection(&sandbox);
    let records: Vec<Value> = (0..1_000)
        .map(|n| json!({"name": format!("n{n}"), "email": format!("n{n}@example.com")}))
        .collect();
    // 100 requests of 10 records at 20 per 2 s.
    let options = BatchOptions::default().chunk_size(10);
    let notes = connection.resource::<Value>("notes").unwrap();
    let outcomes = tokio::time::timeout(
        Duration::from_secs(30),
        notes.create_many_with(&records, &options),
    )
    .await
    .expect("the bulk write ends");
    if let Some(failed) = outcomes.iter().find(|o| o.result.is_err()) {
        panic!("record {} failed: {:?}", failed.index, failed.result);
    }
    assert_eq!(sandbox.record_count("notes"), 1_000);
    assert_eq!(
        refused(&sandbox),
        0,
        "the bulk write ran into the rate limit"
    );
}
