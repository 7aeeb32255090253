//! API keys: create (the secret shown once), list (never the secret), regenerate (the old secret
//! dies at once; scopes and expiry are kept) and revoke. Only a SHA-256 hash of each key is
//! stored ([`store`]); a live, unexpired key is accepted as a Bearer token with its scopes in
//! bearer and oauth2 modes.
//!
//! - `GET /v1/api-keys` -> `200 {"data":[{"id","name","created_at","last_used_at","prefix","scopes","expires_at"}]}`
//! - `POST /v1/api-keys` `{"name","scopes"?,"expires_at"?}` -> `201` the same fields plus `"key"`
//! - `POST /v1/api-keys/{id}/regenerate` -> `200` the same fields plus the new `"key"`
//! - `DELETE /v1/api-keys/{id}` -> `204`
//!
//! A key's scopes default to every scope of the caller; asking for one the caller lacks is a
//! `403`. A caller may regenerate or revoke only keys whose scopes are all its own (`403`).
//! Past the cap on the number of keys, creating one is a `409`.

/// The stored keys: hashes looked up in a map, scopes, expiry, the cap.
mod store;

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorDetail};
use crate::ops_util::{body_bytes, optional_json};
use crate::scopes::{Scope, Scopes, insufficient_scope};
pub(crate) use store::ApiKeyStore;
pub use store::DEFAULT_MAX_API_KEYS;
use store::KeyError;

/// Longest key name accepted.
const MAX_NAME_LEN: usize = 100;
/// The fields of a create request.
const FIELDS: &[&str] = &["name", "scopes", "expires_at"];

fn unknown_key(id: &str) -> ApiError {
    let shown: String = id.chars().take(64).collect();
    ApiError::not_found(format!("API key `{shown}` not found"))
}

/// A `400` in the validation shape, with one detail.
fn invalid_field(field: &str, message: &str) -> ApiError {
    let mut error = ApiError::bad_request("Invalid field value");
    error.details.push(ErrorDetail::new(field, message));
    error
}

/// The answer to a refused change: `404`, `403` naming the scopes, or `409` at the cap.
fn key_error(error: KeyError, id: &str, what: &str) -> ApiError {
    match error {
        KeyError::NotFound => unknown_key(id),
        KeyError::Broader(missing) => insufficient_scope(&missing, what),
        KeyError::Full(max) => ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "This sandbox holds at most {max} API keys; revoke one before creating another"
            ),
        ),
    }
}

/// The caller's scopes, set by the auth middleware (none if it did not run: fail closed).
fn caller(scopes: Option<Extension<Scopes>>) -> Scopes {
    scopes.map_or(Scopes::none(), |Extension(s)| s)
}

async fn list_keys(State(store): State<Arc<ApiKeyStore>>) -> Response {
    axum::Json(store.list()).into_response()
}

fn parse_name(object: &Map<String, Value>) -> Result<&str, ApiError> {
    let detail = |message: &str| invalid_field("name", message);
    let name = match object.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name,
        Some(Value::String(_)) => return Err(detail("must not be empty")),
        Some(_) => return Err(detail("must be a string")),
        None => return Err(detail("is required")),
    };
    if name.chars().count() > MAX_NAME_LEN {
        return Err(detail("must be at most 100 characters"));
    }
    Ok(name)
}

/// `scopes`: absent or `null` is `None` (every scope of the caller); else a non-empty array of
/// scope names.
fn parse_scopes(object: &Map<String, Value>) -> Result<Option<Scopes>, ApiError> {
    let names = match object.get("scopes") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(names)) if !names.is_empty() => names,
        Some(Value::Array(_)) => {
            return Err(invalid_field("scopes", "must list at least one scope"));
        }
        Some(_) => {
            return Err(invalid_field(
                "scopes",
                "must be an array of scope names, e.g. [\"records:read\"]",
            ));
        }
    };
    let mut scopes = Scopes::none();
    for name in names {
        let scope = name.as_str().and_then(Scope::parse).ok_or_else(|| {
            let shown: String = name.to_string().chars().take(64).collect();
            invalid_field(
                "scopes",
                &format!(
                    "{shown} is not a scope; the scopes are {}",
                    Scopes::all().names().join(", ")
                ),
            )
        })?;
        scopes = scopes.with(scope);
    }
    Ok(Some(scopes))
}

/// `expires_at`: absent or `null` is no expiry; else an RFC 3339 timestamp in the future.
fn parse_expiry(object: &Map<String, Value>) -> Result<Option<SystemTime>, ApiError> {
    let text = match object.get("expires_at") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text,
        Some(_) => {
            return Err(invalid_field(
                "expires_at",
                "must be an RFC 3339 timestamp such as 2030-01-31T12:00:00Z, or null",
            ));
        }
    };
    let at = dbsync_contract::timestamp::parse(text).ok_or_else(|| {
        invalid_field(
            "expires_at",
            "must be an RFC 3339 timestamp with an offset, such as 2030-01-31T12:00:00Z",
        )
    })?;
    if at <= SystemTime::now() {
        return Err(invalid_field("expires_at", "must be in the future"));
    }
    Ok(Some(at))
}

async fn create_key(
    State(store): State<Arc<ApiKeyStore>>,
    scopes: Option<Extension<Scopes>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_bytes(body)?;
    let body = optional_json(&headers, &body)?
        .ok_or_else(|| ApiError::bad_request("Send a JSON body: {\"name\": \"...\"}"))?;
    let Some(object) = body.as_object() else {
        return Err(ApiError::bad_request("Request body must be a JSON object"));
    };
    let name = parse_name(object)?;
    if let Some(other) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(invalid_field(
            other,
            "is not a field of an API key; send `name` and optionally `scopes` and `expires_at`",
        ));
    }
    let wanted = parse_scopes(object)?;
    let expires_at = parse_expiry(object)?;
    let caller = caller(scopes);
    let wanted = wanted.unwrap_or(caller);
    let missing = wanted.missing_from(caller);
    if !missing.is_empty() {
        return Err(insufficient_scope(
            &missing,
            "creating an API key with these scopes",
        ));
    }
    let created = store
        .create(name, wanted, expires_at)
        .map_err(|e| key_error(e, "", ""))?;
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

async fn regenerate_key(
    State(store): State<Arc<ApiKeyStore>>,
    scopes: Option<Extension<Scopes>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    store
        .regenerate(&id, caller(scopes))
        .map(|body| axum::Json(body).into_response())
        .map_err(|e| key_error(e, &id, "regenerating this API key"))
}

async fn revoke_key(
    State(store): State<Arc<ApiKeyStore>>,
    scopes: Option<Extension<Scopes>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    store
        .revoke(&id, caller(scopes))
        .map(|()| StatusCode::NO_CONTENT)
        .map_err(|e| key_error(e, &id, "revoking this API key"))
}

/// The `/v1/api-keys` routes.
pub(crate) fn routes<S>(store: Arc<ApiKeyStore>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/v1/api-keys", get(list_keys).post(create_key))
        .route("/v1/api-keys/{id}", delete(revoke_key))
        .route("/v1/api-keys/{id}/regenerate", post(regenerate_key))
        .with_state(store)
}
