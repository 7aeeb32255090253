//! Tooling over the project's OpenAPI document (`docs/openapi.yaml`), for tests and docs:
//! it checks what the sandbox answers against the document, generates the Postman collection
//! and reads the commands of `docs/curl.md`. Not published.
//!
//! - [`document`]: loads the document, finds the operation of a concrete request, follows `$ref`s.
//! - [`conformance`]: checks one response (status listed, body matches the schema).
//! - [`postman`]: the Postman collection (v2.1) of every operation.
//! - [`sandbox`]: checks every response of a sandbox (for the end-to-end suites).
//! - [`curl_doc`]: the curl commands of `docs/curl.md` and the status written next to each.
#![deny(missing_docs)]

pub mod conformance;
pub mod curl_doc;
pub mod document;
pub mod postman;
pub mod sandbox;

pub use conformance::{Conformance, Mismatch, Observed};
pub use document::{Document, DocumentError};

/// Where `docs/openapi.yaml` is in this workspace.
pub const WORKSPACE_DOCUMENT: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.yaml");

/// Where the generated Postman collection is committed.
pub const WORKSPACE_POSTMAN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/postman/dbsync.postman_collection.json"
);

/// Where the curl page is.
pub const WORKSPACE_CURL_DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/curl.md");
