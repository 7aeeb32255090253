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

/// The most bytes of a request's path the log keeps: with the count cap, the log holds at most
/// about 30 MB however long the paths anyone sends (unauthenticated requests are logged too).
pub const MAX_LOGGED_PATH_BYTES: usize = 256;

/// `path`, cut to [`MAX_LOGGED_PATH_BYTES`] at a character boundary and marked when cut.
fn bounded_path(path: &str) -> String {
    if path.len() <= MAX_LOGGED_PATH_BYTES {
        return path.to_owned();
    }
    let mut end = MAX_LOGGED_PATH_BYTES;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &path[..end])
}

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
    /// Request path without the query, e.g. `/v1/records/7` (at most
    /// [`MAX_LOGGED_PATH_BYTES`], then `...`).
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

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, VecDeque<LogEntry>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the kept entries, oldest first.
    pub fn entries(&self) -> Vec<LogEntry> {
        self.lock().1.iter().cloned().collect()
    }

    /// The id of the newest entry so far (0 before the first request).
    pub fn last_id(&self) -> u64 {
        self.lock().0
    }

    /// The entries `keep` accepts, skipping the first `offset` of them, at most `limit`, and how
    /// many it accepts in all. Only the returned entries are copied.
    pub fn page(
        &self,
        offset: usize,
        limit: usize,
        keep: impl Fn(&LogEntry) -> bool,
    ) -> (Vec<LogEntry>, usize) {
        let inner = self.lock();
        let mut total = 0usize;
        let mut page = Vec::new();
        for entry in inner.1.iter().filter(|e| keep(e)) {
            if total >= offset && page.len() < limit {
                page.push(entry.clone());
            }
            total += 1;
        }
        (page, total)
    }

    /// One step of a paged read: looks at no more than `budget` entries with
    /// `after < id <= upto` (oldest first), copies those `keep` accepts, at most `max`, and
    /// returns them with the id to continue after; `None` as that id when nothing is left.
    /// The lock is held for one step only, so requests keep being logged during a long export.
    pub fn scan(
        &self,
        after: u64,
        upto: u64,
        max: usize,
        budget: usize,
        mut keep: impl FnMut(&LogEntry) -> bool,
    ) -> (Vec<LogEntry>, Option<u64>) {
        let inner = self.lock();
        let entries = &inner.1;
        let start = entries.partition_point(|e| e.id <= after);
        let mut found = Vec::new();
        let mut last = after;
        for entry in entries.range(start..).take(budget.max(1)) {
            if entry.id > upto || found.len() >= max {
                return (found, (entry.id <= upto).then_some(last));
            }
            last = entry.id;
            if keep(entry) {
                found.push(entry.clone());
            }
        }
        let more = entries
            .get(start.saturating_add(budget.max(1)))
            .is_some_and(|e| e.id <= upto);
        (found, more.then_some(last))
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
    let endpoint = bounded_path(request.uri().path());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: u64, capacity: usize) -> RequestLog {
        let log = RequestLog::new(capacity);
        for i in 0..n {
            let status = if i % 2 == 0 { 200 } else { 404 };
            log.record(i as i64, "GET".into(), format!("/v1/r/{i}"), status, 0);
        }
        log
    }

    /// Reads everything through `scan` in small steps, as the export does.
    fn scan_all(log: &RequestLog, upto: u64, max: usize, budget: usize) -> Vec<u64> {
        let mut ids = Vec::new();
        let mut after = 0;
        loop {
            let (found, next) = log.scan(after, upto, max, budget, |e| e.status == 404);
            ids.extend(found.iter().map(|e| e.id));
            match next {
                Some(next) => after = next,
                None => return ids,
            }
        }
    }

    #[test]
    fn long_paths_are_cut_at_a_character_boundary() {
        assert_eq!(bounded_path("/v1/records/7"), "/v1/records/7");
        let long = format!("/v1/{}", "é".repeat(40_000));
        let kept = bounded_path(&long);
        assert!(kept.len() <= MAX_LOGGED_PATH_BYTES + 3, "{}", kept.len());
        assert!(kept.ends_with("...") && long.starts_with(kept.trim_end_matches("...")));
    }

    #[test]
    fn scan_pages_through_every_match_once() {
        let log = log(1000, 10_000);
        let expected: Vec<u64> = (1..=1000).filter(|id| id % 2 == 0).collect();
        for (max, budget) in [(1, 1), (7, 3), (3, 7), (512, 4096), (1000, 1)] {
            assert_eq!(
                scan_all(&log, 1000, max, budget),
                expected,
                "{max} {budget}"
            );
        }
    }

    #[test]
    fn scan_stops_at_the_snapshot_and_skips_evicted_entries() {
        let log = log(100, 50); // ids 51..=100 kept
        assert_eq!(scan_all(&log, 60, 4, 5), vec![52, 54, 56, 58, 60]);
        log.record(0, "GET".into(), "/x".into(), 404, 0); // id 101, after the snapshot
        assert_eq!(scan_all(&log, 100, 4, 5).last(), Some(&100));
        assert_eq!(log.last_id(), 101);
    }

    #[test]
    fn page_copies_one_page_and_counts_all() {
        let log = log(100, 1000);
        let (page, total) = log.page(10, 5, |e| e.status == 200);
        assert_eq!(total, 50);
        assert_eq!(
            page.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![21, 23, 25, 27, 29]
        );
    }
}
