//! The attempt loop of one call: build -> authorize -> rate limit -> send -> classify -> retry
//! or map error (see the module docs of `request`), and how a call takes its `2xx`: read whole
//! and decoded ([`Buffered`]) or handed over unread ([`Streaming`]).

use std::future::Future;
use std::time::{Duration, SystemTime};

use dbsync_auth::AuthRequest;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::body::{BodyError, read_body, too_large};
use super::budget::Budget;
use super::call::{Call, build_headers};
use super::classify::{self, Attempted};
use super::decode::Decode;
use super::transport::{Sent, Transport};
use super::waits::Waits;
use crate::api_log::ApiLogEntry;
use crate::error::Error;
use crate::retry::{Decision, Outcome, RetryPolicy, decide};
use crate::wait_notice::WaitReason;

/// How a call takes a `2xx` response.
pub(super) trait Deliver {
    /// What the call hands back.
    type Output;

    /// Takes the `2xx` `response` of an attempt that started at `started`, reading no more
    /// than `limit` bytes of it into memory; returns what the attempt came to and how long it
    /// took.
    fn take(
        &self,
        call: &Call,
        response: reqwest::Response,
        started: Instant,
        waits: &Waits<'_>,
        limit: usize,
    ) -> impl Future<Output = Result<(Attempted<Self::Output>, Duration), Error>>;
}

/// Reads the whole body, then decodes it (every call but downloads).
pub(super) struct Buffered<D>(pub(super) D);

impl<D: Decode> Deliver for Buffered<D> {
    type Output = D::Output;

    async fn take(
        &self,
        call: &Call,
        response: reqwest::Response,
        started: Instant,
        waits: &Waits<'_>,
        limit: usize,
    ) -> Result<(Attempted<D::Output>, Duration), Error> {
        let status = response.status().as_u16();
        let mut response = response;
        // Moved out, not copied: reading the body needs no header.
        let headers = std::mem::take(response.headers_mut());
        let body = waits.within_attempt(read_body(response, limit)).await?;
        let latency = started.elapsed();
        let body = match body {
            Ok(body) => Ok(body),
            Err(BodyError::Read(error)) => Err(error),
            // A body the call does not use may be anything.
            Err(BodyError::TooLarge) if !self.0.needs_body() => Ok(bytes::Bytes::new()),
            Err(BodyError::TooLarge) => {
                let error = too_large(call, status, limit);
                return Ok((classify::too_large_answer(error), latency));
            }
        };
        let attempted = classify::answered(call, status, headers, body, latency, &self.0);
        Ok((attempted, latency))
    }
}

/// Hands the response over unread, for the caller to stream.
pub(super) struct Streaming;

impl Deliver for Streaming {
    type Output = reqwest::Response;

    async fn take(
        &self,
        _: &Call,
        response: reqwest::Response,
        started: Instant,
        _: &Waits<'_>,
        _: usize,
    ) -> Result<(Attempted<reqwest::Response>, Duration), Error> {
        let status = response.status().as_u16();
        let result = Ok(response);
        Ok((Attempted::Answered { status, result }, started.elapsed()))
    }
}

/// Runs `call` with `policy`, in a `dbsync_call` debug span (made and entered only when a
/// subscriber wants it: no span, no cost).
pub(super) async fn run<D: Deliver>(
    transport: &Transport,
    call: &Call,
    policy: &RetryPolicy,
    deliver: &D,
) -> Sent<D::Output> {
    let policy = call.retry_override().unwrap_or(policy);
    let span = tracing::debug_span!(
        "dbsync_call",
        method = %call.method,
        path = %call.template,
        auth = transport.auth.scheme(),
    );
    let mut attempts = Attempts {
        transport,
        call,
        policy,
        waits: Waits::new(call, policy, transport.wait_observers.clone()),
        budget: Budget::new(transport.quota.as_ref()),
        last_failure: None,
        may_have_acted: false,
    };
    let result = if span.is_disabled() {
        attempts.run(deliver).await
    } else {
        attempts.run(deliver).instrument(span).await
    };
    Sent {
        result,
        may_have_acted: attempts.may_have_acted,
    }
}

/// The state of one call's attempts.
struct Attempts<'a> {
    transport: &'a Transport,
    call: &'a Call,
    policy: &'a RetryPolicy,
    waits: Waits<'a>,
    /// Failed attempts and 429s counted apart, and the tokens held from the retry quota.
    budget: Budget<'a>,
    /// The failed attempt being retried (its error and number), while its retry runs.
    last_failure: Option<(Error, u32)>,
    /// Whether the server may have carried out an attempt so far.
    may_have_acted: bool,
}

impl Attempts<'_> {
    /// Runs the attempts. When the deadline passes during the retry of a failed attempt, the
    /// call fails with that attempt's error, saying so (not with a bare timeout).
    async fn run<D: Deliver>(&mut self, deliver: &D) -> Result<D::Output, Error> {
        let result = self.attempt_all(deliver).await;
        match (result, self.last_failure.take(), self.waits.deadline()) {
            (Err(_), Some((error, sent)), Some(deadline)) if self.waits.has_passed() => {
                Err(self.budget.cut_short(error, sent, deadline))
            }
            (result, _, _) => result,
        }
    }

    async fn attempt_all<D: Deliver>(&mut self, deliver: &D) -> Result<D::Output, Error> {
        let (transport, call) = (self.transport, self.call);
        let budget = &mut self.budget;
        let mut sent: u32 = 0; // every attempt, for logs
        let mut refreshed_after_401 = false;
        loop {
            sent += 1;
            // 1. build
            let mut url = call.url.clone();
            let mut headers = build_headers(call, transport.user_agent())?;
            // 2. authorize (afresh on every attempt; only our own origin)
            if url.origin() != transport.origin {
                return Err(Error::config(format!(
                    "refusing to send credentials to `{}`, which is not the connection's origin",
                    url.origin().ascii_serialization()
                )));
            }
            self.waits
                .within_deadline(transport.auth.authorize(&mut AuthRequest::new(
                    &call.method,
                    &mut url,
                    &mut headers,
                )))
                .await??;
            // 3. rate limit: the installed hook, then the shared budget, pause and pacing
            if let Some(limiter) = &transport.rate_limiter {
                self.waits.within_deadline(limiter.until_ready()).await?;
            }
            loop {
                let now = Instant::now();
                let wait = transport.throttle.wait_before_send(now);
                if wait.is_zero() {
                    break;
                }
                let reason = transport.throttle.reason(now);
                self.waits.wait(wait, reason).await?;
            }
            // 4. send
            let sent_at = SystemTime::now();
            let started = Instant::now();
            // For the strategy, should the server answer 401. A strategy that sends no
            // credentials (`NoAuth`) adds no header: the headers it sent are rebuilt then, not
            // kept on every attempt.
            let sent_headers = transport.auth.sends_credentials().then(|| headers.clone());
            let in_flight = transport.throttle.sending(); // until this attempt is classified
            // In flight: from here, a call cut short (the deadline) may have been carried out.
            let acted_before = self.may_have_acted;
            self.may_have_acted = true;
            let timeout = call.timeout_override().or(transport.timeout);
            self.waits.start_attempt(timeout);
            let response = match build_request(transport, call, url, headers, timeout) {
                Ok(request) => {
                    self.waits
                        .within_attempt(transport.http.execute(request))
                        .await?
                }
                Err(error) => Err(error),
            };
            // 5. classify (a `2xx` is taken as the call takes it: read and decoded, or not)
            let (attempted, latency) = match response {
                Err(error) => (classify::transport_failure(call, error), started.elapsed()),
                Ok(mut response) => {
                    transport
                        .observe_rate_limit(response.headers(), self.policy.get_max_retry_after());
                    let status = response.status().as_u16();
                    if (200..300).contains(&status) {
                        let limit = transport.max_response_bytes;
                        (deliver.take(call, response, started, &self.waits, limit)).await?
                    } else {
                        let headers = std::mem::take(response.headers_mut());
                        let limit = transport.max_response_bytes;
                        let body = self
                            .waits
                            .within_attempt(read_body(response, limit))
                            .await?;
                        let latency = started.elapsed();
                        let attempted = match body {
                            Ok(body) => classify::refused(status, &headers, &body),
                            Err(BodyError::TooLarge) => {
                                classify::too_large_refusal(status, too_large(call, status, limit))
                            }
                            // Unreadable: the status says what there is to say.
                            Err(BodyError::Read(_)) => classify::refused(status, &headers, b""),
                        };
                        (attempted, latency)
                    }
                }
            };
            let outcome = attempted.outcome();
            drop(in_flight);
            transport.note_outcome(&outcome);
            self.may_have_acted = acted_before || outcome.may_have_acted();
            record(transport, call, sent_at, latency, sent, attempted.logged());
            trace_attempt(call, sent, attempted.logged(), latency, &outcome);
            let error = match attempted {
                Attempted::Answered { result, .. } => {
                    budget.answered();
                    return result;
                }
                Attempted::Failed(_, error) => error,
            };
            // A body over the size limit is not retried (nor a 401 refreshed): the next answer
            // would be as large.
            if let Error::Transport {
                kind: crate::error::TransportKind::ResponseTooLarge,
                ..
            } = error
            {
                return Err(error);
            }
            // 6. retry or map error
            if let Outcome::Status { status: 401, .. } = outcome {
                if refreshed_after_401 {
                    return Err(error);
                }
                let sent_headers = match sent_headers {
                    Some(headers) => headers,
                    None => build_headers(call, transport.user_agent())?,
                };
                // The renewal (a token request) is part of the call: it stays within its
                // deadline.
                if self
                    .waits
                    .within_deadline(transport.auth.on_unauthorized_for(&sent_headers))
                    .await??
                {
                    refreshed_after_401 = true; // not one of the policy's retries
                    continue;
                }
                return Err(error);
            }
            if let Outcome::Status {
                status: 429,
                retry_after: Some(pause),
            } = outcome
            {
                // Every task using the connection holds back, not only this one.
                transport.throttle.pause_for(
                    Instant::now(),
                    pause,
                    self.policy.get_max_retry_after(),
                );
            }
            let keyed = call.idempotency_key.is_some();
            let attempt = budget.count(&outcome);
            let wait = match decide(&call.method, keyed, &outcome, attempt, self.policy) {
                Decision::Retry(wait) => wait.resolve(rand::random::<f64>()),
                // Retryable, but not this many times.
                Decision::Stop
                    if decide(&call.method, keyed, &outcome, 1, self.policy) != Decision::Stop =>
                {
                    return Err(budget.out_of_retries(error, sent, &outcome, self.policy));
                }
                Decision::Stop => return Err(error),
            };
            tracing::debug!(
                attempt = sent,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "dbsync retry"
            );
            self.last_failure = None;
            let reason = match outcome {
                // The server pacing us: no retry used, no quota; the caps and deadline hold.
                Outcome::Status {
                    status: 429,
                    retry_after: Some(pause),
                } if !pause.is_zero() => WaitReason::RetryAfter,
                Outcome::Status {
                    status: 429,
                    retry_after: Some(_),
                } => WaitReason::RateLimitBackoff,
                // A failed attempt (a 429 naming no wait included): the deadline and the quota.
                _ => {
                    if let Some(deadline) = self.waits.deadline()
                        && !self.waits.fits(wait)
                    {
                        return Err(budget.out_of_time(error, sent, deadline));
                    }
                    if !budget.pay(&outcome) {
                        return Err(budget.out_of_quota(error, sent));
                    }
                    self.last_failure = Some((error, sent));
                    match outcome {
                        Outcome::Status { status: 429, .. } => WaitReason::RateLimitBackoff,
                        _ => WaitReason::FailureBackoff,
                    }
                }
            };
            self.waits.wait(wait, reason).await?;
        }
    }
}

/// The request of one attempt. The headers become the request's own, moved in: a new request
/// has none, unless reqwest made one from the URL (its user info); those stay unless ours name
/// them too, as `RequestBuilder::headers` would have it. The client's default headers are added
/// when it is sent.
fn build_request(
    transport: &Transport,
    call: &Call,
    url: url::Url,
    mut headers: http::HeaderMap,
    timeout: Option<Duration>,
) -> Result<reqwest::Request, reqwest::Error> {
    let mut request = transport.http.request(call.method.clone(), url);
    if let Some(timeout) = timeout {
        request = request.timeout(timeout);
    }
    if let Some(body) = &call.body {
        request = request.body(body.clone());
    }
    let mut request = request.build()?;
    let made = request.headers();
    for name in made.keys() {
        if !headers.contains_key(name) {
            for value in made.get_all(name) {
                headers.append(name.clone(), value.clone());
            }
        }
    }
    *request.headers_mut() = headers;
    Ok(request)
}

/// Hands the API log entry of one attempt to the transport's sinks (built only when there is
/// one).
fn record(
    transport: &Transport,
    call: &Call,
    time: SystemTime,
    duration: Duration,
    attempt: u32,
    outcome: Result<u16, &Error>,
) {
    if transport.api_log.is_empty() {
        return;
    }
    let (status, error) = match outcome {
        Ok(status) => (Some(status), None),
        Err(error) => (error.status(), Some(error.kind().to_owned())),
    };
    transport.api_log.record(ApiLogEntry {
        time,
        method: call.method.as_str().to_owned(),
        endpoint: call.template.clone(),
        path: call.url.path().to_owned(),
        status,
        duration,
        attempt,
        error,
    });
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
