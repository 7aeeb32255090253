//! The connection-wide retry quota: a token bucket shared by every call of a connection (and its
//! clones), after the AWS SDKs' standard retry mode, so that many tasks do not hammer a dying
//! server.
//!
//! A retry after a failed attempt takes tokens from the bucket ([`RetryQuota::retry_cost`] after
//! a `5xx`, [`RetryQuota::timeout_cost`] after a timeout, a dropped connection or a body cut
//! short); the tokens of a retry that succeeds are given back, and a call that succeeds without
//! any retry adds [`RetryQuota::success_reward`] (up to the capacity). When the bucket cannot
//! pay for a retry, the call fails with its last error instead. A `429` the client may wait for
//! (the server pacing us) takes nothing.

use std::sync::Mutex;

/// The capacity of the default quota: 100 retries after `5xx` in a row with no success between.
pub const DEFAULT_RETRY_QUOTA: u32 = 500;
/// What a retry after a `5xx` costs by default.
pub const DEFAULT_RETRY_COST: u32 = 5;
/// What a retry after a timeout, a dropped connection or a body cut short costs by default.
pub const DEFAULT_TIMEOUT_RETRY_COST: u32 = 10;
/// What a call that succeeds at its first attempt adds back by default: 2, twice the AWS SDKs'
/// 1, so that a server failing up to about a third of requests (5xx, drops, cut bodies) can be
/// worked through for as long as it takes; one failing about 40% or more drains the quota.
pub const DEFAULT_SUCCESS_REWARD: u32 = 2;

/// The settings of a connection's retry quota (see [`crate::ConnectionBuilder::retry_quota`];
/// `None` there turns the quota off).
///
/// ```
/// let quota = dbsync_client::RetryQuota::default().capacity(1_000).retry_cost(2);
/// assert_eq!(quota.get_capacity(), 1_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryQuota {
    capacity: u32,
    retry_cost: u32,
    timeout_cost: u32,
    success_reward: u32,
}

impl Default for RetryQuota {
    /// 500 tokens; a retry costs 5 after a `5xx` and 10 after a timeout or a dropped
    /// connection (the AWS SDKs' standard mode); a success at the first attempt adds 2.
    fn default() -> Self {
        Self {
            capacity: DEFAULT_RETRY_QUOTA,
            retry_cost: DEFAULT_RETRY_COST,
            timeout_cost: DEFAULT_TIMEOUT_RETRY_COST,
            success_reward: DEFAULT_SUCCESS_REWARD,
        }
    }
}

impl RetryQuota {
    /// The tokens the bucket holds at most, and starts with (default 500).
    pub fn capacity(mut self, tokens: u32) -> Self {
        self.capacity = tokens;
        self
    }

    /// The tokens a retry after a `5xx` takes (default 5).
    pub fn retry_cost(mut self, tokens: u32) -> Self {
        self.retry_cost = tokens;
        self
    }

    /// The tokens a retry after a timeout, a failed connect, a dropped connection or a body cut
    /// short takes (default 10): such failures cost the server (and the caller) the most.
    pub fn timeout_cost(mut self, tokens: u32) -> Self {
        self.timeout_cost = tokens;
        self
    }

    /// The tokens a call that succeeds at its first attempt adds back (default 2).
    pub fn success_reward(mut self, tokens: u32) -> Self {
        self.success_reward = tokens;
        self
    }

    /// The old name of [`Self::get_capacity`].
    #[deprecated(
        since = "0.2.0",
        note = "use `get_capacity`, named after its setter `capacity`"
    )]
    pub fn tokens(&self) -> u32 {
        self.get_capacity()
    }

    /// The configured capacity.
    pub fn get_capacity(&self) -> u32 {
        self.capacity
    }
}

/// What a failed attempt was, for the price of retrying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The server answered with an error status.
    Status,
    /// No complete answer: a timeout, a failed connect, a dropped connection, a body cut short.
    NoAnswer,
}

/// The shared bucket of one connection.
#[derive(Debug)]
pub(crate) struct QuotaBucket {
    quota: RetryQuota,
    available: Mutex<u32>,
}

impl QuotaBucket {
    pub(crate) fn new(quota: RetryQuota) -> Self {
        Self {
            quota,
            available: Mutex::new(quota.capacity),
        }
    }

    /// Takes the price of retrying after `failure`: the tokens taken, or `None` when the bucket
    /// cannot pay (then nothing is taken).
    pub(crate) fn take(&self, failure: Failure) -> Option<u32> {
        let cost = match failure {
            Failure::Status => self.quota.retry_cost,
            Failure::NoAnswer => self.quota.timeout_cost,
        };
        let mut available = self.lock();
        *available = available.checked_sub(cost)?;
        Some(cost)
    }

    /// Gives back the tokens of a retry that succeeded.
    pub(crate) fn give_back(&self, tokens: u32) {
        self.add(tokens);
    }

    /// Adds the reward of a call that succeeded at its first attempt.
    pub(crate) fn reward(&self) {
        self.add(self.quota.success_reward);
    }

    /// The tokens left.
    pub(crate) fn available(&self) -> u32 {
        *self.lock()
    }

    /// The settings.
    pub(crate) fn quota(&self) -> &RetryQuota {
        &self.quota
    }

    fn add(&self, tokens: u32) {
        let mut available = self.lock();
        *available = available.saturating_add(tokens).min(self.quota.capacity);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, u32> {
        self.available
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_take_tokens_until_the_bucket_cannot_pay() {
        let bucket = QuotaBucket::new(RetryQuota::default().capacity(22));
        assert_eq!(bucket.take(Failure::NoAnswer), Some(10));
        assert_eq!(bucket.take(Failure::Status), Some(5));
        assert_eq!(bucket.take(Failure::NoAnswer), None, "7 left, 10 asked");
        assert_eq!(bucket.available(), 7, "a refused take takes nothing");
        assert_eq!(bucket.take(Failure::Status), Some(5));
        assert_eq!(bucket.take(Failure::Status), None);
        assert_eq!(bucket.available(), 2);
    }

    #[test]
    fn successes_refill_up_to_the_capacity() {
        let bucket = QuotaBucket::new(RetryQuota::default().capacity(12));
        let taken = bucket.take(Failure::NoAnswer).unwrap();
        bucket.reward();
        assert_eq!(bucket.available(), 4);
        bucket.give_back(taken);
        assert_eq!(bucket.available(), 12, "never over the capacity");
        bucket.reward();
        assert_eq!(bucket.available(), 12);
    }
}
