//! Per-call options ([`CallOptions`]): a timeout, extra headers, a caller-chosen
//! `Idempotency-Key` and a retry policy for the calls of one [`crate::Resource`] view.

use std::fmt;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::Error;
use crate::retry::RetryPolicy;

/// The most extra headers one [`CallOptions`] carries; more is a configuration error when a
/// call is made.
pub const MAX_EXTRA_HEADERS: usize = 32;

/// The longest value of one extra header, in bytes.
pub const MAX_EXTRA_HEADER_BYTES: usize = 8 * 1024;

/// Headers an extra header may not set: credentials come from the connection's auth strategy,
/// the `Idempotency-Key` from [`CallOptions::idempotency_key`], and the rest are set by the
/// request path itself.
const RESERVED: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "idempotency-key",
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "accept",
    "user-agent",
];

/// Options for the calls made through one view of a resource
/// ([`crate::Resource::with_options`]): every call of that view (get, list, create, update,
/// delete, scans, bulk writes) uses them.
///
/// - [`CallOptions::timeout`]: the timeout of each attempt, instead of the connection's.
/// - [`CallOptions::header`]: an extra header on every attempt (not `Authorization` nor any
///   header the request path sets: such a header fails the call with [`Error::Config`]).
/// - [`CallOptions::idempotency_key`]: the `Idempotency-Key` of a single-record create
///   instead of a fresh one (a bulk write still gives each request its own; choose that key
///   with [`crate::Resource::create_batch_with_key`]). Other calls send no key.
/// - [`CallOptions::retry`]: the retry policy, instead of the connection's.
///
/// ```
/// use std::time::Duration;
/// use dbsync_client::{CallOptions, RetryPolicy};
///
/// let options = CallOptions::new()
///     .timeout(Duration::from_secs(5))
///     .header("x-request-id", "import-42")
///     .idempotency_key("import-42-record-7")
///     .retry(RetryPolicy::none());
/// assert_eq!(options.get_timeout(), Some(Duration::from_secs(5)));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallOptions {
    timeout: Option<Duration>,
    headers: Vec<(String, String)>,
    idempotency_key: Option<String>,
    retry: Option<RetryPolicy>,
}

impl fmt::Debug for CallOptions {
    /// Header names only: a value may be a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("CallOptions")
            .field("timeout", &self.timeout)
            .field("headers", &names)
            .field("idempotency_key", &self.idempotency_key.is_some())
            .field("retry", &self.retry)
            .finish()
    }
}

impl CallOptions {
    /// No options: every call as the connection makes it.
    pub fn new() -> Self {
        Self::default()
    }

    /// The timeout of each attempt of a call (instead of the connection's
    /// [`crate::ConnectionBuilder::timeout`]). The call's overall deadline stays the retry
    /// policy's [`RetryPolicy::call_deadline`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Adds a header to every attempt (added again with the same name, both are sent). At most
    /// [`MAX_EXTRA_HEADERS`], each value at most [`MAX_EXTRA_HEADER_BYTES`]; `Authorization`,
    /// `Idempotency-Key`, `Content-Type`, `Accept`, `User-Agent`, `Host`, `Cookie` and the
    /// framing headers are refused. A name or value that is not a valid header, or a refused
    /// one, fails the call with [`Error::Config`] naming it, before anything is sent.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The `Idempotency-Key` of a single-record create (instead of a fresh one); a create
    /// retried or sent again with the same key is carried out once by the server.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// The retry policy of the calls (instead of the connection's
    /// [`crate::ConnectionBuilder::retry`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The configured per-attempt timeout, if any.
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The configured `Idempotency-Key`, if any.
    pub fn get_idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// The configured retry policy, if any.
    pub fn get_retry(&self) -> Option<&RetryPolicy> {
        self.retry.as_ref()
    }

    /// The extra headers, checked (see [`CallOptions::header`]).
    pub(crate) fn checked_headers(&self) -> Result<HeaderMap, Error> {
        if self.headers.len() > MAX_EXTRA_HEADERS {
            return Err(Error::config(format!(
                "CallOptions has {} extra headers; at most {MAX_EXTRA_HEADERS} are allowed",
                self.headers.len()
            )));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let parsed = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::config(format!(
                    "CallOptions::header: `{}` is not a valid header name",
                    name.escape_debug()
                ))
            })?;
            if RESERVED.contains(&parsed.as_str()) {
                return Err(Error::config(format!(
                    "CallOptions::header: `{parsed}` cannot be set per call (credentials come \
                     from the connection's auth strategy, the idempotency key from \
                     CallOptions::idempotency_key, the rest from the client)"
                )));
            }
            if value.len() > MAX_EXTRA_HEADER_BYTES {
                return Err(Error::config(format!(
                    "CallOptions::header: the value of `{parsed}` is {} bytes; at most \
                     {MAX_EXTRA_HEADER_BYTES} are allowed",
                    value.len()
                )));
            }
            let mut parsed_value = HeaderValue::from_str(value).map_err(|_| {
                Error::config(format!(
                    "CallOptions::header: the value of `{parsed}` is not a valid header value"
                ))
            })?;
            parsed_value.set_sensitive(true);
            headers.append(parsed, parsed_value);
        }
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_invalid_and_too_many_headers_are_refused_and_named() {
        for name in ["Authorization", "idempotency-key", "Content-Type", "Host"] {
            let err = CallOptions::new()
                .header(name, "x")
                .checked_headers()
                .unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err}");
            assert!(
                err.to_string().contains(&name.to_ascii_lowercase()),
                "{err}"
            );
        }
        let err = CallOptions::new()
            .header("bad name", "x")
            .checked_headers()
            .unwrap_err();
        assert!(err.to_string().contains("bad name"), "{err}");
        let err = CallOptions::new()
            .header("x-a", "line\nbreak")
            .checked_headers()
            .unwrap_err();
        assert!(err.to_string().contains("x-a"), "{err}");
        let long = "v".repeat(MAX_EXTRA_HEADER_BYTES + 1);
        assert!(
            CallOptions::new()
                .header("x-a", long)
                .checked_headers()
                .is_err()
        );
        let many = (0..=MAX_EXTRA_HEADERS)
            .fold(CallOptions::new(), |o, n| o.header(format!("x-h{n}"), "v"));
        assert!(many.checked_headers().is_err());
        let fine = (0..MAX_EXTRA_HEADERS)
            .fold(CallOptions::new(), |o, n| o.header(format!("x-h{n}"), "v"));
        assert_eq!(fine.checked_headers().unwrap().len(), MAX_EXTRA_HEADERS);
    }

    #[test]
    fn debug_shows_no_header_value_nor_key() {
        let text = format!(
            "{:?}",
            CallOptions::new()
                .header("x-token", "s3cr3t")
                .idempotency_key("k-secret")
        );
        assert!(text.contains("x-token"), "{text}");
        assert!(
            !text.contains("s3cr3t") && !text.contains("k-secret"),
            "{text}"
        );
    }
}
