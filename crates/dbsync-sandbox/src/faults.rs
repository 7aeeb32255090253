//! Fault injection: deterministic given a seed, decided before any state changes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::rng::mix;
use crate::state::AppState;

/// Which faults to inject, and how often. Off by default (every rate `0`, no latency).
///
/// ```
/// use dbsync_sandbox::Faults;
/// let faults = Faults { seed: 7, error_rate: 0.2, every_nth_429: Some(10), ..Faults::default() };
/// assert!(faults.is_active());
/// assert!(!Faults::default().is_active());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Seed of the schedule: the same seed gives the same fault for the same request number.
    pub seed: u64,
    /// Fraction (0.0..=1.0) of requests answered `500` before anything happens.
    pub error_rate: f64,
    /// Every K-th request (K >= 1) is answered `429` before anything happens.
    pub every_nth_429: Option<u64>,
    /// `Retry-After` seconds sent with an injected `429` (default 1).
    pub retry_after_secs: u64,
    /// Fraction of requests whose connection is closed without a response, before acting.
    pub drop_rate: f64,
    /// Fraction of requests answered with a body shorter than its `Content-Length` (then the
    /// connection is closed), before acting.
    pub truncate_rate: f64,
    /// Fraction of requests that are carried out and whose response is then lost: the
    /// connection drops, or the body is cut short (half each).
    pub lost_response_rate: f64,
    /// Fraction of requests delayed by `slow_delay` (then served normally).
    pub slow_rate: f64,
    /// Delay of a slow request.
    pub slow_delay: Duration,
    /// Delay added to every request.
    pub latency: Duration,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            seed: 0,
            error_rate: 0.0,
            every_nth_429: None,
            retry_after_secs: 1,
            drop_rate: 0.0,
            truncate_rate: 0.0,
            lost_response_rate: 0.0,
            slow_rate: 0.0,
            slow_delay: Duration::from_millis(500),
            latency: Duration::ZERO,
        }
    }
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Served normally.
    None,
    /// Answered `500` without acting.
    ServerError,
    /// Answered `429` with `Retry-After` without acting.
    TooManyRequests,
    /// Connection closed without a response, without acting.
    Drop,
    /// A truncated `500` body, without acting.
    Truncate,
    /// Acted on, then the connection closed without a response.
    LostDrop,
    /// Acted on, then the response body cut short.
    LostTruncate,
    /// Delayed by `slow_delay`, then served normally.
    Slow,
}

impl Faults {
    /// A schedule in which the first request is carried out and its answer lost (the
    /// connection dropped or the body cut), and the 40 after it are answered normally: for
    /// tests of what a client does after a lost answer. The seed is found from [`Faults::decide`].
    pub fn first_answer_lost() -> Self {
        let with_seed = |seed: u64| Faults {
            seed,
            lost_response_rate: 0.05,
            ..Faults::default()
        };
        let seed = (0..1_000_000u64)
            .find(|&seed| {
                let schedule = with_seed(seed);
                matches!(schedule.decide(1), Fault::LostDrop | Fault::LostTruncate)
                    && (2..=40).all(|n| schedule.decide(n) == Fault::None)
            })
            // Found for seed < 100,000 (the unit test checks it); never reached.
            .unwrap_or_default();
        with_seed(seed)
    }

    /// Whether any fault (other than fixed latency) can happen.
    pub fn is_active(&self) -> bool {
        self.error_rate > 0.0
            || self.every_nth_429.is_some_and(|n| n > 0)
            || self.drop_rate > 0.0
            || self.truncate_rate > 0.0
            || self.lost_response_rate > 0.0
            || self.slow_rate > 0.0
    }

    /// The fault for the `request_number`-th request (counting from 1). Pure: the same seed,
    /// rates and number always give the same answer.
    pub fn decide(&self, request_number: u64) -> Fault {
        if let Some(n) = self.every_nth_429
            && n > 0
            && request_number.is_multiple_of(n)
        {
            return Fault::TooManyRequests;
        }
        let hash = mix(self.seed ^ mix(request_number));
        let draw = (hash >> 11) as f64 / (1u64 << 53) as f64;
        let mut edge = 0.0;
        let mut hit = |rate: f64| {
            edge += rate.clamp(0.0, 1.0);
            draw < edge
        };
        if hit(self.error_rate) {
            Fault::ServerError
        } else if hit(self.drop_rate) {
            Fault::Drop
        } else if hit(self.truncate_rate) {
            Fault::Truncate
        } else if hit(self.lost_response_rate) {
            if hash & 1 == 0 {
                Fault::LostDrop
            } else {
                Fault::LostTruncate
            }
        } else if hit(self.slow_rate) {
            Fault::Slow
        } else {
            Fault::None
        }
    }
}

/// Counts requests for the fault schedule.
#[derive(Debug, Default)]
pub(crate) struct FaultCounter(AtomicU64);

impl FaultCounter {
    fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}

fn injected_error() -> std::io::Error {
    std::io::Error::other("injected fault: connection dropped")
}

/// A response whose body errors at once: hyper closes the connection before anything of the
/// response (not even the status line) is sent.
fn dropped(status: StatusCode) -> Response {
    let stream = futures::stream::once(async { Err::<Bytes, _>(injected_error()) });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    response
}

/// A body that sends `prefix`, then errors: yielding once in between lets hyper flush the head
/// and the prefix to the socket before the error makes it abort the connection.
fn cut_body(prefix: Bytes) -> Body {
    let stream = futures::stream::unfold(Some(Some(prefix)), |step| async move {
        match step? {
            Some(bytes) => Some((Ok(bytes), Some(None))),
            None => {
                tokio::task::yield_now().await;
                Some((Err::<Bytes, _>(injected_error()), None))
            }
        }
    });
    Body::from_stream(stream)
}

/// A response that promises `body.len()` bytes, sends half of them, then closes.
fn truncated(mut parts: axum::http::response::Parts, body: Bytes) -> Response {
    let half = body.slice(..body.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len().max(2)));
    Response::from_parts(parts, cut_body(half))
}

/// The fault-injection middleware.
pub(crate) async fn middleware(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let faults = &state.faults;
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if !faults.is_active() {
        return next.run(request).await;
    }
    let fault = faults.decide(state.fault_counter.next());
    match fault {
        Fault::None => next.run(request).await,
        Fault::Slow => {
            tokio::time::sleep(faults.slow_delay).await;
            next.run(request).await
        }
        Fault::ServerError => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error (injected fault)",
        )
        .into_response(),
        Fault::TooManyRequests => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests (injected fault)",
        )
        .with_header(
            header::RETRY_AFTER,
            HeaderValue::from(faults.retry_after_secs),
        )
        .into_response(),
        Fault::Drop => dropped(StatusCode::INTERNAL_SERVER_ERROR),
        Fault::Truncate => {
            let (parts, body) = ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error (injected fault, truncated)",
            )
            .into_response()
            .into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            truncated(parts, bytes)
        }
        Fault::LostDrop => {
            let response = next.run(request).await;
            let status = response.status();
            // Let the handler's response finish (it has acted), then lose it.
            let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await;
            dropped(status)
        }
        Fault::LostTruncate => {
            let (parts, body) = next.run(request).await.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            truncated(parts, bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_answer_lost_schedule_loses_only_the_first_answer() {
        let faults = Faults::first_answer_lost();
        assert!(matches!(
            faults.decide(1),
            Fault::LostDrop | Fault::LostTruncate
        ));
        assert!((2..=40).all(|n| faults.decide(n) == Fault::None));
    }

    #[test]
    fn off_by_default() {
        let faults = Faults::default();
        assert!((1..1000).all(|n| faults.decide(n) == Fault::None));
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        let a = Faults {
            seed: 7,
            error_rate: 0.5,
            ..Faults::default()
        };
        let b = Faults {
            seed: 8,
            ..a.clone()
        };
        let run = |f: &Faults| (1..200).map(|n| f.decide(n)).collect::<Vec<_>>();
        assert_eq!(run(&a), run(&a));
        assert_ne!(run(&a), run(&b));
    }

    #[test]
    fn rates_are_roughly_respected() {
        let faults = Faults {
            seed: 1,
            error_rate: 0.2,
            drop_rate: 0.1,
            ..Faults::default()
        };
        let n = 10_000;
        let errors = (1..=n)
            .filter(|i| faults.decide(*i) == Fault::ServerError)
            .count();
        let drops = (1..=n).filter(|i| faults.decide(*i) == Fault::Drop).count();
        assert!((1_700..2_300).contains(&errors), "{errors}");
        assert!((800..1_200).contains(&drops), "{drops}");
    }

    #[test]
    fn every_nth_is_429() {
        let faults = Faults {
            every_nth_429: Some(3),
            ..Faults::default()
        };
        let got: Vec<Fault> = (1..=6).map(|n| faults.decide(n)).collect();
        assert_eq!(
            got,
            [
                Fault::None,
                Fault::None,
                Fault::TooManyRequests,
                Fault::None,
                Fault::None,
                Fault::TooManyRequests
            ]
        );
    }

    #[test]
    fn full_rates_always_fire() {
        let all = |f: Faults, want: &[Fault]| (1..100).all(|n| want.contains(&f.decide(n)));
        assert!(all(
            Faults {
                error_rate: 1.0,
                ..Faults::default()
            },
            &[Fault::ServerError]
        ));
        assert!(all(
            Faults {
                truncate_rate: 1.0,
                ..Faults::default()
            },
            &[Fault::Truncate]
        ));
        assert!(all(
            Faults {
                lost_response_rate: 1.0,
                ..Faults::default()
            },
            &[Fault::LostDrop, Fault::LostTruncate]
        ));
    }
}
