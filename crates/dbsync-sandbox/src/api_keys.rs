//! API keys: create (the secret shown once), list (never the secret), regenerate (the old secret
//! dies at once) and revoke. Only a SHA-256 hash of each key is stored; a live key is accepted
//! as a Bearer token in bearer and oauth2 modes.
//!
//! - `GET /v1/api-keys` -> `200 {"data":[{"id","name","created_at","last_used_at","prefix"}]}`
//! - `POST /v1/api-keys` `{"name"}` -> `201 {"id","name","key","prefix","created_at"}`
//! - `POST /v1/api-keys/{id}/regenerate` -> `200 {"id","name","key","prefix","created_at"}`
//! - `DELETE /v1/api-keys/{id}` -> `204`

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::error::{ApiError, ErrorDetail};
use crate::ops_util::{
    body_bytes, constant_time_eq, now_utc, optional_json, random_secret, rfc3339, sha256,
};

/// Every key starts with this, so a leaked key is easy to recognise.
const KEY_PREFIX: &str = "dbs_";
/// How many leading characters of a key are shown in listings.
const SHOWN_PREFIX_LEN: usize = 12;
/// Longest key name accepted.
const MAX_NAME_LEN: usize = 100;

#[derive(Debug)]
struct ApiKey {
    id: String,
    name: String,
    created_at: OffsetDateTime,
    last_used_at: Option<OffsetDateTime>,
    prefix: String,
    hash: [u8; 32],
}

impl ApiKey {
    fn summary(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "created_at": rfc3339(self.created_at),
            "last_used_at": self.last_used_at.map(rfc3339),
            "prefix": self.prefix,
        })
    }

    fn with_secret(&self, secret: &str) -> Value {
        let mut body = self.summary();
        if let Some(map) = body.as_object_mut() {
            map.insert("key".to_owned(), json!(secret));
        }
        body
    }
}

#[derive(Debug, Default)]
struct Keys {
    keys: Vec<ApiKey>,
    next_id: u64,
}

/// The API keys of a sandbox.
#[derive(Debug, Default)]
pub(crate) struct ApiKeyStore {
    inner: Mutex<Keys>,
}

fn new_secret() -> (String, String, [u8; 32]) {
    let secret = random_secret(KEY_PREFIX);
    let prefix = secret.chars().take(SHOWN_PREFIX_LEN).collect();
    let hash = sha256(&secret);
    (secret, prefix, hash)
}

impl ApiKeyStore {
    fn keys(&self) -> MutexGuard<'_, Keys> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `token` is a live key; if so its `last_used_at` becomes now. Every stored hash is
    /// compared in constant time.
    pub(crate) fn authenticate(&self, token: &str) -> bool {
        let hash = sha256(token);
        let mut keys = self.keys();
        let mut found = None;
        for (index, key) in keys.keys.iter().enumerate() {
            if constant_time_eq(&key.hash, &hash) {
                found = Some(index);
            }
        }
        match found.and_then(|index| keys.keys.get_mut(index)) {
            Some(key) => {
                key.last_used_at = Some(now_utc());
                true
            }
            None => false,
        }
    }

    /// Creates a key; the returned body holds its secret, which is never shown again.
    pub(crate) fn create(&self, name: &str) -> Value {
        let (secret, prefix, hash) = new_secret();
        let mut keys = self.keys();
        keys.next_id += 1;
        let key = ApiKey {
            id: format!("key_{:06}", keys.next_id),
            name: name.to_owned(),
            created_at: now_utc(),
            last_used_at: None,
            prefix,
            hash,
        };
        let body = key.with_secret(&secret);
        keys.keys.push(key);
        body
    }

    fn list(&self) -> Value {
        let keys = self.keys();
        json!({"data": keys.keys.iter().map(ApiKey::summary).collect::<Vec<_>>()})
    }

    fn regenerate(&self, id: &str) -> Option<Value> {
        let (secret, prefix, hash) = new_secret();
        let mut keys = self.keys();
        let key = keys.keys.iter_mut().find(|k| k.id == id)?;
        key.hash = hash;
        key.prefix = prefix;
        key.last_used_at = None;
        Some(key.with_secret(&secret))
    }

    fn revoke(&self, id: &str) -> bool {
        let mut keys = self.keys();
        let before = keys.keys.len();
        keys.keys.retain(|k| k.id != id);
        keys.keys.len() != before
    }
}

fn unknown_key(id: &str) -> ApiError {
    ApiError::not_found(format!("API key `{id}` not found"))
}

/// A `400` in the validation shape, with one detail.
fn invalid_field(field: &str, message: &str) -> ApiError {
    let mut error = ApiError::bad_request("Invalid field value");
    error.details.push(ErrorDetail {
        field: field.to_owned(),
        message: message.to_owned(),
        code: None,
    });
    error
}

async fn list_keys(State(store): State<Arc<ApiKeyStore>>) -> Response {
    axum::Json(store.list()).into_response()
}

async fn create_key(
    State(store): State<Arc<ApiKeyStore>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_bytes(body)?;
    let body = optional_json(&headers, &body)?
        .ok_or_else(|| ApiError::bad_request("Send a JSON body: {\"name\": \"...\"}"))?;
    let Some(object) = body.as_object() else {
        return Err(ApiError::bad_request("Request body must be a JSON object"));
    };
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
    if let Some(other) = object.keys().find(|k| k.as_str() != "name") {
        return Err(invalid_field(
            other,
            "is not a field of an API key; send only `name`",
        ));
    }
    Ok((StatusCode::CREATED, axum::Json(store.create(name))).into_response())
}

async fn regenerate_key(
    State(store): State<Arc<ApiKeyStore>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    store
        .regenerate(&id)
        .map(|body| axum::Json(body).into_response())
        .ok_or_else(|| unknown_key(&id))
}

async fn revoke_key(
    State(store): State<Arc<ApiKeyStore>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if store.revoke(&id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(unknown_key(&id))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_live_keys_authenticate() {
        let store = ApiKeyStore::default();
        let created = store.create("ci");
        let secret = created["key"].as_str().unwrap().to_owned();
        let id = created["id"].as_str().unwrap().to_owned();
        assert!(secret.starts_with(KEY_PREFIX));
        assert!(store.authenticate(&secret));
        assert!(!store.authenticate("dbs_wrong"));

        let listed = store.list();
        assert!(listed["data"][0]["last_used_at"].is_string());
        assert!(!listed.to_string().contains(&secret));

        let renewed = store.regenerate(&id).unwrap();
        let new_secret = renewed["key"].as_str().unwrap();
        assert!(!store.authenticate(&secret));
        assert!(store.authenticate(new_secret));

        assert!(store.revoke(&id));
        assert!(!store.authenticate(new_secret));
        assert!(!store.revoke(&id));
        assert!(store.regenerate(&id).is_none());
    }

    #[test]
    fn only_hashes_are_stored() {
        let store = ApiKeyStore::default();
        let secret = store.create("x")["key"].as_str().unwrap().to_owned();
        assert!(!format!("{store:?}").contains(&secret));
    }
}
