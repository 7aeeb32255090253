//! The settings of the oauth2 mode: the one registered client, token and code lifetimes, and
//! the user an authorization code is issued for.

use std::fmt;
use std::time::Duration;

/// Settings of the sandbox's OAuth 2.0 mode: the one registered client, token and code
/// lifetimes, and the user an authorization code is issued for. `Debug` hides the secret.
#[derive(Clone)]
pub(crate) struct OAuth2Settings {
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) token_ttl: Duration,
    pub(super) code_ttl: Duration,
    pub(super) user: String,
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
        }
    }

    /// How long an access token is accepted (default one hour).
    pub(crate) fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl.min(crate::MAX_DURATION);
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
            .finish()
    }
}
