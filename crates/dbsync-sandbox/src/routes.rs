//! The whole router and its middleware stack.
//!
//! To add endpoints, write a module with `pub(crate) fn router() -> Router<AppState>` and merge it
//! in [`crate::routes::app`]. Static paths (`/v1/workflows`, `/v1/logs`, ...) take precedence over the generic
//! `/v1/{resource}` routes; the generic handlers also refuse the names in
//! [`dbsync_contract::RESERVED_NAMES`].

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::middleware::from_fn_with_state;
use tower_http::compression::CompressionLayer;

use crate::error::ApiError;
use crate::state::AppState;
use crate::{auth, faults, idempotency, rate_limit, request_log, resources};

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("No route for {}", uri.path()))
}

async fn method_not_allowed(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("This method is not allowed on {}", uri.path()),
    )
}

/// The application, outermost layer first: request log -> rate limit -> auth -> faults ->
/// compression -> idempotency -> routes.
///
/// Compression (gzip, when the request's `Accept-Encoding` asks for it) sits inside the faults,
/// so a truncated or dropped response is one of compressed bytes, as from a real server; and
/// outside idempotency, so a replayed response is compressed for the repeat's own
/// `Accept-Encoding`.
///
/// Every body extractor (`Bytes` in the OAuth, API key and workflow handlers) reads under the
/// configured `max_body_bytes`, not axum's default of 2 MiB; each handler answers a body over
/// the limit with a `413` in its own error shape. (`resources::read_json` and the idempotency
/// middleware read the body themselves, under the same limit.)
///
/// Compression can be turned off (`SandboxBuilder::compression`): no encoding is offered then.
///
/// With an observer, an outermost layer hands it every response ([`crate::observe`]).
pub(crate) fn app(
    state: AppState,
    observer: Option<crate::observe::ResponseObserver>,
    compression: bool,
) -> Router {
    let app = Router::new()
        .merge(resources::router())
        .merge(crate::ops::routes(&state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .layer(from_fn_with_state(state.clone(), idempotency::middleware))
        .layer(CompressionLayer::new().gzip(compression))
        .layer(from_fn_with_state(state.clone(), faults::middleware))
        .layer(from_fn_with_state(state.clone(), auth::middleware))
        .layer(from_fn_with_state(state.clone(), rate_limit::middleware))
        .layer(from_fn_with_state(state.clone(), request_log::middleware))
        .with_state(state);
    match observer {
        Some(observer) => app.layer(from_fn_with_state(observer, crate::observe::middleware)),
        None => app,
    }
}
