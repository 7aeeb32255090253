//! Client-side rate limiting (a hook for now) and the server's rate-limit headers.

use std::fmt::Debug;

use async_trait::async_trait;
use http::{HeaderMap, HeaderName};

/// The header names, built once (a `&str` lookup parses the name on every call).
const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Holds a request back until the client may send it. The request path calls
/// [`RateLimiter::until_ready`] before every attempt (retries included). No limiter is installed
/// by default; plug one in with [`crate::ConnectionBuilder::rate_limiter`].
#[async_trait]
pub trait RateLimiter: Send + Sync + Debug {
    /// Waits until one more request may be sent.
    async fn until_ready(&self);
}

/// The server's `X-RateLimit-*` headers, where present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitInfo {
    /// `X-RateLimit-Limit`: requests allowed per window.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`: requests left in this window.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Reset`: when the window resets, in unix seconds.
    pub reset: Option<u64>,
}

impl RateLimitInfo {
    /// Reads the headers; a missing or unparsable header is `None`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let number = |name: &HeaderName| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .and_then(|text| text.trim().parse().ok())
        };
        Self {
            limit: number(&LIMIT),
            remaining: number(&REMAINING),
            reset: number(&RESET),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_present_headers_and_ignores_bad_ones() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-limit", "600".parse().unwrap());
        headers.insert("x-ratelimit-remaining", "oops".parse().unwrap());
        let info = RateLimitInfo::from_headers(&headers);
        assert_eq!(info.limit, Some(600));
        assert_eq!(info.remaining, None);
        assert_eq!(info.reset, None);
    }
}
