//! One budget of requests per period as a GCRA (generic cell rate algorithm) limiter on tokio's
//! clock: a burst of the whole period's requests, then one every `period / requests`.
//!
//! It keeps one instant, the theoretical arrival time of the next request (TAT). A request at
//! `now` may go when `TAT - now <= period` (the burst's tolerance); it then moves TAT on by one
//! interval from `max(TAT, now)`. Otherwise it waits `TAT - now - period`.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A GCRA budget of `requests` per `period`, shared by whoever holds it.
#[derive(Debug)]
pub(crate) struct Gcra {
    /// Time between two requests once the burst is spent (`period / requests`).
    interval: Duration,
    /// How far ahead of now the TAT may run (`interval * requests`, the burst).
    tolerance: Duration,
    /// The theoretical arrival time of the next request; `None` before the first.
    tat: Mutex<Option<Instant>>,
}

impl Gcra {
    /// A budget of `requests` per `period`.
    pub(crate) fn new(requests: NonZeroU32, period: Duration) -> Self {
        let interval = period / requests.get();
        Self {
            interval,
            tolerance: interval * requests.get(),
            tat: Mutex::new(None),
        }
    }

    /// Takes one request at `now` (`Ok`), or says how long to wait before asking again (`Err`,
    /// never zero); a refused request takes nothing.
    pub(crate) fn check(&self, now: Instant) -> Result<(), Duration> {
        let mut tat = self
            .tat
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let current = tat.unwrap_or(now).max(now);
        let ahead = current
            .saturating_duration_since(now)
            .saturating_add(self.interval);
        if ahead > self.tolerance {
            return Err((ahead - self.tolerance).max(Duration::from_nanos(1)));
        }
        *tat = Some(current.checked_add(self.interval).unwrap_or(current));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(requests: u32, period: Duration) -> Gcra {
        Gcra::new(NonZeroU32::new(requests).unwrap(), period)
    }

    #[test]
    fn a_burst_of_the_whole_budget_then_one_per_interval() {
        let gcra = budget(4, Duration::from_secs(60));
        let now = Instant::now();
        for _ in 0..4 {
            assert_eq!(gcra.check(now), Ok(()));
        }
        assert_eq!(gcra.check(now), Err(Duration::from_secs(15)));
        // Refused requests take nothing: the wait only shrinks as time passes.
        assert_eq!(
            gcra.check(now + Duration::from_secs(5)),
            Err(Duration::from_secs(10))
        );
        assert_eq!(gcra.check(now + Duration::from_secs(15)), Ok(()));
        assert_eq!(
            gcra.check(now + Duration::from_secs(15)),
            Err(Duration::from_secs(15))
        );
    }

    #[test]
    fn an_idle_budget_refills_to_its_burst_and_no_further() {
        let gcra = budget(3, Duration::from_secs(3));
        let start = Instant::now();
        assert_eq!(gcra.check(start), Ok(()));
        let later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(gcra.check(later), Ok(()));
        }
        assert!(gcra.check(later).is_err());
    }
}
