//! The authorize endpoint's logic: checks the authorization request and answers `302` to the
//! `redirect_uri` with a fresh code, or with an error (RFC 6749 4.1.2), for the configured user.
//! An unregistered or overlong `redirect_uri` is a `400` page, never a redirect; when the
//! pending codes are at their cap the redirect carries `temporarily_unavailable`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::error::{OAuthError, no_store};
use super::params::Params;
use super::pkce::valid_challenge;
use super::server::OAuthServer;
use super::store::CodeGrant;
use crate::auth::secrets_equal;
use crate::bounded::later;
use crate::ops_util::{random_secret, sha256};

impl OAuthServer {
    /// The authorize endpoint: a redirect with a code, or an error (RFC 6749 4.1.2.1).
    pub(super) fn authorize(&self, raw_query: &str) -> Response {
        let params = Params::parse(raw_query.as_bytes());
        let lookup = |name: &str| match &params {
            Ok(p) => p.get(name).map(str::to_owned),
            Err(_) => None,
        };
        // Errors about the client or the redirect URI are shown, never redirected.
        let Some(client_id) = lookup("client_id") else {
            return OAuthError::new("invalid_request", "Missing required parameter `client_id`")
                .into_response();
        };
        if !secrets_equal(&client_id, &self.settings.client_id) {
            return OAuthError::new("unauthorized_client", "Unknown client_id").into_response();
        }
        let Some(redirect_text) = lookup("redirect_uri") else {
            return OAuthError::new(
                "invalid_request",
                "Missing required parameter `redirect_uri`",
            )
            .into_response();
        };
        let redirect = match super::redirect::check(&self.settings, &redirect_text) {
            Ok(url) => url,
            Err(error) => return error.into_response(),
        };
        let state = lookup("state");
        let outcome = match params {
            Err(message) => Err(OAuthError::new("invalid_request", message)),
            Ok(params) => self.authorize_checked(&params, &redirect_text),
        };
        let mut location = redirect;
        {
            let mut pairs = location.query_pairs_mut();
            match &outcome {
                Ok(code) => {
                    pairs.append_pair("code", code);
                }
                Err(error) => {
                    pairs.append_pair("error", error.error);
                    pairs.append_pair("error_description", &error.description);
                }
            }
            if let Some(state) = &state {
                pairs.append_pair("state", state);
            }
        }
        let mut response = StatusCode::FOUND.into_response();
        if let Ok(value) = HeaderValue::from_str(location.as_str()) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        no_store(response.headers_mut());
        response
    }

    fn authorize_checked(&self, params: &Params, redirect_uri: &str) -> Result<String, OAuthError> {
        match params.get("response_type") {
            Some("code") => {}
            Some(other) => {
                return Err(OAuthError::new(
                    "unsupported_response_type",
                    format!("response_type `{other}` is not supported; use `code`"),
                ));
            }
            None => {
                return Err(OAuthError::new(
                    "invalid_request",
                    "Missing required parameter `response_type`",
                ));
            }
        }
        let challenge = params.get("code_challenge").ok_or_else(|| {
            OAuthError::new(
                "invalid_request",
                "PKCE is required: send code_challenge and code_challenge_method=S256",
            )
        })?;
        if params.get("code_challenge_method") != Some("S256") {
            return Err(OAuthError::new(
                "invalid_request",
                "code_challenge_method must be S256; the plain method is not accepted",
            ));
        }
        if !valid_challenge(challenge) {
            return Err(OAuthError::new(
                "invalid_request",
                "code_challenge must be BASE64URL(SHA256(code_verifier)) without padding",
            ));
        }
        let scope = params.scope()?;
        let code = random_secret("ac_");
        let grant = CodeGrant {
            redirect_uri: redirect_uri.to_owned(),
            challenge: challenge.to_owned(),
            scope,
            expires_at: later(Instant::now(), self.settings.code_ttl),
        };
        let (bytes, expires_at) = (grant.bytes(), grant.expires_at);
        let mut store = self.store();
        store.sweep(Instant::now());
        store
            .codes
            .try_insert(sha256(&code), grant, expires_at, bytes, Instant::now())
            .map_err(|full| OAuthError::full("pending authorization codes", full))?;
        tracing::debug!(user = %self.settings.user, "issued an authorization code");
        Ok(code)
    }
}
