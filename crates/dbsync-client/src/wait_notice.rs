//! Notices of the waits a call makes (a `Retry-After`, a rate-limit pause, a backoff), handed
//! to an observer installed with [`crate::ConnectionBuilder::on_wait`], so that a program can
//! tell its user why nothing happens.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why a call waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// The server answered `429` with a `Retry-After`.
    RetryAfter,
    /// The connection is paused: the server's rate-limit window is used up
    /// (`X-RateLimit-Remaining: 0` until `X-RateLimit-Reset`), or another call got a `429`.
    RateLimitPause,
    /// The client's own request budget, per minute or per hour
    /// ([`crate::ConnectionBuilder::requests_per_minute`], [`crate::ConnectionBuilder::requests_per_hour`]).
    ClientBudget,
    /// Spreading the server's rate-limit budget until its window resets: the window has less
    /// than half its requests left (`X-RateLimit-Remaining` until `X-RateLimit-Reset`).
    Pacing,
    /// Backing off before retrying a `429` that named no wait.
    RateLimitBackoff,
    /// Backing off before retrying a failed attempt (a `5xx`, a timeout, a dropped connection).
    FailureBackoff,
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RetryAfter => "the server asked us to slow down: 429 Retry-After",
            Self::RateLimitPause => {
                "the server's rate limit is used up: waiting for X-RateLimit-Reset or a \
                 Retry-After"
            }
            Self::ClientBudget => "the client's own request budget (per minute or per hour)",
            Self::Pacing => {
                "pacing requests to last the server's rate-limit window until X-RateLimit-Reset"
            }
            Self::RateLimitBackoff => "the server asked us to slow down: 429",
            Self::FailureBackoff => "backing off before retrying a failed request",
        })
    }
}

/// One wait of a call, told to the observer before the call sleeps.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitNotice {
    /// How long the call is about to wait.
    pub wait: Duration,
    /// Why.
    pub reason: WaitReason,
    /// The call: its method and path template (`GET /v1/records`), no ids, no query.
    pub call: String,
}

impl fmt::Display for WaitNotice {
    /// `waiting 30 s (the server asked us to slow down: 429 Retry-After)`: the wait in whole
    /// units ([`whole_units`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "waiting {} ({})", whole_units(self.wait), self.reason)
    }
}

/// The observer of a connection's waits (see [`crate::ConnectionBuilder::on_wait`]).
pub type WaitObserver = Arc<dyn Fn(&WaitNotice) + Send + Sync>;

/// The observer a connection tells its waits to, if one is installed.
#[derive(Clone, Default)]
pub(crate) struct WaitObservers(Option<WaitObserver>);

impl fmt::Debug for WaitObservers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "installed"
        } else {
            "none"
        })
    }
}

impl WaitObservers {
    pub(crate) fn new(observer: Option<WaitObserver>) -> Self {
        Self(observer)
    }

    /// Tells the observer, if any, that `call` is about to wait `wait` for `reason`.
    pub(crate) fn notify(&self, call: &str, wait: Duration, reason: WaitReason) {
        if let Some(observer) = &self.0 {
            observer(&WaitNotice {
                wait,
                reason,
                call: call.to_owned(),
            });
        }
    }
}

/// A duration in whole units, rounded to the nearest: milliseconds below a second (`400 ms`),
/// seconds below 2 minutes (`30 s`), minutes below 2 hours (`5 min`), then hours (`26 h`).
/// Never a float.
pub fn whole_units(duration: Duration) -> String {
    let millis = duration.as_millis();
    let secs = (millis + 500) / 1000;
    if millis < 1000 {
        format!("{millis} ms")
    } else if secs < 120 {
        format!("{secs} s")
    } else if secs < 2 * 3600 {
        format!("{} min", (secs + 30) / 60)
    } else {
        format!("{} h", (secs + 1800) / 3600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_in_whole_units() {
        let s = Duration::from_secs;
        assert_eq!(whole_units(Duration::ZERO), "0 ms");
        assert_eq!(whole_units(Duration::from_micros(400_600)), "400 ms");
        assert_eq!(whole_units(Duration::from_millis(1_499)), "1 s");
        assert_eq!(whole_units(Duration::from_millis(2_499)), "2 s");
        assert_eq!(whole_units(Duration::from_millis(2_500)), "3 s");
        assert_eq!(whole_units(s(119)), "119 s");
        assert_eq!(whole_units(s(120)), "2 min");
        assert_eq!(whole_units(s(7_199)), "120 min");
        assert_eq!(whole_units(s(86_400)), "24 h");
        assert_eq!(whole_units(Duration::MAX), "5124095576030431 h");
    }

    #[test]
    fn a_notice_reads_as_one_line() {
        let notice = WaitNotice {
            wait: Duration::from_secs(30),
            reason: WaitReason::RetryAfter,
            call: "GET /v1/records".into(),
        };
        assert_eq!(
            notice.to_string(),
            "waiting 30 s (the server asked us to slow down: 429 Retry-After)"
        );
    }
}
