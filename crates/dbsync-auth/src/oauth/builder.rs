//! Building an [`OAuth2Auth`]: one entry point per grant, the [`OAuth2AuthBuilder`] with its
//! settings and defaults, and the checks made by [`OAuth2AuthBuilder::build`].

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use url::Url;

use super::adapter::ReqwestAdapter;
use super::cache::Tokens;
use super::endpoint_error;
use super::grant::{BuilderGrant, Grant};
use super::strategy::Inner;
use crate::{AuthError, OAuth2Auth, Secret, TokenStore, ensure_secure_transport};

/// How long before its expiry a token is renewed, unless configured otherwise.
pub const DEFAULT_REFRESH_BUFFER: Duration = Duration::from_secs(30);
/// The longest a token request may take, unless configured otherwise.
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

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
}

/// Settings of an [`OAuth2Auth`]; made by [`OAuth2Auth::client_credentials`],
/// [`OAuth2Auth::from_refresh_token`] or [`OAuth2Auth::authorization_code`]. Everything is
/// checked in [`OAuth2AuthBuilder::build`]. `Debug` is redacted.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use dbsync_auth::{FileTokenStore, OAuth2Auth};
///
/// let dir = tempfile::tempdir().unwrap();
/// let auth = OAuth2Auth::from_refresh_token(
///     "my-client-id",
///     "my-client-secret",
///     "https://api.dbsync.com/oauth/token",
///     "a-refresh-token-from-an-earlier-sign-in",
/// )
/// .scopes(["records:read", "records:write"])
/// .refresh_buffer(Duration::from_secs(60)) // renew a minute before expiry
/// .token_store(Arc::new(FileTokenStore::new(dir.path().join("token.json"))))
/// .build()?; // checks the settings; no request is made until a token is needed
/// assert_eq!(auth.grant(), "refresh_token");
///
/// // A token URL over plain http to another host is refused: credentials would travel in clear.
/// assert!(OAuth2Auth::client_credentials("id", "secret", "http://auth.example.com/token")
///     .build()
///     .is_err());
/// # Ok::<(), dbsync_auth::AuthError>(())
/// ```
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

/// Redacted like [`OAuth2Auth`]'s: URLs without their user info, query or fragment (not yet
/// checked, they may carry a secret), the HTTP client only as present or not (its default
/// headers may hold a credential), no refresh token.
impl fmt::Debug for OAuth2AuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("OAuth2AuthBuilder");
        out.field("grant", &self.grant.kind().name())
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
