//! dbsync-client (being built).
#![deny(missing_docs)]
