//! The command-line flags that shape a sandbox's behaviour (rate limit, faults, timings),
//! shared by the `dbsync-sandbox` binary and the `dbsync sandbox` command.

use std::time::Duration;

use clap::Args;

use crate::{Faults, SandboxBuilder};

/// Rate limit, fault injection and timing flags (clap `Args`, to `#[command(flatten)]`).
#[derive(Debug, Clone, Args)]
pub struct BehaviourArgs {
    /// Requests allowed per minute (unlimited when absent).
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Requests allowed per hour, beside the per-minute limit (none when absent).
    #[arg(long)]
    pub rate_limit_per_hour: Option<u32>,
    /// Seed of the fault schedule.
    #[arg(long, default_value_t = 0)]
    pub fault_seed: u64,
    /// Fraction of requests answered 500.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Answer every K-th request with 429.
    #[arg(long)]
    pub every_nth_429: Option<u64>,
    /// Retry-After seconds on injected 429s.
    #[arg(long, default_value_t = 1)]
    pub retry_after: u64,
    /// Fraction of connections dropped without a response (before acting).
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Fraction of responses with a truncated body (before acting).
    #[arg(long, default_value_t = 0.0)]
    pub truncate_rate: f64,
    /// Fraction of requests carried out whose response is then lost.
    #[arg(long, default_value_t = 0.0)]
    pub lost_response_rate: f64,
    /// Fraction of requests delayed by --slow-ms.
    #[arg(long, default_value_t = 0.0)]
    pub slow_rate: f64,
    /// Delay of a slow request, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub slow_ms: u64,
    /// Delay added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Lifetime of OAuth2 access tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub token_ttl: u64,
    /// How long a workflow run takes from trigger to its end, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub workflow_ms: u64,
}

impl BehaviourArgs {
    /// The faults these flags describe.
    pub fn faults(&self) -> Faults {
        Faults {
            seed: self.fault_seed,
            error_rate: self.error_rate,
            every_nth_429: self.every_nth_429,
            retry_after_secs: self.retry_after,
            drop_rate: self.drop_rate,
            truncate_rate: self.truncate_rate,
            lost_response_rate: self.lost_response_rate,
            slow_rate: self.slow_rate,
            slow_delay: Duration::from_millis(self.slow_ms),
            latency: Duration::from_millis(self.latency_ms),
        }
    }

    /// Applies the flags to a builder (faults, rate limit, token lifetime, workflow duration).
    pub fn apply(&self, builder: SandboxBuilder) -> SandboxBuilder {
        let mut builder = builder
            .faults(self.faults())
            .token_ttl(Duration::from_secs(self.token_ttl))
            .workflow_duration(Duration::from_millis(self.workflow_ms));
        if let Some(limit) = self.rate_limit {
            builder = builder.rate_limit(limit);
        }
        if let Some(limit) = self.rate_limit_per_hour {
            builder = builder.rate_limit_per_hour(limit);
        }
        builder
    }
}
