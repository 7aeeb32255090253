//! The retry budget of one call: its failed attempts and its `429` answers counted apart, the
//! tokens it holds from the connection's retry quota, and the note its last error gets when
//! retrying stops (the count, the deadline or the quota ran out).

use std::time::Duration;

use tokio::time::Instant;

use crate::error::Error;
use crate::retry::{Outcome, RetryPolicy, is_paced};
use crate::retry_quota::{Failure, QuotaBucket};
use crate::wait_notice::whole_units;

/// The retry budget of one call.
pub(super) struct Budget<'a> {
    quota: Option<&'a QuotaBucket>,
    started: Instant,
    /// Failed attempts so far (`429`s with a `Retry-After` not counted).
    failures: u32,
    /// `429` answers with a `Retry-After` so far.
    rate_limited: u32,
    /// Tokens taken for the retry now in flight: given back if it succeeds.
    held: u32,
}

impl<'a> Budget<'a> {
    pub(super) fn new(quota: Option<&'a QuotaBucket>) -> Self {
        Self {
            quota,
            started: Instant::now(),
            failures: 0,
            rate_limited: 0,
            held: 0,
        }
    }

    /// Counts a failed attempt; returns its number among the attempts of its kind (what
    /// [`crate::retry::decide`] takes).
    pub(super) fn count(&mut self, outcome: &Outcome) -> u32 {
        let counter = if is_paced(outcome) {
            &mut self.rate_limited
        } else {
            &mut self.failures
        };
        *counter = counter.saturating_add(1);
        *counter
    }

    /// The call got an answer: the tokens of the retry that brought it go back to the quota,
    /// or, when no retry was needed, the quota earns its reward.
    pub(super) fn answered(&mut self) {
        let Some(quota) = self.quota else { return };
        if self.failures == 0 {
            quota.reward();
        } else {
            quota.give_back(std::mem::take(&mut self.held));
        }
    }

    /// Pays for retrying after the failed attempt `outcome`. The tokens held for the retry that
    /// just failed are spent; `false` when the quota cannot pay for another (nothing taken).
    pub(super) fn pay(&mut self, outcome: &Outcome) -> bool {
        let Some(quota) = self.quota else {
            return true;
        };
        self.held = 0;
        let failure = match outcome {
            Outcome::Status { .. } => Failure::Status,
            _ => Failure::NoAnswer,
        };
        match quota.take(failure) {
            Some(tokens) => {
                self.held = tokens;
                true
            }
            None => false,
        }
    }

    /// `error`, the last of `sent` attempts, saying that the retry count of its kind ran out.
    pub(super) fn out_of_retries(
        &self,
        error: Error,
        sent: u32,
        outcome: &Outcome,
        policy: &RetryPolicy,
    ) -> Error {
        let why = if is_paced(outcome) {
            format!(
                "it got {} `429` answers with a Retry-After, the most one call retries \
                 (dbsync_client::MAX_RATE_LIMITED_RETRIES)",
                self.rate_limited
            )
        } else {
            format!(
                "its limit of {} retries is used up (RetryPolicy::max_retries)",
                policy.get_max_retries()
            )
        };
        self.gave_up(error, sent, &why)
    }

    /// `error`, the last of `sent` attempts, saying that another retry would end past the
    /// deadline.
    pub(super) fn out_of_time(&self, error: Error, sent: u32, deadline: Duration) -> Error {
        let why = format!(
            "another retry would end past its deadline of {} (RetryPolicy::call_deadline)",
            whole_units(deadline)
        );
        self.gave_up(error, sent, &why)
    }

    /// `error`, of attempt `sent`, saying that the deadline passed during the retry after it.
    pub(super) fn cut_short(&self, error: Error, sent: u32, deadline: Duration) -> Error {
        let why = format!(
            "its deadline of {} passed during the next one (RetryPolicy::call_deadline)",
            whole_units(deadline)
        );
        self.gave_up(error, sent, &why)
    }

    /// `error`, the last of `sent` attempts, saying that the connection's retry quota is empty.
    pub(super) fn out_of_quota(&self, error: Error, sent: u32) -> Error {
        let why = "the connection's retry quota is used up: the server is failing many \
                   requests (ConnectionBuilder::retry_quota)";
        self.gave_up(error, sent, why)
    }

    fn gave_up(&self, error: Error, sent: u32, why: &str) -> Error {
        let attempts = if sent == 1 { "attempt" } else { "attempts" };
        let note = format!(
            "gave up after {sent} {attempts} in {}: {why}; the last one got",
            whole_units(self.started.elapsed())
        );
        with_note(error, &note)
    }
}

/// `error` with `note` before its message (first, so that cutting a long server message never
/// hides it).
fn with_note(mut error: Error, note: &str) -> Error {
    match &mut error {
        Error::Server { message, .. }
        | Error::Http { message, .. }
        | Error::RateLimited { message, .. }
        | Error::Transport { message, .. }
        | Error::Decode { message, .. } => *message = format!("{note}: {message}"),
        _ => {}
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry_quota::RetryQuota;

    const FIVE_HUNDRED: Outcome = Outcome::Status {
        status: 500,
        retry_after: None,
    };

    #[test]
    fn rate_limited_answers_and_failures_are_counted_apart() {
        let mut budget = Budget::new(None);
        let paced = Outcome::Status {
            status: 429,
            retry_after: Some(Duration::ZERO),
        };
        assert_eq!(budget.count(&paced), 1);
        assert_eq!(budget.count(&FIVE_HUNDRED), 1);
        assert_eq!(budget.count(&Outcome::TransportFailed), 2);
        assert_eq!(budget.count(&paced), 2);
        assert!(budget.pay(&FIVE_HUNDRED), "no quota: always paid");
    }

    #[test]
    fn a_failed_retry_spends_its_tokens_and_a_successful_one_gives_them_back() {
        let bucket = QuotaBucket::new(RetryQuota::default().capacity(30));
        let mut budget = Budget::new(Some(&bucket));
        budget.count(&Outcome::TransportFailed);
        assert!(budget.pay(&Outcome::TransportFailed));
        budget.count(&FIVE_HUNDRED);
        assert!(budget.pay(&FIVE_HUNDRED));
        assert_eq!(bucket.available(), 15);
        budget.answered();
        assert_eq!(
            bucket.available(),
            20,
            "the 5 of the retry that succeeded came back"
        );
        let mut first_try = Budget::new(Some(&bucket));
        first_try.answered();
        assert_eq!(bucket.available(), 22, "a first-attempt success earns 2");
    }

    #[test]
    fn an_empty_quota_refuses_and_the_error_says_so_first() {
        let bucket = QuotaBucket::new(RetryQuota::default().capacity(4));
        let mut budget = Budget::new(Some(&bucket));
        assert!(!budget.pay(&FIVE_HUNDRED));
        let error = Error::Server {
            status: 500,
            message: "x".repeat(5_000),
        };
        let text = budget.out_of_quota(error, 1).to_string();
        assert!(
            text.starts_with(
                "server error (500): gave up after 1 attempt in 0 ms: the connection's retry \
                 quota is used up"
            ),
            "{text}"
        );
        let kept = Error::NotFound {
            message: "gone".into(),
        };
        assert_eq!(
            budget.out_of_quota(kept, 1).to_string(),
            "not found (404): gone"
        );
    }
}
