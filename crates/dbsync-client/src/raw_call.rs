//! Raw calls ([`Connection::call`]): any method and path of the connection's own API, sent
//! through the same request path as the typed calls (auth, retries, throttle and rate budget,
//! size limit, API log), for endpoints the typed calls do not cover. The path is checked first:
//! nothing outside the connection's origin and base path is ever sent.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method};
use url::Url;

use crate::call_options::CallOptions;
use crate::connection::Connection;
use crate::error::Error;
use crate::request::{Call, Decode, Decoded, Reply};

/// The longest path (with its query) a raw call takes, in bytes.
pub const MAX_RAW_PATH_BYTES: usize = 8 * 1024;

/// One raw call: a method, a path under the connection's base URL, query pairs, an optional
/// JSON body and extra headers (the reserved ones, `Authorization` and `Host` among them, are
/// refused as in [`CallOptions::header`]).
///
/// The path is taken from the base URL's root when it starts with `/` (`/v1/records`), and
/// under `/v1/` otherwise (`records` is `/v1/records`). An absolute URL is taken only on the
/// connection's own origin. Any `.` or `..` segment (also percent-encoded, `%2e%2e`), an
/// encoded `/` or `\`, a `\`, a `#` or a control character is refused with [`Error::Config`]
/// before anything is sent.
///
/// A `POST` is retried only when it carries an idempotency key
/// ([`RawRequest::idempotency_key`]), like every other `POST` of the client.
///
/// Its `Debug` shows the method, the path, the query's names and the body's size, never a
/// query value, the body or a header value: any of them may carry a secret.
#[derive(Clone)]
pub struct RawRequest {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Bytes>,
    options: CallOptions,
    idempotency_key: Option<String>,
}

impl std::fmt::Debug for RawRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let query: Vec<&str> = self.query.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("RawRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &query)
            .field("body_bytes", &self.body.as_ref().map(Bytes::len))
            .field("options", &self.options)
            .field("idempotency_key", &self.idempotency_key.is_some())
            .finish()
    }
}

impl RawRequest {
    /// A call of `method` on `path`; a `?query` on the path becomes query pairs.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let path = path.into();
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (
                path.to_owned(),
                url::form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect(),
            ),
            None => (path, Vec::new()),
        };
        Self {
            method,
            path,
            query,
            body: None,
            options: CallOptions::new(),
            idempotency_key: None,
        }
    }

    /// Sets query parameter `name` to `value`, replacing any it had.
    pub fn set_query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.retain(|(key, _)| key != name);
        self.query.push((name.to_owned(), value.into()));
        self
    }

    /// The value of query parameter `name`, if it has one.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Sends `body` as the JSON body (`Content-Type: application/json`).
    pub fn json_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Adds a header to every attempt (checked when the call is made).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options = self.options.header(name, value);
        self
    }

    /// Sends `key` as the `Idempotency-Key`, so that a `POST` may be retried.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }
}

/// The `2xx` answer to a raw call, its body read whole (within the connection's
/// `max_response_bytes`). Any other status is an [`Error`], as for the typed calls.
#[derive(Debug)]
pub struct RawResponse {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl RawResponse {
    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body, as sent (possibly empty, possibly not JSON).
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// Takes any `2xx` body as it is: a raw call does not say what it must be.
struct AsSent;

impl Decode for AsSent {
    type Output = Reply;

    fn decode(&self, reply: Reply) -> Decoded<Reply> {
        Decoded::Done(Ok(reply))
    }
}

impl Connection {
    /// Sends a raw call through the connection's request path: its auth, retry policy and
    /// quota, throttle and rate budget, response size limit and API log.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use dbsync_client::{Connection, RawRequest, http::Method};
    ///
    /// let sandbox = dbsync_sandbox::Sandbox::builder().seed_records(3).start().await?;
    /// let connection = Connection::builder().base_url(sandbox.base_url()).build()?;
    /// let page = connection.call(RawRequest::new(Method::GET, "records?limit=2")).await?;
    /// assert_eq!(page.status(), 200);
    /// let json: serde_json::Value = serde_json::from_slice(page.body())?;
    /// assert_eq!(json["data"].as_array().map(Vec::len), Some(2));
    ///
    /// // Nothing outside the connection's origin is sent.
    /// let outside = connection.call(RawRequest::new(Method::GET, "/v1/../admin")).await;
    /// assert!(matches!(outside, Err(dbsync_client::Error::Config(_))));
    /// sandbox.shutdown().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub async fn call(&self, request: RawRequest) -> Result<RawResponse, Error> {
        let url = raw_url(self.base_url(), &request)?;
        let template = url.path().to_owned();
        let mut call =
            Call::new(request.method, url, template).with_options(Some(Arc::new(request.options)));
        call.body = request.body;
        if let Some(key) = request.idempotency_key {
            call = call.with_idempotency_key(key);
        }
        let reply = self.transport().send(&call, AsSent).await.result?;
        Ok(RawResponse {
            status: reply.status,
            headers: reply.headers,
            body: reply.body,
        })
    }
}

/// The URL of `request` under `base`, or why it is refused.
fn raw_url(base: &Url, request: &RawRequest) -> Result<Url, Error> {
    let given = request.path.as_str();
    let refuse = |why: &str| {
        Error::config(format!(
            "refused path `{}`: {why}; give a path of the connection's API ({})",
            given.escape_debug(),
            base.origin().ascii_serialization()
        ))
    };
    if given.len() > MAX_RAW_PATH_BYTES {
        return Err(refuse(&format!("longer than {MAX_RAW_PATH_BYTES} bytes")));
    }
    let path = if given.contains("://") {
        let absolute = Url::parse(given).map_err(|_| refuse("not a valid URL"))?;
        if absolute.origin() != base.origin() {
            return Err(refuse("another origin than the connection's"));
        }
        // Checked again below as a path: the parser has already removed any `..`, so look at
        // the text after the origin.
        let origin_len = given
            .find("://")
            .and_then(|at| given[at + 3..].find('/').map(|slash| at + 3 + slash))
            .unwrap_or(given.len());
        given[origin_len..].to_owned()
    } else {
        given.to_owned()
    };
    if path.starts_with("//") {
        return Err(refuse("a path starting with `//` names another host"));
    }
    if path
        .chars()
        .any(|c| c.is_control() || c == '\\' || c == '#')
    {
        return Err(refuse("a control character, `\\` or `#`"));
    }
    let relative = match path.strip_prefix('/') {
        Some(rest) => rest.to_owned(),
        None => format!("v1/{path}"),
    };
    for segment in relative.split('/') {
        let lower = segment.to_ascii_lowercase();
        if lower.contains("%2f") || lower.contains("%5c") {
            return Err(refuse("an encoded `/` or `\\`"));
        }
        let decoded = lower.replace("%2e", ".");
        if decoded == "." || decoded == ".." {
            return Err(refuse("a `.` or `..` segment leaves the API's path"));
        }
    }
    let mut url = base.clone();
    let base_path = base.path().trim_end_matches('/');
    url.set_path(&format!("{base_path}/{relative}"));
    url.set_query(None);
    if !request.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&request.query);
    }
    if url.origin() != base.origin() || !url.path().starts_with(base_path) {
        return Err(refuse("outside the connection's base URL"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_of(base: &str, path: &str) -> Result<String, String> {
        let base = Url::parse(base).unwrap();
        raw_url(&base, &RawRequest::new(Method::GET, path))
            .map(|url| url.to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn debug_shows_no_query_value_body_header_value_or_key() {
        let request = RawRequest::new(Method::POST, "records?api_key=q-secret-1&limit=5")
            .json_body(r#"{"password":"b-secret-2"}"#)
            .header("X-Api-Key", "h-secret-3")
            .idempotency_key("k-secret-4");
        let shown = format!("{request:?}");
        for secret in ["q-secret-1", "b-secret-2", "h-secret-3", "k-secret-4"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        for visible in [
            "POST",
            "records",
            "api_key",
            "limit",
            "x-api-key",
            "body_bytes: Some(25)",
        ] {
            assert!(
                shown.to_lowercase().contains(&visible.to_lowercase()),
                "{shown}"
            );
        }
    }

    #[test]
    fn paths_resolve_under_the_base_url() {
        let base = "http://127.0.0.1:9/api/";
        assert_eq!(
            url_of(base, "records?limit=2").unwrap(),
            "http://127.0.0.1:9/api/v1/records?limit=2"
        );
        assert_eq!(
            url_of(base, "/v1/records/7").unwrap(),
            "http://127.0.0.1:9/api/v1/records/7"
        );
        assert_eq!(
            url_of(base, "http://127.0.0.1:9/v1/usage").unwrap(),
            "http://127.0.0.1:9/api/v1/usage"
        );
        let request =
            RawRequest::new(Method::GET, "records?offset=1&limit=5").set_query("offset", "10");
        assert_eq!(request.query_value("offset"), Some("10"));
        assert_eq!(request.query_value("limit"), Some("5"));
    }

    #[test]
    fn paths_outside_the_origin_are_refused() {
        let base = "http://127.0.0.1:9/";
        for path in [
            "/v1/../admin",
            "../x",
            "records/..",
            "/v1/%2e%2e/x",
            "/v1/%2E./x",
            "/v1/./x",
            "/v1/a%2fb",
            "//evil.example/v1/records",
            "http://evil.example/v1/records",
            "https://127.0.0.1:9/v1/records",
            "http://127.0.0.1:9/v1/../x",
            "/v1/a\\..\\b",
            "/v1/a\nb",
        ] {
            let error = url_of(base, path).expect_err(path);
            assert!(error.contains("refused path"), "{path}: {error}");
        }
    }
}
