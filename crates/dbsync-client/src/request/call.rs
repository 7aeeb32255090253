//! One call as the request path sends it ([`Call`]), a `2xx` answer read whole ([`Reply`]),
//! and the headers every attempt starts from.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use http::{HeaderName, Method};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::call_options::CallOptions;
use crate::error::Error;
use crate::page::PageLayout;

/// The header that makes a `POST` safe to repeat.
pub(crate) const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// One logical call: everything needed to send (and re-send) it. What its `2xx` body must be
/// is said by the decoder it is sent with (see [`super::Decode`]).
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) url: Url,
    /// The path with ids replaced by `{id}`, for logs and messages.
    pub(crate) template: String,
    pub(crate) body: Option<Bytes>,
    pub(crate) idempotency_key: Option<String>,
    /// Whether an error may quote the `2xx` body (not when it may hold a secret).
    pub(crate) quote_body: bool,
    /// The caller's options for this call (timeout, headers, key, retry policy), if any.
    pub(crate) options: Option<Arc<CallOptions>>,
}

impl Call {
    pub(crate) fn new(method: Method, url: Url, template: String) -> Self {
        Self {
            method,
            url,
            template,
            body: None,
            idempotency_key: None,
            quote_body: true,
            options: None,
        }
    }

    /// Sends the call with the caller's `options`.
    pub(crate) fn with_options(mut self, options: Option<Arc<CallOptions>>) -> Self {
        self.options = options;
        self
    }

    /// The caller's retry policy, if it chose one.
    pub(crate) fn retry_override(&self) -> Option<&crate::retry::RetryPolicy> {
        self.options.as_deref().and_then(CallOptions::get_retry)
    }

    /// The caller's per-attempt timeout, if it chose one.
    pub(crate) fn timeout_override(&self) -> Option<Duration> {
        self.options.as_deref().and_then(CallOptions::get_timeout)
    }

    /// Serialises `body` once; every attempt sends these bytes.
    pub(crate) fn json_body(mut self, body: &impl Serialize) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::config(format!(
                "the request body could not be serialised as JSON: {e}"
            ))
        })?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// Sends the caller's `Idempotency-Key` ([`CallOptions::idempotency_key`]), or else a fresh
    /// one (the same on every retry of this call).
    pub(crate) fn with_new_idempotency_key(mut self) -> Self {
        let chosen = self
            .options
            .as_deref()
            .and_then(CallOptions::get_idempotency_key)
            .map(str::to_owned);
        self.idempotency_key = Some(chosen.unwrap_or_else(new_idempotency_key));
        self
    }

    /// Sends `key` as the `Idempotency-Key` (on every retry of this call).
    pub(crate) fn with_idempotency_key(mut self, key: String) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// Never quotes the `2xx` body in an error: it may hold a secret (a new API key).
    pub(crate) fn secret_body(mut self) -> Self {
        self.quote_body = false;
        self
    }

    /// `METHOD /template`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
}

/// A response with a success status, its body read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// How long the last attempt took.
    pub(crate) latency: Duration,
    /// The body's page layout, when it was checked as a page of records and is one (see
    /// [`super::Expect::Page`]).
    pub(crate) page: Option<PageLayout>,
}

impl Reply {
    /// Decodes the body as `T` (`what` names it in errors).
    pub(crate) fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::decode(
                Some(self.status),
                format!("{what}: the body does not fit the expected type ({e})"),
                &self.body,
            )
        })
    }
}

/// A random key, 128 bits in hex.
pub(crate) fn new_idempotency_key() -> String {
    format!("dbsync-{:032x}", rand::random::<u128>())
}

/// The headers every attempt starts from (credentials come after, from the strategy);
/// `user_agent` is `None` when the configured one is not a valid header value.
pub(crate) fn build_headers(
    call: &Call,
    user_agent: Option<&HeaderValue>,
) -> Result<HeaderMap, Error> {
    let mut headers = match &call.options {
        // Checked: none of them is one of the headers set below, nor a credential.
        Some(options) => options.checked_headers()?,
        None => HeaderMap::new(),
    };
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(
        USER_AGENT,
        user_agent.cloned().ok_or_else(|| {
            Error::config("user_agent contains characters not allowed in a header")
        })?,
    );
    if call.body.is_some() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    if let Some(key) = &call.idempotency_key {
        let value = HeaderValue::from_str(key)
            .map_err(|_| Error::config("the idempotency key is not a valid header value"))?;
        headers.insert(IDEMPOTENCY_KEY, value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_unique_and_valid_headers() {
        let (a, b) = (new_idempotency_key(), new_idempotency_key());
        assert_ne!(a, b);
        assert!(HeaderValue::from_str(&a).is_ok());
    }
}
