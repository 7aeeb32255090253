//! The settings of the oauth2 mode: the one registered client, its redirect URIs, token and
//! code lifetimes, the caps of the token store, and the user an authorization code is issued
//! for.

use std::fmt;
use std::time::Duration;

use crate::StoreLimits;

/// Settings of the sandbox's OAuth 2.0 mode: the one registered client, token and code
/// lifetimes, and the user an authorization code is issued for. `Debug` hides the secret.
#[derive(Clone)]
pub(crate) struct OAuth2Settings {
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) token_ttl: Duration,
    pub(super) code_ttl: Duration,
    pub(super) user: String,
    /// The registered redirect URIs (exact match); empty: any loopback URI (RFC 8252).
    pub(super) redirect_uris: Vec<String>,
    pub(super) limits: StoreLimits,
}

impl OAuth2Settings {
    /// The registered client; access tokens live one hour, codes one minute.
    pub(crate) fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            token_ttl: Duration::from_secs(3600),
            code_ttl: Duration::from_secs(60),
            user: "sandbox-user".to_owned(),
            redirect_uris: Vec::new(),
            limits: StoreLimits::default(),
        }
    }

    /// How long an access token is accepted (default one hour).
    pub(crate) fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl.min(crate::MAX_DURATION);
        self
    }

    /// The only redirect URIs accepted (exact match); none: any loopback URI.
    pub(crate) fn redirect_uris(mut self, uris: Vec<String>) -> Self {
        self.redirect_uris = uris;
        self
    }

    /// The caps of the token store and the refresh-token lifetime.
    pub(crate) fn limits(mut self, limits: StoreLimits) -> Self {
        self.limits = StoreLimits {
            refresh_token_ttl: limits.refresh_token_ttl.min(crate::MAX_DURATION),
            ..limits
        };
        self
    }
}

impl fmt::Debug for OAuth2Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Settings")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("token_ttl", &self.token_ttl)
            .field("code_ttl", &self.code_ttl)
            .field("user", &self.user)
            .field("redirect_uris", &self.redirect_uris)
            .field("limits", &self.limits)
            .finish()
    }
}
