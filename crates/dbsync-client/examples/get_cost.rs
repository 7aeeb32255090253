//! The cost of one `get` in instructions: `N` calls of one arm against the in-process sandbox,
//! on a single-threaded runtime, for a run under callgrind (this machine has no hardware
//! counters for `perf stat`).
//!
//! ```sh
//! cargo build --release -p dbsync-client --example get_cost
//! for arm in client raw; do for n in 0 2000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$arm.$n \
//!     target/release/examples/get_cost $arm $n 2>&1 | grep Collected
//! done; done
//! ```
//!
//! For wall clock and scheduling instead (`perf stat -e task-clock,context-switches,cpu-migrations`),
//! `--workers K` runs on a multi-threaded runtime of K workers as `bench_scan` does, and
//! `--no-gzip` has the sandbox answer uncompressed, as `bench_scan`'s sandbox does; the arm
//! then prints its microseconds per call. A third arm, `raw-timeout`, is `raw` with the
//! client's default 30 s per-attempt timeout (reqwest arms a timer per request for it).
//!
//! Instructions per `get` of an arm: (count at 2000 - count at 0) / 2000. Both arms warm up
//! with 20 calls of their own first (connection pool, first allocations), in both runs. `client`
//! is `Resource::get` (`connection.records().get(id)`), `raw` is reqwest's GET and
//! `serde_json::from_slice::<Value>`, as in `bench_scan` arm (a). The sandbox serves both in
//! the same process, so each figure includes the server's share (the same for both arms).

#[path = "bench_util/mod.rs"]
mod bench_util;

use bench_util::raw_gets;
use dbsync_client::{Connection, Record};
use dbsync_sandbox::Sandbox;

async fn client(connection: &Connection, calls: u64) {
    let records = connection.records();
    for i in 0..calls {
        let _: Record = records.get(1 + i % 1000).await.expect("get");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut positional = Vec::new();
    let (mut workers, mut gzip) = (None::<usize>, true);
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--workers" => workers = rest.next().map(|k| k.parse().expect("a worker count")),
            "--no-gzip" => gzip = false,
            other => positional.push(other),
        }
    }
    let arm = positional.first().copied().unwrap_or("client");
    let calls: u64 = positional
        .get(1)
        .map_or(2000, |n| n.parse().expect("a count"));
    let runtime = match workers {
        Some(k) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(k)
            .enable_all()
            .build(),
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
    .expect("runtime");
    runtime.block_on(async {
        let sandbox = Sandbox::builder()
            .seed_records(1000)
            .compression(gzip)
            .start()
            .await
            .expect("sandbox");
        let base = sandbox.base_url();
        let connection = Connection::builder()
            .base_url(base)
            .build()
            .expect("connection");
        let http = match arm {
            "raw-timeout" => reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("client"),
            _ => reqwest::Client::new(),
        };
        let started = std::time::Instant::now();
        match arm {
            "client" => {
                client(&connection, 20).await;
                client(&connection, calls).await;
            }
            "raw" | "raw-timeout" => {
                raw_gets(&http, base, 20).await;
                raw_gets(&http, base, calls).await;
            }
            other => panic!("unknown arm {other}: client, raw or raw-timeout"),
        }
        if workers.is_some() {
            let per_call = started.elapsed().as_secs_f64() * 1e6 / (calls + 20) as f64;
            println!("{arm}: {per_call:.1} us per call");
        }
    });
}
