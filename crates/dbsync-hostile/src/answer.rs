//! How each [`Mode`] answers one request. Long bodies are written as they are generated, in
//! 64 KiB chunks, and never held whole; every write is counted in the server's log.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::mode::{Mode, TokenAnswer};
use crate::received::Received;
use crate::server::Log;

/// The records an ordinary list holds in all.
const ORDINARY_TOTAL: u64 = 25;
/// The page size when a list names none (the contract's default).
const DEFAULT_LIMIT: u64 = 100;
/// One chunk of a generated body.
const CHUNK: usize = 64 * 1024;

/// A record with escape sequences in a key and in values (JSON text: ESC and BEL escaped as
/// JSON requires, the C1 CSI raw).
const ESCAPED_RECORD: &str = "{\"id\":\"1\",\"\\u001b]0;pwned\\u0007\":\"title\\u001b]0;pwned\\u0007\",\"note\":\"\\u001b[2J\u{9b}2J cleared\"}";
/// An error body with escape sequences in its message and details.
const ESCAPED_ERROR: &str = "{\"error\":{\"code\":404,\"message\":\"no\\u001b]0;pwned\\u0007 such \\u001b[2Jrecord\u{9b}31m\",\"details\":[{\"field\":\"\\u001b]0;pwned\\u0007\",\"message\":\"bad\\u001b[2J\"}]}}";

/// Writes `mode`'s answer to `request` on `stream`.
pub(crate) async fn answer<S: AsyncWrite + Unpin>(
    mode: &Mode,
    request: &Received,
    stream: &mut S,
    log: &Log,
) -> io::Result<()> {
    let mut out = Out { stream, log };
    let list = is_list(request);
    match mode {
        Mode::EndlessBody => {
            out.chunked("200 OK", b"{\"id\":\"1\",\"pad\":\"", None, b"")
                .await
        }
        Mode::HugeErrorBody { bytes } => {
            let prefix = b"{\"error\":{\"code\":500,\"message\":\"";
            out.chunked("500 Internal Server Error", prefix, Some(*bytes), b"\"}}")
                .await
        }
        Mode::EndlessPages if list => {
            let (offset, limit) = paging(request);
            out.json(
                "200 OK",
                &[],
                page(offset..offset.saturating_add(limit), None).as_bytes(),
            )
            .await
        }
        Mode::SamePage if list => {
            let (_, limit) = paging(request);
            out.json("200 OK", &[], page(1..limit + 1, None).as_bytes())
                .await
        }
        Mode::LongPage if list => {
            let (offset, limit) = paging(request);
            let body = page(offset..offset.saturating_add(limit).saturating_add(1), None);
            out.json("200 OK", &[], body.as_bytes()).await
        }
        Mode::Drip { every } => drip(&mut out, *every).await,
        Mode::Silent => std::future::pending().await,
        Mode::Redirect { status, location } => {
            let head = format!(
                "HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            );
            out.send(head.as_bytes()).await
        }
        Mode::RetryAfter(value) => {
            let header = format!("Retry-After: {value}\r\n");
            let body = br#"{"error":{"code":429,"message":"slow down"}}"#;
            out.json("429 Too Many Requests", header.as_bytes(), body)
                .await
        }
        Mode::RateLimitReset(value) => {
            let headers = format!(
                "X-RateLimit-Limit: 100\r\nX-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: {value}\r\n"
            );
            ordinary(&mut out, request, headers.as_bytes()).await
        }
        Mode::Token(token) if request.path() == "/oauth/token" => {
            token_answer(&mut out, token).await
        }
        Mode::Escapes => escapes(&mut out, request, list).await,
        Mode::HugeHeader { bytes } => {
            let mut header = b"X-Pad: ".to_vec();
            header.resize(header.len() + bytes, b'a');
            header.extend_from_slice(b"\r\n");
            ordinary(&mut out, request, &header).await
        }
        Mode::ManyHeaders { count } => {
            let headers: String = (0..*count).map(|n| format!("X-Pad-{n}: {n}\r\n")).collect();
            ordinary(&mut out, request, headers.as_bytes()).await
        }
        Mode::InvalidUtf8Body => {
            let record = b"{\"id\":\"1\",\"name\":\"bad \xff\xfe \xc3\x28 bytes\"}";
            if list {
                let body = [b"{\"data\":[".as_slice(), record, b"]}"].concat();
                out.json("200 OK", &[], &body).await
            } else {
                out.json("200 OK", &[], record).await
            }
        }
        Mode::InvalidUtf8Header => {
            let headers = b"X-RateLimit-Limit: \xff\r\nX-RateLimit-Remaining: \xfe\xff\r\n\
                X-RateLimit-Reset: \xc3\x28\r\nRetry-After: \xff\r\nX-Note: caf\xe9 \xff\r\n";
            ordinary(&mut out, request, headers).await
        }
        _ => ordinary(&mut out, request, &[]).await,
    }
}

/// The socket, with every write counted.
struct Out<'a, S> {
    stream: &'a mut S,
    log: &'a Log,
}

impl<S: AsyncWrite + Unpin> Out<'_, S> {
    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.log.add_sent(bytes.len());
        Ok(())
    }

    /// A complete JSON answer with `Content-Length`, `extra` raw header lines, then the body.
    async fn json(&mut self, status: &str, extra: &[u8], body: &[u8]) -> io::Result<()> {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n",
            body.len()
        );
        let all = [head.as_bytes(), extra, b"\r\n", body].concat();
        self.send(&all).await?;
        self.stream.flush().await
    }

    /// A chunked JSON answer: `prefix`, then `x`s up to `total` bytes in all (forever when
    /// `None`), then `suffix`.
    async fn chunked(
        &mut self,
        status: &str,
        prefix: &[u8],
        total: Option<u64>,
        suffix: &[u8],
    ) -> io::Result<()> {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        self.send(head.as_bytes()).await?;
        self.chunk(prefix).await?;
        let filler = vec![b'x'; CHUNK];
        let mut left = total.map(|t| t.saturating_sub((prefix.len() + suffix.len()) as u64));
        while left != Some(0) {
            let n = left.map_or(CHUNK, |l| l.min(CHUNK as u64) as usize);
            self.chunk(&filler[..n]).await?;
            left = left.map(|l| l - n as u64);
        }
        self.chunk(suffix).await?;
        self.send(b"0\r\n\r\n").await?;
        self.stream.flush().await
    }

    async fn chunk(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let framed = [format!("{:x}\r\n", data.len()).as_bytes(), data, b"\r\n"].concat();
        self.send(&framed).await
    }
}

fn is_list(request: &Received) -> bool {
    request.method == "GET" && request.path().split('/').filter(|s| !s.is_empty()).count() == 2
}

fn paging(request: &Received) -> (u64, u64) {
    let offset = request.query_number("offset").unwrap_or(0);
    let limit = request.query_number("limit").unwrap_or(DEFAULT_LIMIT);
    (offset, limit)
}

/// A page of records with these ids, and its total if any.
fn page(ids: std::ops::Range<u64>, total: Option<u64>) -> String {
    let records: Vec<String> = ids
        .map(|id| format!("{{\"id\":{id},\"name\":\"record {id}\"}}"))
        .collect();
    let total = total
        .map(|t| format!(",\"meta\":{{\"total\":{t}}}"))
        .unwrap_or_default();
    format!("{{\"data\":[{}]{total}}}", records.join(","))
}

/// What a well-behaved server answers: a token, a page of [`ORDINARY_TOTAL`] records, a
/// record, or a `404`; with `extra` header lines.
async fn ordinary<S: AsyncWrite + Unpin>(
    out: &mut Out<'_, S>,
    request: &Received,
    extra: &[u8],
) -> io::Result<()> {
    let path = request.path();
    if request.method == "POST" && path == "/oauth/token" {
        let body = br#"{"access_token":"hostile-access","token_type":"Bearer","expires_in":3600}"#;
        return out.json("200 OK", extra, body).await;
    }
    if is_list(request) {
        let (offset, limit) = paging(request);
        let end = offset.saturating_add(limit).min(ORDINARY_TOTAL).max(offset);
        let body = page(offset..end, Some(ORDINARY_TOTAL));
        return out.json("200 OK", extra, body.as_bytes()).await;
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if request.method == "GET" && segments.len() == 3 {
        let body = format!("{{\"id\":\"{}\",\"name\":\"ok\"}}", segments[2]);
        return out.json("200 OK", extra, body.as_bytes()).await;
    }
    let body = br#"{"error":{"code":404,"message":"no such path"}}"#;
    out.json("404 Not Found", extra, body).await
}

async fn drip<S: AsyncWrite + Unpin>(out: &mut Out<'_, S>, every: Duration) -> io::Result<()> {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\
                Connection: close\r\n\r\n";
    out.send(head.as_bytes()).await?;
    let body = [b"{\"id\":\"1\",\"pad\":\"".as_slice(), &[b'x'; 1000]].concat();
    for byte in &body[..1000] {
        out.send(std::slice::from_ref(byte)).await?;
        out.stream.flush().await?;
        tokio::time::sleep(every).await;
    }
    Ok(())
}

async fn token_answer<S: AsyncWrite + Unpin>(
    out: &mut Out<'_, S>,
    token: &TokenAnswer,
) -> io::Result<()> {
    match token {
        TokenAnswer::Html => {
            let body = b"<html><body><h1>Sign in</h1></body></html>";
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            );
            out.send(&[head.as_bytes(), body].concat()).await
        }
        TokenAnswer::Huge { bytes } => {
            out.chunked("200 OK", b"{\"access_token\":\"", Some(*bytes), b"\"}")
                .await
        }
        TokenAnswer::Truncated => out.json("200 OK", &[], b"{\"access_token\":").await,
        TokenAnswer::LongToken { bytes } => {
            let mut body = b"{\"access_token\":\"".to_vec();
            body.resize(body.len() + bytes, b'a');
            body.extend_from_slice(b"\",\"token_type\":\"Bearer\",\"expires_in\":3600}");
            out.json("200 OK", &[], &body).await
        }
    }
}

async fn escapes<S: AsyncWrite + Unpin>(
    out: &mut Out<'_, S>,
    request: &Received,
    list: bool,
) -> io::Result<()> {
    let segments = request.path().split('/').filter(|s| !s.is_empty()).count();
    if list {
        let (offset, _) = paging(request);
        let records = if offset == 0 { ESCAPED_RECORD } else { "" };
        let body = format!("{{\"data\":[{records}],\"meta\":{{\"total\":1}}}}");
        out.json("200 OK", &[], body.as_bytes()).await
    } else if request.method == "GET" && segments == 3 && request.path().ends_with("/1") {
        out.json("200 OK", &[], ESCAPED_RECORD.as_bytes()).await
    } else {
        out.json("404 Not Found", &[], ESCAPED_ERROR.as_bytes())
            .await
    }
}
