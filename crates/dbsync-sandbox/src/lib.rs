//! dbsync-sandbox (being built).
#![deny(missing_docs)]
