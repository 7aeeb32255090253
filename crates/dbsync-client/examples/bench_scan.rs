//! Benchmarks of scans and `get` against the in-process sandbox, each arm beside a raw reqwest
//! baseline in the same run, interleaved round by round so machine drift hits both alike.
//!
//! ```sh
//! cargo run --release -p dbsync-client --example bench_scan
//! ```
//!
//! Prints medians and ratios: (a) one `get` (beside raw reqwest, and beside raw reqwest with
//! the client's default 30 s per-attempt timeout, to show that timer's share), (b) a full scan of 200,000 records at
//! `limit=1000` with no added latency, (c) the same with 5 ms of server latency, (d) the peak
//! resident memory (VmHWM) of a separate client process scanning 200,000 and 1,000,000
//! records from a server in this process.
//!
//! Scans (b) and (c) run twice: decoding each record into a `serde_json::Value` (the client's
//! `Record`, what `Connection::records` yields) and into a typed struct (`Contact`, as the
//! README's `resource::<Contact>` does). Every arm of a pair decodes into the same type.
//!
//! `DBSYNC_BENCH_ONLY=get|scan|memory` runs arm (a), arms (b) and (c), or arm (d) alone (none:
//! every arm). `DBSYNC_BENCH_DEBUG=1` prints the memory arm's scan state (its depth).
//!
//! The sandbox does not compress its answers unless `DBSYNC_BENCH_GZIP=1` (see
//! `bench_util::compressed`).
//!
//! `DBSYNC_BENCH_DEPTH=N` sets the client arms' pipeline depth instead of the default
//! (`DEFAULT_PIPELINE_DEPTH`), to compare depths.

#[path = "bench_util/mod.rs"]
mod bench_util;

use std::time::{Duration, Instant};

use bench_util::{compressed, raw_gets, raw_page, raw_scan};

use dbsync_client::{Connection, Query, Record, ScanOptions};
use dbsync_sandbox::Sandbox;
use futures::StreamExt as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

const SCAN_RECORDS: u64 = 200_000;
const PAGE: u64 = 1000;

/// A seeded record as a connector would type it.
#[derive(Deserialize)]
#[allow(dead_code, reason = "decoded to measure decoding; never read")]
struct Contact {
    id: u64,
    created_at: String,
    updated_at: String,
    email: String,
    first_name: String,
    last_name: String,
    phone: Option<String>,
    country: String,
    status: String,
    age: u32,
    score: f64,
    active: bool,
    birth_date: String,
    last_login_at: Option<String>,
    website: Option<String>,
    external_id: String,
    address: Address,
    tags: Vec<String>,
    #[serde(default)]
    notes: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "decoded to measure decoding; never read")]
struct Address {
    street: String,
    city: String,
    postal_code: String,
}

/// What every arm of a scan decodes records into.
trait Decoded: DeserializeOwned + Send + 'static {}
impl<T: DeserializeOwned + Send + 'static> Decoded for T {}

/// Raw reqwest, one page after the other.
async fn raw_sequential<T: Decoded>(http: &reqwest::Client, base: &str) -> u64 {
    let (mut offset, mut count) = (0, 0);
    loop {
        let page = raw_page::<T>(http, base, PAGE, offset).await;
        let len = page.data.len() as u64;
        count += len;
        offset += len;
        if len < PAGE || offset >= page.meta.total {
            return count;
        }
    }
}

/// The client's scan options: the default, or `DBSYNC_BENCH_DEPTH` pages in flight.
fn scan_options() -> ScanOptions {
    match std::env::var("DBSYNC_BENCH_DEPTH") {
        Ok(depth) => ScanOptions::default().pipeline_depth(depth.parse().expect("a depth")),
        Err(_) => ScanOptions::default(),
    }
}

async fn client_scan<T: Decoded>(connection: &Connection) -> u64 {
    let mut stream = connection
        .resource::<T>("records")
        .expect("resource")
        .scan_with(Query::new().limit(PAGE as u32), scan_options());
    let mut count = 0;
    while let Some(record) = stream.next().await {
        record.expect("record");
        count += 1;
    }
    count
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

async fn timed<F: std::future::Future<Output = u64>>(f: F) -> (f64, u64) {
    let started = Instant::now();
    let n = f.await;
    (started.elapsed().as_secs_f64(), n)
}

fn connect(base: &str) -> Connection {
    Connection::builder()
        .base_url(base)
        .build()
        .expect("connection")
}

async fn bench_get(base: &str) {
    let connection = connect(base);
    let records = connection.records();
    let http = reqwest::Client::new();
    // The same raw arm with the client's default per-attempt timeout (30 s): reqwest arms a
    // tokio timer for each request, which raw `Client::new()` does not.
    let timed_http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    // Many short rounds: a round's arms run back to back, so the ratio within a round is
    // little touched by the machine's drift, and the median of those ratios is the figure.
    let (rounds, calls) = (41, 200u64);
    let (mut ours, mut raw, mut ratios, mut timer_ratios) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut times = [0.0f64; 3];
        // Rotate which arm goes first.
        for k in 0..3 {
            let arm = (round + k) % 3;
            times[arm] = match arm {
                0 => {
                    timed(async {
                        for i in 0..calls {
                            let _: Record = records.get(1 + i % 1000).await.expect("get");
                        }
                        calls
                    })
                    .await
                    .0
                }
                1 => timed(raw_gets(&http, base, calls)).await.0,
                _ => timed(raw_gets(&timed_http, base, calls)).await.0,
            };
        }
        let [a, b, c] = times;
        ours.push(a / calls as f64 * 1e6);
        raw.push(b / calls as f64 * 1e6);
        ratios.push(a / b);
        timer_ratios.push(a / c);
    }
    let (ours, raw, ratio) = (median(ours), median(raw), median(ratios));
    let timer_ratio = median(timer_ratios);
    println!(
        "(a) get            dbsync-client {ours:8.1} us   raw reqwest {raw:8.1} us   ratio {ratio:.3}x (median of {rounds} paired rounds; target <= 1.05x); vs raw reqwest with a 30 s timeout {timer_ratio:.3}x"
    );
}

async fn bench_scans<T: Decoded>(base: &str, label: &str, rounds: usize) {
    let connection = connect(base);
    let http = reqwest::Client::new();
    let (mut ours, mut seq, mut four) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Each arm goes first, second and third in turn.
        let mut rates = [0.0; 3];
        for arm in [0, 1, 2] {
            let arm = (arm + round) % 3;
            let (secs, n) = match arm {
                0 => timed(client_scan::<T>(&connection)).await,
                1 => timed(raw_sequential::<T>(&http, base)).await,
                _ => timed(raw_scan::<T>(&http, base, PAGE, 4)).await,
            };
            assert_eq!(n, SCAN_RECORDS);
            rates[arm] = n as f64 / secs;
        }
        ours.push(rates[0]);
        seq.push(rates[1]);
        four.push(rates[2]);
    }
    // The ratios are medians of each round's own ratio (its arms ran back to back).
    let per_round = |base: &[f64]| median(ours.iter().zip(base).map(|(o, b)| o / b).collect());
    let (vs_seq, vs_four) = (per_round(&seq), per_round(&four));
    let (ours, seq, four) = (median(ours), median(seq), median(four));
    println!(
        "{label} dbsync-client {ours:9.0} rec/s   raw sequential {seq:9.0} rec/s   raw 4 in flight {four:9.0} rec/s   client/seq {vs_seq:.2}x   client/raw4 {vs_four:.2}x"
    );
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

/// The child process: scans `records` from `offset` to the end and prints its peak RSS.
fn memory_child(base: &str, offset: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let before = vm_hwm_kib();
    let count = runtime.block_on(async {
        let connection = connect(base);
        let mut scan = connection.records().scan_with(
            Query::new().limit(PAGE as u32).offset(offset),
            scan_options(),
        );
        let mut count = 0u64;
        let mut deepest = String::new();
        while let Some(record) = scan.next().await {
            record.expect("record");
            count += 1;
            if count.is_multiple_of(50_000) {
                deepest = format!("{scan:?}");
            }
        }
        if std::env::var_os("DBSYNC_BENCH_DEBUG").is_some() {
            eprintln!("{deepest}");
        }
        count
    });
    println!("{count} {before} {}", vm_hwm_kib());
}

fn run_child(base: &str, offset: u64) -> (u64, u64, u64) {
    let exe = std::env::current_exe().expect("exe");
    let out = std::process::Command::new(exe)
        .args(["--memory-child", base, &offset.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("child");
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<u64> = text
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    (fields[0], fields[1], fields[2])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--memory-child") {
        memory_child(&args[2], args[3].parse().expect("offset"));
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let fast = Sandbox::builder()
            .compression(compressed())
            .seed_records(SCAN_RECORDS)
            .start()
            .await
            .expect("sandbox");
        let slow = Sandbox::builder()
            .compression(compressed())
            .seed_records(SCAN_RECORDS)
            .latency(Duration::from_millis(5))
            .start()
            .await
            .expect("sandbox");
        println!("dbsync-client benchmarks (medians of interleaved rounds)");
        let only = std::env::var("DBSYNC_BENCH_ONLY").ok();
        if only.as_deref().is_none_or(|o| o == "get") {
            bench_get(fast.base_url()).await;
        }
        if only.as_deref().is_none_or(|o| o == "scan") {
            println!("client pipeline depth {}", scan_options().get_pipeline_depth());
            bench_scans::<Value>(fast.base_url(), "(b) scan 200k 0 ms  Value  ", 9).await;
            bench_scans::<Contact>(fast.base_url(), "(b) scan 200k 0 ms  Contact", 9).await;
            bench_scans::<Value>(slow.base_url(), "(c) scan 200k 5 ms  Value  ", 9).await;
            bench_scans::<Contact>(slow.base_url(), "(c) scan 200k 5 ms  Contact", 9).await;
        }
        drop((fast, slow));
        if only.as_deref().is_some_and(|o| o != "memory") {
            return;
        }

        let big = Sandbox::builder()
            .compression(compressed())
            .seed_records(1_000_000)
            .start()
            .await
            .expect("sandbox");
        let base = big.base_url().to_owned();
        for offset in [800_000, 0] {
            let base = base.clone();
            let (count, before, peak) = tokio::task::spawn_blocking(move || run_child(&base, offset))
                .await
                .expect("child");
            println!(
                "(d) memory: scan of {count:>7} records in a separate process: peak RSS {:.1} MiB (runtime and client before the scan: {:.1} MiB)",
                peak as f64 / 1024.0,
                before as f64 / 1024.0
            );
        }
    });
}
