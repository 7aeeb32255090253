//! JSON Lines from standard input (or any async reader), bounded: a line longer than the
//! limit (default [`MAX_LINE_BYTES`](crate::lines::MAX_LINE_BYTES), 16 MiB) is an error naming the line, and input that ends
//! in the middle of a line (no final newline: the writer died mid-message) is an error too,
//! never a message taken as complete.

use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};

use crate::error::ConnectorError;

/// The longest line read, by default (16 MiB).
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// The highest line limit a reader takes (1 GiB): a larger one is lowered to it.
pub const LINE_LIMIT_CEILING: usize = 1024 * 1024 * 1024;

/// Reads lines one at a time, each at most `max` bytes.
#[derive(Debug)]
pub struct LineReader<R> {
    reader: R,
    max: usize,
    line: u64,
    buf: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// A reader of lines of at most `max` bytes (1 to [`LINE_LIMIT_CEILING`]).
    pub fn new(reader: R, max: usize) -> Self {
        Self {
            reader,
            max: max.clamp(1, LINE_LIMIT_CEILING),
            line: 0,
            buf: Vec::new(),
        }
    }

    /// The next non-blank line and its 1-based number; `None` at the end of the input.
    pub async fn next_line(&mut self) -> Result<Option<(u64, &str)>, ConnectorError> {
        loop {
            self.buf.clear();
            self.line += 1;
            let line = self.line;
            let ended = loop {
                let available =
                    self.reader.fill_buf().await.map_err(|e| {
                        ConnectorError::io(format!("cannot read input line {line}"), e)
                    })?;
                if available.is_empty() {
                    break true;
                }
                let (take, done) = match available.iter().position(|b| *b == b'\n') {
                    Some(at) => (at + 1, true),
                    None => (available.len(), false),
                };
                // The line, its `\r\n` and nothing more is held.
                if self.buf.len().saturating_add(take) > self.max.saturating_add(2) {
                    return Err(self.too_long(line));
                }
                self.buf.extend_from_slice(&available[..take]);
                self.reader.consume(take);
                if done {
                    break false;
                }
            };
            if ended {
                if self.buf.iter().all(u8::is_ascii_whitespace) {
                    return Ok(None);
                }
                return Err(ConnectorError::Input {
                    line,
                    message: format!(
                        "the input ended in the middle of line {line} (no final newline): the \
                         writer stopped mid-message"
                    ),
                });
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let content = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
            if content.strip_suffix(b"\r").unwrap_or(content).len() > self.max {
                return Err(self.too_long(line));
            }
            let text = std::str::from_utf8(&self.buf).map_err(|_| ConnectorError::Input {
                line,
                message: "not UTF-8".into(),
            })?;
            return Ok(Some((line, text.trim_end())));
        }
    }
}

impl<R> LineReader<R> {
    fn too_long(&self, line: u64) -> ConnectorError {
        ConnectorError::Input {
            line,
            message: format!(
                "longer than {} bytes (the line limit; see docs/connectors.md)",
                self.max
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn all(input: &[u8], max: usize) -> Result<Vec<(u64, String)>, ConnectorError> {
        let mut reader = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some((n, line)) = reader.next_line().await? {
            out.push((n, line.to_owned()));
        }
        Ok(out)
    }

    #[tokio::test]
    async fn lines_blank_lines_and_limits() {
        let lines = all(b"a\n\n  \nbc\r\n", 10).await.unwrap();
        assert_eq!(lines, [(1, "a".into()), (4, "bc".into())]);
        let error = all(b"a\n0123456789ab\n", 10).await.unwrap_err().to_string();
        assert!(
            error.contains("line 2") && error.contains("longer than 10"),
            "{error}"
        );
        let error = all(b"a\n{\"type\":", 100).await.unwrap_err().to_string();
        assert!(
            error.contains("line 2") && error.contains("middle"),
            "{error}"
        );
        assert_eq!(all(b"0123456789\n", 10).await.unwrap().len(), 1);
        assert_eq!(all(b"0123456789\r\n", 10).await.unwrap().len(), 1);
        let error = all(b"0123456789a\n", 10).await.unwrap_err().to_string();
        assert!(error.contains("longer than 10"), "{error}");
    }

    #[tokio::test]
    async fn a_limit_is_held_between_one_byte_and_the_ceiling() {
        // usize::MAX overflowed `max + 2` (a panic in debug builds) before the ceiling.
        assert_eq!(all(b"abc\n", usize::MAX).await.unwrap().len(), 1);
        let reader = LineReader::new(&b""[..], usize::MAX);
        assert_eq!(reader.max, LINE_LIMIT_CEILING);
        let error = all(b"ab\n", 0).await.unwrap_err().to_string();
        assert!(error.contains("longer than 1"), "{error}");
    }

    #[tokio::test]
    async fn lines_across_small_reads() {
        let text = b"ab\r\ncdefgh\n\nij\n";
        let mut reader = LineReader::new(tokio::io::BufReader::with_capacity(3, &text[..]), 6);
        let mut out = Vec::new();
        while let Some((n, line)) = reader.next_line().await.unwrap() {
            out.push((n, line.to_owned()));
        }
        assert_eq!(
            out,
            [(1, "ab".into()), (2, "cdefgh".into()), (4, "ij".into())]
        );
        let mut reader = LineReader::new(
            tokio::io::BufReader::with_capacity(3, &b"abcdefgh\n"[..]),
            6,
        );
        let error = reader.next_line().await.unwrap_err().to_string();
        assert!(
            error.contains("line 1") && error.contains("longer than 6"),
            "{error}"
        );
    }
}
