//! OAuth 2.0 authorization server of the sandbox (RFC 6749 with PKCE, RFC 7636).
//!
//! - `POST /oauth/token`: form-encoded; the client authenticates with HTTP Basic
//!   `client_id:client_secret` or with `client_id`/`client_secret` form fields (one of the two).
//!   Grants: `client_credentials` (optional `scope`), `refresh_token` (rotating: the old refresh
//!   token dies, and presenting it again revokes its whole grant) and `authorization_code`
//!   (PKCE S256 required, single-use codes, same `redirect_uri`).
//! - `GET /oauth/authorize`: answers `302` to a registered (by default: loopback)
//!   `redirect_uri` with `code` and `state` for the configured user, without a login page.
//!
//! Only SHA-256 hashes of tokens and codes are stored; the client secret is compared in constant
//! time. Lifetimes use tokio's clock, so tests can pause and advance it.

/// The authorize endpoint's logic: checks the request, redirects with a code or an error.
mod authorize;
/// Client authentication at the token endpoint: HTTP Basic or form fields.
mod client_auth;
/// The axum handlers of both endpoints and their router.
mod endpoints;
/// The RFC 6749 error of both endpoints and the `no-store` headers.
mod error;
/// The `client_credentials`, `refresh_token` and `authorization_code` grants.
mod grants;
/// Request parameters of both endpoints and the `scope` syntax.
mod params;
/// PKCE: the S256 challenge, verifier and challenge shapes.
mod pkce;
/// Which redirect URIs get a code: the registered ones, or loopback by default.
mod redirect;
/// The server's state and the check of presented access tokens.
mod server;
/// The registered client, lifetimes and user of the oauth2 mode.
mod settings;
/// Hashes of issued tokens and codes, in token families, capped and swept.
mod store;
/// Test helpers shared by the modules' tests.
#[cfg(test)]
mod test_support;
/// The token endpoint's logic: request checks, grant dispatch, token issuing.
mod token;

pub(crate) use endpoints::routes;
pub(crate) use server::{OAuthServer, TokenStatus};
pub(crate) use settings::OAuth2Settings;

/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/oauth/token";
/// Path of the authorization endpoint.
pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
