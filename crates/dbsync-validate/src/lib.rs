//! `dbsync-validate`: checks records against a DBSync schema before they are sent (client) or
//! stored (sandbox), and reports every violation in the same shape as the server's `400` body.
//!
//! - [`Schema`] is read from the contract's schema JSON or built in code with [`Schema::builder`]
//!   and [`Field`]; bad schemas are refused with a [`SchemaError`]. [`Schema::from_json`] is
//!   strict (for hand-written schemas); [`Schema::from_json_lenient`] ignores descriptive members
//!   a server may add (`label`, `description`) but still refuses misspelt constraints. A schema
//!   from a server is read `_with_limits` ([`SchemaLimits`]: fields, pattern text, compiled size).
//! - [`Schema::validate`] (create), [`Schema::validate_partial`] (update) and
//!   [`Schema::validate_with`] (with a [`UniqueLookup`]) return every [`Violation`] of a record.
//! - [`Schema::validate_batch`] also checks uniqueness across the batch.
//! - [`Schema::to_json_schema`] writes the schema as a JSON Schema (draft 2020-12);
//!   `docs/schema-tools.md` has the mapping and what differs.
//! - [`Schema::to_rust_struct`] prints a serde struct for the records of a resource.
//! - `Samples` (feature `samples`) makes seeded valid records of a schema and invalid ones that
//!   each carry one named violation.
//! - [`Violations::to_error_body`] / [`Violations::from_error_body`] convert to and from the
//!   contract's error body ([`ErrorBody`]), the error body type of the whole project.
//!
//! ```
//! use dbsync_validate::{Field, Format, Schema};
//! use serde_json::json;
//!
//! let schema = Schema::builder()
//!     .field(Field::string("email").required().unique().format(Format::Email).max_length(254))
//!     .field(Field::string("status").enum_values(["active", "inactive"]))
//!     .field(Field::date("birthday").nullable())
//!     .build()?;
//!
//! let violations = schema
//!     .validate(&json!({"email": "not-an-email", "status": "gone", "birthday": "2026-02-30"}))
//!     .unwrap_err();
//! assert_eq!(violations.len(), 3);
//! let body = serde_json::to_value(violations.to_error_body()).unwrap();
//! assert_eq!(body["error"]["code"], 400);
//! assert_eq!(body["error"]["details"][0]["field"], "email");
//! # Ok::<(), dbsync_validate::SchemaError>(())
//! ```
#![deny(missing_docs)]

/// Validating a batch: each record, plus uniqueness across the batch and against stored records.
mod batch;
/// Checking one record against a [`Schema`] (the hot path), with [`ValidateOptions`].
mod check;
/// [`SchemaError`]: why a schema was refused.
mod error;
/// [`ErrorBody`]: the contract's `400` error body and its conversion to and from [`Violations`].
mod error_body;
/// Allocation-free checkers for the string formats and the date types.
mod formats;
/// [`Schema::to_json_schema`]: the schema as a JSON Schema (draft 2020-12), [`SERVER_FIELDS`].
mod json_schema;
/// Which unknown schema members a lenient schema parse may ignore.
mod lenient;
/// How values are described in violation messages, and which field names hold secrets.
mod message;
/// [`Schema::to_rust_struct`]: Rust source of a serde struct for a resource's records.
mod rust_model;
/// [`Samples`]: seeded valid and invalid sample records for a schema (feature `samples`).
#[cfg(feature = "samples")]
mod sample;
/// [`Schema`] and its parts: field types, [`Field`], [`SchemaBuilder`], schema JSON,
/// [`SchemaLimits`].
mod schema;
/// [`Violation`], [`ViolationCode`], [`Violations`]: what is wrong with a record.
mod violation;

pub use batch::{BatchOptions, BatchReport};
pub use check::{MAX_DEPTH, Mode, UniqueLookup, ValidateOptions};
pub use error::SchemaError;
pub use error_body::{ErrorBody, ErrorDetail, ErrorObject};
pub use json_schema::{JSON_SCHEMA_DIALECT, SERVER_FIELDS};
pub use message::is_secret_name;
#[cfg(feature = "samples")]
pub use sample::{InvalidSample, MAX_GENERATED_LEN, MAX_TRIES, SampleError, Samples};
pub use schema::{
    Field, FieldType, Format, Limit, MAX_FIELD_NAME_CHARS, PATTERN_SIZE_LIMIT, Schema,
    SchemaBuilder, SchemaLimits,
};
pub use violation::{Violation, ViolationCode, Violations};

/// The README's example is compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
