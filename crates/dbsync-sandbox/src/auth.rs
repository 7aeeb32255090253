//! Authentication: one mode per sandbox, enforced by one middleware on every API endpoint.
//!
//! Runtime credentials (OAuth2 access tokens, live API keys) plug in as [`TokenVerifier`]s: a
//! verifier is asked about every Bearer token that is not the configured fixed token.

use std::fmt;
use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::scopes::{Scopes, insufficient_scope, required_scope};
use crate::state::AppState;
use crate::store::{read, write};

/// How clients must authenticate. Secrets never appear in `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SandboxAuth {
    /// No credentials needed.
    #[default]
    None,
    /// HTTP Basic with this username and password.
    Basic {
        /// The username.
        username: String,
        /// The password.
        password: String,
    },
    /// `Authorization: Bearer <token>` with this fixed token (live API keys also pass).
    Bearer {
        /// The fixed token.
        token: String,
    },
    /// OAuth 2.0: Bearer access tokens issued by the sandbox's token endpoint to this client.
    OAuth2 {
        /// The OAuth client id.
        client_id: String,
        /// The OAuth client secret.
        client_secret: String,
    },
}

impl fmt::Debug for SandboxAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"[redacted]")
                .finish(),
            Self::Bearer { .. } => f
                .debug_struct("Bearer")
                .field("token", &"[redacted]")
                .finish(),
            Self::OAuth2 { client_id, .. } => f
                .debug_struct("OAuth2")
                .field("client_id", client_id)
                .field("client_secret", &"[redacted]")
                .finish(),
        }
    }
}

impl SandboxAuth {
    /// The mode's name: `none`, `basic`, `bearer` or `oauth2`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Basic { .. } => "basic",
            Self::Bearer { .. } => "bearer",
            Self::OAuth2 { .. } => "oauth2",
        }
    }
}

/// Accepts Bearer tokens issued at runtime (OAuth2 access tokens, API keys).
pub trait TokenVerifier: Send + Sync + 'static {
    /// The scopes of `token` when it is currently valid, `None` otherwise. Implementations
    /// compare in constant time (or look up a hash of the token).
    fn verify(&self, token: &str) -> Option<Scopes>;

    /// Why a token this verifier knows is refused (e.g. an expired access token or API key),
    /// for the `401`; `None` when the token is not one of its own.
    fn rejection(&self, _token: &str) -> Option<TokenRejection> {
        None
    }
}

/// Why a known token is refused: answered as `401` with
/// `WWW-Authenticate: Bearer error="invalid_token", error_description="<description>"`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRejection {
    /// The error body's message, e.g. "Unauthorized: the API key has expired; ...".
    pub message: String,
    /// The challenge's `error_description`, e.g. "the API key has expired" (no `"` or `\\`).
    pub description: String,
}

impl TokenRejection {
    /// A rejection with this message and `error_description`.
    pub fn new(message: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            description: description.into(),
        }
    }

    fn challenge(&self) -> HeaderValue {
        let clean: String = self
            .description
            .chars()
            .filter(|c| (' '..='~').contains(c) && !matches!(c, '"' | '\\'))
            .collect();
        HeaderValue::from_str(&format!(
            "Bearer error=\"invalid_token\", error_description=\"{clean}\""
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer error=\"invalid_token\""))
    }
}

/// Compares two secrets in constant time (also hiding their lengths).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    let a = Sha256::digest(a.as_bytes());
    let b = Sha256::digest(b.as_bytes());
    a.ct_eq(&b).into()
}

/// Paths that never need credentials (the OAuth endpoints, the OpenAPI document).
pub(crate) fn is_public_path(path: &str) -> bool {
    path.starts_with("/oauth/") || path == "/openapi.json"
}

/// The configured mode plus the runtime verifiers.
pub(crate) struct Authenticator {
    mode: SandboxAuth,
    verifiers: RwLock<Vec<Arc<dyn TokenVerifier>>>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

fn scheme_value<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (given, rest) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(rest.trim())
}

impl Authenticator {
    pub fn new(mode: SandboxAuth) -> Self {
        Self {
            mode,
            verifiers: RwLock::new(Vec::new()),
        }
    }

    pub fn mode(&self) -> &SandboxAuth {
        &self.mode
    }

    /// Adds a verifier for runtime Bearer tokens (used in bearer and oauth2 modes).
    pub fn add_verifier(&self, verifier: Arc<dyn TokenVerifier>) {
        write(&self.verifiers).push(verifier);
    }

    /// The scopes of a Bearer token: every scope for the mode's fixed token, else what a
    /// verifier answers.
    fn bearer_scopes(&self, token: &str, fixed: Option<&str>) -> Option<Scopes> {
        if fixed.is_some_and(|fixed| secrets_equal(token, fixed)) {
            return Some(Scopes::all());
        }
        read(&self.verifiers).iter().find_map(|v| v.verify(token))
    }

    /// The caller's scopes when the request's credentials satisfy the mode.
    pub fn check(&self, headers: &HeaderMap) -> Result<Scopes, ApiError> {
        let scopes = match &self.mode {
            SandboxAuth::None => Some(Scopes::all()),
            SandboxAuth::Basic { username, password } => scheme_value(headers, "Basic")
                .and_then(|encoded| {
                    base64::engine::general_purpose::STANDARD
                        .decode(encoded)
                        .ok()
                })
                .and_then(|decoded| String::from_utf8(decoded).ok())
                .is_some_and(|pair| match pair.split_once(':') {
                    Some((user, pass)) => {
                        // Evaluate both comparisons so timing does not reveal which one failed.
                        let user_ok = secrets_equal(user, username);
                        let pass_ok = secrets_equal(pass, password);
                        user_ok & pass_ok
                    }
                    None => false,
                })
                .then_some(Scopes::all()),
            SandboxAuth::Bearer { token } => scheme_value(headers, "Bearer")
                .and_then(|given| self.bearer_scopes(given, Some(token))),
            SandboxAuth::OAuth2 { .. } => {
                scheme_value(headers, "Bearer").and_then(|given| self.bearer_scopes(given, None))
            }
        };
        if let Some(scopes) = scopes {
            return Ok(scopes);
        }
        let (challenge, message) = match self.mode {
            SandboxAuth::Basic { .. } => (
                HeaderValue::from_static("Basic realm=\"dbsync\""),
                "Unauthorized: send valid HTTP Basic credentials".to_owned(),
            ),
            // RFC 6750 3.1: a token a verifier recognises but refuses (an expired access
            // token or API key) is `invalid_token`, with the verifier's reason.
            _ => match scheme_value(headers, "Bearer").and_then(|given| {
                read(&self.verifiers)
                    .iter()
                    .find_map(|v| v.rejection(given))
            }) {
                Some(rejection) => (rejection.challenge(), rejection.message),
                None => (
                    HeaderValue::from_static("Bearer"),
                    "Unauthorized: send a valid token as Authorization: Bearer <token>".to_owned(),
                ),
            },
        };
        Err(ApiError::new(StatusCode::UNAUTHORIZED, message)
            .with_header(header::WWW_AUTHENTICATE, challenge))
    }
}

/// Rejects requests without valid credentials (`401`, except on public paths) and requests
/// whose credentials lack the route's scope (`403`); hands the caller's [`Scopes`] to the
/// handlers as a request extension.
pub(crate) async fn middleware(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if is_public_path(request.uri().path()) {
        return next.run(request).await;
    }
    let scopes = match state.auth.check(request.headers()) {
        Ok(scopes) => scopes,
        Err(error) => return error.into_response(),
    };
    if let Some(needed) = required_scope(request.method(), request.uri().path())
        && !scopes.contains(needed)
    {
        let what = format!("{} {}", request.method(), route_group(request.uri().path()));
        return insufficient_scope(&[needed], &what).into_response();
    }
    request.extensions_mut().insert(scopes);
    next.run(request).await
}

/// The first two segments of a path (`/v1/records`), so a message never echoes a long path.
fn route_group(path: &str) -> String {
    let group: String = path.split('/').take(3).collect::<Vec<_>>().join("/");
    group.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(header::AUTHORIZATION, v);
        }
        h
    }

    #[test]
    fn debug_redacts_secrets() {
        let auth = SandboxAuth::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
        let auth = SandboxAuth::Bearer {
            token: "tok-secret".into(),
        };
        assert!(!format!("{auth:?}").contains("tok-secret"));
        let auth = SandboxAuth::OAuth2 {
            client_id: "id".into(),
            client_secret: "cs-secret".into(),
        };
        assert!(!format!("{auth:?}").contains("cs-secret"));
    }

    #[test]
    fn basic_checks_both_parts() {
        let a = Authenticator::new(SandboxAuth::Basic {
            username: "u".into(),
            password: "p".into(),
        });
        assert!(a.check(&headers("Basic dTpw")).is_ok()); // u:p
        assert!(a.check(&headers("basic dTpw")).is_ok());
        assert!(a.check(&headers("Basic dTpx")).is_err()); // u:q
        assert!(a.check(&headers("Bearer p")).is_err());
        assert!(a.check(&HeaderMap::new()).is_err());
    }

    struct Fixed;
    impl TokenVerifier for Fixed {
        fn verify(&self, token: &str) -> Option<Scopes> {
            secrets_equal(token, "runtime").then_some(Scopes::none())
        }
    }

    #[test]
    fn verifiers_extend_bearer_and_oauth2() {
        let a = Authenticator::new(SandboxAuth::Bearer {
            token: "demo".into(),
        });
        assert!(a.check(&headers("Bearer demo")).is_ok());
        assert!(a.check(&headers("Bearer runtime")).is_err());
        a.add_verifier(Arc::new(Fixed));
        assert!(a.check(&headers("Bearer runtime")).is_ok());
        let o = Authenticator::new(SandboxAuth::OAuth2 {
            client_id: "c".into(),
            client_secret: "s".into(),
        });
        assert!(o.check(&headers("Bearer s")).is_err());
        o.add_verifier(Arc::new(Fixed));
        assert!(o.check(&headers("Bearer runtime")).is_ok());
    }
}
