//! [`Transport`]: what every call of a connection goes through (the HTTP client, auth, retry
//! policy and quota, throttle, rate-limiter hook, wait observer, API log sinks, timeout and the
//! origin check), and the ways to send a call on it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dbsync_auth::Auth;
use http::{HeaderMap, HeaderValue};
use url::{Origin, Url};

use super::attempts::{Buffered, Streaming, run};
use super::call::Call;
use super::decode::Decode;
use super::throttle::{Budgets, Throttle};
use crate::api_log::ApiLogSinks;
use crate::error::Error;
use crate::rate_limit::{RateLimitInfo, RateLimiter};
use crate::retry::{Outcome, RetryPolicy};
use crate::retry_quota::{QuotaBucket, RetryQuota};
use crate::wait_notice::WaitObservers;

/// What a call came to: its result, and whether the server may have carried out one of its
/// attempts (see [`crate::retry::Outcome::may_have_acted`]; an attempt cut in flight by the
/// deadline counts). For a failed `POST`, `may_have_acted` says whether its outcome is unknown
/// even when the final error (a `429`, a failed connect) says the last attempt did nothing.
#[derive(Debug)]
#[must_use]
pub(crate) struct Sent<T> {
    pub(crate) result: Result<T, Error>,
    pub(crate) may_have_acted: bool,
}

/// The request path of one connection, shared by its clones.
pub(crate) struct Transport {
    pub(super) http: reqwest::Client,
    pub(super) auth: Arc<dyn Auth>,
    /// The only origin credentials are sent to: the base URL's.
    pub(super) origin: Origin,
    pub(super) timeout: Option<Duration>,
    /// The largest response body read whole (streamed downloads are not held, nor limited).
    pub(super) max_response_bytes: usize,
    pub(super) retry: RetryPolicy,
    /// The `User-Agent` header; `None` when the configured one is not a valid header value
    /// (every call then fails with that error, as it did when the header was made per attempt).
    user_agent: Option<HeaderValue>,
    pub(super) rate_limiter: Option<Arc<dyn RateLimiter>>,
    /// The client-side budget, the shared `429` pause and pacing (see `throttle`).
    pub(super) throttle: Throttle,
    /// Every API log sink, the default ring included.
    pub(super) api_log: ApiLogSinks,
    /// The retry quota every call shares (none: retries are bounded per call only).
    pub(super) quota: Option<QuotaBucket>,
    /// Who is told of each wait.
    pub(super) wait_observers: WaitObservers,
    /// The `X-RateLimit-*` headers of the last response that had any.
    last_rate_limit: Mutex<Option<RateLimitInfo>>,
    /// Attempts the server or the network pushed back (see [`Transport::congestion_events`]).
    congestion: AtomicU64,
}

/// What a [`Transport`] is made of (see [`crate::ConnectionBuilder`] for each setting).
pub(crate) struct TransportParts {
    pub(crate) http: reqwest::Client,
    pub(crate) auth: Arc<dyn Auth>,
    /// Credentials go to this URL's origin only.
    pub(crate) base_url: Url,
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_response_bytes: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) user_agent: String,
    pub(crate) rate_limiter: Option<Arc<dyn RateLimiter>>,
    pub(crate) budgets: Budgets,
    pub(crate) api_log: ApiLogSinks,
    pub(crate) retry_quota: Option<RetryQuota>,
    pub(crate) wait_observers: WaitObservers,
}

impl Transport {
    pub(crate) fn new(parts: TransportParts) -> Self {
        Self {
            http: parts.http,
            auth: parts.auth,
            origin: parts.base_url.origin(),
            timeout: parts.timeout,
            max_response_bytes: parts.max_response_bytes,
            retry: parts.retry,
            // Made once here, not on every attempt (`from_maybe_shared` keeps the bytes).
            user_agent: HeaderValue::from_maybe_shared(bytes::Bytes::from(parts.user_agent)).ok(),
            rate_limiter: parts.rate_limiter,
            throttle: Throttle::new(parts.budgets),
            api_log: parts.api_log,
            quota: parts.retry_quota.map(QuotaBucket::new),
            wait_observers: parts.wait_observers,
            last_rate_limit: Mutex::new(None),
            congestion: AtomicU64::new(0),
        }
    }

    /// Sends `call` with the connection's retry policy; `decode` turns a `2xx` into the result.
    pub(crate) async fn send<D: Decode>(&self, call: &Call, decode: D) -> Sent<D::Output> {
        self.send_with(call, &self.retry, decode).await
    }

    /// Sends `call` with `policy`.
    pub(crate) async fn send_with<D: Decode>(
        &self,
        call: &Call,
        policy: &RetryPolicy,
        decode: D,
    ) -> Sent<D::Output> {
        run(self, call, policy, &Buffered(decode)).await
    }

    /// Sends `call` like [`Transport::send`], but hands back a `2xx` response before reading
    /// its body, for the caller to stream (a large download). Retries happen only before a
    /// `2xx` head arrives; the API log records the time to the response head. The connection's
    /// timeout still covers the whole transfer, so set it (or `None`) for long downloads. The
    /// limit on response sizes does not apply to the body handed over (it is not held in
    /// memory), only to an error answer's.
    pub(crate) async fn send_streaming(&self, call: &Call) -> Sent<reqwest::Response> {
        run(self, call, &self.retry, &Streaming).await
    }

    /// The `User-Agent` header every attempt sends (`None`: the configured one is invalid).
    pub(super) fn user_agent(&self) -> Option<&HeaderValue> {
        self.user_agent.as_ref()
    }

    /// The auth strategy.
    pub(crate) fn auth(&self) -> &Arc<dyn Auth> {
        &self.auth
    }

    /// The retry policy of [`Transport::send`].
    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The retry quota's settings and the tokens left, if there is a quota (for `Debug`).
    pub(crate) fn retry_quota(&self) -> Option<(&RetryQuota, u32)> {
        self.quota.as_ref().map(|q| (q.quota(), q.available()))
    }

    /// The timeout of one attempt.
    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The largest response body read whole.
    pub(crate) fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    /// The throttle (for `Debug`).
    pub(crate) fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// The API log sinks.
    pub(crate) fn api_log(&self) -> &ApiLogSinks {
        &self.api_log
    }

    /// How many attempts so far were pushed back: answered `429` or `5xx`, timed out, cut
    /// short, or refused a connection. Adaptive concurrency ([`crate::Concurrency`]) backs off
    /// when this moves while one of its requests is in flight.
    pub(crate) fn congestion_events(&self) -> u64 {
        self.congestion.load(Ordering::Relaxed)
    }

    /// Counts the attempt's outcome if it was a push-back.
    pub(super) fn note_outcome(&self, outcome: &Outcome) {
        let pushed_back = match outcome {
            Outcome::Status { status, .. } => *status == 429 || *status >= 500,
            Outcome::UnreadableBody | Outcome::TransportFailed | Outcome::ConnectFailed => true,
            Outcome::Success | Outcome::Fatal => false,
        };
        if pushed_back {
            self.congestion.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The `X-RateLimit-*` headers of the last response that carried any.
    pub(crate) fn last_rate_limit(&self) -> Option<RateLimitInfo> {
        *self
            .last_rate_limit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Takes in the rate-limit headers of a response: remembered when it had any, and given to
    /// the throttle for pacing (a pause of at most `cap`).
    pub(super) fn observe_rate_limit(&self, headers: &HeaderMap, cap: Duration) {
        let info = RateLimitInfo::from_headers(headers);
        if info != RateLimitInfo::default() {
            *self
                .last_rate_limit
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(info);
        }
        self.throttle.observe(
            &info,
            tokio::time::Instant::now(),
            std::time::SystemTime::now(),
            cap,
        );
    }
}
