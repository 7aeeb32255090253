//! The command-line flags that shape a sandbox's behaviour (rate limit, faults, timings), its
//! connection limits and its resources (schemas, fixtures, generated rows), shared by the
//! `dbsync-sandbox` binary and the `dbsync sandbox` command.

use std::path::PathBuf;
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

/// Connection timeouts and cap (clap `Args`, to `#[command(flatten)]`).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Longest wait for a request's headers, in milliseconds (also the longest an HTTP/1
    /// keep-alive connection waits for its next request).
    #[arg(long, default_value_t = millis(crate::DEFAULT_HEADER_READ_TIMEOUT), value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_ms: u64,
    /// Longest time for a whole request body, in milliseconds; a slower body gets a 408.
    #[arg(long, default_value_t = millis(crate::DEFAULT_BODY_READ_TIMEOUT), value_parser = clap::value_parser!(u64).range(1..))]
    pub body_read_timeout_ms: u64,
    /// Longest time a connection stays open with no request in progress, in milliseconds.
    #[arg(long, default_value_t = millis(crate::DEFAULT_IDLE_TIMEOUT), value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_ms: u64,
    /// Most connections served at once; more wait in the kernel's listen backlog.
    #[arg(long, default_value_t = crate::DEFAULT_MAX_CONNECTIONS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl ServeArgs {
    /// Applies the flags to a builder (the three timeouts and the connection cap).
    pub fn apply(&self, builder: SandboxBuilder) -> SandboxBuilder {
        builder
            .header_read_timeout(Duration::from_millis(self.header_read_timeout_ms))
            .body_read_timeout(Duration::from_millis(self.body_read_timeout_ms))
            .idle_timeout(Duration::from_millis(self.idle_timeout_ms))
            .max_connections(self.max_connections)
    }
}

/// Resources of your own: schemas, fixture rows and generated rows (clap `Args`, to
/// `#[command(flatten)]`). Each flag may be repeated.
#[derive(Debug, Clone, Args)]
pub struct ResourceArgs {
    /// Add a resource with the schema in SCHEMA_FILE (JSON, the contract's schema shape);
    /// `records=FILE` replaces the built-in `records` schema.
    #[arg(long = "resource", value_name = "NAME=SCHEMA_FILE", value_parser = name_and_path)]
    pub resources: Vec<(String, PathBuf)>,
    /// Load the resource's rows from a JSON Lines file (one object per line, checked like a
    /// create; a refused line stops the start, naming file and line).
    #[arg(long = "fixtures", value_name = "NAME=FILE.jsonl", value_parser = name_and_path)]
    pub fixtures: Vec<(String, PathBuf)>,
    /// Add COUNT rows generated from the resource's schema (after its fixtures), seeded by --seed.
    #[arg(long = "generate", value_name = "NAME=COUNT", value_parser = name_and_count)]
    pub generate: Vec<(String, u64)>,
    /// Seed of the seeded `records` and of the generated rows (same seed, same rows).
    #[arg(long)]
    pub seed: Option<u64>,
}

fn split_pair(text: &str) -> Result<(String, &str), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() && !value.is_empty() => {
            Ok((name.to_owned(), value))
        }
        _ => Err(format!("expected NAME=VALUE, got {text:?}")),
    }
}

fn name_and_path(text: &str) -> Result<(String, PathBuf), String> {
    split_pair(text).map(|(name, path)| (name, PathBuf::from(path)))
}

fn name_and_count(text: &str) -> Result<(String, u64), String> {
    let (name, count) = split_pair(text)?;
    let count = count
        .parse()
        .map_err(|_| format!("expected NAME=COUNT with a whole number, got {text:?}"))?;
    Ok((name, count))
}

impl ResourceArgs {
    /// Applies the flags to a builder: schemas, then every fixtures file, then generated rows
    /// (files are read and rows checked by [`SandboxBuilder::start`]).
    pub fn apply(&self, mut builder: SandboxBuilder) -> SandboxBuilder {
        if let Some(seed) = self.seed {
            builder = builder.seed(seed);
        }
        for (name, path) in &self.resources {
            builder = builder.schema_file(name.clone(), path.clone());
        }
        for (name, path) in &self.fixtures {
            builder = builder.fixtures_file(name.clone(), path.clone());
        }
        for (name, count) in &self.generate {
            builder = builder.generate(name.clone(), *count);
        }
        builder
    }

    /// The resources these flags name, sorted, each once (for the startup output).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.resources.iter().map(|(n, _)| n.clone()).collect();
        names.extend(self.fixtures.iter().map(|(n, _)| n.clone()));
        names.extend(self.generate.iter().map(|(n, _)| n.clone()));
        names.sort();
        names.dedup();
        names
    }
}
