//! The `dbsync` binary against a hostile server (`dbsync-hostile`), one test per
//! misbehaviour: each run ends before its kill deadline, its peak memory stays under
//! [`PEAK_MIB`], it exits with the right code and a short, clear, printable message, and the
//! secret it was given shows nowhere (stdout, stderr).

use std::time::Duration;

use dbsync_hostile::{ChildRun, HostileServer, Mode, TokenAnswer, run_child};

/// The token or client secret: given through the environment, never shown.
const SECRET: &str = "hostile-SECRET-cli-5e1d";
/// The most memory a run may use, in MiB.
const PEAK_MIB: u64 = 200;
/// The most stderr a failing run may print: one clear error, not the server's body.
const MAX_STDERR: u64 = 4 * 1024;
/// How long a run may take before it is killed.
const DEADLINE: Duration = Duration::from_secs(20);
const MIB: u64 = 1024 * 1024;

async fn start(mode: Mode) -> HostileServer {
    HostileServer::start(mode).await.unwrap()
}

/// Runs `dbsync --url URL --auth bearer ARGS` (the token from `DBSYNC_TOKEN`) with `deadline`.
async fn dbsync_within(url: &str, args: &[&str], deadline: Duration) -> ChildRun {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dbsync"));
    for (name, _) in std::env::vars() {
        if name.starts_with("DBSYNC_") {
            command.env_remove(name);
        }
    }
    let config = tempfile::tempdir().unwrap();
    command
        .env("DBSYNC_CONFIG_DIR", config.path())
        .env("DBSYNC_TOKEN", SECRET)
        .env("DBSYNC_CLIENT_SECRET", SECRET)
        .args(["--url", url])
        .args(args);
    if !args.contains(&"--auth") {
        command.args(["--auth", "bearer"]);
    }
    let run = tokio::task::spawn_blocking(move || run_child(command, deadline))
        .await
        .unwrap()
        .unwrap();
    drop(config);
    // The figures of docs/reliability.md (shown with --nocapture).
    eprintln!(
        "figure: {args:?}: exit {:?}, killed {}, {} ms, peak {} MiB, stderr {} B",
        run.code,
        run.killed,
        run.elapsed.as_millis(),
        run.peak_rss_mib(),
        run.stderr_bytes
    );
    assert_safe(&run, args);
    run
}

async fn dbsync(url: &str, args: &[&str]) -> ChildRun {
    dbsync_within(url, args, DEADLINE).await
}

/// Bounded memory, no secret, and nothing but printable text and line ends on stderr.
fn assert_safe(run: &ChildRun, args: &[&str]) {
    assert!(
        run.peak_rss_mib() < PEAK_MIB,
        "{args:?}: peak {} MiB",
        run.peak_rss_mib()
    );
    for (what, text) in [("stdout", run.stdout_text()), ("stderr", run.stderr_text())] {
        assert!(
            !text.contains(SECRET),
            "{args:?}: the secret on {what}: {text}"
        );
    }
    let stderr = std::str::from_utf8(&run.stderr);
    assert!(
        stderr.is_ok(),
        "{args:?}: stderr is not UTF-8: {:?}",
        run.stderr
    );
    let controls: Vec<char> = run
        .stderr_text()
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(controls.is_empty(), "{args:?}: {controls:?} on stderr");
}

/// Ended by itself with `code`, a short stderr holding `message`.
fn assert_failed(run: &ChildRun, code: i32, message: &str) {
    let stderr = run.stderr_text();
    assert!(!run.killed, "killed at the deadline: {stderr}");
    assert_eq!(run.code, Some(code), "{stderr}");
    assert!(stderr.contains(message), "{message:?} not in {stderr}");
    assert!(
        run.stderr_bytes < MAX_STDERR,
        "{} bytes of stderr",
        run.stderr_bytes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_fails_at_the_limit_exit_8() {
    let server = start(Mode::EndlessBody).await;
    let run = dbsync(
        server.url(),
        &["--max-response-bytes", "1048576", "get", "1"],
    )
    .await;
    assert_failed(&run, 8, "--max-response-bytes");
    assert!(run.stderr_text().contains("1 MiB"));
    // With the defaults: 64 MiB read, then the same error.
    let run = dbsync(server.url(), &["get", "1", "--format", "table"]).await;
    assert_failed(&run, 8, "64 MiB");
}

/// A 200 MB JSON `500` with the default limit (it once peaked at 615 MiB and printed 190 MiB
/// to stderr).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_error_body_fails_at_the_default_limit_with_a_short_message() {
    let server = start(Mode::HugeErrorBody { bytes: 200 * MIB }).await;
    let run = dbsync(server.url(), &["get", "1"]).await;
    assert_failed(&run, 8, "64 MiB");
    assert!(run.stderr_text().contains("500"), "{}", run.stderr_text());
    assert_eq!(server.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_pages_end_at_the_list_caps() {
    let server = start(Mode::EndlessPages).await;
    for format in ["jsonl", "table"] {
        let run = dbsync(
            server.url(),
            &[
                "list",
                "--all",
                "--page-size",
                "10",
                "--max-pages",
                "5",
                "--format",
                format,
            ],
        )
        .await;
        assert_failed(&run, 1, "cap of 5 pages");
        assert!(
            run.stderr_text().contains("--max-pages"),
            "{}",
            run.stderr_text()
        );
        assert!(
            run.stdout_text().contains("record 49"),
            "{format}: the pages read are shown"
        );
        let run = dbsync(
            server.url(),
            &[
                "list",
                "--all",
                "--page-size",
                "10",
                "--max-records",
                "25",
                "--format",
                format,
            ],
        )
        .await;
        assert_failed(&run, 1, "cap of 25 records");
        assert!(
            run.stderr_text().contains("--max-records"),
            "{}",
            run.stderr_text()
        );
    }
}

/// Without a cap only the user can stop endless pages: until then the output streams (the
/// table too, in blocks) and memory stays flat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_pages_without_a_cap_stream_in_bounded_memory() {
    let server = start(Mode::EndlessPages).await;
    for format in ["jsonl", "table"] {
        let args = ["list", "--all", "--page-size", "1000", "--format", format];
        let run = dbsync_within(server.url(), &args, Duration::from_secs(3)).await;
        assert!(run.killed, "{format}: endless pages ran until killed");
        assert!(
            run.stdout_bytes > MIB,
            "{format}: the output streams ({} bytes)",
            run.stdout_bytes
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_page_at_every_offset_is_shown_once_then_fails() {
    let server = start(Mode::SamePage).await;
    for format in ["jsonl", "table"] {
        let run = dbsync(
            server.url(),
            &["list", "--all", "--page-size", "10", "--format", format],
        )
        .await;
        assert_failed(&run, 1, "same records");
        let shown = run.stdout_text().matches("record 1\"").count()
            + run.stdout_text().matches("record 1 ").count()
            + run
                .stdout_text()
                .lines()
                .filter(|l| l.ends_with("record 1"))
                .count();
        assert_eq!(shown, 1, "{format}: the page once: {}", run.stdout_text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_longer_than_the_limit_fails() {
    let server = start(Mode::LongPage).await;
    for args in [
        &["list", "--limit", "10"][..],
        &["list", "--all", "--page-size", "10", "--format", "table"],
    ] {
        let run = dbsync(server.url(), args).await;
        assert_failed(&run, 1, "page of at most 10");
        assert!(
            !run.stdout_text().contains("record 0"),
            "{args:?}: nothing of such a page is shown"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dripping_body_and_a_silent_server_time_out_exit_8() {
    for mode in [
        Mode::Drip {
            every: Duration::from_millis(50),
        },
        Mode::Silent,
    ] {
        let server = start(mode).await;
        let run = dbsync(
            server.url(),
            &["--timeout", "1", "--max-retries", "1", "get", "1"],
        )
        .await;
        assert_failed(&run, 8, "timed out");
        assert!(!run.stderr_text().contains("decode"));
        assert!(run.elapsed < Duration::from_secs(6), "{:?}", run.elapsed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_host_is_not_followed() {
    let target = start(Mode::EndlessBody).await;
    // The Location even echoes the token: stderr must not show it.
    let location = format!("{}/v1/records/1?access_token={SECRET}", target.url());
    let server = start(Mode::Redirect {
        status: 307,
        location,
    })
    .await;
    let run = dbsync(server.url(), &["get", "1"]).await;
    assert_failed(&run, 1, "redirects are not followed");
    assert!(run.stderr_text().contains(target.url()));
    assert_eq!(target.request_count(), 0, "nothing went to the other host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_retry_after_values_exit_6_quickly() {
    for value in ["86400", &u64::MAX.to_string(), "-1", "garbage"] {
        let server = start(Mode::RetryAfter(value.to_owned())).await;
        let run = dbsync(server.url(), &["--max-retries", "1", "get", "1"]).await;
        assert_failed(&run, 6, "rate limited");
        assert!(
            run.elapsed < Duration::from_secs(5),
            "{value}: {:?}",
            run.elapsed
        );
        assert!(
            !run.stderr_text().contains("18446744073709552000"),
            "{}",
            run.stderr_text()
        );
    }
}

/// A reset a day away or past `u64::MAX`: each page waits `--max-retry-after` at most.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_rate_limit_resets_wait_only_the_cap() {
    let in_a_day = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 86_400;
    for value in [in_a_day.to_string(), u64::MAX.to_string()] {
        let server = start(Mode::RateLimitReset(value.clone())).await;
        let args = [
            "--max-retry-after",
            "1",
            "list",
            "--all",
            "--page-size",
            "10",
        ];
        let run = dbsync(server.url(), &args).await;
        assert_eq!(run.code, Some(0), "{value}: {}", run.stderr_text());
        assert_eq!(
            run.stdout_text().lines().count(),
            25,
            "{value}: every record"
        );
        assert!(
            run.elapsed < Duration::from_secs(8),
            "{value}: {:?}",
            run.elapsed
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_huge_token_responses_exit_3() {
    for answer in [
        TokenAnswer::Html,
        TokenAnswer::Truncated,
        TokenAnswer::Huge { bytes: 100 * MIB },
        TokenAnswer::LongToken {
            bytes: MIB as usize,
        },
    ] {
        let server = start(Mode::Token(answer.clone())).await;
        let token_url = format!("{}/oauth/token", server.url());
        let args = [
            "--auth",
            "oauth2",
            "--client-id",
            "client",
            "--token-url",
            &token_url,
            "get",
            "1",
        ];
        let run = dbsync(server.url(), &args).await;
        assert_failed(&run, 3, "token endpoint");
        assert!(
            server.received().iter().all(|r| r.path() == "/oauth/token"),
            "{answer:?}: no API call without a token"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_are_shown_escaped() {
    let server = start(Mode::Escapes).await;
    for args in [
        &["get", "1", "--format", "table"][..],
        &["list", "--all", "--format", "table"],
        &["list", "--format", "csv"],
    ] {
        let run = dbsync(server.url(), args).await;
        assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr_text());
        let stdout = run.stdout_text();
        assert!(
            stdout.contains("\\u{1b}]0;pwned\\u{7}"),
            "{args:?}: {stdout}"
        );
        assert!(stdout.contains("\\u{1b}[2J\\u{9b}2J"), "{args:?}: {stdout}");
        assert!(
            !stdout.contains('\u{1b}') && !stdout.contains('\u{9b}'),
            "{args:?}"
        );
    }
    let run = dbsync(server.url(), &["get", "2"]).await;
    assert_failed(
        &run,
        4,
        "no\\u{1b}]0;pwned\\u{7} such \\u{1b}[2Jrecord\\u{9b}31m",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_countless_headers_exit_8() {
    for mode in [
        Mode::HugeHeader {
            bytes: MIB as usize,
        },
        Mode::ManyHeaders { count: 10_000 },
    ] {
        let server = start(mode).await;
        let run = dbsync(server.url(), &["--max-retries", "1", "get", "1"]).await;
        assert_failed(&run, 8, "connection broken");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_a_body_fails_and_in_headers_is_ignored() {
    let server = start(Mode::InvalidUtf8Body).await;
    for args in [&["get", "1"][..], &["list", "--all"]] {
        let run = dbsync(server.url(), args).await;
        assert_failed(&run, 1, "could not decode the response");
    }
    let server = start(Mode::InvalidUtf8Header).await;
    let run = dbsync(server.url(), &["get", "1", "--format", "json"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    assert!(
        run.stdout_text().contains("\"id\": \"1\""),
        "{}",
        run.stdout_text()
    );
}

/// With the default cap (60 s) a far reset pauses each page for a minute: the issue asks for
/// the wait to be announced on stderr, never a silent sleep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_far_reset_with_the_default_cap_is_announced() {
    let in_a_day = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 86_400;
    let server = start(Mode::RateLimitReset(in_a_day.to_string())).await;
    let args = ["list", "--all", "--page-size", "10"];
    let run = dbsync_within(server.url(), &args, Duration::from_secs(5)).await;
    let stderr = run.stderr_text();
    assert!(
        stderr.contains("dbsync: waiting 60 s"),
        "a silent sleep: {stderr}"
    );
}
