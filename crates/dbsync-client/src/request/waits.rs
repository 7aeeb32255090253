//! The waiting budget of one call: its overall deadline ([`RetryPolicy::call_deadline`]) and
//! its cap on rate-limit waits ([`RetryPolicy::max_rate_limit_wait`]); each wait is told to the
//! connection's wait observer before it starts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::call::Call;
use crate::error::{Error, TransportKind};
use crate::retry::RetryPolicy;
use crate::wait_notice::{WaitObservers, WaitReason, whole_units};

/// The waiting budget of one call: every wait and attempt stays within it.
pub(crate) struct Waits<'a> {
    /// The call, named in errors (`METHOD /template`, formatted only then).
    call: &'a Call,
    deadline: Option<(Instant, Duration)>,
    rate_limit_waited: Duration,
    rate_limit_cap: Duration,
    observers: WaitObservers,
    /// Whether the call was ended by its deadline.
    passed: AtomicBool,
    /// Whether the attempt in flight ends by its own timeout before the deadline (see
    /// [`Waits::start_attempt`]).
    attempt_ends_first: bool,
}

/// How much earlier than the deadline an attempt's own timeout must end for the deadline to be
/// left unwatched during the attempt (far more than the microseconds between the check and
/// the start of the attempt's timeout).
const ATTEMPT_MARGIN: Duration = Duration::from_secs(1);

impl<'a> Waits<'a> {
    pub(crate) fn new(call: &'a Call, policy: &RetryPolicy, observers: WaitObservers) -> Self {
        Self {
            call,
            deadline: policy
                .get_call_deadline()
                // A deadline too far to express is no deadline.
                .and_then(|limit| Some((Instant::now().checked_add(limit)?, limit))),
            rate_limit_waited: Duration::ZERO,
            rate_limit_cap: policy.get_max_rate_limit_wait(),
            observers,
            passed: AtomicBool::new(false),
            attempt_ends_first: false,
        }
    }

    /// An attempt with the per-attempt `timeout` (which covers it from sending to the end of
    /// its body) starts now. When that timeout ends at least [`ATTEMPT_MARGIN`] before the
    /// deadline, the deadline cannot pass while the attempt is in flight, so
    /// [`Waits::within_attempt`] sets no timer of its own (one timer less per send and per
    /// body read).
    pub(crate) fn start_attempt(&mut self, timeout: Option<Duration>) {
        self.attempt_ends_first = match (self.deadline, timeout) {
            (Some((deadline, _)), Some(timeout)) => Instant::now()
                .checked_add(timeout.saturating_add(ATTEMPT_MARGIN))
                .is_some_and(|end| end <= deadline),
            _ => false,
        };
    }

    /// Runs `future`, a part of the attempt in flight (its send or its body), to the deadline,
    /// unless the attempt's own timeout ends first (see [`Waits::start_attempt`]).
    pub(crate) async fn within_attempt<F: std::future::Future>(
        &self,
        future: F,
    ) -> Result<F::Output, Error> {
        if self.attempt_ends_first {
            Ok(future.await)
        } else {
            self.within_deadline(future).await
        }
    }

    /// Whether a wait of `wait` from now ends within the deadline.
    pub(crate) fn fits(&self, wait: Duration) -> bool {
        self.deadline.is_none_or(|(deadline, _)| {
            Instant::now()
                .checked_add(wait)
                .is_some_and(|end| end <= deadline)
        })
    }

    /// Whether the call was ended by its deadline.
    pub(crate) fn has_passed(&self) -> bool {
        self.passed.load(Ordering::Relaxed)
    }

    /// The call's deadline, if it has one.
    pub(crate) fn deadline(&self) -> Option<Duration> {
        self.deadline.map(|(_, limit)| limit)
    }

    /// Sleeps `wait` for `reason`, unless it would break the rate-limit cap (every reason but
    /// a backoff after a failure) or end past the deadline: then the call fails at once with
    /// the matching error.
    pub(crate) async fn wait(&mut self, wait: Duration, reason: WaitReason) -> Result<(), Error> {
        if reason != WaitReason::FailureBackoff {
            let total = self.rate_limit_waited.saturating_add(wait);
            if total > self.rate_limit_cap {
                return Err(Error::RateLimited {
                    message: format!(
                        "{}: the call already waited {} for rate limits and needs {} more, \
                         over its cap of {} (RetryPolicy::max_rate_limit_wait); retry after \
                         the wait, lower the request rate, or raise the cap",
                        self.call.describe(),
                        whole_units(self.rate_limit_waited),
                        whole_units(wait),
                        whole_units(self.rate_limit_cap)
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
        self.observers.notify(&self.call.describe(), wait, reason);
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Runs `future` to the deadline, if there is one.
    pub(crate) async fn within_deadline<F: std::future::Future>(
        &self,
        future: F,
    ) -> Result<F::Output, Error> {
        match self.deadline {
            None => Ok(future.await),
            Some((deadline, _)) => tokio::time::timeout_at(deadline, future)
                .await
                .map_err(|_| self.deadline_passed()),
        }
    }

    fn deadline_passed(&self) -> Error {
        self.passed.store(true, Ordering::Relaxed);
        let limit = self.deadline.map(|(_, limit)| limit).unwrap_or_default();
        Error::Transport {
            kind: TransportKind::Timeout,
            message: format!(
                "{}: the call's deadline of {} passed (it covers every attempt, retry and \
                 wait; RetryPolicy::call_deadline); the server may have acted on a request \
                 already sent; retry later or raise the deadline",
                self.call.describe(),
                whole_units(limit)
            ),
            source: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    fn waits_with(call: &Call, deadline: Option<Duration>) -> Waits<'_> {
        let policy = RetryPolicy::default().call_deadline(deadline);
        Waits::new(call, &policy, WaitObservers::default())
    }

    #[test]
    fn the_deadline_is_left_unwatched_only_when_the_attempt_ends_well_before_it() {
        let url = url::Url::parse("http://127.0.0.1/v1/records/1").unwrap();
        let call = Call::new(Method::GET, url, "/v1/records/{id}".into());
        let mut waits = waits_with(&call, Some(Duration::from_secs(120)));
        waits.start_attempt(Some(Duration::from_secs(30)));
        assert!(waits.attempt_ends_first);
        // Too close to the deadline (within the margin), longer than it, or no timeout at all.
        for timeout in [
            Some(Duration::from_millis(119_500)),
            Some(Duration::MAX),
            None,
        ] {
            waits.start_attempt(timeout);
            assert!(!waits.attempt_ends_first, "{timeout:?}");
        }
        let mut no_deadline = waits_with(&call, None);
        no_deadline.start_attempt(Some(Duration::from_secs(1)));
        assert!(!no_deadline.attempt_ends_first);
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_past_the_deadline_is_cut_by_it() {
        let url = url::Url::parse("http://127.0.0.1/v1/records/1").unwrap();
        let call = Call::new(Method::GET, url, "/v1/records/{id}".into());
        let mut waits = waits_with(&call, Some(Duration::from_secs(2)));
        waits.start_attempt(Some(Duration::from_secs(30)));
        let slow = tokio::time::sleep(Duration::from_secs(10));
        let error = waits.within_attempt(slow).await.unwrap_err();
        assert!(error.to_string().contains("deadline of 2 s"), "{error}");
        assert!(waits.has_passed());
    }
}
