//! The settings model: the types of the settings JSON (`ConnectionSettings`, `AuthSettings`,
//! `SecretValue`, ...) and the runtime values they describe.

use std::fmt;
use std::time::Duration;

use dbsync_auth::Secret;

use super::reference::{EnvLookup, env_reference, read_variable};
use crate::error::Error;
use crate::page::PageFormat;
use crate::retry::RetryPolicy;

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
/// `user_agent`, `pagination.{records_key,bare_array}`, `validate_resource`,
/// `max_response_bytes`, `tls.{ca_file,client_cert_file,client_key_file}`, `proxy`, `no_proxy`
/// and `proxy_from_env`. Unknown fields
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
    /// The largest response body read into memory, in bytes (default
    /// [`crate::DEFAULT_MAX_RESPONSE_BYTES`], 64 MiB; at least 1;
    /// [`crate::ConnectionBuilder::max_response_bytes`]).
    pub max_response_bytes: Option<u64>,
    /// TLS files: an extra CA, a client certificate ([`TlsSettings`]).
    pub tls: Option<TlsSettings>,
    /// The HTTP(S) proxy for every request (or a `${NAME}` reference; a literal URL must not
    /// hold credentials), replacing the `HTTPS_PROXY`/`HTTP_PROXY` variables
    /// ([`crate::ConnectionBuilder::proxy`]).
    pub proxy: Option<String>,
    /// Hosts reached without `proxy`, in `NO_PROXY` syntax ([`crate::ConnectionBuilder::no_proxy`]).
    pub no_proxy: Option<String>,
    /// Whether the proxy variables apply when `proxy` is not set (default true;
    /// [`crate::ConnectionBuilder::proxy_from_env`]).
    pub proxy_from_env: bool,
    /// Environment variables besides `DBSYNC_*` that `${NAME}` references may read: the
    /// caller's choice ([`ConnectionSettings::allow_env`]), never read from a settings file.
    pub(super) allowed_env: Vec<String>,
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
    ///
    /// Only a reference to a `DBSYNC_*` variable is read; any other name is an
    /// [`Error::Config`] naming the variable (settings built with
    /// [`ConnectionSettings::allow_env`] read the names allowed there when they connect).
    pub fn resolve(&self, field: &str, env: EnvLookup<'_>) -> Result<Secret, Error> {
        self.resolve_allowing(field, env, &[])
    }

    /// [`SecretValue::resolve`], also reading the variables named in `allowed`.
    pub(super) fn resolve_allowing(
        &self,
        field: &str,
        env: EnvLookup<'_>,
        allowed: &[String],
    ) -> Result<Secret, Error> {
        let secret = match self {
            Self::EnvRef(name) => Secret::new(read_variable(field, name, env, allowed)?),
            Self::Literal(secret) => secret.clone(),
        };
        if secret.is_empty() {
            return Err(Error::config(format!("{field} is empty")));
        }
        Ok(secret)
    }
}

/// The `tls` object: paths of PEM files (or `${NAME}` references), read when the connection is
/// built; relative paths are from the working directory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TlsSettings {
    /// CA certificates trusted besides the platform's roots
    /// ([`crate::ConnectionBuilder::ca_certificate_pem_file`]).
    pub ca_file: Option<String>,
    /// The client certificate for mutual TLS (needs `client_key_file`).
    pub client_cert_file: Option<String>,
    /// The client certificate's private key (needs `client_cert_file`).
    pub client_key_file: Option<String>,
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
    /// The overall deadline of one call, retries and waits included, in seconds (default 120;
    /// `0` for no deadline). It also bounds the call's rate-limit waits.
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
            policy = policy.call_deadline((secs > 0).then(|| Duration::from_secs(secs)));
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
    /// Requests per hour the client allows itself besides, if any
    /// ([`crate::ConnectionBuilder::requests_per_hour`]).
    pub requests_per_hour: Option<u32>,
}

impl RateLimitSettings {
    /// A limit of `requests_per_minute` (and no hourly limit).
    pub fn new(requests_per_minute: u32) -> Self {
        Self {
            requests_per_minute,
            requests_per_hour: None,
        }
    }

    /// The same, also limited to `requests_per_hour`.
    pub fn per_hour(mut self, requests_per_hour: u32) -> Self {
        self.requests_per_hour = Some(requests_per_hour);
        self
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
            max_response_bytes: None,
            tls: None,
            proxy: None,
            no_proxy: None,
            proxy_from_env: true,
            allowed_env: Vec::new(),
        }
    }

    /// Sets the auth settings.
    pub fn with_auth(mut self, auth: AuthSettings) -> Self {
        self.auth = auth;
        self
    }

    /// Lets `${NAME}` references read these environment variables too, besides the `DBSYNC_*`
    /// ones they may always read (names are matched exactly, case included; calls add up).
    ///
    /// By default a reference to any other variable is refused when connecting, with an
    /// [`Error::Config`] naming the variable, because settings also choose `api_url`: a
    /// settings file naming `${AWS_SECRET_ACCESS_KEY}` would otherwise send that secret to
    /// the server of the file's author. Allow only names whose value the settings' server may
    /// see.
    ///
    /// ```
    /// use dbsync_client::ConnectionSettings;
    /// let json = r#"{"api_url":"https://api.example.com",
    ///                "auth":{"type":"bearer","token":"${CRM_TOKEN}"}}"#;
    /// let env = |name: &str| (name == "CRM_TOKEN").then(|| "t0ken".to_owned());
    /// let settings = ConnectionSettings::from_json(json)?;
    /// let refused = settings.connect_with_env(&env).unwrap_err();
    /// assert!(refused.to_string().contains("CRM_TOKEN"));
    /// assert!(settings.allow_env(["CRM_TOKEN"]).connect_with_env(&env).is_ok());
    /// # Ok::<(), dbsync_client::Error>(())
    /// ```
    pub fn allow_env<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_env.extend(names.into_iter().map(Into::into));
        self
    }

    /// The variables besides `DBSYNC_*` that references may read ([`ConnectionSettings::allow_env`]).
    pub fn allowed_env(&self) -> &[String] {
        &self.allowed_env
    }
}
