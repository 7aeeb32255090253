//! Client authentication at the token endpoint (RFC 6749 2.3.1): HTTP Basic or form fields,
//! checked against the registered client in constant time.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::OAuthError;
use super::params::Params;
use super::server::OAuthServer;
use crate::auth::secrets_equal;

/// Decodes one `application/x-www-form-urlencoded` component (RFC 6749 2.3.1).
fn form_decode(part: &str) -> String {
    url::form_urlencoded::parse(format!("v={part}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl OAuthServer {
    fn client_matches(&self, id: &str, secret: &str) -> bool {
        let id_ok = secrets_equal(id, &self.settings.client_id);
        let secret_ok = secrets_equal(secret, &self.settings.client_secret);
        id_ok & secret_ok
    }

    /// RFC 6749 2.3.1: HTTP Basic, or `client_id` + `client_secret` in the body; not both.
    pub(super) fn authenticate_client(
        &self,
        headers: &HeaderMap,
        params: &Params,
    ) -> Result<(), OAuthError> {
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
}

#[cfg(test)]
mod tests {
    use crate::oauth::test_support::{client_credentials, form_headers, server};

    #[test]
    fn form_field_and_basic_client_auth() {
        let s = server();
        let by_form = s.token(
            &form_headers(None),
            b"grant_type=client_credentials&client_id=cid&client_secret=csecret",
        );
        assert!(by_form.is_ok());
        let by_basic = client_credentials(&s, "cid:csecret");
        assert_eq!(by_basic.unwrap()["token_type"], "Bearer");
        let wrong = client_credentials(&s, "cid:nope").unwrap_err();
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

    #[test]
    fn error_messages_never_carry_the_secret() {
        let s = server();
        let err = client_credentials(&s, "cid:bad-guess-123").unwrap_err();
        assert!(!err.description.contains("csecret") && !err.description.contains("bad-guess-123"));
    }
}
