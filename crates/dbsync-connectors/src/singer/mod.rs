//! The Singer protocol (<https://github.com/singer-io/getting-started/blob/master/docs/SPEC.md>):
//! a tap writes `SCHEMA`, `RECORD` and `STATE` messages, one JSON object a line, on standard
//! output; a target reads them on standard input. See `docs/connectors.md`.

/// The catalog: `--discover` output and the `--catalog` a sync reads (selection, methods).
pub mod catalog;
/// The Singer messages: writing them one a line, and parsing a target's input line.
pub mod messages;
/// Property-level selection: which properties of a stream a sync emits.
pub mod properties;
/// The tap's state: bookmarks with the incremental watermark and the scan checkpoint.
pub mod state;
/// `dbsync tap`: discovery and sync.
pub mod tap;
/// `dbsync target`: messages from standard input into DBSync with durable bulk writes.
pub mod target;
