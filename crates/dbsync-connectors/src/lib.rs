//! DBSync in the data stack: Singer (and Airbyte) connectors built on dbsync-client's scans,
//! checkpoints, partitions and durable bulk writes. The `dbsync` CLI wires them up as
//! `dbsync tap` and `dbsync target`; see `docs/connectors.md`.
#![deny(missing_docs)]

/// The connector config: connection settings JSON plus `resources` and `start_date`.
pub mod config;
/// Errors of a connector run, each telling what input was wrong.
pub mod error;
/// Bounded reading of JSON Lines from standard input.
pub mod lines;
/// The `I/N` partition of a scaled-out run (`JOB_COMPLETION_INDEX`).
pub mod partition;
/// The Singer tap and target.
pub mod singer;

pub use error::ConnectorError;
