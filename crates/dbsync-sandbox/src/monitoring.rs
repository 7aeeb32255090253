//! Monitoring over the request log and the rate limiter's windows.
//!
//! - `GET /v1/logs?from&to&method&endpoint&status&limit&offset` -> `200 {"data":[...],"meta":{...}}`
//! - `GET /v1/logs/export?format=csv|jsonl` + the same filters -> `text/csv` or
//!   `application/x-ndjson`, streamed in chunks
//! - `GET /v1/usage` -> `200 {"plan","limit_per_minute","used","remaining","reset_at",
//!   "limit_per_hour","windows":[{"window","limit","used","remaining","reset_at"}]}` (the
//!   top-level counts are the minute window's)
//!
//! Filters: `from` (inclusive) and `to` (exclusive) are RFC 3339 timestamps on the arrival time;
//! `method` is an HTTP method (any case); `endpoint` is a path, matching itself and the paths
//! under it (`/v1/records` matches `/v1/records/7`); `status` is a code (`404`) or a class
//! (`4xx`). Anything else, or an invalid value, is a `400`.

use std::convert::Infallible;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::ops_util::{parse_page, query_pairs, reject_unknown_params, single_param};
use crate::rate_limit::{RateLimitSnapshot, RateWindow};
use crate::request_log::LogEntry;
use crate::state::AppState;
use crate::time_fmt::{format_micros, now_micros, parse_rfc3339};

/// Header line of the CSV export.
pub const CSV_HEADER: &str = "id,timestamp,method,endpoint,status,duration_ms";
/// Log entries formatted per chunk of an export.
const EXPORT_CHUNK: usize = 512;
/// Log entries looked at per lock of the log while exporting.
const EXPORT_SCAN_BUDGET: usize = 4096;

const FILTERS: &[&str] = &["from", "to", "method", "endpoint", "status"];

/// Which status codes a `status` filter keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusFilter {
    Exact(u16),
    /// `4xx`: the hundreds digit.
    Class(u16),
}

/// The filters of a logs query.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct LogFilter {
    from_micros: Option<i64>,
    to_micros: Option<i64>,
    method: Option<String>,
    endpoint: Option<String>,
    status: Option<StatusFilter>,
}

impl LogFilter {
    fn parse(params: &[(String, String)]) -> Result<Self, ApiError> {
        let time = |name: &str| -> Result<Option<i64>, ApiError> {
            single_param(params, name)?
                .map(|text| {
                    parse_rfc3339(text).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "Query parameter `{name}` must be an RFC 3339 timestamp with an \
                             offset, e.g. 2026-01-31T12:00:00Z (percent-encode a `+`)"
                        ))
                    })
                })
                .transpose()
        };
        let from_micros = time("from")?;
        let to_micros = time("to")?;
        if let (Some(from), Some(to)) = (from_micros, to_micros)
            && from > to
        {
            return Err(ApiError::bad_request(
                "Query parameter `from` must not be after `to`",
            ));
        }
        let method = single_param(params, "method")?
            .map(|m| {
                if !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()) {
                    Ok(m.to_ascii_uppercase())
                } else {
                    Err(ApiError::bad_request(
                        "Query parameter `method` must be an HTTP method such as GET or POST",
                    ))
                }
            })
            .transpose()?;
        let endpoint = single_param(params, "endpoint")?
            .map(|e| {
                if e.starts_with('/') {
                    Ok(e.trim_end_matches('/').to_owned())
                } else {
                    Err(ApiError::bad_request(
                        "Query parameter `endpoint` must be a path starting with `/`, e.g. /v1/records",
                    ))
                }
            })
            .transpose()?;
        let status = single_param(params, "status")?
            .map(parse_status)
            .transpose()?;
        Ok(Self {
            from_micros,
            to_micros,
            method,
            endpoint,
            status,
        })
    }

    fn matches(&self, entry: &LogEntry) -> bool {
        self.from_micros
            .is_none_or(|from| entry.timestamp_micros >= from)
            && self.to_micros.is_none_or(|to| entry.timestamp_micros < to)
            && self.method.as_deref().is_none_or(|m| entry.method == m)
            && self.endpoint.as_deref().is_none_or(|e| {
                entry.endpoint == e
                    || e.is_empty()
                    || entry
                        .endpoint
                        .strip_prefix(e)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            && self.status.is_none_or(|s| match s {
                StatusFilter::Exact(code) => entry.status == code,
                StatusFilter::Class(class) => entry.status / 100 == class,
            })
    }
}

fn parse_status(text: &str) -> Result<StatusFilter, ApiError> {
    let bytes = text.as_bytes();
    let error = || {
        ApiError::bad_request(
            "Query parameter `status` must be a status code from 100 to 599 (e.g. 404) or a class (e.g. 4xx)",
        )
    };
    match bytes {
        [d @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => Ok(StatusFilter::Class(u16::from(d - b'0'))),
        [b'1'..=b'5', b'0'..=b'9', b'0'..=b'9'] => {
            text.parse().map(StatusFilter::Exact).map_err(|_| error())
        }
        _ => Err(error()),
    }
}

fn entry_json(entry: &LogEntry) -> Value {
    json!({
        "id": entry.id,
        "timestamp": entry.timestamp(),
        "method": entry.method,
        "endpoint": entry.endpoint,
        "status": entry.status,
        "duration_ms": entry.duration_ms,
    })
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn csv_line(entry: &LogEntry) -> String {
    format!(
        "{},{},{},{},{},{}\n",
        entry.id,
        entry.timestamp(),
        csv_field(&entry.method),
        csv_field(&entry.endpoint),
        entry.status,
        entry.duration_ms
    )
}

fn jsonl_line(entry: &LogEntry) -> String {
    let mut line = entry_json(entry).to_string();
    line.push('\n');
    line
}

/// Where an export stands between two chunks.
struct ExportCursor {
    state: AppState,
    filter: LogFilter,
    /// The newest entry when the export began: later requests (this export's own included)
    /// are not part of it.
    upto: u64,
    /// Continue after this id; `None` once the log is read to `upto`.
    after: Option<u64>,
    /// Matching entries still to skip (`offset`).
    skip: usize,
    /// Matching entries still to send (`limit`).
    left: usize,
    line: fn(&LogEntry) -> String,
}

impl ExportCursor {
    /// The next chunk of formatted lines, or `None` at the end. Each step holds the log's lock
    /// for at most [`EXPORT_SCAN_BUDGET`] entries; nothing but one chunk is ever copied.
    fn next_chunk(&mut self) -> Option<Bytes> {
        while let Some(after) = self.after
            && self.left > 0
        {
            let skip = &mut self.skip;
            let filter = &self.filter;
            let (found, next) = self.state.request_log.scan(
                after,
                self.upto,
                EXPORT_CHUNK.min(self.left),
                EXPORT_SCAN_BUDGET,
                |entry| {
                    if !filter.matches(entry) {
                        return false;
                    }
                    if *skip > 0 {
                        *skip -= 1;
                        return false;
                    }
                    true
                },
            );
            self.after = next;
            self.left = self.left.saturating_sub(found.len());
            if !found.is_empty() {
                let text: String = found.iter().map(self.line).collect();
                return Some(Bytes::from(text));
            }
        }
        None
    }
}

async fn list_logs(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = query_pairs(query.as_deref());
    let allowed: Vec<&str> = FILTERS.iter().copied().chain(["limit", "offset"]).collect();
    reject_unknown_params(&params, &allowed)?;
    let filter = LogFilter::parse(&params)?;
    let (limit, offset) = parse_page(
        single_param(&params, "limit")?,
        single_param(&params, "offset")?,
    )?;
    let (page, total) = state
        .request_log
        .page(offset, limit, |entry| filter.matches(entry));
    let data: Vec<Value> = page.iter().map(entry_json).collect();
    Ok(axum::Json(json!({
        "data": data,
        "meta": {"limit": limit, "offset": offset, "total": total},
    }))
    .into_response())
}

async fn export_logs(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = query_pairs(query.as_deref());
    let allowed: Vec<&str> = FILTERS
        .iter()
        .copied()
        .chain(["format", "limit", "offset"])
        .collect();
    reject_unknown_params(&params, &allowed)?;
    let filter = LogFilter::parse(&params)?;
    let (content_type, extension, header_line, line): (_, _, _, fn(&LogEntry) -> String) =
        match single_param(&params, "format")? {
            None | Some("csv") => ("text/csv; charset=utf-8", "csv", Some(CSV_HEADER), csv_line),
            Some("jsonl") => ("application/x-ndjson", "jsonl", None, jsonl_line),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "Query parameter `format` must be `csv` or `jsonl`",
                ));
            }
        };
    let limit = single_param(&params, "limit")?;
    let (_, offset) = parse_page(limit, single_param(&params, "offset")?)?;
    let limit = match limit {
        Some(text) => parse_page(Some(text), None)?.0,
        None => usize::MAX,
    };
    // The log is read chunk by chunk as the client reads the body, never copied whole.
    let header = header_line.map(|h| Ok::<_, Infallible>(Bytes::from(format!("{h}\n"))));
    let upto = state.request_log.last_id();
    let mut cursor = ExportCursor {
        state,
        filter,
        upto,
        after: Some(0),
        skip: offset,
        left: limit,
        line,
    };
    let chunks = std::iter::from_fn(move || cursor.next_chunk().map(Ok::<_, Infallible>));
    let body = futures::stream::iter(header).chain(futures::stream::iter(chunks));
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"dbsync-logs.{extension}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn reset_text(snapshot: &RateLimitSnapshot) -> String {
    format_micros(snapshot.reset_at.saturating_mul(1_000_000))
}

async fn usage(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    reject_unknown_params(&query_pairs(query.as_deref()), &[])?;
    let windows = state.rate_limiter.windows();
    let find = |kind| windows.iter().find(|(w, _)| *w == kind).map(|(_, s)| s);
    let listed: Vec<Value> = windows
        .iter()
        .map(|(window, s)| {
            json!({
                "window": window.as_str(),
                "limit": s.limit,
                "used": s.used,
                "remaining": s.remaining,
                "reset_at": reset_text(s),
            })
        })
        .collect();
    let plan = if windows.is_empty() {
        "unlimited"
    } else {
        "sandbox"
    };
    let mut body = match find(RateWindow::Minute) {
        Some(minute) => json!({
            "plan": plan,
            "limit_per_minute": minute.limit,
            "used": minute.used,
            "remaining": minute.remaining,
            "reset_at": reset_text(minute),
        }),
        None => {
            // No minute budget: count the requests of the last minute from the log (this one
            // included).
            let since = now_micros() - 60_000_000;
            let (_, recent) = state
                .request_log
                .page(0, 0, |e| e.timestamp_micros >= since);
            json!({
                "plan": plan,
                "limit_per_minute": null,
                "used": recent + 1,
                "remaining": null,
                "reset_at": null,
            })
        }
    };
    if let Some(map) = body.as_object_mut() {
        map.insert(
            "limit_per_hour".to_owned(),
            json!(find(RateWindow::Hour).map(|s| s.limit)),
        );
        map.insert("windows".to_owned(), Value::Array(listed));
    }
    Ok(axum::Json(body).into_response())
}

/// The `/v1/logs` and `/v1/usage` routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/logs", get(list_logs))
        .route("/v1/logs/export", get(export_logs))
        .route("/v1/usage", get(usage))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64, micros: i64, method: &str, endpoint: &str, status: u16) -> LogEntry {
        LogEntry {
            id,
            timestamp_micros: micros,
            method: method.to_owned(),
            endpoint: endpoint.to_owned(),
            status,
            duration_ms: 1,
        }
    }

    fn filter(query: &str) -> Result<LogFilter, ApiError> {
        LogFilter::parse(&query_pairs(Some(query)))
    }

    #[test]
    fn filters_combine() {
        let e = entry(1, 1_000_000, "GET", "/v1/records/7", 404);
        assert!(
            filter("method=get&endpoint=/v1/records&status=4xx")
                .unwrap()
                .matches(&e)
        );
        assert!(
            filter("endpoint=/v1/records/7&status=404")
                .unwrap()
                .matches(&e)
        );
        assert!(!filter("endpoint=/v1/rec").unwrap().matches(&e));
        assert!(!filter("method=POST").unwrap().matches(&e));
        assert!(!filter("status=2xx").unwrap().matches(&e));
        assert!(filter("from=1970-01-01T00:00:01Z").unwrap().matches(&e));
        assert!(!filter("to=1970-01-01T00:00:01Z").unwrap().matches(&e));
    }

    #[test]
    fn invalid_filters_are_rejected() {
        for bad in [
            "status=600",
            "status=abc",
            "status=4x",
            "method=G-T",
            "endpoint=v1",
            "from=yesterday",
            "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            "method=GET&method=POST",
        ] {
            assert_eq!(filter(bad).unwrap_err().status.as_u16(), 400, "{bad}");
        }
    }

    #[test]
    fn csv_quotes_awkward_fields() {
        assert_eq!(csv_field("/v1/a,b"), "\"/v1/a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            csv_line(&entry(3, 0, "GET", "/x", 200)),
            "3,1970-01-01T00:00:00Z,GET,/x,200,1\n"
        );
    }
}
