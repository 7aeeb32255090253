//! OAuth 2.0: access tokens from a token endpoint, sent as `Authorization: Bearer <token>`.
//!
//! Built on the `oauth2` crate for the protocol (request encoding, PKCE, response parsing); this
//! module adds the token cache, single-flight renewal, the [`crate::TokenStore`] hook and error
//! messages that say what to do.

mod adapter;
mod endpoint_error;
mod pending;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use ::oauth2::basic::{BasicClient, BasicTokenResponse, BasicTokenType};
use ::oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, Scope,
    TokenResponse as _, TokenUrl,
};
use async_trait::async_trait;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use tokio::time::Instant;
use url::Url;

use crate::{
    Auth, AuthError, AuthRequest, Secret, StoredToken, TokenStore, ensure_secure_transport,
};
use adapter::{Recording, ReqwestAdapter};
use endpoint_error::FailedRequest;
pub use pending::PendingAuthorization;

/// How long before its expiry a token is renewed, unless configured otherwise.
pub const DEFAULT_REFRESH_BUFFER: Duration = Duration::from_secs(30);
/// The longest a token request may take, unless configured otherwise.
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// OAuth 2.0 (RFC 6749): obtains access tokens from a token endpoint and sends them as
/// `Authorization: Bearer <token>`.
///
/// Three ways to get tokens, each with a builder:
/// - [`OAuth2Auth::client_credentials`]: the client's own credentials, with optional scopes
///   (machine-to-machine; the usual choice for a connector);
/// - [`OAuth2Auth::from_refresh_token`]: a refresh token obtained earlier;
/// - [`OAuth2Auth::authorization_code`]: a user signs in at the authorize URL
///   ([`OAuth2Auth::authorize_url`], with PKCE S256 and `state`) and the code from the redirect
///   is exchanged ([`OAuth2Auth::exchange_code`]); the refresh token it yields keeps it going.
///
/// The client authenticates to the token endpoint with HTTP Basic (`client_id:client_secret`,
/// RFC 6749 section 2.3.1); an empty client secret makes a public client, which sends only its
/// `client_id` in the form.
///
/// **Token cache.** A token is reused until `refresh_buffer` (default 30 s) before its
/// `expires_in` runs out, but never for less than half its lifetime; a token without
/// `expires_in` is used until the server answers `401`. Many concurrent requests that need a
/// token cause one token request: renewals are serialized, and a request that waited for a
/// renewal uses its result. A renewal runs in a task of its own (so a tokio runtime is needed):
/// a caller that gives up midway does not lose its result. Before every token request the [`TokenStore`] (if any) is read first,
/// because another process may already hold a newer token or may have rotated the refresh token;
/// a rotated refresh token is kept (and saved). Clones share the cache.
///
/// **Redirects.** The token endpoint is called with redirects off: a `3xx` answer is an error,
/// never followed (a redirect could carry the client credentials, a refresh token or an
/// authorization code to another host). See [`OAuth2AuthBuilder::http_client`].
///
/// ```no_run
/// # async fn demo() -> Result<(), dbsync_auth::AuthError> {
/// use dbsync_auth::OAuth2Auth;
///
/// let auth = OAuth2Auth::client_credentials(
///     "abc",
///     std::env::var("DBSYNC_CLIENT_SECRET").unwrap_or_default(),
///     "https://api.dbsync.com/oauth/token",
/// )
/// .scopes(["records:read"])
/// .build()?;
/// let token = auth.access_token().await?; // fetched once, then cached
/// # let _ = token;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct OAuth2Auth {
    inner: Arc<Inner>,
}

struct Inner {
    grant: Grant,
    client_id: String,
    client_secret: Option<Secret>,
    token_url: Url,
    scopes: Vec<String>,
    refresh_buffer: Duration,
    http: ReqwestAdapter,
    store: Option<Arc<dyn TokenStore>>,
    /// The current tokens. Held only for short, synchronous reads and writes.
    tokens: RwLock<Tokens>,
    /// Held for the whole of a renewal, so only one runs at a time.
    renewal: Arc<tokio::sync::Mutex<()>>,
}

enum Grant {
    ClientCredentials,
    RefreshToken,
    AuthorizationCode {
        authorize_url: Url,
        redirect_uri: Url,
    },
}

impl Grant {
    fn name(&self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
            Self::AuthorizationCode { .. } => "authorization_code",
        }
    }
}

#[derive(Default)]
struct Tokens {
    access: Option<CachedAccess>,
    refresh: Option<Secret>,
}

#[derive(Clone)]
struct CachedAccess {
    token: Secret,
    /// When to stop using the token (read on tokio's clock, so tests can pause it).
    renew_at: Option<Instant>,
}

impl CachedAccess {
    fn is_fresh(&self) -> bool {
        self.renew_at.is_none_or(|at| Instant::now() < at)
    }
}

/// One request to the token endpoint.
enum TokenGrant<'a> {
    ClientCredentials,
    Refresh(&'a Secret),
    Code { code: &'a str, verifier: &'a Secret },
}

impl TokenGrant<'_> {
    fn name(&self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::Refresh(_) => "refresh_token",
            Self::Code { .. } => "authorization_code",
        }
    }
}

impl OAuth2Auth {
    /// A builder for the client-credentials grant (RFC 6749 section 4.4).
    pub fn client_credentials(
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
        token_url: impl Into<String>,
    ) -> OAuth2AuthBuilder {
        OAuth2AuthBuilder::new(
            BuilderGrant::ClientCredentials,
            client_id.into(),
            client_secret.into(),
            token_url.into(),
        )
    }

    /// A builder for the refresh-token grant (RFC 6749 section 6), starting from a refresh token
    /// obtained earlier. A refresh token in the [`TokenStore`] (if one is set) wins over this
    /// one: it is the newer one when refresh tokens rotate.
    pub fn from_refresh_token(
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
        token_url: impl Into<String>,
        refresh_token: impl Into<Secret>,
    ) -> OAuth2AuthBuilder {
        OAuth2AuthBuilder::new(
            BuilderGrant::RefreshToken(refresh_token.into()),
            client_id.into(),
            client_secret.into(),
            token_url.into(),
        )
    }

    /// A builder for the authorization-code grant with PKCE S256 (RFC 6749 section 4.1,
    /// RFC 7636). `authorize_url` is where the user signs in, `redirect_uri` where the server
    /// sends the user back with `code` and `state`.
    pub fn authorization_code(
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
        authorize_url: impl Into<String>,
        token_url: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> OAuth2AuthBuilder {
        OAuth2AuthBuilder::new(
            BuilderGrant::AuthorizationCode {
                authorize_url: authorize_url.into(),
                redirect_uri: redirect_uri.into(),
            },
            client_id.into(),
            client_secret.into(),
            token_url.into(),
        )
    }

    /// The grant this strategy uses: `client_credentials`, `refresh_token` or
    /// `authorization_code`.
    pub fn grant(&self) -> &'static str {
        self.inner.grant.name()
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.inner.token_url
    }

    /// The scopes requested.
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// A valid access token: the cached one, or a new one (from the [`TokenStore`] or the token
    /// endpoint) when there is none or it is about to expire.
    pub async fn access_token(&self) -> Result<Secret, AuthError> {
        match self.fresh_access() {
            Some(token) => Ok(token),
            None => self.renew(None).await,
        }
    }

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
    /// The tokens are cached and saved to the [`TokenStore`].
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
            this.install(response, grant.name(), requested_at)
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

    /// The access token held now, fresh or not.
    fn current_access(&self) -> Option<Secret> {
        self.read_tokens(|t| t.access.as_ref().map(|a| a.token.clone()))
    }

    /// The access token held now, if it is not about to expire.
    fn fresh_access(&self) -> Option<Secret> {
        self.read_tokens(|t| {
            t.access
                .as_ref()
                .filter(|a| a.is_fresh())
                .map(|a| a.token.clone())
        })
    }

    fn read_tokens<T>(&self, read: impl FnOnce(&Tokens) -> T) -> T {
        match self.inner.tokens.read() {
            Ok(guard) => read(&guard),
            Err(poisoned) => read(&poisoned.into_inner()),
        }
    }

    fn write_tokens<T>(&self, write: impl FnOnce(&mut Tokens) -> T) -> T {
        match self.inner.tokens.write() {
            Ok(mut guard) => write(&mut guard),
            Err(poisoned) => write(&mut poisoned.into_inner()),
        }
    }

    /// Runs `work` holding the renewal lock, in a task of its own: if the caller is cancelled
    /// (a request timeout, a dropped future), the token request still completes and its result
    /// is kept (a rotated refresh token must not be lost), and the tasks waiting for the lock
    /// get it.
    async fn while_renewing<T, F, Fut>(&self, work: F) -> Result<T, AuthError>
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
    async fn renew(&self, rejected: Option<&Secret>) -> Result<Secret, AuthError> {
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
        self.install(response, grant.name(), requested_at).await
    }

    /// Takes over what the store holds: its refresh token (the newest one), and its access token
    /// when that is fresh and not the one just rejected.
    fn adopt_stored(&self, stored: StoredToken, rejected: Option<&Secret>) -> Option<Secret> {
        let remaining = stored
            .expires_at
            .map(|at| at.duration_since(SystemTime::now()).unwrap_or_default());
        let fresh = remaining.is_none_or(|r| r > self.inner.refresh_buffer);
        let usable =
            fresh && !stored.access_token.is_empty() && Some(&stored.access_token) != rejected;
        let grant = self.grant();
        self.write_tokens(|t| {
            if let Some(refresh) = stored.refresh_token
                && !matches!(self.inner.grant, Grant::ClientCredentials)
            {
                t.refresh = Some(refresh);
            }
            if !usable {
                return None;
            }
            let now = Instant::now();
            t.access = Some(CachedAccess {
                token: stored.access_token.clone(),
                renew_at: remaining
                    .and_then(|r| now.checked_add(r.saturating_sub(self.inner.refresh_buffer))),
            });
            tracing::debug!(
                scheme = "oauth2",
                grant,
                expires_in_secs = remaining.map(|r| r.as_secs()),
                "using the OAuth 2.0 access token from the token store"
            );
            Some(stored.access_token)
        })
    }

    /// Sends one token request.
    async fn request_token(&self, grant: &TokenGrant<'_>) -> Result<BasicTokenResponse, AuthError> {
        let inner = &self.inner;
        let mut client: BasicClient<
            EndpointNotSet,
            EndpointNotSet,
            EndpointNotSet,
            EndpointNotSet,
            EndpointSet,
        > = BasicClient::new(ClientId::new(inner.client_id.clone()))
            .set_auth_type(AuthType::BasicAuth)
            .set_token_uri(TokenUrl::from_url(inner.token_url.clone()));
        if let Some(secret) = &inner.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_owned()));
        }
        if let Grant::AuthorizationCode { redirect_uri, .. } = &inner.grant {
            client = client.set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
        }

        // Remembers what the endpoint answered, to explain a failure.
        let http = Recording::new(&inner.http);

        tracing::debug!(
            scheme = "oauth2",
            grant = grant.name(),
            token_url = %endpoint_error::shown_endpoint(&inner.token_url),
            "requesting an OAuth 2.0 access token"
        );
        let result = match grant {
            TokenGrant::ClientCredentials => {
                client
                    .exchange_client_credentials()
                    .add_scopes(inner.scopes.iter().cloned().map(Scope::new))
                    .request_async(&http)
                    .await
            }
            TokenGrant::Refresh(refresh) => {
                let refresh = RefreshToken::new(refresh.expose().to_owned());
                client
                    .exchange_refresh_token(&refresh)
                    .request_async(&http)
                    .await
            }
            TokenGrant::Code { code, verifier } => {
                client
                    .exchange_code(AuthorizationCode::new((*code).to_owned()))
                    .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()))
                    .request_async(&http)
                    .await
            }
        };
        result.map_err(|error| {
            let mut secrets = Vec::new();
            if let Some(secret) = &inner.client_secret {
                secrets.push(secret.expose());
            }
            match grant {
                TokenGrant::ClientCredentials => {}
                TokenGrant::Refresh(refresh) => secrets.push(refresh.expose()),
                TokenGrant::Code { code, verifier } => {
                    secrets.push(code);
                    secrets.push(verifier.expose());
                }
            }
            let response = http.take_response();
            let error = FailedRequest {
                grant: grant.name(),
                endpoint: &inner.token_url,
                response,
                secrets,
            }
            .into_error(error);
            tracing::debug!(scheme = "oauth2", grant = grant.name(), %error, "token request failed");
            error
        })
    }

    /// Caches a token response (keeping the old refresh token unless a new one came) and saves
    /// it to the store. The lifetime counts from when the request was sent, to err on the early
    /// side.
    async fn install(
        &self,
        response: BasicTokenResponse,
        grant: &'static str,
        requested_at: Instant,
    ) -> Result<Secret, AuthError> {
        let status = 200;
        if *response.token_type() != BasicTokenType::Bearer {
            return Err(AuthError::InvalidTokenResponse {
                status,
                reason: format!(
                    "the token type is `{}`, but only Bearer tokens are supported",
                    response.token_type().as_ref()
                ),
            });
        }
        let access = Secret::new(response.access_token().secret().as_str());
        if access.is_empty() {
            return Err(AuthError::InvalidTokenResponse {
                status,
                reason: "the access_token is empty".to_owned(),
            });
        }
        let lifetime = response.expires_in();
        let rotated = response
            .refresh_token()
            .map(|r| Secret::new(r.secret().as_str()))
            .filter(|r| !r.is_empty());
        let scopes = match response.scopes() {
            Some(scopes) => scopes.iter().map(|s| s.to_string()).collect(),
            None => self.inner.scopes.clone(),
        };

        let now = Instant::now();
        // A lifetime too long for the clock (a hostile `expires_in`) counts as no expiry.
        let renew_at = lifetime.and_then(|lifetime| {
            requested_at.checked_add(
                lifetime
                    .saturating_sub(self.inner.refresh_buffer)
                    .max(lifetime / 2),
            )
        });
        let rotated_refresh = rotated.is_some();
        let refresh = self.write_tokens(|t| {
            t.access = Some(CachedAccess {
                token: access.clone(),
                renew_at,
            });
            if !matches!(self.inner.grant, Grant::ClientCredentials)
                && let Some(rotated) = rotated
            {
                t.refresh = Some(rotated);
            }
            t.refresh.clone()
        });
        tracing::debug!(
            scheme = "oauth2",
            grant,
            expires_in_secs = lifetime.map(|l| l.as_secs()),
            renew_in_secs = renew_at.map(|at| at.saturating_duration_since(now).as_secs()),
            refresh_token_received = rotated_refresh,
            "obtained an OAuth 2.0 access token"
        );

        if let Some(store) = &self.inner.store {
            let stored = StoredToken {
                access_token: access.clone(),
                refresh_token: refresh,
                expires_at: lifetime.and_then(|l| SystemTime::now().checked_add(l)),
                scopes,
            };
            // The token is good even if it cannot be saved: keep going, but say so.
            if let Err(error) = store.save(&stored).await {
                tracing::warn!(
                    scheme = "oauth2",
                    %error,
                    "could not save the OAuth 2.0 token to the token store; it is used but will \
                     not survive a restart"
                );
            }
        }
        Ok(access)
    }

    /// After a `401`: renews unless the rejected token was already replaced. `Ok(true)` when a
    /// different token is now available.
    async fn after_rejection(&self, rejected: Option<Secret>) -> Result<bool, AuthError> {
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

#[async_trait]
impl Auth for OAuth2Auth {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        let token = self.access_token().await?;
        request.set_header("authorization", &format!("Bearer {}", token.expose()))
    }

    /// Renews the token held now (unless another task replaced it meanwhile). Prefer
    /// [`Auth::on_unauthorized_for`], which knows which token was rejected.
    async fn on_unauthorized(&self) -> Result<bool, AuthError> {
        let seen = self.current_access();
        self.after_rejection(seen).await
    }

    /// Renews the token only if the rejected request carried the current one; if another task
    /// already replaced it, returns `Ok(true)` at once so the request is retried with the new one.
    async fn on_unauthorized_for(&self, sent_headers: &HeaderMap) -> Result<bool, AuthError> {
        let sent = sent_headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(Secret::new);
        match sent {
            Some(sent) => self.after_rejection(Some(sent)).await,
            None => self.on_unauthorized().await,
        }
    }

    fn scheme(&self) -> &'static str {
        "oauth2"
    }
}

impl fmt::Debug for OAuth2Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let (has_access, has_refresh) =
            self.read_tokens(|t| (t.access.is_some(), t.refresh.is_some()));
        f.debug_struct("OAuth2Auth")
            .field("grant", &inner.grant.name())
            .field("client_id", &inner.client_id)
            .field("client_secret", &inner.client_secret)
            .field(
                "token_url",
                &endpoint_error::shown_endpoint(&inner.token_url),
            )
            .field("scopes", &inner.scopes)
            .field("refresh_buffer", &inner.refresh_buffer)
            .field("token_store", &inner.store)
            .field("has_access_token", &has_access)
            .field("has_refresh_token", &has_refresh)
            .finish()
    }
}

enum BuilderGrant {
    ClientCredentials,
    RefreshToken(Secret),
    AuthorizationCode {
        authorize_url: String,
        redirect_uri: String,
    },
}

/// Settings of an [`OAuth2Auth`]; made by [`OAuth2Auth::client_credentials`],
/// [`OAuth2Auth::from_refresh_token`] or [`OAuth2Auth::authorization_code`]. Everything is
/// checked in [`OAuth2AuthBuilder::build`]. `Debug` is redacted.
#[must_use]
pub struct OAuth2AuthBuilder {
    grant: BuilderGrant,
    client_id: String,
    client_secret: Secret,
    token_url: String,
    scopes: Vec<String>,
    http_client: Option<reqwest::Client>,
    refresh_buffer: Duration,
    timeout: Duration,
    store: Option<Arc<dyn TokenStore>>,
    allow_insecure_http: bool,
}

impl BuilderGrant {
    fn name(&self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken(_) => "refresh_token",
            Self::AuthorizationCode { .. } => "authorization_code",
        }
    }
}

/// Redacted like [`OAuth2Auth`]'s: URLs without their user info, query or fragment (not yet
/// checked, they may carry a secret), the HTTP client only as present or not (its default
/// headers may hold a credential), no refresh token.
impl fmt::Debug for OAuth2AuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("OAuth2AuthBuilder");
        out.field("grant", &self.grant.name())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field(
                "token_url",
                &endpoint_error::shown_url_text(&self.token_url),
            );
        if let BuilderGrant::AuthorizationCode {
            authorize_url,
            redirect_uri,
        } = &self.grant
        {
            out.field(
                "authorize_url",
                &endpoint_error::shown_url_text(authorize_url),
            )
            .field(
                "redirect_uri",
                &endpoint_error::shown_url_text(redirect_uri),
            );
        }
        out.field("scopes", &self.scopes)
            .field("has_http_client", &self.http_client.is_some())
            .field("refresh_buffer", &self.refresh_buffer)
            .field("timeout", &self.timeout)
            .field("token_store", &self.store)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish()
    }
}

impl OAuth2AuthBuilder {
    fn new(
        grant: BuilderGrant,
        client_id: String,
        client_secret: Secret,
        token_url: String,
    ) -> Self {
        Self {
            grant,
            client_id,
            client_secret,
            token_url,
            scopes: Vec::new(),
            http_client: None,
            refresh_buffer: DEFAULT_REFRESH_BUFFER,
            timeout: DEFAULT_TOKEN_TIMEOUT,
            store: None,
            allow_insecure_http: false,
        }
    }

    /// The scopes to request (sent space-separated as `scope`). None by default.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The HTTP client for token requests, to share its connection pool with the API calls.
    ///
    /// Taking a `reqwest::Client` here is deliberate: it is the one HTTP client of the
    /// dbsync crates. **It must not follow redirects**: build it with
    /// `reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())` (reqwest's redirect
    /// policy belongs to the client and cannot be switched off per request). A token request whose
    /// response comes from another URL than the one requested is refused with an error saying
    /// so, but by then a followed `307`/`308` has already re-sent the form. Without this call,
    /// a separate client with redirects off is built.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// How long before `expires_in` runs out a token is renewed (default
    /// [`DEFAULT_REFRESH_BUFFER`], 30 s). A token is always used for at least half its lifetime.
    pub fn refresh_buffer(mut self, buffer: Duration) -> Self {
        self.refresh_buffer = buffer;
        self
    }

    /// The longest a token request may take (default [`DEFAULT_TOKEN_TIMEOUT`], 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Where tokens are persisted and shared with other processes (none by default: tokens live
    /// in memory only).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Allows a plain `http://` token endpoint (and authorize URL) on a host that is not
    /// loopback. Off by default: the client secret and tokens would cross the network readable.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Checks the settings and builds the strategy. No request is made yet.
    pub fn build(self) -> Result<OAuth2Auth, AuthError> {
        if self.client_id.trim().is_empty() {
            return Err(AuthError::config(
                "the OAuth 2.0 client_id is empty; set client_id",
            ));
        }
        let token_url = parse_endpoint("token_url", &self.token_url, self.allow_insecure_http)?;
        for scope in &self.scopes {
            if scope.is_empty()
                || scope
                    .chars()
                    .any(|c| c.is_whitespace() || c == '"' || c == '\\')
            {
                return Err(AuthError::config(format!(
                    "the OAuth 2.0 scope {scope:?} is not valid (scopes are non-empty and contain \
                     no spaces, quotes or backslashes); give each scope separately"
                )));
            }
        }
        let mut refresh = None;
        let grant = match self.grant {
            BuilderGrant::ClientCredentials => Grant::ClientCredentials,
            BuilderGrant::RefreshToken(token) => {
                if token.is_empty() {
                    return Err(AuthError::config(
                        "the OAuth 2.0 refresh token is empty; set refresh_token",
                    ));
                }
                refresh = Some(token);
                Grant::RefreshToken
            }
            BuilderGrant::AuthorizationCode {
                authorize_url,
                redirect_uri,
            } => Grant::AuthorizationCode {
                authorize_url: parse_endpoint(
                    "authorize_url",
                    &authorize_url,
                    self.allow_insecure_http,
                )?,
                redirect_uri: Url::parse(&redirect_uri).map_err(|error| {
                    AuthError::config(format!(
                        "the OAuth 2.0 redirect_uri `{redirect_uri}` is not a valid URL \
                         ({error}); give an absolute URL such as http://127.0.0.1:8765/callback"
                    ))
                })?,
            },
        };
        let client = match self.http_client {
            Some(client) => client,
            None => ReqwestAdapter::default_client().map_err(|error| {
                AuthError::config(format!(
                    "could not build the HTTP client for the token endpoint: {error}"
                ))
            })?,
        };
        let client_secret = Some(self.client_secret).filter(|s| !s.is_empty());
        Ok(OAuth2Auth {
            inner: Arc::new(Inner {
                grant,
                client_id: self.client_id,
                client_secret,
                token_url,
                scopes: self.scopes,
                refresh_buffer: self.refresh_buffer,
                http: ReqwestAdapter::new(client, self.timeout),
                store: self.store,
                tokens: RwLock::new(Tokens {
                    access: None,
                    refresh,
                }),
                renewal: Arc::new(tokio::sync::Mutex::new(())),
            }),
        })
    }
}

/// Parses an OAuth 2.0 endpoint URL and checks it may receive credentials.
fn parse_endpoint(field: &str, value: &str, allow_insecure_http: bool) -> Result<Url, AuthError> {
    // The value is not echoed: a malformed URL may still hold a credential.
    let url = Url::parse(value).map_err(|error| {
        AuthError::config(format!(
            "the OAuth 2.0 {field} is not a valid URL ({error}); give an absolute https:// URL"
        ))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AuthError::config(format!(
            "the OAuth 2.0 {field} must not contain a user name or password; give the client \
             credentials as client_id and client_secret"
        )));
    }
    ensure_secure_transport(&url, allow_insecure_http)?;
    Ok(url)
}
