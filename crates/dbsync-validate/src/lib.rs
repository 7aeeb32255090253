//! dbsync-validate (being built).
#![deny(missing_docs)]
