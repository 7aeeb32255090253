//! What the server remembers: hashes of issued access tokens, refresh tokens and authorization
//! codes, grouped in token families so that a reused code can revoke what it produced.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

pub(super) type Hash = [u8; 32];

#[derive(Debug)]
pub(super) struct AccessGrant {
    pub(super) expires_at: Instant,
    pub(super) family: u64,
    /// What the token may do (the scopes granted).
    pub(super) scopes: crate::scopes::Scopes,
}

#[derive(Debug)]
pub(super) struct RefreshGrant {
    pub(super) scope: Option<String>,
    pub(super) family: u64,
}

#[derive(Debug)]
pub(super) struct CodeGrant {
    pub(super) redirect_uri: String,
    pub(super) challenge: String,
    pub(super) scope: Option<String>,
    pub(super) expires_at: Instant,
    pub(super) family: u64,
}

#[derive(Debug, Default)]
pub(super) struct Store {
    pub(super) access: HashMap<Hash, AccessGrant>,
    pub(super) refresh: HashMap<Hash, RefreshGrant>,
    pub(super) codes: HashMap<Hash, CodeGrant>,
    /// Codes already exchanged, with the token family issued from each.
    pub(super) used_codes: HashMap<Hash, u64>,
    next_family: u64,
    /// Sweep long-expired access tokens when there are more than this (twice what the last
    /// sweep left, at least [`ACCESS_SWEEP_FLOOR`]): O(1) per issued token, however many live.
    access_sweep_above: usize,
    /// How many sweeps ran (for tests).
    pub(super) access_sweeps: u64,
}

/// Below this many access tokens, expired ones are never swept.
const ACCESS_SWEEP_FLOOR: usize = 1024;

impl Store {
    pub(super) fn new_family(&mut self) -> u64 {
        self.next_family += 1;
        self.next_family
    }

    /// Forgets access tokens that expired more than `horizon` ago, when enough have been
    /// issued since the last sweep.
    pub(super) fn sweep_access_if_due(&mut self, now: Instant, horizon: Duration) {
        if self.access.len() <= self.access_sweep_above.max(ACCESS_SWEEP_FLOOR) {
            return;
        }
        self.access.retain(|_, g| now < g.expires_at + horizon);
        self.access_sweep_above = self.access.len().saturating_mul(2).max(ACCESS_SWEEP_FLOOR);
        self.access_sweeps += 1;
    }

    pub(super) fn revoke_family(&mut self, family: u64) {
        self.access.retain(|_, g| g.family != family);
        self.refresh.retain(|_, g| g.family != family);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::oauth::test_support::{client_credentials, server};

    #[tokio::test(start_paused = true)]
    async fn expired_access_tokens_are_swept_rarely_but_surely() {
        let s = server();
        let issue = || client_credentials(&s, "cid:csecret").unwrap();
        for _ in 0..5000 {
            issue();
        }
        // Live tokens: a few sweeps (at about 1k, 2k, 4k), not one per token.
        assert!(s.store().access_sweeps <= 3);
        assert_eq!(s.store().access.len(), 5000);
        // Long expired (TTL 10 s, horizon one hour): the next due sweep drops them.
        tokio::time::advance(Duration::from_secs(7200)).await;
        for _ in 0..5000 {
            issue();
        }
        assert!(
            s.store().access.len() < 10_000,
            "{}",
            s.store().access.len()
        );
    }
}
