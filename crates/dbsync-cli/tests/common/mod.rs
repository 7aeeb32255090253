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

/// A checked sandbox (on a runtime of its own, 2 workers) and a temporary directory for profiles
/// (`DBSYNC_CONFIG_DIR`) and files: where most end-to-end files start. Each file passes its own
/// token, so a leak names the file.
pub struct TestEnv {
    /// The sandbox.
    pub sandbox: Sandbox,
    /// The temporary directory (profiles under `profiles/`).
    pub dir: tempfile::TempDir,
    token: &'static str,
    _runtime: tokio::runtime::Runtime,
}

impl TestEnv {
    /// `builder`'s sandbox as it is (its own auth, or none); [`Self::cmd`] sends `token` as a
    /// bearer token.
    pub fn start(builder: SandboxBuilder, token: &'static str) -> Self {
        let (runtime, sandbox) = start_checked(builder, 2);
        Self {
            sandbox,
            dir: tempfile::tempdir().unwrap(),
            token,
            _runtime: runtime,
        }
    }

    /// `builder`'s sandbox, taking `token` as its bearer token.
    pub fn bearer(builder: SandboxBuilder, token: &'static str) -> Self {
        let builder = builder.auth(dbsync_sandbox::SandboxAuth::Bearer {
            token: token.into(),
        });
        Self::start(builder, token)
    }

    /// A sandbox with `records` seeded records, taking `token` as its bearer token.
    pub fn seeded(records: u64, token: &'static str) -> Self {
        Self::bearer(Sandbox::builder().seed_records(records), token)
    }

    /// The sandbox's base URL.
    pub fn url(&self) -> &str {
        self.sandbox.base_url()
    }

    /// `name` in the temporary directory.
    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// Where profile `name` is saved.
    pub fn profile(&self, name: &str) -> std::path::PathBuf {
        self.dir
            .path()
            .join("profiles")
            .join(format!("{name}.json"))
    }

    /// `dbsync` with a clean environment and the temporary directory as `DBSYNC_CONFIG_DIR`.
    pub fn bare_std(&self) -> std::process::Command {
        let mut cmd = clean_std_command();
        cmd.env("DBSYNC_CONFIG_DIR", self.dir.path());
        cmd
    }

    /// [`Self::bare_std`] with `--url <sandbox> --auth bearer --token TOKEN`.
    pub fn cmd_std(&self) -> std::process::Command {
        let mut cmd = self.bare_std();
        cmd.args([
            "--url",
            self.url(),
            "--auth",
            "bearer",
            "--token",
            self.token,
        ]);
        cmd
    }

    /// [`Self::bare_std`] as an `assert_cmd` command.
    pub fn bare(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.bare_std())
    }

    /// [`Self::cmd_std`] as an `assert_cmd` command.
    pub fn cmd(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.cmd_std())
    }
}

/// What a `dbsync` run gave: its exit code (-1 for a signal) and its output as text.
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `cmd` to its end, at most 60 s (a hung command fails the test).
pub fn run(cmd: &mut assert_cmd::Command) -> Run {
    let output = cmd
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The JSON values of JSON Lines `text`; a line that is not JSON fails the test, naming it.
pub fn jsonl(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// What `upstream | downstream` did ([`pipe`]).
pub struct Piped {
    /// The exit codes (-1 when killed by a signal).
    pub codes: (i32, i32),
    /// The downstream's standard output.
    pub stdout: String,
    /// The two standard errors, upstream's first.
    pub stderr: (String, String),
}

/// Runs `upstream | downstream` through an OS pipe, as a shell would: the downstream reads
/// while the upstream writes. Both are killed and the test fails after 60 s.
pub fn pipe(mut upstream: std::process::Command, mut downstream: std::process::Command) -> Piped {
    use std::io::Read as _;
    use std::process::Stdio;
    let read_all = |mut from: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            from.read_to_end(&mut text).unwrap();
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let mut up = upstream
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut down = downstream
        .stdin(up.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The command still holds the pipe's read end: drop it, so that the upstream sees a closed
    // pipe when the downstream exits early, as in a shell.
    drop(downstream);
    let up_err = read_all(Box::new(up.stderr.take().unwrap()));
    let down_out = read_all(Box::new(down.stdout.take().unwrap()));
    let down_err = read_all(Box::new(down.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while up.try_wait().unwrap().is_none() || down.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = up.kill();
            let _ = down.kill();
            let _ = (up.wait(), down.wait());
            panic!("the pipe did not end within 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let code = |status: std::process::ExitStatus| status.code().unwrap_or(-1);
    Piped {
        codes: (code(up.wait().unwrap()), code(down.wait().unwrap())),
        stdout: down_out.join().unwrap(),
        stderr: (up_err.join().unwrap(), down_err.join().unwrap()),
    }
}
