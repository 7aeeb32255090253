//! `dbsync api METHOD PATH`: any endpoint of the connection's API (like `gh api`), with the
//! connection's auth, retries and rate budget, printed in the chosen `--format` (and shaped by
//! `--fields`/`--jq`); `--paginate` follows limit/offset and prints every record.

use std::io::{Read as _, Write as _};

use clap::Args;
use dbsync_client::http::Method;
use dbsync_client::{Connection, RawRequest};
use serde_json::Value;

use crate::exit::CliError;
use crate::output::{Format, RecordWriter, write_one};

/// The largest `--data` body read from a file or standard input (16 MiB).
pub const MAX_DATA_BYTES: usize = 16 * 1024 * 1024;

/// Headers `-H` may not set: credentials come from the connection, the host from its URL.
const REFUSED_HEADERS: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "host"];

/// `dbsync api`
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The HTTP method: GET, POST, PUT, PATCH or DELETE.
    pub method: String,
    /// The path: `/v1/records?limit=5` from the base URL's root, or `records` (under /v1/); an
    /// absolute URL only on the connection's own origin. `..` segments (also encoded) are
    /// refused.
    pub path: String,
    /// The JSON body: the text itself, `@FILE`, or `@-` for standard input (at most 16 MiB).
    #[arg(short = 'd', long, value_name = "JSON|@FILE|@-")]
    pub data: Option<String>,
    /// An extra header `Name: value` (repeatable; not Authorization, Host, Cookie nor the
    /// headers the client sets itself).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// GET every page (limit/offset) and print every record of every page.
    #[arg(long)]
    pub paginate: bool,
    /// With --paginate: fail after this many pages (a server that never stops sending full
    /// pages cannot keep the command running).
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pages: u64,
}

/// Whether the command reads its body from standard input.
pub fn reads_stdin(args: &ApiArgs) -> bool {
    args.data.as_deref() == Some("@-")
}

/// Runs `dbsync api`.
pub async fn run(connection: &Connection, args: &ApiArgs, format: Format) -> Result<(), CliError> {
    let request = request_of(args)?;
    if args.paginate {
        return paginate(connection, request, args.max_pages, format).await;
    }
    let response = connection.call(request).await?;
    let stdout = std::io::stdout();
    let body = response.body();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => write_one(stdout.lock(), format, &value),
        Err(_) => {
            let mut out = stdout.lock();
            out.write_all(body).and_then(|()| out.flush())
        }
    }
    .map_err(|e| CliError::io("stdout", e))
}

/// The request the arguments describe, checked: method, headers and body.
fn request_of(args: &ApiArgs) -> Result<RawRequest, CliError> {
    let method = args.method.to_ascii_uppercase();
    let method = match method.as_str() {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        _ => {
            return Err(CliError::usage(format!(
                "`{}` is not a method dbsync api sends: use GET, POST, PUT, PATCH or DELETE",
                args.method.escape_debug()
            )));
        }
    };
    if args.paginate && method != Method::GET {
        return Err(CliError::usage("--paginate follows pages of a GET only"));
    }
    let mut request = RawRequest::new(method, args.path.clone());
    for header in &args.headers {
        let (name, value) = parse_header(header)?;
        request = request.header(name, value);
    }
    if let Some(data) = &args.data {
        request = request.json_body(read_data(data)?);
    }
    Ok(request)
}

/// `Name: value` as its two parts, the name not one `-H` may set.
fn parse_header(text: &str) -> Result<(String, String), CliError> {
    let Some((name, value)) = text.split_once(':') else {
        return Err(CliError::usage(format!(
            "-H `{}`: write a header as `Name: value`",
            text.escape_debug()
        )));
    };
    let name = name.trim();
    if REFUSED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(CliError::usage(format!(
            "-H {name}: refused: credentials come from the connection (--auth, --token, a \
             profile), the host from its URL"
        )));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// The `--data` body: JSON text, `@FILE` or `@-`, at most [`MAX_DATA_BYTES`], checked as JSON.
fn read_data(data: &str) -> Result<Vec<u8>, CliError> {
    let (what, bytes) = match data.strip_prefix('@') {
        Some("-") => ("--data @- (standard input)".to_owned(), {
            read_capped(&mut std::io::stdin().lock(), "--data @- (standard input)")?
        }),
        Some(path) => {
            let what = format!("--data @{path}");
            let mut file = std::fs::File::open(path)
                .map_err(|e| CliError::usage(format!("{what}: cannot open the file: {e}")))?;
            let bytes = read_capped(&mut file, &what)?;
            (what, bytes)
        }
        None => ("--data".to_owned(), data.as_bytes().to_vec()),
    };
    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        return Err(CliError::usage(format!("{what} is not JSON: {error}")));
    }
    Ok(bytes)
}

fn read_capped(reader: &mut dyn std::io::Read, what: &str) -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_DATA_BYTES).unwrap_or(u64::MAX);
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::usage(format!("{what}: cannot read: {e}")))?;
    if bytes.len() > MAX_DATA_BYTES {
        return Err(CliError::usage(format!(
            "{what} is larger than {} MiB",
            MAX_DATA_BYTES / (1024 * 1024)
        )));
    }
    Ok(bytes)
}

/// GETs page after page from the request's `offset` (default 0) and prints every record.
async fn paginate(
    connection: &Connection,
    request: RawRequest,
    max_pages: u64,
    format: Format,
) -> Result<(), CliError> {
    let number = |name: &str| -> Result<Option<u64>, CliError> {
        request
            .query_value(name)
            .map(|text| {
                text.parse::<u64>().map_err(|_| {
                    CliError::usage(format!("--paginate: `{name}={text}` is not a number"))
                })
            })
            .transpose()
    };
    let mut offset = number("offset")?.unwrap_or(0);
    let limit = number("limit")?;
    let stdout = std::io::stdout();
    let mut writer = RecordWriter::new(stdout.lock(), format);
    let mut pages = 0u64;
    loop {
        if pages >= max_pages {
            return Err(CliError::other(format!(
                "--paginate: stopped after {max_pages} pages (--max-pages) with more to come"
            )));
        }
        pages += 1;
        let page = request.clone().set_query("offset", offset.to_string());
        let response = connection.call(page).await?;
        let body: Value = serde_json::from_slice(response.body()).map_err(|_| {
            CliError::other("--paginate: the answer is not JSON, so not a page of records")
        })?;
        let (records, meta) = match &body {
            Value::Array(records) => (records, None),
            Value::Object(object) => match object.get("data") {
                Some(Value::Array(records)) => (records, object.get("meta")),
                _ => {
                    return Err(CliError::other(
                        "--paginate: the answer is not a page of records (no `data` array)",
                    ));
                }
            },
            _ => {
                return Err(CliError::other(
                    "--paginate: the answer is not a page of records",
                ));
            }
        };
        for record in records {
            writer
                .write(record)
                .map_err(|e| CliError::io("stdout", e))?;
        }
        let got = records.len() as u64;
        let meta_number = |name: &str| meta.and_then(|m| m.get(name)).and_then(Value::as_u64);
        let page_limit = limit.or_else(|| meta_number("limit")).unwrap_or(got);
        let total = meta_number("total");
        if got == 0 || got < page_limit || total.is_some_and(|t| offset.saturating_add(got) >= t) {
            break;
        }
        offset = offset.saturating_add(got);
    }
    writer.finish().map_err(|e| CliError::io("stdout", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_name_and_value_and_credentials_are_refused() {
        assert_eq!(
            parse_header("X-Request-Id:  a:b ").unwrap(),
            ("X-Request-Id".to_owned(), "a:b".to_owned())
        );
        for refused in ["Authorization: Bearer x", "host: evil", "Cookie: a=b"] {
            let error = parse_header(refused).unwrap_err();
            assert!(error.message.contains("refused"), "{}", error.message);
            assert!(!error.message.contains("Bearer x"), "{}", error.message);
        }
        assert!(parse_header("no colon").is_err());
    }

    #[test]
    fn data_must_be_json() {
        assert!(read_data("{\"a\": 1}").is_ok());
        let error = read_data("{nope").unwrap_err();
        assert!(
            error.message.starts_with("--data is not JSON"),
            "{}",
            error.message
        );
        let error = read_data("@/nonexistent/dbsync-data.json").unwrap_err();
        assert!(error.message.contains("cannot open"), "{}", error.message);
    }
}
