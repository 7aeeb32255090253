//! When to try a request again, and how long to wait: a pure decision, tested without I/O.
//!
//! The request path (the crate's `request` module) turns each attempt into an [`Outcome`] and asks
//! [`decide`]. `429`, `5xx` (but `501`) and connection failures are retried with exponential
//! backoff and full jitter; a server's `Retry-After` is waited exactly, up to
//! [`RetryPolicy::max_retry_after`].
//!
//! Retries are budgeted, not only counted: failed attempts are retried while the call's
//! deadline ([`RetryPolicy::call_deadline`], default 2 minutes) and the connection's retry quota
//! ([`crate::RetryQuota`]) allow; [`RetryPolicy::max_retries`] (default 50) is only a safety
//! net. A `429` with a `Retry-After` that fits the caps is the server pacing us, not a failure:
//! it uses neither the retries nor the quota (at most [`MAX_RATE_LIMITED_RETRIES`] per call). A
//! `429` that names no usable wait counts as a failed attempt. `GET`, `PUT`, `DELETE` (and `HEAD`, `OPTIONS`) may be
//! repeated freely; a `POST` only when it carries an `Idempotency-Key`, except that a failure to
//! connect (nothing was sent) is retryable for any method. A `401` is not decided here: the
//! request path asks the auth strategy to refresh and retries once at most.

use std::time::{Duration, SystemTime};

use http::Method;

/// How many times, and how patiently, a failed call is retried (see the module docs).
///
/// ```
/// use std::time::Duration;
/// let policy = dbsync_client::RetryPolicy::default()
///     .max_retries(5)
///     .max_retry_after(Duration::from_secs(120));
/// assert_eq!(policy.get_max_retries(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    max_rate_limit_wait: Duration,
    call_deadline: Option<Duration>,
}

/// The longest total time one call waits for rate limits unless configured
/// ([`RetryPolicy::max_rate_limit_wait`]).
pub const DEFAULT_MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(300);

/// The most retries of failed attempts per call unless configured
/// ([`RetryPolicy::max_retries`]): a safety net high enough that the deadline and the quota
/// decide (about 28 retries fit in the default deadline with the default backoff).
pub const DEFAULT_MAX_RETRIES: u32 = 50;

/// The overall deadline of one call unless configured ([`RetryPolicy::call_deadline`]): two
/// minutes of attempts, backoffs and waits (four default attempt timeouts, or two of the longest
/// default `Retry-After` waits), after which a dying server is given up on.
pub const DEFAULT_CALL_DEADLINE: Duration = Duration::from_secs(120);

/// The most `429` answers with a `Retry-After` one call retries (whatever their waits): the
/// bound on a server that answers `429` with a zero wait forever.
pub const MAX_RATE_LIMITED_RETRIES: u32 = 100;

impl Default for RetryPolicy {
    /// Retries while a deadline of 2 minutes per call allows (at most 50), backoff from 250 ms
    /// doubling up to 10 s, a `Retry-After` honoured up to 60 s, at most 5 minutes of
    /// rate-limit waits per call (within the deadline).
    fn default() -> Self {
        Self {
            max_retries: DEFAULT_MAX_RETRIES,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            max_rate_limit_wait: DEFAULT_MAX_RATE_LIMIT_WAIT,
            call_deadline: Some(DEFAULT_CALL_DEADLINE),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries (a `429` neither).
    pub fn none() -> Self {
        Self::default().max_retries(0)
    }

    /// The most retries of failed attempts (`5xx`, timeouts, dropped connections, unreadable
    /// answers, a `429` without a usable `Retry-After`) per call (default
    /// [`DEFAULT_MAX_RETRIES`], 50): a safety net, since the call's deadline and the
    /// connection's retry quota ([`crate::RetryQuota`]) normally end retries first. A `429`
    /// whose `Retry-After` fits the caps is not counted. `0` retries nothing, `429`s included.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The backoff ceiling of the first retry; it doubles with each retry (default 250 ms).
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest backoff ceiling (default 10 s).
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The longest server-given `Retry-After` the client waits (default 60 s). A longer one
    /// fails the call at once with [`crate::Error::RateLimited`] carrying the wait.
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// The longest total time one call spends waiting for rate limits (the client's budget, a
    /// pause after a `429`, pacing from `X-RateLimit-Remaining`, `Retry-After` waits; default
    /// 5 minutes). A wait that would go past it ends the call at once with
    /// [`crate::Error::RateLimited`], whose `retry_after` is the wait that was refused.
    pub fn max_rate_limit_wait(mut self, cap: Duration) -> Self {
        self.max_rate_limit_wait = cap;
        self
    }

    /// An overall deadline for one call, counted from its start and covering every attempt,
    /// backoff and wait (default [`DEFAULT_CALL_DEADLINE`], 2 minutes; `None` for none, then
    /// only the per-attempt timeout, the retry count and the quota bound a call). A failed
    /// attempt is not retried when the backoff would end past it: the call fails with the
    /// attempt's error, saying so. Past it, the call fails with [`crate::Error::Transport`] of
    /// kind [`crate::TransportKind::Timeout`]; a rate-limit wait that would end past it fails
    /// the call at once.
    pub fn call_deadline(mut self, deadline: impl Into<Option<Duration>>) -> Self {
        self.call_deadline = deadline.into();
        self
    }

    /// The old name of [`Self::get_max_rate_limit_wait`].
    #[deprecated(
        since = "0.2.0",
        note = "use `get_max_rate_limit_wait`, named after its setter `max_rate_limit_wait`"
    )]
    pub fn rate_limit_wait_cap(&self) -> Duration {
        self.get_max_rate_limit_wait()
    }

    /// The configured cap on rate-limit waits per call.
    pub fn get_max_rate_limit_wait(&self) -> Duration {
        self.max_rate_limit_wait
    }

    /// The old name of [`Self::get_call_deadline`].
    #[deprecated(
        since = "0.2.0",
        note = "use `get_call_deadline`, named after its setter `call_deadline`"
    )]
    pub fn deadline(&self) -> Option<Duration> {
        self.get_call_deadline()
    }

    /// The configured overall deadline per call, if any.
    pub fn get_call_deadline(&self) -> Option<Duration> {
        self.call_deadline
    }

    /// The old name of [`Self::get_max_retries`].
    #[deprecated(
        since = "0.2.0",
        note = "use `get_max_retries`, named after its setter `max_retries`"
    )]
    pub fn retries(&self) -> u32 {
        self.get_max_retries()
    }

    /// The configured number of retries.
    pub fn get_max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The old name of [`Self::get_max_retry_after`].
    #[deprecated(
        since = "0.2.0",
        note = "use `get_max_retry_after`, named after its setter `max_retry_after`"
    )]
    pub fn longest_retry_after(&self) -> Duration {
        self.get_max_retry_after()
    }

    /// The configured longest `Retry-After` wait.
    pub fn get_max_retry_after(&self) -> Duration {
        self.max_retry_after
    }
}

/// What one attempt came to, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A success status with a usable body.
    Success,
    /// A success status whose body could not be read or was not JSON: the server may have
    /// acted, and the result is lost.
    UnreadableBody,
    /// A non-success status, with the server's `Retry-After` if any.
    Status {
        /// The HTTP status.
        status: u16,
        /// The parsed `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// No connection was made: nothing was sent.
    ConnectFailed,
    /// The request may have been sent, but no complete response came (timeout, dropped).
    TransportFailed,
    /// A failure that repeating cannot fix (TLS, configuration, auth strategy).
    Fatal,
}

impl Outcome {
    /// Whether the server may have carried out the attempt although the caller has no usable
    /// answer: the request may have arrived (a transport failure after connecting, a body cut
    /// short or unreadable) or the server failed while working on it (`5xx`). A success is not
    /// counted (its answer is in hand), nor an answer the server gave without acting (`4xx`).
    pub(crate) fn may_have_acted(&self) -> bool {
        match self {
            Self::UnreadableBody | Self::TransportFailed => true,
            Self::Status { status, .. } => *status >= 500,
            Self::Success | Self::ConnectFailed | Self::Fatal => false,
        }
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Return the result (success, or an error that retrying cannot or may not fix).
    Stop,
    /// Try again after the wait.
    Retry(Wait),
}

/// How long to wait before the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Exactly this long (a server-given `Retry-After`; no jitter on top).
    Exactly(Duration),
    /// A random time between zero and this ceiling (exponential backoff with full jitter).
    UpTo(Duration),
}

impl Wait {
    /// The concrete wait, drawing the jitter from `unit` (a number in `0.0..=1.0`).
    pub(crate) fn resolve(self, unit: f64) -> Duration {
        match self {
            Self::Exactly(wait) => wait,
            Self::UpTo(ceiling) => ceiling.mul_f64(unit.clamp(0.0, 1.0)),
        }
    }
}

/// Whether `method` may be sent again after the server may have acted on it.
pub(crate) fn is_replayable(method: &Method, has_idempotency_key: bool) -> bool {
    has_idempotency_key
        || matches!(
            *method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        )
}

/// Decides what follows a failed attempt of a `method` request. `attempt` counts the attempts of
/// the same kind so far, this one included: for a `429` with a `Retry-After` (the server pacing
/// us, see [`is_paced`]), such answers of the call; for any other outcome, its failed attempts
/// (paced `429`s not counted). Only the latter are bounded by [`RetryPolicy::max_retries`]; paced
/// `429`s by [`MAX_RATE_LIMITED_RETRIES`] (and by the caps on waits). A `Retry-After` of zero is
/// waited like a `429` without one: a jittered backoff, so that a server answering `429` at once
/// is not asked again at once.
pub(crate) fn decide(
    method: &Method,
    has_idempotency_key: bool,
    outcome: &Outcome,
    attempt: u32,
    policy: &RetryPolicy,
) -> Decision {
    let replayable = is_replayable(method, has_idempotency_key);
    let retry_allowed = match outcome {
        Outcome::Success | Outcome::Fatal => false,
        Outcome::ConnectFailed => true,
        Outcome::UnreadableBody | Outcome::TransportFailed => replayable,
        Outcome::Status { status, .. } => replayable && is_retryable_status(*status),
    };
    let limit = if is_paced(outcome) && policy.max_retries > 0 {
        MAX_RATE_LIMITED_RETRIES
    } else {
        policy.max_retries
    };
    if !retry_allowed || attempt > limit {
        return Decision::Stop;
    }
    match outcome {
        Outcome::Status {
            retry_after: Some(wait),
            ..
        } if *wait > policy.max_retry_after => Decision::Stop,
        Outcome::Status {
            retry_after: Some(wait),
            ..
        } if !wait.is_zero() => Decision::Retry(Wait::Exactly(*wait)),
        _ => Decision::Retry(Wait::UpTo(backoff_ceiling(attempt, policy))),
    }
}

/// Whether `outcome` is the server pacing us: a `429` with a `Retry-After` (a wait past
/// [`RetryPolicy::max_retry_after`] is not retried at all). Such answers use neither the call's
/// retries nor the connection's retry quota.
pub(crate) fn is_paced(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Status {
            status: 429,
            retry_after: Some(_)
        }
    )
}

/// `initial * 2^(attempt-1)`, capped at the policy's largest backoff.
fn backoff_ceiling(attempt: u32, policy: &RetryPolicy) -> Duration {
    let doublings = attempt.saturating_sub(1).min(30);
    policy
        .initial_backoff
        .saturating_mul(1u32 << doublings)
        .min(policy.max_backoff)
}

fn is_retryable_status(status: u16) -> bool {
    status == 429 || ((500..=599).contains(&status) && status != 501)
}

/// Parses a `Retry-After` value: delay seconds, or an HTTP date (a date in the past is zero).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(1000))
            .max_retry_after(Duration::from_secs(30))
    }

    fn status(status: u16) -> Outcome {
        Outcome::Status {
            status,
            retry_after: None,
        }
    }

    fn up_to(ms: u64) -> Decision {
        Decision::Retry(Wait::UpTo(Duration::from_millis(ms)))
    }

    #[test]
    fn success_and_client_errors_stop() {
        let p = policy();
        assert_eq!(
            decide(&Method::GET, false, &Outcome::Success, 1, &p),
            Decision::Stop
        );
        for s in [400, 401, 403, 404, 409, 413, 501] {
            assert_eq!(
                decide(&Method::GET, false, &status(s), 1, &p),
                Decision::Stop,
                "{s}"
            );
        }
        assert_eq!(
            decide(&Method::GET, false, &Outcome::Fatal, 1, &p),
            Decision::Stop
        );
    }

    #[test]
    fn retryable_statuses_back_off_exponentially_with_a_cap() {
        let p = policy();
        for s in [429, 500, 502, 503, 504] {
            assert_eq!(
                decide(&Method::GET, false, &status(s), 1, &p),
                up_to(100),
                "{s}"
            );
        }
        assert_eq!(decide(&Method::GET, false, &status(503), 2, &p), up_to(200));
        assert_eq!(decide(&Method::GET, false, &status(503), 3, &p), up_to(400));
        let many = RetryPolicy {
            max_retries: 40,
            ..p
        };
        assert_eq!(
            decide(&Method::GET, false, &status(503), 5, &many),
            up_to(1000)
        );
        assert_eq!(
            decide(&Method::GET, false, &status(503), 40, &many),
            up_to(1000)
        );
    }

    #[test]
    fn retries_stop_after_the_configured_count() {
        let p = policy().max_retries(2);
        assert_ne!(
            decide(&Method::GET, false, &status(500), 2, &p),
            Decision::Stop
        );
        assert_eq!(
            decide(&Method::GET, false, &status(500), 3, &p),
            Decision::Stop
        );
        let none = RetryPolicy::none();
        assert_eq!(
            decide(&Method::GET, false, &status(500), 1, &none),
            Decision::Stop
        );
    }

    #[test]
    fn rate_limited_answers_are_not_counted_as_failed_attempts() {
        let p = policy().max_retries(2);
        let asked = |secs| Outcome::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(secs)),
        };
        let third = decide(&Method::GET, false, &asked(1), 3, &p);
        assert_eq!(
            third,
            Decision::Retry(Wait::Exactly(Duration::from_secs(1)))
        );
        assert_ne!(
            decide(&Method::GET, false, &asked(0), MAX_RATE_LIMITED_RETRIES, &p),
            Decision::Stop
        );
        assert_eq!(
            decide(
                &Method::GET,
                false,
                &asked(0),
                MAX_RATE_LIMITED_RETRIES + 1,
                &p
            ),
            Decision::Stop
        );
        // Without a Retry-After, a 429 is counted like a failure.
        assert_eq!(
            decide(&Method::GET, false, &status(429), 3, &p),
            Decision::Stop
        );
        let never = RetryPolicy::none();
        assert_eq!(
            decide(&Method::GET, false, &asked(1), 1, &never),
            Decision::Stop
        );
    }

    #[test]
    fn a_zero_retry_after_is_a_jittered_backoff() {
        let zero = Outcome::Status {
            status: 429,
            retry_after: Some(Duration::ZERO),
        };
        assert_eq!(decide(&Method::GET, false, &zero, 1, &policy()), up_to(100));
        assert_eq!(decide(&Method::GET, false, &zero, 3, &policy()), up_to(400));
    }

    #[test]
    fn the_defaults_leave_retries_to_the_deadline_and_the_quota() {
        let p = RetryPolicy::default();
        assert_eq!(p.get_max_retries(), DEFAULT_MAX_RETRIES);
        assert_eq!(p.get_call_deadline(), Some(DEFAULT_CALL_DEADLINE));
        // The backoff ceilings of the safety net's retries add up to far more than the
        // deadline: the deadline ends retrying first.
        let ceilings: Duration = (1..=p.get_max_retries())
            .map(|n| backoff_ceiling(n, &p))
            .sum();
        assert!(ceilings / 2 > DEFAULT_CALL_DEADLINE, "{ceilings:?}");
    }

    #[test]
    fn retry_after_is_waited_exactly_up_to_the_longest_wait() {
        let p = policy();
        let asked = |secs| Outcome::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            decide(&Method::GET, false, &asked(30), 1, &p),
            Decision::Retry(Wait::Exactly(Duration::from_secs(30)))
        );
        assert_eq!(
            decide(&Method::GET, false, &asked(31), 1, &p),
            Decision::Stop
        );
    }

    #[test]
    fn post_is_retried_only_with_an_idempotency_key() {
        let p = policy();
        assert_eq!(
            decide(&Method::POST, false, &status(503), 1, &p),
            Decision::Stop
        );
        assert_eq!(
            decide(&Method::POST, false, &status(429), 1, &p),
            Decision::Stop
        );
        assert_eq!(
            decide(&Method::POST, false, &Outcome::TransportFailed, 1, &p),
            Decision::Stop
        );
        assert_eq!(
            decide(&Method::POST, false, &Outcome::UnreadableBody, 1, &p),
            Decision::Stop
        );
        assert_eq!(decide(&Method::POST, true, &status(503), 1, &p), up_to(100));
        assert_eq!(
            decide(&Method::POST, true, &Outcome::UnreadableBody, 1, &p),
            up_to(100)
        );
        assert_eq!(
            decide(&Method::PATCH, false, &status(503), 1, &p),
            Decision::Stop
        );
    }

    #[test]
    fn idempotent_methods_retry_freely() {
        let p = policy();
        for m in [Method::GET, Method::PUT, Method::DELETE] {
            assert_eq!(decide(&m, false, &status(500), 1, &p), up_to(100));
            assert_eq!(
                decide(&m, false, &Outcome::TransportFailed, 1, &p),
                up_to(100)
            );
            assert_eq!(
                decide(&m, false, &Outcome::UnreadableBody, 1, &p),
                up_to(100)
            );
        }
    }

    #[test]
    fn a_failed_connect_is_retryable_for_any_method() {
        let p = policy();
        for m in [Method::POST, Method::PATCH, Method::GET] {
            assert_eq!(
                decide(&m, false, &Outcome::ConnectFailed, 1, &p),
                up_to(100)
            );
        }
    }

    #[test]
    fn jitter_stays_within_the_ceiling() {
        let ceiling = Wait::UpTo(Duration::from_millis(800));
        assert_eq!(ceiling.resolve(0.0), Duration::ZERO);
        assert_eq!(ceiling.resolve(0.5), Duration::from_millis(400));
        assert_eq!(ceiling.resolve(7.0), Duration::from_millis(800));
        let exact = Wait::Exactly(Duration::from_secs(2));
        assert_eq!(exact.resolve(0.1), Duration::from_secs(2));
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
