//! `dbsync`: the connector toolkit for the DBSync Cloud Workflow Open API.
//!
//! This facade re-exports the workspace crates so an application can depend on `dbsync` alone:
//! [`contract`] (the wire contract's limits, resource-name rule and timestamps), [`validate`]
//! (schema validation), [`auth`] (authentication strategies), [`client`] (the connection and
//! CRUD client) and `sandbox` (a local server that speaks the whole API).
//!
//! Cargo features: `client`, `auth`, `validate` and `gzip` (the client asks for compressed
//! responses) are on by default; `sandbox` is opt-in (it brings axum and hyper's server), e.g.
//! `dbsync = { version = "0.1", features = ["sandbox"] }` for tests against a local server.
#![deny(missing_docs)]

#[cfg(feature = "auth")]
pub use dbsync_auth as auth;
#[cfg(feature = "client")]
pub use dbsync_client as client;
pub use dbsync_contract as contract;
#[cfg(feature = "sandbox")]
pub use dbsync_sandbox as sandbox;
#[cfg(feature = "validate")]
pub use dbsync_validate as validate;

/// The README's Rust code, compiled as a doctest so it cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
