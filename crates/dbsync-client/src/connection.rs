//! A configured connection to one DBSync server: its [`Transport`] (the request path: HTTP
//! client, auth, retry policy, throttle, API log) plus what calls are built from (base URL, page
//! format, name, the resource `validate` reads), and the builder that makes one. Cheap to clone
//! (shared inside), so hand clones to tasks.
//!
//! [`Connection`]'s methods live with what they do:
//!
//! | methods | module |
//! |---|---|
//! | `builder`, `resource`, `records`, the accessors, `api_log`, `last_rate_limit` | `connection` (here) |
//! | `from_settings_json`, `from_settings_file` | `settings` (`settings/connect.rs`) |
//! | `from_env`, `from_env_map` | `settings` (`settings/env.rs`) |
//! | `validate` | `validate_connection` |
//! | `workflows` | `workflows` |
//! | `api_keys` | `api_keys` |
//! | `usage`, `logs` | `monitoring` |

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use dbsync_auth::{Auth, NoAuth, ensure_secure_transport};
use url::Url;

use crate::api_log::{ApiLogSink, ApiLogSinks, DEFAULT_API_LOG_CAPACITY, MemoryApiLog};
use crate::page::PageFormat;
use crate::proxy::ProxyOptions;
use crate::rate_limit::{RateLimitInfo, RateLimiter};
use crate::request::{Budgets, Transport, TransportParts};
use crate::resource::{Resource, validate_resource_name};
use crate::retry::RetryPolicy;
use crate::retry_quota::RetryQuota;
use crate::tls::TlsOptions;
use crate::wait_notice::{WaitNotice, WaitObservers};
use crate::{Error, Record};

/// The request timeout used unless configured (the whole call: connect, send, read the body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The connect timeout used unless configured.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle pooled connection is kept: below the 60 s after which many load balancers
/// drop idle connections, so the client never reuses a connection the far end has closed.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(50);
/// The largest response body read into memory unless configured (64 MiB; see
/// [`ConnectionBuilder::max_response_bytes`]).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// The resource [`Connection::validate`] lists unless configured.
pub const DEFAULT_VALIDATE_RESOURCE: &str = "records";

/// A connection to a DBSync server. Build one with [`Connection::builder`], from settings JSON
/// ([`Connection::from_settings_json`], [`Connection::from_settings_file`]) or from the
/// `DBSYNC_*` environment variables ([`Connection::from_env`]).
///
/// ```
/// use dbsync_client::{Connection, RetryPolicy};
/// use std::time::Duration;
///
/// let connection = Connection::builder()
///     .base_url("https://api.dbsync.com")
///     .auth(dbsync_auth::BearerAuth::new("my-api-key"))
///     .timeout(Duration::from_secs(20))
///     .retry(RetryPolicy::default().max_retries(5))
///     .build()?;
/// let contacts = connection.resource::<serde_json::Value>("contacts")?;
/// # let _ = contacts;
/// # Ok::<(), dbsync_client::Error>(())
/// ```
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

/// What a connection shares between its clones: the request path and what calls are built
/// from.
struct Inner {
    transport: Transport,
    base_url: Url,
    name: Option<String>,
    page_format: PageFormat,
    validate_resource: String,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let transport = &inner.transport;
        f.debug_struct("Connection")
            .field("name", &inner.name)
            .field("base_url", &inner.base_url.as_str())
            .field("auth", transport.auth())
            .field("timeout", &transport.timeout())
            .field("max_response_bytes", &transport.max_response_bytes())
            .field("retry", transport.retry_policy())
            .field("retry_quota", &transport.retry_quota())
            .field("page_format", &inner.page_format)
            .field("throttle", transport.throttle())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Starts building a connection.
    pub fn builder() -> ConnectionBuilder {
        ConnectionBuilder::default()
    }

    /// A typed view of resource `name` (`[a-z][a-z0-9_-]{0,63}`), with records decoded as `T`.
    pub fn resource<T>(&self, name: &str) -> Result<Resource<T>, Error> {
        validate_resource_name(name)?;
        Ok(Resource::new(self.clone(), name.to_owned()))
    }

    /// The default `records` resource, with records as JSON values.
    pub fn records(&self) -> Resource<Record> {
        Resource::new(self.clone(), "records".to_owned())
    }

    /// The base URL (without the `/v1` prefix).
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The connection's name from its settings, if any.
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// The auth strategy's scheme name (`none`, `basic`, `bearer`, `oauth2`...).
    pub fn auth_scheme(&self) -> &'static str {
        self.inner.transport.auth().scheme()
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        self.inner.transport.retry_policy()
    }

    /// The client's own API log: the default in-memory ring of the last attempts (see
    /// [`crate::api_log`]); `None` when it was turned off with
    /// [`ConnectionBuilder::api_log_capacity`]`(0)`.
    pub fn api_log(&self) -> Option<&MemoryApiLog> {
        self.inner.transport.api_log().ring()
    }

    /// The `X-RateLimit-*` headers of the last response that carried any (updated on every
    /// attempt, errors included); `None` until one did.
    pub fn last_rate_limit(&self) -> Option<RateLimitInfo> {
        self.inner.transport.last_rate_limit()
    }

    /// The request path every call of this connection goes through.
    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// How list pages are shaped unless a resource says otherwise.
    pub(crate) fn page_format(&self) -> &PageFormat {
        &self.inner.page_format
    }

    /// The resource [`Connection::validate`] lists.
    pub(crate) fn validate_resource(&self) -> &str {
        &self.inner.validate_resource
    }

    /// The URL of `/v1/{segments...}`, each segment percent-encoded as one path segment.
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Result<Url, Error> {
        let mut url = self.inner.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| Error::config("the base URL cannot have a path"))?
            .pop_if_empty()
            .push("v1")
            .extend(segments);
        Ok(url)
    }
}

/// Makes an auth strategy from the connection's HTTP client and its final
/// `allow_insecure_http`, once [`ConnectionBuilder::build`] has made that client, so that the
/// strategy's own requests (OAuth 2.0 token calls) share the connection's connection pool and
/// settings.
pub(crate) type AuthFromClient =
    Box<dyn FnOnce(&reqwest::Client, bool) -> Result<Arc<dyn Auth>, Error> + Send + Sync>;

/// The auth strategy a builder was given.
enum AuthChoice {
    Ready(Arc<dyn Auth>),
    FromClient(AuthFromClient),
}

impl fmt::Debug for AuthChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ready(auth) => auth.fmt(f),
            Self::FromClient(_) => f.write_str("<made with the connection's HTTP client>"),
        }
    }
}

/// Builds a [`Connection`]; see [`Connection::builder`]. Every setting has a default but the
/// base URL; [`ConnectionBuilder::build`] checks them all, and a mistake is an error, never a
/// panic.
///
/// ```
/// use dbsync_auth::BearerAuth;
/// use dbsync_client::Connection;
/// use std::time::Duration;
///
/// let connection = Connection::builder()
///     .base_url("https://api.dbsync.com")
///     .name("crm-prod")
///     .auth(BearerAuth::new("my-api-key"))
///     .timeout(Duration::from_secs(20)) // one attempt, connect to last byte
///     .requests_per_minute(600) // a client-side budget shared by every clone
///     .on_wait(|notice| eprintln!("{notice}")) // why a call is waiting
///     .build()?;
/// assert_eq!(connection.name(), Some("crm-prod"));
///
/// // Credentials over plain http:// to a host other than loopback are refused.
/// let refused = Connection::builder()
///     .base_url("http://api.example.com")
///     .auth(BearerAuth::new("my-api-key"))
///     .build();
/// assert!(refused.is_err());
/// # Ok::<(), dbsync_client::Error>(())
/// ```
#[derive(Debug)]
pub struct ConnectionBuilder {
    base_url: Option<String>,
    name: Option<String>,
    auth: Option<AuthChoice>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    max_response_bytes: usize,
    retry: RetryPolicy,
    retry_quota: Option<RetryQuota>,
    wait_observers: WaitObservers,
    allow_insecure_http: bool,
    user_agent: String,
    http_client: Option<reqwest::Client>,
    page_format: PageFormat,
    rate_limiter: Option<Arc<dyn RateLimiter>>,
    validate_resource: String,
    api_log_capacity: usize,
    api_log_sinks: Vec<Arc<dyn ApiLogSink>>,
    budgets: Budgets,
    tls: TlsOptions,
    proxy: ProxyOptions,
}

impl Default for ConnectionBuilder {
    fn default() -> Self {
        Self {
            base_url: None,
            name: None,
            auth: None,
            timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            pool_idle_timeout: Some(DEFAULT_POOL_IDLE_TIMEOUT),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            retry: RetryPolicy::default(),
            retry_quota: Some(RetryQuota::default()),
            wait_observers: WaitObservers::default(),
            allow_insecure_http: false,
            user_agent: concat!("dbsync-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            http_client: None,
            page_format: PageFormat::default(),
            rate_limiter: None,
            validate_resource: DEFAULT_VALIDATE_RESOURCE.to_owned(),
            api_log_capacity: DEFAULT_API_LOG_CAPACITY,
            api_log_sinks: Vec::new(),
            budgets: Budgets::default(),
            tls: TlsOptions::default(),
            proxy: ProxyOptions::default(),
        }
    }
}

impl ConnectionBuilder {
    /// The server's base URL, such as `https://api.dbsync.com` (required). Resources are under
    /// `{base}/v1`; a base URL that already ends in `/v1` is accepted as the same thing.
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        self.base_url = Some(url.as_ref().to_owned());
        self
    }

    /// A name for the connection (shown in reports; from the settings' `name`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The auth strategy (default [`NoAuth`]). Any [`Auth`] implementation plugs in.
    pub fn auth(mut self, auth: impl Auth + 'static) -> Self {
        self.auth = Some(AuthChoice::Ready(Arc::new(auth)));
        self
    }

    /// The auth strategy, already shared (for example to keep a handle for rotation).
    pub fn auth_shared(mut self, auth: Arc<dyn Auth>) -> Self {
        self.auth = Some(AuthChoice::Ready(auth));
        self
    }

    /// An auth strategy made by `make` from the connection's HTTP client when the connection
    /// is built (after every other setting of this builder is known).
    pub(crate) fn auth_from_client(mut self, make: AuthFromClient) -> Self {
        self.auth = Some(AuthChoice::FromClient(make));
        self
    }

    /// The timeout of one attempt, from connecting to the end of the body (default 30 s;
    /// `None` for no timeout).
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// The connect timeout (default 10 s; `None` for none). Ignored with [`Self::http_client`].
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// How long an idle pooled connection is kept (default 50 s, below the 60 s many load
    /// balancers use). Ignored with [`Self::http_client`].
    pub fn pool_idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.pool_idle_timeout = timeout.into();
        self
    }

    /// The largest response body read into memory, success or error answer alike (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`], 64 MiB). Bodies are read chunk by chunk and a body over
    /// the limit (said by its `Content-Length`, or counted as it arrives) is given up there:
    /// the call fails with [`crate::Error::Transport`] of kind
    /// [`crate::TransportKind::ResponseTooLarge`] and is not retried. Streamed downloads
    /// (the [`crate::ServerLogs`] exports) are not held in memory and not limited by it.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The retry quota shared by every call of the connection and its clones (default
    /// [`RetryQuota::default`]: 500 tokens, 5 per retry after a `5xx`, 10 after a timeout or
    /// a dropped connection, 2 back per first-attempt success); `None` turns it off, leaving
    /// each call bounded by its deadline and [`RetryPolicy::max_retries`] only. When it cannot
    /// pay for a retry, a call fails with its last error, saying so.
    pub fn retry_quota(mut self, quota: impl Into<Option<RetryQuota>>) -> Self {
        self.retry_quota = quota.into();
        self
    }

    /// Calls `observer` before every wait of every call (a `429`'s `Retry-After`, a rate-limit
    /// pause, the client's budget, a backoff), with its length and reason; for example to tell
    /// a user why nothing happens (the CLI prints waits of 2 s or more). Keep it quick: it runs
    /// on the calling task.
    pub fn on_wait(mut self, observer: impl Fn(&WaitNotice) + Send + Sync + 'static) -> Self {
        self.wait_observers = WaitObservers::new(Some(Arc::new(observer)));
        self
    }

    /// Allows sending credentials over plain `http://` to a host other than loopback (default
    /// off). Only for trusted networks.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The `User-Agent` header (default `dbsync-rs/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// A reqwest client to use (to share its connection pool). Its own settings (pool, connect
    /// timeout, redirects, TLS) then apply; the request timeout is still set per request.
    /// Build it with `redirect(reqwest::redirect::Policy::none())` to keep this crate's rule
    /// that credentials never follow a redirect (reqwest also strips `Authorization` when a
    /// redirect leaves the host). A connection built from settings with `oauth2` auth makes
    /// its token requests with this client too (one pool for tokens and API calls).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Trusts the CA certificates of the PEM file at `path` besides the platform's roots (the
    /// settings' `tls.ca_file`), for a server whose certificate a private CA issued. The file is
    /// read when the connection is built: a missing file, one over
    /// [`crate::MAX_PEM_FILE_BYTES`] or one without a PEM certificate is an
    /// [`Error::Config`] naming the setting. Not with [`Self::http_client`].
    pub fn ca_certificate_pem_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.tls.ca_file = Some(path.into());
        self
    }

    /// Presents a client certificate for mutual TLS: `cert` is a PEM file with the certificate
    /// (and its chain), `key` one with its private key (PKCS#8, or RSA/EC under rustls; the
    /// settings' `tls.client_cert_file` and `tls.client_key_file`). Read and checked when the
    /// connection is built. Not with [`Self::http_client`].
    pub fn client_identity_pem_files(
        mut self,
        cert: impl Into<std::path::PathBuf>,
        key: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.tls.client_cert_file = Some(cert.into());
        self.tls.client_key_file = Some(key.into());
        self
    }

    /// The settings' `tls.client_cert_file` and `tls.client_key_file`, which may come one
    /// without the other (refused when building).
    pub(crate) fn client_identity_files(
        mut self,
        cert: Option<std::path::PathBuf>,
        key: Option<std::path::PathBuf>,
    ) -> Self {
        self.tls.client_cert_file = cert;
        self.tls.client_key_file = key;
        self
    }

    /// Sends every request through the HTTP(S) proxy at `url` (`http://` or `https://`, with
    /// credentials in the URL if it needs them; the settings' `proxy`). It replaces the proxy of
    /// the `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY` variables. A URL that does not
    /// parse is an [`Error::Config`] when building. Not with [`Self::http_client`].
    pub fn proxy(mut self, url: impl AsRef<str>) -> Self {
        self.proxy.set_url(url.as_ref());
        self
    }

    /// Hosts reached without the [`Self::proxy`], in `NO_PROXY` syntax (comma-separated host
    /// names, which match their subdomains too, IP addresses or CIDR ranges, or `*`; the
    /// settings' `no_proxy`).
    pub fn no_proxy(mut self, hosts: impl Into<String>) -> Self {
        self.proxy.no_proxy = Some(hosts.into());
        self
    }

    /// Whether the proxy variables (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, upper
    /// or lower case) apply when no [`Self::proxy`] is given (default true; the settings'
    /// `proxy_from_env`). A set variable that is not a usable proxy URL is an
    /// [`Error::Config`] naming it when building. `false` connects directly.
    pub fn proxy_from_env(mut self, read: bool) -> Self {
        self.proxy.from_env = read;
        self
    }

    /// How list pages are shaped (default: records under `data`, with `meta`). Each resource
    /// can override it.
    pub fn page_format(mut self, format: PageFormat) -> Self {
        self.page_format = format;
        self
    }

    /// A client-side rate limiter, asked before every attempt (default none).
    pub fn rate_limiter(mut self, limiter: impl RateLimiter + 'static) -> Self {
        self.rate_limiter = Some(Arc::new(limiter));
        self
    }

    /// A client-side budget of requests per minute, shared by every clone of the connection
    /// and every task using it (default none; `0` also means none). Each attempt, retries
    /// included, takes one request from it, waiting when it is spent. The budget allows a burst
    /// of the whole minute's requests; the server's `X-RateLimit-*` headers pace the rest.
    /// From the settings' `rate_limit.requests_per_minute`.
    pub fn requests_per_minute(mut self, requests: u32) -> Self {
        self.budgets.per_minute = std::num::NonZeroU32::new(requests);
        self
    }

    /// A client-side budget of requests per hour beside the per-minute one, shared the same way
    /// (default none; `0` also means none): a request is sent when both budgets allow it. It
    /// allows a burst of the whole hour's requests, then one every `3600 s / requests`. Waits
    /// for it count as rate-limit waits ([`RetryPolicy::max_rate_limit_wait`], the call's
    /// deadline).
    pub fn requests_per_hour(mut self, requests: u32) -> Self {
        self.budgets.per_hour = std::num::NonZeroU32::new(requests);
        self
    }

    /// The resource [`Connection::validate`] reads (default `records`).
    pub fn validate_resource(mut self, resource: impl Into<String>) -> Self {
        self.validate_resource = resource.into();
        self
    }

    /// How many entries the default in-memory API log keeps (default
    /// [`DEFAULT_API_LOG_CAPACITY`]); `0` turns it off. Read it with [`Connection::api_log`].
    pub fn api_log_capacity(mut self, entries: usize) -> Self {
        self.api_log_capacity = entries;
        self
    }

    /// Adds an API log sink (in addition to the default ring), e.g. a
    /// [`crate::JsonLinesApiLog`]. Keep your own `Arc` to read it.
    pub fn api_log_sink(mut self, sink: Arc<dyn ApiLogSink>) -> Self {
        self.api_log_sinks.push(sink);
        self
    }

    /// Checks the settings and builds the connection. Fails on a missing or malformed base URL,
    /// and when credentials would go over plain `http://` to a non-loopback host (unless
    /// allowed, or the strategy sends none).
    pub fn build(self) -> Result<Connection, Error> {
        let raw = self.base_url.ok_or_else(|| {
            Error::config(
                "base_url is missing: set it to the server's URL, e.g. https://api.dbsync.com",
            )
        })?;
        let base_url = parse_base_url(&raw)?;
        validate_resource_name(&self.validate_resource)?;
        let http = match self.http_client {
            Some(_) if self.tls.is_set() || self.proxy.is_set() => {
                return Err(Error::config(
                    "the tls and proxy settings cannot apply to a client given with \
                     ConnectionBuilder::http_client: configure that client with them instead",
                ));
            }
            Some(client) => client,
            None => {
                let mut builder = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .pool_idle_timeout(self.pool_idle_timeout);
                if let Some(timeout) = self.connect_timeout {
                    builder = builder.connect_timeout(timeout);
                }
                let builder = self.tls.apply(builder)?;
                let builder = self
                    .proxy
                    .apply(builder, &|name| std::env::var(name).ok())?;
                builder
                    .build()
                    .map_err(|e| Error::config(format!("could not build the HTTP client: {e}")))?
            }
        };
        let auth = match self.auth {
            None => Arc::new(NoAuth),
            Some(AuthChoice::Ready(auth)) => auth,
            Some(AuthChoice::FromClient(make)) => make(&http, self.allow_insecure_http)?,
        };
        if auth.sends_credentials() {
            ensure_secure_transport(&base_url, self.allow_insecure_http)?;
        }
        let transport = Transport::new(TransportParts {
            http,
            auth,
            base_url: base_url.clone(),
            timeout: self.timeout,
            max_response_bytes: self.max_response_bytes,
            retry: self.retry,
            user_agent: self.user_agent,
            rate_limiter: self.rate_limiter,
            budgets: self.budgets,
            api_log: ApiLogSinks::new(self.api_log_capacity, self.api_log_sinks),
            retry_quota: self.retry_quota,
            wait_observers: self.wait_observers,
        });
        Ok(Connection {
            inner: Arc::new(Inner {
                transport,
                base_url,
                name: self.name,
                page_format: self.page_format,
                validate_resource: self.validate_resource,
            }),
        })
    }
}

/// Parses and normalises a base URL: http(s) with a host, no credentials, query or fragment,
/// and no trailing `/v1` (it is added per request).
///
/// Errors never quote the URL, which may carry a password.
fn parse_base_url(raw: &str) -> Result<Url, Error> {
    let mut url = Url::parse(raw.trim()).map_err(|e| {
        Error::config(format!(
            "base_url is not a valid URL ({e}); expected e.g. https://api.dbsync.com"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::config(format!(
            "base_url must be an http:// or https:// URL with a host (got a `{}:` URL)",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            "base_url must not contain credentials: configure them as the connection's auth",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "base_url `{}` must not have a query or fragment",
            url.origin().ascii_serialization()
        )));
    }
    let segments: Vec<String> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let keep = match segments.last() {
        Some(last) if last == "v1" => &segments[..segments.len() - 1],
        _ => &segments[..],
    };
    // The segments are already percent-encoded: join them as they are.
    url.set_path(&keep.join("/"));
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbsync_auth::{BasicAuth, BearerAuth};

    #[test]
    fn base_urls_are_normalised() {
        for (raw, want) in [
            ("https://api.dbsync.com", "https://api.dbsync.com/"),
            ("https://api.dbsync.com/", "https://api.dbsync.com/"),
            ("https://api.dbsync.com/v1", "https://api.dbsync.com/"),
            ("https://h/prefix/v1/", "https://h/prefix"),
        ] {
            assert_eq!(parse_base_url(raw).unwrap().as_str(), want, "{raw}");
        }
        for bad in [
            "api.dbsync.com",
            "ftp://h",
            "https://u:p@h",
            "https://h/?x=1",
            "",
        ] {
            assert!(
                matches!(parse_base_url(bad), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn endpoints_keep_ids_in_one_segment() {
        let c = Connection::builder()
            .base_url("https://h/prefix")
            .build()
            .unwrap();
        let url = c.endpoint(&["records", "../admin"]).unwrap();
        assert_eq!(url.as_str(), "https://h/prefix/v1/records/..%2Fadmin");
    }

    #[test]
    fn credentials_over_plain_http_are_refused_at_build_time() {
        let err = Connection::builder()
            .base_url("http://api.example.com")
            .auth(BearerAuth::new("t"))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("allow_insecure_http"), "{err}");
        assert!(
            Connection::builder()
                .base_url("http://api.example.com")
                .auth(BearerAuth::new("t"))
                .allow_insecure_http(true)
                .build()
                .is_ok()
        );
        assert!(
            Connection::builder()
                .base_url("http://api.example.com")
                .build()
                .is_ok(),
            "NoAuth sends no credentials"
        );
        assert!(
            Connection::builder()
                .base_url("http://127.0.0.1:9")
                .auth(BasicAuth::new("u", "p").unwrap())
                .build()
                .is_ok()
        );
    }

    #[test]
    fn missing_base_url_names_the_setting() {
        let err = Connection::builder().build().unwrap_err();
        assert!(err.to_string().contains("base_url is missing"), "{err}");
    }

    #[test]
    fn debug_shows_no_secret() {
        let c = Connection::builder()
            .base_url("https://h")
            .auth(BasicAuth::new("demo", "p@55w0rd").unwrap())
            .build()
            .unwrap();
        let text = format!("{c:?}");
        assert!(
            !text.contains("p@55w0rd") && !text.contains("ZGVtbzpwQDU1dzByZA"),
            "{text}"
        );
        let bearer = Connection::builder()
            .base_url("https://h")
            .auth(BearerAuth::new("tok-123-secret"))
            .build()
            .unwrap();
        assert!(!format!("{bearer:?}").contains("tok-123-secret"));
    }
}
