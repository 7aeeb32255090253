//! The contract's limits, each with one type wherever it is used: page sizes are `u32` (the
//! `limit` query parameter), record counts of a batch are `usize` (lengths of slices).

use std::time::Duration;

/// The largest `limit` of a list call (`1..=1000`); a larger one is a `400`.
pub const MAX_LIMIT: u32 = 1000;

/// The page size when a list call sets no `limit`.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// The most records one batch request may carry; more is a `400`.
pub const MAX_BATCH_SIZE: usize = 100;

/// How long a server remembers an `Idempotency-Key`: a repeat of the same key and body within
/// this time is answered with the first response and creates nothing new.
pub const IDEMPOTENCY_KEY_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The request body size over which a server answers `413`, unless configured otherwise.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

// The limits agree with each other, checked when the crate is compiled.
const _: () =
    assert!(DEFAULT_PAGE_SIZE >= 1 && DEFAULT_PAGE_SIZE <= MAX_LIMIT && MAX_BATCH_SIZE > 0);
