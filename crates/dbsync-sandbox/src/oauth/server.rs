//! The OAuth 2.0 state of a sandbox (settings plus issued tokens and codes), and the check of
//! access tokens presented to the API.

use std::sync::{Mutex, MutexGuard};

use tokio::time::Instant;

use super::settings::OAuth2Settings;
use super::store::Store;
use crate::ops_util::sha256;
use crate::scopes::Scopes;

/// What the server knows about a bearer token presented to the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenStatus {
    /// Issued here and not expired, with the scopes it was granted.
    Active(Scopes),
    /// Issued here, but its lifetime is over.
    Expired,
    /// Never issued here, or revoked.
    Unknown,
}

/// The OAuth 2.0 state of a sandbox: settings plus issued tokens and codes.
#[derive(Debug)]
pub(crate) struct OAuthServer {
    pub(super) settings: OAuth2Settings,
    store: Mutex<Store>,
}

impl OAuthServer {
    pub(crate) fn new(settings: OAuth2Settings) -> Self {
        let store = Store::new(&settings.limits);
        Self {
            settings,
            store: Mutex::new(store),
        }
    }

    pub(super) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `token` is an access token issued here, and whether it is still alive (a token
    /// of a revoked family is unknown).
    pub(crate) fn check_access_token(&self, token: &str) -> TokenStatus {
        let store = self.store();
        match store.access.get(&sha256(token)) {
            Some((grant, _)) if store.revoked(grant.family) => TokenStatus::Unknown,
            Some((grant, _)) if Instant::now() < grant.expires_at => {
                TokenStatus::Active(grant.scopes)
            }
            Some(_) => TokenStatus::Expired,
            None => TokenStatus::Unknown,
        }
    }

    /// What the token store holds now.
    pub(crate) fn usage(&self, usage: &mut crate::StoreUsage) {
        self.store().usage(usage);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::oauth::test_support::{client_credentials, server};

    #[tokio::test(start_paused = true)]
    async fn access_tokens_expire_on_the_paused_clock() {
        let s = server();
        let body = client_credentials(&s, "cid:csecret").unwrap();
        let token = body["access_token"].as_str().unwrap().to_owned();
        assert_eq!(body["expires_in"], 10);
        assert_eq!(
            s.check_access_token(&token),
            TokenStatus::Active(Scopes::all())
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(s.check_access_token(&token), TokenStatus::Expired);
        assert_eq!(s.check_access_token("at_other"), TokenStatus::Unknown);
    }

    #[test]
    fn debug_never_shows_secrets_or_tokens() {
        let s = server();
        let body = client_credentials(&s, "cid:csecret").unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("csecret"), "{debug}");
        assert!(!debug.contains(body["access_token"].as_str().unwrap()));
        assert!(!debug.contains(body["refresh_token"].as_str().unwrap()));
    }
}
