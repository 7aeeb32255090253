//! Spending the server's rate limit steadily instead of running into it.
//!
//! Every response's `X-RateLimit-Limit`, `-Remaining` and `-Reset` describe the server's window
//! that runs out first (the contract: per minute, per hour). The pacer keeps what it learnt of
//! each window it has seen (told apart by their limits, at most [`MAX_WINDOWS`]) and counts its
//! own requests against all of them between answers, so a window the headers stopped showing
//! (the hour, while the minute runs out first) is still counted. Before each send:
//!
//! - while a window has more than half its limit left ([`BURST_SHARE`]), requests go at once: a
//!   short job is never slowed down;
//! - below that, requests are spaced by `time to reset / requests left` (the slowest window
//!   sets the pace), so the rest of the window's budget lasts until its reset: no burst that
//!   ends in `429`s, no idle wait for the reset;
//! - a window with nothing left holds every request until its reset.
//!
//! No wait is longer than the caller's `RetryPolicy::max_retry_after`, as for every wait a
//! server sets: a reset a day away holds requests for that cap, then lets one through.
//!
//! Requests in flight when an answer comes may not be counted in its `Remaining` yet: they are
//! taken off it. One pacer serves every clone of a connection, so concurrent scans and bulk
//! writes share one budget. A window is forgotten at its reset; the next answer tells the new
//! one. The server's `Reset` is trusted as the time the window resets (the contract's unix
//! seconds); a server that resets later than it said answers `429`, which the request path
//! handles as before.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::rate_limit::RateLimitInfo;

/// The most windows the pacer tracks (the contract has two; a server with more is paced by the
/// ones that reset last).
pub(crate) const MAX_WINDOWS: usize = 4;
/// Above this share of its limit left, a window does not pace requests (1/2).
pub(crate) const BURST_SHARE: (u64, u64) = (1, 2);
/// The longest reset the pacer believes (a day): further away is a server's mistake.
const MAX_RESET: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    limit: u64,
    /// Requests left, less those sent since (and those in flight when it was told).
    remaining: u64,
    reset: Instant,
}

impl Window {
    /// The spacing this window asks for at `now` (zero while it has more than its burst share
    /// left): its time to reset over the requests it has left (all of it when none is left).
    fn spacing(&self, now: Instant) -> Duration {
        let (num, den) = BURST_SHARE;
        if self.remaining.saturating_mul(den) > self.limit.saturating_mul(num) {
            return Duration::ZERO;
        }
        let left = self.reset.saturating_duration_since(now);
        let remaining = u32::try_from(self.remaining.max(1)).unwrap_or(u32::MAX);
        left / remaining
    }
}

#[derive(Debug, Default)]
struct State {
    windows: Vec<Window>,
    /// The earliest the next request may go while pacing.
    next_slot: Option<Instant>,
    /// The longest wait the pacer imposes (the caller's `RetryPolicy::max_retry_after`, as for
    /// every wait a server sets); zero until the first answer with headers.
    cap: Duration,
}

/// The pacing state of one connection (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    state: Mutex<State>,
    in_flight: AtomicU64,
}

/// A request in flight; dropping it (answered, failed or cancelled) ends it.
#[derive(Debug)]
pub(crate) struct InFlight<'a>(&'a Pacer);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Pacer {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A request is being sent: it counts as in flight until the guard is dropped.
    pub(crate) fn sending(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// How long to wait at `now` before sending (zero: send, then call [`Pacer::sent`]).
    pub(crate) fn wait(&self, now: Instant) -> Duration {
        let mut state = self.lock();
        state.windows.retain(|w| w.reset > now);
        state
            .next_slot
            .map_or(Duration::ZERO, |slot| slot.saturating_duration_since(now))
    }

    /// A request goes at `now`: counted against every window, and the next slot set from what
    /// is left.
    pub(crate) fn sent(&self, now: Instant) {
        let mut state = self.lock();
        for window in &mut state.windows {
            window.remaining = window.remaining.saturating_sub(1);
        }
        let spacing = state
            .windows
            .iter()
            .map(|w| w.spacing(now))
            .max()
            .unwrap_or_default()
            .min(state.cap);
        state.next_slot = (!spacing.is_zero())
            .then(|| state.next_slot.map_or(now, |slot| slot.max(now)) + spacing);
    }

    /// Takes in an answer's rate-limit headers, seen at `now` (`wall`: the same moment on the
    /// system clock, which `X-RateLimit-Reset` is told in). The answer's own request is still
    /// in flight. No wait the pacer imposes is longer than `cap`.
    pub(crate) fn observe(
        &self,
        info: &RateLimitInfo,
        now: Instant,
        wall: SystemTime,
        cap: Duration,
    ) {
        let (Some(limit), Some(remaining), Some(reset)) = (info.limit, info.remaining, info.reset)
        else {
            return;
        };
        let Some(reset_wall) = UNIX_EPOCH.checked_add(Duration::from_secs(reset)) else {
            return;
        };
        let Ok(left) = reset_wall.duration_since(wall) else {
            return; // already reset
        };
        let Some(reset) = now.checked_add(left.min(MAX_RESET)) else {
            return;
        };
        // Others in flight may not be in this count yet; this answer's request is.
        let others = self.in_flight.load(Ordering::Relaxed).saturating_sub(1);
        let window = Window {
            limit,
            remaining: remaining.min(limit).saturating_sub(others),
            reset,
        };
        let mut state = self.lock();
        state.cap = cap;
        if window.remaining == 0 {
            // Nothing left: hold every request until the reset (at most `cap`).
            let until = now + left.min(MAX_RESET).min(cap);
            state.next_slot = Some(state.next_slot.map_or(until, |slot| slot.max(until)));
        }
        match state.windows.iter_mut().find(|w| w.limit == limit) {
            Some(known) => *known = window,
            None => {
                state.windows.push(window);
                if state.windows.len() > MAX_WINDOWS {
                    // Keep the windows that reset last: they pace the longest.
                    state.windows.sort_by_key(|w| std::cmp::Reverse(w.reset));
                    state.windows.truncate(MAX_WINDOWS);
                }
            }
        }
    }

    /// Whether the pacer is holding requests back (for the wait's reason).
    pub(crate) fn is_pacing(&self, now: Instant) -> bool {
        !self.wait(now).is_zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(limit: u64, remaining: u64, reset_in: u64, wall: SystemTime) -> RateLimitInfo {
        let now = wall.duration_since(UNIX_EPOCH).unwrap().as_secs();
        RateLimitInfo {
            limit: Some(limit),
            remaining: Some(remaining),
            reset: Some(now + reset_in),
        }
    }

    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn wall() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000)
    }

    /// Sends as soon as the pacer allows until `until`, the server answering at once with its
    /// own count (a fixed window of `limit` from the start); returns the send times.
    fn drive(pacer: &Pacer, limit: u64, window: u64, until: Duration) -> Vec<Duration> {
        let start = Instant::now();
        let mut now = start;
        let mut sends = Vec::new();
        let mut used = 0;
        while now - start < until {
            let wait = pacer.wait(now);
            if !wait.is_zero() {
                now += wait;
                continue;
            }
            pacer.sent(now);
            let _guard = pacer.sending();
            let elapsed = now - start;
            let window_start = Duration::from_secs(elapsed.as_secs() / window * window);
            if sends.iter().filter(|&&t| t >= window_start).count() == 0 {
                used = 0;
            }
            used += 1;
            assert!(used <= limit, "the server would answer 429 at {elapsed:?}");
            sends.push(elapsed);
            let reset_in = (window_start + Duration::from_secs(window)) - elapsed;
            let wall = wall() + elapsed;
            let reset_at = (wall + reset_in)
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs_f64()
                .ceil() as u64;
            let header = RateLimitInfo {
                limit: Some(limit),
                remaining: Some(limit - used),
                reset: Some(reset_at),
            };
            pacer.observe(&header, now, wall, DAY);
        }
        sends
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_job_is_not_slowed_down() {
        let pacer = Pacer::default();
        let now = Instant::now();
        pacer.observe(&info(600, 599, 60, wall()), now, wall(), DAY);
        for _ in 0..290 {
            assert_eq!(pacer.wait(now), Duration::ZERO);
            pacer.sent(now);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_second_half_of_a_window_is_spread_until_its_reset() {
        let pacer = Pacer::default();
        let sends = drive(&pacer, 100, 10, Duration::from_secs(30));
        // Every window's 100 requests are used (none refused: `drive` checks), and the second
        // half of each is spread over the window instead of going in one burst.
        let per_window: Vec<usize> = (0..3)
            .map(|w| {
                let (from, to) = (
                    Duration::from_secs(w * 10),
                    Duration::from_secs(w * 10 + 10),
                );
                sends.iter().filter(|&&t| t >= from && t < to).count()
            })
            .collect();
        for used in &per_window {
            assert!(*used >= 95 && *used <= 100, "{per_window:?}");
        }
        let late = sends
            .iter()
            .filter(|&&t| t >= Duration::from_secs(5) && t < Duration::from_secs(10))
            .count();
        assert!(late >= 20, "requests late in the first window: {late}");
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_left_holds_requests_until_the_reset() {
        let pacer = Pacer::default();
        let now = Instant::now();
        pacer.observe(&info(10, 0, 7, wall()), now, wall(), DAY);
        assert_eq!(pacer.wait(now), Duration::from_secs(7));
        // At the reset the window is forgotten: requests go at once again.
        let later = now + Duration::from_secs(7);
        assert_eq!(pacer.wait(later), Duration::ZERO);
        pacer.sent(later);
        assert_eq!(pacer.wait(later), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_are_taken_off_what_remains() {
        let pacer = Pacer::default();
        let now = Instant::now();
        let guards: Vec<_> = (0..5).map(|_| pacer.sending()).collect();
        // Four others are in flight: of 4 left, none may go.
        pacer.observe(&info(10, 4, 7, wall()), now, wall(), DAY);
        assert_eq!(pacer.wait(now), Duration::from_secs(7));
        drop(guards);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unseen_window_is_still_counted_and_the_slowest_sets_the_pace() {
        let pacer = Pacer::default();
        let now = Instant::now();
        // The hour: 101 of 1000 left, an hour to go: after one more, one every 36 s.
        pacer.observe(&info(1000, 101, 3600, wall()), now, wall(), DAY);
        // The minute shows next (fewer left), with plenty for a burst.
        pacer.observe(&info(60, 59, 60, wall()), now, wall(), DAY);
        assert_eq!(pacer.wait(now), Duration::ZERO);
        pacer.sent(now);
        assert_eq!(pacer.wait(now), Duration::from_secs(36));
    }

    #[tokio::test(start_paused = true)]
    async fn absurd_headers_are_bounded() {
        let pacer = Pacer::default();
        let now = Instant::now();
        let far = RateLimitInfo {
            limit: Some(u64::MAX),
            remaining: Some(0),
            reset: Some(u64::MAX),
        };
        pacer.observe(&far, now, wall(), DAY);
        assert_eq!(
            pacer.wait(now),
            Duration::ZERO,
            "a reset past the clock is ignored"
        );
        let day = info(10, 0, 10 * 24 * 3600, wall());
        pacer.observe(&day, now, wall(), DAY);
        assert_eq!(pacer.wait(now), MAX_RESET);
        // More windows than tracked: the ones that reset last are kept.
        let pacer = Pacer::default();
        for limit in 1..=10 {
            pacer.observe(
                &info(limit * 100, limit * 100, limit * 60, wall()),
                now,
                wall(),
                DAY,
            );
        }
        assert_eq!(pacer.lock().windows.len(), MAX_WINDOWS);
        assert!(pacer.lock().windows.iter().all(|w| w.limit >= 700));
    }

    #[tokio::test(start_paused = true)]
    async fn no_wait_is_longer_than_the_callers_cap() {
        let pacer = Pacer::default();
        let now = Instant::now();
        let cap = Duration::from_millis(200);
        pacer.observe(&info(10, 0, 3600, wall()), now, wall(), cap);
        assert_eq!(pacer.wait(now), cap);
        // Then one request goes, and the next waits the cap again.
        let later = now + cap;
        assert_eq!(pacer.wait(later), Duration::ZERO);
        pacer.sent(later);
        assert_eq!(pacer.wait(later), cap);
        let pacer = Pacer::default();
        pacer.observe(&info(1000, 3, 3600, wall()), now, wall(), cap);
        pacer.sent(now);
        assert_eq!(pacer.wait(now), cap, "a spacing of 30 min is capped too");
    }
}
