//! Where the failures of a bulk write go: the `--failed` journal (JSON Lines, one line per
//! record, each flushed as it is written: see [`dbsync_client::Journal`]) or one stderr line
//! each; and what the closing message advises.

use std::io::Write;
use std::path::Path;

use dbsync_client::{Journal, JournalEntry, JournalOutcome};
use serde_json::{Value, json};

use super::BulkMode;
use crate::exit::{CliError, Exit};
use crate::terminal_text;

/// The text dbsync-client adds to the error of a request whose outcome is unknown (so the
/// stderr line does not say it twice).
const UNKNOWN_OUTCOME_TEXT: &str = "the outcome is unknown";

/// One record that was not saved (or may not have been), with the exit class it makes.
pub(super) struct Failure {
    pub(super) entry: JournalEntry,
    pub(super) exit: Exit,
}

impl Failure {
    /// A failure found before anything was sent.
    pub(super) fn local(line: u64, record: Value, error: Value) -> Self {
        Self {
            entry: JournalEntry::not_saved(line, record, error),
            exit: Exit::Validation,
        }
    }
}

/// Where failures go: the `--failed` journal, or stderr lines.
pub(super) struct Failures<'a> {
    file: Option<(Journal<Box<dyn Write + Send>>, &'a Path)>,
    /// How many failed.
    pub(super) count: u64,
    /// How many of them have an unknown outcome.
    pub(super) unknown: u64,
    /// Validation when any record was invalid, else the class of the first failure.
    pub(super) class: Option<Exit>,
}

impl<'a> Failures<'a> {
    /// Failures written to a new file at `path` (created now, so that a path that cannot be
    /// written fails before anything is sent), or to stderr.
    pub(super) fn open(path: Option<&'a Path>) -> Result<Self, CliError> {
        let file = match path {
            Some(path) => {
                let file = dbsync_auth::private_file::create_private(path).map_err(|e| {
                    CliError::other(format!("cannot create {}: {e}", path.display()))
                })?;
                Some((Journal::new(Box::new(file) as Box<dyn Write + Send>), path))
            }
            None => None,
        };
        Ok(Self {
            file,
            count: 0,
            unknown: 0,
            class: None,
        })
    }

    pub(super) fn record(&mut self, failure: Failure) -> Result<(), CliError> {
        let Failure { entry, exit } = failure;
        self.count += 1;
        if entry.outcome == JournalOutcome::Unknown {
            self.unknown += 1;
        }
        self.class = Some(match self.class {
            None => exit,
            Some(_) if exit == Exit::Validation => Exit::Validation,
            Some(class) => class,
        });
        match &mut self.file {
            Some((journal, path)) => journal
                .write(&entry)
                .map_err(|e| failures_file_error(path, &e)),
            None => {
                let message = entry.message().unwrap_or("failed");
                let mut note = String::new();
                if entry.outcome == JournalOutcome::Unknown {
                    if !message.contains(UNKNOWN_OUTCOME_TEXT) {
                        note.push_str(
                            " (the outcome is unknown: it may have been saved; do not create it \
                             again blindly)",
                        );
                    }
                    if let Some(key) = entry
                        .idempotency_key
                        .as_deref()
                        .filter(|key| !message.contains(key))
                    {
                        note.push_str(&format!(" (Idempotency-Key `{key}`)"));
                    }
                }
                let message = terminal_text::server_message(message);
                eprintln!("dbsync: line {}: {message}{note}", entry.line);
                Ok(())
            }
        }
    }
}

/// A failure to write the `--failed` file: never a success, not even a closed pipe (the
/// failures would be lost).
fn failures_file_error(path: &Path, error: &dyn std::fmt::Display) -> CliError {
    CliError::other(format!(
        "cannot write the failures to {}: {error}",
        path.display()
    ))
}

/// A local error in the journal's shape (no status code).
pub(super) fn local_error(message: String, details: Value) -> Value {
    json!({"code": null, "message": message, "details": details})
}

/// How to send the failures written to `path` again.
pub(super) fn retry_advice(mode: BulkMode, resource: &str, path: &Path) -> String {
    let path = path.display();
    match mode {
        BulkMode::Create => {
            let resource = if resource == "records" {
                String::new()
            } else {
                format!(" --resource {resource}")
            };
            format!(
                "fix the invalid records in it, then send them all again with `dbsync resend \
                 {path}{resource} --failed NEW_FILE` (it creates the records not saved and \
                 sends each request lost as a whole again with its key, while under 23 hours \
                 old)"
            )
        }
        BulkMode::Update => format!(
            "retry the records not saved with `jq -c 'select(.outcome == \"not_saved\") | \
             .record' {path}`"
        ),
    }
}

/// What to do about records whose outcome is unknown.
pub(super) fn unknown_advice(mode: BulkMode, unknown: u64) -> String {
    match mode {
        BulkMode::Create => format!(
            ". {unknown} of the failed record(s) have an unknown outcome (\"outcome\": \
             \"unknown\"): the server may have saved them, so never create them again as new \
             records; `dbsync resend` sends those with an idempotency_key again with that key, \
             when the group is complete and unchanged and the key under 23 hours old (the server \
             then replays its first answer), and does not send the others: check whether they \
             exist"
        ),
        BulkMode::Update => format!(
            ". {unknown} of the failed update(s) have an unknown outcome (\"outcome\": \
             \"unknown\"): they may have been applied; an update is safe to send again"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn a_closed_pipe_as_the_failures_file_is_an_error() {
        let path = Path::new("failed.jsonl");
        let mut failures = Failures {
            file: Some((
                Journal::new(Box::new(ClosedPipe) as Box<dyn Write + Send>),
                path,
            )),
            count: 0,
            unknown: 0,
            class: None,
        };
        let failure = Failure::local(1, json!({}), local_error("bad".into(), json!([])));
        let error = failures.record(failure).expect_err("the failure is lost");
        assert_ne!(error.exit, Exit::Ok);
        assert!(error.message.contains("failed.jsonl"), "{}", error.message);
        assert_ne!(
            failures_file_error(path, &std::io::Error::from(std::io::ErrorKind::BrokenPipe)).exit,
            Exit::Ok
        );
    }
}
