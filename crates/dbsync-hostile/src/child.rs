//! [`run_child`]: runs a command with a kill deadline, keeps a bounded copy of its output, and
//! reports its own peak resident memory (`wait4`'s `ru_maxrss`, for that child alone).

use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The most bytes of each of stdout and stderr kept (the rest is counted, not kept).
pub const MAX_KEPT_OUTPUT: usize = 4 * 1024 * 1024;

/// How a child run ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct ChildRun {
    /// The exit code; `None` when a signal ended it (the deadline's kill among them).
    pub code: Option<i32>,
    /// Whether the deadline passed and the child was killed.
    pub killed: bool,
    /// The first [`MAX_KEPT_OUTPUT`] bytes of stdout.
    pub stdout: Vec<u8>,
    /// The first [`MAX_KEPT_OUTPUT`] bytes of stderr.
    pub stderr: Vec<u8>,
    /// How many bytes the child wrote to stdout in all.
    pub stdout_bytes: u64,
    /// How many bytes the child wrote to stderr in all.
    pub stderr_bytes: u64,
    /// The child's peak resident memory, in KiB.
    pub peak_rss_kib: u64,
    /// From spawn to exit.
    pub elapsed: Duration,
}

impl ChildRun {
    /// The kept stdout as (lossy) text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The kept stderr as (lossy) text.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The peak resident memory in MiB.
    pub fn peak_rss_mib(&self) -> u64 {
        self.peak_rss_kib / 1024
    }
}

/// Runs `command` (stdin from `/dev/null`, stdout and stderr captured), killing it when
/// `deadline` passes. Blocks the calling thread: call it from `spawn_blocking` under tokio.
pub fn run_child(mut command: Command, deadline: Duration) -> std::io::Result<ChildRun> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let pid = libc::pid_t::try_from(child.id()).map_err(std::io::Error::other)?;
    let mut killed = false;
    let (status, usage) = loop {
        let blocking = killed;
        if let Some(done) = wait4(pid, !blocking)? {
            break done;
        }
        if started.elapsed() > deadline {
            // Not reaped yet (WNOHANG said so), so the pid is still this child's.
            child.kill()?;
            killed = true;
        } else {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let elapsed = started.elapsed();
    let (stdout, stdout_bytes) = join(stdout);
    let (stderr, stderr_bytes) = join(stderr);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ok(ChildRun {
        code,
        killed,
        stdout,
        stderr,
        stdout_bytes,
        stderr_bytes,
        peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        elapsed,
    })
}

/// `wait4` on `pid`: its status and resource usage once it has ended; `None` while it runs
/// (when `no_hang`).
fn wait4(pid: libc::pid_t, no_hang: bool) -> std::io::Result<Option<(i32, libc::rusage)>> {
    let mut status = 0;
    // SAFETY: `rusage` is plain old data, valid when zeroed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let options = if no_hang { libc::WNOHANG } else { 0 };
    loop {
        // SAFETY: both pointers are to live locals of the right types.
        let reaped = unsafe { libc::wait4(pid, &mut status, options, &mut usage) };
        if reaped == pid {
            return Ok(Some((status, usage)));
        }
        if reaped == 0 {
            return Ok(None);
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

type Drained = JoinHandle<(Vec<u8>, u64)>;

/// Reads `pipe` to its end on a thread, keeping the first [`MAX_KEPT_OUTPUT`] bytes.
fn drain(mut pipe: impl std::io::Read + Send + 'static) -> Drained {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut total = 0u64;
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            total += n as u64;
            let room = MAX_KEPT_OUTPUT.saturating_sub(kept.len());
            kept.extend_from_slice(&buffer[..n.min(room)]);
        }
        (kept, total)
    })
}

fn join(drained: Option<Drained>) -> (Vec<u8>, u64) {
    drained
        .and_then(|handle| handle.join().ok())
        .unwrap_or_default()
}
