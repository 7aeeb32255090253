//! Turning settings into a [`ConnectionBuilder`] or a [`Connection`], reading `${NAME}`
//! references when the connection is built.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dbsync_auth::{Auth, BasicAuth, BearerAuth, NoAuth, OAuth2Auth, Secret};

use super::model::{AuthSettings, ConnectionSettings};
use super::reference::{EnvLookup, process_env};
use crate::connection::{AuthFromClient, Connection, ConnectionBuilder};
use crate::error::Error;

impl ConnectionSettings {
    /// Builds the connection, reading `${NAME}` references from the process environment
    /// (`DBSYNC_*` variables and those allowed with [`ConnectionSettings::allow_env`]; a
    /// reference to any other variable is an [`Error::Config`] naming it).
    pub fn connect(&self) -> Result<Connection, Error> {
        self.connect_with_env(&process_env)
    }

    /// Builds the connection, reading `${NAME}` references through `env`.
    pub fn connect_with_env(&self, env: EnvLookup<'_>) -> Result<Connection, Error> {
        self.builder_with_env(env)?.build()
    }

    /// A builder configured from these settings (to add what settings cannot hold, such as a
    /// shared `reqwest::Client` or a rate limiter), reading references through `env`.
    ///
    /// With `oauth2` auth, the strategy is made when the builder builds, from its final
    /// settings: a client given with [`ConnectionBuilder::http_client`] then also makes the
    /// token requests (build it with redirects off: a followed redirect would carry the client
    /// credentials), and a later [`ConnectionBuilder::allow_insecure_http`] applies to the
    /// token URL too.
    ///
    /// References read only `DBSYNC_*` variables and those allowed with
    /// [`ConnectionSettings::allow_env`]; any other name is an [`Error::Config`] naming the
    /// variable (never its value).
    pub fn builder_with_env(&self, env: EnvLookup<'_>) -> Result<ConnectionBuilder, Error> {
        let expand = |field: &str, value: &str| {
            super::reference::expand(field, value, env, &self.allowed_env)
        };
        let api_url = expand("api_url", &self.api_url)?;
        let mut builder = with_auth(
            Connection::builder()
                .base_url(&api_url)
                .allow_insecure_http(self.allow_insecure_http),
            &self.auth,
            &api_url,
            env,
            &self.allowed_env,
        )?;
        if let Some(name) = &self.name {
            builder = builder.name(name.clone());
        }
        if let Some(secs) = self.timeout_secs {
            builder = builder.timeout(Duration::from_secs(secs));
        }
        if let Some(secs) = self.connect_timeout_secs {
            builder = builder.connect_timeout(Duration::from_secs(secs));
        }
        if let Some(secs) = self.pool_idle_timeout_secs {
            builder = builder.pool_idle_timeout(Duration::from_secs(secs));
        }
        if let Some(retry) = &self.retry {
            builder = builder.retry(retry.policy());
        }
        if let Some(limit) = &self.rate_limit {
            builder = builder.requests_per_minute(limit.requests_per_minute);
            if let Some(per_hour) = limit.requests_per_hour {
                builder = builder.requests_per_hour(per_hour);
            }
        }
        if let Some(agent) = &self.user_agent {
            builder = builder.user_agent(expand("user_agent", agent)?);
        }
        if let Some(pagination) = &self.pagination {
            builder = builder.page_format(pagination.page_format());
        }
        if let Some(resource) = &self.validate_resource {
            builder = builder.validate_resource(resource.clone());
        }
        if let Some(bytes) = self.max_response_bytes {
            // Above the address space (a 32-bit target) is the same as no limit there.
            builder = builder.max_response_bytes(usize::try_from(bytes).unwrap_or(usize::MAX));
        }
        builder = self.network(builder, &expand)?;
        Ok(builder)
    }

    /// `builder` with the settings' `tls` files and proxy (`${NAME}` references expanded).
    fn network(
        &self,
        mut builder: ConnectionBuilder,
        expand: &dyn Fn(&str, &str) -> Result<String, Error>,
    ) -> Result<ConnectionBuilder, Error> {
        if let Some(tls) = &self.tls {
            let path = |field: &str, value: &Option<String>| {
                value
                    .as_deref()
                    .map(|v| expand(field, v).map(PathBuf::from))
                    .transpose()
            };
            if let Some(ca) = path("tls.ca_file", &tls.ca_file)? {
                builder = builder.ca_certificate_pem_file(ca);
            }
            builder = builder.client_identity_files(
                path("tls.client_cert_file", &tls.client_cert_file)?,
                path("tls.client_key_file", &tls.client_key_file)?,
            );
        }
        if let Some(proxy) = &self.proxy {
            builder = builder.proxy(expand("proxy", proxy)?);
        }
        if let Some(hosts) = &self.no_proxy {
            builder = builder.no_proxy(hosts.clone());
        }
        Ok(builder.proxy_from_env(self.proxy_from_env))
    }
}

impl Connection {
    /// A connection from settings JSON, references read from the process environment.
    pub fn from_settings_json(json: &str) -> Result<Self, Error> {
        ConnectionSettings::from_json(json)?.connect()
    }

    /// A connection from a settings JSON file, references read from the process environment.
    pub fn from_settings_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        ConnectionSettings::from_file(path)?.connect()
    }
}

/// `builder` with the auth strategy of the settings (references read through `env`, only
/// `DBSYNC_*` names and those in `allowed`).
fn with_auth(
    builder: ConnectionBuilder,
    auth: &AuthSettings,
    api_url: &str,
    env: EnvLookup<'_>,
    allowed: &[String],
) -> Result<ConnectionBuilder, Error> {
    let expand = |field: &str, value: &str| super::reference::expand(field, value, env, allowed);
    let named = |field: &'static str| {
        move |e: dbsync_auth::AuthError| Error::config(format!("{field}: {e}"))
    };
    let ready: Arc<dyn Auth> = match auth {
        AuthSettings::None => Arc::new(NoAuth),
        AuthSettings::Basic { username, password } => Arc::new(
            BasicAuth::new(
                expand("auth.username", username)?,
                password.resolve_allowing("auth.password", env, allowed)?,
            )
            .map_err(named("auth.username"))?,
        ),
        AuthSettings::Bearer { token } => Arc::new(BearerAuth::new(token.resolve_allowing(
            "auth.token",
            env,
            allowed,
        )?)),
        AuthSettings::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scopes,
        } => {
            let token_url = match token_url {
                Some(url) => expand("auth.token_url", url)?,
                None => format!("{}/oauth/token", api_url.trim_end_matches('/')),
            };
            return Ok(builder.auth_from_client(oauth2_auth(
                expand("auth.client_id", client_id)?,
                client_secret.resolve_allowing("auth.client_secret", env, allowed)?,
                token_url,
                scopes.clone(),
            )));
        }
    };
    Ok(builder.auth_shared(ready))
}

/// The `oauth2` settings type: client credentials through dbsync-auth's [`OAuth2Auth`], made
/// when the connection is built, with the connection's own HTTP client (redirects off), so
/// token requests and API calls share one connection pool, and with the connection's final
/// `allow_insecure_http`.
fn oauth2_auth(
    client_id: String,
    client_secret: Secret,
    token_url: String,
    scopes: Vec<String>,
) -> AuthFromClient {
    Box::new(move |http: &reqwest::Client, allow_insecure_http: bool| {
        let auth = OAuth2Auth::client_credentials(client_id, client_secret, token_url)
            .scopes(scopes)
            .allow_insecure_http(allow_insecure_http)
            .http_client(http.clone())
            .build()
            .map_err(|e| Error::config(format!("auth (oauth2): {e}")))?;
        Ok(Arc::new(auth) as Arc<dyn Auth>)
    })
}
