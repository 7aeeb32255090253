//! The token endpoint's logic: checks the request, authenticates the client, dispatches on
//! `grant_type`, and issues access and refresh tokens.

use std::time::Duration;

use axum::http::{HeaderMap, header};
use serde_json::json;
use tokio::time::Instant;

use super::error::OAuthError;
use super::params::Params;
use super::server::OAuthServer;
use super::store::{AccessGrant, RefreshGrant, Store};
use crate::bounded::{later, whole_secs_up};
use crate::ops_util::{random_secret, sha256};
use crate::scopes::Scopes;

/// The scopes of a grant: those of its `scope` (already checked by [`Params::scope`]), or the
/// client's default, every scope, when it asked for none.
pub(super) fn granted_scopes(scope: Option<&str>) -> Scopes {
    scope.map_or(Scopes::all(), |s| {
        Scopes::from_scope_param(s).unwrap_or(Scopes::none())
    })
}

/// How long an expired access token is remembered as expired before it is swept.
const EXPIRED_KEPT_FOR: Duration = Duration::from_secs(3600);

impl OAuthServer {
    /// Issues an access token and a refresh token of a new grant's `family`, both with `scope`.
    pub(super) fn issue(
        &self,
        store: &mut Store,
        scope: Option<String>,
        family: u64,
    ) -> Result<serde_json::Value, OAuthError> {
        let until = later(Instant::now(), self.settings.limits.refresh_token_ttl);
        self.issue_until(store, scope.clone(), scope, family, until)
    }

    /// Issues an access token with `scope` and a refresh token of `family` that keeps
    /// `grant_scope`, the original grant (a refresh that narrows the scope narrows only the access
    /// token, RFC 6749 section 6), refreshable until `until`; a `503` when the store is full
    /// (nothing is issued then).
    pub(super) fn issue_until(
        &self,
        store: &mut Store,
        scope: Option<String>,
        grant_scope: Option<String>,
        family: u64,
        until: Instant,
    ) -> Result<serde_json::Value, OAuthError> {
        let now = Instant::now();
        let scope_bytes = scope.as_ref().map_or(0, String::len);
        store
            .room_for_tokens(scope_bytes, now)
            .map_err(|full| OAuthError::full("tokens", full))?;
        let access_token = random_secret("at_");
        let refresh_token = random_secret("rt_");
        let expires_at = later(now, self.settings.token_ttl);
        // Kept an hour past expiry, so that a late use is told "expired", not "unknown".
        store.insert_access(
            sha256(&access_token),
            AccessGrant {
                expires_at,
                family,
                scopes: granted_scopes(scope.as_deref()),
            },
            later(expires_at, EXPIRED_KEPT_FOR),
        );
        store.insert_refresh(
            sha256(&refresh_token),
            RefreshGrant {
                scope: grant_scope,
                family,
                expires_at: until,
                rotated: false,
            },
        );
        let ttl = self.settings.token_ttl;
        let expires_in = whole_secs_up(ttl);
        let mut body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "refresh_token": refresh_token,
        });
        if let (Some(scope), Some(map)) = (scope, body.as_object_mut()) {
            map.insert("scope".to_owned(), json!(scope));
        }
        Ok(body)
    }

    pub(super) fn token(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<serde_json::Value, OAuthError> {
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(OAuthError::new(
                "invalid_request",
                "The token request must be form-encoded: Content-Type: application/x-www-form-urlencoded",
            ));
        }
        let params = Params::parse(body).map_err(|m| OAuthError::new("invalid_request", m))?;
        let grant_type = params.require("grant_type")?;
        self.authenticate_client(headers, &params)?;
        match grant_type {
            "client_credentials" => self.client_credentials(&params),
            "refresh_token" => self.refresh(&params),
            "authorization_code" => self.exchange_code(&params),
            other => Err(OAuthError::new(
                "unsupported_grant_type",
                format!(
                    "Grant type `{other}` is not supported; use client_credentials, \
                     refresh_token or authorization_code"
                ),
            )),
        }
    }
}
