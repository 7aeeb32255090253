//! An export of 10,000 log lines is streamed to its writer with bounded memory: a counting
//! allocator (this binary's own) measures the peak of live heap bytes allocated by the client's
//! thread during the export, while the server runs on another thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

use dbsync_client::{Connection, ExportFormat, LogQuery};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn adjust(delta: i64) {
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            let _ = LIVE.try_with(|live| {
                let now = live.get() + delta;
                live.set(now);
                let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
            });
        }
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters change.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        adjust(layout.size() as i64);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        adjust(-(layout.size() as i64));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        adjust(new_size as i64 - layout.size() as i64);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak live bytes allocated on this thread while `f` runs.
async fn peak_during<F: std::future::Future>(f: F) -> (F::Output, i64) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f.await;
    TRACKING.with(|t| t.set(false));
    (out, PEAK.with(Cell::get))
}

/// Counts lines and bytes, keeps nothing.
#[derive(Default)]
struct CountingWriter {
    lines: u64,
    bytes: u64,
    largest_write: usize,
}

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lines += buf.iter().filter(|b| **b == b'\n').count() as u64;
        self.bytes += buf.len() as u64;
        self.largest_write = self.largest_write.max(buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const LINES: usize = 10_000;

fn export_body() -> Vec<u8> {
    let mut body = b"id,timestamp,method,endpoint,status,duration_ms\n".to_vec();
    for i in 1..=LINES {
        // Long paths make the body ~10 MB, far above what a streaming client holds at once (hyper's
        // read buffer grows to ~400 KiB at most).
        writeln!(
            body,
            "{i},2026-01-01T00:00:00Z,GET,/v1/records/{i}/{},200,3",
            "x".repeat(950)
        )
        .unwrap();
    }
    body
}

#[tokio::test]
async fn ten_thousand_lines_are_streamed_with_bounded_memory() {
    // The server lives on its own thread and runtime, so its allocations are not counted.
    let body = export_body();
    let body_len = body.len();
    let (uri_tx, uri_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server_thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let server = MockServer::start().await;
            Mock::given(method("GET"))
                .and(path("/v1/logs/export"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .insert_header("content-type", "text/csv")
                        .set_body_bytes(body),
                )
                .expect(1)
                .mount(&server)
                .await;
            uri_tx.send(server.uri()).unwrap();
            let _ = stop_rx.await;
        });
    });
    let uri = uri_rx.recv().unwrap();

    let connection = Connection::builder()
        .base_url(&uri)
        .api_log_capacity(0)
        .build()
        .unwrap();
    let logs = connection.logs();
    let mut writer = CountingWriter::default();
    let (summary, peak) =
        peak_during(logs.export_to_writer(&LogQuery::new(), ExportFormat::Csv, &mut writer)).await;
    let summary = summary.unwrap();
    stop_tx.send(()).unwrap();
    server_thread.join().unwrap();

    assert_eq!(summary.entries, LINES as u64);
    assert_eq!(
        writer.lines,
        LINES as u64 + 1,
        "the header and every line arrived"
    );
    assert_eq!(writer.bytes, body_len as u64);
    assert!(
        writer.largest_write < body_len / 4,
        "the writer got the body in chunks (largest {} of {body_len} bytes)",
        writer.largest_write
    );
    println!("body {body_len} bytes; client peak {peak} bytes");
    assert!(
        peak < (body_len / 4) as i64,
        "the client held {peak} bytes at once for a {body_len}-byte export"
    );

    // The measurement itself works: holding the body is seen.
    let (_, held) = peak_during(async { export_body() }).await;
    assert!(held >= body_len as i64, "{held}");
}
