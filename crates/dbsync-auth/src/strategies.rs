//! The simple strategies: no auth, HTTP Basic, and Bearer tokens (API keys too).

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use base64::Engine as _;

use crate::{Auth, AuthError, AuthRequest, Secret};

/// Sends no credentials.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAuth;

#[async_trait]
impl Auth for NoAuth {
    async fn authorize(&self, _request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        Ok(())
    }
    fn scheme(&self) -> &'static str {
        "none"
    }
    fn sends_credentials(&self) -> bool {
        false
    }
}

/// HTTP Basic authentication (RFC 7617): `Authorization: Basic base64(username:password)`.
///
/// ```
/// let auth = dbsync_auth::BasicAuth::new("demo", "p@55w0rd").unwrap();
/// assert_eq!(auth.header_value().expose(), "Basic ZGVtbzpwQDU1dzByZA==");
/// ```
#[derive(Debug, Clone)]
pub struct BasicAuth {
    username: String,
    header: Secret,
}

impl BasicAuth {
    /// Builds the strategy. A username containing `:` cannot be sent (RFC 7617), so it is refused.
    pub fn new(
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Result<Self, AuthError> {
        let username = username.into();
        let password = password.into();
        if username.contains(':') {
            return Err(AuthError::config(
                "a BasicAuth username must not contain ':' (RFC 7617); check the username",
            ));
        }
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{username}:{}", password.expose()));
        Ok(Self {
            username,
            header: Secret::new(format!("Basic {encoded}")),
        })
    }

    /// The username (not secret).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The full `Authorization` header value.
    pub fn header_value(&self) -> &Secret {
        &self.header
    }
}

#[async_trait]
impl Auth for BasicAuth {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        request.set_header("authorization", self.header.expose())
    }
    fn scheme(&self) -> &'static str {
        "basic"
    }
}

/// A Bearer token or API key: `Authorization: Bearer <token>`.
///
/// The token can be replaced at run time with [`BearerAuth::rotate`] (for example right after
/// an API key was regenerated); clones share the token, so a client holding a clone picks the
/// new one up on its next attempt.
#[derive(Debug, Clone)]
pub struct BearerAuth {
    token: Arc<RwLock<Secret>>,
}

impl BearerAuth {
    /// Builds the strategy from a token or API key.
    pub fn new(token: impl Into<Secret>) -> Self {
        Self {
            token: Arc::new(RwLock::new(token.into())),
        }
    }

    /// Replaces the token for every clone of this strategy, effective on the next attempt.
    pub fn rotate(&self, token: impl Into<Secret>) {
        let token = token.into();
        match self.token.write() {
            Ok(mut guard) => *guard = token,
            Err(poisoned) => *poisoned.into_inner() = token,
        }
    }

    fn current(&self) -> Secret {
        match self.token.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

#[async_trait]
impl Auth for BearerAuth {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        let token = self.current();
        if token.is_empty() {
            return Err(AuthError::config(
                "the Bearer token is empty; set a token or API key",
            ));
        }
        request.set_header("authorization", &format!("Bearer {}", token.expose()))
    }
    fn scheme(&self) -> &'static str {
        "bearer"
    }
}
