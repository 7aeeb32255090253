//! The request path, in one place:
//!
//! 1. **build** the URL and headers ([`Call`], [`build_headers`]);
//! 2. **authorize**: the connection's [`dbsync_auth::Auth`] strategy adds credentials, afresh on
//!    every attempt, and only for the connection's own origin;
//! 3. **rate limit**: wait for the connection's [`crate::RateLimiter`], if one is installed,
//!    then for the shared throttle (the `requests_per_minute` budget, a pause another task's
//!    `429` set, pacing from `X-RateLimit-*`), within the call's cap on rate-limit waits;
//! 4. **send** with reqwest (the body is [`Bytes`], so every attempt sends the same body);
//! 5. **classify** the result into a [`crate::retry::Outcome`] and a result (a reply, or an
//!    [`Error`] mapped by [`Error::from_response`] / [`Error::from_transport`]);
//!    Every wait and attempt stays within the call's deadline ([`RetryPolicy::call_deadline`]);
//! 6. **retry or map error**: a `401` asks the strategy to refresh
//!    ([`dbsync_auth::Auth::on_unauthorized_for`], told the headers it sent) and retries once at
//!    most;
//!    everything else goes through the pure [`crate::retry::decide`];
//! 7. **decode** the JSON body into the caller's type: inside the loop for
//!    [`execute_json`], where that one parse is also the check that a `2xx` body is JSON, or
//!    after it ([`decode_json`]).
//!
//! Each call runs in a `dbsync_call` debug span (method, path template, auth scheme); each
//! attempt logs one debug event (attempt, status, duration). No secrets, no bodies.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use dbsync_auth::AuthRequest;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION, USER_AGENT};
use http::{HeaderName, Method};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;

use crate::connection::Connection;
use crate::error::Error;
use crate::page::PageFormat;
use crate::page::{NotJson, PageLayout, page_layout};
use crate::retry::{Decision, Outcome, RetryPolicy, decide, parse_retry_after};

/// The header that makes a `POST` safe to repeat.
pub(crate) const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// One logical call: everything needed to send (and re-send) it.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) url: Url,
    /// The path with ids replaced by `{id}`, for logs and messages.
    pub(crate) template: String,
    pub(crate) body: Option<Bytes>,
    pub(crate) idempotency_key: Option<String>,
    /// What a `2xx` body must be for the call to succeed.
    pub(crate) body_check: BodyCheck,
    /// Whether an error may quote the `2xx` body (not when it may hold a secret).
    pub(crate) quote_body: bool,
}

/// What a `2xx` body must be. A body that fails its check is an unreadable body (the server
/// may have acted): classified, and retried where the retry policy allows, like a dropped
/// connection.
#[derive(Debug, Clone)]
pub(crate) enum BodyCheck {
    /// Anything, even a body that could not be read: the caller does not use it.
    NotNeeded,
    /// JSON.
    Json,
    /// JSON; and when it is a page of records in this format, its layout is kept in
    /// [`Reply::page`], so the page is parsed once for the check and the decode together.
    Page(PageFormat),
}

impl Call {
    pub(crate) fn new(method: Method, url: Url, template: String) -> Self {
        Self {
            method,
            url,
            template,
            body: None,
            idempotency_key: None,
            body_check: BodyCheck::Json,
            quote_body: true,
        }
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

    /// Sends a fresh `Idempotency-Key` (the same one on every retry of this call).
    pub(crate) fn with_new_idempotency_key(mut self) -> Self {
        self.idempotency_key = Some(new_idempotency_key());
        self
    }

    /// Sends `key` as the `Idempotency-Key` (on every retry of this call).
    pub(crate) fn with_idempotency_key(mut self, key: String) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    pub(crate) fn body_not_needed(mut self) -> Self {
        self.body_check = BodyCheck::NotNeeded;
        self
    }

    /// Never quotes the `2xx` body in an error: it may hold a secret (a new API key).
    pub(crate) fn secret_body(mut self) -> Self {
        self.quote_body = false;
        self
    }

    /// Checks the body as a page of records in `format` and keeps its layout
    /// ([`Reply::page`]).
    pub(crate) fn page_body(mut self, format: PageFormat) -> Self {
        self.body_check = BodyCheck::Page(format);
        self
    }

    fn describe(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
}

/// A response with a success status.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// How long the last attempt took.
    pub(crate) latency: Duration,
    /// The body's page layout, for a [`BodyCheck::Page`] call whose body is such a page.
    pub(crate) page: Option<PageLayout>,
}

/// A random key, 128 bits in hex.
pub(crate) fn new_idempotency_key() -> String {
    format!("dbsync-{:032x}", rand::random::<u128>())
}

/// Runs `call` with the connection's retry policy.
pub(crate) async fn execute(connection: &Connection, call: Call) -> Result<Reply, Error> {
    execute_with(connection, call, &connection.inner.retry).await
}

/// Runs `call` with `policy`.
pub(crate) async fn execute_with(
    connection: &Connection,
    call: Call,
    policy: &RetryPolicy,
) -> Result<Reply, Error> {
    let mut acted = false;
    run_buffered(
        connection,
        &call,
        policy,
        &mut |_: &[u8]| Decoded::NotTried,
        &mut acted,
    )
    .await
}

/// Runs `call`, reading the whole body of a `2xx`, which `decode` sees first (see
/// [`classify`]).
async fn run_buffered(
    connection: &Connection,
    call: &Call,
    policy: &RetryPolicy,
    decode: &mut impl FnMut(&[u8]) -> Decoded,
    acted: &mut bool,
) -> Result<Reply, Error> {
    match run_in_span(connection, call, policy, Delivery::Buffered, decode, acted).await? {
        Delivered::Reply(reply) => Ok(reply),
        Delivered::Response(_) => Err(Error::config(
            "internal: a buffered call handed back an unread response",
        )),
    }
}

/// Runs `call` and decodes its JSON body as `T` (`what` names it in errors).
///
/// The body is decoded inside the attempt loop, and that one parse is also the check that the
/// body is JSON: a body cut short is retried like any unreadable body, without a separate pass
/// over it first.
pub(crate) async fn execute_json<T: DeserializeOwned>(
    connection: &Connection,
    call: Call,
    what: &str,
) -> Result<T, Error> {
    execute_json_tracked(connection, call, what).await.0
}

/// Like [`execute_json`], also telling whether the server may have carried out one of the
/// call's attempts (see [`crate::retry::Outcome::may_have_acted`]; an attempt cut in flight by
/// the deadline counts): for a failed `POST`, whether its outcome is unknown even when the
/// final error (a `429`, a failed connect) says nothing was done by the last attempt.
pub(crate) async fn execute_json_tracked<T: DeserializeOwned>(
    connection: &Connection,
    call: Call,
    what: &str,
) -> (Result<T, Error>, bool) {
    let mut value = None;
    let mut decode = |body: &[u8]| match serde_json::from_slice::<T>(body) {
        Ok(decoded) => {
            value = Some(decoded);
            Decoded::Yes
        }
        // Ended early: the body was cut short.
        Err(e) if e.is_eof() => Decoded::NotJson,
        // Anything else may be valid JSON of another type (serde_json reports some, like a
        // number out of range, as syntax) or a body cut after a type error: the call's plain
        // JSON check decides, and a body that passes it fails below as a `Decode` error.
        Err(_) => Decoded::NotTried,
    };
    let mut acted = false;
    let policy = &connection.inner.retry;
    let result = match run_buffered(connection, &call, policy, &mut decode, &mut acted).await {
        Ok(reply) => match value {
            Some(value) => Ok(value),
            None => decode_json(&reply, what),
        },
        Err(error) => Err(error),
    };
    (result, acted)
}

/// What a call's own decoder made of a `2xx` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decoded {
    /// Decoded: the body is JSON and the caller has its value.
    Yes,
    /// Not JSON (cut short, garbled): an unreadable body.
    NotJson,
    /// Not decoded (no decoder, or JSON of another type): the call's [`BodyCheck`] decides.
    NotTried,
}

/// Runs `call` like [`execute`], but hands back a `2xx` response before reading its body, for
/// the caller to stream (a large download). Retries happen only before a `2xx` head arrives;
/// the API log records the time to the response head. The connection's timeout still covers
/// the whole transfer, so set it (or `None`) for long downloads.
pub(crate) async fn execute_streaming(
    connection: &Connection,
    call: Call,
) -> Result<reqwest::Response, Error> {
    let policy = &connection.inner.retry;
    let mut unchecked = |_: &[u8]| Decoded::NotTried;
    let mut acted = false;
    match run_in_span(
        connection,
        &call,
        policy,
        Delivery::Streaming,
        &mut unchecked,
        &mut acted,
    )
    .await?
    {
        Delivered::Response(response) => Ok(response),
        Delivered::Reply(_) => Err(Error::config(
            "internal: a success was classified after its body was read",
        )),
    }
}

/// How a call takes a `2xx` response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Read the whole body, then classify and decode it (every call but downloads).
    Buffered,
    /// Hand the response over unread, for the caller to stream.
    Streaming,
}

/// What a call hands back, by [`Delivery`].
enum Delivered {
    Reply(Reply),
    Response(reqwest::Response),
}

async fn run_in_span(
    connection: &Connection,
    call: &Call,
    policy: &RetryPolicy,
    delivery: Delivery,
    decode: &mut impl FnMut(&[u8]) -> Decoded,
    acted: &mut bool,
) -> Result<Delivered, Error> {
    let span = tracing::debug_span!(
        "dbsync_call",
        method = %call.method,
        path = %call.template,
        auth = connection.inner.auth.scheme(),
    );
    run_attempts(connection, call, policy, delivery, decode, acted)
        .instrument(span)
        .await
}

async fn run_attempts(
    connection: &Connection,
    call: &Call,
    policy: &RetryPolicy,
    delivery: Delivery,
    decode: &mut impl FnMut(&[u8]) -> Decoded,
    acted: &mut bool,
) -> Result<Delivered, Error> {
    let inner = &connection.inner;
    let mut attempt: u32 = 0; // attempts counted by the retry policy
    let mut sent: u32 = 0; // every attempt, for logs
    let mut refreshed_after_401 = false;
    let mut waits = CallWaits::new(call, policy);
    loop {
        attempt += 1;
        sent += 1;
        // 1. build
        let mut url = call.url.clone();
        let mut headers = build_headers(call, &inner.user_agent)?;
        // 2. authorize (afresh on every attempt; only our own origin)
        if url.origin() != inner.base_url.origin() {
            return Err(Error::config(format!(
                "refusing to send credentials to `{}`, which is not the connection's origin",
                url.origin().ascii_serialization()
            )));
        }
        waits
            .within_deadline(inner.auth.authorize(&mut AuthRequest::new(
                &call.method,
                &mut url,
                &mut headers,
            )))
            .await??;
        // 3. rate limit: the installed hook, then the shared budget, pause and pacing
        if let Some(limiter) = &inner.rate_limiter {
            waits.within_deadline(limiter.until_ready()).await?;
        }
        loop {
            let wait = inner.throttle.wait_before_send(Instant::now());
            if wait.is_zero() {
                break;
            }
            waits.wait(wait, true).await?;
        }
        // 4. send (a streaming call hands a `2xx` over here, before its body is read)
        let sent_at = SystemTime::now();
        let started = Instant::now();
        let sent_headers = headers.clone(); // for the strategy, should the server answer 401
        // In flight: from here, a call cut short (the deadline) may have been carried out.
        let acted_before = *acted;
        *acted = true;
        let response = waits
            .within_deadline(build_request(connection, call, url, headers).send())
            .await?;
        let response = match response {
            Ok(response) => {
                let info = crate::RateLimitInfo::from_headers(response.headers());
                connection.observe_rate_limit(info);
                inner
                    .throttle
                    .observe(&info, Instant::now(), SystemTime::now());
                let status = response.status().as_u16();
                if delivery == Delivery::Streaming && (200..300).contains(&status) {
                    let latency = started.elapsed();
                    let status = Ok(status);
                    crate::api_log::record_attempt(
                        connection, call, sent_at, latency, sent, status,
                    );
                    trace_attempt(call, sent, status, latency, &Outcome::Success);
                    return Ok(Delivered::Response(response));
                }
                let headers = response.headers().clone();
                let body = waits.within_deadline(response.bytes()).await?;
                Ok((status, headers, body))
            }
            Err(error) => Err(error),
        };
        let latency = started.elapsed();
        // 5. classify
        let (outcome, result) = classify(call, response, latency, decode);
        *acted = acted_before || outcome.may_have_acted();
        let status = result.as_ref().map(|reply| reply.status);
        crate::api_log::record_attempt(connection, call, sent_at, latency, sent, status);
        trace_attempt(call, sent, status, latency, &outcome);
        let result = result.map(Delivered::Reply);
        // 6. retry or map error
        if let Outcome::Status { status: 401, .. } = outcome {
            // The renewal (a token request) is part of the call: it stays within its deadline.
            if !refreshed_after_401
                && waits
                    .within_deadline(inner.auth.on_unauthorized_for(&sent_headers))
                    .await??
            {
                refreshed_after_401 = true;
                attempt -= 1; // the refresh retry is not one of the policy's retries
                continue;
            }
            return result;
        }
        if let Outcome::Status {
            status: 429,
            retry_after: Some(pause),
        } = outcome
        {
            // Every task using the connection holds back, not only this one.
            inner.throttle.pause_for(Instant::now(), pause);
        }
        match decide(
            &call.method,
            call.idempotency_key.is_some(),
            &outcome,
            attempt,
            policy,
        ) {
            Decision::Stop => return result,
            Decision::Retry(wait) => {
                let rate_limited = matches!(outcome, Outcome::Status { status: 429, .. });
                let wait = wait.resolve(rand::random::<f64>());
                tracing::debug!(
                    attempt = sent,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "dbsync retry"
                );
                waits.wait(wait, rate_limited).await?;
            }
        }
    }
}

/// The waiting budget of one call: its overall deadline and its cap on rate-limit waits.
struct CallWaits {
    what: String,
    deadline: Option<(Instant, Duration)>,
    rate_limit_waited: Duration,
    rate_limit_cap: Duration,
}

impl CallWaits {
    fn new(call: &Call, policy: &RetryPolicy) -> Self {
        Self {
            what: call.describe(),
            deadline: policy
                .deadline()
                // A deadline too far to express is no deadline.
                .and_then(|limit| Some((Instant::now().checked_add(limit)?, limit))),
            rate_limit_waited: Duration::ZERO,
            rate_limit_cap: policy.rate_limit_wait_cap(),
        }
    }

    /// Sleeps `wait`, unless it would break the rate-limit cap (when `rate_limit`) or end past
    /// the deadline: then the call fails at once with the matching error.
    async fn wait(&mut self, wait: Duration, rate_limit: bool) -> Result<(), Error> {
        if rate_limit {
            let total = self.rate_limit_waited.saturating_add(wait);
            if total > self.rate_limit_cap {
                return Err(Error::RateLimited {
                    message: format!(
                        "{}: the call already waited {:.1} s for rate limits and needs {:.1} s \
                         more, over its cap of {:.1} s (RetryPolicy::max_rate_limit_wait); \
                         retry after the wait, lower the request rate, or raise the cap",
                        self.what,
                        self.rate_limit_waited.as_secs_f64(),
                        wait.as_secs_f64(),
                        self.rate_limit_cap.as_secs_f64()
                    ),
                    retry_after: Some(wait),
                });
            }
            self.rate_limit_waited = total;
        }
        if let Some((deadline, _)) = self.deadline
            && Instant::now()
                .checked_add(wait)
                .is_none_or(|end| end > deadline)
        {
            return Err(self.deadline_passed());
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Runs `future` to the deadline, if there is one.
    async fn within_deadline<F: std::future::Future>(&self, future: F) -> Result<F::Output, Error> {
        match self.deadline {
            None => Ok(future.await),
            Some((deadline, _)) => tokio::time::timeout_at(deadline, future)
                .await
                .map_err(|_| self.deadline_passed()),
        }
    }

    fn deadline_passed(&self) -> Error {
        let limit = self.deadline.map(|(_, limit)| limit).unwrap_or_default();
        Error::Transport {
            kind: crate::TransportKind::Timeout,
            message: format!(
                "{}: the call's deadline of {:.1} s passed (it covers every attempt, retry and \
                 wait; RetryPolicy::call_deadline); the server may have acted on a request \
                 already sent; retry later or raise the deadline",
                self.what,
                limit.as_secs_f64()
            ),
            source: None,
        }
    }
}

/// The debug event of one attempt: method, endpoint template, attempt, status (0 when no
/// response came), duration and the kind of error. No secret, no body, no id.
fn trace_attempt(
    call: &Call,
    attempt: u32,
    status: Result<u16, &Error>,
    latency: Duration,
    outcome: &Outcome,
) {
    tracing::debug!(
        method = %call.method,
        endpoint = %call.template,
        attempt,
        status = match status {
            Ok(status) => status,
            Err(error) => error.status().unwrap_or(0),
        },
        duration_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        error = status.err().map(Error::kind),
        outcome = ?outcome,
        "dbsync attempt"
    );
}

/// The headers every attempt starts from (credentials come after, from the strategy).
fn build_headers(call: &Call, user_agent: &str) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(
        USER_AGENT,
        HeaderValue::from_str(user_agent)
            .map_err(|_| Error::config("user_agent contains characters not allowed in a header"))?,
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

/// What came back from the wire: a response (with its body, or the error reading it), or a
/// failure before any response.
type Sent = Result<(u16, HeaderMap, Result<Bytes, reqwest::Error>), reqwest::Error>;

fn build_request(
    connection: &Connection,
    call: &Call,
    url: Url,
    headers: HeaderMap,
) -> reqwest::RequestBuilder {
    let inner = &connection.inner;
    let mut request = inner
        .http
        .request(call.method.clone(), url)
        .headers(headers);
    if let Some(timeout) = inner.timeout {
        request = request.timeout(timeout);
    }
    if let Some(body) = &call.body {
        request = request.body(body.clone());
    }
    request
}

fn classify(
    call: &Call,
    sent: Sent,
    latency: Duration,
    decode: &mut impl FnMut(&[u8]) -> Decoded,
) -> (Outcome, Result<Reply, Error>) {
    let (status, headers, body) = match sent {
        Ok(parts) => parts,
        Err(error) => {
            let outcome = if error.is_connect() {
                Outcome::ConnectFailed
            } else {
                Outcome::TransportFailed
            };
            let error = Error::from_transport(error, &call.describe());
            let outcome = match error {
                Error::Transport {
                    kind: crate::TransportKind::Tls,
                    ..
                } => Outcome::Fatal,
                _ => outcome,
            };
            return (outcome, Err(error));
        }
    };
    if (200..300).contains(&status) {
        let body = match body {
            Ok(body) => body,
            Err(_) if matches!(call.body_check, BodyCheck::NotNeeded) => Bytes::new(),
            Err(error) => {
                let message = format!(
                    "{} answered {status} but the body could not be read ({}); the server may \
                     have acted on the request",
                    call.describe(),
                    error.without_url()
                );
                return (
                    Outcome::UnreadableBody,
                    Err(Error::decode(Some(status), message, b"")),
                );
            }
        };
        let page = match (decode(&body), &call.body_check) {
            (Decoded::Yes, _) => Ok(None),
            (Decoded::NotJson, _) => Err(NotJson),
            (Decoded::NotTried, BodyCheck::NotNeeded) => Ok(None),
            (Decoded::NotTried, BodyCheck::Json) => {
                serde_json::from_slice::<serde::de::IgnoredAny>(&body)
                    .map(|_| None)
                    .map_err(|_| NotJson)
            }
            (Decoded::NotTried, BodyCheck::Page(format)) => page_layout(&body, format),
        };
        let Ok(page) = page else {
            let message = format!(
                "{} answered {status} with a body that is not JSON; the server may have acted \
                 on the request",
                call.describe()
            );
            return (
                Outcome::UnreadableBody,
                Err(Error::decode(
                    Some(status),
                    message,
                    if call.quote_body { &body } else { b"" },
                )),
            );
        };
        let reply = Reply {
            status,
            headers,
            body,
            latency,
            page,
        };
        return (Outcome::Success, Ok(reply));
    }
    let body = body.unwrap_or_default();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = text(http::header::RETRY_AFTER.as_str())
        .and_then(|value| parse_retry_after(&value, SystemTime::now()));
    let error = Error::from_response(
        status,
        text(http::header::WWW_AUTHENTICATE.as_str()),
        text(LOCATION.as_str()),
        retry_after,
        &body,
    );
    (
        Outcome::Status {
            status,
            retry_after,
        },
        Err(error),
    )
}

/// Decodes a reply's JSON body as `T`.
pub(crate) fn decode_json<T: DeserializeOwned>(reply: &Reply, what: &str) -> Result<T, Error> {
    serde_json::from_slice(&reply.body).map_err(|e| {
        Error::decode(
            Some(reply.status),
            format!("{what}: the body does not fit the expected type ({e})"),
            &reply.body,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn post(server: &MockServer, with_key: bool) -> Result<Reply, Error> {
        let connection = Connection::builder()
            .base_url(server.uri())
            .retry(RetryPolicy::default().initial_backoff(Duration::from_millis(1)))
            .build()
            .unwrap();
        let url = connection.endpoint(&["workflows", "w1", "runs"]).unwrap();
        let mut call = Call::new(Method::POST, url, "/v1/workflows/{id}/runs".into())
            .json_body(&serde_json::json!({"input": 1}))
            .unwrap();
        if with_key {
            call = call.with_new_idempotency_key();
        }
        execute(&connection, call).await
    }

    #[tokio::test]
    async fn a_post_without_a_key_is_not_retried() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .expect(1)
            .mount(&server)
            .await;
        let err = post(&server, false).await.unwrap_err();
        assert_eq!(err.status(), Some(503));
    }

    #[tokio::test]
    async fn a_post_with_a_key_is_retried() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .expect(4)
            .mount(&server)
            .await;
        assert!(post(&server, true).await.is_err());
    }

    #[test]
    fn idempotency_keys_are_unique_and_valid_headers() {
        let (a, b) = (new_idempotency_key(), new_idempotency_key());
        assert_ne!(a, b);
        assert!(HeaderValue::from_str(&a).is_ok());
    }
}
