//! The adaptive controller: how many requests to keep in flight, from what the answers say.
//!
//! AIMD with a latency guard, as TCP congestion control does it with a window of requests
//! instead of bytes:
//!
//! - **slow start**: while nothing pushes back, a round trip in which the limit was in use
//!   doubles it (a round trip ends when a request sent in it is answered);
//! - **additive increase**: after the first push-back or slow answer, such a round trip adds
//!   one;
//! - **multiplicative decrease**: a `429`, a `5xx`, a timeout or a dropped connection anywhere
//!   on the connection while a request was in flight (the transport counts them,
//!   `Transport::congestion_events`) multiplies
//!   the limit by [`BACK_OFF`] (at least one less); at most once per round trip (answers to
//!   requests sent before the last decrease do not decrease it again);
//! - **latency guard**: an answer slower than twice the fastest recent one plus
//!   [`LATENCY_SLACK`] means requests queue (at the server, at the rate limiter, on the CPU):
//!   the limit stops growing; a round trip in which most answers were that slow gives one
//!   back, down to the initial limit (the queue then holds requests, and their memory, that
//!   bring no more answers; below the initial limit only push-back and queueing cut); four
//!   times plus five slacks decreases it gently ([`EASE_OFF`]) once per round trip;
//! - **throughput guard**: in slow start, a round trip whose answers per second did not rise by
//!   a tenth over the last one's ends slow start without growing the limit; after it, a round
//!   trip that lost answers per second does not grow it: more in flight that brings no more
//!   answers only holds more memory (a fast server whose caller is the bottleneck).
//!
//! Everything here is plain state and arithmetic on the caller's clock, tested without I/O.

use std::time::Duration;

use tokio::time::Instant;

/// The factor the limit is multiplied by on a `429`, `5xx`, timeout or failed request.
pub(crate) const BACK_OFF: f64 = 0.75;
/// The factor the limit is multiplied by when answers are far slower than the fastest.
pub(crate) const EASE_OFF: f64 = 0.9;
/// Added to the latency threshold so that a few milliseconds of jitter on a fast server (or
/// loopback) is not taken for queueing.
pub(crate) const LATENCY_SLACK: Duration = Duration::from_millis(5);
/// In slow start, a round's answers per second must reach this share of the last round's for
/// the limit to double again (after it, a round must not lose answers per second to grow by
/// one): a larger limit that brings no more answers is not kept growing.
const MIN_GAIN: f64 = 1.1;
/// How many answers the fastest latency is remembered for before it is measured anew (so a
/// server that became slower for good is not compared forever with its best moment). Long:
/// every answer of a period in which requests queue is slow, so a short period would take the
/// queueing itself for the new normal and let the limit grow on (TCP Vegas keeps its base for
/// the whole connection for the same reason).
const BASELINE_SAMPLES: u32 = 4096;

/// One request sent under the controller: hand it back with [`Aimd::finished`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    /// Sends before this one (orders tickets against rounds and decreases).
    seq: u64,
    /// The connection's congestion count when the request left.
    congestion: u64,
}

/// What one round trip saw.
#[derive(Debug, Clone, Copy, Default)]
struct Round {
    /// The first send of the round: its answer ends the round.
    first: u64,
    /// A request left with the whole limit in use.
    saturated: bool,
    /// An answer was slower than twice the baseline (plus slack).
    slow: bool,
    /// How many of its answers were slow (see `slow`).
    slow_answers: u32,
    /// An answer was slower than four times the baseline (plus five slacks).
    queued: bool,
    /// When the round began, and how many answers came in it.
    began: Option<Instant>,
    answers: u32,
}

/// The controller's state.
#[derive(Debug, Clone)]
pub(crate) struct Aimd {
    limit: usize,
    max: usize,
    /// The initial limit: latency alone gives back only what was grown above it (a server
    /// whose answers vary widely would otherwise be driven down to one).
    initial: usize,
    slow_start: bool,
    sent: u64,
    round: Round,
    /// Tickets with a `seq` below this were sent before the last decrease.
    decreased_at: u64,
    baseline: Option<Duration>,
    period_fastest: Option<Duration>,
    period_samples: u32,
    /// Answers per second of the last round that ended.
    last_rate: Option<f64>,
}

impl Aimd {
    /// A controller starting at `initial` requests in flight, never above `max` nor below one.
    pub(crate) fn new(initial: usize, max: usize) -> Self {
        let max = max.max(1);
        let initial = initial.clamp(1, max);
        Self {
            limit: initial,
            max,
            initial,
            slow_start: true,
            sent: 0,
            round: Round::default(),
            decreased_at: 0,
            baseline: None,
            period_fastest: None,
            period_samples: 0,
            last_rate: None,
        }
    }

    /// How many requests may be in flight now.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// A request leaves with `in_flight` others already out, while the connection's congestion
    /// count is `congestion`; `wanted` says whether the caller is waiting for answers (a scan's
    /// reader that had to wait for a page). Only a round in which the limit was in use and
    /// answers were wanted may grow the limit: a caller slower than the server would otherwise
    /// pile up answers it has not taken.
    pub(crate) fn started(&mut self, in_flight: usize, congestion: u64, wanted: bool) -> Ticket {
        if wanted && in_flight.saturating_add(1) >= self.limit {
            self.round.saturated = true;
        }
        let ticket = Ticket {
            seq: self.sent,
            congestion,
        };
        self.sent += 1;
        ticket
    }

    /// The answer to `ticket` came `latency` after it was sent (measured where the request
    /// ran, not where its answer was taken: an ordered scan takes pages later than they came),
    /// when the connection's congestion count was `congestion`. (A request that failed after
    /// its retries was pushed back on the way: its `5xx`, `429` or timeout moved the count.)
    pub(crate) fn finished(&mut self, ticket: Ticket, latency: Duration, congestion: u64) {
        if congestion > ticket.congestion {
            self.slow_start = false;
            if ticket.seq >= self.decreased_at {
                self.cut(BACK_OFF);
            }
            return;
        }
        let baseline = self.observe_latency(latency);
        self.round.answers = self.round.answers.saturating_add(1);
        let slow = latency > baseline * 2 + LATENCY_SLACK;
        self.round.slow |= slow;
        self.round.slow_answers = self.round.slow_answers.saturating_add(u32::from(slow));
        self.round.queued |= latency > baseline * 4 + LATENCY_SLACK * 5;
        if ticket.seq < self.round.first {
            return; // sent in an earlier round
        }
        // A request sent in this round came back: the round trip is over.
        let round = self.round;
        if round.queued {
            self.slow_start = false;
            self.cut(EASE_OFF);
            return;
        }
        // Answers per second in this round against the last: more in flight that brings no
        // more answers only holds more memory (a fast server whose caller is the bottleneck).
        let rate = round
            .began
            .map(|began| began.elapsed().as_secs_f64())
            .filter(|secs| *secs > 0.0)
            .map(|secs| f64::from(round.answers) / secs);
        let gained = match (rate, self.last_rate) {
            // Doubling must bring a tenth more; one more in flight must lose nothing.
            (Some(rate), Some(last)) if self.slow_start => rate >= last * MIN_GAIN,
            (Some(rate), Some(last)) => rate >= last,
            _ => true,
        };
        if rate.is_some() {
            self.last_rate = rate;
        }
        if round.slow_answers.saturating_mul(2) > round.answers {
            // Mostly slow: requests queue without bringing more answers.
            self.slow_start = false;
            if self.limit > self.initial {
                self.limit -= 1;
            }
        } else if round.slow || !gained {
            self.slow_start = false;
        } else if round.saturated {
            let grown = if self.slow_start {
                self.limit.saturating_mul(2)
            } else {
                self.limit.saturating_add(1)
            };
            self.limit = grown.min(self.max);
        }
        self.new_round();
    }

    /// Multiplies the limit by `factor` (at least one less, at least one) and starts a round.
    fn cut(&mut self, factor: f64) {
        let cut = (self.limit as f64 * factor).floor() as usize;
        self.limit = cut.min(self.limit.saturating_sub(1)).max(1);
        self.decreased_at = self.sent;
        self.new_round();
    }

    fn new_round(&mut self) {
        self.round = Round {
            first: self.sent,
            began: Some(Instant::now()),
            ..Round::default()
        };
    }

    /// Takes in a latency sample and returns the baseline to judge it by: the fastest answer
    /// of the current period, or of the last one.
    fn observe_latency(&mut self, latency: Duration) -> Duration {
        self.period_fastest = Some(self.period_fastest.map_or(latency, |f| f.min(latency)));
        self.period_samples += 1;
        let baseline = self.baseline.map_or(latency, |b| b.min(latency));
        self.baseline = Some(baseline);
        if self.period_samples >= BASELINE_SAMPLES {
            self.baseline = self.period_fastest.take();
            self.period_samples = 0;
        }
        baseline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Runs `rounds` round trips of `latency` each with the limit in use; `congested(round)`
    /// says whether that round's answers saw push-back. Returns the limit after each round.
    async fn rounds(
        aimd: &mut Aimd,
        rounds: usize,
        latency: Duration,
        congested: impl Fn(usize) -> bool,
    ) -> Vec<usize> {
        let mut congestion = 0;
        let mut limits = Vec::new();
        for round in 0..rounds {
            let n = aimd.limit();
            let tickets: Vec<_> = (0..n).map(|i| aimd.started(i, congestion, true)).collect();
            if congested(round) {
                congestion += 1;
            }
            tokio::time::advance(latency).await;
            for ticket in tickets {
                aimd.finished(ticket, latency, congestion);
            }
            limits.push(aimd.limit());
        }
        limits
    }

    #[tokio::test(start_paused = true)]
    async fn slow_start_doubles_each_round_trip_up_to_the_max() {
        let mut aimd = Aimd::new(4, 64);
        let limits = rounds(&mut aimd, 6, 50 * MS, |_| false).await;
        assert_eq!(limits, vec![8, 16, 32, 64, 64, 64]);
    }

    #[tokio::test(start_paused = true)]
    async fn push_back_cuts_the_limit_once_per_round_trip_then_it_grows_by_one() {
        let mut aimd = Aimd::new(16, 64);
        let limits = rounds(&mut aimd, 4, 50 * MS, |round| round == 0).await;
        // 16 -> 12 once (not 16 times), then +1 per round.
        assert_eq!(limits, vec![12, 13, 14, 15]);
    }

    #[tokio::test(start_paused = true)]
    async fn push_back_on_every_answer_backs_off_but_never_below_one() {
        let mut aimd = Aimd::new(2, 8);
        for congestion in 0..10 {
            let ticket = aimd.started(0, congestion, true);
            aimd.finished(ticket, MS, congestion + 1);
        }
        assert_eq!(aimd.limit(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn rising_latency_stops_growth_and_queueing_eases_off() {
        let mut aimd = Aimd::new(4, 64);
        // A fast round sets the baseline (20 ms).
        rounds(&mut aimd, 1, 20 * MS, |_| false).await;
        assert_eq!(aimd.limit(), 8);
        // 55 ms > 2 x 20 + 5 in half the answers: no growth.
        let mut limits = Vec::new();
        for _ in 0..3 {
            let tickets: Vec<_> = (0..8).map(|i| aimd.started(i, 0, true)).collect();
            tokio::time::advance(55 * MS).await;
            for (i, ticket) in tickets.into_iter().enumerate() {
                let latency = if i % 2 == 0 { 55 * MS } else { 30 * MS };
                aimd.finished(ticket, latency, 0);
            }
            limits.push(aimd.limit());
        }
        assert_eq!(limits, vec![8, 8, 8]);
        // 60 ms in every answer: one given back per round trip (the first round still counts
        // the last fast answers).
        let limits = rounds(&mut aimd, 3, 60 * MS, |_| false).await;
        assert_eq!(limits, vec![8, 7, 6]);
        // 200 ms > 4 x 20 + 25: eased off once per round trip.
        let limits = rounds(&mut aimd, 2, 200 * MS, |_| false).await;
        assert_eq!(limits, vec![5, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_caller_does_not_grow_the_limit() {
        let mut aimd = Aimd::new(8, 64);
        for _ in 0..100 {
            // One request at a time while eight are allowed: the limit is not in use.
            let ticket = aimd.started(0, 0, true);
            aimd.finished(ticket, MS, 0);
        }
        assert_eq!(aimd.limit(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn answers_nobody_waits_for_do_not_grow_the_limit() {
        let mut aimd = Aimd::new(4, 64);
        for _ in 0..10 {
            let tickets: Vec<_> = (0..4).map(|i| aimd.started(i, 0, false)).collect();
            for ticket in tickets {
                aimd.finished(ticket, MS, 0);
            }
        }
        assert_eq!(aimd.limit(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_larger_limit_that_brings_no_more_answers_stops_growing() {
        // A server that answers one request per 5 ms whatever is in flight: a round of n
        // takes n x 5 ms, so answers per second stay the same (and latency stays under the
        // latency guard's slack at first).
        let mut aimd = Aimd::new(2, 64);
        let mut limits = Vec::new();
        for _ in 0..6 {
            let n = aimd.limit();
            let tickets: Vec<_> = (0..n).map(|i| aimd.started(i, 0, true)).collect();
            for ticket in tickets {
                tokio::time::advance(MS * 5).await;
                aimd.finished(ticket, MS * 5, 0);
            }
            limits.push(aimd.limit());
        }
        // Doubling to 8 brought nothing: slow start ends there, then one more per round at most
        // (until the latency guard stops it).
        assert_eq!(&limits[..3], &[4, 8, 8], "{limits:?}");
        assert!(*limits.last().unwrap() <= 11, "{limits:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_limit_whose_requests_mostly_queue_gives_one_back_per_round() {
        // A server that works on 4 requests at once, 2 ms each: n in flight take n / 2 ms, so
        // answers per second stay the same whatever n. Slow start doubles to 32 (16 ms: a
        // round at 16 answered as fast as the last), where most answers are slower than
        // 2 x 4 + 5 ms; each such round gives one back, down to where they are not (26).
        // Without that, the limit would stay at 32 (16 ms is under 4 x 4 + 25 ms: no ease-off),
        // holding requests in a queue for nothing.
        let mut aimd = Aimd::new(8, 64);
        let mut limits = Vec::new();
        for _ in 0..60 {
            let n = aimd.limit();
            let latency = MS * u32::try_from(n.max(4) / 2).unwrap();
            let tickets: Vec<_> = (0..n).map(|i| aimd.started(i, 0, true)).collect();
            tokio::time::advance(latency).await;
            for ticket in tickets {
                aimd.finished(ticket, latency, 0);
            }
            limits.push(aimd.limit());
        }
        assert_eq!(&limits[..3], &[16, 32, 32], "{limits:?}");
        let settled = &limits[20..];
        assert!(settled.iter().all(|l| (26..=28).contains(l)), "{limits:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn answers_that_vary_widely_do_not_give_back_below_the_initial_limit() {
        // One fast answer (2 ms) sets the baseline; every later one takes 12 ms (> 2 x 2 + 5)
        // but under 4 x 2 + 25: slow, not queued. Only what slow start grew is given back.
        let mut aimd = Aimd::new(6, 64);
        let limits = rounds(&mut aimd, 1, 2 * MS, |_| false).await;
        assert_eq!(limits, vec![12]);
        let limits = rounds(&mut aimd, 20, 12 * MS, |_| false).await;
        assert_eq!(limits.last(), Some(&6), "{limits:?}");
        assert!(limits.iter().all(|l| *l >= 6), "{limits:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_initial_value_is_bounded_by_the_max_and_one() {
        assert_eq!(Aimd::new(100, 8).limit(), 8);
        assert_eq!(Aimd::new(0, 8).limit(), 1);
        assert_eq!(Aimd::new(3, 0).limit(), 1);
    }
}
