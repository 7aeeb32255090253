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
//!
//! ```no_run
//! use dbsync::auth::BearerAuth;
//! use dbsync::client::{Connection, Query};
//!
//! # async fn run() -> Result<(), dbsync::client::Error> {
//! let connection = Connection::builder()
//!     .base_url("https://api.dbsync.com")
//!     .auth(BearerAuth::new(std::env::var("DBSYNC_TOKEN").unwrap_or_default()))
//!     .build()?;
//! let first_page = connection.records().list(&Query::new().limit(10)).await?;
//! println!("{} records", first_page.data.len());
//! # Ok(()) }
//! ```
//!
//! The repository's README walks through the rest, and its `examples/` run against the sandbox.
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
