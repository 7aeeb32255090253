//! The one error type of this crate.

/// Why a strategy could not authorize a request. Messages never contain a secret.
///
/// `Clone`, so a client can keep it inside its own (cloneable) error without losing the
/// details.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The strategy is configured wrongly (an empty credential, an invalid header value...).
    #[error("auth configuration: {0}")]
    Config(String),
    /// Credentials would be sent over plain `http://` to a host that is not loopback.
    #[error(
        "refusing to send credentials over plain http:// to `{host}`: use https://, or allow it \
         explicitly with `allow_insecure_http(true)` (settings: \"allow_insecure_http\": true) \
         if the network is trusted"
    )]
    InsecureTransport {
        /// The host the credentials would have gone to.
        host: String,
    },
    /// The OAuth 2.0 token endpoint refused a grant with an error response (RFC 6749 section 5.2).
    ///
    /// The message says which credential or grant is wrong and what to do. `description` is the
    /// server's `error_description`, shortened and with any credential of the request removed.
    #[error(
        "the OAuth 2.0 token endpoint refused the {grant} grant (HTTP {status}, `{error}`{}): {}",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default(),
        token_endpoint_advice(grant, error)
    )]
    TokenEndpoint {
        /// The grant that was refused: `client_credentials`, `refresh_token` or
        /// `authorization_code`.
        grant: &'static str,
        /// The RFC 6749 error code, such as `invalid_client` or `invalid_grant`.
        error: String,
        /// The server's `error_description`, if it sent one.
        description: Option<String>,
        /// The HTTP status of the response.
        status: u16,
    },
    /// The token endpoint answered with something that is not a valid OAuth 2.0 response (an
    /// HTML error page, a body that is not JSON, a token that is not a Bearer token...).
    #[error(
        "the OAuth 2.0 token endpoint answered HTTP {status} with a response that is not a valid \
         OAuth 2.0 token response: {reason}"
    )]
    InvalidTokenResponse {
        /// The HTTP status of the response.
        status: u16,
        /// What is wrong with the response, with a short excerpt for error statuses.
        reason: String,
    },
    /// The token endpoint could not be reached (connection refused, DNS, TLS, timeout).
    #[error("could not reach the OAuth 2.0 token endpoint `{endpoint}`: {reason}")]
    Transport {
        /// The token endpoint URL.
        endpoint: String,
        /// What went wrong, and what to check.
        reason: String,
        /// Whether the request timed out.
        timeout: bool,
    },
    /// There is no access token and no way to get one without the user: the authorization-code
    /// flow has to be completed (again).
    #[error("OAuth 2.0 authorization required: {0}")]
    AuthorizationRequired(String),
    /// The `state` returned to the redirect URI is not the one this login sent.
    #[error(
        "the `state` returned to the redirect URI does not match the one sent with the \
         authorization request: the callback may be forged or belong to another login; start \
         the authorization again"
    )]
    StateMismatch,
    /// A [`crate::TokenStore`] could not load or save a token.
    #[error("token store: {0}")]
    TokenStore(String),
}

impl AuthError {
    /// A configuration error with a message that says what to fix.
    pub fn config(message: impl Into<String>) -> Self {
        Self::Config(message.into())
    }

    /// A token store error with a message that says what to fix.
    pub fn token_store(message: impl Into<String>) -> Self {
        Self::TokenStore(message.into())
    }

    /// The RFC 6749 error code (`invalid_client`, `invalid_grant`...) when the token endpoint
    /// refused a grant.
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            Self::TokenEndpoint { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The token endpoint refused the client credentials (`invalid_client`).
    pub fn is_invalid_client(&self) -> bool {
        self.oauth_error() == Some("invalid_client")
    }

    /// The token endpoint refused the grant itself (`invalid_grant`): a refresh token or an
    /// authorization code that is expired, revoked or already used.
    pub fn is_invalid_grant(&self) -> bool {
        self.oauth_error() == Some("invalid_grant")
    }

    /// The HTTP status the token endpoint answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::TokenEndpoint { status, .. } | Self::InvalidTokenResponse { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// Whether trying again later may succeed without changing anything: the token endpoint was
    /// unreachable, timed out, or failed with a `5xx` or `429`.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::TokenEndpoint { status, .. } | Self::InvalidTokenResponse { status, .. } => {
                *status >= 500 || *status == 429
            }
            _ => false,
        }
    }

    /// Whether the user has to act (re-authorize, fix a credential) before this can succeed.
    pub fn needs_user_action(&self) -> bool {
        matches!(
            self,
            Self::AuthorizationRequired(_)
                | Self::StateMismatch
                | Self::InsecureTransport { .. }
                | Self::Config(_)
        ) || matches!(
            self.oauth_error(),
            Some(
                "invalid_client"
                    | "invalid_grant"
                    | "invalid_scope"
                    | "unauthorized_client"
                    | "unsupported_grant_type"
            )
        )
    }
}

/// What to do about an RFC 6749 section 5.2 error, by error code and grant.
fn token_endpoint_advice(grant: &str, error: &str) -> String {
    match (error, grant) {
        ("invalid_client", _) => "the client authentication failed: check client_id and \
            client_secret (sent with HTTP Basic, RFC 6749 section 2.3.1)"
            .to_owned(),
        ("invalid_grant", "refresh_token") => "the refresh token is expired, revoked or was \
            already used (refresh tokens rotate: only the newest one works); run the \
            authorization-code flow again to get a new one"
            .to_owned(),
        ("invalid_grant", "authorization_code") => "the authorization code is expired or was \
            already used, or the redirect_uri or PKCE code_verifier do not match the \
            authorization request; start the authorization again"
            .to_owned(),
        ("invalid_grant", _) => "the server refused the grant; check that this client is \
            allowed to obtain tokens on the server"
            .to_owned(),
        ("invalid_scope", _) => "one of the requested scopes is unknown or not allowed for this \
            client: check the scopes setting"
            .to_owned(),
        ("unauthorized_client", _) => format!(
            "this client is not allowed to use the {grant} grant: enable it for the client on \
             the server, or use a grant the client is allowed"
        ),
        ("unsupported_grant_type", _) => format!(
            "the server does not support the {grant} grant: check that token_url points at the \
             right server and that the grant is enabled there"
        ),
        ("invalid_request", _) => "the token request is missing a parameter or repeats one: \
            check the OAuth 2.0 settings (this may also be a bug in dbsync-auth; please report it)"
            .to_owned(),
        _ => "see the server's documentation for this error code".to_owned(),
    }
}
