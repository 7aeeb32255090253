//! The `dbsync-sandbox` binary and its secrets: taken from environment variables, never printed
//! unless asked, and demo credentials refused beyond loopback.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};

use reqwest::StatusCode;

/// The binary with none of its variables inherited from the caller's environment.
fn sandbox() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbsync-sandbox"));
    for name in [
        "DBSYNC_SANDBOX_USERNAME",
        "DBSYNC_SANDBOX_PASSWORD",
        "DBSYNC_SANDBOX_TOKEN",
        "DBSYNC_SANDBOX_CLIENT_ID",
        "DBSYNC_SANDBOX_CLIENT_SECRET",
    ] {
        command.env_remove(name);
    }
    command.args(["--port", "0", "--records", "2"]);
    command
}

/// Stops the process even when an assertion fails; keeps its stdout open.
struct Running(Child, BufReader<ChildStdout>);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary; returns it and its first `lines` lines of stdout.
fn run(mut command: Command, lines: usize) -> (Running, Vec<String>) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut running = Running(child, BufReader::new(stdout));
    let mut read = Vec::new();
    for _ in 0..lines {
        let mut line = String::new();
        running.1.read_line(&mut line).expect("readable");
        read.push(line.trim_end().to_string());
    }
    (running, read)
}

/// Stops the binary with SIGTERM and returns the rest of its stdout and stderr.
fn stop(mut running: Running) -> String {
    let killed = Command::new("kill")
        .args(["-TERM", &running.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let mut rest = String::new();
    running
        .1
        .read_to_string(&mut rest)
        .expect("stdout readable");
    if let Some(mut err) = running.0.stderr.take() {
        err.read_to_string(&mut rest).expect("stderr readable");
    }
    let status = running.0.wait().expect("exits");
    assert!(status.success(), "{status:?}: {rest}");
    rest
}

async fn status(url: &str, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("answered")
        .status()
}

#[tokio::test]
async fn a_token_from_the_environment_is_used_and_never_printed() {
    let secret = "env-token-7f3a9c";
    let mut command = sandbox();
    command
        .args(["--auth", "bearer"])
        .env("DBSYNC_SANDBOX_TOKEN", secret);
    let (running, lines) = run(command, 3);
    let base = lines[0].clone();
    assert!(base.starts_with("http://127.0.0.1:"), "{lines:?}");
    assert!(
        lines[1].starts_with("auth: bearer token=<hidden"),
        "{lines:?}"
    );
    assert!(lines[1].contains("--show-secrets"), "{lines:?}");
    let records = format!("{base}/v1/records");
    assert_eq!(status(&records, secret).await, StatusCode::OK);
    assert_eq!(status(&records, "demo").await, StatusCode::UNAUTHORIZED);
    let rest = stop(running);
    let everything = format!("{}\n{rest}", lines.join("\n"));
    assert!(!everything.contains(secret), "{everything}");
}

#[test]
fn basic_and_oauth2_secrets_from_the_environment_are_never_printed() {
    for (auth, variable, secret) in [
        ("basic", "DBSYNC_SANDBOX_PASSWORD", "env-password-51d2"),
        (
            "oauth2",
            "DBSYNC_SANDBOX_CLIENT_SECRET",
            "env-client-secret-8e0b",
        ),
    ] {
        let mut command = sandbox();
        command.args(["--auth", auth]).env(variable, secret);
        let (running, lines) = run(command, 2);
        assert!(lines[1].contains("<hidden;"), "{lines:?}");
        let rest = stop(running);
        let everything = format!("{}\n{rest}", lines.join("\n"));
        assert!(!everything.contains(secret), "{auth}: {everything}");
    }
}

#[test]
fn demo_secrets_are_hidden_too_and_show_secrets_prints_them() {
    let mut command = sandbox();
    command.args(["--auth", "basic"]);
    let (running, lines) = run(command, 2);
    assert!(
        lines[1].contains("password=<hidden: the built-in demo value"),
        "{lines:?}"
    );
    assert!(!stop(running).contains("demo-password"));

    let mut command = sandbox();
    command
        .args(["--auth", "oauth2", "--show-secrets"])
        .env("DBSYNC_SANDBOX_CLIENT_SECRET", "shown-secret");
    let (running, lines) = run(command, 2);
    assert!(lines[1].contains("client_secret=shown-secret"), "{lines:?}");
    stop(running);
}

#[test]
fn help_names_the_variables_but_not_their_values() {
    let output = sandbox()
        .arg("--help")
        .env("DBSYNC_SANDBOX_PASSWORD", "help-password-1")
        .env("DBSYNC_SANDBOX_TOKEN", "help-token-2")
        .env("DBSYNC_SANDBOX_CLIENT_SECRET", "help-secret-3")
        .output()
        .expect("runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for variable in [
        "DBSYNC_SANDBOX_PASSWORD",
        "DBSYNC_SANDBOX_TOKEN",
        "DBSYNC_SANDBOX_CLIENT_SECRET",
        "--show-secrets",
        "--allow-demo-credentials",
        "--header-read-timeout-ms",
        "--body-read-timeout-ms",
        "--idle-timeout-ms",
        "--max-connections",
    ] {
        assert!(help.contains(variable), "{variable} missing: {help}");
    }
    for secret in ["help-password-1", "help-token-2", "help-secret-3"] {
        assert!(!help.contains(secret), "{help}");
    }
}

#[test]
fn demo_credentials_beyond_loopback_are_refused_before_binding() {
    for auth in ["none", "basic", "bearer", "oauth2"] {
        // Refused before anything is bound: the process exits at once with a clear error.
        let output = sandbox()
            .args(["--host", "0.0.0.0", "--auth", auth])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{auth}: {output:?}");
        assert!(
            output.stdout.is_empty(),
            "{auth}: nothing served: {output:?}"
        );
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(
            error.contains("refusing to listen on 0.0.0.0, beyond loopback")
                && error.contains("--allow-demo-credentials"),
            "{auth}: {error}"
        );
        for secret in ["demo-password", "demo-secret"] {
            assert!(!error.contains(secret), "{error}");
        }
    }
}

/// A secret of one's own that is empty or short is as easy to guess as a demo value: refused
/// beyond loopback too (without printing it).
#[test]
fn short_secrets_beyond_loopback_are_refused_before_binding() {
    for (variable, auth) in [
        ("DBSYNC_SANDBOX_PASSWORD", "basic"),
        ("DBSYNC_SANDBOX_TOKEN", "bearer"),
        ("DBSYNC_SANDBOX_CLIENT_SECRET", "oauth2"),
    ] {
        for secret in ["", "s3cr3t-7c"] {
            let output = sandbox()
                .args(["--host", "0.0.0.0", "--auth", auth])
                .env(variable, secret)
                .output()
                .expect("runs");
            assert_eq!(
                output.status.code(),
                Some(2),
                "{auth} {secret:?}: {output:?}"
            );
            let error = String::from_utf8_lossy(&output.stderr);
            assert!(error.contains("shorter than 12 characters"), "{error}");
            assert!(secret.is_empty() || !error.contains(secret), "{error}");
        }
    }
}

#[test]
fn zero_connection_limits_are_refused_by_the_flags() {
    for flag in [
        "--header-read-timeout-ms",
        "--body-read-timeout-ms",
        "--idle-timeout-ms",
        "--max-connections",
    ] {
        let output = sandbox().args([flag, "0"]).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{flag}: {output:?}");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(error.contains(flag), "{error}");
    }
}
