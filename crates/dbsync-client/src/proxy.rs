//! The connection's HTTP(S) proxy: one given in the builder or settings (which then replaces
//! the environment's), else the standard `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` /
//! `NO_PROXY` variables (unless turned off), each checked when the connection is built: a URL
//! that does not parse is an [`Error::Config`] naming its setting or variable, never a silent
//! direct connection.

use std::fmt;

use url::Url;

use crate::error::Error;

/// The setting of the proxy, as errors name it.
const PROXY_SETTING: &str = "proxy (ConnectionBuilder::proxy)";

/// The proxy variables in the order they are read (upper case first, as reqwest reads them).
const PROXY_VARIABLES: &[[&str; 2]] = &[
    ["HTTPS_PROXY", "https_proxy"],
    ["HTTP_PROXY", "http_proxy"],
    ["ALL_PROXY", "all_proxy"],
];

/// A proxy URL, which may carry credentials: never shown whole.
#[derive(Clone)]
pub(crate) struct ProxyUrl(String);

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Url::parse(&self.0) {
            Ok(url) => write!(f, "ProxyUrl({})", url.origin().ascii_serialization()),
            Err(_) => f.write_str("ProxyUrl(<not a URL>)"),
        }
    }
}

/// The proxy options a builder was given.
#[derive(Debug, Clone)]
pub(crate) struct ProxyOptions {
    /// The proxy for every request, replacing the environment's.
    pub(crate) url: Option<ProxyUrl>,
    /// Hosts reached directly with [`Self::url`] (`NO_PROXY` syntax).
    pub(crate) no_proxy: Option<String>,
    /// Whether the proxy variables are read when no proxy is given (default true).
    pub(crate) from_env: bool,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        Self {
            url: None,
            no_proxy: None,
            from_env: true,
        }
    }
}

impl ProxyOptions {
    /// Sets the proxy URL.
    pub(crate) fn set_url(&mut self, url: &str) {
        self.url = Some(ProxyUrl(url.trim().to_owned()));
    }

    /// Whether a proxy was given explicitly (it cannot apply to a client the caller built).
    pub(crate) fn is_set(&self) -> bool {
        self.url.is_some() || self.no_proxy.is_some()
    }

    /// Checks the options and applies them to `builder`; `env` reads the proxy variables.
    pub(crate) fn apply(
        &self,
        builder: reqwest::ClientBuilder,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<reqwest::ClientBuilder, Error> {
        if let Some(ProxyUrl(raw)) = &self.url {
            check_proxy_url(raw, PROXY_SETTING)?;
            let mut proxy = reqwest::Proxy::all(raw.as_str()).map_err(|_| {
                Error::config(format!("{PROXY_SETTING} could not be used as a proxy"))
            })?;
            if let Some(list) = &self.no_proxy {
                proxy = proxy.no_proxy(reqwest::NoProxy::from_string(list));
            }
            return Ok(builder.proxy(proxy));
        }
        if self.no_proxy.is_some() {
            return Err(Error::config(
                "no_proxy is set without a proxy: set proxy too (with the environment's \
                 proxy, use the NO_PROXY variable)",
            ));
        }
        if !self.from_env {
            return Ok(builder.no_proxy());
        }
        check_env(env)?;
        Ok(builder)
    }
}

/// Checks every proxy variable reqwest will read: one that is set but unusable is refused
/// (reqwest would silently connect directly).
fn check_env(env: &dyn Fn(&str) -> Option<String>) -> Result<(), Error> {
    for names in PROXY_VARIABLES {
        let Some((name, value)) = names
            .iter()
            .find_map(|name| env(name).map(|value| (*name, value)))
        else {
            continue;
        };
        if value.trim().is_empty() {
            continue;
        }
        // Like reqwest: a value without a scheme means http://.
        let value = if value.contains("://") {
            value
        } else {
            format!("http://{value}")
        };
        check_proxy_url(
            &value,
            &format!("the {name} variable (or set proxy_from_env to false)"),
        )?;
    }
    Ok(())
}

/// `raw` is an `http://` or `https://` URL with a host. Errors never quote it (it may carry a
/// password).
fn check_proxy_url(raw: &str, setting: &str) -> Result<(), Error> {
    let url = Url::parse(raw).map_err(|e| {
        Error::config(format!(
            "{setting} is not a valid URL ({e}); expected e.g. http://proxy.example.com:3128"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::config(format!(
            "{setting} must be an http:// or https:// URL with a host (got a `{}:` URL)",
            url.scheme()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn error(options: &ProxyOptions, env: &dyn Fn(&str) -> Option<String>) -> String {
        match options.apply(reqwest::Client::builder(), env) {
            Err(Error::Config(message)) => message,
            Err(other) => panic!("not a config error: {other}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn a_proxy_url_that_does_not_parse_names_the_setting_and_hides_it() {
        for bad in [
            "not a url",
            "http://",
            "ftp://proxy:21",
            "http://user:s3cret@[::1",
        ] {
            let mut options = ProxyOptions::default();
            options.set_url(bad);
            let message = error(&options, &no_env);
            assert!(message.starts_with("proxy"), "{bad}: {message}");
            assert!(!message.contains("s3cret"), "{message}");
        }
    }

    #[test]
    fn a_good_proxy_is_taken_and_debug_hides_its_password() {
        let mut options = ProxyOptions::default();
        options.set_url("http://user:s3cret@127.0.0.1:3128");
        options.no_proxy = Some("localhost".into());
        assert!(options.apply(reqwest::Client::builder(), &no_env).is_ok());
        assert!(!format!("{options:?}").contains("s3cret"));
    }

    #[test]
    fn an_unusable_proxy_variable_names_the_variable() {
        let env = |name: &str| (name == "HTTPS_PROXY").then(|| "http://[bad".to_owned());
        let message = error(&ProxyOptions::default(), &env);
        assert!(message.contains("HTTPS_PROXY"), "{message}");
        // Not read when the environment is turned off, or a proxy is given.
        let off = ProxyOptions {
            from_env: false,
            ..ProxyOptions::default()
        };
        assert!(off.apply(reqwest::Client::builder(), &env).is_ok());
        let mut given = ProxyOptions::default();
        given.set_url("http://127.0.0.1:3128");
        assert!(given.apply(reqwest::Client::builder(), &env).is_ok());
    }

    #[test]
    fn proxy_variables_without_a_scheme_are_http() {
        let env = |name: &str| (name == "http_proxy").then(|| "proxy.local:3128".to_owned());
        assert!(
            ProxyOptions::default()
                .apply(reqwest::Client::builder(), &env)
                .is_ok()
        );
    }

    #[test]
    fn no_proxy_alone_is_refused() {
        let options = ProxyOptions {
            no_proxy: Some("localhost".into()),
            ..ProxyOptions::default()
        };
        assert!(error(&options, &no_env).contains("no_proxy is set without a proxy"));
    }
}
