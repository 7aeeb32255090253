//! Turning what went wrong at the token endpoint into an [`AuthError`] that says what to do,
//! without a secret in it.

use ::oauth2::basic::BasicErrorResponse;
use ::oauth2::{HttpResponse, RequestTokenError};
use http::StatusCode;
use http::header::{CONTENT_TYPE, LOCATION};
use url::Url;

use super::adapter::AdapterError;
use crate::AuthError;

/// The longest server text (an `error_description`, an excerpt of an error page) put in an error.
const MAX_SERVER_TEXT: usize = 200;

/// What the token endpoint answered, kept to explain a failure.
#[derive(Debug, Clone)]
pub(crate) struct ResponseInfo {
    status: StatusCode,
    content_type: Option<String>,
    location: Option<String>,
}

impl ResponseInfo {
    pub(crate) fn of(response: &HttpResponse) -> Self {
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &http::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        Self {
            status: response.status(),
            content_type: header(CONTENT_TYPE),
            location: header(LOCATION),
        }
    }
}

/// Everything needed to explain a failed token request.
pub(crate) struct FailedRequest<'a> {
    /// The grant's RFC 6749 name.
    pub(crate) grant: &'static str,
    /// The token endpoint.
    pub(crate) endpoint: &'a Url,
    /// The response, when one arrived.
    pub(crate) response: Option<ResponseInfo>,
    /// Every credential the request carried, to remove from server-provided text.
    pub(crate) secrets: Vec<&'a str>,
}

impl FailedRequest<'_> {
    pub(crate) fn into_error(
        self,
        error: RequestTokenError<AdapterError, BasicErrorResponse>,
    ) -> AuthError {
        let status = self.response.as_ref().map(|r| r.status);
        if let Some(status) = status.filter(StatusCode::is_redirection) {
            return self.redirected(status);
        }
        let status_code = status.map_or(0, |s| s.as_u16());
        match error {
            RequestTokenError::ServerResponse(response) => AuthError::TokenEndpoint {
                grant: self.grant,
                error: self.clean(response.error().as_ref()),
                description: response.error_description().map(|d| self.clean(d)),
                status: status_code,
            },
            RequestTokenError::Request(error) => self.request_failed(error),
            RequestTokenError::Parse(error, body) => {
                let reason = if status.is_some_and(|s| s.is_success()) {
                    // The body of a successful response may hold a token or a secret: never
                    // quote it. The parser's message is quoted only when it names a missing
                    // field (our own field's name); its other messages quote values (`invalid
                    // type: string "..."`).
                    let path = error.path().to_string();
                    let inner = error.inner();
                    let names_a_missing_field = inner.is_data()
                        && !path.contains("token")
                        && inner.to_string().starts_with("missing field `");
                    if !names_a_missing_field {
                        format!(
                            "the body is not a JSON token response ({:?} error at `{path}`, line \
                             {}, column {})",
                            inner.classify(),
                            inner.line(),
                            inner.column()
                        )
                    } else {
                        format!(
                            "the body is not a token response ({inner}{})",
                            if path == "." {
                                String::new()
                            } else {
                                format!(" at `{path}`")
                            }
                        )
                    }
                } else {
                    format!(
                        "the body is not an OAuth 2.0 error ({}{}); {}",
                        self.content_type(),
                        self.excerpt(&body),
                        advice_for(status)
                    )
                };
                AuthError::InvalidTokenResponse {
                    status: status_code,
                    reason,
                }
            }
            RequestTokenError::Other(message) => match status {
                Some(_) => AuthError::InvalidTokenResponse {
                    status: status_code,
                    reason: format!("{}; {}", self.clean(&message), advice_for(status)),
                },
                None => AuthError::config(format!(
                    "the token request could not be prepared: {}",
                    self.clean(&message)
                )),
            },
        }
    }

    fn redirected(&self, status: StatusCode) -> AuthError {
        let to = self
            .response
            .as_ref()
            .and_then(|r| r.location.as_deref())
            .map(|location| format!(" to `{}`", self.clean(location)))
            .unwrap_or_default();
        AuthError::InvalidTokenResponse {
            status: status.as_u16(),
            reason: format!(
                "a redirect{to}, which is not followed for the token endpoint (it would carry \
                 the credentials elsewhere); set token_url to the endpoint's final URL"
            ),
        }
    }

    fn request_failed(&self, error: AdapterError) -> AuthError {
        let endpoint = shown_endpoint(self.endpoint);
        match error {
            AdapterError::Send(error) => {
                let timeout = error.is_timeout();
                let cause = innermost_cause(&error);
                let reason = if timeout {
                    "the request timed out; check that the server is up, or raise the token \
                     request timeout"
                        .to_owned()
                } else if error.is_connect() {
                    format!(
                        "could not connect ({cause}); check the host and port of token_url and \
                         the network"
                    )
                } else {
                    format!("the request failed ({cause}); try again later")
                };
                AuthError::Transport {
                    endpoint,
                    reason: self.clean(&reason),
                    timeout,
                }
            }
            AdapterError::Redirected => AuthError::config(format!(
                "the token endpoint `{endpoint}` redirected and the HTTP client followed the \
                 redirect: build the reqwest::Client given to `http_client` with \
                 `redirect(reqwest::redirect::Policy::none())`, and set token_url to the \
                 endpoint's final URL"
            )),
            AdapterError::TooLarge(status) => AuthError::InvalidTokenResponse {
                status: status.as_u16(),
                reason: "the body is larger than any token response; check token_url".to_owned(),
            },
            AdapterError::Build | AdapterError::Http => AuthError::config(format!(
                "the token request to `{endpoint}` could not be built or its response read \
                 (this is a bug in dbsync-auth; please report it)"
            )),
        }
    }

    fn content_type(&self) -> String {
        match self
            .response
            .as_ref()
            .and_then(|r| r.content_type.as_deref())
        {
            Some(content_type) => format!("content type `{}`", self.clean(content_type)),
            None => "no content type".to_owned(),
        }
    }

    fn excerpt(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            String::new()
        } else {
            format!(", body starts `{}`", self.clean(&text))
        }
    }

    /// Server-provided text made safe to show (see [`server_text`]).
    fn clean(&self, text: &str) -> String {
        server_text(text, &self.secrets)
    }
}

/// Server-provided text made safe to show: control characters dropped, then each of `secrets`
/// removed (as sent, and as a form body or a URL would encode it, in either case of hex digit,
/// since servers echo requests back in any of these shapes), then shortened.
pub(crate) fn server_text(text: &str, secrets: &[&str]) -> String {
    // Control characters first: a secret echoed with a line break inside must not be joined
    // back together after the redaction has looked for it.
    let mut text: String = text.chars().filter(|c| !c.is_control()).collect();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let percent = form.replace('+', "%20");
        let shapes = [
            secret.to_string(),
            lower_hex(&form),
            lower_hex(&percent),
            form,
            percent,
        ];
        for shape in &shapes {
            text = text.replace(shape.as_str(), "[redacted]");
        }
    }
    let mut cleaned: String = text.chars().take(MAX_SERVER_TEXT).collect();
    if text.chars().count() > MAX_SERVER_TEXT {
        cleaned.push('…');
    }
    cleaned
}

/// A %-encoded text with lowercase hex digits (`%2F` -> `%2f`).
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut hex_left = 0;
    for c in encoded.chars() {
        if hex_left > 0 {
            out.push(c.to_ascii_lowercase());
            hex_left -= 1;
        } else {
            if c == '%' {
                hex_left = 2;
            }
            out.push(c);
        }
    }
    out
}

/// What to do about an unexpected answer, by its status.
fn advice_for(status: Option<StatusCode>) -> &'static str {
    match status {
        Some(s) if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
            "the token endpoint is failing or busy; try again later"
        }
        _ => "check that token_url is the token endpoint",
    }
}

/// The deepest `source()` of an error: for a failed connection, the OS or TLS reason.
fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// The token endpoint as it may appear in an error or a log line: scheme, host, port and path,
/// never the query or fragment (where a careless configuration could carry a secret). The
/// builder already refuses a user name or password in the URL.
pub(crate) fn shown_endpoint(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    // Refused by the builder; cleared anyway, so this never depends on that check.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// [`shown_endpoint`] for URL text not yet checked: a text that does not parse is not echoed.
pub(crate) fn shown_url_text(text: &str) -> String {
    Url::parse(text).map_or_else(
        |_| "(not a valid URL)".to_owned(),
        |url| shown_endpoint(&url),
    )
}
