//! API keys: list, create, regenerate, revoke, and rotate the running client's key.
//!
//! | call | request |
//! |---|---|
//! | [`ApiKeys::list`] | `GET /v1/api-keys` (never the secrets) |
//! | [`ApiKeys::create`] | `POST /v1/api-keys` `{"name"}` -> `201` with the secret, shown once |
//! | [`ApiKeys::regenerate`] | `POST /v1/api-keys/{id}/regenerate`: a new secret; the old one dies at once |
//! | [`ApiKeys::revoke`] | `DELETE /v1/api-keys/{id}` -> `204` |
//! | [`ApiKeys::rotate`] / [`rotate_api_key`] | regenerate, and switch a [`BearerAuth`] to the new secret |
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
}

#[derive(Deserialize)]
struct CreatedWire {
    #[serde(deserialize_with = "string_or_number")]
    id: String,
    #[serde(default)]
    name: String,
    key: String,
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

    /// Creates a key named `name`: `POST /v1/api-keys`. The secret is in the result only.
    pub async fn create(&self, name: &str) -> Result<CreatedKey, Error> {
        let url = self.connection.endpoint(&["api-keys"])?;
        let call = Call::new(Method::POST, url, "/v1/api-keys".to_owned())
            .json_body(&serde_json::json!({ "name": name }))?
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
