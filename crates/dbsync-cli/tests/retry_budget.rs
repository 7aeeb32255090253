//! Retries by budget, end to end (issue 13): the real `dbsync` binary, default settings, against
//! the sandbox started in-process on 127.0.0.1 with injected faults.
//!
//! - The goal run: `list --all` of 2,500 records in pages of 100 under 20% `500`s, 5% dropped
//!   connections, 5% truncated bodies and every 10th request a `429` succeeds for 20 seeds out
//!   of 20 (it failed in about 2 runs of 5 while retries were counted).
//! - Against a server that fails every request, `list --all` gives up within its deadline with
//!   one error line.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use dbsync_sandbox::{Faults, Sandbox, SandboxAuth, SandboxBuilder};
use serde_json::Value;

const TOKEN: &str = "tok-retry-budget-never-print-me";
const RECORDS: usize = 2_500;
const SEEDS: u64 = 20;

/// Sandboxes on a runtime that outlives the commands.
struct Sandboxes {
    sandboxes: Vec<Sandbox>,
    _runtime: tokio::runtime::Runtime,
}

fn start(builders: Vec<SandboxBuilder>) -> Sandboxes {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sandboxes = runtime.block_on(async {
        let mut started = Vec::new();
        for builder in builders {
            started.push(
                dbsync_openapi::sandbox::check_responses(builder)
                    .expect("docs/openapi.yaml loads")
                    .start()
                    .await
                    .unwrap(),
            );
        }
        started
    });
    Sandboxes {
        sandboxes,
        _runtime: runtime,
    }
}

/// `dbsync` with a clean environment and a private config directory.
fn dbsync(config_dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("dbsync").unwrap();
    for (name, _) in std::env::vars() {
        if name.starts_with("DBSYNC_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("DBSYNC_CONFIG_DIR", config_dir);
    cmd
}

/// The faults of the goal run; a `Retry-After` of 0 keeps the 20 runs fast (the client waits a
/// jittered backoff for it, not nothing).
fn goal_faults(seed: u64) -> Faults {
    Faults {
        seed,
        error_rate: 0.2,
        drop_rate: 0.05,
        truncate_rate: 0.05,
        every_nth_429: Some(10),
        retry_after_secs: 0,
        ..Faults::default()
    }
}

#[test]
fn list_all_survives_the_fault_mix_for_20_seeds_of_20() {
    let builders = (1..=SEEDS)
        .map(|seed| {
            Sandbox::builder()
                .auth(SandboxAuth::Bearer {
                    token: TOKEN.into(),
                })
                .seed_records(RECORDS as u64)
                .faults(goal_faults(seed))
        })
        .collect();
    let env = start(builders);
    let config_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let runs: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = env
            .sandboxes
            .iter()
            .map(|sandbox| {
                let url = sandbox.base_url().to_owned();
                let dir = config_dir.path();
                scope.spawn(move || {
                    dbsync(dir)
                        .args(["--url", &url, "--auth", "bearer", "--token", TOKEN])
                        .args(["list", "--all", "--page-size", "100", "--format", "jsonl"])
                        .timeout(Duration::from_secs(120))
                        .output()
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    let mut failed = Vec::new();
    for (seed, output) in (1..=SEEDS).zip(&runs) {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let ids: HashSet<String> = stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .map(|record| record["id"].to_string())
            .collect();
        let lines = stdout.lines().count();
        if !output.status.success() || ids.len() != RECORDS || lines != RECORDS {
            failed.push(format!(
                "seed {seed}: exit {:?}, {lines} lines, {} distinct ids; stderr: {stderr}",
                output.status.code(),
                ids.len()
            ));
        }
        assert!(!stderr.contains(TOKEN) && !stdout.contains(TOKEN));
    }
    eprintln!(
        "{} of {SEEDS} runs succeeded in {} ms",
        SEEDS as usize - failed.len(),
        elapsed.as_millis()
    );
    assert!(
        failed.is_empty(),
        "{} of {SEEDS} runs failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn against_a_server_that_fails_everything_list_all_gives_up_within_its_deadline() {
    let env = start(vec![Sandbox::builder().seed_records(10).faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    })]);
    let dir = tempfile::tempdir().unwrap();
    // The default settings but a 3-second deadline per call (the default is 2 minutes).
    let config = dir.path().join("connection.json");
    let settings = serde_json::json!({
        "api_url": env.sandboxes[0].base_url(),
        "retry": {"call_deadline_secs": 3},
    });
    std::fs::write(&config, settings.to_string()).unwrap();
    let started = Instant::now();
    let output = dbsync(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["list", "--all", "--page-size", "100", "--format", "jsonl"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}: {stderr}");
    assert!(output.stdout.is_empty());
    // Long backoffs are announced; apart from them, one line: the last error, saying why the
    // retries stopped.
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.starts_with("dbsync: waiting "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    let error = errors[0];
    assert!(error.contains("server error (500)"), "{error}");
    assert!(error.contains("gave up after"), "{error}");
    // Which of the two it is depends on timing: the next backoff would end past the deadline,
    // or the deadline passed during the next attempt (seen in a CI run).
    assert!(
        error.contains("another retry would end past its deadline of 3 s")
            || error.contains("its deadline of 3 s passed during the next one"),
        "{error}"
    );
}
