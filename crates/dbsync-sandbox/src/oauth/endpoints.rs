//! The HTTP endpoints: the axum handlers of `POST /oauth/token` and `GET /oauth/authorize`, and
//! their router (a `404` outside oauth2 mode).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::error::{OAuthError, no_store};
use super::server::OAuthServer;
use super::{AUTHORIZE_PATH, TOKEN_PATH};

/// The state of the endpoints: the server, or `None` outside oauth2 mode.
type Endpoints = Option<Arc<OAuthServer>>;

fn disabled() -> Response {
    crate::error::ApiError::not_found(
        "OAuth 2.0 is not enabled on this sandbox: start it with --auth oauth2 (SandboxAuth::OAuth2)",
    )
    .into_response()
}

async fn token_endpoint(
    State(server): State<Endpoints>,
    headers: HeaderMap,
    // Read under the sandbox's configured body limit (`DefaultBodyLimit` in `routes::app`).
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(server) = server else {
        return disabled();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return OAuthError::unreadable_body(&rejection).into_response(),
    };
    match server.token(&headers, &body) {
        Ok(body) => {
            let mut response = (StatusCode::OK, axum::Json(body)).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn authorize_endpoint(
    State(server): State<Endpoints>,
    RawQuery(query): RawQuery,
) -> Response {
    match server {
        Some(server) => server.authorize(query.as_deref().unwrap_or_default()),
        None => disabled(),
    }
}

/// The token and authorize endpoints (outside the API's own authentication); they answer `404`
/// when `server` is `None` (not in oauth2 mode).
pub(crate) fn routes<S>(server: Endpoints) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(TOKEN_PATH, post(token_endpoint))
        .route(AUTHORIZE_PATH, get(authorize_endpoint))
        .with_state(server)
}
