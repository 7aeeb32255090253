//! Helpers of the oauth modules' tests: a server with a 10 s token lifetime, token request
//! headers and a `client_credentials` request.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::OAuthError;
use super::server::OAuthServer;
use super::settings::OAuth2Settings;

pub(super) fn server() -> OAuthServer {
    OAuthServer::new(OAuth2Settings::new("cid", "csecret").token_ttl(Duration::from_secs(10)))
}

pub(super) fn form_headers(basic: Option<&str>) -> HeaderMap {
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

/// A `client_credentials` token request authenticated with HTTP Basic `basic` (`id:secret`).
pub(super) fn client_credentials(
    server: &OAuthServer,
    basic: &str,
) -> Result<serde_json::Value, OAuthError> {
    server.token(&form_headers(Some(basic)), b"grant_type=client_credentials")
}
