//! API keys: list, create, regenerate, revoke, and rotate the running client's key.
//!
//! | call | request |
//! |---|---|
//! | [`ApiKeys::list`] | `GET /v1/api-keys` (never the secrets) |
//! | [`ApiKeys::create`] / [`ApiKeys::create_with`] | `POST /v1/api-keys` `{"name"[, "scopes", "expires_at"]}` -> `201` with the secret, shown once |
//! | [`ApiKeys::regenerate`] | `POST /v1/api-keys/{id}/regenerate`: a new secret; the old one dies at once |
//! | [`ApiKeys::revoke`] | `DELETE /v1/api-keys/{id}` -> `204` |
//! | [`ApiKeys::rotate`] / [`rotate_api_key`] | regenerate, and switch a [`BearerAuth`] to the new secret |
//!
//! A key carries scopes (what it may do: [`crate::scopes`]) and an optional expiry; a call
//! it lacks the scope for fails with [`Error::Forbidden`], an expired key with
//! [`Error::Unauthorized`] ([`Error::is_expired_credentials`]).
//!
//! Secrets are held in [`Secret`] (redacted `Debug`/`Display`); an error decoding a response
//! that carries a secret never quotes the body.

use dbsync_auth::{BearerAuth, Secret};
use http::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::connection::Connection;
use crate::error::Error;
use crate::id::{check_path_segment, string_or_number};
use crate::query::Timestamp;
use crate::request::{Call, Decode, Expect, JsonAs, Reply};

/// An API key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiKey {
    /// The key's id.
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// When it was created (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it was last used (RFC 3339), if ever.
    #[serde(default)]
    pub last_used_at: Option<String>,
    /// The first characters of the secret, to recognise it (not enough to use it).
    #[serde(default)]
    pub prefix: Option<String>,
    /// What the key may do ([`crate::scopes`]); empty when the server does not say.
    #[serde(default, deserialize_with = "scopes_or_null")]
    pub scopes: Vec<String>,
    /// When it stops working (RFC 3339); `None` for never (or a server that does not say).
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// A key to create with [`ApiKeys::create_with`]: a name, and optionally scopes and an expiry.
///
/// ```
/// use dbsync_client::{NewApiKey, scopes};
///
/// let key = NewApiKey::new("ci-reader")
///     .scope(scopes::RECORDS_READ)
///     .expires_at("2030-01-01T00:00:00Z");
/// assert_eq!(key.scopes, Some(vec!["records:read".to_owned()]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewApiKey {
    /// The key's name.
    pub name: String,
    /// Its scopes; `None` sends none, and the server grants every scope of the caller. Asking
    /// for a scope the caller lacks is a `403` ([`Error::Forbidden`]) naming it.
    pub scopes: Option<Vec<String>>,
    /// When it stops working (RFC 3339, in the future; otherwise the server answers `400`);
    /// `None` for never.
    pub expires_at: Option<String>,
}

impl NewApiKey {
    /// A key named `name`, with the caller's scopes and no expiry.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            scopes: None,
            expires_at: None,
        }
    }

    /// Adds a scope (repeatable): the key gets only the scopes added.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.get_or_insert_with(Vec::new).push(scope.into());
        self
    }

    /// Sets every scope at once (an empty list asks for a key with no scope).
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// When the key stops working: RFC 3339 text, a `time::OffsetDateTime` or a `SystemTime`.
    pub fn expires_at(mut self, at: impl Into<Timestamp>) -> Self {
        self.expires_at = Some(at.into().as_str().to_owned());
        self
    }

    /// The request body: `{"name"}` plus `scopes` and `expires_at` when set.
    fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({ "name": self.name });
        if let Some(scopes) = &self.scopes {
            body["scopes"] = serde_json::json!(scopes);
        }
        if let Some(at) = &self.expires_at {
            body["expires_at"] = serde_json::json!(at);
        }
        body
    }
}

/// A key with its secret, as returned once by [`ApiKeys::create`] and [`ApiKeys::regenerate`].
/// Store `key` somewhere safe now: it is never shown again. `Debug` does not show it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreatedKey {
    /// The key's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The secret: send it as `Authorization: Bearer <key>` (e.g. with [`BearerAuth`]).
    pub key: Secret,
    /// What the key may do; empty when the server does not say.
    pub scopes: Vec<String>,
    /// When it stops working (RFC 3339); `None` for never (or a server that does not say).
    pub expires_at: Option<String>,
}

#[derive(Deserialize)]
struct CreatedWire {
    #[serde(deserialize_with = "string_or_number")]
    id: String,
    #[serde(default)]
    name: String,
    key: String,
    #[serde(default, deserialize_with = "scopes_or_null")]
    scopes: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

/// `scopes` as a list of strings; `null` is an empty list.
fn scopes_or_null<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct KeyList {
    data: Vec<ApiKey>,
}

/// The API keys of a connection's account; get it with [`Connection::api_keys`].
///
/// ```no_run
/// # async fn demo(connection: dbsync_client::Connection, bearer: dbsync_auth::BearerAuth)
/// # -> Result<(), dbsync_client::Error> {
/// let keys = connection.api_keys();
/// let ci = keys.create("ci").await?;
/// println!("created {} ({:?})", ci.id, ci.key); // the key prints as [redacted]
/// // The connection authenticates with `bearer`: regenerate its key and switch to the new one.
/// let rotated = keys.rotate(&ci.id, &bearer).await?;
/// keys.revoke(&rotated.id).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ApiKeys {
    connection: Connection,
}

impl Connection {
    /// The API keys of this connection's account.
    pub fn api_keys(&self) -> ApiKeys {
        ApiKeys {
            connection: self.clone(),
        }
    }
}

impl ApiKeys {
    async fn send<D: Decode>(&self, call: &Call, decode: D) -> Result<D::Output, Error> {
        self.connection.transport().send(call, decode).await.result
    }

    fn key_call(&self, method: Method, id: &str, sub: Option<&str>) -> Result<Call, Error> {
        check_path_segment("API key id", id)?;
        let (url, template) = match sub {
            Some(sub) => (
                self.connection.endpoint(&["api-keys", id, sub])?,
                format!("/v1/api-keys/{{id}}/{sub}"),
            ),
            None => (
                self.connection.endpoint(&["api-keys", id])?,
                "/v1/api-keys/{id}".to_owned(),
            ),
        };
        Ok(Call::new(method, url, template))
    }

    /// Every key: `GET /v1/api-keys` (without secrets).
    pub async fn list(&self) -> Result<Vec<ApiKey>, Error> {
        let url = self.connection.endpoint(&["api-keys"])?;
        let call = Call::new(Method::GET, url, "/v1/api-keys".to_owned());
        let list: KeyList = self.send(&call, JsonAs::new("the API key list")).await?;
        Ok(list.data)
    }

    /// Creates a key named `name` with every scope of the caller and no expiry:
    /// `POST /v1/api-keys`. The secret is in the result only. See [`ApiKeys::create_with`].
    pub async fn create(&self, name: &str) -> Result<CreatedKey, Error> {
        self.create_with(&NewApiKey::new(name)).await
    }

    /// Creates a key with the scopes and expiry of `new`: `POST /v1/api-keys`
    /// `{"name", "scopes", "expires_at"}`. A scope the caller lacks is [`Error::Forbidden`]; an
    /// expiry that is not RFC 3339 or not in the future is [`Error::Validation`].
    pub async fn create_with(&self, new: &NewApiKey) -> Result<CreatedKey, Error> {
        let url = self.connection.endpoint(&["api-keys"])?;
        let call = Call::new(Method::POST, url, "/v1/api-keys".to_owned())
            .json_body(&new.body())?
            .with_new_idempotency_key()
            .secret_body();
        let reply = self.send(&call, Expect::Json).await?;
        created(&reply)
    }

    /// Gives key `id` a new secret: `POST /v1/api-keys/{id}/regenerate`. The old secret stops
    /// working at once, so a client using it must switch (see [`ApiKeys::rotate`]).
    pub async fn regenerate(&self, id: &str) -> Result<CreatedKey, Error> {
        let call = self
            .key_call(Method::POST, id, Some("regenerate"))?
            .with_new_idempotency_key()
            .secret_body();
        let reply = self.send(&call, Expect::Json).await?;
        created(&reply)
    }

    /// Revokes key `id`: `DELETE /v1/api-keys/{id}` (`204`); its secret stops working at once.
    pub async fn revoke(&self, id: &str) -> Result<(), Error> {
        let call = self.key_call(Method::DELETE, id, None)?;
        self.send(&call, Expect::Nothing).await?;
        Ok(())
    }

    /// Rotates key `id` for a running client: regenerates it and switches `bearer` (the
    /// [`BearerAuth`] the client authenticates with, or a clone of it) to the new secret at
    /// once.
    ///
    /// No request fails because of the rotation: while it is under way
    /// ([`BearerAuth::begin_rotation`]), a request the server refuses (`401`) with the old
    /// secret waits for the new one and is retried once with it. If the regenerate call fails,
    /// `bearer` keeps its secret (which then still works, unless the server acted and the
    /// answer was lost: then create a new key).
    pub async fn rotate(&self, id: &str, bearer: &BearerAuth) -> Result<CreatedKey, Error> {
        let rotation = bearer.begin_rotation();
        let created = self.regenerate(id).await?;
        rotation.complete(created.key.clone());
        Ok(created)
    }
}

/// Regenerates API key `key_id` through `connection` and switches `bearer` to the new secret at
/// once; see [`ApiKeys::rotate`].
pub async fn rotate_api_key(
    connection: &Connection,
    key_id: &str,
    bearer: &BearerAuth,
) -> Result<CreatedKey, Error> {
    connection.api_keys().rotate(key_id, bearer).await
}

/// Decodes a body holding a secret; an error names the position only, never the content.
fn created(reply: &Reply) -> Result<CreatedKey, Error> {
    let wire: CreatedWire = decode_secret_body(reply, "the API key")?;
    Ok(CreatedKey {
        id: wire.id,
        name: wire.name,
        key: Secret::new(wire.key),
        scopes: wire.scopes,
        expires_at: wire.expires_at,
    })
}

fn decode_secret_body<T: DeserializeOwned>(reply: &Reply, what: &str) -> Result<T, Error> {
    serde_json::from_slice(&reply.body).map_err(|e| {
        Error::decode(
            Some(reply.status),
            format!(
                "{what}: the body does not fit the expected type (at line {}, column {}; the \
                 body is not quoted since it may hold a secret)",
                e.line(),
                e.column()
            ),
            b"",
        )
    })
}
