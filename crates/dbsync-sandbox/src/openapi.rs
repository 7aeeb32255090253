//! `GET /openapi.json`: the OpenAPI 3.1 description of the contract as this server speaks it,
//! a JSON copy of `docs/openapi.yaml` (a test checks that the two are the same document).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

/// The OpenAPI document, as JSON text.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

async fn document() -> Response {
    let mut response = OPENAPI_JSON.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The `/openapi.json` route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(document))
}
