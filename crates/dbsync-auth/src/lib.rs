//! Authentication for DBSync clients.
//!
//! The [`Auth`] trait is what the client calls on every attempt of every request: it adds
//! credentials to the outgoing request, is told when the server answered `401` (so a strategy
//! that can refresh does so), and names its scheme for logs. The four strategies the product
//! names live beside it: [`NoAuth`], [`BasicAuth`], [`BearerAuth`] (tokens and API keys) and
//! [`OAuth2Auth`] (client credentials, refresh tokens, authorization code with PKCE; tokens
//! cached, renewed once for many concurrent requests, and persisted through a [`TokenStore`]).
//!
//! Secrets are held in [`Secret`], whose `Debug` and `Display` are redacted; no strategy, error
//! or log line of this crate shows one.
#![deny(missing_docs)]

/// The one error type of this crate.
mod error;
/// OAuth 2.0: the [`OAuth2Auth`] strategy, its builder, token cache, renewal and code flow.
mod oauth;
pub mod private_file;
/// The view of an outgoing request that a strategy may change.
mod request;
/// A string that is never shown: passwords, tokens, client secrets, API keys.
mod secret;
/// The simple strategies: no auth, HTTP Basic, Bearer tokens and API keys.
mod strategies;
/// Persisting OAuth 2.0 tokens across restarts and between processes.
mod token_store;
/// Refusing to send credentials where they could be read on the wire.
mod transport;

pub use error::AuthError;
pub use oauth::{
    DEFAULT_REFRESH_BUFFER, DEFAULT_TOKEN_TIMEOUT, OAuth2Auth, OAuth2AuthBuilder,
    PendingAuthorization,
};
pub use request::AuthRequest;
pub use secret::Secret;
pub use strategies::{BasicAuth, BearerAuth, NoAuth, ROTATION_WAIT_LIMIT, Rotation};
pub use token_store::{FileTokenStore, MemoryTokenStore, StoredToken, TokenStore};
pub use transport::ensure_secure_transport;

use async_trait::async_trait;

/// A way of authenticating requests to DBSync.
///
/// The client calls [`Auth::authorize`] afresh on every attempt of every request (a retry never
/// resends stale credentials), and only for requests to the connection's own origin. When the
/// server answers `401`, the client calls [`Auth::on_unauthorized`]; if it returns `Ok(true)` the
/// request is retried once, and only once.
///
/// Implement it to plug any scheme into the client, for example an API key in a custom header:
///
/// ```
/// use dbsync_auth::{Auth, AuthError, AuthRequest};
///
/// #[derive(Debug)]
/// struct ApiKeyHeader(dbsync_auth::Secret);
///
/// #[async_trait::async_trait]
/// impl Auth for ApiKeyHeader {
///     async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
///         request.set_header("x-api-key", self.0.expose())
///     }
///     fn scheme(&self) -> &'static str {
///         "api-key"
///     }
/// }
/// ```
#[async_trait]
pub trait Auth: Send + Sync + std::fmt::Debug {
    /// Adds credentials to an outgoing request. Called on every attempt.
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<(), AuthError>;

    /// The server answered `401` to a request authorized by this strategy.
    ///
    /// Return `Ok(true)` when the credentials changed (a token was refreshed, another process
    /// rotated it) so that one more attempt is worthwhile; `Ok(false)` (the default) when
    /// retrying cannot help.
    async fn on_unauthorized(&self) -> Result<bool, AuthError> {
        Ok(false)
    }

    /// Like [`Auth::on_unauthorized`], told which credentials the rejected request carried (its
    /// headers as sent), so a strategy can tell a stale credential (already replaced by another
    /// task: just retry) from the current one (renew it). Clients should call this one; the
    /// default calls [`Auth::on_unauthorized`].
    async fn on_unauthorized_for(&self, sent_headers: &http::HeaderMap) -> Result<bool, AuthError> {
        let _ = sent_headers;
        self.on_unauthorized().await
    }

    /// A short name of the scheme for logs and reports (`none`, `basic`, `bearer`, `oauth2`...).
    /// Never a credential.
    fn scheme(&self) -> &'static str;

    /// Whether this strategy sends credentials at all. The client refuses to send credentials
    /// over plain `http://` to a non-loopback host; a strategy that sends none (like [`NoAuth`])
    /// returns `false` and is allowed anywhere.
    fn sends_credentials(&self) -> bool {
        true
    }
}

#[async_trait]
impl<T: Auth + ?Sized> Auth for std::sync::Arc<T> {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        (**self).authorize(request).await
    }
    async fn on_unauthorized(&self) -> Result<bool, AuthError> {
        (**self).on_unauthorized().await
    }
    async fn on_unauthorized_for(&self, sent_headers: &http::HeaderMap) -> Result<bool, AuthError> {
        (**self).on_unauthorized_for(sent_headers).await
    }
    fn scheme(&self) -> &'static str {
        (**self).scheme()
    }
    fn sends_credentials(&self) -> bool {
        (**self).sends_credentials()
    }
}

/// The README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
