//! The DBSync client: a [`Connection`] (built in code, from settings JSON, or from `DBSYNC_*`
//! environment variables) and typed CRUD on any resource, with pagination, batching, retries
//! and precise errors.
//!
//! ```no_run
//! # async fn run() -> Result<(), dbsync_client::Error> {
//! use dbsync_client::{Connection, Query};
//! use futures::TryStreamExt as _;
//!
//! let connection = Connection::builder()
//!     .base_url("https://api.dbsync.com")
//!     .auth(dbsync_auth::BearerAuth::new("my-api-key"))
//!     .build()?;
//! let report = connection.validate().await?;
//! println!("reachable in {:?}", report.latency);
//!
//! let records = connection.records();
//! let created = records.create(&serde_json::json!({"name": "Ada"})).await?;
//! let all: Vec<_> = records.stream(Query::new().limit(500)).try_collect().await?;
//! # let _ = (created, all);
//! # Ok(()) }
//! ```
//!
//! The same calls, run here against a local sandbox server (the `dbsync-sandbox` crate, which
//! speaks the whole API; an application reaches it as `dbsync::sandbox`): a bulk write of 150
//! records (two batch requests, one outcome per record) and a scan over every page.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use dbsync_client::{Connection, Query};
//! use futures::TryStreamExt as _;
//! use serde_json::json;
//!
//! let sandbox = dbsync_sandbox::Sandbox::builder().seed_records(20).start().await?;
//! let records = Connection::builder().base_url(sandbox.base_url()).build()?.records();
//!
//! let new: Vec<_> = (0..150)
//!     .map(|i| json!({"email": format!("user{i}@example.com"), "first_name": "Test",
//!                     "last_name": format!("User {i}"), "country": "US", "active": true}))
//!     .collect();
//! let outcomes = records.create_many(&new).await;
//! assert!(outcomes.iter().all(|outcome| outcome.result.is_ok()));
//!
//! let all: Vec<_> = records.stream(Query::new().limit(100)).try_collect().await?;
//! assert_eq!(all.len(), 20 + 150);
//! sandbox.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
//!
//! The request path (build -> authorize -> rate limit -> send -> classify -> retry or map
//! error -> decode) is in one module, `request`, which knows nothing of resources, scans or
//! bulk writes; the retry decision is a pure function in `retry`, tested without I/O.
//!
//! The modules, one job each:
//!
//! - `api_keys`: API keys (list, create, regenerate, revoke, rotate).
//! - [`api_log`]: the client's own log of every attempt, its sinks and exports.
//! - `bulk`: bulk writes through the batch endpoints (options, wire types, the concurrent
//!   runner, durable writes from a stream, the failures journal, resend).
//! - `call_options`: [`CallOptions`], per-call timeout, headers, idempotency key, retry policy.
//! - `challenge`: reading a server's `WWW-Authenticate` (a `403`'s missing scope, an expired key).
//! - `concurrency`: [`Concurrency`]: requests in flight of scans and bulk writes, fixed or
//!   adaptive (the AIMD controller and the adaptive buffering of a stream of requests).
//! - `connection`: [`Connection`] (the transport plus base URL and page format) and its builder.
//! - `error`: the one error type, and how responses and transport failures map to it.
//! - `id`: record ids (opaque strings; strings or integers on the wire).
//! - `monitoring`: monitoring calls (usage, the server's API logs).
//! - `page`: one page of a list, page formats, where a page's records are in its body.
//! - `proxy`: the HTTP(S) proxy (builder, settings, the `HTTPS_PROXY`/`NO_PROXY` variables).
//! - `preflight`: optional local validation of records against a schema before sending.
//! - `query`: the query of a list call (paging, date range, filters).
//! - `raw_call`: [`Connection::call`]: any method and path of the connection's API, checked to
//!   stay on its origin, through the same request path.
//! - `rate_limit`: the rate-limit headers and the client-side rate-limiter hook.
//! - `request`: the request path, owned by its `Transport`.
//! - `resource`: [`Resource`]: typed CRUD, the list recipe, every public resource method but
//!   the bulk writes.
//! - `retry`: [`RetryPolicy`], and when to retry and how long to wait (a pure decision).
//! - `retry_quota`: the connection-wide retry quota (a token bucket shared by every call).
//! - `wait_notice`: notices of the waits a call makes, for an observer (the CLI prints them).
//! - `scan`: scans: pipelined, checkpointed, consistent, incremental, partitioned.
//! - `settings`: connection settings (the contract's connection JSON): model, reading (JSON,
//!   `DBSYNC_*` variables), building a connection from them, and saving them.
//! - `tls`: the TLS backend (Cargo features), an extra CA and a client certificate.
//! - `validate_connection`: "Validate Connection": one cheap call that checks URL and credentials.
//! - `workflows`: workflows and their runs.
#![deny(missing_docs)]

mod api_keys;
pub mod api_log;
mod bulk;
mod call_options;
mod challenge;
mod concurrency;
mod connection;
mod error;
mod id;
mod monitoring;
mod page;
mod preflight;
mod proxy;
mod query;
mod rate_limit;
mod raw_call;
mod request;
mod resource;
mod retry;
mod retry_quota;
mod scan;
mod settings;
mod tls;
mod validate_connection;
mod wait_notice;
mod workflows;

pub use api_keys::{ApiKey, ApiKeys, CreatedKey, NewApiKey, rotate_api_key};
pub use api_log::{
    API_LOG_CSV_HEADER, ApiLogEntry, ApiLogFilter, ApiLogSink, DEFAULT_API_LOG_CAPACITY,
    JsonLinesApiLog, MemoryApiLog, write_api_log_csv, write_api_log_json_lines,
};
/// The `#[async_trait]` attribute an [`Auth`] implementation puts on its `impl` block.
pub use async_trait::async_trait;
pub use bulk::{
    BatchOptions, BatchOutcome, DEFAULT_BATCH_CONCURRENCY, Journal, JournalEntry, JournalLine,
    JournalOutcome, LostRequest, Progress, ProgressCallback, ResendOptions, ResendOutcome,
    WriteOutcome,
};
pub use call_options::{CallOptions, MAX_EXTRA_HEADER_BYTES, MAX_EXTRA_HEADERS};
pub use concurrency::{Concurrency, DEFAULT_MAX_BULK_CONCURRENCY, DEFAULT_MAX_SCAN_CONCURRENCY};
pub use connection::{
    Connection, ConnectionBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_TIMEOUT, DEFAULT_VALIDATE_RESOURCE,
};
/// The whole authentication crate (OAuth 2.0 builder, token stores...).
pub use dbsync_auth as auth;
/// Implementing an authentication strategy needs nothing beyond this crate: the trait, the
/// request it adds credentials to, its error, secrets, and the built-in strategies.
pub use dbsync_auth::{
    Auth, AuthError, AuthRequest, BasicAuth, BearerAuth, NoAuth, OAuth2Auth, Secret,
};
/// The contract facts (limits, resource-name rule, timestamps) this crate follows.
pub use dbsync_contract as contract;
pub use dbsync_contract::DEFAULT_PAGE_SIZE;
pub use dbsync_contract::MAX_BATCH_SIZE;
/// The permission scopes (`scopes::RECORDS_READ`...), for [`NewApiKey::scopes`] and
/// [`Error::missing_scope`].
pub use dbsync_contract::scopes;
pub use dbsync_validate::{ErrorDetail, Schema};
pub use error::{Error, TransportKind, TransportSource};
/// The `http` crate, whose header types [`AuthRequest`] and [`Auth::on_unauthorized_for`] use.
pub use http;
pub use id::Id;
pub use monitoring::{
    ExportFormat, ExportSummary, LogEntry, LogQuery, MAX_USAGE_WINDOWS, ServerLogs, Usage,
    UsageWindow, WindowKind,
};
pub use page::{Meta, Page, PageFormat};
pub use query::{Query, Timestamp};
pub use rate_limit::{RateLimitInfo, RateLimiter};
pub use raw_call::{MAX_RAW_PATH_BYTES, RawRequest, RawResponse};
/// The `reqwest` crate, for [`ConnectionBuilder::http_client`] (a client of your own); no other
/// part of this crate's API uses a reqwest type.
pub use reqwest;
pub use resource::{MAX_LIMIT, Resource};
pub use retry::{
    DEFAULT_CALL_DEADLINE, DEFAULT_MAX_RATE_LIMIT_WAIT, DEFAULT_MAX_RETRIES,
    MAX_RATE_LIMITED_RETRIES, RetryPolicy,
};
pub use retry_quota::{
    DEFAULT_RETRY_COST, DEFAULT_RETRY_QUOTA, DEFAULT_SUCCESS_REWARD, DEFAULT_TIMEOUT_RETRY_COST,
    RetryQuota,
};
pub use scan::{
    CHECKPOINT_VERSION, Checkpoint, DEFAULT_MAX_IN_FLIGHT_BYTES, DEFAULT_OVERLAP,
    DEFAULT_PIPELINE_DEPTH, DEFAULT_SETTLE, IncrementalOptions, MAX_PARTITIONS, Partition, Scan,
    ScanMode, ScanOptions,
};
pub use settings::{
    AuthSettings, ConnectionSettings, EnvLookup, PaginationSettings, RateLimitSettings,
    RetrySettings, SaveOptions, SaveReport, SecretValue, TlsSettings, process_env,
};
pub use tls::MAX_PEM_FILE_BYTES;
pub use validate_connection::ValidationReport;
pub use wait_notice::{WaitNotice, WaitObserver, WaitReason, whole_units};
pub use workflows::{PollBackoff, Run, RunError, RunStatus, WaitError, Workflow, Workflows};

/// A record as JSON: what [`Connection::records`] works with.
pub type Record = serde_json::Value;

// Compile-time checks: the handles, errors and streams an application keeps in tasks and
// shares between them stay `Send + Sync + 'static` (streams `Send + 'static`: they are polled
// by one task at a time). A change that breaks this fails the build here, not in a user's code.
const _: fn() = || {
    fn shared<T: Send + Sync + 'static>() {}
    fn sent<T: Send + 'static>() {}
    shared::<Error>();
    shared::<WaitError>();
    shared::<Connection>();
    shared::<ConnectionBuilder>();
    shared::<Resource<Record>>();
    shared::<Workflows>();
    shared::<ApiKeys>();
    shared::<ServerLogs>();
    shared::<RetryPolicy>();
    shared::<CallOptions>();
    shared::<BatchOptions>();
    shared::<BatchOutcome<Record>>();
    shared::<Page<Record>>();
    sent::<Scan<Record>>();
    sent::<WriteOutcome<Record>>();
    sent::<futures::stream::BoxStream<'static, Result<Record, Error>>>();
};

/// The README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
