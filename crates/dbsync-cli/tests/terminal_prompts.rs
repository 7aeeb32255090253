//! What `dbsync` asks on a real terminal, answered through a pseudo-terminal: `login`'s questions
//! with the secret typed while echo is off (and echo back on afterwards, also after a refused
//! login), `delete`'s confirmation above 10 records, and the refusals when a token or ids were
//! to come from standard input but it is a terminal. Standard input and standard error are the
//! pty's terminal side; standard output is a pipe.
#![cfg(target_os = "linux")]

mod common;

use std::io::{Read as _, Write as _};
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const TOKEN: &str = "tok-7e1d-typed-never-echoed";
/// How long any one step may take before the test fails with the transcript.
const STEP: Duration = Duration::from_secs(30);

/// A pseudo-terminal: the test types on `master` and reads what the program printed there;
/// `terminal` is the side the program gets as its stdin and stderr.
struct Pty {
    master: std::fs::File,
    terminal: OwnedFd,
    transcript: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    fn open() -> Self {
        let (mut master, mut terminal) = (-1, -1);
        // SAFETY: two out-pointers to live ints; no name, default settings and size.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut terminal,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty succeeded: both are open descriptors that nothing else owns.
        let (master, terminal) = unsafe {
            (
                std::fs::File::from_raw_fd(master),
                OwnedFd::from_raw_fd(terminal),
            )
        };
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = Arc::clone(&transcript);
        // Ends when the pty closes (EIO once no terminal side is open).
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self {
            master,
            terminal,
            transcript,
        }
    }

    /// `cmd` with the terminal as stdin and stderr, stdout piped.
    fn spawn(&self, mut cmd: Command) -> Child {
        cmd.stdin(Stdio::from(self.terminal.try_clone().unwrap()))
            .stderr(Stdio::from(self.terminal.try_clone().unwrap()))
            .stdout(Stdio::piped());
        let child = cmd.spawn().unwrap();
        drop(cmd); // the parent's copies of the terminal side
        child
    }

    fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.transcript.lock().unwrap()).into_owned()
    }

    /// Waits until the program has printed `text` (anywhere in the transcript so far).
    fn wait_for(&self, text: &str) {
        let start = Instant::now();
        while !self.transcript().contains(text) {
            assert!(
                start.elapsed() < STEP,
                "no `{text}` within {STEP:?}; the terminal shows:\n{}",
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the terminal echoes what is typed.
    fn echoes(&self) -> bool {
        // SAFETY: a zeroed termios is a valid out-value; the descriptor is open.
        let mut settings: libc::termios = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::tcgetattr(self.terminal.as_raw_fd(), &mut settings) };
        assert_eq!(rc, 0, "tcgetattr: {}", std::io::Error::last_os_error());
        settings.c_lflag & libc::ECHO != 0
    }

    /// Waits until the program has turned echo off (it prints the question just before).
    fn wait_for_echo_off(&self) {
        let start = Instant::now();
        while self.echoes() {
            assert!(
                start.elapsed() < STEP,
                "echo still on after {STEP:?}; the terminal shows:\n{}",
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn type_line(&mut self, line: &str) {
        self.master
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
        self.master.flush().unwrap();
    }
}

/// Waits (bounded) for `child` to exit; its exit code and standard output.
fn finish(mut child: Child, pty: &Pty) -> (i32, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stdout = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut stdout)
                .unwrap();
            return (status.code().unwrap_or(-1), stdout);
        }
        if start.elapsed() > STEP {
            let _ = child.kill();
            panic!(
                "dbsync did not exit; the terminal shows:\n{}",
                pty.transcript()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

type Env = common::TestEnv;

/// `dbsync` with a clean environment, profiles in the temporary directory, JSON Lines out.
fn bare(env: &Env) -> Command {
    let mut cmd = env.bare_std();
    cmd.args(["--format", "jsonl"]);
    cmd
}

/// [`bare`] with `--url <sandbox> --auth bearer --token TOKEN`.
fn cmd(env: &Env) -> Command {
    let mut cmd = env.cmd_std();
    cmd.args(["--format", "jsonl"]);
    cmd
}

fn record_count(env: &Env) -> usize {
    env.sandbox.record_count("records")
}

/// Answers `dbsync login NAME`'s questions on `pty`; the secret once echo is off.
fn answer_login(pty: &mut Pty, url: &str, secret: &str) {
    pty.wait_for("API URL");
    pty.type_line(url);
    pty.wait_for("Auth type");
    pty.type_line("bearer");
    pty.wait_for("Token or API key: ");
    pty.wait_for_echo_off();
    pty.type_line(secret);
}

#[test]
fn login_asks_on_the_terminal_with_the_secret_hidden_and_echo_restored() {
    let env = Env::seeded(2, TOKEN);
    let mut pty = Pty::open();
    let mut login = bare(&env);
    login.args(["login", "work", "--store-secret"]);
    let child = pty.spawn(login);
    answer_login(&mut pty, env.sandbox.base_url(), TOKEN);
    let (code, _) = finish(child, &pty);
    assert_eq!(code, 0, "{}", pty.transcript());
    pty.wait_for("now the default"); // its last words: the transcript is whole
    let shown = pty.transcript();
    // What was typed with echo on shows (so this check can fail); the secret does not.
    assert!(shown.contains(env.sandbox.base_url()), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(pty.echoes(), "echo left off after login");
    let saved = std::fs::read_to_string(env.profile("work")).unwrap();
    assert!(
        saved.contains(env.sandbox.base_url().trim_end_matches('/')),
        "{saved}"
    );
    // The saved profile (the secret as typed: --store-secret) works and is the default.
    let out = bare(&env).args(["get", "1"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["id"], 1, "{record}");
}

#[test]
fn a_refused_login_on_the_terminal_saves_nothing_and_restores_echo() {
    let env = Env::seeded(1, TOKEN);
    let mut pty = Pty::open();
    let mut login = bare(&env);
    login.args(["login", "work", "--store-secret"]);
    let child = pty.spawn(login);
    answer_login(&mut pty, env.sandbox.base_url(), "not-the-token");
    let (code, _) = finish(child, &pty);
    let shown = pty.transcript();
    assert_eq!(code, 3, "{shown}");
    pty.wait_for("not saved");
    let shown = pty.transcript();
    assert!(!shown.contains("not-the-token"), "{shown}");
    assert!(pty.echoes(), "echo left off after a refused login");
    assert!(!env.profile("work").exists());
    assert!(
        !env.dir.path().join("profiles").exists() || {
            std::fs::read_dir(env.dir.path().join("profiles"))
                .unwrap()
                .next()
                .is_none()
        }
    );
}

#[test]
fn a_token_or_ids_expected_on_standard_input_refuse_a_terminal() {
    let env = Env::seeded(3, TOKEN);
    let pty = Pty::open();
    let mut login = bare(&env);
    login.args([
        "--url",
        env.sandbox.base_url(),
        "login",
        "work",
        "--with-token",
    ]);
    let (code, _) = finish(pty.spawn(login), &pty);
    assert_eq!(code, 2, "{}", pty.transcript());
    pty.wait_for("--with-token reads the secret from standard input");
    assert!(!env.profile("work").exists());

    let pty = Pty::open();
    let mut delete = cmd(&env);
    delete.args(["delete", "-"]);
    let (code, _) = finish(pty.spawn(delete), &pty);
    assert_eq!(code, 2, "{}", pty.transcript());
    pty.wait_for("stdin is a terminal");
    assert_eq!(record_count(&env), 3);
}

/// `dbsync delete 1 2 ... n` on the terminal.
fn delete_on_terminal(env: &Env, pty: &Pty, n: usize) -> Child {
    let mut delete = cmd(env);
    delete.arg("delete");
    delete.args((1..=n).map(|id| id.to_string()));
    pty.spawn(delete)
}

#[test]
fn deleting_more_than_ten_records_on_a_terminal_asks_first() {
    let env = Env::seeded(30, TOKEN);

    // Answered no: nothing is deleted.
    let mut pty = Pty::open();
    let child = delete_on_terminal(&env, &pty, 11);
    pty.wait_for("Delete 11 records of `records`? This cannot be undone. [y/N] ");
    pty.type_line("n");
    let (code, _) = finish(child, &pty);
    assert_eq!(code, 1, "{}", pty.transcript());
    pty.wait_for("nothing was deleted");
    assert_eq!(record_count(&env), 30);

    // Answered yes: all eleven go.
    let mut pty = Pty::open();
    let child = delete_on_terminal(&env, &pty, 11);
    pty.wait_for("[y/N] ");
    pty.type_line("y");
    let (code, _) = finish(child, &pty);
    assert_eq!(code, 0, "{}", pty.transcript());
    assert_eq!(record_count(&env), 19);

    // Ten or fewer: no question (nothing is typed; it must finish by itself).
    let pty = Pty::open();
    let mut delete = cmd(&env);
    delete.arg("delete");
    delete.args((12..=21).map(|id| id.to_string()));
    let (code, _) = finish(pty.spawn(delete), &pty);
    assert_eq!(code, 0, "{}", pty.transcript());
    assert!(!pty.transcript().contains("[y/N]"));
    assert_eq!(record_count(&env), 9);
}
