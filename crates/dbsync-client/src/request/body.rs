//! Reading a response body whole, within the connection's limit on its size
//! ([`crate::ConnectionBuilder::max_response_bytes`]): chunk by chunk with a running count, so
//! a body that is too large (or never ends) is given up at the limit, not held in memory.

use bytes::Bytes;

use super::call::Call;
use crate::error::{Error, TransportKind};

/// Why a body could not be read whole.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// It is over the limit (said by its `Content-Length`, or counted while reading).
    TooLarge,
    /// Reading it failed (a timeout, a dropped connection).
    Read(reqwest::Error),
}

/// Reads the body of `response` whole, up to `limit` bytes. A body in one chunk (the usual
/// small answer) is handed back as it came, without a copy.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let announced = response.content_length();
    if announced.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut total: usize = 0;
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        total = total.saturating_add(chunk.len());
        if total > limit {
            return Err(BodyError::TooLarge);
        }
        match first.take() {
            None if joined.is_empty() => first = Some(chunk),
            None => joined.extend_from_slice(&chunk),
            Some(earlier) => {
                // A second chunk: join them, sized for the whole body when it was announced.
                let expected = announced
                    .and_then(|length| usize::try_from(length).ok())
                    .unwrap_or(0)
                    .max(total);
                joined.reserve(expected);
                joined.extend_from_slice(&earlier);
                joined.extend_from_slice(&chunk);
            }
        }
    }
    Ok(match first {
        Some(only) => only,
        None => Bytes::from(joined),
    })
}

/// The error of a body over `limit` bytes: `status` is given for an error answer (a `2xx` is
/// the caller's own answer, lost).
pub(crate) fn too_large(call: &Call, status: u16, limit: usize) -> Error {
    let what = if (200..300).contains(&status) {
        "; the server may have acted on the request"
    } else {
        " (an error answer)"
    };
    Error::Transport {
        kind: TransportKind::ResponseTooLarge,
        message: format!(
            "{} answered {status} with a body over the limit of {limit} bytes ({}){what}; it \
             was not read to its end nor retried; if answers this large are expected, raise \
             the limit with ConnectionBuilder::max_response_bytes (CLI: --max-response-bytes)",
            call.describe(),
            human_size(limit)
        ),
        source: None,
    }
}

/// `limit` in MiB or KiB when it is a whole number of them, else in bytes.
fn human_size(limit: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    if limit >= MIB && limit.is_multiple_of(MIB) {
        format!("{} MiB", limit / MIB)
    } else if limit >= KIB && limit.is_multiple_of(KIB) {
        format!("{} KiB", limit / KIB)
    } else {
        format!("{limit} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(64 * 1024 * 1024), "64 MiB");
        assert_eq!(human_size(2048), "2 KiB");
        assert_eq!(human_size(1000), "1000 B");
    }
}
