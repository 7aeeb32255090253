//! `dbsync`: the connector toolkit for the DBSync Cloud Workflow Open API.
//!
//! This facade re-exports the workspace crates so an application can depend on `dbsync` alone:
//! [`contract`] (the wire contract's limits, resource-name rule and timestamps), [`validate`]
//! (schema validation), [`auth`] (authentication strategies), [`client`] (the connection and
//! CRUD client) and [`sandbox`] (a local server that speaks the whole API).
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

pub use dbsync_auth as auth;
pub use dbsync_client as client;
pub use dbsync_contract as contract;
pub use dbsync_sandbox as sandbox;
pub use dbsync_validate as validate;

/// The README's Rust code, compiled as a doctest so it cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
