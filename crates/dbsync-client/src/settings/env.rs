//! Connection settings from the `DBSYNC_*` environment variables.
//!
//! | variable | meaning |
//! |---|---|
//! | `DBSYNC_CONFIG` | a settings JSON file; the variables below override its fields |
//! | `DBSYNC_API_URL` | base URL |
//! | `DBSYNC_AUTH_TYPE` | `none`, `basic`, `bearer` or `oauth2` |
//! | `DBSYNC_USERNAME`, `DBSYNC_PASSWORD` | BasicAuth |
//! | `DBSYNC_TOKEN` | Bearer token or API key |
//! | `DBSYNC_CLIENT_ID`, `DBSYNC_CLIENT_SECRET`, `DBSYNC_TOKEN_URL`, `DBSYNC_SCOPES` | OAuth 2.0 client credentials (scopes space-separated) |
//!
//! Without `DBSYNC_AUTH_TYPE`, the type is the config file's, or (without a file) guessed from
//! the variables present: `DBSYNC_TOKEN` means bearer, `DBSYNC_USERNAME` basic,
//! `DBSYNC_CLIENT_ID` oauth2, none of them no auth. Secrets from variables are kept as
//! `${DBSYNC_...}` references, so saving such settings never writes the secret.

use super::model::{AuthSettings, ConnectionSettings, SecretValue};
use super::reference::{EnvLookup, process_env};
use crate::connection::Connection;
use crate::error::Error;

impl ConnectionSettings {
    /// Settings from the process's `DBSYNC_*` variables.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_map(&process_env)
    }

    /// Settings from `DBSYNC_*` variables read through `env` (a map in tests).
    pub fn from_env_map(env: EnvLookup<'_>) -> Result<Self, Error> {
        let var = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let from_file = var("DBSYNC_CONFIG").is_some();
        let mut settings = match var("DBSYNC_CONFIG") {
            Some(path) => {
                Self::from_file(&path).map_err(|e| Error::config(format!("DBSYNC_CONFIG: {e}")))?
            }
            None => Self::new(var("DBSYNC_API_URL").ok_or_else(|| {
                Error::config(
                    "DBSYNC_API_URL is not set: set it to the server's base URL (or point \
                     DBSYNC_CONFIG at a connection settings file)",
                )
            })?),
        };
        if let Some(url) = var("DBSYNC_API_URL") {
            // Not quoted: a URL may carry a password.
            url::Url::parse(&url)
                .map_err(|e| Error::config(format!("DBSYNC_API_URL is not a valid URL ({e})")))?;
            settings.api_url = url;
        }
        let kind = match var("DBSYNC_AUTH_TYPE") {
            Some(kind) => kind.trim().to_ascii_lowercase(),
            None if from_file => settings.auth.type_name().to_owned(),
            None if var("DBSYNC_TOKEN").is_some() => "bearer".to_owned(),
            None if var("DBSYNC_USERNAME").is_some() => "basic".to_owned(),
            None if var("DBSYNC_CLIENT_ID").is_some() => "oauth2".to_owned(),
            None => "none".to_owned(),
        };
        let current = std::mem::take(&mut settings.auth);
        let missing = |variable: &str| {
            Error::config(format!(
                "{variable} is not set (needed for auth type `{kind}`)"
            ))
        };
        let secret =
            |variable: &str| var(variable).map(|_| SecretValue::EnvRef(variable.to_owned()));
        settings.auth = match kind.as_str() {
            "none" => AuthSettings::None,
            "basic" => {
                let (file_user, file_password) = match current {
                    AuthSettings::Basic { username, password } => (Some(username), Some(password)),
                    _ => (None, None),
                };
                AuthSettings::Basic {
                    username: var("DBSYNC_USERNAME")
                        .or(file_user)
                        .ok_or_else(|| missing("DBSYNC_USERNAME"))?,
                    password: secret("DBSYNC_PASSWORD")
                        .or(file_password)
                        .ok_or_else(|| missing("DBSYNC_PASSWORD"))?,
                }
            }
            "bearer" => {
                let file_token = match current {
                    AuthSettings::Bearer { token } => Some(token),
                    _ => None,
                };
                AuthSettings::Bearer {
                    token: secret("DBSYNC_TOKEN")
                        .or(file_token)
                        .ok_or_else(|| missing("DBSYNC_TOKEN"))?,
                }
            }
            "oauth2" => {
                let (file_url, file_id, file_secret, file_scopes) = match current {
                    AuthSettings::OAuth2 {
                        token_url,
                        client_id,
                        client_secret,
                        scopes,
                    } => (token_url, Some(client_id), Some(client_secret), scopes),
                    _ => (None, None, None, Vec::new()),
                };
                AuthSettings::OAuth2 {
                    token_url: var("DBSYNC_TOKEN_URL").or(file_url),
                    client_id: var("DBSYNC_CLIENT_ID")
                        .or(file_id)
                        .ok_or_else(|| missing("DBSYNC_CLIENT_ID"))?,
                    client_secret: secret("DBSYNC_CLIENT_SECRET")
                        .or(file_secret)
                        .ok_or_else(|| missing("DBSYNC_CLIENT_SECRET"))?,
                    scopes: var("DBSYNC_SCOPES")
                        .map(|s| s.split_whitespace().map(str::to_owned).collect())
                        .unwrap_or(file_scopes),
                }
            }
            other => {
                return Err(Error::config(format!(
                    "DBSYNC_AUTH_TYPE `{other}` is not supported: use none, basic, bearer or oauth2"
                )));
            }
        };
        Ok(settings)
    }
}

impl Connection {
    /// A connection from the process's `DBSYNC_*` variables (see [`ConnectionSettings::from_env`]).
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_map(&process_env)
    }

    /// A connection from `DBSYNC_*` variables read through `env`, which also resolves the
    /// settings' `${NAME}` references.
    pub fn from_env_map(env: EnvLookup<'_>) -> Result<Self, Error> {
        ConnectionSettings::from_env_map(env)?.connect_with_env(env)
    }
}
