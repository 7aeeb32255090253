//! Every served request, kept in a bounded ring (oldest dropped first).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;
use crate::time_fmt::{format_micros, now_micros};

/// How many requests the log keeps by default.
pub const DEFAULT_LOG_CAPACITY: usize = 100_000;

/// One served request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogEntry {
    /// Increasing id, starting at 1.
    pub id: u64,
    /// When the request arrived, in unix microseconds.
    pub timestamp_micros: i64,
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Request path without the query, e.g. `/v1/records/7`.
    pub endpoint: String,
    /// Response status.
    pub status: u16,
    /// Time to produce the response head, in milliseconds.
    pub duration_ms: u64,
}

impl LogEntry {
    /// The arrival time as RFC 3339 UTC.
    pub fn timestamp(&self) -> String {
        format_micros(self.timestamp_micros)
    }
}

#[derive(Debug)]
pub(crate) struct RequestLog {
    capacity: usize,
    inner: Mutex<(u64, VecDeque<LogEntry>)>,
}

impl RequestLog {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new((0, VecDeque::new())),
        }
    }

    fn record(
        &self,
        timestamp_micros: i64,
        method: String,
        endpoint: String,
        status: u16,
        duration_ms: u64,
    ) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.0 += 1;
        let id = inner.0;
        if inner.1.len() >= self.capacity {
            inner.1.pop_front();
        }
        inner.1.push_back(LogEntry {
            id,
            timestamp_micros,
            method,
            endpoint,
            status,
            duration_ms,
        });
    }

    /// A copy of the kept entries, oldest first.
    pub fn entries(&self) -> Vec<LogEntry> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.1.iter().cloned().collect()
    }
}

/// Records the request once its response head is ready.
pub(crate) async fn middleware(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let timestamp = now_micros();
    let method = request.method().to_string();
    let endpoint = request.uri().path().to_string();
    let response = next.run(request).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    state.request_log.record(
        timestamp,
        method,
        endpoint,
        response.status().as_u16(),
        duration_ms,
    );
    response
}
