//! Request budgets per minute and per hour, with `X-RateLimit-*` headers on every response
//! that describe the window that runs out first.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// The budget's state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSnapshot {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests counted in the current window.
    pub used: u32,
    /// Requests left in the current window.
    pub remaining: u32,
    /// When the window resets (unix seconds).
    pub reset_at: i64,
}

/// Which window a budget counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateWindow {
    /// A fixed one-minute window.
    Minute,
    /// A fixed one-hour window.
    Hour,
}

impl RateWindow {
    /// The window's name in `GET /v1/usage`: `minute` or `hour`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
        }
    }

    fn length(self) -> Duration {
        match self {
            Self::Minute => Duration::from_secs(60),
            Self::Hour => Duration::from_secs(3600),
        }
    }
}

#[derive(Debug)]
struct Window {
    kind: RateWindow,
    limit: u32,
    /// How long the window lasts (the kind's length unless shortened for tests).
    length: Duration,
    /// (window start, requests counted in it); `None` before the first request.
    state: Option<(Instant, u32)>,
}

impl Window {
    /// (start, used) of the window current at `now`.
    fn current(&self, now: Instant) -> (Instant, u32) {
        match self.state {
            Some((start, used)) if now < start + self.length => (start, used),
            _ => (now, 0),
        }
    }

    fn snapshot(&self, start: Instant, used: u32, now: Instant) -> RateLimitSnapshot {
        let left = (start + self.length).saturating_duration_since(now);
        RateLimitSnapshot {
            limit: self.limit,
            used,
            remaining: self.limit.saturating_sub(used),
            // Rounded up from the exact time, never told earlier than the window resets: a
            // client that waits for it must not meet a `429`.
            reset_at: (unix_now_secs_f64() + left.as_secs_f64()).ceil() as i64,
        }
    }
}

/// Fixed windows (a minute, an hour) that each start with their first request. Measured with
/// tokio's clock, so tests can move time with a paused runtime. A request is allowed when
/// every window has room, and then counted in every window.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    windows: Mutex<Vec<Window>>,
}

fn unix_now_secs_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// The window that runs out first: the fewest requests left; on a tie the later reset (the
/// longer wait).
fn binding(
    snapshots: &[(RateWindow, RateLimitSnapshot)],
) -> Option<(RateWindow, RateLimitSnapshot)> {
    snapshots.iter().copied().min_by(|(_, a), (_, b)| {
        a.remaining
            .cmp(&b.remaining)
            .then(b.reset_at.cmp(&a.reset_at))
    })
}

impl RateLimiter {
    /// Budgets per minute and per hour; `minute` is the length of the minute window (60 s
    /// unless shortened for tests and benchmarks).
    pub fn new(per_minute: Option<u32>, per_hour: Option<u32>, minute: Duration) -> Self {
        let windows = [
            (RateWindow::Minute, per_minute),
            (RateWindow::Hour, per_hour),
        ]
        .into_iter()
        .filter_map(|(kind, limit)| {
            limit.map(|limit| Window {
                kind,
                limit,
                length: match kind {
                    RateWindow::Minute => minute,
                    RateWindow::Hour => kind.length(),
                },
                state: None,
            })
        })
        .collect();
        Self {
            windows: Mutex::new(windows),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Window>> {
        self.windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a request is allowed (counting it when `count`), and every window's state;
    /// `None` when unlimited.
    fn take_all(&self, count: bool) -> Option<(bool, Vec<(RateWindow, RateLimitSnapshot)>)> {
        let now = Instant::now();
        let mut windows = self.lock();
        if windows.is_empty() {
            return None;
        }
        let allowed = windows.iter().all(|w| {
            let (_, used) = w.current(now);
            used < w.limit
        });
        let mut snapshots = Vec::with_capacity(windows.len());
        for window in windows.iter_mut() {
            let (start, used) = window.current(now);
            let used = if allowed && count { used + 1 } else { used };
            if count || window.state.is_some() {
                window.state = Some((start, used));
            }
            snapshots.push((window.kind, window.snapshot(start, used, now)));
        }
        Some((allowed, snapshots))
    }

    /// Whether a request is allowed (counting it when `count`), and the window that runs out
    /// first; `None` when unlimited.
    fn take(&self, count: bool) -> Option<(bool, RateWindow, RateLimitSnapshot)> {
        let (allowed, snapshots) = self.take_all(count)?;
        binding(&snapshots).map(|(kind, snapshot)| (allowed, kind, snapshot))
    }

    /// Gives back a request counted in the current windows (one whose authentication failed:
    /// the contract does not count those against the caller's budget).
    fn refund(&self) {
        let now = Instant::now();
        for window in self.lock().iter_mut() {
            if let Some((start, used)) = window.state
                && now < start + window.length
            {
                window.state = Some((start, used.saturating_sub(1)));
            }
        }
    }

    /// The window that runs out first, without counting a request (`None` when unlimited).
    pub fn snapshot(&self) -> Option<RateLimitSnapshot> {
        self.take(false).map(|(_, _, snapshot)| snapshot)
    }

    /// Whole seconds (rounded up) until the `kind` window resets: the `Retry-After` of a `429`
    /// it refused.
    fn seconds_left(&self, kind: RateWindow) -> i64 {
        let now = Instant::now();
        self.lock().iter().find(|w| w.kind == kind).map_or(0, |w| {
            let (start, _) = w.current(now);
            let left = (start + w.length).saturating_duration_since(now);
            left.as_secs_f64().ceil() as i64
        })
    }

    /// Every window's state, minute first, without counting a request (empty when unlimited).
    pub fn windows(&self) -> Vec<(RateWindow, RateLimitSnapshot)> {
        self.take_all(false)
            .map(|(_, snapshots)| snapshots)
            .unwrap_or_default()
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

/// Counts the request; answers `429` when a window is used up, with `Retry-After` until that
/// window resets; adds the headers of the window that runs out first. A request answered `401`
/// (its authentication failed) is given back: the contract does not count it.
pub(crate) async fn middleware(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some((allowed, window, snapshot)) = state.rate_limiter.take(true) else {
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
        let retry_after = state.rate_limiter.seconds_left(window).max(1);
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many requests: the limit is {} per {}; retry after {retry_after} s",
                snapshot.limit,
                window.as_str()
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

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn budget_runs_out() {
        let limiter = RateLimiter::new(Some(2), None, MINUTE);
        assert!(
            limiter
                .take(true)
                .is_some_and(|(ok, _, s)| ok && s.remaining == 1)
        );
        assert!(
            limiter
                .take(true)
                .is_some_and(|(ok, _, s)| ok && s.remaining == 0)
        );
        assert!(limiter.take(true).is_some_and(|(ok, _, _)| !ok));
        assert!(RateLimiter::new(None, None, MINUTE).take(true).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_refund_gives_one_request_back_and_never_goes_below_zero() {
        let limiter = RateLimiter::new(Some(2), Some(10), MINUTE);
        limiter.take(true);
        limiter.take(true);
        limiter.refund();
        assert_eq!(limiter.snapshot().map(|s| s.remaining), Some(1));
        limiter.refund();
        limiter.refund();
        assert_eq!(limiter.snapshot().map(|s| s.remaining), Some(2));
        let hour = limiter.windows()[1];
        assert_eq!((hour.0, hour.1.remaining), (RateWindow::Hour, 10));
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_that_runs_out_first_is_described() {
        let limiter = RateLimiter::new(Some(5), Some(7), MINUTE);
        for _ in 0..3 {
            limiter.take(true);
        }
        // Minute: 2 left; hour: 4 left.
        assert_eq!(
            limiter.take(false).map(|(_, w, s)| (w, s.remaining)),
            Some((RateWindow::Minute, 2))
        );
        tokio::time::advance(Duration::from_secs(61)).await;
        // A new minute: 5 left; the hour still has 4.
        assert_eq!(
            limiter.take(false).map(|(_, w, s)| (w, s.remaining)),
            Some((RateWindow::Hour, 4))
        );
        for _ in 0..4 {
            assert!(limiter.take(true).is_some_and(|(ok, _, _)| ok));
        }
        let (ok, window, snapshot) = limiter.take(true).unwrap();
        assert!(!ok);
        assert_eq!((window, snapshot.remaining), (RateWindow::Hour, 0));
        // Refused requests are not counted in the minute window either.
        assert_eq!(limiter.windows()[0].1.used, 4);
    }

    #[test]
    fn a_tie_names_the_longer_wait() {
        let snap = |remaining, reset_at| RateLimitSnapshot {
            limit: 9,
            used: 9 - remaining,
            remaining,
            reset_at,
        };
        let both = [
            (RateWindow::Minute, snap(0, 100)),
            (RateWindow::Hour, snap(0, 3000)),
        ];
        assert_eq!(binding(&both).map(|(w, _)| w), Some(RateWindow::Hour));
    }
}
