//! Benchmark: `create_many` of 20,000 records against the in-process sandbox, beside a raw
//! reqwest arm that sends the same batches (100 records per request, 4 in flight, an
//! `Idempotency-Key` each, every response parsed), interleaved round by round so machine drift
//! hits both alike (the arm that goes first alternates). Prints each round, the medians, and
//! the ratio: the median of the rounds' own ratios, since a round's two arms ran back to back.
//!
//! ```text
//! cargo run --release -p dbsync-client --example bench_batch [ROUNDS]
//! ```

#[path = "bench_util/mod.rs"]
mod bench_util;

use std::time::{Duration, Instant};

use bench_util::{bulk_records, raw_bulk};
use dbsync_client::{BatchOptions, Connection};
use dbsync_sandbox::Sandbox;
use serde_json::Value;

const RECORDS: usize = 20_000;
const PER_REQUEST: usize = 100;
const IN_FLIGHT: usize = 4;

fn records() -> Vec<Value> {
    bulk_records(RECORDS)
}

async fn client_arm(connection: &Connection, resource: &str, input: &[Value]) -> Duration {
    let started = Instant::now();
    let outcomes = connection
        .resource::<Value>(resource)
        .expect("valid resource name")
        .create_many_with(input, &BatchOptions::default().concurrency(IN_FLIGHT))
        .await;
    let elapsed = started.elapsed();
    assert_eq!(outcomes.len(), RECORDS);
    assert!(
        outcomes.iter().all(|o| o.result.is_ok()),
        "a client create failed"
    );
    elapsed
}

async fn raw_arm(http: &reqwest::Client, base: &str, resource: &str, input: &[Value]) -> Duration {
    let started = Instant::now();
    let saved = raw_bulk(http, base, resource, input, PER_REQUEST, IN_FLIGHT).await;
    let elapsed = started.elapsed();
    assert_eq!(saved, RECORDS, "a raw create failed");
    elapsed
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(15);
    let sandbox = Sandbox::builder().start().await.expect("sandbox");
    let base = sandbox.base_url().trim_end_matches('/').to_owned();
    let connection = Connection::builder()
        .base_url(&base)
        .build()
        .expect("connection");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest");
    let input = records();

    // One warm-up of each arm (connections, allocator).
    client_arm(&connection, "warm_client", &input).await;
    raw_arm(&http, &base, "warm_raw", &input).await;

    let (mut client, mut raw, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (c, r) = if round % 2 == 0 {
            let c = client_arm(&connection, &format!("client_{round}"), &input).await;
            let r = raw_arm(&http, &base, &format!("raw_{round}"), &input).await;
            (c, r)
        } else {
            let r = raw_arm(&http, &base, &format!("raw_{round}"), &input).await;
            let c = client_arm(&connection, &format!("client_{round}"), &input).await;
            (c, r)
        };
        println!(
            "round {round}: dbsync-client {:>7.1} ms, raw reqwest {:>7.1} ms",
            c.as_secs_f64() * 1e3,
            r.as_secs_f64() * 1e3
        );
        client.push(c);
        raw.push(r);
        ratios.push(r.as_secs_f64() / c.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let (c, r) = (median(client), median(raw));
    let per_sec = |d: Duration| RECORDS as f64 / d.as_secs_f64();
    println!(
        "create_many of {RECORDS} records, {PER_REQUEST} per request, {IN_FLIGHT} in flight, \
         {rounds} rounds"
    );
    println!(
        "median dbsync-client: {:.1} ms ({:.0} records/s)",
        c.as_secs_f64() * 1e3,
        per_sec(c)
    );
    println!(
        "median raw reqwest:   {:.1} ms ({:.0} records/s)",
        r.as_secs_f64() * 1e3,
        per_sec(r)
    );
    println!(
        "throughput ratio dbsync-client / raw: {ratio:.3}x, median of the {rounds} rounds' \
         ratios (of the medians: {:.3}x; target >= 0.95x)",
        r.as_secs_f64() / c.as_secs_f64()
    );
    sandbox.shutdown().await;
}
