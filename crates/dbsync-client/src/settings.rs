//! Connection settings: the contract's "API Json", parsed with errors that name the field,
//! and turned into a [`Connection`].
//!
//! A string value of the form `${NAME}` is a reference to the environment variable `NAME`,
//! read when the connection is built (not when the settings are parsed), so settings keep the
//! reference and a saved file need not hold a secret.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dbsync_auth::{Auth, BasicAuth, BearerAuth, NoAuth, OAuth2Auth, Secret};
use serde_json::{Map, Value};

use crate::connection::{AuthFromClient, Connection, ConnectionBuilder};
use crate::error::Error;
use crate::page::PageFormat;
use crate::retry::RetryPolicy;

/// How environment variables are read: a function from name to value. Tests pass a map;
/// [`process_env`] reads the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads the process environment (an unset or non-UTF-8 variable is `None`).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A connection's settings, as in the contract's connection JSON:
///
/// ```
/// use dbsync_client::{AuthSettings, ConnectionSettings};
/// let settings = ConnectionSettings::from_json(r#"{
///     "name": "crm-prod",
///     "api_url": "https://api.dbsync.com",
///     "auth": {"type": "bearer", "token": "${DBSYNC_TOKEN}"},
///     "timeout_secs": 30,
///     "retry": {"max_retries": 5}
/// }"#)?;
/// assert!(matches!(settings.auth, AuthSettings::Bearer { .. }));
/// # Ok::<(), dbsync_client::Error>(())
/// ```
///
/// Besides the contract's fields it accepts `connect_timeout_secs`, `pool_idle_timeout_secs`,
/// `retry.{initial_backoff_ms,max_backoff_ms,max_retry_after_secs,max_rate_limit_wait_secs,call_deadline_secs}`, `allow_insecure_http`,
/// `user_agent`, `pagination.{records_key,bare_array}` and `validate_resource`. Unknown fields
/// are refused (a typo would otherwise be silently ignored).
///
/// `Serialize` writes the JSON without literal secrets (see [`ConnectionSettings::to_json`]);
/// `Deserialize` goes through [`ConnectionSettings::from_json_value`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionSettings {
    /// A name for the connection.
    pub name: Option<String>,
    /// The base URL (or a `${NAME}` reference).
    pub api_url: String,
    /// How to authenticate.
    pub auth: AuthSettings,
    /// The request timeout in seconds.
    pub timeout_secs: Option<u64>,
    /// The connect timeout in seconds.
    pub connect_timeout_secs: Option<u64>,
    /// How long idle pooled connections are kept, in seconds (default 50).
    pub pool_idle_timeout_secs: Option<u64>,
    /// Retry settings.
    pub retry: Option<RetrySettings>,
    /// Client-side rate limit, enforced by the connection
    /// ([`crate::ConnectionBuilder::requests_per_minute`]).
    pub rate_limit: Option<RateLimitSettings>,
    /// Allow credentials over plain `http://` to a non-loopback host.
    pub allow_insecure_http: bool,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// How list pages are shaped.
    pub pagination: Option<PaginationSettings>,
    /// The resource `validate()` reads.
    pub validate_resource: Option<String>,
}

/// The `auth` object: `type` and the fields of that type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthSettings {
    /// `{"type":"none"}`
    #[default]
    None,
    /// `{"type":"basic","username","password"}`
    Basic {
        /// The username (or a `${NAME}` reference).
        username: String,
        /// The password.
        password: SecretValue,
    },
    /// `{"type":"bearer","token"}` (a token or an API key).
    Bearer {
        /// The token.
        token: SecretValue,
    },
    /// `{"type":"oauth2","token_url","client_id","client_secret","scopes"}` (client
    /// credentials). Without `token_url`, `{api_url}/oauth/token` is used.
    OAuth2 {
        /// The token endpoint.
        token_url: Option<String>,
        /// The client id (or a `${NAME}` reference).
        client_id: String,
        /// The client secret.
        client_secret: SecretValue,
        /// The scopes to ask for.
        scopes: Vec<String>,
    },
}

impl AuthSettings {
    /// The `type` value: `none`, `basic`, `bearer` or `oauth2`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Basic { .. } => "basic",
            Self::Bearer { .. } => "bearer",
            Self::OAuth2 { .. } => "oauth2",
        }
    }
}

/// A secret setting: a `${NAME}` reference to an environment variable, or the secret itself.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretValue {
    /// `${NAME}`: read from the environment variable `NAME` when the connection is built.
    EnvRef(String),
    /// The secret itself (redacted in `Debug`; not saved unless asked).
    Literal(Secret),
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EnvRef(name) => write!(f, "EnvRef(${{{name}}})"),
            Self::Literal(_) => f.write_str("Literal([redacted])"),
        }
    }
}

impl SecretValue {
    /// Parses a settings string: `${NAME}` is a reference, anything else a literal.
    pub fn parse(value: &str) -> Self {
        match env_reference(value) {
            Some(name) => Self::EnvRef(name.to_owned()),
            None => Self::Literal(Secret::new(value)),
        }
    }

    /// The secret, reading a reference from `env`. `field` names the setting in errors.
    pub fn resolve(&self, field: &str, env: EnvLookup<'_>) -> Result<Secret, Error> {
        let secret = match self {
            Self::EnvRef(name) => Secret::new(env(name).ok_or_else(|| {
                Error::config(format!(
                    "{field}: the environment variable {name} is not set"
                ))
            })?),
            Self::Literal(secret) => secret.clone(),
        };
        if secret.is_empty() {
            return Err(Error::config(format!("{field} is empty")));
        }
        Ok(secret)
    }
}

/// The `retry` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RetrySettings {
    /// Retries after the first attempt (default 3).
    pub max_retries: Option<u32>,
    /// The first backoff ceiling in milliseconds (default 250).
    pub initial_backoff_ms: Option<u64>,
    /// The largest backoff ceiling in milliseconds (default 10 000).
    pub max_backoff_ms: Option<u64>,
    /// The longest `Retry-After` waited, in seconds (default 60).
    pub max_retry_after_secs: Option<u64>,
    /// The cap on all rate-limit waits of one call, in seconds (default 300).
    pub max_rate_limit_wait_secs: Option<u64>,
    /// The overall deadline of one call, retries and waits included, in seconds (default none).
    pub call_deadline_secs: Option<u64>,
}

impl RetrySettings {
    /// The policy these settings describe (unset fields keep their defaults).
    pub fn policy(&self) -> RetryPolicy {
        let mut policy = RetryPolicy::default();
        if let Some(retries) = self.max_retries {
            policy = policy.max_retries(retries);
        }
        if let Some(ms) = self.initial_backoff_ms {
            policy = policy.initial_backoff(Duration::from_millis(ms));
        }
        if let Some(ms) = self.max_backoff_ms {
            policy = policy.max_backoff(Duration::from_millis(ms));
        }
        if let Some(secs) = self.max_retry_after_secs {
            policy = policy.max_retry_after(Duration::from_secs(secs));
        }
        if let Some(secs) = self.max_rate_limit_wait_secs {
            policy = policy.max_rate_limit_wait(Duration::from_secs(secs));
        }
        if let Some(secs) = self.call_deadline_secs {
            policy = policy.call_deadline(Duration::from_secs(secs));
        }
        policy
    }
}

/// The `rate_limit` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitSettings {
    /// Requests per minute the client allows itself.
    pub requests_per_minute: u32,
}

impl RateLimitSettings {
    /// A limit of `requests_per_minute`.
    pub fn new(requests_per_minute: u32) -> Self {
        Self {
            requests_per_minute,
        }
    }
}

/// The `pagination` object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PaginationSettings {
    /// The key of the records array in a page (default `data`).
    pub records_key: Option<String>,
    /// Pages are bare JSON arrays.
    pub bare_array: bool,
}

impl PaginationSettings {
    /// The page format these settings describe.
    pub fn page_format(&self) -> PageFormat {
        if self.bare_array {
            PageFormat::BareArray
        } else {
            PageFormat::records_under(self.records_key.as_deref().unwrap_or("data"))
        }
    }
}

impl ConnectionSettings {
    /// Settings with only a base URL (no auth, defaults elsewhere).
    pub fn new(api_url: impl Into<String>) -> Self {
        Self {
            name: None,
            api_url: api_url.into(),
            auth: AuthSettings::None,
            timeout_secs: None,
            connect_timeout_secs: None,
            pool_idle_timeout_secs: None,
            retry: None,
            rate_limit: None,
            allow_insecure_http: false,
            user_agent: None,
            pagination: None,
            validate_resource: None,
        }
    }

    /// Sets the auth settings.
    pub fn with_auth(mut self, auth: AuthSettings) -> Self {
        self.auth = auth;
        self
    }

    /// Parses settings JSON. `${NAME}` references are kept (read at connect time). An invalid
    /// document is an [`Error::Config`] naming the field, e.g. `auth.client_id is missing`.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let value: Value = serde_json::from_str(json).map_err(|e| {
            Error::config(format!("the connection settings are not valid JSON: {e}"))
        })?;
        Self::from_json_value(&value)
    }

    /// Reads and parses a settings file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!(
                "could not read the connection settings file `{}`: {e}",
                path.display()
            ))
        })?;
        Self::from_json(&text).map_err(|e| match e {
            Error::Config(message) => Error::config(format!("{}: {message}", path.display())),
            other => other,
        })
    }

    /// Parses settings from a JSON value.
    pub fn from_json_value(value: &Value) -> Result<Self, Error> {
        let top = Fields::new(value, "", TOP_FIELDS)?;
        let api_url = top.string("api_url")?;
        if env_reference(&api_url).is_none() {
            // Not quoted: a URL may carry a password.
            url::Url::parse(&api_url)
                .map_err(|e| Error::config(format!("api_url is not a valid URL ({e})")))?;
        }
        let auth = match top.get("auth") {
            Some(auth) => parse_auth(auth)?,
            None => AuthSettings::None,
        };
        let retry = match top.get("retry") {
            Some(retry) => {
                let f = Fields::new(retry, "retry", RETRY_FIELDS)?;
                Some(RetrySettings {
                    max_retries: f
                        .opt_u64("max_retries")?
                        .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
                    initial_backoff_ms: f.opt_u64("initial_backoff_ms")?,
                    max_backoff_ms: f.opt_u64("max_backoff_ms")?,
                    max_retry_after_secs: f.opt_u64("max_retry_after_secs")?,
                    max_rate_limit_wait_secs: f.opt_u64("max_rate_limit_wait_secs")?,
                    call_deadline_secs: f.opt_u64("call_deadline_secs")?,
                })
            }
            None => None,
        };
        let rate_limit = match top.get("rate_limit") {
            Some(limit) => {
                let f = Fields::new(limit, "rate_limit", &["requests_per_minute"])?;
                let per_minute = f
                    .positive("requests_per_minute")?
                    .ok_or_else(|| Error::config("rate_limit.requests_per_minute is missing"))?;
                Some(RateLimitSettings {
                    requests_per_minute: u32::try_from(per_minute).unwrap_or(u32::MAX),
                })
            }
            None => None,
        };
        let pagination = match top.get("pagination") {
            Some(p) => {
                let f = Fields::new(p, "pagination", &["records_key", "bare_array"])?;
                Some(PaginationSettings {
                    records_key: f.opt_string("records_key")?,
                    bare_array: f.opt_bool("bare_array")?.unwrap_or(false),
                })
            }
            None => None,
        };
        let validate_resource = top.opt_string("validate_resource")?;
        if let Some(resource) = &validate_resource {
            crate::resource::validate_resource_name(resource)
                .map_err(|e| Error::config(format!("validate_resource: {e}")))?;
        }
        Ok(Self {
            name: top.opt_string("name")?,
            api_url,
            auth,
            timeout_secs: top.positive("timeout_secs")?,
            connect_timeout_secs: top.positive("connect_timeout_secs")?,
            pool_idle_timeout_secs: top.opt_u64("pool_idle_timeout_secs")?,
            retry,
            rate_limit,
            allow_insecure_http: top.opt_bool("allow_insecure_http")?.unwrap_or(false),
            user_agent: top.opt_string("user_agent")?,
            pagination,
            validate_resource,
        })
    }

    /// Builds the connection, reading `${NAME}` references from the process environment.
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
    pub fn builder_with_env(&self, env: EnvLookup<'_>) -> Result<ConnectionBuilder, Error> {
        let api_url = expand("api_url", &self.api_url, env)?;
        let mut builder = with_auth(
            Connection::builder()
                .base_url(&api_url)
                .allow_insecure_http(self.allow_insecure_http),
            &self.auth,
            &api_url,
            env,
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
        }
        if let Some(agent) = &self.user_agent {
            builder = builder.user_agent(expand("user_agent", agent, env)?);
        }
        if let Some(pagination) = &self.pagination {
            builder = builder.page_format(pagination.page_format());
        }
        if let Some(resource) = &self.validate_resource {
            builder = builder.validate_resource(resource.clone());
        }
        Ok(builder)
    }

    /// The settings as JSON. Without `include_secrets`, a literal secret is written as a
    /// reference to its standard variable (`${DBSYNC_PASSWORD}`, `${DBSYNC_TOKEN}`,
    /// `${DBSYNC_CLIENT_SECRET}`); the names of the fields so replaced are returned too.
    /// `${NAME}` references are always written as they are.
    pub fn to_json(&self, include_secrets: bool) -> (Value, Vec<String>) {
        let mut replaced = Vec::new();
        let mut secret = |field: &str, variable: &str, value: &SecretValue| match value {
            SecretValue::EnvRef(name) => Value::String(format!("${{{name}}}")),
            SecretValue::Literal(secret) if include_secrets => {
                Value::String(secret.expose().to_owned())
            }
            SecretValue::Literal(_) => {
                replaced.push(format!("{field} (written as ${{{variable}}})"));
                Value::String(format!("${{{variable}}}"))
            }
        };
        let mut auth = Map::new();
        auth.insert("type".into(), self.auth.type_name().into());
        match &self.auth {
            AuthSettings::None => {}
            AuthSettings::Basic { username, password } => {
                auth.insert("username".into(), username.clone().into());
                auth.insert(
                    "password".into(),
                    secret("auth.password", "DBSYNC_PASSWORD", password),
                );
            }
            AuthSettings::Bearer { token } => {
                auth.insert("token".into(), secret("auth.token", "DBSYNC_TOKEN", token));
            }
            AuthSettings::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scopes,
            } => {
                if let Some(url) = token_url {
                    auth.insert("token_url".into(), url.clone().into());
                }
                auth.insert("client_id".into(), client_id.clone().into());
                auth.insert(
                    "client_secret".into(),
                    secret("auth.client_secret", "DBSYNC_CLIENT_SECRET", client_secret),
                );
                auth.insert("scopes".into(), scopes.clone().into());
            }
        }
        let mut top = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                top.insert(key.to_owned(), value);
            }
        };
        put("name", self.name.clone().map(Value::from));
        put("api_url", Some(self.api_url.clone().into()));
        put("auth", Some(Value::Object(auth)));
        put("timeout_secs", self.timeout_secs.map(Value::from));
        put(
            "connect_timeout_secs",
            self.connect_timeout_secs.map(Value::from),
        );
        put(
            "pool_idle_timeout_secs",
            self.pool_idle_timeout_secs.map(Value::from),
        );
        put(
            "retry",
            self.retry.map(|r| {
                let mut m = Map::new();
                let mut field = |k: &str, v: Option<u64>| {
                    if let Some(v) = v {
                        m.insert(k.to_owned(), v.into());
                    }
                };
                field("max_retries", r.max_retries.map(u64::from));
                field("initial_backoff_ms", r.initial_backoff_ms);
                field("max_backoff_ms", r.max_backoff_ms);
                field("max_retry_after_secs", r.max_retry_after_secs);
                field("max_rate_limit_wait_secs", r.max_rate_limit_wait_secs);
                field("call_deadline_secs", r.call_deadline_secs);
                Value::Object(m)
            }),
        );
        put(
            "rate_limit",
            self.rate_limit
                .map(|r| serde_json::json!({"requests_per_minute": r.requests_per_minute})),
        );
        put(
            "allow_insecure_http",
            self.allow_insecure_http.then_some(Value::Bool(true)),
        );
        put("user_agent", self.user_agent.clone().map(Value::from));
        put(
            "pagination",
            self.pagination.as_ref().map(|p| {
                let mut m = Map::new();
                if let Some(key) = &p.records_key {
                    m.insert("records_key".into(), key.clone().into());
                }
                if p.bare_array {
                    m.insert("bare_array".into(), true.into());
                }
                Value::Object(m)
            }),
        );
        put(
            "validate_resource",
            self.validate_resource.clone().map(Value::from),
        );
        (Value::Object(top), replaced)
    }
}

impl serde::Serialize for ConnectionSettings {
    /// Writes the settings without literal secrets (as [`ConnectionSettings::to_json`] with
    /// `include_secrets: false`).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json(false).0.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for ConnectionSettings {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_json_value(&value).map_err(serde::de::Error::custom)
    }
}

const TOP_FIELDS: &[&str] = &[
    "name",
    "api_url",
    "auth",
    "timeout_secs",
    "connect_timeout_secs",
    "pool_idle_timeout_secs",
    "retry",
    "rate_limit",
    "allow_insecure_http",
    "user_agent",
    "pagination",
    "validate_resource",
];
const RETRY_FIELDS: &[&str] = &[
    "max_retries",
    "initial_backoff_ms",
    "max_backoff_ms",
    "max_retry_after_secs",
    "max_rate_limit_wait_secs",
    "call_deadline_secs",
];

fn parse_auth(value: &Value) -> Result<AuthSettings, Error> {
    let kind = value
        .get("type")
        .ok_or_else(|| Error::config("auth.type is missing: use none, basic, bearer or oauth2"))?
        .as_str()
        .ok_or_else(|| Error::config("auth.type must be a string"))?;
    Ok(match kind {
        "none" => {
            Fields::new(value, "auth", &["type"])?;
            AuthSettings::None
        }
        "basic" => {
            let f = Fields::new(value, "auth", &["type", "username", "password"])?;
            AuthSettings::Basic {
                username: f.string("username")?,
                password: f.secret("password")?,
            }
        }
        "bearer" => {
            let f = Fields::new(value, "auth", &["type", "token"])?;
            AuthSettings::Bearer {
                token: f.secret("token")?,
            }
        }
        "oauth2" => {
            let f = Fields::new(
                value,
                "auth",
                &["type", "token_url", "client_id", "client_secret", "scopes"],
            )?;
            AuthSettings::OAuth2 {
                token_url: f.opt_string("token_url")?,
                client_id: f.string("client_id")?,
                client_secret: f.secret("client_secret")?,
                scopes: f.scopes("scopes")?,
            }
        }
        other => {
            return Err(Error::config(format!(
                "auth.type `{other}` is not supported: use none, basic, bearer or oauth2"
            )));
        }
    })
}

/// `builder` with the auth strategy of the settings (references read through `env`).
fn with_auth(
    builder: ConnectionBuilder,
    auth: &AuthSettings,
    api_url: &str,
    env: EnvLookup<'_>,
) -> Result<ConnectionBuilder, Error> {
    let named = |field: &'static str| {
        move |e: dbsync_auth::AuthError| Error::config(format!("{field}: {e}"))
    };
    let ready: Arc<dyn Auth> = match auth {
        AuthSettings::None => Arc::new(NoAuth),
        AuthSettings::Basic { username, password } => Arc::new(
            BasicAuth::new(
                expand("auth.username", username, env)?,
                password.resolve("auth.password", env)?,
            )
            .map_err(named("auth.username"))?,
        ),
        AuthSettings::Bearer { token } => {
            Arc::new(BearerAuth::new(token.resolve("auth.token", env)?))
        }
        AuthSettings::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scopes,
        } => {
            let token_url = match token_url {
                Some(url) => expand("auth.token_url", url, env)?,
                None => format!("{}/oauth/token", api_url.trim_end_matches('/')),
            };
            return Ok(builder.auth_from_client(oauth2_auth(
                expand("auth.client_id", client_id, env)?,
                client_secret.resolve("auth.client_secret", env)?,
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

/// `${NAME}` -> `NAME`.
fn env_reference(value: &str) -> Option<&str> {
    let name = value.strip_prefix("${")?.strip_suffix('}')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(name)
}

/// Reads a `${NAME}` reference from `env`; other values are returned as they are.
fn expand(field: &str, value: &str, env: EnvLookup<'_>) -> Result<String, Error> {
    match env_reference(value) {
        Some(name) => env(name).ok_or_else(|| {
            Error::config(format!(
                "{field}: the environment variable {name} is not set"
            ))
        }),
        None => Ok(value.to_owned()),
    }
}

/// Typed access to one JSON object of the settings, with errors naming `path.key`.
struct Fields<'a> {
    path: &'a str,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn new(value: &'a Value, path: &'a str, known: &[&str]) -> Result<Self, Error> {
        let map = value.as_object().ok_or_else(|| {
            Error::config(if path.is_empty() {
                "the connection settings must be a JSON object".to_owned()
            } else {
                format!("{path} must be a JSON object")
            })
        })?;
        let fields = Self { path, map };
        if let Some(unknown) = map.keys().find(|key| !known.contains(&key.as_str())) {
            return Err(Error::config(format!(
                "{} is not a known setting (known here: {})",
                fields.name(unknown),
                known.join(", ")
            )));
        }
        Ok(fields)
    }

    fn name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    fn opt_string(&self, key: &str) -> Result<Option<String>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(Error::config(format!("{} is empty", self.name(key))))
            }
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::config(format!(
                "{} must be a string",
                self.name(key)
            ))),
        }
    }

    fn string(&self, key: &str) -> Result<String, Error> {
        self.opt_string(key)?
            .ok_or_else(|| Error::config(format!("{} is missing", self.name(key))))
    }

    fn secret(&self, key: &str) -> Result<SecretValue, Error> {
        match self.get(key) {
            None => Err(Error::config(format!("{} is missing", self.name(key)))),
            Some(Value::String(s)) if s.is_empty() => {
                Err(Error::config(format!("{} is empty", self.name(key))))
            }
            Some(Value::String(s)) => Ok(SecretValue::parse(s)),
            // Never echo the value: it may be a secret of the wrong type.
            Some(_) => Err(Error::config(format!(
                "{} must be a string",
                self.name(key)
            ))),
        }
    }

    fn opt_u64(&self, key: &str) -> Result<Option<u64>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => value.as_u64().map(Some).ok_or_else(|| {
                Error::config(format!(
                    "{} must be a non-negative whole number",
                    self.name(key)
                ))
            }),
        }
    }

    fn positive(&self, key: &str) -> Result<Option<u64>, Error> {
        match self.opt_u64(key)? {
            Some(0) => Err(Error::config(format!(
                "{} must be at least 1",
                self.name(key)
            ))),
            other => Ok(other),
        }
    }

    fn opt_bool(&self, key: &str) -> Result<Option<bool>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Error::config(format!(
                "{} must be true or false",
                self.name(key)
            ))),
        }
    }

    /// A list of strings, or one space-separated string.
    fn scopes(&self, key: &str) -> Result<Vec<String>, Error> {
        let wrong = || {
            Error::config(format!(
                "{} must be a list of strings (or one space-separated string)",
                self.name(key)
            ))
        };
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(s.split_whitespace().map(str::to_owned).collect()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned).ok_or_else(wrong))
                .collect(),
            Some(_) => Err(wrong()),
        }
    }
}
