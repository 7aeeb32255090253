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
pub(crate) struct Waits {
    what: String,
    deadline: Option<(Instant, Duration)>,
    rate_limit_waited: Duration,
    rate_limit_cap: Duration,
    observers: WaitObservers,
    /// Whether the call was ended by its deadline.
    passed: AtomicBool,
}

impl Waits {
    pub(crate) fn new(call: &Call, policy: &RetryPolicy, observers: WaitObservers) -> Self {
        Self {
            what: call.describe(),
            deadline: policy
                .get_call_deadline()
                // A deadline too far to express is no deadline.
                .and_then(|limit| Some((Instant::now().checked_add(limit)?, limit))),
            rate_limit_waited: Duration::ZERO,
            rate_limit_cap: policy.get_max_rate_limit_wait(),
            observers,
            passed: AtomicBool::new(false),
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
                        self.what,
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
        self.observers.notify(&self.what, wait, reason);
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
                self.what,
                whole_units(limit)
            ),
            source: None,
        }
    }
}
