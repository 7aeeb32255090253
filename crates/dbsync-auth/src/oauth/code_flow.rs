//! The authorization-code flow with PKCE: the URL to send the user to, and exchanging the code
//! the redirect brings back.

use ::oauth2::basic::BasicClient;
use ::oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use tokio::time::Instant;
use url::Url;

use super::endpoint_error;
use super::grant::{Grant, TokenGrant};
use super::pending::PendingAuthorization;
use crate::{AuthError, OAuth2Auth};

impl OAuth2Auth {
    /// Builds the URL to send the user to for the authorization-code grant, with
    /// `response_type=code`, `client_id`, `redirect_uri`, `scope`, a random `state` and a PKCE
    /// S256 `code_challenge`. Keep the returned [`PendingAuthorization`] for
    /// [`OAuth2Auth::exchange_code`].
    ///
    /// ```no_run
    /// # async fn demo(redirected_to: url::Url) -> Result<(), dbsync_auth::AuthError> {
    /// use dbsync_auth::OAuth2Auth;
    ///
    /// let auth = OAuth2Auth::authorization_code(
    ///     "my-app",
    ///     "app-secret",
    ///     "https://api.dbsync.com/oauth/authorize",
    ///     "https://api.dbsync.com/oauth/token",
    ///     "http://127.0.0.1:8765/callback",
    /// )
    /// .scopes(["records:read"])
    /// .build()?;
    /// let (url, pending) = auth.authorize_url()?;
    /// println!("open {url} in a browser");
    /// // ... the browser comes back to http://127.0.0.1:8765/callback?code=...&state=...
    /// auth.exchange_redirect(&redirected_to, &pending).await?;
    /// // From here on `auth` authorizes requests and refreshes its token by itself.
    /// # Ok(())
    /// # }
    /// ```
    pub fn authorize_url(&self) -> Result<(Url, PendingAuthorization), AuthError> {
        let Grant::AuthorizationCode {
            authorize_url,
            redirect_uri,
        } = &self.inner.grant
        else {
            return Err(AuthError::config(format!(
                "authorize_url needs the authorization-code grant (build the strategy with \
                 OAuth2Auth::authorization_code); this one uses {}",
                self.grant()
            )));
        };
        let client = BasicClient::new(ClientId::new(self.inner.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(authorize_url.clone()))
            .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.inner.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        Ok((
            url,
            PendingAuthorization::from_parts(state.secret().as_str(), verifier.secret().as_str()),
        ))
    }

    /// Completes the authorization-code grant: checks that `returned_state` (the `state` query
    /// parameter of the redirect) is the one sent, then exchanges `code` with the PKCE verifier.
    /// The tokens are cached and saved to the [`TokenStore`](crate::TokenStore).
    pub async fn exchange_code(
        &self,
        code: &str,
        returned_state: &str,
        pending: &PendingAuthorization,
    ) -> Result<(), AuthError> {
        if !matches!(self.inner.grant, Grant::AuthorizationCode { .. }) {
            return Err(AuthError::config(format!(
                "exchange_code needs the authorization-code grant (build the strategy with \
                 OAuth2Auth::authorization_code); this one uses {}",
                self.grant()
            )));
        }
        if returned_state != pending.csrf_state().expose() {
            return Err(AuthError::StateMismatch);
        }
        if code.is_empty() {
            return Err(AuthError::AuthorizationRequired(
                "the redirect carried no authorization code; start the authorization again"
                    .to_owned(),
            ));
        }
        let code = code.to_owned();
        let verifier = pending.pkce_verifier().clone();
        self.while_renewing(move |this| async move {
            let grant = TokenGrant::Code {
                code: &code,
                verifier: &verifier,
            };
            let requested_at = Instant::now();
            let response = this.request_token(&grant).await?;
            this.install(response, grant.kind().name(), requested_at)
                .await
                .map(drop)
        })
        .await
    }

    /// Completes the authorization-code grant from the URL the user was sent back to: reads
    /// `code` and `state` from its query (or the `error` the server put there instead, such as
    /// `access_denied`) and calls [`OAuth2Auth::exchange_code`].
    pub async fn exchange_redirect(
        &self,
        redirected_to: &Url,
        pending: &PendingAuthorization,
    ) -> Result<(), AuthError> {
        let query = |name: &str| {
            redirected_to
                .query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let state = query("state").unwrap_or_default();
        if state != pending.csrf_state().expose() {
            return Err(AuthError::StateMismatch);
        }
        if let Some(error) = query("error") {
            let shown = |text: String| endpoint_error::server_text(&text, &[]);
            let description = query("error_description")
                .map(|d| format!(": {}", shown(d)))
                .unwrap_or_default();
            let advice = if error == "access_denied" {
                "the user (or a policy) declined; ask the user to authorize again"
            } else {
                "check the client's settings on the server (redirect_uri, scopes, allowed \
                 grants) and start the authorization again"
            };
            return Err(AuthError::AuthorizationRequired(format!(
                "the authorization server did not grant access (`{}`{description}); {advice}",
                shown(error)
            )));
        }
        let code = query("code").unwrap_or_default();
        self.exchange_code(&code, &state, pending).await
    }
}
