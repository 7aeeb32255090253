//! Renewal: at most one token renewal at a time for all clones and concurrent requests, run in
//! a task of its own so a cancelled caller does not lose its result; and what a `401` renews.

use std::future::Future;
use std::sync::Arc;

use tokio::time::Instant;

use super::endpoint_error;
use super::grant::{Grant, TokenGrant};
use crate::{AuthError, OAuth2Auth, Secret};

impl OAuth2Auth {
    /// Runs `work` holding the renewal lock, in a task of its own: if the caller is cancelled
    /// (a request timeout, a dropped future), the token request still completes and its result
    /// is kept (a rotated refresh token must not be lost), and the tasks waiting for the lock
    /// get it.
    pub(super) async fn while_renewing<T, F, Fut>(&self, work: F) -> Result<T, AuthError>
    where
        F: FnOnce(OAuth2Auth) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, AuthError>> + Send + 'static,
        T: Send + 'static,
    {
        let guard = Arc::clone(&self.inner.renewal).lock_owned().await;
        let this = self.clone();
        tokio::spawn(async move {
            let result = work(this).await;
            drop(guard);
            result
        })
        .await
        .map_err(|_| AuthError::Transport {
            endpoint: endpoint_error::shown_endpoint(&self.inner.token_url),
            reason: "the token request task was cancelled (is the runtime shutting down?)"
                .to_owned(),
            timeout: false,
        })?
    }

    /// Gets a token that is fresh and not `rejected`, with at most one renewal running at a
    /// time: the one another task or process already obtained if there is one, else a new one
    /// from the token endpoint.
    pub(super) async fn renew(&self, rejected: Option<&Secret>) -> Result<Secret, AuthError> {
        let rejected = rejected.cloned();
        self.while_renewing(move |this| async move { this.renew_locked(rejected.as_ref()).await })
            .await
    }

    /// [`OAuth2Auth::renew`], with the renewal lock held.
    async fn renew_locked(&self, rejected: Option<&Secret>) -> Result<Secret, AuthError> {
        // Another task may have renewed while this one waited.
        if let Some(token) = self.fresh_access()
            && Some(&token) != rejected
        {
            return Ok(token);
        }
        if let Some(rejected) = rejected {
            self.write_tokens(|t| {
                if t.access.as_ref().is_some_and(|a| &a.token == rejected) {
                    t.access = None;
                }
            });
        }

        // Another process may have renewed, or rotated the refresh token.
        if let Some(store) = &self.inner.store
            && let Some(stored) = store.load().await?
            && let Some(token) = self.adopt_stored(stored, rejected)
        {
            return Ok(token);
        }

        let refresh = self.read_tokens(|t| t.refresh.clone());
        let grant = match (&self.inner.grant, &refresh) {
            (Grant::ClientCredentials, _) => TokenGrant::ClientCredentials,
            (_, Some(refresh)) => TokenGrant::Refresh(refresh),
            (Grant::RefreshToken, None) | (Grant::AuthorizationCode { .. }, None) => {
                return Err(AuthError::AuthorizationRequired(
                    "there is no valid access token and no refresh token to get one: complete \
                     the authorization-code flow (authorize_url, then exchange_code)"
                        .to_owned(),
                ));
            }
        };
        let requested_at = Instant::now();
        let response = self.request_token(&grant).await?;
        self.install(response, grant.kind().name(), requested_at)
            .await
    }

    /// After a `401`: renews unless the rejected token was already replaced. `Ok(true)` when a
    /// different token is now available.
    pub(super) async fn after_rejection(
        &self,
        rejected: Option<Secret>,
    ) -> Result<bool, AuthError> {
        tracing::debug!(
            scheme = "oauth2",
            "the server rejected the OAuth 2.0 access token; renewing it"
        );
        match self.renew(rejected.as_ref()).await {
            Ok(token) => Ok(Some(&token) != rejected.as_ref()),
            // Nothing to renew with: the 401 stands.
            Err(AuthError::AuthorizationRequired(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }
}
