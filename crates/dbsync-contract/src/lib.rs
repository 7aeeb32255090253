//! Facts of the DBSync wire contract (`shared/dbsync-api.md`) that the client, the sandbox and
//! the command line all need, written down once: the limits, the resource-name rule, the
//! permission scopes and the timestamp format.
//!
//! - [`limits`]: page sizes, the batch size, the `Idempotency-Key` lifetime, the body limit;
//! - [`resource_name`]: which names a resource may have under `/v1`;
//! - [`scopes`]: the permission scopes (`records:read`...) and what each allows;
//! - [`timestamp`]: RFC 3339 text to and from instants.
//!
//! ```
//! use dbsync_contract::{MAX_BATCH_SIZE, MAX_LIMIT, is_valid_resource_name, timestamp};
//!
//! assert_eq!((MAX_LIMIT, MAX_BATCH_SIZE), (1000, 100));
//! assert!(is_valid_resource_name("contacts_v2"));
//! let at = timestamp::parse("2024-01-01T01:00:00+01:00").unwrap();
//! assert_eq!(timestamp::format(at), "2024-01-01T00:00:00Z");
//! ```
#![deny(missing_docs)]

pub mod limits;
pub mod resource_name;
pub mod scopes;
pub mod timestamp;

pub use limits::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_PAGE_SIZE, IDEMPOTENCY_KEY_LIFETIME, MAX_BATCH_SIZE, MAX_LIMIT,
};
pub use resource_name::{RESERVED_NAMES, RESOURCE_NAME_PATTERN, is_valid_resource_name};

/// The README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
