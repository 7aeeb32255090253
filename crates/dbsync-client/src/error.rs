//! The one error type of this crate, and how a response or a transport failure becomes one.

use std::sync::Arc;
use std::time::Duration;

use dbsync_auth::AuthError;

use crate::wait_notice::whole_units;

use dbsync_validate::{ErrorBody, ErrorDetail, Violations};

use crate::challenge;

/// How many characters of an unexpected body an error quotes.
const SNIPPET_CHARS: usize = 160;

/// Everything that can go wrong talking to DBSync. Messages say what to do and never contain a
/// secret. Match on the variants, or use the accessors ([`Error::status`],
/// [`Error::is_retryable`], [`Error::retry_after`], [`Error::details`]...).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `400`: the request or a record is invalid. `details` lists every violation. A local
    /// pre-flight check against a schema reports the same variant, as the server would.
    #[error("validation failed (400): {message}{}", list_details(message, details))]
    Validation {
        /// The server's message.
        message: String,
        /// Every violation, field by field.
        details: Vec<ErrorDetail>,
    },
    /// `401`: the credentials were refused (after one refresh where the strategy can refresh).
    /// When the server says they expired (see [`Error::is_expired_credentials`]), the message
    /// says so and what to do.
    #[error("unauthorized (401): {message}; {}", unauthorized_hint(message, challenge.as_deref()))]
    Unauthorized {
        /// The server's message.
        message: String,
        /// The `WWW-Authenticate` challenge, if the server sent one (`Bearer`, `Basic realm=..`).
        challenge: Option<String>,
    },
    /// `403`: the credentials were accepted but lack a permission (a scope) the call needs.
    /// Retrying cannot help, and it is not a credentials problem: use a token or API key
    /// granted `scope`. Never retried, and no token renewal is tried.
    #[error("forbidden (403): {message}; {}", forbidden_hint(scope.as_deref()))]
    Forbidden {
        /// The server's message.
        message: String,
        /// The missing scope, from `WWW-Authenticate: Bearer error="insufficient_scope",
        /// scope="..."` when the server sent a well-formed one (`records:write`; space
        /// separated when several).
        scope: Option<String>,
    },
    /// `404`: no such record, or no such resource (a wrong base URL also gives this).
    #[error("not found (404): {message}")]
    NotFound {
        /// The server's message.
        message: String,
    },
    /// `409`: a conflict (an idempotency key reused with another body, a finished workflow run).
    #[error("conflict (409): {message}")]
    Conflict {
        /// The server's message.
        message: String,
    },
    /// `413`: the request body is over the server's limit.
    #[error("payload too large (413): {message}; send fewer or smaller records per request")]
    PayloadTooLarge {
        /// The server's message.
        message: String,
    },
    /// `429`: too many requests. `retry_after` is the wait the server asked for, if any.
    #[error("rate limited (429): {message}{}", describe_wait(*retry_after))]
    RateLimited {
        /// The server's message.
        message: String,
        /// How long the server asked to wait (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// `5xx`: the server failed.
    #[error("server error ({status}): {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The server's message, or a snippet of its body.
        message: String,
    },
    /// Any other unexpected status (a redirect, `415`...).
    #[error("unexpected HTTP status {status}: {message}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The server's message, or a snippet of its body.
        message: String,
    },
    /// The request did not complete: no connection, a timeout, a TLS failure, a dropped body,
    /// a body over the connection's size limit.
    #[error("{kind}: {message}")]
    Transport {
        /// What kind of failure.
        kind: TransportKind,
        /// What happened, and what to check.
        message: String,
        /// The underlying error (its URL removed), for [`std::error::Error::source`]: an opaque
        /// error, so that no HTTP library's type is part of this crate's API.
        #[source]
        source: Option<TransportSource>,
    },
    /// The response was not what the contract says (a body that is not JSON, a missing field,
    /// a record that does not fit the target type).
    #[error("could not decode the response{}: {message}{}", describe_status(*status), describe_snippet(snippet))]
    Decode {
        /// The HTTP status of the response, if there was one.
        status: Option<u16>,
        /// What did not fit.
        message: String,
        /// The first characters of the body.
        snippet: String,
    },
    /// The authentication strategy failed (a token endpoint refused, insecure transport...).
    #[error("authentication: {0}")]
    Auth(#[from] AuthError),
    /// The connection or the call is configured wrongly; the message names the setting.
    #[error("configuration: {0}")]
    Config(String),
    /// Writing a download (a log export) to its destination failed; nothing is lost on the
    /// server, run the export again.
    #[error("{message}: {source}")]
    Io {
        /// What was being written, and where.
        message: String,
        /// The I/O error.
        #[source]
        source: Arc<std::io::Error>,
    },
}

/// The cause of an [`Error::Transport`], kept for [`std::error::Error::source`] (its own
/// sources follow): shared, so that [`Error`] is `Clone`, and opaque, so that the HTTP
/// library underneath is not part of the API.
pub type TransportSource = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of transport failure an [`Error::Transport`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// No connection could be made (host unreachable, refused, DNS): nothing was sent.
    Connect,
    /// Connecting took longer than the connect timeout: nothing was sent.
    ConnectTimeout,
    /// The request timed out after it was sent; the server may have acted on it.
    Timeout,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The connection broke while sending the request or reading the response.
    Broken,
    /// The response body was over the connection's limit
    /// ([`crate::ConnectionBuilder::max_response_bytes`]): reading it stopped at the limit, and
    /// the call was not retried. For a `2xx`, the server may have acted on the request.
    ResponseTooLarge,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Connect => "could not connect",
            Self::ConnectTimeout => "timed out connecting",
            Self::Timeout => "request timed out",
            Self::Tls => "TLS failure",
            Self::Broken => "connection broken",
            Self::ResponseTooLarge => "response too large",
        })
    }
}

impl Error {
    /// The HTTP status this error stands for, if it came from a response (`Validation` is
    /// `400`, also for a local pre-flight check, since that is what the server would answer).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Validation { .. } => Some(400),
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::Conflict { .. } => Some(409),
            Self::PayloadTooLarge { .. } => Some(413),
            Self::RateLimited { .. } => Some(429),
            Self::Server { status, .. } | Self::Http { status, .. } => Some(*status),
            Self::Decode { status, .. } => *status,
            Self::Transport { .. } | Self::Auth(_) | Self::Config(_) | Self::Io { .. } => None,
        }
    }

    /// A short, stable name of the kind of error, for logs and the API log: `validation`,
    /// `unauthorized`, `forbidden`, `not_found`, `conflict`, `payload_too_large`, `rate_limited`, `server`,
    /// `http`, `connect`, `connect_timeout`, `timeout`, `tls`, `broken`, `response_too_large`,
    /// `decode`, `auth`, `config` or `io`. Never holds data from the request.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "validation",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::Conflict { .. } => "conflict",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "server",
            Self::Http { .. } => "http",
            Self::Transport { kind, .. } => match kind {
                TransportKind::Connect => "connect",
                TransportKind::ConnectTimeout => "connect_timeout",
                TransportKind::Timeout => "timeout",
                TransportKind::Tls => "tls",
                TransportKind::Broken => "broken",
                TransportKind::ResponseTooLarge => "response_too_large",
            },
            Self::Decode { .. } => "decode",
            Self::Auth(_) => "auth",
            Self::Config(_) => "config",
            Self::Io { .. } => "io",
        }
    }

    /// Whether trying the same call again later could succeed (`429`, `5xx` other than `501`,
    /// connection failures and timeouts; not a TLS failure nor a response over the size
    /// limit). The client's own retries already used this; it is for
    /// callers deciding whether to re-queue work.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } => true,
            Self::Server { status, .. } => *status != 501,
            Self::Transport { kind, .. } => {
                !matches!(kind, TransportKind::Tls | TransportKind::ResponseTooLarge)
            }
            _ => false,
        }
    }

    /// Whether this is a timeout (connecting or waiting for the response).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Self::Transport {
                kind: TransportKind::Timeout | TransportKind::ConnectTimeout,
                ..
            }
        )
    }

    /// Whether no connection could be made (nothing was sent).
    pub fn is_connect(&self) -> bool {
        matches!(
            self,
            Self::Transport {
                kind: TransportKind::Connect | TransportKind::ConnectTimeout,
                ..
            }
        )
    }

    /// Whether this is a `403`: the credentials lack a permission; see [`Error::missing_scope`].
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Self::Forbidden { .. })
    }

    /// The scope a `403` says is missing (`records:write`), when the server named one.
    pub fn missing_scope(&self) -> Option<&str> {
        match self {
            Self::Forbidden { scope, .. } => scope.as_deref(),
            _ => None,
        }
    }

    /// Whether this is a `401` saying the credentials (an API key, an access token) expired:
    /// `WWW-Authenticate: Bearer error="invalid_token"` with an `error_description` that
    /// mentions expiry, or a message that does. A new key (or token) is needed; regenerating
    /// an API key keeps its expiry.
    pub fn is_expired_credentials(&self) -> bool {
        match self {
            Self::Unauthorized { message, challenge } => {
                challenge::says_expired(challenge.as_deref(), message)
            }
            _ => false,
        }
    }

    /// The wait the server asked for on a `429`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Every violation of a validation error (empty for other errors).
    pub fn details(&self) -> &[ErrorDetail] {
        match self {
            Self::Validation { details, .. } => details,
            _ => &[],
        }
    }

    /// A configuration error.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::Config(message.into())
    }

    /// A decode error quoting the start of `body`.
    pub(crate) fn decode(status: Option<u16>, message: impl Into<String>, body: &[u8]) -> Self {
        Self::Decode {
            status,
            message: message.into(),
            snippet: snippet(body),
        }
    }

    /// Maps a non-success response to its error. Any body works: the contract's error body
    /// gives the message and details; anything else (HTML, empty, truncated) is quoted.
    pub(crate) fn from_response(
        status: u16,
        challenge: Option<String>,
        location: Option<String>,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Self {
        let (message, details) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(parsed) => (parsed.error.message, parsed.error.details),
            Err(_) => (describe_body(body), Vec::new()),
        };
        Self::from_parts(status, message, details, challenge, location, retry_after)
    }

    /// The error a local pre-flight check gives: the same [`Error::Validation`] a server `400`
    /// with these violations would give.
    pub(crate) fn from_violations(violations: &Violations) -> Self {
        let object = violations.to_error_object();
        Self::Validation {
            message: object.message,
            details: object.details,
        }
    }

    /// Maps a status and an already parsed message (a batch item's inner error) to its error.
    pub(crate) fn from_parts(
        status: u16,
        message: String,
        details: Vec<ErrorDetail>,
        challenge: Option<String>,
        location: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        match status {
            400 | 422 => Self::Validation { message, details },
            401 => Self::Unauthorized { message, challenge },
            403 => Self::Forbidden {
                message,
                scope: challenge.as_deref().and_then(challenge::missing_scope),
            },
            404 => Self::NotFound { message },
            409 => Self::Conflict { message },
            413 => Self::PayloadTooLarge { message },
            429 => Self::RateLimited {
                message,
                retry_after,
            },
            500..=599 => Self::Server { status, message },
            300..=399 => Self::Http {
                status,
                message: match location {
                    Some(to) => format!(
                        "the server redirects to `{}`; redirects are not followed (credentials \
                         must not leave the connection's origin): set the base URL to the final \
                         address",
                        shown_location(&to)
                    ),
                    None => message,
                },
            },
            _ => Self::Http { status, message },
        }
    }

    /// Maps a reqwest failure, with `what` naming the call (`GET /v1/records`) for the message.
    pub(crate) fn from_transport(error: reqwest::Error, what: &str) -> Self {
        let error = error.without_url();
        let kind = transport_kind(&error);
        let hint = match kind {
            TransportKind::Connect => {
                "check the base URL's host and port, that the server is up, and the network"
            }
            TransportKind::ConnectTimeout => {
                "the host did not answer; check the base URL, firewalls, or raise connect_timeout"
            }
            TransportKind::Timeout => {
                "the server did not answer in time; raise the timeout or retry later"
            }
            TransportKind::Tls => {
                "check that the URL is right for TLS (https:// to a TLS port) and that the \
                 server's certificate is valid for its host name; if a private CA issued it, \
                 add that CA: the settings' tls.ca_file or \
                 ConnectionBuilder::ca_certificate_pem_file"
            }
            TransportKind::Broken => "the connection dropped; retry later",
            TransportKind::ResponseTooLarge => {
                "raise the limit with ConnectionBuilder::max_response_bytes"
            }
        };
        Self::Transport {
            kind,
            message: format!("{what}: {}; {hint}", chain_text(&error)),
            source: Some(Arc::new(error) as TransportSource),
        }
    }
}

fn transport_kind(error: &reqwest::Error) -> TransportKind {
    // reqwest does not classify TLS failures. rustls reports them as `io::Error`s of kind
    // `InvalidData` during connect (no plain TCP connect fails that way), with messages about
    // certificates, handshakes or corrupt messages; look for both.
    let text = chain_text(error).to_ascii_lowercase();
    let tls_words = [
        "certificate",
        "tls",
        "handshake",
        "unknownissuer",
        "invalid peer",
        "corrupt message",
    ];
    let tls = tls_words.iter().any(|needle| text.contains(needle))
        || (error.is_connect() && has_invalid_data_io_error(error));
    if tls {
        TransportKind::Tls
    } else if error.is_connect() && error.is_timeout() {
        TransportKind::ConnectTimeout
    } else if error.is_connect() {
        TransportKind::Connect
    } else if error.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Broken
    }
}

fn has_invalid_data_io_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData)
        {
            return true;
        }
        source = cause.source();
    }
    false
}

/// The error and its sources, joined (reqwest's own message is often just "error sending
/// request"; the cause is further down).
fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// A message for a body that is not the contract's error body.
fn describe_body(body: &[u8]) -> String {
    if body.iter().all(u8::is_ascii_whitespace) {
        "the response body was empty".to_owned()
    } else {
        format!("unexpected response body `{}`", snippet(body))
    }
}

/// The first characters of a body, on one line.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut last_space = false;
    for (count, ch) in text.trim().chars().enumerate() {
        if count >= SNIPPET_CHARS {
            out.push('…');
            break;
        }
        let ch = if ch.is_control() || ch.is_whitespace() {
            ' '
        } else {
            ch
        };
        if ch == ' ' && last_space {
            continue;
        }
        last_space = ch == ' ';
        out.push(ch);
    }
    out
}

/// The details a message does not already say (dbsync-validate's messages list them).
fn list_details(message: &str, details: &[ErrorDetail]) -> String {
    details
        .iter()
        .filter(|d| !message.contains(&d.message))
        .map(|d| {
            if d.field.is_empty() {
                format!("; {}", d.message)
            } else {
                format!("; {}: {}", d.field, d.message)
            }
        })
        .collect()
}

/// The most characters of a redirect's target an error shows.
const LOCATION_CHARS: usize = 200;

/// A redirect's target as an error shows it: without user info, query or fragment (a server
/// may echo a token there), and cut to [`LOCATION_CHARS`].
fn shown_location(location: &str) -> String {
    let shown = match url::Url::parse(location) {
        Ok(mut url) => {
            let hidden = url.query().is_some()
                || url.fragment().is_some()
                || !url.username().is_empty()
                || url.password().is_some();
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            format!("{url}{}", if hidden { " (details hidden)" } else { "" })
        }
        Err(_) => match location.split(['?', '#']).next() {
            Some(path) if !path.contains('@') && path.len() == location.len() => path.to_owned(),
            Some(path) if !path.contains('@') => format!("{path} (details hidden)"),
            _ => "(an address with user info, hidden)".to_owned(),
        },
    };
    shown.chars().take(LOCATION_CHARS).collect()
}

/// What a `401` means for the caller: an expired key or token when the server says so,
/// otherwise the usual suspects.
fn unauthorized_hint(message: &str, challenge: Option<&str>) -> &'static str {
    if !challenge::says_expired(challenge, message) {
        "check the credentials (a wrong, expired, rotated or revoked API key, token or password)"
    } else if challenge::says_api_key(challenge, message) {
        "the API key has expired: create a new key (regenerating a key keeps its expiry)"
    } else {
        "the credentials have expired: get new ones (a new access token or API key)"
    }
}

/// What a `403` means for the caller.
fn forbidden_hint(scope: Option<&str>) -> String {
    let lacking = match scope {
        Some(scope) => format!("the credentials lack the scope `{scope}`"),
        None => "the credentials lack a permission this call needs (the server did not name a \
                 scope)"
            .to_owned(),
    };
    format!(
        "{lacking}; retrying will not help: this is a permission problem, not bad credentials \
         (use a token or API key granted that scope)"
    )
}

/// A server's wait in whole units (`750 ms`, `24 h`): never a float, which would print an
/// absurd `Retry-After` as `18446744073709552000 s`.
fn describe_wait(wait: Option<Duration>) -> String {
    match wait {
        Some(wait) => format!("; the server asks to wait {}", whole_units(wait)),
        None => "; wait and retry".to_owned(),
    }
}

fn describe_status(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

fn describe_snippet(snippet: &str) -> String {
    if snippet.is_empty() {
        " (the body was empty)".to_owned()
    } else {
        format!(" (body starts `{snippet}`)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(status: u16, body: &str) -> Error {
        Error::from_response(status, None, None, None, body.as_bytes())
    }

    #[test]
    fn a_clone_keeps_an_auth_error_whole() {
        let refused = Error::Auth(AuthError::TokenEndpoint {
            grant: "client_credentials",
            error: "invalid_client".into(),
            description: Some("unknown client".into()),
            status: 401,
        });
        let copy = refused.clone();
        assert!(
            matches!(
                &copy,
                Error::Auth(AuthError::TokenEndpoint { error, status: 401, .. })
                    if error == "invalid_client"
            ),
            "{copy:?}"
        );
        assert_eq!(copy.to_string(), refused.to_string());
    }

    #[tokio::test]
    async fn a_transport_error_keeps_its_cause_through_clones() {
        use std::error::Error as _;
        // Port 9 on loopback: nothing listens, the connect is refused at once.
        let failure = reqwest::Client::new()
            .get("http://127.0.0.1:9/")
            .send()
            .await
            .unwrap_err();
        let error = Error::from_transport(failure, "GET /v1/records").clone();
        assert_eq!(error.kind(), "connect");
        let cause = error.source().expect("a transport error has a cause");
        assert!(!cause.to_string().is_empty());
    }

    #[test]
    fn each_status_maps_to_its_variant() {
        let body = r#"{"error":{"code":0,"message":"m"}}"#;
        assert!(matches!(map(400, body), Error::Validation { .. }));
        assert!(matches!(map(401, body), Error::Unauthorized { .. }));
        assert!(matches!(map(404, body), Error::NotFound { .. }));
        assert!(matches!(map(409, body), Error::Conflict { .. }));
        assert!(matches!(map(413, body), Error::PayloadTooLarge { .. }));
        assert!(matches!(map(429, body), Error::RateLimited { .. }));
        assert!(matches!(map(503, body), Error::Server { status: 503, .. }));
        assert!(matches!(
            map(403, body),
            Error::Forbidden { scope: None, .. }
        ));
        for status in [400, 401, 404, 409, 413, 429, 500, 403] {
            assert_eq!(map(status, body).status(), Some(status));
        }
    }

    #[test]
    fn validation_keeps_every_detail() {
        let err = map(
            400,
            r#"{"error":{"code":400,"message":"Invalid field value","details":[{"field":"email","message":"bad"},{"field":"age","message":"not an integer"}]}}"#,
        );
        assert_eq!(err.details().len(), 2);
        let text = err.to_string();
        assert!(
            text.contains("email: bad") && text.contains("age: not an integer"),
            "{text}"
        );
    }

    #[test]
    fn any_body_gives_a_useful_message() {
        let html = map(502, "<html><body>\n  Bad   gateway</body></html>");
        assert!(
            html.to_string().contains("<html><body> Bad gateway"),
            "{html}"
        );
        let empty = map(500, "");
        assert!(empty.to_string().contains("empty"), "{empty}");
        let truncated = map(500, r#"{"error":{"code":500,"mess"#);
        assert!(truncated.to_string().contains(r#"{"error""#), "{truncated}");
        let long = "x".repeat(10_000);
        assert!(map(500, &long).to_string().len() < 400);
    }

    #[test]
    fn retryable_and_accessors() {
        assert!(map(429, "").is_retryable());
        assert!(map(503, "").is_retryable());
        assert!(!map(501, "").is_retryable());
        assert!(!map(400, "").is_retryable());
        let limited = Error::from_response(429, None, None, Some(Duration::from_secs(7)), b"");
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        assert!(limited.to_string().contains("7 s"));
    }

    #[test]
    fn redirects_name_the_target() {
        let err = Error::from_response(301, None, Some("https://x/".into()), None, b"");
        assert!(err.to_string().contains("https://x/"), "{err}");
    }

    #[test]
    fn a_redirect_target_is_shown_without_what_may_hold_a_secret() {
        for (location, shown) in [
            ("https://x/a?token=SEKRIT#f", "https://x/a (details hidden)"),
            ("https://u:SEKRIT@x/a", "https://x/a (details hidden)"),
            ("/login?token=SEKRIT", "/login (details hidden)"),
            ("//u:SEKRIT@x/a", "(an address with user info, hidden)"),
            ("/plain", "/plain"),
        ] {
            let err = Error::from_response(302, None, Some(location.into()), None, b"");
            let text = err.to_string();
            assert!(text.contains(&format!("`{shown}`")), "{text}");
            assert!(!text.contains("SEKRIT"), "{text}");
        }
        let long = format!("https://x/{}", "a".repeat(10_000));
        let err = Error::from_response(302, None, Some(long), None, b"");
        assert!(err.to_string().len() < LOCATION_CHARS + 300, "{err}");
    }

    #[test]
    fn a_servers_wait_prints_in_whole_units() {
        let wait = |w| describe_wait(Some(w));
        assert_eq!(
            wait(Duration::from_millis(750)),
            "; the server asks to wait 750 ms"
        );
        assert_eq!(
            wait(Duration::from_millis(2_500)),
            "; the server asks to wait 3 s"
        );
        assert_eq!(
            wait(Duration::from_secs(u64::MAX)),
            "; the server asks to wait 5124095576030431 h"
        );
    }

    #[test]
    fn snippet_is_short_and_single_line() {
        assert_eq!(snippet(b"  a\n\n b  "), "a b");
        assert_eq!(snippet(&[0xff, b'a']), "\u{fffd}a");
    }
}
