//! What the CLI's end-to-end test files share: a sandbox on a runtime of its own whose every
//! response is checked against `docs/openapi.yaml`, and the `dbsync` binary with nothing from
//! the outside environment that would change what it does.

#![allow(dead_code, reason = "each test file uses part of it")]

use dbsync_sandbox::{Sandbox, SandboxBuilder};

/// Starts `builder`'s sandbox on a new runtime of `workers` threads (keep the runtime alive as
/// long as the sandbox), every response checked against the OpenAPI document.
pub fn start_checked(
    builder: SandboxBuilder,
    workers: usize,
) -> (tokio::runtime::Runtime, Sandbox) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = runtime
        .block_on(
            dbsync_openapi::sandbox::check_responses(builder)
                .expect("docs/openapi.yaml loads")
                .start(),
        )
        .unwrap();
    (runtime, sandbox)
}

/// The `dbsync` binary without any `DBSYNC_*`, `JOB_COMPLETION_INDEX`, `COLUMNS` or `NO_COLOR`
/// of the environment the tests run in.
pub fn clean_std_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("dbsync"));
    for (var, _) in std::env::vars_os() {
        let name = var.to_string_lossy();
        if name.starts_with("DBSYNC_")
            || ["JOB_COMPLETION_INDEX", "COLUMNS", "NO_COLOR"].contains(&name.as_ref())
        {
            cmd.env_remove(&var);
        }
    }
    cmd
}

/// [`clean_std_command`] as an `assert_cmd` command.
pub fn clean_command() -> assert_cmd::Command {
    assert_cmd::Command::from_std(clean_std_command())
}
