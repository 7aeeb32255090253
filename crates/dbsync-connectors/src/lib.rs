//! Connectors for DBSync: the Airbyte protocol (a source and a destination) on top of
//! `dbsync-client`'s scans, checkpoints and durable bulk writes. The `dbsync` CLI wires them up
//! (`dbsync airbyte ...`); see docs/connectors.md.
#![deny(missing_docs)]

/// Airbyte: `spec`, `check`, `discover`, `read` (a source) and `write` (a destination).
pub mod airbyte;
/// The connector config: the connection settings JSON plus `resources` and `start_date`.
pub mod config;
/// Which part of a partitioned read this process takes (`I/N`, `JOB_COMPLETION_INDEX`).
pub mod partition;
