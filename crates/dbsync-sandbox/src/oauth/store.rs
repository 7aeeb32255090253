//! What the server remembers: hashes of issued access tokens, refresh tokens (live and
//! rotated) and authorization codes (pending and used), each in a capped, swept map, grouped in
//! token families so that a reused code or refresh token revokes what its grant produced.

use std::collections::HashMap;

use tokio::time::Instant;

use crate::StoreLimits;
use crate::bounded::{Bounded, Full};
use crate::store_limits::{StoreCount, StoreUsage};

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
    /// When the grant stops being refreshable (the family's end, not this token's start).
    pub(super) expires_at: Instant,
    /// Already exchanged: presenting it again revokes the family (RFC 9700 4.14.2).
    pub(super) rotated: bool,
}

#[derive(Debug)]
pub(super) struct CodeGrant {
    pub(super) redirect_uri: String,
    pub(super) challenge: String,
    pub(super) scope: Option<String>,
    pub(super) expires_at: Instant,
}

impl CodeGrant {
    pub(super) fn bytes(&self) -> usize {
        self.redirect_uri.len() + self.challenge.len() + self.scope.as_ref().map_or(0, String::len)
    }
}

/// How many stored entries name a family, and whether it was revoked.
#[derive(Debug, Default)]
struct Family {
    entries: usize,
    revoked: bool,
}

#[derive(Debug)]
pub(super) struct Store {
    pub(super) access: Bounded<Hash, AccessGrant>,
    pub(super) refresh: Bounded<Hash, RefreshGrant>,
    pub(super) codes: Bounded<Hash, CodeGrant>,
    /// Codes already exchanged, with the token family issued from each.
    pub(super) used_codes: Bounded<Hash, u64>,
    /// Families named by at least one stored entry (forgotten with their last entry).
    families: HashMap<u64, Family>,
    next_family: u64,
}

impl Store {
    pub(super) fn new(limits: &StoreLimits) -> Self {
        Self {
            access: Bounded::new(limits.max_access_tokens, usize::MAX),
            refresh: Bounded::new(limits.max_refresh_tokens, limits.max_refresh_token_bytes),
            codes: Bounded::new(limits.max_pending_codes, limits.max_pending_code_bytes),
            used_codes: Bounded::new(limits.max_used_codes, usize::MAX),
            families: HashMap::new(),
            next_family: 0,
        }
    }

    pub(super) fn new_family(&mut self) -> u64 {
        self.next_family += 1;
        self.next_family
    }

    fn named(&mut self, family: u64) {
        self.families.entry(family).or_default().entries += 1;
    }

    fn forgotten(&mut self, family: u64) {
        if let Some(f) = self.families.get_mut(&family) {
            f.entries = f.entries.saturating_sub(1);
            if f.entries == 0 {
                self.families.remove(&family);
            }
        }
    }

    /// Sweeps a few expired entries of every map (bounded work per call).
    pub(super) fn sweep(&mut self, now: Instant) {
        let mut gone: Vec<u64> = self.access.sweep(now).iter().map(|g| g.family).collect();
        gone.extend(self.refresh.sweep(now).iter().map(|g| g.family));
        gone.extend(self.used_codes.sweep(now));
        self.codes.sweep(now);
        for family in gone {
            self.forgotten(family);
        }
    }

    /// Whether a family was revoked (a reused code or refresh token).
    pub(super) fn revoked(&self, family: u64) -> bool {
        self.families.get(&family).is_some_and(|f| f.revoked)
    }

    /// Room for one access and one refresh token of `scope_bytes`, after a sweep.
    pub(super) fn room_for_tokens(&mut self, scope_bytes: usize, now: Instant) -> Result<(), Full> {
        self.sweep(now);
        self.access.room(0, now)?;
        self.refresh.room(scope_bytes, now)
    }

    /// Stores an access token (after [`Store::room_for_tokens`]); it is swept `keep` after
    /// it expires, so that until then it is reported as expired rather than unknown.
    pub(super) fn insert_access(&mut self, hash: Hash, grant: AccessGrant, swept_at: Instant) {
        self.named(grant.family);
        self.access.insert(hash, grant, swept_at, 0);
    }

    /// Stores a refresh token (after [`Store::room_for_tokens`]).
    pub(super) fn insert_refresh(&mut self, hash: Hash, grant: RefreshGrant) {
        self.named(grant.family);
        let bytes = grant.scope.as_ref().map_or(0, String::len);
        let expires_at = grant.expires_at;
        self.refresh.insert(hash, grant, expires_at, bytes);
    }

    /// Remembers an exchanged code until `until`, so that a second use revokes its family.
    /// Past the cap, the oldest remembered code is forgotten (it only loses that detection).
    pub(super) fn insert_used_code(&mut self, hash: Hash, family: u64, until: Instant) {
        if !self.used_codes.fits(0, None) {
            let oldest = self.used_codes.oldest().copied();
            if self.used_codes.evict_oldest_where(|_| true)
                && let Some(family) = oldest
            {
                self.forgotten(family);
            }
        }
        self.named(family);
        self.used_codes.insert(hash, family, until, 0);
    }

    /// Revokes every token of a family: they stay stored (counted) until swept, refused.
    pub(super) fn revoke_family(&mut self, family: u64) {
        if let Some(f) = self.families.get_mut(&family) {
            f.revoked = true;
        }
    }

    /// What the maps hold now.
    pub(super) fn usage(&self, usage: &mut StoreUsage) {
        usage.access_tokens = StoreCount::new(self.access.len(), 0);
        usage.refresh_tokens = StoreCount::new(self.refresh.len(), self.refresh.bytes());
        usage.pending_codes = StoreCount::new(self.codes.len(), self.codes.bytes());
        usage.used_codes = StoreCount::new(self.used_codes.len(), 0);
    }

    #[cfg(test)]
    pub(super) fn families(&self) -> usize {
        self.families.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::oauth::test_support::{client_credentials, server};

    #[tokio::test(start_paused = true)]
    async fn expired_tokens_and_their_families_are_swept() {
        let s = server();
        let issue = || client_credentials(&s, "cid:csecret").unwrap();
        for _ in 0..200 {
            issue();
        }
        assert_eq!(s.store().access.len(), 200);
        assert_eq!(s.store().families(), 200);
        // Past the refresh tokens' lifetime (and the access tokens' sweep horizon), each new
        // grant sweeps several old ones: the store shrinks back.
        tokio::time::advance(Duration::from_secs(25 * 3600)).await;
        for _ in 0..20 {
            issue();
        }
        let store = s.store();
        assert!(store.access.len() < 200, "{}", store.access.len());
        assert!(store.refresh.len() < 200, "{}", store.refresh.len());
        assert!(store.families() < 200, "{}", store.families());
    }
}
