//! Wires the OAuth 2.0 server, API keys, workflows, monitoring and the OpenAPI document into the
//! core server: their routes, and their Bearer tokens as [`TokenVerifier`]s of the auth
//! middleware.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use crate::StoreLimits;
use crate::api_keys::{self, ApiKeyStore};
use crate::auth::{SandboxAuth, TokenRejection, TokenVerifier};
use crate::oauth::{self, OAuth2Settings, OAuthServer, TokenStatus};
use crate::scopes::Scopes;
use crate::state::AppState;
use crate::{monitoring, openapi, workflows};

/// The OAuth 2.0 server of an oauth2-mode sandbox.
pub(crate) fn oauth_server(
    auth: &SandboxAuth,
    token_ttl: Duration,
    limits: &StoreLimits,
    redirect_uris: &[String],
) -> Option<Arc<OAuthServer>> {
    match auth {
        SandboxAuth::OAuth2 {
            client_id,
            client_secret,
        } => Some(Arc::new(OAuthServer::new(
            OAuth2Settings::new(client_id.clone(), client_secret.clone())
                .token_ttl(token_ttl)
                .limits(limits.clone())
                .redirect_uris(redirect_uris.to_vec()),
        ))),
        _ => None,
    }
}

impl TokenVerifier for OAuthServer {
    fn verify(&self, token: &str) -> Option<Scopes> {
        match self.check_access_token(token) {
            TokenStatus::Active(scopes) => Some(scopes),
            _ => None,
        }
    }

    fn rejection(&self, token: &str) -> Option<TokenRejection> {
        (self.check_access_token(token) == TokenStatus::Expired).then(|| {
            TokenRejection::new(
                "Unauthorized: the access token has expired; get a new one from the token endpoint",
                "the access token has expired",
            )
        })
    }
}

impl TokenVerifier for ApiKeyStore {
    fn verify(&self, token: &str) -> Option<Scopes> {
        self.authenticate(token)
    }

    fn rejection(&self, token: &str) -> Option<TokenRejection> {
        self.is_expired(token).then(|| {
            TokenRejection::new(
                "Unauthorized: the API key has expired; create a new key (regenerating keeps its expiry)",
                "the API key has expired",
            )
        })
    }
}

/// Access tokens (oauth2 mode) and live API keys (bearer and oauth2 modes) become Bearer tokens.
pub(crate) fn register_verifiers(state: &AppState) {
    if let Some(server) = &state.oauth {
        state.auth.add_verifier(server.clone());
    }
    if matches!(
        state.auth.mode(),
        SandboxAuth::Bearer { .. } | SandboxAuth::OAuth2 { .. }
    ) {
        state.auth.add_verifier(state.api_keys.clone());
    }
}

/// The routes of these modules, merged into the core router (under its middleware stack).
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(api_keys::routes(state.api_keys.clone()))
        .merge(workflows::routes(state.workflows.clone()))
        .merge(monitoring::routes())
        .merge(openapi::routes())
        .merge(oauth::routes(state.oauth.clone()))
}
