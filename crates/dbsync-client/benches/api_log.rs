//! The cost of the client's API log on the request path: `get` of one record against the
//! in-process sandbox, with the default ring sink and without any sink, interleaved round by
//! round (the order alternating), plus a raw reqwest baseline and the cost of one `record`.
//!
//! Run: `cargo bench -p dbsync-client --bench api_log` (optional args: rounds, requests per
//! round; defaults 300 and 50).

use std::time::{Duration, Instant};

use dbsync_client::{ApiLogSink, Connection};
use dbsync_sandbox::Sandbox;

/// The six orders of (with log, without log, control).
const ORDERS: [[u8; 3]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

async fn gets(connection: &Connection, n: usize) -> Duration {
    let records = connection.records();
    let started = Instant::now();
    for _ in 0..n {
        std::hint::black_box(records.get(1).await.expect("get"));
    }
    started.elapsed()
}

async fn raw_gets(client: &reqwest::Client, url: &str, n: usize) -> Duration {
    let started = Instant::now();
    for _ in 0..n {
        let response = client.get(url).send().await.expect("send");
        std::hint::black_box(response.bytes().await.expect("body"));
    }
    started.elapsed()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rounds = args.first().copied().unwrap_or(300);
    let per_round = args.get(1).copied().unwrap_or(50);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let sandbox = Sandbox::builder()
            .seed_records(10)
            .log_capacity(1000)
            .start()
            .await
            .expect("sandbox");
        // One HTTP client (one connection pool) for all variants, so they differ only in the log.
        let raw = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let with_log = Connection::builder()
            .base_url(sandbox.base_url())
            .http_client(raw.clone())
            .build()
            .expect("connection");
        let without_log = Connection::builder()
            .base_url(sandbox.base_url())
            .http_client(raw.clone())
            .api_log_capacity(0)
            .build()
            .expect("connection");
        let url = format!("{}/v1/records/1", sandbox.base_url());
        // Warm up connections and caches.
        gets(&with_log, 200).await;
        gets(&without_log, 200).await;
        raw_gets(&raw, &url, 200).await;

        // Interleaved request by request (the order alternating), summed per variant per round.
        // A second connection without a log is the control: it shows the noise floor (A/A).
        let control = Connection::builder()
            .base_url(sandbox.base_url())
            .http_client(raw.clone())
            .api_log_capacity(0)
            .build()
            .expect("connection");
        gets(&control, 200).await;
        let per_request = |d: Duration| d.as_secs_f64() * 1e6 / per_round as f64;
        let (mut with, mut without, mut baseline, mut ratios, mut control_ratios) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let (mut w, mut wo, mut c, mut r) =
                (Duration::ZERO, Duration::ZERO, Duration::ZERO, Duration::ZERO);
            for i in 0..per_round {
                // Each of the six orders of the three variants in turn, so no variant keeps a
                // position (the first request after the raw one may pay a wake-up).
                for variant in ORDERS[i % ORDERS.len()] {
                    let (connection, total) = match variant {
                        0 => (&with_log, &mut w),
                        1 => (&without_log, &mut wo),
                        _ => (&control, &mut c),
                    };
                    *total += gets(connection, 1).await;
                }
                r += raw_gets(&raw, &url, 1).await;
            }
            with.push(per_request(w));
            without.push(per_request(wo));
            baseline.push(per_request(r));
            ratios.push(w.as_secs_f64() / wo.as_secs_f64());
            control_ratios.push(c.as_secs_f64() / wo.as_secs_f64());
        }

        // The cost of one record into the default ring, in isolation.
        let ring = with_log.api_log().expect("ring");
        let entry = ring.entries().pop().expect("an entry");
        let n = 1_000_000;
        let started = Instant::now();
        for _ in 0..n {
            ring.record(std::hint::black_box(&entry));
        }
        let record_ns = started.elapsed().as_secs_f64() * 1e9 / n as f64;

        let (with_m, without_m, raw_m) = (
            median(&mut with),
            median(&mut without),
            median(&mut baseline),
        );
        let ratio_m = median(&mut ratios);
        let control_m = median(&mut control_ratios);
        println!("rounds: {rounds} x {per_round} GET /v1/records/1 per variant, interleaved request by request");
        println!("median per request, with the default ring sink : {with_m:8.2} us");
        println!("median per request, without any sink           : {without_m:8.2} us");
        println!("median per request, raw reqwest baseline       : {raw_m:8.2} us");
        println!(
            "median of per-round ratios with/without         : {ratio_m:.4} ({:+.2} %)",
            (ratio_m - 1.0) * 100.0
        );
        println!(
            "control: median of ratios no-log/no-log (A/A)  : {control_m:.4} ({:+.2} %)",
            (control_m - 1.0) * 100.0
        );
        println!(
            "one MemoryApiLog::record (clone into the ring)  : {record_ns:8.1} ns = {:.3} % of a request",
            record_ns / (without_m * 1000.0) * 100.0
        );
        sandbox.shutdown().await;
    });
}
