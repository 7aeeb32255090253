//! Progress on stderr: bars, only when stderr is a terminal (nothing extra otherwise), and one
//! line for each long wait (a `Retry-After`, a rate-limit pause, a long backoff).

use std::io::IsTerminal as _;
use std::time::Duration;

use dbsync_client::WaitNotice;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The shortest wait announced on stderr.
pub const ANNOUNCED_WAIT: Duration = Duration::from_secs(2);

/// Prints one line on stderr for a wait of [`ANNOUNCED_WAIT`] or more, such as `dbsync: waiting
/// 30 s (the server asked us to slow down: 429 Retry-After)`, so that a long pause is never
/// silent. The connection's wait observer.
pub fn announce_wait(notice: &WaitNotice) {
    if notice.wait >= ANNOUNCED_WAIT {
        eprintln!("dbsync: {notice}");
    }
}

/// A bar of `total` items (or a spinner with a count and rate when the total is unknown),
/// hidden unless stderr is a terminal.
pub fn bar(total: Option<u64>, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, ETA {eta})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        }
        None => {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {pos} ({per_sec})") {
                bar.set_style(style);
            }
            bar
        }
    };
    bar.set_message(what.to_owned());
    bar
}

/// Turns a spinner into a bar of `total` items once the total is known.
pub fn set_total(bar: &ProgressBar, total: u64) {
    if bar.is_hidden() {
        return;
    }
    bar.set_length(total);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, ETA {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
}
