//! `Idempotency-Key` on `POST`: a repeat with the same body replays the first response.

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

use crate::error::ApiError;
use crate::state::AppState;

const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);
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

/// Remembered responses by key.
#[derive(Debug, Default)]
pub(crate) struct IdempotencyCache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl IdempotencyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Removes an in-flight slot if the request never completes (client went away).
struct InFlightGuard {
    state: AppState,
    key: Option<String>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut slots = self.state.idempotency.lock();
            if matches!(slots.get(&key), Some(Slot::InFlight { .. })) {
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

fn conflict(message: &str) -> Response {
    ApiError::new(StatusCode::CONFLICT, message).into_response()
}

/// Replays, rejects or records `POST` requests that carry an `Idempotency-Key`.
pub(crate) async fn middleware(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request
        .headers()
        .get(HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    else {
        return next.run(request).await;
    };
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
        if slots.len() > 10_000 {
            slots.retain(
                |_, slot| !matches!(slot, Slot::Done { at, .. } if at.elapsed() > KEEP_FOR),
            );
        }
        match slots.get(&key) {
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
        slots.insert(key.clone(), Slot::InFlight { fingerprint: print });
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
    state.idempotency.lock().insert(
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
