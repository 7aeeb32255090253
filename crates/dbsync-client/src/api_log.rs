//! The client's own API log: one [`ApiLogEntry`] per attempt of every request, recorded into
//! pluggable [`ApiLogSink`]s (a bounded in-memory ring, [`MemoryApiLog`], by default; a JSON
//! Lines file, [`JsonLinesApiLog`]), filtered with [`ApiLogFilter`] and exported as CSV or JSON
//! Lines for audit.
//!
//! What is recorded: the time the attempt was sent, the method, the endpoint template
//! (`/v1/records/{id}`, given by the call site), the path as sent **without its query string**
//! (query values can hold filter values; the template and the path say what was called), the
//! status (none when no response came), the duration, the attempt number (1 for the first send,
//! 2 for the first retry...) and the kind of error (see [`crate::Error::kind`]). Bodies, headers
//! and credentials are never recorded.
//!
//! ```
//! use dbsync_client::{ApiLogFilter, Connection};
//!
//! let connection = Connection::builder().base_url("https://api.dbsync.com").build()?;
//! // ... make calls ...
//! let log = connection.api_log().expect("the default ring is on");
//! let failures = log.query(&ApiLogFilter::new().method("POST").status_class(5));
//! let mut csv = Vec::new();
//! dbsync_client::write_api_log_csv(&failures, &mut csv)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// How many entries the default ring keeps.
pub const DEFAULT_API_LOG_CAPACITY: usize = 1000;

/// The header line of [`write_api_log_csv`].
pub const API_LOG_CSV_HEADER: &str = "time,method,endpoint,path,status,duration_ms,attempt,error";

/// One attempt of one request, as the client saw it. Never holds a body, a header or a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiLogEntry {
    /// When the attempt was sent (RFC 3339 UTC in exports).
    #[serde(with = "rfc3339_time")]
    pub time: SystemTime,
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The endpoint template, e.g. `/v1/records/{id}`.
    pub endpoint: String,
    /// The path as sent, without the query string, e.g. `/v1/records/42`.
    pub path: String,
    /// The response status; `None` when no response came (a transport failure).
    pub status: Option<u16>,
    /// How long the attempt took, from sending to the end of the body (to the response head for
    /// a streamed body); in exports as `duration_ms` with microsecond precision.
    #[serde(rename = "duration_ms", with = "duration_ms")]
    pub duration: Duration,
    /// 1 for the first attempt of a call, 2 for the next (a retry, or the retry after a `401`)...
    pub attempt: u32,
    /// The kind of error ([`crate::Error::kind`]: `rate_limited`, `timeout`...); `None` on success.
    pub error: Option<String>,
}

impl ApiLogEntry {
    /// Whether the attempt got a `2xx` response.
    pub fn is_success(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The entry as one CSV line (no line break), columns as in [`API_LOG_CSV_HEADER`].
    pub fn to_csv_line(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{}",
            format_time(self.time),
            csv_field(&self.method),
            csv_field(&self.endpoint),
            csv_field(&self.path),
            self.status.map(|s| s.to_string()).unwrap_or_default(),
            format_ms(self.duration),
            self.attempt,
            csv_field(self.error.as_deref().unwrap_or("")),
        )
    }
}

/// Where API log entries go. Called once per attempt, on the request path: keep it cheap and
/// never block for long (buffer, or hand off to a task, for slow destinations).
///
/// ```
/// use dbsync_client::{ApiLogEntry, ApiLogSink};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// /// Counts failed attempts.
/// #[derive(Default)]
/// struct Failures(AtomicUsize);
///
/// impl ApiLogSink for Failures {
///     fn record(&self, entry: &ApiLogEntry) {
///         if !entry.is_success() {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// ```
pub trait ApiLogSink: Send + Sync {
    /// Records one attempt.
    fn record(&self, entry: &ApiLogEntry);
}

impl fmt::Debug for dyn ApiLogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiLogSink")
    }
}

/// Where a connection's API log entries go: every sink, the default ring first (when on).
/// The request path hands each attempt's finished entry to [`ApiLogSinks::record`].
#[derive(Default)]
pub(crate) struct ApiLogSinks {
    all: Vec<Arc<dyn ApiLogSink>>,
    ring: Option<Arc<MemoryApiLog>>,
}

impl ApiLogSinks {
    /// A ring of `ring_capacity` entries (none for `0`), then the `others`.
    pub(crate) fn new(ring_capacity: usize, others: Vec<Arc<dyn ApiLogSink>>) -> Self {
        let ring =
            (ring_capacity > 0).then(|| Arc::new(MemoryApiLog::with_capacity(ring_capacity)));
        let mut all = others;
        if let Some(ring) = &ring {
            all.insert(0, ring.clone());
        }
        Self { all, ring }
    }

    /// The default ring, when on.
    pub(crate) fn ring(&self) -> Option<&MemoryApiLog> {
        self.ring.as_deref()
    }

    /// Whether there is no sink at all (then nothing is recorded, nor an entry built).
    pub(crate) fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Records one entry into every sink, in order (the default ring first). With the ring as
    /// the only sink (the default), the entry moves into it, uncopied.
    pub(crate) fn record(&self, entry: ApiLogEntry) {
        match (&self.ring, self.all.as_slice()) {
            (Some(ring), [_only]) => ring.push(entry),
            _ => {
                for sink in &self.all {
                    sink.record(&entry);
                }
            }
        }
    }
}

/// Which entries a query keeps. Every condition set must hold; an empty filter keeps all.
///
/// ```
/// use dbsync_client::ApiLogFilter;
/// use std::time::{Duration, SystemTime};
///
/// let hour_ago = SystemTime::now() - Duration::from_secs(3600);
/// let filter = ApiLogFilter::new()
///     .from(hour_ago)
///     .method("get")
///     .endpoint("/v1/records/{id}")
///     .status(404);
/// # let _ = filter;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiLogFilter {
    from: Option<SystemTime>,
    to: Option<SystemTime>,
    method: Option<String>,
    endpoint: Option<String>,
    status: Option<StatusMatch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusMatch {
    Exact(u16),
    Class(u16),
    NoResponse,
}

impl ApiLogFilter {
    /// A filter that keeps every entry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only entries sent at or after `from`.
    pub fn from(mut self, from: SystemTime) -> Self {
        self.from = Some(from);
        self
    }

    /// Only entries sent before `to`.
    pub fn to(mut self, to: SystemTime) -> Self {
        self.to = Some(to);
        self
    }

    /// Only this method (any case).
    pub fn method(mut self, method: impl AsRef<str>) -> Self {
        self.method = Some(method.as_ref().to_ascii_uppercase());
        self
    }

    /// Only this endpoint template, exactly (e.g. `/v1/records/{id}`).
    pub fn endpoint(mut self, template: impl Into<String>) -> Self {
        self.endpoint = Some(template.into());
        self
    }

    /// Only this status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(StatusMatch::Exact(status));
        self
    }

    /// Only statuses of this class (`4` for `4xx`, `5` for `5xx`).
    pub fn status_class(mut self, class: u16) -> Self {
        self.status = Some(StatusMatch::Class(class));
        self
    }

    /// Only attempts that got no response (transport failures).
    pub fn no_response(mut self) -> Self {
        self.status = Some(StatusMatch::NoResponse);
        self
    }

    /// Whether `entry` passes the filter.
    pub fn matches(&self, entry: &ApiLogEntry) -> bool {
        self.from.is_none_or(|from| entry.time >= from)
            && self.to.is_none_or(|to| entry.time < to)
            && self.method.as_deref().is_none_or(|m| entry.method == m)
            && self.endpoint.as_deref().is_none_or(|e| entry.endpoint == e)
            && self.status.is_none_or(|s| match (s, entry.status) {
                (StatusMatch::Exact(want), Some(got)) => want == got,
                (StatusMatch::Class(class), Some(got)) => got / 100 == class,
                (StatusMatch::NoResponse, None) => true,
                _ => false,
            })
    }
}

/// The default sink: the last `capacity` entries in memory (the oldest dropped first).
/// Recording takes one short lock.
pub struct MemoryApiLog {
    capacity: usize,
    entries: Mutex<VecDeque<ApiLogEntry>>,
    dropped: AtomicU64,
}

impl fmt::Debug for MemoryApiLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryApiLog")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl MemoryApiLog {
    /// A ring keeping the last `capacity` entries (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
            dropped: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<ApiLogEntry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many entries it keeps at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many entries it holds now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many entries were pushed out by newer ones so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A copy of every entry, oldest first.
    pub fn entries(&self) -> Vec<ApiLogEntry> {
        self.lock().iter().cloned().collect()
    }

    /// A copy of the entries `filter` keeps, oldest first.
    pub fn query(&self, filter: &ApiLogFilter) -> Vec<ApiLogEntry> {
        self.lock()
            .iter()
            .filter(|e| filter.matches(e))
            .cloned()
            .collect()
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Writes the entries `filter` keeps as CSV (see [`write_api_log_csv`]); returns how many.
    pub fn export_csv(&self, filter: &ApiLogFilter, out: impl Write) -> io::Result<usize> {
        write_api_log_csv(&self.query(filter), out)
    }

    /// Writes the entries `filter` keeps as JSON Lines (see [`write_api_log_json_lines`]);
    /// returns how many.
    pub fn export_json_lines(&self, filter: &ApiLogFilter, out: impl Write) -> io::Result<usize> {
        write_api_log_json_lines(&self.query(filter), out)
    }
}

impl Default for MemoryApiLog {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_API_LOG_CAPACITY)
    }
}

impl MemoryApiLog {
    /// Keeps `entry`, dropping the oldest when full (the entry is moved in, not copied).
    fn push(&self, entry: ApiLogEntry) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        entries.push_back(entry);
    }
}

impl ApiLogSink for MemoryApiLog {
    fn record(&self, entry: &ApiLogEntry) {
        self.push(entry.clone());
    }
}

/// A sink appending one JSON object per line to a file (the format of
/// [`write_api_log_json_lines`]). Each entry is written with one `write` call on a file opened
/// for appending, so nothing is buffered in the process. A write that fails is counted
/// ([`JsonLinesApiLog::failed_writes`]) and reported once as a `tracing` warning; requests go on.
pub struct JsonLinesApiLog {
    path: PathBuf,
    file: Mutex<File>,
    failed: AtomicU64,
}

impl fmt::Debug for JsonLinesApiLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonLinesApiLog")
            .field("path", &self.path)
            .field("failed_writes", &self.failed_writes())
            .finish_non_exhaustive()
    }
}

impl JsonLinesApiLog {
    /// Opens (or creates) `path` for appending. On Unix a new file is readable by its owner
    /// only.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let file = options.open(&path)?;
        Ok(Self {
            path,
            file: Mutex::new(file),
            failed: AtomicU64::new(0),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many entries could not be written.
    pub fn failed_writes(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Reads back every entry of a JSON Lines API log file (blank lines skipped).
    pub fn read_entries(path: impl AsRef<Path>) -> io::Result<Vec<ApiLogEntry>> {
        let text = std::fs::read_to_string(path)?;
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .enumerate()
            .map(|(i, line)| {
                serde_json::from_str(line).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("line {} is not an API log entry: {e}", i + 1),
                    )
                })
            })
            .collect()
    }
}

impl ApiLogSink for JsonLinesApiLog {
    fn record(&self, entry: &ApiLogEntry) {
        let mut line = match serde_json::to_vec(entry) {
            Ok(line) => line,
            Err(_) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        line.push(b'\n');
        let result = self
            .file
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .write_all(&line);
        if let Err(error) = result
            && self.failed.fetch_add(1, Ordering::Relaxed) == 0
        {
            tracing::warn!(path = %self.path.display(), %error, "the API log file could not be written");
        }
    }
}

/// Writes `entries` as CSV: the header [`API_LOG_CSV_HEADER`], then one line per entry (fields
/// quoted per RFC 4180 where needed; `status` empty when no response came, `error` empty on
/// success). Returns how many entries were written.
pub fn write_api_log_csv<'a>(
    entries: impl IntoIterator<Item = &'a ApiLogEntry>,
    out: impl Write,
) -> io::Result<usize> {
    let mut out = io::BufWriter::new(out);
    writeln!(out, "{API_LOG_CSV_HEADER}")?;
    let mut count = 0;
    for entry in entries {
        writeln!(out, "{}", entry.to_csv_line())?;
        count += 1;
    }
    out.flush()?;
    Ok(count)
}

/// Writes `entries` as JSON Lines: one object per line with the fields `time`, `method`,
/// `endpoint`, `path`, `status`, `duration_ms`, `attempt`, `error`. Returns how many entries
/// were written.
pub fn write_api_log_json_lines<'a>(
    entries: impl IntoIterator<Item = &'a ApiLogEntry>,
    out: impl Write,
) -> io::Result<usize> {
    let mut out = io::BufWriter::new(out);
    let mut count = 0;
    for entry in entries {
        serde_json::to_writer(&mut out, entry)?;
        out.write_all(b"\n")?;
        count += 1;
    }
    out.flush()?;
    Ok(count)
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
pub(crate) fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

fn format_time(time: SystemTime) -> String {
    dbsync_contract::timestamp::format(time)
}

fn format_ms(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64() * 1000.0)
}

mod rfc3339_time {
    use super::*;

    pub(super) fn serialize<S: serde::Serializer>(
        time: &SystemTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_time(*time))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        dbsync_contract::timestamp::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not an RFC 3339 timestamp"))
        })
    }
}

mod duration_ms {
    use super::*;

    pub(super) fn serialize<S: serde::Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        // Milliseconds with microsecond precision.
        serializer.serialize_f64(micros as f64 / 1000.0)
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        let ms = f64::deserialize(deserializer)?;
        Duration::try_from_secs_f64(ms / 1000.0).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn entry(method: &str, endpoint: &str, status: Option<u16>) -> ApiLogEntry {
        ApiLogEntry {
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            method: method.to_owned(),
            endpoint: endpoint.to_owned(),
            path: endpoint.replace("{id}", "7"),
            status,
            duration: Duration::from_micros(1500),
            attempt: 1,
            error: status.filter(|s| *s >= 400).map(|_| "not_found".to_owned()),
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_entries() {
        let log = MemoryApiLog::with_capacity(2);
        for status in [200, 201, 404] {
            log.record(&entry("GET", "/v1/records", Some(status)));
        }
        let statuses: Vec<_> = log.entries().iter().map(|e| e.status).collect();
        assert_eq!(statuses, [Some(201), Some(404)]);
        assert_eq!(log.dropped(), 1);
        assert_eq!(MemoryApiLog::with_capacity(0).capacity(), 1);
    }

    #[test]
    fn filters_combine() {
        let e = entry("GET", "/v1/records/{id}", Some(404));
        let at = e.time;
        assert!(ApiLogFilter::new().matches(&e));
        assert!(
            ApiLogFilter::new()
                .method("get")
                .endpoint("/v1/records/{id}")
                .status_class(4)
                .from(at)
                .to(at + Duration::from_secs(1))
                .matches(&e)
        );
        assert!(!ApiLogFilter::new().to(at).matches(&e), "to is exclusive");
        assert!(!ApiLogFilter::new().method("POST").matches(&e));
        assert!(!ApiLogFilter::new().endpoint("/v1/records").matches(&e));
        assert!(!ApiLogFilter::new().status(200).matches(&e));
        assert!(!ApiLogFilter::new().no_response().matches(&e));
        assert!(
            ApiLogFilter::new()
                .no_response()
                .matches(&entry("GET", "/x", None))
        );
    }

    #[test]
    fn csv_has_a_header_and_quotes_awkward_fields() {
        let mut e = entry("GET", "/v1/records/{id}", Some(404));
        e.path = "/v1/records/a,b".into();
        let mut out = Vec::new();
        assert_eq!(write_api_log_csv([&e], &mut out).unwrap(), 1);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "time,method,endpoint,path,status,duration_ms,attempt,error\n\
             2023-11-14T22:13:20Z,GET,/v1/records/{id},\"/v1/records/a,b\",404,1.500,1,not_found\n"
        );
    }

    #[test]
    fn json_lines_round_trip() {
        let entries = [
            entry("GET", "/v1/records/{id}", Some(200)),
            entry("POST", "/v1/records", None),
        ];
        let mut out = Vec::new();
        write_api_log_json_lines(&entries, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["time"], "2023-11-14T22:13:20Z");
        assert_eq!(first["duration_ms"], 1.5);
        assert_eq!(first["endpoint"], "/v1/records/{id}");
        let back: Vec<ApiLogEntry> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(back, entries);
    }

    #[test]
    fn the_file_sink_appends_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.jsonl");
        let sink = JsonLinesApiLog::open(&path).unwrap();
        sink.record(&entry("GET", "/v1/records", Some(200)));
        sink.record(&entry("DELETE", "/v1/records/{id}", Some(204)));
        drop(sink);
        let again = JsonLinesApiLog::open(&path).unwrap();
        again.record(&entry("GET", "/v1/usage", Some(200)));
        let read = JsonLinesApiLog::read_entries(&path).unwrap();
        assert_eq!(read.len(), 3);
        assert_eq!(read[1].method, "DELETE");
        assert_eq!(again.failed_writes(), 0);
    }
}
