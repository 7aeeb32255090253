//! The one error type of this crate.

/// Why a strategy could not authorize a request. Messages never contain a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The strategy is configured wrongly (an empty credential, an invalid header value...).
    #[error("auth configuration: {0}")]
    Config(String),
    /// Credentials would be sent over plain `http://` to a host that is not loopback.
    #[error(
        "refusing to send credentials over plain http:// to `{host}`: use https://, or allow it \
         explicitly with `allow_insecure_http(true)` (settings: \"allow_insecure_http\": true) \
         if the network is trusted"
    )]
    InsecureTransport {
        /// The host the credentials would have gone to.
        host: String,
    },
}

impl AuthError {
    /// A configuration error with a message that says what to fix.
    pub fn config(message: impl Into<String>) -> Self {
        Self::Config(message.into())
    }
}
