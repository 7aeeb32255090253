//! One request as the hostile server read it: its head (at most [`MAX_HEAD_BYTES`]) and body
//! (at most [`MAX_BODY_BYTES`]).

use tokio::io::{AsyncRead, AsyncReadExt as _};

/// The longest request head read; a longer one ends the connection.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The longest request body read; a longer one is cut.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A request the server received.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Received {
    /// `GET`, `POST`...
    pub method: String,
    /// The request target: the path and the query.
    pub target: String,
    /// The headers, names lower-cased, values as (lossy) text.
    pub headers: Vec<(String, String)>,
    /// The body (at most [`MAX_BODY_BYTES`]).
    pub body: Vec<u8>,
}

impl Received {
    /// The value of the header `name` (any case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `needle` occurs anywhere in the request: target, a header or the body.
    pub fn contains(&self, needle: &str) -> bool {
        self.target.contains(needle)
            || self
                .headers
                .iter()
                .any(|(n, v)| n.contains(needle) || v.contains(needle))
            || String::from_utf8_lossy(&self.body).contains(needle)
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The query parameter `name` as a number, if sent and numeric.
    pub fn query_number(&self, name: &str) -> Option<u64> {
        let query = self.target.split_once('?')?.1;
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.parse().ok())
    }

    /// Reads one request from `stream`; `None` when the peer closed first or the head is
    /// over [`MAX_HEAD_BYTES`].
    pub(crate) async fn read<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Self> {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(at) = find(&buffer, b"\r\n\r\n") {
                break at;
            }
            if buffer.len() > MAX_HEAD_BYTES {
                return None;
            }
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap_or("").split(' ');
        let method = request_line.next().unwrap_or("").to_owned();
        let target = request_line.next().unwrap_or("").to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut received = Self {
            method,
            target,
            headers,
            body: buffer[end + 4..].to_vec(),
        };
        let length = received
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
            .min(MAX_BODY_BYTES);
        while received.body.len() < length {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            received.body.extend_from_slice(&chunk[..n]);
        }
        received.body.truncate(length);
        Some(received)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
