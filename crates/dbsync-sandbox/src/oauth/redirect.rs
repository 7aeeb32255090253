//! Which `redirect_uri`s the authorize endpoint sends a code to: the registered ones (exact
//! match), or by default any loopback `http` URI on any port (RFC 8252 section 7.3), never
//! longer than the configured cap.

use url::{Host, Url};

use super::error::OAuthError;
use super::settings::OAuth2Settings;

/// A loopback `http` URI: `127.0.0.1`, `[::1]` or `localhost`, any port and path.
fn is_loopback(url: &Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => false,
        }
}

/// The redirect URI parsed, when this client may be sent there; else the `400` to show
/// (never a redirect).
pub(super) fn check(settings: &OAuth2Settings, text: &str) -> Result<Url, OAuthError> {
    let max = settings.limits.max_redirect_uri_bytes;
    if text.len() > max {
        return Err(OAuthError::new(
            "invalid_request",
            format!(
                "redirect_uri is {} bytes long; at most {max} are accepted",
                text.len()
            ),
        ));
    }
    let url = match Url::parse(text) {
        Ok(url) if url.fragment().is_none() && !url.cannot_be_a_base() => url,
        _ => {
            return Err(OAuthError::new(
                "invalid_request",
                "redirect_uri must be an absolute URI without a fragment",
            ));
        }
    };
    let registered = if settings.redirect_uris.is_empty() {
        is_loopback(&url)
    } else {
        settings.redirect_uris.iter().any(|uri| uri == text)
    };
    if registered {
        Ok(url)
    } else if settings.redirect_uris.is_empty() {
        Err(OAuthError::new(
            "invalid_request",
            "redirect_uri is not registered for this client: this sandbox accepts only \
             loopback URIs (http://127.0.0.1:PORT/..., http://[::1]:PORT/..., \
             http://localhost:PORT/...) unless others are registered \
             (SandboxBuilder::redirect_uris)",
        ))
    } else {
        Err(OAuthError::new(
            "invalid_request",
            "redirect_uri is not one of the URIs registered for this client \
             (SandboxBuilder::redirect_uris)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_by_default_registered_ones_exactly() {
        let settings = OAuth2Settings::new("cid", "csecret");
        for good in [
            "http://127.0.0.1:8765/callback",
            "http://127.0.0.1/cb?x=1",
            "http://[::1]:9/cb",
            "http://LOCALHOST:1/",
        ] {
            assert!(check(&settings, good).is_ok(), "{good}");
        }
        for bad in [
            "https://evil.example/cb",
            "https://127.0.0.1/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://localhost.evil.example/cb",
            "http://10.0.0.1/cb",
            "http://127.0.0.1:9/cb#frag",
            "not a uri",
        ] {
            assert!(check(&settings, bad).is_err(), "{bad}");
        }
        let long = format!("http://127.0.0.1/{}", "a".repeat(2048));
        let error = check(&settings, &long).unwrap_err();
        assert!(error.description.contains("at most 2048"), "{error:?}");

        let settings = settings.redirect_uris(vec!["https://app.example/cb".into()]);
        assert!(check(&settings, "https://app.example/cb").is_ok());
        assert!(check(&settings, "https://app.example/cb2").is_err());
        assert!(check(&settings, "http://127.0.0.1:9/cb").is_err());
    }
}
