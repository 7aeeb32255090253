//! A custom auth strategy: an API key in a header of your choice, by implementing `Auth`.
//!
//! ```sh
//! cargo run --example auth_custom
//! ```
//!
//! [`ApiKeyAuth`] is a small type that puts an API key into a configurable header with an
//! optional prefix (`X-API-Key: <key>`, `Authorization: Bearer <key>`, ...); any type that
//! implements `dbsync::auth::Auth` plugs into the connection builder the same way.
//!
//! The walk starts the sandbox in-process in bearer mode, creates an API key through
//! `POST /v1/api-keys` with a raw request, and uses it. The sandbox (like the contract) accepts
//! API keys only as Bearer tokens, so the key sent as `X-API-Key` is refused (shown honestly),
//! and the same type configured for `Authorization: Bearer` is accepted. Last, the key is
//! revoked and stops working at once. `main` is a thin wrapper over [`run`], which the
//! end-to-end tests call.

use std::error::Error as StdError;
use std::process::ExitCode;

use dbsync::auth::{Auth, AuthError, AuthRequest, Secret};
use dbsync::client::{Connection, Error, Query};
use dbsync::sandbox::{Sandbox, SandboxAuth};
use serde_json::{Value, json};

/// Any error of the walk.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// An API key sent in one header, after an optional prefix. `Debug` shows no key.
#[derive(Debug, Clone)]
pub struct ApiKeyAuth {
    header: String,
    prefix: String,
    key: Secret,
}

impl ApiKeyAuth {
    /// The key alone in `header`, e.g. `X-API-Key: <key>`.
    pub fn in_header(header: impl Into<String>, key: impl Into<Secret>) -> Self {
        Self {
            header: header.into(),
            prefix: String::new(),
            key: key.into(),
        }
    }

    /// The key as a Bearer token: `Authorization: Bearer <key>` (what DBSync expects).
    pub fn as_bearer(key: impl Into<Secret>) -> Self {
        Self {
            header: "authorization".to_owned(),
            prefix: "Bearer ".to_owned(),
            key: key.into(),
        }
    }
}

#[async_trait::async_trait]
impl Auth for ApiKeyAuth {
    /// Called on every attempt of every request to the connection's own origin.
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        if self.key.is_empty() {
            return Err(AuthError::config("the API key is empty; set DBSYNC_TOKEN"));
        }
        // `set_header` marks the value sensitive and never echoes it in an error.
        request.set_header(
            &self.header,
            &format!("{}{}", self.prefix, self.key.expose()),
        )
    }

    fn scheme(&self) -> &'static str {
        "api-key"
    }
}

/// An API key created through the API.
#[derive(Debug)]
pub struct CreatedKey {
    /// The key's id (to revoke it).
    pub id: String,
    /// The key's first characters, to tell keys apart (not secret).
    pub prefix: String,
    /// The secret key, shown once.
    pub key: Secret,
}

/// Creates an API key with a raw `POST /v1/api-keys`, authenticated with `admin_token`.
pub async fn create_api_key(base_url: &str, admin_token: &str) -> Result<CreatedKey, BoxError> {
    let response = reqwest::Client::new()
        .post(format!("{base_url}/v1/api-keys"))
        .bearer_auth(admin_token)
        .json(&json!({"name": "auth_custom example"}))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    let field = |name: &str| body[name].as_str().map(str::to_owned);
    match (status.as_u16(), field("id"), field("key")) {
        (201, Some(id), Some(key)) => Ok(CreatedKey {
            id,
            prefix: field("prefix").unwrap_or_default(),
            key: Secret::new(key),
        }),
        _ => Err(format!("creating an API key answered HTTP {status}").into()),
    }
}

/// Revokes an API key with a raw `DELETE /v1/api-keys/{id}`.
pub async fn revoke_api_key(base_url: &str, admin_token: &str, id: &str) -> Result<(), BoxError> {
    let response = reqwest::Client::new()
        .delete(format!("{base_url}/v1/api-keys/{id}"))
        .bearer_auth(admin_token)
        .send()
        .await?;
    match response.status().as_u16() {
        200 | 204 => Ok(()),
        status => Err(format!("revoking the API key answered HTTP {status}").into()),
    }
}

fn connect(base_url: &str, auth: ApiKeyAuth) -> Result<Connection, Error> {
    Connection::builder().base_url(base_url).auth(auth).build()
}

/// Creates an API key, uses it through [`ApiKeyAuth`] and revokes it.
pub async fn run(base_url: &str, admin_token: &str) -> Result<(), BoxError> {
    println!("== Create an API key (raw POST /v1/api-keys)");
    let created = create_api_key(base_url, admin_token).await?;
    println!(
        "   key {} created (prefix {}; the secret is shown once, and not here)",
        created.id, created.prefix
    );

    println!("== The key in a custom header: X-API-Key");
    let custom = connect(
        base_url,
        ApiKeyAuth::in_header("x-api-key", created.key.clone()),
    )?;
    match custom.validate().await {
        Err(Error::Unauthorized { .. }) => println!(
            "   refused (401): this server takes API keys only as Bearer tokens; a server that \
             reads X-API-Key would accept it"
        ),
        Err(other) => return Err(other.into()),
        Ok(_) => println!("   accepted"),
    }

    println!("== The same type, configured as Authorization: Bearer <key>");
    let connection = connect(base_url, ApiKeyAuth::as_bearer(created.key.clone()))?;
    let report = connection.validate().await?;
    println!(
        "   validated: {} -> HTTP {} (auth `{}`)",
        report.checked, report.status, report.auth_scheme
    );
    let page = connection.records().list(&Query::new().limit(3)).await?;
    println!("   read {} records with the API key", page.data.len());

    println!("== Revoke the key: it stops working at once");
    revoke_api_key(base_url, admin_token, &created.id).await?;
    match connection.validate().await {
        Err(Error::Unauthorized { .. }) => println!("   refused as expected: 401 Unauthorized"),
        Err(other) => return Err(other.into()),
        Ok(_) => return Err("the server still accepts a revoked API key".into()),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let walk = async {
        let admin_token = format!("admin-{:032x}", rand::random::<u128>());
        let sandbox = Sandbox::builder()
            .auth(SandboxAuth::Bearer {
                token: admin_token.clone(),
            })
            .seed_records(25)
            .start()
            .await?;
        println!(
            "Sandbox (bearer auth, generated admin token) at {}",
            sandbox.base_url()
        );
        let outcome = run(sandbox.base_url(), &admin_token).await;
        sandbox.shutdown().await;
        outcome
    };
    match walk.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "auth_custom failed: {}",
                error.to_string().replace('\n', " ")
            );
            ExitCode::FAILURE
        }
    }
}
