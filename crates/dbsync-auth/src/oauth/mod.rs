//! OAuth 2.0: access tokens from a token endpoint, sent as `Authorization: Bearer <token>`.
//!
//! Built on the `oauth2` crate for the protocol (request encoding, PKCE, response parsing); this
//! module adds the token cache, single-flight renewal, the [`crate::TokenStore`] hook and error
//! messages that say what to do.

/// The bridge from a `reqwest::Client` to the `oauth2` crate's HTTP client trait.
mod adapter;
/// One entry point per grant, [`OAuth2AuthBuilder`] and its checks.
mod builder;
/// The token cache: tokens held now, taken over from the store, installed from a response.
mod cache;
/// The authorization-code flow with PKCE: authorize URL, then code exchange.
mod code_flow;
/// Token endpoint failures turned into errors that say what to do, with no secret in them.
mod endpoint_error;
/// The grants: their kinds and RFC 6749 names, as configured, as checked, as one request.
mod grant;
/// What the caller keeps between the authorize URL and the redirect back.
mod pending;
/// Single-flight renewal of the access token, and what a `401` renews.
mod renewal;
/// The [`OAuth2Auth`] type: its shared state, accessors, `Auth` impl and redacted `Debug`.
mod strategy;
/// One request to the token endpoint.
mod token_request;

pub use builder::{DEFAULT_REFRESH_BUFFER, DEFAULT_TOKEN_TIMEOUT, OAuth2AuthBuilder};
pub use pending::PendingAuthorization;
pub use strategy::OAuth2Auth;
