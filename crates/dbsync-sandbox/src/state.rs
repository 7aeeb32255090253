//! The state every handler and middleware shares.
//!
//! Later modules (OAuth tokens, API keys, workflows, logs/usage endpoints) add their own fields
//! here and their own routers in [`crate::routes`].

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use crate::api_keys::ApiKeyStore;
use crate::auth::Authenticator;
use crate::faults::{FaultCounter, Faults};
use crate::idempotency::IdempotencyCache;
use crate::oauth::OAuthServer;
use crate::rate_limit::RateLimiter;
use crate::request_log::RequestLog;
use crate::store::Store;
use crate::workflows::WorkflowEngine;

/// Everything the sandbox holds.
pub(crate) struct SandboxState {
    pub store: Store,
    pub auth: Authenticator,
    pub rate_limiter: RateLimiter,
    pub faults: Faults,
    pub fault_counter: FaultCounter,
    pub idempotency: IdempotencyCache,
    pub request_log: RequestLog,
    pub max_body_bytes: usize,
    /// The OAuth 2.0 server, in oauth2 mode only.
    pub oauth: Option<Arc<OAuthServer>>,
    pub api_keys: Arc<ApiKeyStore>,
    pub workflows: Arc<WorkflowEngine>,
    /// Lifetime of issued OAuth2 access tokens.
    pub token_ttl: Duration,
    /// The largest body of a list page (see `StoreLimits::max_page_bytes`).
    pub max_page_bytes: usize,
}

/// Only the configuration: records, cached responses and logs are neither useful nor safe to
/// print (a cached response can hold a freshly created secret).
impl fmt::Debug for SandboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxState")
            .field("auth", &self.auth)
            .field("faults", &self.faults)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("token_ttl", &self.token_ttl)
            .finish_non_exhaustive()
    }
}

/// A cheap, cloneable handle on [`SandboxState`] (axum state).
#[derive(Debug, Clone)]
pub(crate) struct AppState(pub Arc<SandboxState>);

impl Deref for AppState {
    type Target = SandboxState;
    fn deref(&self) -> &SandboxState {
        &self.0
    }
}
