//! The view of an outgoing request that an [`crate::Auth`] strategy may change.

use http::Method;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::AuthError;

/// The parts of an outgoing request that a strategy may read and change: its method, URL (for
/// schemes that put a key in the query) and headers. No body: credentials never go there.
#[derive(Debug)]
pub struct AuthRequest<'a> {
    method: &'a Method,
    url: &'a mut Url,
    headers: &'a mut HeaderMap,
}

impl<'a> AuthRequest<'a> {
    /// Wraps the parts of a request about to be sent.
    pub fn new(method: &'a Method, url: &'a mut Url, headers: &'a mut HeaderMap) -> Self {
        Self {
            method,
            url,
            headers,
        }
    }

    /// The request's method.
    pub fn method(&self) -> &Method {
        self.method
    }

    /// The request's URL.
    pub fn url(&self) -> &Url {
        self.url
    }

    /// The request's URL, to change (for example to add a query parameter).
    pub fn url_mut(&mut self) -> &mut Url {
        self.url
    }

    /// The request's headers.
    pub fn headers(&self) -> &HeaderMap {
        self.headers
    }

    /// The request's headers, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        self.headers
    }

    /// Sets a header, replacing any earlier value, and marks it sensitive so that HTTP logging
    /// layers do not print it. Fails (without echoing the value) when the name or value is not
    /// valid in an HTTP header.
    pub fn set_header(&mut self, name: &str, value: &str) -> Result<(), AuthError> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| AuthError::config(format!("`{name}` is not a valid HTTP header name")))?;
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            AuthError::config(format!(
                "the value for header `{name}` contains characters not allowed in HTTP headers \
                 (check the credential for line breaks or non-ASCII characters)"
            ))
        })?;
        value.set_sensitive(true);
        self.headers.insert(name, value);
        Ok(())
    }
}
