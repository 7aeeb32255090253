//! `Idempotency-Key` on `POST`: a repeat with the same body replays the first response.
//!
//! An empty (or blank) key is a `400`: it is not a key that tells one request from another.
//! Keys are kept per set of scopes, not per credential: a retry after a token renewal still gets
//! its first answer, while a caller with other scopes never gets a replay of another's answer
//! (which could hold a broader API key's secret). The OAuth endpoints (`/oauth/...`) ignore the
//! header.

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
use crate::bounded::{Bounded, later};
use crate::error::ApiError;
use crate::scopes::Scopes;
use crate::state::AppState;
use crate::store_limits::{StoreCount, StoreLimits};

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
    },
}

/// The slots by the header's exact bytes (a key need not be UTF-8; a lossy decoding would make
/// two different keys one), each kept for [`KEEP_FOR`], capped in count and bytes.
type Slots = Bounded<Vec<u8>, Slot>;

fn is_done(slot: &Slot) -> bool {
    matches!(slot, Slot::Done { .. })
}

/// Makes room for `bytes` more (replacing `key`'s slot if any): expired slots go first, then
/// the oldest completed ones (the replay window shrinks; in-flight slots are never dropped).
/// `false` when even that cannot make room.
fn make_room(slots: &mut Slots, key: &[u8], bytes: usize, now: Instant) -> bool {
    slots.sweep(now);
    let key = key.to_vec();
    let mut evicted = 0usize;
    while !slots.fits(bytes, Some(&key)) {
        if !slots.evict_oldest_where(is_done) {
            return false;
        }
        evicted += 1;
    }
    if evicted > 0 {
        tracing::warn!(
            evicted,
            "the idempotency cache is full (StoreLimits::max_idempotency_keys/_bytes): the \
             oldest completed keys were forgotten before their 24 h"
        );
    }
    true
}

/// The bytes a completed slot holds.
fn stored_bytes(key: &[u8], stored: &Stored) -> usize {
    let headers: usize = stored
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    key.len() + stored.body.len() + headers
}

/// Remembered responses by key.
#[derive(Debug)]
pub(crate) struct IdempotencyCache {
    slots: Mutex<Slots>,
}

impl IdempotencyCache {
    pub(crate) fn new(limits: &StoreLimits) -> Self {
        Self {
            slots: Mutex::new(Bounded::new(
                limits.max_idempotency_keys,
                limits.max_idempotency_bytes,
            )),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many keys and bytes are remembered.
    pub(crate) fn usage(&self) -> StoreCount {
        let slots = self.lock();
        StoreCount::new(slots.len(), slots.bytes())
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
            if matches!(slots.get(&key), Some((Slot::InFlight { .. }, _))) {
                slots.remove(&key);
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

/// Every slot is in flight: no room for one more key.
fn full() -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "The idempotency cache is full of requests still in flight (StoreLimits::\
         max_idempotency_keys/_bytes); retry shortly",
    )
    .into_response()
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
    let Some(sent) = request.headers().get(HEADER).map(HeaderValue::as_bytes) else {
        return next.run(request).await;
    };
    if sent.iter().all(u8::is_ascii_whitespace) {
        return ApiError::bad_request(
            "The Idempotency-Key header is empty: send a unique non-empty key (such as a random \
             UUID) for each new request, or leave the header out",
        )
        .into_response();
    }
    // The caller's scopes (set by the auth layer) come first in the slot's key.
    let scopes = request
        .extensions()
        .get::<Scopes>()
        .copied()
        .unwrap_or_default();
    let key = [&[scopes.bits()], sent].concat();
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
        let now = Instant::now();
        match slots.get_live(&key, now) {
            Some(Slot::Done {
                fingerprint,
                response,
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
        if !make_room(&mut slots, &key, key.len(), now) {
            return full();
        }
        slots.insert(
            key.clone(),
            Slot::InFlight { fingerprint: print },
            later(now, KEEP_FOR),
            key.len(),
        );
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
    let bytes = stored_bytes(&key, &stored);
    {
        let mut slots = state.idempotency.lock();
        let now = Instant::now();
        // Kept even when in-flight slots fill the cache (it passes the cap by what is in
        // flight); a response larger than the whole cache is not remembered.
        if bytes <= slots.max_bytes() {
            make_room(&mut slots, &key, bytes, now);
            slots.insert(
                key,
                Slot::Done {
                    fingerprint: print,
                    response: stored,
                },
                later(now, KEEP_FOR),
                bytes,
            );
            guard.key = None;
        } else {
            tracing::warn!(
                bytes,
                "a response is larger than the idempotency cache (StoreLimits::\
                 max_idempotency_bytes): its key is not remembered"
            );
        }
    }
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(body: &'static [u8]) -> Slot {
        Slot::Done {
            fingerprint: [0; 32],
            response: Stored {
                status: StatusCode::CREATED,
                headers: HeaderMap::new(),
                body: Bytes::from_static(body),
            },
        }
    }

    #[tokio::test(start_paused = true)]
    async fn full_caches_forget_the_oldest_completed_keys_never_in_flight_ones() {
        let mut slots: Slots = Bounded::new(3, 1000);
        let now = Instant::now();
        let until = later(now, KEEP_FOR);
        slots.insert(
            b"busy".to_vec(),
            Slot::InFlight {
                fingerprint: [0; 32],
            },
            until,
            4,
        );
        slots.insert(b"a".to_vec(), done(b"1"), until, 2);
        slots.insert(b"b".to_vec(), done(b"2"), until, 2);
        assert!(make_room(&mut slots, b"c", 1, now));
        assert!(slots.get(&b"busy".to_vec()).is_some());
        assert!(slots.get(&b"a".to_vec()).is_none());
        assert!(slots.get(&b"b".to_vec()).is_some());
        // Only in-flight slots left and no room: refused.
        let mut busy: Slots = Bounded::new(1, 1000);
        busy.insert(
            b"x".to_vec(),
            Slot::InFlight {
                fingerprint: [0; 32],
            },
            until,
            1,
        );
        assert!(!make_room(&mut busy, b"y", 1, now));
    }

    #[tokio::test(start_paused = true)]
    async fn expired_responses_are_swept_first() {
        let mut slots: Slots = Bounded::new(2, 1000);
        let now = Instant::now();
        slots.insert(b"old".to_vec(), done(b""), later(now, KEEP_FOR), 3);
        slots.insert(b"new".to_vec(), done(b""), later(now, KEEP_FOR * 2), 3);
        tokio::time::advance(KEEP_FOR + Duration::from_secs(1)).await;
        let now = Instant::now();
        assert!(slots.get_live(&b"old".to_vec(), now).is_none());
        assert!(make_room(&mut slots, b"c", 1, now));
        assert!(slots.get(&b"old".to_vec()).is_none());
        assert!(slots.get(&b"new".to_vec()).is_some());
    }
}
