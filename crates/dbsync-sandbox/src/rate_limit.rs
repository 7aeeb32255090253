//! A requests-per-minute budget with `X-RateLimit-*` headers on every response.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

const WINDOW: Duration = Duration::from_secs(60);

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

/// A fixed one-minute window that starts with its first request. Measured with tokio's clock,
/// so tests can move time with a paused runtime.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: Option<u32>,
    /// (window start, requests counted in it); `None` before the first request.
    window: Mutex<Option<(Instant, u32)>>,
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl RateLimiter {
    pub fn new(limit: Option<u32>) -> Self {
        Self {
            limit,
            window: Mutex::new(None),
        }
    }

    fn take(&self, count: bool) -> Option<(bool, RateLimitSnapshot)> {
        let limit = self.limit?;
        let now = Instant::now();
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (start, used) = match *window {
            Some((start, used)) if now < start + WINDOW => (start, used),
            _ => (now, 0),
        };
        let allowed = used < limit;
        let used = if allowed && count { used + 1 } else { used };
        if count || window.is_some() {
            *window = Some((start, used));
        }
        let left = (start + WINDOW).saturating_duration_since(now);
        Some((
            allowed,
            RateLimitSnapshot {
                limit,
                used,
                remaining: limit.saturating_sub(used),
                reset_at: unix_now() + left.as_secs_f64().ceil() as i64,
            },
        ))
    }

    /// Gives back a request counted in the current window (one whose authentication failed:
    /// the contract does not count those against the caller's budget).
    fn refund(&self) {
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((start, used)) = *window
            && Instant::now() < start + WINDOW
        {
            *window = Some((start, used.saturating_sub(1)));
        }
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

/// Counts the request; answers `429` past the budget; adds the headers. A request answered
/// `401` (its authentication failed) is given back: the contract does not count it.
pub(crate) async fn middleware(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some((allowed, snapshot)) = state.rate_limiter.take(true) else {
        return next.run(request).await;
    };
    let mut response = if allowed {
        let response = next.run(request).await;
        if response.status() == StatusCode::UNAUTHORIZED {
            state.rate_limiter.refund();
            let snapshot = state.rate_limiter.snapshot().unwrap_or(snapshot);
            let mut response = response;
            set_headers(response.headers_mut(), &snapshot);
            return response;
        }
        response
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

    #[tokio::test(start_paused = true)]
    async fn a_refund_gives_one_request_back_and_never_goes_below_zero() {
        let limiter = RateLimiter::new(Some(2));
        limiter.take(true);
        limiter.take(true);
        limiter.refund();
        assert_eq!(limiter.snapshot().map(|s| s.remaining), Some(1));
        limiter.refund();
        limiter.refund();
        assert_eq!(limiter.snapshot().map(|s| s.remaining), Some(2));
    }
}
