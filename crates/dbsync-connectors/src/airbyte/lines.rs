//! Reading standard input line by line with a length limit: a longer line is an error found
//! before it is held in memory, and an input that ends without a final newline is told apart
//! (it was cut mid-line).

use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};

/// The longest line read by default, in bytes (16 MiB).
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// What one read gave.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Line {
    /// A whole line (without its newline) is in the buffer.
    Complete,
    /// The input ended; nothing is in the buffer.
    End,
    /// The input ended in the middle of a line (no final newline); the partial line is in the
    /// buffer.
    Cut,
    /// The line is longer than the limit (the buffer holds its first part).
    TooLong,
}

/// Reads the next line into `buffer` (cleared first), holding at most `max` bytes of it.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
    buffer: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    buffer.clear();
    loop {
        let available = input.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buffer.is_empty() {
                Line::End
            } else {
                Line::Cut
            });
        }
        let (chunk, found) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], Some(at)),
            None => (available, None),
        };
        if buffer.len() + chunk.len() > max {
            let room = max - buffer.len();
            buffer.extend_from_slice(&chunk[..room]);
            return Ok(Line::TooLong);
        }
        buffer.extend_from_slice(chunk);
        let used = found.map_or(chunk.len(), |at| at + 1);
        input.consume(used);
        if found.is_some() {
            if buffer.last() == Some(&b'\r') {
                buffer.pop();
            }
            return Ok(Line::Complete);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn all(input: &[u8], max: usize) -> Vec<(Line, String)> {
        let mut reader = tokio::io::BufReader::with_capacity(4, input);
        let mut buffer = Vec::new();
        let mut out = Vec::new();
        loop {
            let line = read_line(&mut reader, &mut buffer, max).await.unwrap();
            let done = line != Line::Complete;
            out.push((line, String::from_utf8_lossy(&buffer).into_owned()));
            if done {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn lines_cut_and_too_long() {
        assert_eq!(
            all(b"ab\r\ncdefgh\n", 10).await,
            [
                (Line::Complete, "ab".into()),
                (Line::Complete, "cdefgh".into()),
                (Line::End, String::new())
            ]
        );
        assert_eq!(all(b"ab\ncd", 10).await[1], (Line::Cut, "cd".into()));
        assert_eq!(
            all(b"ab\n0123456789X\n", 10).await[1],
            (Line::TooLong, "0123456789".into())
        );
        assert_eq!(
            all(b"0123456789\n", 10).await[0],
            (Line::Complete, "0123456789".into())
        );
    }
}
