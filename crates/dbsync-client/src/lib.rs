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
//! The request path (build -> authorize -> rate limit -> send -> classify -> retry or map
//! error -> decode) is in one module, `request`; the retry decision is the pure
//! [`retry::decide`].
#![deny(missing_docs)]

mod api_keys;
pub mod api_log;
mod bulk;
mod connection;
mod error;
mod id;
mod page;
mod preflight;
mod query;
mod rate_limit;
mod request;
mod resource;
pub mod retry;
mod scan;
mod server_logs;
/// Connection settings (the contract's connection JSON): model, reading (JSON, `DBSYNC_*`
/// variables), building a connection from them, and saving them.
mod settings;
mod usage;
mod validate_connection;
mod workflows;

pub use api_keys::{ApiKey, ApiKeys, CreatedKey, rotate_api_key};
pub use api_log::{
    API_LOG_CSV_HEADER, ApiLogEntry, ApiLogFilter, ApiLogSink, DEFAULT_API_LOG_CAPACITY,
    JsonLinesApiLog, MemoryApiLog, write_api_log_csv, write_api_log_json_lines,
};
pub use bulk::{
    BatchOptions, BatchOutcome, DEFAULT_BATCH_CONCURRENCY, Journal, JournalEntry, JournalLine,
    JournalOutcome, LostRequest, Progress, ProgressCallback, ResendOptions, ResendOutcome,
    WriteOutcome,
};
pub use connection::{
    Connection, ConnectionBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_POOL_IDLE_TIMEOUT,
    DEFAULT_TIMEOUT, DEFAULT_VALIDATE_RESOURCE,
};
/// The contract facts (limits, resource-name rule, timestamps) this crate follows.
pub use dbsync_contract as contract;
pub use dbsync_contract::DEFAULT_PAGE_SIZE;
pub use dbsync_contract::MAX_BATCH_SIZE;
pub use dbsync_validate::{ErrorDetail, Schema};
pub use error::{Error, TransportKind};
pub use id::Id;
pub use page::{Meta, Page, PageFormat};
pub use query::{Query, Timestamp};
pub use rate_limit::{RateLimitInfo, RateLimiter};
pub use request::pacing_pause;
pub use resource::{MAX_LIMIT, Resource};
pub use retry::{DEFAULT_MAX_RATE_LIMIT_WAIT, RetryPolicy};
pub use scan::{
    CHECKPOINT_VERSION, Checkpoint, DEFAULT_OVERLAP, DEFAULT_PIPELINE_DEPTH, DEFAULT_SETTLE,
    IncrementalOptions, Partition, Scan, ScanMode, ScanOptions,
};
pub use server_logs::{ExportFormat, ExportSummary, LogEntry, LogQuery, ServerLogs};
pub use settings::{
    AuthSettings, ConnectionSettings, EnvLookup, PaginationSettings, RateLimitSettings,
    RetrySettings, SaveOptions, SaveReport, SecretValue, process_env,
};
pub use usage::Usage;
pub use validate_connection::ValidationReport;
pub use workflows::{PollBackoff, Run, RunError, RunStatus, Workflow, Workflows};

/// A record as JSON: what [`Connection::records`] works with.
pub type Record = serde_json::Value;

/// The README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
