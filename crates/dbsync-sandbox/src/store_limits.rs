//! The caps of the sandbox's in-memory stores (tokens, codes, runs, idempotency, list pages),
//! and what the stores hold now.

use std::time::Duration;

const MIB: usize = 1024 * 1024;

/// The caps of the sandbox's stores, given to [`crate::SandboxBuilder::store_limits`].
///
/// Every store sweeps its expired entries as it goes (a few per request). What happens at a
/// cap is in the project's `docs/security.md`, section "The sandbox's stores: caps and sweeps":
/// in short, tokens, codes and runs are refused with a `503` and a `Retry-After` saying when
/// the oldest entry expires, while the idempotency cache forgets its oldest completed keys.
///
/// ```
/// let mut limits = dbsync_sandbox::StoreLimits::default();
/// limits.max_runs = 100;
/// let builder = dbsync_sandbox::Sandbox::builder().store_limits(limits);
/// # drop(builder);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreLimits {
    /// OAuth access tokens held, expired ones included until swept (an hour after expiry).
    pub max_access_tokens: usize,
    /// OAuth refresh tokens held, live and rotated (rotated ones are kept to detect reuse).
    pub max_refresh_tokens: usize,
    /// Bytes of the refresh tokens' scopes.
    pub max_refresh_token_bytes: usize,
    /// How long a grant can be refreshed, counted from the grant (not from the last refresh).
    pub refresh_token_ttl: Duration,
    /// Authorization codes issued and not yet exchanged (they live a minute).
    pub max_pending_codes: usize,
    /// Bytes of the pending codes' redirect URIs, scopes and challenges.
    pub max_pending_code_bytes: usize,
    /// Exchanged codes remembered to detect a second use.
    pub max_used_codes: usize,
    /// The longest `redirect_uri` the authorize endpoint accepts.
    pub max_redirect_uri_bytes: usize,
    /// Workflow runs held, finished ones included until swept.
    pub max_runs: usize,
    /// Bytes of the runs' inputs, all runs together.
    pub max_run_input_bytes: usize,
    /// How long a finished run stays readable after its end.
    pub run_retention: Duration,
    /// `Idempotency-Key`s remembered (each for `dbsync_contract::IDEMPOTENCY_KEY_LIFETIME`).
    pub max_idempotency_keys: usize,
    /// Bytes of the remembered keys and responses.
    pub max_idempotency_bytes: usize,
    /// The largest body of a list page: past it, the page stops early (see
    /// `docs/security.md`); a page always holds at least one record.
    pub max_page_bytes: usize,
    /// Starting rows of one resource: fixtures and generated rows together
    /// ([`crate::SandboxBuilder::fixtures`], [`crate::SandboxBuilder::generate`]).
    pub max_fixture_rows: u64,
    /// The largest fixtures file ([`crate::SandboxBuilder::fixtures_file`]).
    pub max_fixture_bytes: usize,
    /// The longest line of a fixtures file, without its line ending.
    pub max_fixture_line_bytes: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            max_access_tokens: 100_000,
            max_refresh_tokens: 100_000,
            max_refresh_token_bytes: 16 * MIB,
            refresh_token_ttl: Duration::from_secs(24 * 3600),
            max_pending_codes: 10_000,
            max_pending_code_bytes: 8 * MIB,
            max_used_codes: 100_000,
            max_redirect_uri_bytes: 2048,
            max_runs: 10_000,
            max_run_input_bytes: 64 * MIB,
            run_retention: Duration::from_secs(3600),
            max_idempotency_keys: 100_000,
            max_idempotency_bytes: 64 * MIB,
            max_page_bytes: 16 * MIB,
            max_fixture_rows: 1_000_000,
            max_fixture_bytes: 512 * MIB,
            max_fixture_line_bytes: MIB,
        }
    }
}

/// How much one store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreCount {
    /// Entries held (expired ones included until swept).
    pub entries: usize,
    /// Bytes counted against the store's byte cap (0 for stores without one).
    pub bytes: usize,
}

impl StoreCount {
    pub(crate) fn new(entries: usize, bytes: usize) -> Self {
        Self { entries, bytes }
    }
}

/// What the sandbox's stores hold now ([`crate::Sandbox::store_usage`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreUsage {
    /// OAuth access tokens.
    pub access_tokens: StoreCount,
    /// OAuth refresh tokens, live and rotated.
    pub refresh_tokens: StoreCount,
    /// Authorization codes not yet exchanged.
    pub pending_codes: StoreCount,
    /// Exchanged authorization codes remembered.
    pub used_codes: StoreCount,
    /// Workflow runs.
    pub runs: StoreCount,
    /// Remembered `Idempotency-Key`s.
    pub idempotency_keys: StoreCount,
}
