//! OAuth 2.0: access tokens from a token endpoint, sent as `Authorization: Bearer <token>`.
//!
//! Built on the `oauth2` crate for the protocol (request encoding, PKCE, response parsing); this
//! module adds the token cache, single-flight renewal, the [`crate::TokenStore`] hook and error
//! messages that say what to do.
//!
//! Modules:
//! - `adapter`: the bridge from a `reqwest::Client` to the `oauth2` crate's HTTP client trait.
//! - `builder`: one entry point per grant, [`OAuth2AuthBuilder`] and its checks.
//! - `cache`: the token cache: tokens held now, taken over from the store, installed from a response.
//! - `code_flow`: the authorization-code flow with PKCE: authorize URL, then code exchange.
//! - `endpoint_error`: token endpoint failures turned into errors that say what to do, with no secret in them.
//! - `grant`: the grants: their kinds and RFC 6749 names, as configured, as checked, as one request.
//! - `pending`: what the caller keeps between the authorize URL and the redirect back.
//! - `renewal`: single-flight renewal of the access token, and what a `401` renews.
//! - `strategy`: the [`OAuth2Auth`] type: its shared state, accessors, `Auth` impl and redacted `Debug`.
//! - `token_request`: one request to the token endpoint.

mod adapter;
mod builder;
mod cache;
mod code_flow;
mod endpoint_error;
mod grant;
mod pending;
mod renewal;
mod strategy;
mod token_request;

pub use builder::{DEFAULT_REFRESH_BUFFER, DEFAULT_TOKEN_TIMEOUT, OAuth2AuthBuilder};
pub use pending::PendingAuthorization;
pub use strategy::OAuth2Auth;
