//! `Idempotency-Key` on `POST`: a repeat with the same body replays the first response.
//!
//! An empty (or blank) key is a `400`: it is not a key that tells one request from another.
//! Keys are global to the sandbox, not tied to the credential that sent them (the contract does
//! not scope them; the sandbox is one account, so any of its credentials that repeats a key and
//! body gets the first answer, an API key's secret included); the OAuth endpoints
//! (`/oauth/...`) ignore the header.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::auth::is_public_path;
use crate::error::ApiError;
use crate::state::AppState;

const KEEP_FOR: Duration = dbsync_contract::IDEMPOTENCY_KEY_LIFETIME;
const HEADER: &str = "idempotency-key";

#[derive(Debug, Clone)]
struct Stored {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Debug, Clone)]
enum Slot {
    InFlight {
        fingerprint: [u8; 32],
    },
    Done {
        fingerprint: [u8; 32],
        response: Stored,
        at: Instant,
    },
}

/// Below this many slots, expired ones are never swept.
const SWEEP_FLOOR: usize = 10_000;

/// The slots by key, and when to sweep out expired ones next.
#[derive(Debug, Default)]
struct Slots {
    /// By the header's exact bytes (a key need not be UTF-8; a lossy decoding would make two
    /// different keys one).
    by_key: HashMap<Vec<u8>, Slot>,
    /// Sweep when there are more slots than this: twice what the last sweep left (at least
    /// [`SWEEP_FLOOR`]), so sweeping costs O(1) per request however many keys are live.
    /// Sweeping whenever the count is above a fixed bound would scan every slot on every
    /// request once that many keys are live within 24 h.
    sweep_above: usize,
    /// How many sweeps ran (for tests).
    sweeps: u64,
}

impl Slots {
    /// Drops expired responses when the map has grown enough since the last sweep.
    fn sweep_if_due(&mut self) {
        if self.by_key.len() <= self.sweep_above.max(SWEEP_FLOOR) {
            return;
        }
        self.by_key
            .retain(|_, slot| !matches!(slot, Slot::Done { at, .. } if at.elapsed() > KEEP_FOR));
        self.sweep_above = self.by_key.len().saturating_mul(2).max(SWEEP_FLOOR);
        self.sweeps += 1;
    }
}

/// Remembered responses by key.
#[derive(Debug, Default)]
pub(crate) struct IdempotencyCache {
    slots: Mutex<Slots>,
}

impl IdempotencyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Removes an in-flight slot if the request never completes (client went away).
struct InFlightGuard {
    state: AppState,
    key: Option<Vec<u8>>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut slots = self.state.idempotency.lock();
            if matches!(slots.by_key.get(&key), Some(Slot::InFlight { .. })) {
                slots.by_key.remove(&key);
            }
        }
    }
}

fn fingerprint(method: &Method, uri: &str, body: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(uri.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hasher.finalize().into()
}

fn replay(stored: &Stored) -> Response {
    let mut response = Response::new(Body::from(stored.body.clone()));
    *response.status_mut() = stored.status;
    *response.headers_mut() = stored.headers.clone();
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

fn conflict(message: &str) -> Response {
    ApiError::new(StatusCode::CONFLICT, message).into_response()
}

/// Replays, rejects or records `POST` requests that carry an `Idempotency-Key`.
pub(crate) async fn middleware(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // The OAuth endpoints are not the API: their responses hold fresh tokens (RFC 6749 5.1:
    // `Cache-Control: no-store`), and a replay would hand them to a caller whose client
    // credentials were never checked.
    if request.method() != Method::POST || is_public_path(request.uri().path()) {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER).map(|v| v.as_bytes().to_vec()) else {
        return next.run(request).await;
    };
    if key.iter().all(u8::is_ascii_whitespace) {
        return ApiError::bad_request(
            "The Idempotency-Key header is empty: send a unique non-empty key (such as a random \
             UUID) for each new request, or leave the header out",
        )
        .into_response();
    }
    let (parts, body) = request.into_parts();
    let limit = state.max_body_bytes;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request body is larger than the limit of {limit} bytes"),
        )
        .into_response();
    };
    let uri = parts.uri.to_string();
    let print = fingerprint(&parts.method, &uri, &bytes);
    {
        let mut slots = state.idempotency.lock();
        slots.sweep_if_due();
        match slots.by_key.get(&key) {
            Some(Slot::Done { at, .. }) if at.elapsed() > KEEP_FOR => {}
            Some(Slot::Done {
                fingerprint,
                response,
                ..
            }) => {
                return if *fingerprint == print {
                    replay(response)
                } else {
                    conflict(
                        "Idempotency-Key was already used with a different request body; use a new key for a new request",
                    )
                };
            }
            Some(Slot::InFlight { fingerprint }) => {
                return if *fingerprint == print {
                    conflict(
                        "A request with this Idempotency-Key is still being processed; retry later",
                    )
                } else {
                    conflict(
                        "Idempotency-Key was already used with a different request body; use a new key for a new request",
                    )
                };
            }
            None => {}
        }
        slots
            .by_key
            .insert(key.clone(), Slot::InFlight { fingerprint: print });
    }
    let mut guard = InFlightGuard {
        state: state.clone(),
        key: Some(key.clone()),
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    let (parts, body) = next.run(request).await.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let stored = Stored {
        status: parts.status,
        headers: parts.headers.clone(),
        body: body.clone(),
    };
    state.idempotency.lock().by_key.insert(
        key,
        Slot::Done {
            fingerprint: print,
            response: stored,
            at: Instant::now(),
        },
    );
    guard.key = None;
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(at: Instant) -> Slot {
        Slot::Done {
            fingerprint: [0; 32],
            response: Stored {
                status: StatusCode::CREATED,
                headers: HeaderMap::new(),
                body: Bytes::new(),
            },
            at,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn many_live_keys_are_not_swept_on_every_request() {
        let mut slots = Slots::default();
        for i in 0..50_000 {
            slots.sweep_if_due();
            slots
                .by_key
                .insert(format!("k{i}").into_bytes(), done(Instant::now()));
        }
        // Sweeps at about 10k, 20k, 40k live keys: a handful, not one per request past 10k.
        assert!(slots.sweeps <= 3, "{} sweeps", slots.sweeps);
        assert_eq!(slots.by_key.len(), 50_000);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_responses_are_swept() {
        let mut slots = Slots::default();
        for i in 0..=SWEEP_FLOOR {
            slots
                .by_key
                .insert(format!("old{i}").into_bytes(), done(Instant::now()));
        }
        tokio::time::advance(KEEP_FOR + Duration::from_secs(1)).await;
        slots.by_key.insert(b"fresh".to_vec(), done(Instant::now()));
        slots.sweep_if_due();
        assert_eq!(slots.sweeps, 1);
        assert_eq!(slots.by_key.len(), 1);
        assert!(slots.by_key.contains_key(b"fresh".as_slice()));
    }
}
