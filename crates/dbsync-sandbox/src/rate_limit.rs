//! A requests-per-minute budget with `X-RateLimit-*` headers on every response.

use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

const WINDOW_SECS: i64 = 60;

/// The budget's state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSnapshot {
    /// Requests allowed per minute.
    pub limit: u32,
    /// Requests counted in the current window.
    pub used: u32,
    /// Requests left in the current window.
    pub remaining: u32,
    /// When the window resets (unix seconds).
    pub reset_at: i64,
}

/// A fixed one-minute window that starts with its first request.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: Option<u32>,
    /// (window start in unix seconds, requests counted in it)
    window: Mutex<(i64, u32)>,
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl RateLimiter {
    pub fn new(limit: Option<u32>) -> Self {
        Self {
            limit,
            window: Mutex::new((0, 0)),
        }
    }

    fn take(&self, count: bool) -> Option<(bool, RateLimitSnapshot)> {
        let limit = self.limit?;
        let now = unix_now();
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if now >= window.0 + WINDOW_SECS {
            *window = (now, 0);
        }
        let allowed = window.1 < limit;
        if allowed && count {
            window.1 += 1;
        }
        Some((
            allowed,
            RateLimitSnapshot {
                limit,
                used: window.1,
                remaining: limit.saturating_sub(window.1),
                reset_at: window.0 + WINDOW_SECS,
            },
        ))
    }

    /// The current state, without counting a request (`None` when unlimited).
    pub fn snapshot(&self) -> Option<RateLimitSnapshot> {
        self.take(false).map(|(_, snapshot)| snapshot)
    }
}

fn set_headers(headers: &mut HeaderMap, snapshot: &RateLimitSnapshot) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(snapshot.limit));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(snapshot.remaining),
    );
    headers.insert("x-ratelimit-reset", HeaderValue::from(snapshot.reset_at));
}

/// Counts the request; answers `429` past the budget; adds the headers.
pub(crate) async fn middleware(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some((allowed, snapshot)) = state.rate_limiter.take(true) else {
        return next.run(request).await;
    };
    let mut response = if allowed {
        next.run(request).await
    } else {
        let retry_after = (snapshot.reset_at - unix_now()).max(1);
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many requests: the limit is {} per minute; retry after {retry_after} s",
                snapshot.limit
            ),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after))
        .into_response()
    };
    set_headers(response.headers_mut(), &snapshot);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_runs_out() {
        let limiter = RateLimiter::new(Some(2));
        assert!(
            limiter
                .take(true)
                .is_some_and(|(ok, s)| ok && s.remaining == 1)
        );
        assert!(
            limiter
                .take(true)
                .is_some_and(|(ok, s)| ok && s.remaining == 0)
        );
        assert!(limiter.take(true).is_some_and(|(ok, _)| !ok));
        assert!(RateLimiter::new(None).take(true).is_none());
    }
}
