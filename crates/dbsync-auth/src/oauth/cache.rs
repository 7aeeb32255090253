//! The token cache: the access and refresh tokens held now, what is taken over from the
//! [`TokenStore`](crate::TokenStore), and how a token response is checked, cached and saved.

use std::time::SystemTime;

use ::oauth2::TokenResponse as _;
use ::oauth2::basic::{BasicTokenResponse, BasicTokenType};
use tokio::time::Instant;

use super::grant::Grant;
use crate::{AuthError, OAuth2Auth, Secret, StoredToken};

/// The tokens an [`OAuth2Auth`] holds now.
#[derive(Default)]
pub(super) struct Tokens {
    pub(super) access: Option<CachedAccess>,
    pub(super) refresh: Option<Secret>,
}

/// An access token and when to stop using it.
#[derive(Clone)]
pub(super) struct CachedAccess {
    pub(super) token: Secret,
    /// When to stop using the token (read on tokio's clock, so tests can pause it).
    renew_at: Option<Instant>,
}

impl CachedAccess {
    fn is_fresh(&self) -> bool {
        self.renew_at.is_none_or(|at| Instant::now() < at)
    }
}

impl OAuth2Auth {
    /// The access token held now, fresh or not.
    pub(super) fn current_access(&self) -> Option<Secret> {
        self.read_tokens(|t| t.access.as_ref().map(|a| a.token.clone()))
    }

    /// The access token held now, if it is not about to expire.
    pub(super) fn fresh_access(&self) -> Option<Secret> {
        self.read_tokens(|t| {
            t.access
                .as_ref()
                .filter(|a| a.is_fresh())
                .map(|a| a.token.clone())
        })
    }

    pub(super) fn read_tokens<T>(&self, read: impl FnOnce(&Tokens) -> T) -> T {
        match self.inner.tokens.read() {
            Ok(guard) => read(&guard),
            Err(poisoned) => read(&poisoned.into_inner()),
        }
    }

    pub(super) fn write_tokens<T>(&self, write: impl FnOnce(&mut Tokens) -> T) -> T {
        match self.inner.tokens.write() {
            Ok(mut guard) => write(&mut guard),
            Err(poisoned) => write(&mut poisoned.into_inner()),
        }
    }
    /// Takes over what the store holds: its refresh token (the newest one), and its access token
    /// when that is fresh and not the one just rejected.
    pub(super) fn adopt_stored(
        &self,
        stored: StoredToken,
        rejected: Option<&Secret>,
    ) -> Option<Secret> {
        let remaining = stored
            .expires_at
            .map(|at| at.duration_since(SystemTime::now()).unwrap_or_default());
        let fresh = remaining.is_none_or(|r| r > self.inner.refresh_buffer);
        let usable =
            fresh && !stored.access_token.is_empty() && Some(&stored.access_token) != rejected;
        let grant = self.grant();
        self.write_tokens(|t| {
            if let Some(refresh) = stored.refresh_token
                && !matches!(self.inner.grant, Grant::ClientCredentials)
            {
                t.refresh = Some(refresh);
            }
            if !usable {
                return None;
            }
            let now = Instant::now();
            t.access = Some(CachedAccess {
                token: stored.access_token.clone(),
                renew_at: remaining
                    .and_then(|r| now.checked_add(r.saturating_sub(self.inner.refresh_buffer))),
            });
            tracing::debug!(
                scheme = "oauth2",
                grant,
                expires_in_secs = remaining.map(|r| r.as_secs()),
                "using the OAuth 2.0 access token from the token store"
            );
            Some(stored.access_token)
        })
    }

    /// Caches a token response (keeping the old refresh token unless a new one came) and saves
    /// it to the store. The lifetime counts from when the request was sent, to err on the early
    /// side.
    pub(super) async fn install(
        &self,
        response: BasicTokenResponse,
        grant: &'static str,
        requested_at: Instant,
    ) -> Result<Secret, AuthError> {
        let status = 200;
        if *response.token_type() != BasicTokenType::Bearer {
            return Err(AuthError::InvalidTokenResponse {
                status,
                reason: format!(
                    "the token type is `{}`, but only Bearer tokens are supported",
                    response.token_type().as_ref()
                ),
            });
        }
        let access = Secret::new(response.access_token().secret().as_str());
        if access.is_empty() {
            return Err(AuthError::InvalidTokenResponse {
                status,
                reason: "the access_token is empty".to_owned(),
            });
        }
        let lifetime = response.expires_in();
        let rotated = response
            .refresh_token()
            .map(|r| Secret::new(r.secret().as_str()))
            .filter(|r| !r.is_empty());
        let scopes = match response.scopes() {
            Some(scopes) => scopes.iter().map(|s| s.to_string()).collect(),
            None => self.inner.scopes.clone(),
        };

        let now = Instant::now();
        // A lifetime too long for the clock (a hostile `expires_in`) counts as no expiry.
        let renew_at = lifetime.and_then(|lifetime| {
            requested_at.checked_add(
                lifetime
                    .saturating_sub(self.inner.refresh_buffer)
                    .max(lifetime / 2),
            )
        });
        let rotated_refresh = rotated.is_some();
        let refresh = self.write_tokens(|t| {
            t.access = Some(CachedAccess {
                token: access.clone(),
                renew_at,
            });
            if !matches!(self.inner.grant, Grant::ClientCredentials)
                && let Some(rotated) = rotated
            {
                t.refresh = Some(rotated);
            }
            t.refresh.clone()
        });
        tracing::debug!(
            scheme = "oauth2",
            grant,
            expires_in_secs = lifetime.map(|l| l.as_secs()),
            renew_in_secs = renew_at.map(|at| at.saturating_duration_since(now).as_secs()),
            refresh_token_received = rotated_refresh,
            "obtained an OAuth 2.0 access token"
        );

        if let Some(store) = &self.inner.store {
            let stored = StoredToken {
                access_token: access.clone(),
                refresh_token: refresh,
                expires_at: lifetime.and_then(|l| SystemTime::now().checked_add(l)),
                scopes,
            };
            // The token is good even if it cannot be saved: keep going, but say so.
            if let Err(error) = store.save(&stored).await {
                tracing::warn!(
                    scheme = "oauth2",
                    %error,
                    "could not save the OAuth 2.0 token to the token store; it is used but will \
                     not survive a restart"
                );
            }
        }
        Ok(access)
    }
}
