//! Adaptive concurrency end to end (issue 15): against a server with latency, a scan and a bulk
//! write raise their requests in flight well past where they start; a reader slower than the
//! server does not pile up pages; a fixed depth stays fixed. Requests in flight are read from
//! the sandbox's request log (arrival time and time to answer of each request).

mod common;

use common::sandbox_connection as connection;

use std::time::Duration;

use dbsync_client::{BatchOptions, Concurrency, Connection, Query, ScanOptions};
use dbsync_sandbox::{LogEntry, Sandbox, SandboxAuth};
use futures::StreamExt as _;
use serde_json::{Value, json};

async fn sandbox(records: u64, latency_ms: u64) -> Sandbox {
    common::checked(
        Sandbox::builder()
            .auth(SandboxAuth::None)
            .seed_records(records)
            .latency(Duration::from_millis(latency_ms))
            .log_capacity(100_000),
    )
    .start()
    .await
    .unwrap()
}

/// The most requests the server was working on at once.
fn most_in_flight(log: &[LogEntry]) -> usize {
    let mut edges: Vec<(i64, i32)> = log
        .iter()
        .flat_map(|e| {
            let end = e.timestamp_micros + e.duration_ms as i64 * 1000;
            [(e.timestamp_micros, 1), (end, -1)]
        })
        .collect();
    edges.sort_unstable();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    most as usize
}

async fn scan(connection: &Connection, options: ScanOptions, pause_every_page: Option<Duration>) {
    let mut scan = connection
        .records()
        .scan_with(Query::new().limit(50), options);
    let mut count = 0u64;
    while let Some(record) = scan.next().await {
        record.unwrap();
        count += 1;
        if let Some(pause) = pause_every_page
            && count.is_multiple_of(50)
        {
            tokio::time::sleep(pause).await;
        }
    }
    assert_eq!(count, 6_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_at_latency_goes_deeper_than_it_starts() {
    // 120 pages of 50 records, 40 ms each.
    let sandbox = sandbox(6_000, 40).await;
    scan(&connection(&sandbox), ScanOptions::default(), None).await;
    let most = most_in_flight(&sandbox.request_log());
    // Without growth the most is 6 (7 with the page being started); a quiet machine reaches
    // 20-30, a loaded one (tests run in parallel on two cores) less.
    assert!(most >= 10, "at most {most} pages in flight (starts at 6)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_slower_than_the_server_does_not_pile_up_pages() {
    // The server answers in 5 ms; the reader takes 60 ms per page.
    let sandbox = sandbox(6_000, 5).await;
    let options = ScanOptions::default().concurrency(Concurrency::adaptive(2, 64));
    let pause = Some(Duration::from_millis(60));
    tokio::time::timeout(
        Duration::from_secs(30),
        scan(&connection(&sandbox), options, pause),
    )
    .await
    .unwrap();
    let most = most_in_flight(&sandbox.request_log());
    assert!(most <= 4, "{most} pages in flight for a slow reader");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_depth_stays_fixed() {
    let sandbox = sandbox(6_000, 20).await;
    scan(
        &connection(&sandbox),
        ScanOptions::default().pipeline_depth(3),
        None,
    )
    .await;
    let most = most_in_flight(&sandbox.request_log());
    assert!(
        most <= 4,
        "{most}: three in flight and the page being started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_write_at_latency_goes_deeper_than_it_starts() {
    let sandbox = sandbox(0, 40).await;
    let notes = connection(&sandbox).resource::<Value>("notes").unwrap();
    let records: Vec<Value> = (0..6_000).map(|n| json!({ "n": n })).collect();
    let outcomes = notes
        .create_many_with(&records, &BatchOptions::default().chunk_size(50))
        .await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    assert_eq!(sandbox.record_count("notes"), 6_000);
    let most = most_in_flight(&sandbox.request_log());
    assert!(
        most >= 12,
        "at most {most} batch requests in flight (starts at 4)"
    );
}
