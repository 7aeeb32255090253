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
//! Instructions per `get` of an arm: (count at 2000 - count at 0) / 2000. Both arms warm up
//! with 20 calls of their own first (connection pool, first allocations), in both runs. `client`
//! is `Resource::get` (`connection.records().get(id)`), `raw` is reqwest's GET and
//! `serde_json::from_slice::<Value>`, as in `bench_scan` arm (a). The sandbox serves both in
//! the same process, so each figure includes the server's share (the same for both arms).

use dbsync_client::{Connection, Record};
use dbsync_sandbox::Sandbox;
use serde_json::Value;

async fn client(connection: &Connection, calls: u64) {
    let records = connection.records();
    for i in 0..calls {
        let _: Record = records.get(1 + i % 1000).await.expect("get");
    }
}

async fn raw(http: &reqwest::Client, base: &str, calls: u64) {
    for i in 0..calls {
        let body = http
            .get(format!("{base}/v1/records/{}", 1 + i % 1000))
            .send()
            .await
            .expect("send")
            .bytes()
            .await
            .expect("body");
        let _: Value = serde_json::from_slice(&body).expect("json");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arm = args.get(1).map(String::as_str).unwrap_or("client");
    let calls: u64 = args.get(2).map_or(2000, |n| n.parse().expect("a count"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sandbox = Sandbox::builder()
            .seed_records(1000)
            .start()
            .await
            .expect("sandbox");
        let base = sandbox.base_url();
        let connection = Connection::builder()
            .base_url(base)
            .build()
            .expect("connection");
        let http = reqwest::Client::new();
        match arm {
            "client" => {
                client(&connection, 20).await;
                client(&connection, calls).await;
            }
            "raw" => {
                raw(&http, base, 20).await;
                raw(&http, base, calls).await;
            }
            other => panic!("unknown arm {other}: client or raw"),
        }
    });
}
