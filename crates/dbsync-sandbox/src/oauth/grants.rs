//! The grants of the token endpoint: `client_credentials`, `refresh_token` (rotating) and
//! `authorization_code` (single-use codes, PKCE S256, same `redirect_uri`).

use tokio::time::Instant;

use super::error::OAuthError;
use super::params::Params;
use super::pkce::{s256_challenge, valid_verifier};
use super::server::OAuthServer;
use super::token::granted_scopes;
use crate::bounded::later;
use crate::ops_util::{constant_time_eq, sha256};

impl OAuthServer {
    pub(super) fn client_credentials(
        &self,
        params: &Params,
    ) -> Result<serde_json::Value, OAuthError> {
        let scope = params.scope()?;
        let mut store = self.store();
        let family = store.new_family();
        self.issue(&mut store, scope, family)
    }

    pub(super) fn refresh(&self, params: &Params) -> Result<serde_json::Value, OAuthError> {
        let token = params.require("refresh_token")?;
        let requested = params.scope()?;
        let mut store = self.store();
        let hash = sha256(token);
        let now = Instant::now();
        let unknown = || {
            OAuthError::new(
                "invalid_grant",
                "The refresh token is unknown, revoked or already used; get a new grant",
            )
        };
        let (grant, _) = store.refresh.get(&hash).ok_or_else(unknown)?;
        if store.revoked(grant.family) {
            return Err(unknown());
        }
        if now >= grant.expires_at {
            return Err(OAuthError::new(
                "invalid_grant",
                "The refresh token has expired (a grant can be refreshed for a limited time); \
                 get a new grant",
            ));
        }
        if grant.rotated {
            // RFC 9700 4.14.2: a rotated token presented again means two parties hold the
            // grant; every token of its family dies.
            let family = grant.family;
            store.revoke_family(family);
            tracing::warn!(
                family,
                "a rotated refresh token was reused; its grant is revoked"
            );
            return Err(OAuthError::new(
                "invalid_grant",
                "The refresh token was already used; every token of its grant is revoked \
                 (refresh-token reuse, RFC 9700 section 4.14.2)",
            ));
        }
        let scope = match requested {
            None => grant.scope.clone(),
            Some(requested) => {
                // A grant without `scope` holds the client's default scopes (every scope).
                let granted = granted_scopes(grant.scope.as_deref());
                if !granted_scopes(Some(&requested))
                    .missing_from(granted)
                    .is_empty()
                {
                    return Err(OAuthError::new(
                        "invalid_scope",
                        "A refresh may only narrow the scope originally granted",
                    ));
                }
                Some(requested)
            }
        };
        let (family, until, original) = (grant.family, grant.expires_at, grant.scope.clone());
        // The new refresh token keeps the original grant, even when this access token is
        // narrowed (RFC 6749 section 6).
        let body = self.issue_until(&mut store, scope, original, family, until)?;
        // Rotation: the presented refresh token dies now, and is remembered to detect reuse.
        if let Some(grant) = store.refresh.get_mut(&hash) {
            grant.rotated = true;
        }
        Ok(body)
    }

    pub(super) fn exchange_code(&self, params: &Params) -> Result<serde_json::Value, OAuthError> {
        let code = params.require("code")?;
        let redirect_uri = params.require("redirect_uri")?;
        let verifier = params.get("code_verifier").ok_or_else(|| {
            OAuthError::new(
                "invalid_request",
                "PKCE is required: send the code_verifier of the authorization request",
            )
        })?;
        let hash = sha256(code);
        let mut store = self.store();
        let now = Instant::now();
        if let Some(family) = store.used_codes.get_live(&hash, now).copied() {
            store.revoke_family(family);
            return Err(OAuthError::new(
                "invalid_grant",
                "The authorization code was already used; tokens issued from it are revoked",
            ));
        }
        let grant = store
            .codes
            .remove(&hash)
            .ok_or_else(|| OAuthError::new("invalid_grant", "The authorization code is unknown"))?;
        // Single use: from now on the code only revokes what it produced, for as long as
        // anything it produced can live.
        let family = store.new_family();
        let until = later(
            later(now, self.settings.limits.refresh_token_ttl),
            self.settings.token_ttl,
        );
        store.insert_used_code(hash, family, until);
        if Instant::now() >= grant.expires_at {
            return Err(OAuthError::new(
                "invalid_grant",
                "The authorization code has expired; start the authorization again",
            ));
        }
        if redirect_uri != grant.redirect_uri {
            return Err(OAuthError::new(
                "invalid_grant",
                "redirect_uri differs from the one of the authorization request",
            ));
        }
        if !valid_verifier(verifier)
            || !constant_time_eq(
                s256_challenge(verifier).as_bytes(),
                grant.challenge.as_bytes(),
            )
        {
            return Err(OAuthError::new(
                "invalid_grant",
                "PKCE verification failed: code_verifier does not match the code_challenge",
            ));
        }
        self.issue(&mut store, grant.scope, family)
    }
}
