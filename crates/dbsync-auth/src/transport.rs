//! Refusing to send credentials where they could be read on the wire.

use url::{Host, Url};

use crate::AuthError;

/// Checks that credentials may be sent to `url`.
///
/// `https://` is always fine. Plain `http://` is allowed only to a loopback host (`localhost`,
/// `127.0.0.0/8`, `[::1]`), where nothing crosses a network, unless the caller explicitly allows
/// insecure HTTP (for example inside a trusted private network). Any other scheme is refused.
///
/// ```
/// use dbsync_auth::ensure_secure_transport;
/// let ok = url::Url::parse("http://127.0.0.1:8080/v1").unwrap();
/// assert!(ensure_secure_transport(&ok, false).is_ok());
/// let bad = url::Url::parse("http://api.example.com/v1").unwrap();
/// assert!(ensure_secure_transport(&bad, false).is_err());
/// assert!(ensure_secure_transport(&bad, true).is_ok());
/// ```
pub fn ensure_secure_transport(url: &Url, allow_insecure_http: bool) -> Result<(), AuthError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(url) => Ok(()),
        "http" => Err(AuthError::InsecureTransport {
            host: url.host_str().unwrap_or_default().to_owned(),
        }),
        other => Err(AuthError::config(format!(
            "unsupported URL scheme `{other}`: use https:// (or http:// for a local server)"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, allow: bool) -> Result<(), AuthError> {
        ensure_secure_transport(&Url::parse(url).unwrap(), allow)
    }

    #[test]
    fn https_is_always_allowed() {
        assert!(check("https://api.dbsync.com", false).is_ok());
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        assert!(check("http://localhost:1/v1", false).is_ok());
        assert!(check("http://127.0.0.9/", false).is_ok());
        assert!(check("http://[::1]:80/", false).is_ok());
        let err = check("http://api.dbsync.com", false).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("api.dbsync.com"), "{message}");
        assert!(message.contains("allow_insecure_http"), "{message}");
        assert!(check("http://api.dbsync.com", true).is_ok());
        assert!(check("http://localhost.evil.com", false).is_err());
    }

    #[test]
    fn other_schemes_are_refused() {
        assert!(check("ftp://api.dbsync.com", true).is_err());
    }
}
