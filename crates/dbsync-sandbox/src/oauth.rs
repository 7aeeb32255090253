//! OAuth 2.0 authorization server of the sandbox (RFC 6749 with PKCE, RFC 7636).
//!
//! - `POST /oauth/token`: form-encoded; the client authenticates with HTTP Basic
//!   `client_id:client_secret` or with `client_id`/`client_secret` form fields (one of the two).
//!   Grants: `client_credentials` (optional `scope`), `refresh_token` (rotating: the old refresh
//!   token dies) and `authorization_code` (PKCE S256 required, single-use codes, same
//!   `redirect_uri`).
//! - `GET /oauth/authorize`: answers `302` to `redirect_uri` with `code` and `state` for the
//!   configured user, without a login page.
//!
//! Only SHA-256 hashes of tokens and codes are stored; the client secret is compared in constant
//! time. Lifetimes use tokio's clock, so tests can pause and advance it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use tokio::time::Instant;

use crate::auth::secrets_equal;
use crate::ops_util::{constant_time_eq, random_secret, sha256};

/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/oauth/token";
/// Path of the authorization endpoint.
pub const AUTHORIZE_PATH: &str = "/oauth/authorize";

/// Settings of the sandbox's OAuth 2.0 mode: the one registered client, token and code
/// lifetimes, and the user an authorization code is issued for. `Debug` hides the secret.
#[derive(Clone)]
pub(crate) struct OAuth2Settings {
    client_id: String,
    client_secret: String,
    token_ttl: Duration,
    code_ttl: Duration,
    user: String,
}

impl OAuth2Settings {
    /// The registered client; access tokens live one hour, codes one minute.
    pub(crate) fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            token_ttl: Duration::from_secs(3600),
            code_ttl: Duration::from_secs(60),
            user: "sandbox-user".to_owned(),
        }
    }

    /// How long an access token is accepted (default one hour).
    pub(crate) fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl.min(crate::MAX_DURATION);
        self
    }
}

impl fmt::Debug for OAuth2Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Settings")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("token_ttl", &self.token_ttl)
            .field("code_ttl", &self.code_ttl)
            .field("user", &self.user)
            .finish()
    }
}

/// What the server knows about a bearer token presented to the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenStatus {
    /// Issued here and not expired.
    Active,
    /// Issued here, but its lifetime is over.
    Expired,
    /// Never issued here, or revoked.
    Unknown,
}

type Hash = [u8; 32];

#[derive(Debug)]
struct AccessGrant {
    expires_at: Instant,
    family: u64,
}

#[derive(Debug)]
struct RefreshGrant {
    scope: Option<String>,
    family: u64,
}

#[derive(Debug)]
struct CodeGrant {
    redirect_uri: String,
    challenge: String,
    scope: Option<String>,
    expires_at: Instant,
    family: u64,
}

#[derive(Debug, Default)]
struct Store {
    access: HashMap<Hash, AccessGrant>,
    refresh: HashMap<Hash, RefreshGrant>,
    codes: HashMap<Hash, CodeGrant>,
    /// Codes already exchanged, with the token family issued from each.
    used_codes: HashMap<Hash, u64>,
    next_family: u64,
    /// Sweep long-expired access tokens when there are more than this (twice what the last
    /// sweep left, at least [`ACCESS_SWEEP_FLOOR`]): O(1) per issued token, however many live.
    access_sweep_above: usize,
    /// How many sweeps ran (for tests).
    access_sweeps: u64,
}

/// Below this many access tokens, expired ones are never swept.
const ACCESS_SWEEP_FLOOR: usize = 1024;

impl Store {
    fn new_family(&mut self) -> u64 {
        self.next_family += 1;
        self.next_family
    }

    /// Forgets access tokens that expired more than `horizon` ago, when enough have been
    /// issued since the last sweep.
    fn sweep_access_if_due(&mut self, now: Instant, horizon: Duration) {
        if self.access.len() <= self.access_sweep_above.max(ACCESS_SWEEP_FLOOR) {
            return;
        }
        self.access.retain(|_, g| now < g.expires_at + horizon);
        self.access_sweep_above = self.access.len().saturating_mul(2).max(ACCESS_SWEEP_FLOOR);
        self.access_sweeps += 1;
    }

    fn revoke_family(&mut self, family: u64) {
        self.access.retain(|_, g| g.family != family);
        self.refresh.retain(|_, g| g.family != family);
    }
}

/// The OAuth 2.0 state of a sandbox: settings plus issued tokens and codes.
#[derive(Debug)]
pub(crate) struct OAuthServer {
    settings: OAuth2Settings,
    store: Mutex<Store>,
}

/// An RFC 6749 section 5.2 error.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = if error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    /// Why the token request's body could not be read: `413` past the server's body limit
    /// (the contract's status for a body over the limit, in RFC 6749's error shape), else `400`.
    fn unreadable_body(rejection: &BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                error: "invalid_request",
                description: "The token request body is larger than this server's request body \
                              limit; send only the parameters of the grant"
                    .to_owned(),
            }
        } else {
            Self::new(
                "invalid_request",
                "The token request body could not be read",
            )
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut response = (self.status, axum::Json(body)).into_response();
        no_store(response.headers_mut());
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"dbsync\""),
            );
        }
        response
    }
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// Request parameters, each at most once; an empty value counts as absent (RFC 6749 3.1).
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: &[u8]) -> Result<Self, String> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw).into_owned().collect();
        // A set, not a scan per pair: the token endpoint is public and a body may hold many
        // thousands of parameters.
        let mut seen = std::collections::HashSet::new();
        for (key, _) in &pairs {
            if !seen.insert(key.as_str()) {
                return Err(format!("Parameter `{key}` is given more than once"));
            }
        }
        Ok(Self(pairs))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::new(
                "invalid_request",
                format!("Missing required parameter `{name}`"),
            )
        })
    }
}

/// Checks a `scope` value: space-separated tokens of RFC 6749 section 3.3 characters.
fn valid_scope(scope: &str) -> bool {
    !scope.is_empty()
        && scope.split(' ').all(|token| {
            !token.is_empty()
                && token
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        })
}

/// `BASE64URL(SHA256(verifier))`, the S256 code challenge of a PKCE verifier.
pub(crate) fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(verifier))
}

/// A PKCE verifier: 43 to 128 unreserved characters (RFC 7636 section 4.1).
fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Decodes one `application/x-www-form-urlencoded` component (RFC 6749 2.3.1).
fn form_decode(part: &str) -> String {
    url::form_urlencoded::parse(format!("v={part}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl OAuthServer {
    pub(crate) fn new(settings: OAuth2Settings) -> Self {
        Self {
            settings,
            store: Mutex::new(Store::default()),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `token` is an access token issued here, and whether it is still alive.
    pub(crate) fn check_access_token(&self, token: &str) -> TokenStatus {
        let store = self.store();
        match store.access.get(&sha256(token)) {
            Some(grant) if Instant::now() < grant.expires_at => TokenStatus::Active,
            Some(_) => TokenStatus::Expired,
            None => TokenStatus::Unknown,
        }
    }

    fn client_matches(&self, id: &str, secret: &str) -> bool {
        let id_ok = secrets_equal(id, &self.settings.client_id);
        let secret_ok = secrets_equal(secret, &self.settings.client_secret);
        id_ok & secret_ok
    }

    /// RFC 6749 2.3.1: HTTP Basic, or `client_id` + `client_secret` in the body; not both.
    fn authenticate_client(&self, headers: &HeaderMap, params: &Params) -> Result<(), OAuthError> {
        let credentials = match headers.get(header::AUTHORIZATION) {
            Some(value) => {
                if params.get("client_secret").is_some() {
                    return Err(OAuthError::new(
                        "invalid_request",
                        "Use one client authentication method: HTTP Basic or form fields, not both",
                    ));
                }
                let text = value.to_str().unwrap_or_default();
                let encoded = text
                    .split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
                    .map(|(_, rest)| rest.trim())
                    .ok_or_else(|| {
                        OAuthError::new(
                            "invalid_client",
                            "Authenticate the client with HTTP Basic client_id:client_secret",
                        )
                    })?;
                let decoded = STANDARD
                    .decode(encoded)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| {
                        OAuthError::new(
                            "invalid_client",
                            "The Basic credentials are not valid base64",
                        )
                    })?;
                let (id, secret) = decoded.split_once(':').ok_or_else(|| {
                    OAuthError::new(
                        "invalid_client",
                        "The Basic credentials must be client_id:client_secret",
                    )
                })?;
                if let Some(form_id) = params.get("client_id")
                    && form_id != form_decode(id)
                {
                    return Err(OAuthError::new(
                        "invalid_request",
                        "The client_id parameter differs from the authenticated client",
                    ));
                }
                (form_decode(id), form_decode(secret))
            }
            None => match (params.get("client_id"), params.get("client_secret")) {
                (Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
                _ => {
                    return Err(OAuthError::new(
                        "invalid_client",
                        "Client authentication is required: send HTTP Basic client_id:client_secret",
                    ));
                }
            },
        };
        if self.client_matches(&credentials.0, &credentials.1) {
            Ok(())
        } else {
            Err(OAuthError::new(
                "invalid_client",
                "Client authentication failed: unknown client_id or wrong client_secret",
            ))
        }
    }

    /// Issues an access token and a refresh token of `family`.
    fn issue(&self, store: &mut Store, scope: Option<String>, family: u64) -> serde_json::Value {
        let now = Instant::now();
        // Forget tokens that expired long ago, so the store does not grow without bound.
        let horizon = Duration::from_secs(3600).max(self.settings.token_ttl);
        store.sweep_access_if_due(now, horizon);
        let access_token = random_secret("at_");
        let refresh_token = random_secret("rt_");
        store.access.insert(
            sha256(&access_token),
            AccessGrant {
                expires_at: now + self.settings.token_ttl,
                family,
            },
        );
        store.refresh.insert(
            sha256(&refresh_token),
            RefreshGrant {
                scope: scope.clone(),
                family,
            },
        );
        let ttl = self.settings.token_ttl;
        let expires_in = ttl
            .as_secs()
            .saturating_add(u64::from(ttl.subsec_nanos() > 0));
        let mut body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "refresh_token": refresh_token,
        });
        if let (Some(scope), Some(map)) = (scope, body.as_object_mut()) {
            map.insert("scope".to_owned(), json!(scope));
        }
        body
    }

    fn token(&self, headers: &HeaderMap, body: &[u8]) -> Result<serde_json::Value, OAuthError> {
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

    fn scope_param(params: &Params) -> Result<Option<String>, OAuthError> {
        match params.get("scope") {
            None => Ok(None),
            Some(scope) if valid_scope(scope) => Ok(Some(scope.to_owned())),
            Some(_) => Err(OAuthError::new(
                "invalid_scope",
                "The scope must be space-separated tokens of printable ASCII without `\"` or `\\`",
            )),
        }
    }

    fn client_credentials(&self, params: &Params) -> Result<serde_json::Value, OAuthError> {
        let scope = Self::scope_param(params)?;
        let mut store = self.store();
        let family = store.new_family();
        Ok(self.issue(&mut store, scope, family))
    }

    fn refresh(&self, params: &Params) -> Result<serde_json::Value, OAuthError> {
        let token = params.require("refresh_token")?;
        let requested = Self::scope_param(params)?;
        let mut store = self.store();
        let hash = sha256(token);
        let grant = store.refresh.get(&hash).ok_or_else(|| {
            OAuthError::new(
                "invalid_grant",
                "The refresh token is unknown, revoked or already used; get a new grant",
            )
        })?;
        let scope = match requested {
            None => grant.scope.clone(),
            Some(requested) => {
                let granted: Vec<&str> = grant
                    .scope
                    .as_deref()
                    .map(|s| s.split(' ').collect())
                    .unwrap_or_default();
                if !requested.split(' ').all(|s| granted.contains(&s)) {
                    return Err(OAuthError::new(
                        "invalid_scope",
                        "A refresh may only narrow the scope originally granted",
                    ));
                }
                Some(requested)
            }
        };
        let family = grant.family;
        // Rotation: the presented refresh token dies now.
        store.refresh.remove(&hash);
        Ok(self.issue(&mut store, scope, family))
    }

    fn exchange_code(&self, params: &Params) -> Result<serde_json::Value, OAuthError> {
        let code = params.require("code")?;
        let redirect_uri = params.require("redirect_uri")?;
        let verifier = params.get("code_verifier").ok_or_else(|| {
            OAuthError::new(
                "invalid_request",
                "PKCE is required: send the code_verifier of the authorization request",
            )
        })?;
        let hash = sha256(code);
        let mut store = self.store();
        if let Some(family) = store.used_codes.get(&hash).copied() {
            store.revoke_family(family);
            return Err(OAuthError::new(
                "invalid_grant",
                "The authorization code was already used; tokens issued from it are revoked",
            ));
        }
        let grant = store
            .codes
            .remove(&hash)
            .ok_or_else(|| OAuthError::new("invalid_grant", "The authorization code is unknown"))?;
        // Single use: from now on the code only revokes what it produced.
        store.used_codes.insert(hash, grant.family);
        if Instant::now() >= grant.expires_at {
            return Err(OAuthError::new(
                "invalid_grant",
                "The authorization code has expired; start the authorization again",
            ));
        }
        if redirect_uri != grant.redirect_uri {
            return Err(OAuthError::new(
                "invalid_grant",
                "redirect_uri differs from the one of the authorization request",
            ));
        }
        if !valid_verifier(verifier)
            || !constant_time_eq(
                s256_challenge(verifier).as_bytes(),
                grant.challenge.as_bytes(),
            )
        {
            return Err(OAuthError::new(
                "invalid_grant",
                "PKCE verification failed: code_verifier does not match the code_challenge",
            ));
        }
        Ok(self.issue(&mut store, grant.scope, grant.family))
    }

    /// The authorize endpoint: a redirect with a code, or an error (RFC 6749 4.1.2.1).
    fn authorize(&self, raw_query: &str) -> Response {
        let params = Params::parse(raw_query.as_bytes());
        let lookup = |name: &str| match &params {
            Ok(p) => p.get(name).map(str::to_owned),
            Err(_) => None,
        };
        // Errors about the client or the redirect URI are shown, never redirected.
        let Some(client_id) = lookup("client_id") else {
            return OAuthError::new("invalid_request", "Missing required parameter `client_id`")
                .into_response();
        };
        if !secrets_equal(&client_id, &self.settings.client_id) {
            return OAuthError::new("unauthorized_client", "Unknown client_id").into_response();
        }
        let Some(redirect_text) = lookup("redirect_uri") else {
            return OAuthError::new(
                "invalid_request",
                "Missing required parameter `redirect_uri`",
            )
            .into_response();
        };
        let redirect = match url::Url::parse(&redirect_text) {
            Ok(url) if url.fragment().is_none() && !url.cannot_be_a_base() => url,
            _ => {
                return OAuthError::new(
                    "invalid_request",
                    "redirect_uri must be an absolute URI without a fragment",
                )
                .into_response();
            }
        };
        let state = lookup("state");
        let outcome = match params {
            Err(message) => Err(OAuthError::new("invalid_request", message)),
            Ok(params) => self.authorize_checked(&params, &redirect_text),
        };
        let mut location = redirect;
        {
            let mut pairs = location.query_pairs_mut();
            match &outcome {
                Ok(code) => {
                    pairs.append_pair("code", code);
                }
                Err(error) => {
                    pairs.append_pair("error", error.error);
                    pairs.append_pair("error_description", &error.description);
                }
            }
            if let Some(state) = &state {
                pairs.append_pair("state", state);
            }
        }
        let mut response = StatusCode::FOUND.into_response();
        if let Ok(value) = HeaderValue::from_str(location.as_str()) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        no_store(response.headers_mut());
        response
    }

    fn authorize_checked(&self, params: &Params, redirect_uri: &str) -> Result<String, OAuthError> {
        match params.get("response_type") {
            Some("code") => {}
            Some(other) => {
                return Err(OAuthError::new(
                    "unsupported_response_type",
                    format!("response_type `{other}` is not supported; use `code`"),
                ));
            }
            None => {
                return Err(OAuthError::new(
                    "invalid_request",
                    "Missing required parameter `response_type`",
                ));
            }
        }
        let challenge = params.get("code_challenge").ok_or_else(|| {
            OAuthError::new(
                "invalid_request",
                "PKCE is required: send code_challenge and code_challenge_method=S256",
            )
        })?;
        if params.get("code_challenge_method") != Some("S256") {
            return Err(OAuthError::new(
                "invalid_request",
                "code_challenge_method must be S256; the plain method is not accepted",
            ));
        }
        let challenge_ok = challenge.len() == 43
            && challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !challenge_ok {
            return Err(OAuthError::new(
                "invalid_request",
                "code_challenge must be BASE64URL(SHA256(code_verifier)) without padding",
            ));
        }
        let scope = Self::scope_param(params)?;
        let code = random_secret("ac_");
        let mut store = self.store();
        let family = store.new_family();
        let now = Instant::now();
        store.codes.retain(|_, g| now < g.expires_at);
        store.codes.insert(
            sha256(&code),
            CodeGrant {
                redirect_uri: redirect_uri.to_owned(),
                challenge: challenge.to_owned(),
                scope,
                expires_at: now + self.settings.code_ttl,
                family,
            },
        );
        tracing::debug!(user = %self.settings.user, "issued an authorization code");
        Ok(code)
    }
}

/// The state of the endpoints: the server, or `None` outside oauth2 mode.
type Endpoints = Option<Arc<OAuthServer>>;

fn disabled() -> Response {
    crate::error::ApiError::not_found(
        "OAuth 2.0 is not enabled on this sandbox: start it with --auth oauth2 (SandboxAuth::OAuth2)",
    )
    .into_response()
}

async fn token_endpoint(
    State(server): State<Endpoints>,
    headers: HeaderMap,
    // Read under the sandbox's configured body limit (`DefaultBodyLimit` in `routes::app`).
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(server) = server else {
        return disabled();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return OAuthError::unreadable_body(&rejection).into_response(),
    };
    match server.token(&headers, &body) {
        Ok(body) => {
            let mut response = (StatusCode::OK, axum::Json(body)).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn authorize_endpoint(
    State(server): State<Endpoints>,
    RawQuery(query): RawQuery,
) -> Response {
    match server {
        Some(server) => server.authorize(query.as_deref().unwrap_or_default()),
        None => disabled(),
    }
}

/// The token and authorize endpoints (outside the API's own authentication); they answer `404`
/// when `server` is `None` (not in oauth2 mode).
pub(crate) fn routes<S>(server: Endpoints) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(TOKEN_PATH, post(token_endpoint))
        .route(AUTHORIZE_PATH, get(authorize_endpoint))
        .with_state(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> OAuthServer {
        OAuthServer::new(OAuth2Settings::new("cid", "csecret").token_ttl(Duration::from_secs(10)))
    }

    fn form_headers(basic: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        if let Some(creds) = basic {
            let value = format!("Basic {}", STANDARD.encode(creds));
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&value).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn scope_syntax() {
        assert!(valid_scope("records:read records:write"));
        assert!(!valid_scope("a  b"));
        assert!(!valid_scope("quote\"d"));
        assert!(!valid_scope(""));
    }

    #[test]
    fn form_field_and_basic_client_auth() {
        let s = server();
        let by_form = s.token(
            &form_headers(None),
            b"grant_type=client_credentials&client_id=cid&client_secret=csecret",
        );
        assert!(by_form.is_ok());
        let by_basic = s.token(
            &form_headers(Some("cid:csecret")),
            b"grant_type=client_credentials",
        );
        assert_eq!(by_basic.unwrap()["token_type"], "Bearer");
        let wrong = s
            .token(
                &form_headers(Some("cid:nope")),
                b"grant_type=client_credentials",
            )
            .unwrap_err();
        assert_eq!(
            (wrong.status.as_u16(), wrong.error),
            (401, "invalid_client")
        );
        let both = s
            .token(
                &form_headers(Some("cid:csecret")),
                b"grant_type=client_credentials&client_secret=csecret",
            )
            .unwrap_err();
        assert_eq!(both.error, "invalid_request");
    }

    #[tokio::test(start_paused = true)]
    async fn access_tokens_expire_on_the_paused_clock() {
        let s = server();
        let body = s
            .token(
                &form_headers(Some("cid:csecret")),
                b"grant_type=client_credentials",
            )
            .unwrap();
        let token = body["access_token"].as_str().unwrap().to_owned();
        assert_eq!(body["expires_in"], 10);
        assert_eq!(s.check_access_token(&token), TokenStatus::Active);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(s.check_access_token(&token), TokenStatus::Expired);
        assert_eq!(s.check_access_token("at_other"), TokenStatus::Unknown);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_access_tokens_are_swept_rarely_but_surely() {
        let s = server();
        let issue = || {
            s.token(
                &form_headers(Some("cid:csecret")),
                b"grant_type=client_credentials",
            )
            .unwrap()
        };
        for _ in 0..5000 {
            issue();
        }
        // Live tokens: a few sweeps (at about 1k, 2k, 4k), not one per token.
        assert!(s.store().access_sweeps <= 3);
        assert_eq!(s.store().access.len(), 5000);
        // Long expired (TTL 10 s, horizon one hour): the next due sweep drops them.
        tokio::time::advance(Duration::from_secs(7200)).await;
        for _ in 0..5000 {
            issue();
        }
        assert!(
            s.store().access.len() < 10_000,
            "{}",
            s.store().access.len()
        );
    }

    #[test]
    fn debug_never_shows_secrets_or_tokens() {
        let s = server();
        let body = s
            .token(
                &form_headers(Some("cid:csecret")),
                b"grant_type=client_credentials",
            )
            .unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("csecret"), "{debug}");
        assert!(!debug.contains(body["access_token"].as_str().unwrap()));
        assert!(!debug.contains(body["refresh_token"].as_str().unwrap()));
    }

    #[test]
    fn error_messages_never_carry_the_secret() {
        let s = server();
        let err = s
            .token(
                &form_headers(Some("cid:bad-guess-123")),
                b"grant_type=client_credentials",
            )
            .unwrap_err();
        assert!(!err.description.contains("csecret") && !err.description.contains("bad-guess-123"));
    }
}
