//! The [`OAuth2Auth`] strategy: its shared state, what it tells about itself, its [`Auth`]
//! implementation and its redacted `Debug`.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use url::Url;

use super::adapter::ReqwestAdapter;
use super::cache::Tokens;
use super::endpoint_error;
use super::grant::Grant;
use crate::{Auth, AuthError, AuthRequest, Secret, TokenStore};

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
/// a caller that gives up midway does not lose its result. Before every token request the
/// [`TokenStore`] (if any) is read first, because another process may already hold a newer token
/// or may have rotated the refresh token; a rotated refresh token is kept (and saved). Clones
/// share the cache.
///
/// **Redirects.** The token endpoint is called with redirects off: a `3xx` answer is an error,
/// never followed (a redirect could carry the client credentials, a refresh token or an
/// authorization code to another host). See
/// [`OAuth2AuthBuilder::http_client`](crate::OAuth2AuthBuilder::http_client).
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
    pub(super) inner: Arc<Inner>,
}

/// What an [`OAuth2Auth`] and its clones share.
pub(super) struct Inner {
    pub(super) grant: Grant,
    pub(super) client_id: String,
    pub(super) client_secret: Option<Secret>,
    pub(super) token_url: Url,
    pub(super) scopes: Vec<String>,
    pub(super) refresh_buffer: Duration,
    pub(super) http: ReqwestAdapter,
    pub(super) store: Option<Arc<dyn TokenStore>>,
    /// The current tokens. Held only for short, synchronous reads and writes.
    pub(super) tokens: RwLock<Tokens>,
    /// Held for the whole of a renewal, so only one runs at a time.
    pub(super) renewal: Arc<tokio::sync::Mutex<()>>,
}

impl OAuth2Auth {
    /// The grant this strategy uses: `client_credentials`, `refresh_token` or
    /// `authorization_code`.
    pub fn grant(&self) -> &'static str {
        self.inner.grant.kind().name()
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
            .field("grant", &inner.grant.kind().name())
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
