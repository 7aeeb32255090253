//! The server's API logs: a typed, paginated stream (`GET /v1/logs`) and an export
//! (`GET /v1/logs/export?format=csv|jsonl`) streamed straight to a file or a writer.
//!
//! Filters ([`LogQuery`]): `from` (inclusive) and `to` (exclusive) RFC 3339 timestamps, `method`,
//! `endpoint` (a path; the server matches it and the paths under it) and `status` (a code such
//! as `404`, or a class such as `4xx`).

use std::path::Path;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use http::Method;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::connection::Connection;
use crate::error::Error;
use crate::id::string_or_number;
use crate::page::Page;
use crate::query::{Query, Timestamp};
use crate::request::Call;

/// One request the server logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LogEntry {
    /// The entry's id.
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// When the request arrived (RFC 3339).
    pub timestamp: String,
    /// The HTTP method.
    pub method: String,
    /// The path called (as the server logged it).
    pub endpoint: String,
    /// The status it answered.
    pub status: u16,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
}

/// Filters and paging of a server log query.
///
/// ```
/// use dbsync_client::LogQuery;
/// let query = LogQuery::new()
///     .from("2026-01-01T00:00:00Z")
///     .to("2026-02-01T00:00:00Z")
///     .method("POST")
///     .endpoint("/v1/records")
///     .status_class(4);
/// # let _ = query;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    query: Query,
}

impl LogQuery {
    /// No filter: every entry the server keeps.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only entries at or after this time.
    pub fn from(mut self, from: impl Into<Timestamp>) -> Self {
        self.query = self.query.from(from);
        self
    }

    /// Only entries before this time.
    pub fn to(mut self, to: impl Into<Timestamp>) -> Self {
        self.query = self.query.to(to);
        self
    }

    /// Only this method (`GET`, `POST`...).
    pub fn method(mut self, method: impl AsRef<str>) -> Self {
        self.query = self
            .query
            .filter("method", method.as_ref().to_ascii_uppercase());
        self
    }

    /// Only this path and the paths under it (`/v1/records` also matches `/v1/records/7`).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.query = self.query.filter("endpoint", endpoint.into());
        self
    }

    /// Only this status code.
    pub fn status(mut self, status: u16) -> Self {
        self.query = self.query.filter("status", status);
        self
    }

    /// Only this status class (`4` for `4xx`).
    pub fn status_class(mut self, class: u16) -> Self {
        self.query = self.query.filter("status", format!("{class}xx"));
        self
    }

    /// The page size of [`ServerLogs::list`] and [`ServerLogs::stream`] (1..=1000); on an export,
    /// the most entries to export.
    pub fn limit(mut self, limit: u32) -> Self {
        self.query = self.query.limit(limit);
        self
    }

    /// Where to start (0 by default).
    pub fn offset(mut self, offset: u64) -> Self {
        self.query = self.query.offset(offset);
        self
    }
}

/// The format of a server log export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportFormat {
    /// `text/csv` with the header `id,timestamp,method,endpoint,status,duration_ms`.
    #[default]
    Csv,
    /// `application/x-ndjson`: one JSON object per line, with the fields of [`LogEntry`].
    JsonLines,
}

impl ExportFormat {
    /// The `format` query value: `csv` or `jsonl`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::JsonLines => "jsonl",
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportSummary {
    /// Log entries written (lines, without the CSV header).
    pub entries: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// The server's logs; get it with [`Connection::logs`].
///
/// ```no_run
/// # async fn demo(connection: dbsync_client::Connection) -> Result<(), dbsync_client::Error> {
/// use dbsync_client::{ExportFormat, LogQuery};
/// use futures::TryStreamExt as _;
///
/// let logs = connection.logs();
/// let errors: Vec<_> = logs.stream(LogQuery::new().status_class(5)).try_collect().await?;
/// let summary = logs
///     .export_to_file(&LogQuery::new().method("POST"), ExportFormat::Csv, "api-logs.csv")
///     .await?;
/// println!("{} server errors; {} POSTs exported", errors.len(), summary.entries);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ServerLogs {
    connection: Connection,
}

impl Connection {
    /// The server's API logs.
    pub fn logs(&self) -> ServerLogs {
        ServerLogs {
            connection: self.clone(),
        }
    }
}

impl ServerLogs {
    /// One page: `GET /v1/logs?...`.
    pub async fn list(&self, query: &LogQuery) -> Result<Page<LogEntry>, Error> {
        self.connection
            .resource::<LogEntry>("logs")?
            .list(&query.query)
            .await
    }

    /// Every matching entry, page after page (an owned stream, holding one page at a time).
    pub fn stream(&self, query: LogQuery) -> BoxStream<'static, Result<LogEntry, Error>> {
        match self.connection.resource::<LogEntry>("logs") {
            Ok(resource) => resource.stream(query.query),
            Err(error) => futures::stream::once(async move { Err(error) }).boxed(),
        }
    }

    /// Exports the matching entries (`GET /v1/logs/export`) into `out`, chunk by chunk as they
    /// arrive: the export is never held in memory as a whole. `out` is flushed, not shut down.
    /// A failure part-way leaves what was written so far in `out`; prefer
    /// [`ServerLogs::export_to_file`], which leaves no partial file.
    pub async fn export_to<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        query: &LogQuery,
        format: ExportFormat,
        out: &mut W,
    ) -> Result<ExportSummary, Error> {
        let mut response = self.export_response(query, format).await?;
        let mut counter = LineCounter::new(format);
        while let Some(chunk) = next_chunk(&mut response).await? {
            counter.count(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(|e| write_error("the log export could not be written", e))?;
        }
        out.flush()
            .await
            .map_err(|e| write_error("the log export could not be flushed", e))?;
        Ok(counter.summary())
    }

    /// Like [`ServerLogs::export_to`], into a blocking [`std::io::Write`] (a `Vec<u8>`, a
    /// `File`, stdout). Each chunk is written as it arrives.
    pub async fn export_to_writer<W: std::io::Write + ?Sized>(
        &self,
        query: &LogQuery,
        format: ExportFormat,
        out: &mut W,
    ) -> Result<ExportSummary, Error> {
        let mut response = self.export_response(query, format).await?;
        let mut counter = LineCounter::new(format);
        while let Some(chunk) = next_chunk(&mut response).await? {
            counter.count(&chunk);
            out.write_all(&chunk)
                .map_err(|e| write_error("the log export could not be written", e))?;
        }
        out.flush()
            .map_err(|e| write_error("the log export could not be flushed", e))?;
        Ok(counter.summary())
    }

    /// Exports the matching entries into the file at `path`, streamed. The file appears only
    /// complete: the export goes to a temporary file beside it, renamed over `path` at the
    /// end; on any failure the temporary file is removed and `path` is left as it was.
    pub async fn export_to_file(
        &self,
        query: &LogQuery,
        format: ExportFormat,
        path: impl AsRef<Path>,
    ) -> Result<ExportSummary, Error> {
        let path = path.as_ref();
        if path.file_name().is_none() {
            return Err(Error::config(format!(
                "`{}` is not a file path",
                path.display()
            )));
        }
        // A private temporary file beside `path` (random name, created exclusively, owner-only),
        // renamed over it at the end; dropped (and removed) on any failure.
        let mut partial = dbsync_auth::private_file::PrivateFile::beside(path).map_err(|e| {
            write_error(
                &format!("could not create a file beside `{}`", path.display()),
                e,
            )
        })?;
        let result = async {
            let writer = partial.as_file_mut().try_clone().map_err(|e| {
                write_error(&format!("could not open `{}`", partial.path().display()), e)
            })?;
            let mut file = tokio::fs::File::from_std(writer);
            let summary = self.export_to(query, format, &mut file).await?;
            file.flush()
                .await
                .map_err(|e| write_error("the log export could not be flushed", e))?;
            Ok(summary)
        }
        .await;
        result.and_then(|summary| {
            partial.commit(path).map_err(|e| {
                write_error(
                    &format!("could not move the export to `{}`", path.display()),
                    e,
                )
            })?;
            Ok(summary)
        })
    }

    async fn export_response(
        &self,
        query: &LogQuery,
        format: ExportFormat,
    ) -> Result<reqwest::Response, Error> {
        let mut url = self.connection.endpoint(&["logs", "export"])?;
        query.query.apply(&mut url);
        url.query_pairs_mut().append_pair("format", format.as_str());
        let call = Call::new(Method::GET, url, "/v1/logs/export".to_owned());
        self.connection
            .transport()
            .send_streaming(&call)
            .await
            .result
    }
}

async fn next_chunk(response: &mut reqwest::Response) -> Result<Option<bytes::Bytes>, Error> {
    response
        .chunk()
        .await
        .map_err(|e| Error::from_transport(e, "GET /v1/logs/export (reading the export)"))
}

fn write_error(message: &str, error: std::io::Error) -> Error {
    Error::Io {
        message: message.to_owned(),
        source: std::sync::Arc::new(error),
    }
}

/// Counts entries (line breaks, and a last line without one) and bytes as chunks go by.
struct LineCounter {
    header_lines: u64,
    newlines: u64,
    bytes: u64,
    ends_open: bool,
}

impl LineCounter {
    fn new(format: ExportFormat) -> Self {
        Self {
            header_lines: u64::from(format == ExportFormat::Csv),
            newlines: 0,
            bytes: 0,
            ends_open: false,
        }
    }

    fn count(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        self.bytes += chunk.len() as u64;
        self.newlines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        self.ends_open = chunk.last() != Some(&b'\n');
    }

    fn summary(&self) -> ExportSummary {
        let lines = self.newlines + u64::from(self.ends_open);
        ExportSummary {
            entries: lines.saturating_sub(self.header_lines),
            bytes: self.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_across_chunks() {
        let mut c = LineCounter::new(ExportFormat::Csv);
        for chunk in [&b"id,ti"[..], b"me\n1,a\n2", b",b\n", b"3,c"] {
            c.count(chunk);
        }
        assert_eq!(c.summary().entries, 3);
        let mut j = LineCounter::new(ExportFormat::JsonLines);
        j.count(b"{}\n{}\n");
        assert_eq!(
            j.summary(),
            ExportSummary {
                entries: 2,
                bytes: 6
            }
        );
        assert_eq!(LineCounter::new(ExportFormat::Csv).summary().entries, 0);
    }
}
