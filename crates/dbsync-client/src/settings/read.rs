//! Reading settings: parsing the JSON (file, text or value) with errors that name the field.
//! `${NAME}` references are kept as they are.

mod fields;

use std::path::Path;

use serde_json::Value;

use self::fields::Fields;
use super::model::{
    AuthSettings, ConnectionSettings, PaginationSettings, RateLimitSettings, RetrySettings,
    TlsSettings,
};
use super::reference::env_reference;
use crate::error::Error;

impl ConnectionSettings {
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
                let f = Fields::new(
                    limit,
                    "rate_limit",
                    &["requests_per_minute", "requests_per_hour"],
                )?;
                let per_minute = f
                    .positive("requests_per_minute")?
                    .ok_or_else(|| Error::config("rate_limit.requests_per_minute is missing"))?;
                let per_hour = f.positive("requests_per_hour")?;
                Some(RateLimitSettings {
                    requests_per_minute: u32::try_from(per_minute).unwrap_or(u32::MAX),
                    requests_per_hour: per_hour.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
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
        let tls = match top.get("tls") {
            Some(tls) => {
                let f = Fields::new(
                    tls,
                    "tls",
                    &["ca_file", "client_cert_file", "client_key_file"],
                )?;
                Some(TlsSettings {
                    ca_file: f.opt_string("ca_file")?,
                    client_cert_file: f.opt_string("client_cert_file")?,
                    client_key_file: f.opt_string("client_key_file")?,
                })
            }
            None => None,
        };
        let proxy = top.opt_string("proxy")?;
        if let Some(proxy) = proxy.as_deref().filter(|p| env_reference(p).is_none()) {
            // Not quoted: a proxy URL may carry a password.
            let url = url::Url::parse(proxy.trim())
                .map_err(|e| Error::config(format!("proxy is not a valid URL ({e})")))?;
            if !url.username().is_empty() || url.password().is_some() {
                return Err(Error::config(
                    "proxy must not hold credentials in the settings: put the URL in a \
                     variable and write a reference such as ${DBSYNC_PROXY}",
                ));
            }
        }
        Ok(Self {
            tls,
            proxy,
            no_proxy: top.opt_string("no_proxy")?,
            proxy_from_env: top.opt_bool("proxy_from_env")?.unwrap_or(true),
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
            max_response_bytes: top.positive("max_response_bytes")?,
            allowed_env: Vec::new(),
        })
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
    "max_response_bytes",
    "tls",
    "proxy",
    "no_proxy",
    "proxy_from_env",
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
