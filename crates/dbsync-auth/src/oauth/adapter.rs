//! The bridge from a `reqwest::Client` to the `oauth2` crate's [`AsyncHttpClient`] trait, so
//! token requests and API calls share one connection pool.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use ::oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};
use http::header::AUTHORIZATION;

use super::endpoint_error::ResponseInfo;

/// The largest token response read; a token endpoint never needs more.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// A `reqwest::Client` seen as an `oauth2` HTTP client.
///
/// It never follows a redirect by itself, but it cannot switch off redirects of a client it was
/// given (reqwest's redirect policy belongs to the client): the client must be built with
/// `redirect::Policy::none()`. As a second line of defence, a response that arrives from another
/// URL than the one requested is refused as [`AdapterError::Redirected`].
#[derive(Debug, Clone)]
pub(crate) struct ReqwestAdapter {
    client: reqwest::Client,
    timeout: Duration,
}

/// Why a token request did not produce a response.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AdapterError {
    /// oauth2 produced a request reqwest cannot send (never expected).
    #[error("the token request could not be built")]
    Build,
    /// Connecting, sending or receiving failed.
    #[error("the token request failed")]
    Send(#[source] reqwest::Error),
    /// The HTTP client followed a redirect.
    #[error("the token endpoint redirected and the HTTP client followed")]
    Redirected,
    /// The response body is larger than any token response.
    #[error("the token endpoint response is too large")]
    TooLarge(http::StatusCode),
    /// The response could not be turned back into an `http::Response`.
    #[error("the token endpoint response could not be read")]
    Http,
}

impl ReqwestAdapter {
    /// The adapter over `client`, giving every token request at most `timeout`.
    pub(crate) fn new(client: reqwest::Client, timeout: Duration) -> Self {
        Self { client, timeout }
    }

    /// A client that never follows redirects, with conservative timeouts.
    pub(crate) fn default_client() -> Result<reqwest::Client, reqwest::Error> {
        // Under the `rustls-ring` feature reqwest has no crypto provider of its own (it would
        // panic building a client): use ring unless the application installed one.
        #[cfg(all(feature = "rustls-ring", not(feature = "native-tls")))]
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, AdapterError> {
        let mut request = reqwest::Request::try_from(request).map_err(|_| AdapterError::Build)?;
        // The client's credentials travel in this header: keep them out of HTTP-level logs.
        if let Some(value) = request.headers_mut().get_mut(AUTHORIZATION) {
            value.set_sensitive(true);
        }
        *request.timeout_mut() = Some(self.timeout);
        let requested = request.url().clone();

        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(AdapterError::Send)?;
        if response.url() != &requested {
            return Err(AdapterError::Redirected);
        }

        let mut builder = http::Response::builder()
            .status(response.status())
            .version(response.version());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(AdapterError::Send)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(AdapterError::TooLarge(response.status()));
            }
            body.extend_from_slice(&chunk);
        }
        builder.body(body).map_err(|_| AdapterError::Http)
    }
}

impl<'c> AsyncHttpClient<'c> for ReqwestAdapter {
    type Error = AdapterError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, AdapterError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// The adapter for one token request, remembering what the endpoint answered so that a failure
/// can be explained (the `oauth2` crate's errors do not carry the HTTP status).
pub(crate) struct Recording<'a> {
    adapter: &'a ReqwestAdapter,
    seen: Mutex<Option<ResponseInfo>>,
}

impl<'a> Recording<'a> {
    pub(crate) fn new(adapter: &'a ReqwestAdapter) -> Self {
        Self {
            adapter,
            seen: Mutex::new(None),
        }
    }

    /// What the endpoint answered last, if it answered.
    pub(crate) fn take_response(&self) -> Option<ResponseInfo> {
        self.seen.lock().ok().and_then(|mut seen| seen.take())
    }
}

impl<'c> AsyncHttpClient<'c> for Recording<'_> {
    type Error = AdapterError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, AdapterError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.adapter.call(request).await?;
            if let Ok(mut seen) = self.seen.lock() {
                *seen = Some(ResponseInfo::of(&response));
            }
            Ok(response)
        })
    }
}
