//! DBSync in the data stack: Singer and Airbyte connectors built on dbsync-client's scans,
//! checkpoints, partitions and durable bulk writes. The `dbsync` CLI wires them up as
//! `dbsync tap`, `dbsync target` and `dbsync airbyte ...`; see `docs/connectors.md`.
//!
//! Both protocols share one config format, one partition spec, one bounded line reader, one
//! record check against the stream's JSON Schema and one error type; each maps the errors to
//! its own signal (Singer: exit codes, Airbyte: `TRACE`).
#![deny(missing_docs)]

/// Airbyte: `spec`, `check`, `discover`, `read` (a source) and `write` (a destination).
pub mod airbyte;
/// The connector config: connection settings JSON plus `resources`, `start_date` and each
/// connector's own keys.
pub mod config;
/// Errors of a connector run, each telling what input was wrong.
pub mod error;
/// Bounded reading of JSON Lines from standard input.
pub mod lines;
/// The `I/N` partition of a scaled-out run (`JOB_COMPLETION_INDEX`).
pub mod partition;
/// Records checked against their stream's JSON Schema before a target or destination sends
/// them.
pub mod record_check;
/// The Singer tap and target.
pub mod singer;
/// What a stream is in both protocols: key, cursor and JSON Schema of a resource.
pub mod stream;

pub use error::ConnectorError;
