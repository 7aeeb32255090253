//! What the caller keeps between sending a user to the authorize URL and the redirect back.

use std::fmt;

use crate::Secret;

/// The CSRF `state` and PKCE code verifier of one authorization-code login, returned by
/// [`crate::OAuth2Auth::authorize_url`] and handed back to [`crate::OAuth2Auth::exchange_code`].
///
/// Keep it where only this login can reach it (for a web app, the server-side session). `Debug`
/// is redacted. To keep it across processes, store [`PendingAuthorization::csrf_state`] and
/// [`PendingAuthorization::pkce_verifier`] and rebuild it with
/// [`PendingAuthorization::from_parts`].
#[derive(Clone, PartialEq, Eq)]
pub struct PendingAuthorization {
    csrf_state: Secret,
    pkce_verifier: Secret,
}

impl PendingAuthorization {
    /// Rebuilds a pending authorization from its two values.
    pub fn from_parts(csrf_state: impl Into<Secret>, pkce_verifier: impl Into<Secret>) -> Self {
        Self {
            csrf_state: csrf_state.into(),
            pkce_verifier: pkce_verifier.into(),
        }
    }

    /// The `state` sent in the authorize URL; the redirect back must carry the same value.
    pub fn csrf_state(&self) -> &Secret {
        &self.csrf_state
    }

    /// The PKCE `code_verifier` whose S256 challenge went into the authorize URL.
    pub fn pkce_verifier(&self) -> &Secret {
        &self.pkce_verifier
    }
}

impl fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("csrf_state", &self.csrf_state)
            .field("pkce_verifier", &self.pkce_verifier)
            .finish()
    }
}
