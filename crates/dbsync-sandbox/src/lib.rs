//! A local server that speaks the whole DBSync Open API (see the project's contract), for
//! examples, end-to-end tests and connector development.
//!
//! Features: `cli` adds the command-line flags (`BehaviourArgs`, `ServeArgs`, clap) and
//! the `dbsync-sandbox` binary; without it the library has no clap type. Responses are
//! gzip-compressed when the request asks (`Accept-Encoding: gzip`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), dbsync_sandbox::SandboxError> {
//! use dbsync_sandbox::{Sandbox, SandboxAuth};
//! let sandbox = Sandbox::builder()
//!     .auth(SandboxAuth::Bearer { token: "demo".into() })
//!     .seed_records(1000)
//!     .start()
//!     .await?;
//! println!("listening on {}", sandbox.base_url());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

/// API keys: create, list, regenerate and revoke; live keys are Bearer tokens.
mod api_keys;
/// Authentication: the sandbox's mode, its middleware and pluggable token verifiers.
mod auth;
/// A whole-body deadline for request bodies.
mod body_deadline;
/// A map whose entries expire, capped in entries and bytes, swept a few entries at a time.
mod bounded;
/// Command-line flags for a sandbox's behaviour, shared by both binaries (feature `cli`).
#[cfg(feature = "cli")]
mod cli_args;
/// The built-in demo credentials the binaries fall back to (never for use beyond loopback).
pub mod demo;
/// The one error type of the handlers, written as the contract's error body.
mod error;
/// Fault injection, deterministic given a seed.
mod faults;
/// Starting rows: fixtures (given or from JSON Lines files), generated rows, schema files.
mod fixtures;
/// `Idempotency-Key` on `POST`: a repeat replays the first response.
mod idempotency;
/// Requests in progress on a connection, and its idle watchdog.
mod idle;
/// Monitoring endpoints over the request log and the rate limiter.
mod monitoring;
/// The OAuth 2.0 authorization server: token and authorize endpoints (PKCE).
mod oauth;
/// An optional observer of every response (for tests that check the wire against the document).
mod observe;
/// `GET /openapi.json`: the OpenAPI description of the contract.
mod openapi;
/// Wires OAuth, API keys, workflows, monitoring and OpenAPI into the core server.
mod ops;
/// Small helpers: random secrets, hashing, timestamps, paging and bodies.
mod ops_util;
/// Request budgets per minute and per hour, with `X-RateLimit-*` headers.
mod rate_limit;
/// Timers on the real clock for the connection timeouts, immune to a paused tokio clock.
mod real_clock;
/// Every served request, kept in a bounded ring.
mod request_log;
/// The generic resource calls: list, get, create, update, delete, batch, schema.
mod resources;
/// A tiny deterministic generator for seed data and fault decisions.
mod rng;
/// The whole router and its middleware stack.
mod routes;
/// The contract's scopes, the scope each route needs, and the `403 insufficient_scope`.
mod scopes;
/// Deterministic, realistic seed data for `records`, and its schema.
mod seed;
/// Serving connections: timeouts, the connection cap, graceful shutdown.
mod serve;
/// The state every handler and middleware shares.
mod state;
/// The in-memory record store, one sorted vector per resource.
mod store;
/// The caps of the stores ([`StoreLimits`]) and what they hold ([`StoreUsage`]).
mod store_limits;
/// Timestamps: unix microseconds inside, RFC 3339 UTC on the wire.
mod time_fmt;
/// HTTPS: a CA and a certificate made at start, ALPN `h2`/`http/1.1`, optional client certificates.
mod tls;
/// Workflows and their runs, timed on tokio's clock.
mod workflows;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use dbsync_validate::Schema;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use api_keys::DEFAULT_MAX_API_KEYS;
pub use auth::{SandboxAuth, TokenRejection, TokenVerifier, secrets_equal};
#[cfg(feature = "cli")]
pub use cli_args::{BehaviourArgs, ResourceArgs, ServeArgs};
use dbsync_contract::{RESERVED_NAMES, is_valid_resource_name};
pub use error::{ErrorBody, ErrorDetail, ErrorObject};
pub use faults::{Fault, Faults};
pub use fixtures::MAX_SCHEMA_FILE_BYTES;
pub use observe::{MAX_OBSERVED_BODY_BYTES, ObservedResponse};
pub use rate_limit::{RateLimitSnapshot, RateWindow};
pub use request_log::{DEFAULT_LOG_CAPACITY, LogEntry, MAX_LOGGED_PATH_BYTES};
pub use scopes::{Scope, Scopes};
pub use seed::{records_schema, records_schema_json};
pub use serve::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
};
pub use store_limits::{StoreCount, StoreLimits, StoreUsage};
pub use tls::{ClientIdentityPem, TLS_NAMES};

use state::{AppState, SandboxState};
use store::{Store, write};

/// The longest token lifetime or workflow duration the sandbox uses (100 years): longer ones
/// are shortened to this, so that no clock arithmetic in a request can overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The most records [`SandboxBuilder::seed_records`] accepts (about 40 bytes of memory each).
pub const MAX_SEED_RECORDS: u64 = 100_000_000;

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The address could not be bound.
    #[error("could not bind the sandbox to {addr}: {source}; choose another port or use port 0")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A schema given to the builder is not in the contract's shape.
    #[error("the schema of resource {resource:?} is invalid: {message}")]
    InvalidSchema {
        /// The resource.
        resource: String,
        /// What is wrong.
        message: String,
    },
    /// More seed records were asked for than the sandbox can hold.
    #[error("cannot seed {requested} records: at most {max} are supported")]
    TooManySeedRecords {
        /// The number asked for.
        requested: u64,
        /// The largest supported number.
        max: u64,
    },
    /// A resource name does not match `[a-z][a-z0-9_-]{{0,63}}` or is reserved.
    #[error("{0:?} is not a valid resource name: use [a-z][a-z0-9_-]{{0,63}}, not a reserved name")]
    InvalidResourceName(String),
    /// A schema file could not be read or is not a schema in the contract's shape.
    #[error("the schema file {path:?} for resource {resource:?} is unusable: {message}")]
    SchemaFile {
        /// The resource.
        resource: String,
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A starting row (fixture or generated) was refused, as a create of it would be.
    #[error("resource {resource:?}, {origin}: {message}")]
    Fixture {
        /// The resource.
        resource: String,
        /// Which row: `FILE line N`, `row N` or `generated row N`.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A fixtures file could not be read, or a line of it is not JSON or is past a limit.
    #[error("fixtures file {path:?}, line {line}: {message}")]
    FixtureFile {
        /// The file.
        path: std::path::PathBuf,
        /// The line (1-based; 0 when the file could not be opened).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The certificates or the TLS config for HTTPS could not be made.
    #[error("could not set up the sandbox's TLS: {0}")]
    Tls(String),
    /// A connection limit (timeout or connection cap) was zero.
    #[error("the sandbox's {name} must be greater than zero")]
    InvalidConnectionLimit {
        /// The builder option.
        name: &'static str,
    },
}

fn check_resource_name(resource: &str) -> Result<(), SandboxError> {
    if !is_valid_resource_name(resource) || RESERVED_NAMES.contains(&resource) {
        return Err(SandboxError::InvalidResourceName(resource.to_owned()));
    }
    Ok(())
}

/// Configures and starts a [`Sandbox`].
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    auth: SandboxAuth,
    seed_records: u64,
    seed: u64,
    rate_limit: Option<u32>,
    rate_limit_per_hour: Option<u32>,
    rate_limit_window: Duration,
    max_api_keys: usize,
    faults: Faults,
    schemas: Vec<(String, Schema)>,
    schema_files: Vec<(String, std::path::PathBuf)>,
    initial: Vec<fixtures::Initial>,
    max_body_bytes: usize,
    bind: SocketAddr,
    token_ttl: Duration,
    log_capacity: usize,
    workflow_duration: Duration,
    store_limits: StoreLimits,
    redirect_uris: Vec<String>,
    serve_limits: serve::ServeLimits,
    tls: bool,
    client_certificates: bool,
    observer: Option<observe::ResponseObserver>,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            auth: SandboxAuth::None,
            seed_records: 0,
            seed: seed::DEFAULT_SEED,
            rate_limit: None,
            rate_limit_per_hour: None,
            rate_limit_window: Duration::from_secs(60),
            max_api_keys: DEFAULT_MAX_API_KEYS,
            faults: Faults::default(),
            schemas: Vec::new(),
            schema_files: Vec::new(),
            initial: Vec::new(),
            max_body_bytes: dbsync_contract::DEFAULT_MAX_BODY_BYTES,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            token_ttl: Duration::from_secs(3600),
            log_capacity: DEFAULT_LOG_CAPACITY,
            workflow_duration: workflows::DEFAULT_WORKFLOW_DURATION,
            store_limits: StoreLimits::default(),
            redirect_uris: Vec::new(),
            serve_limits: serve::ServeLimits::default(),
            tls: false,
            client_certificates: false,
            observer: None,
        }
    }
}

impl SandboxBuilder {
    /// The authentication mode (default [`SandboxAuth::None`]).
    pub fn auth(mut self, auth: SandboxAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Seeds `records` with `count` deterministic realistic records (ids 1..=count).
    pub fn seed_records(mut self, count: u64) -> Self {
        self.seed_records = count;
        self
    }

    /// The seed of the seeded data (default: a fixed constant).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// A budget of requests per minute (default: unlimited, no `X-RateLimit-*` headers).
    pub fn rate_limit(mut self, per_minute: u32) -> Self {
        self.rate_limit = Some(per_minute);
        self
    }

    /// A budget of requests per hour beside the per-minute one (default: none). The
    /// `X-RateLimit-*` headers describe the window that runs out first; a request is refused
    /// (`429`) when either window is used up.
    pub fn rate_limit_per_hour(mut self, per_hour: u32) -> Self {
        self.rate_limit_per_hour = Some(per_hour);
        self
    }

    /// The length of the per-minute window of [`SandboxBuilder::rate_limit`] (default 60 s; at
    /// least 1 s): tests and benchmarks shorten it to span several windows in seconds. The
    /// hour window keeps its hour.
    pub fn rate_limit_window(mut self, length: Duration) -> Self {
        self.rate_limit_window = length.max(Duration::from_secs(1));
        self
    }

    /// How many API keys may exist at once (default [`DEFAULT_MAX_API_KEYS`]); creating one
    /// more is a `409`.
    pub fn max_api_keys(mut self, keys: usize) -> Self {
        self.max_api_keys = keys;
        self
    }

    /// Fault injection (default: off).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// A delay added to every request (same as [`Faults::latency`]).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.faults.latency = latency;
        self
    }

    /// The schema of a resource (`records` has a built-in one, [`records_schema`], which this
    /// replaces). Without a schema a resource accepts any JSON object.
    pub fn schema(mut self, resource: impl Into<String>, schema: Schema) -> Self {
        self.schemas.push((resource.into(), schema));
        self
    }

    /// The schema of a resource, read from a JSON file at [`SandboxBuilder::start`] (at most
    /// [`MAX_SCHEMA_FILE_BYTES`]); an unreadable file or one that is not a schema is
    /// [`SandboxError::SchemaFile`]. It replaces a schema given to [`SandboxBuilder::schema`]
    /// for the same resource (and the built-in one of `records`).
    pub fn schema_file(
        mut self,
        resource: impl Into<String>,
        path: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.schema_files.push((resource.into(), path.into()));
        self
    }

    /// Rows the resource starts with (after the seeded `records`), each checked like a
    /// `POST /v1/{resource}`: valid for the resource's schema, unique values unique, no `id`,
    /// `created_at` or `updated_at`; ids are given in order. A refused row makes
    /// [`SandboxBuilder::start`] fail with [`SandboxError::Fixture`] naming it (`row N`).
    /// Rows for one resource count against [`StoreLimits::max_fixture_rows`].
    pub fn fixtures(
        mut self,
        resource: impl Into<String>,
        rows: impl IntoIterator<Item = serde_json::Value>,
    ) -> Self {
        self.initial.push(fixtures::Initial {
            resource: resource.into(),
            source: fixtures::Source::Rows(rows.into_iter().collect()),
        });
        self
    }

    /// Rows the resource starts with, read from a JSON Lines file at [`SandboxBuilder::start`]
    /// (one JSON object per line, blank lines skipped), checked like
    /// [`SandboxBuilder::fixtures`]. The file is bounded by [`StoreLimits::max_fixture_bytes`]
    /// and each line by [`StoreLimits::max_fixture_line_bytes`]; a line past a limit or not
    /// JSON is [`SandboxError::FixtureFile`], a refused row [`SandboxError::Fixture`], both
    /// naming the file and line.
    pub fn fixtures_file(
        mut self,
        resource: impl Into<String>,
        path: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.initial.push(fixtures::Initial {
            resource: resource.into(),
            source: fixtures::Source::File(path.into()),
        });
        self
    }

    /// `count` rows drawn from the resource's schema by `dbsync_validate::Samples` (every
    /// required field, every constraint, unique values unique), seeded by
    /// [`SandboxBuilder::seed`] and the resource's name: the same seed gives the same rows.
    /// The resource needs a schema; the rows count against [`StoreLimits::max_fixture_rows`].
    pub fn generate(mut self, resource: impl Into<String>, count: u64) -> Self {
        self.initial.push(fixtures::Initial {
            resource: resource.into(),
            source: fixtures::Source::Generate(count),
        });
        self
    }

    /// Largest accepted request body (default 1 MiB); larger is a `413`.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The address to bind (default `127.0.0.1:0`, a free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Lifetime of issued OAuth2 access tokens (default one hour; at most [`MAX_DURATION`]).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl.min(MAX_DURATION);
        self
    }

    /// How many requests the request log keeps (default [`DEFAULT_LOG_CAPACITY`]).
    pub fn log_capacity(mut self, entries: usize) -> Self {
        self.log_capacity = entries;
        self
    }

    /// How long a workflow run takes from trigger to its end (default 2 s): `queued` for the
    /// first half, `running` for the second, then `succeeded` (or `failed`). Measured on tokio's
    /// clock, so a test with a paused clock can `tokio::time::advance` through it.
    /// At most [`MAX_DURATION`].
    pub fn workflow_duration(mut self, duration: Duration) -> Self {
        self.workflow_duration = duration.min(MAX_DURATION);
        self
    }

    /// The caps of the in-memory stores: tokens, codes, workflow runs, idempotency keys and the
    /// size of a list page (default [`StoreLimits::default`]).
    pub fn store_limits(mut self, limits: StoreLimits) -> Self {
        self.store_limits = limits;
        self
    }

    /// The only redirect URIs the OAuth authorize endpoint sends codes to (exact match). By
    /// default any loopback `http` URI on any port is accepted (`http://127.0.0.1:PORT/...`,
    /// `http://[::1]:PORT/...`, `http://localhost:PORT/...`, RFC 8252); any other is a `400`.
    pub fn redirect_uris<I, S>(mut self, uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// The longest wait for a request head (default [`DEFAULT_HEADER_READ_TIMEOUT`], 10 s); a
    /// connection that sends a request head slower is closed. On HTTP/1 the timer starts as
    /// soon as the server waits for the next request, so it also closes keep-alive connections
    /// that send nothing for this long; before its first request any connection (HTTP/1 or
    /// HTTP/2) is closed after it (or after the idle timeout, if shorter). Zero is refused by [`SandboxBuilder::start`].
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.serve_limits.header_read = timeout;
        self
    }

    /// The longest time for a whole request body, from when its head arrived (default
    /// [`DEFAULT_BODY_READ_TIMEOUT`], 30 s); a body still arriving then is answered `408` and
    /// its HTTP/1 connection closed. Zero is refused by [`SandboxBuilder::start`].
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.serve_limits.body_read = timeout;
        self
    }

    /// How long a connection may stay open with no request in progress (default
    /// [`DEFAULT_IDLE_TIMEOUT`], 60 s) before it is shut down gracefully (HTTP/2 gets a
    /// `GOAWAY`). Zero is refused by [`SandboxBuilder::start`].
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.serve_limits.idle = timeout;
        self
    }

    /// The most connections served at once (default [`DEFAULT_MAX_CONNECTIONS`], 1,024); more
    /// wait in the kernel's listen backlog until one closes. Zero is refused by
    /// [`SandboxBuilder::start`].
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.serve_limits.max_connections = connections;
        self
    }

    /// Serves HTTPS instead of HTTP (default off): a CA and a certificate for `localhost`,
    /// `127.0.0.1` and `::1` ([`TLS_NAMES`]) are made at start, new every time; clients trust
    /// the CA from [`Sandbox::ca_certificate_pem`]. ALPN offers HTTP/2 and HTTP/1.1. The TLS
    /// handshake counts against the header-read timeout.
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// With [`SandboxBuilder::tls`], requires a client certificate signed by the sandbox's CA
    /// (mutual TLS; default off); one is made at start: [`Sandbox::client_identity_pem`].
    pub fn require_client_certificates(mut self, require: bool) -> Self {
        self.client_certificates = require;
        self
    }

    /// Hands every response to `observer` once its body has been sent whole (default: none).
    /// The body is given as sent (gzip-encoded when the request asked for it); responses cut by
    /// an injected fault or a client that went away, and bodies over
    /// [`MAX_OBSERVED_BODY_BYTES`], are not observed. The observer runs on the server's task:
    /// keep it quick. Without one, no body is copied.
    pub fn observe_responses(
        mut self,
        observer: impl Fn(&ObservedResponse) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(observe::ResponseObserver::new(observer));
        self
    }

    fn build_state(&self) -> Result<AppState, SandboxError> {
        if self.seed_records > MAX_SEED_RECORDS {
            return Err(SandboxError::TooManySeedRecords {
                requested: self.seed_records,
                max: MAX_SEED_RECORDS,
            });
        }
        let mut schemas = HashMap::new();
        let records = records_schema().map_err(|e| SandboxError::InvalidSchema {
            resource: "records".into(),
            message: e.to_string(),
        })?;
        schemas.insert("records".to_string(), Arc::new(records));
        for (resource, schema) in &self.schemas {
            check_resource_name(resource)?;
            schemas.insert(resource.clone(), Arc::new(schema.clone()));
        }
        for (resource, path) in &self.schema_files {
            check_resource_name(resource)?;
            let schema = fixtures::read_schema_file(resource, path)?;
            schemas.insert(resource.clone(), Arc::new(schema));
        }
        for initial in &self.initial {
            check_resource_name(&initial.resource)?;
        }
        let store = Store::new(schemas);
        if self.seed_records > 0 {
            let records = store.resource("records");
            write(&records).seed(seed::SeedGenerator::new(self.seed), self.seed_records);
        }
        fixtures::load(&store, &self.initial, &self.store_limits, self.seed)?;
        let state = AppState(Arc::new(SandboxState {
            store,
            auth: auth::Authenticator::new(self.auth.clone()),
            rate_limiter: rate_limit::RateLimiter::new(
                self.rate_limit,
                self.rate_limit_per_hour,
                self.rate_limit_window,
            ),
            faults: self.faults.clone(),
            fault_counter: faults::FaultCounter::default(),
            idempotency: idempotency::IdempotencyCache::new(&self.store_limits),
            request_log: request_log::RequestLog::new(self.log_capacity),
            max_body_bytes: self.max_body_bytes,
            token_ttl: self.token_ttl,
            oauth: ops::oauth_server(
                &self.auth,
                self.token_ttl,
                &self.store_limits,
                &self.redirect_uris,
            ),
            api_keys: Arc::new(api_keys::ApiKeyStore::new(self.max_api_keys)),
            workflows: Arc::new(workflows::WorkflowEngine::new(
                self.workflow_duration,
                &self.store_limits,
            )),
            max_page_bytes: self.store_limits.max_page_bytes,
        }));
        ops::register_verifiers(&state);
        Ok(state)
    }

    /// Binds and starts serving in a background task.
    pub async fn start(self) -> Result<Sandbox, SandboxError> {
        let limits = self.serve_limits.checked()?;
        let state = self.build_state()?;
        let listener = serve::bind(self.bind).map_err(|source| SandboxError::Bind {
            addr: self.bind,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: self.bind,
            source,
        })?;
        let tls = if self.tls {
            Some(tls::generate(self.client_certificates)?)
        } else {
            None
        };
        let (acceptor, ca_pem, client_identity) = match tls {
            Some(tls) => (Some(tls.acceptor), Some(tls.ca_pem), tls.client),
            None => (None, None, None),
        };
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let (stop, stopped) = oneshot::channel::<()>();
        let app = routes::app(state.clone(), self.observer.clone());
        let http2 = serve::Http2Count::default();
        let task = tokio::spawn(serve::serve(
            listener,
            app,
            limits,
            acceptor,
            http2.clone(),
            stopped,
        ));
        Ok(Sandbox {
            addr,
            base_url: format!("{scheme}://{addr}"),
            ca_pem,
            client_identity,
            http2,
            stop: Some(stop),
            task: Some(task),
            state,
        })
    }
}

/// A running sandbox server. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    base_url: String,
    ca_pem: Option<String>,
    client_identity: Option<ClientIdentityPem>,
    http2: serve::Http2Count,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    state: AppState,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A builder with every default (no auth, no seed data, no faults, 127.0.0.1:0).
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// The base URL, e.g. `http://127.0.0.1:40123` (no trailing slash; `https://` with
    /// [`SandboxBuilder::tls`]).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The CA certificate (PEM) that signed the sandbox's certificate, when it serves HTTPS
    /// ([`SandboxBuilder::tls`]): what a client must trust.
    pub fn ca_certificate_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// How many requests were served over HTTP/2 so far (HTTP/2 is offered over TLS by ALPN,
    /// and to clients that start with its preface on plain HTTP).
    pub fn http2_requests(&self) -> u64 {
        self.http2.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A client certificate and key the sandbox accepts, when it requires them
    /// ([`SandboxBuilder::require_client_certificates`]).
    pub fn client_identity_pem(&self) -> Option<&ClientIdentityPem> {
        self.client_identity.as_ref()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The authentication mode.
    pub fn auth(&self) -> &SandboxAuth {
        self.state.auth.mode()
    }

    /// Lifetime of issued OAuth2 access tokens.
    pub fn token_ttl(&self) -> Duration {
        self.state.token_ttl
    }

    /// The OAuth 2.0 token endpoint, `{base}/oauth/token` (served in oauth2 mode).
    pub fn token_url(&self) -> String {
        format!("{}{}", self.base_url, oauth::TOKEN_PATH)
    }

    /// The OAuth 2.0 authorization endpoint, `{base}/oauth/authorize` (served in oauth2 mode).
    pub fn authorize_url(&self) -> String {
        format!("{}{}", self.base_url, oauth::AUTHORIZE_PATH)
    }

    /// Accepts more Bearer tokens (OAuth2 access tokens, API keys) from now on.
    pub fn add_token_verifier(&self, verifier: Arc<dyn TokenVerifier>) {
        self.state.auth.add_verifier(verifier);
    }

    /// The requests served so far (the most recent [`DEFAULT_LOG_CAPACITY`] by default).
    pub fn request_log(&self) -> Vec<LogEntry> {
        self.state.request_log.entries()
    }

    /// The rate-limit budget right now: the window that runs out first, as in the
    /// `X-RateLimit-*` headers (`None` when unlimited).
    pub fn rate_limit(&self) -> Option<RateLimitSnapshot> {
        self.state.rate_limiter.snapshot()
    }

    /// Every rate-limit window right now, minute first (empty when unlimited).
    pub fn rate_limit_windows(&self) -> Vec<(RateWindow, RateLimitSnapshot)> {
        self.state.rate_limiter.windows()
    }

    /// What the in-memory stores hold now (tokens, codes, runs, idempotency keys), to watch
    /// them against their [`StoreLimits`].
    pub fn store_usage(&self) -> StoreUsage {
        let mut usage = StoreUsage::default();
        if let Some(oauth) = &self.state.oauth {
            oauth.usage(&mut usage);
        }
        usage.runs = self.state.workflows.usage();
        usage.idempotency_keys = self.state.idempotency.usage();
        usage
    }

    /// How many records a resource holds now.
    pub fn record_count(&self, resource: &str) -> usize {
        self.state
            .store
            .existing(resource)
            .map_or(0, |r| store::read(&r).len())
    }

    /// Stops accepting connections, lets in-flight requests finish (up to 5 s) and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
