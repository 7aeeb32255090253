//! The failures journal: one JSON Lines entry per record that was not saved (or may have been),
//! written as a run goes, each line flushed, so that a crash loses nothing already known.
//!
//! An entry has `line` (where the record was in the input), `record`, `error` (`code`,
//! `message`, `details`) and `outcome`: `"not_saved"` (refused, invalid or never sent: safe to
//! send again once fixed) or `"unknown"` (the server may have saved it). For a create whose
//! whole request went unanswered it also has that request's `idempotency_key`, `key_sent_at`
//! (RFC 3339 UTC, a lower bound of when the request was first sent), `request_position` and
//! `request_size`: the entries sharing a key are exactly that request's records, and
//! [`crate::Resource::resend`] sends them again as that request, with that key.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::durable::WriteOutcome;
use crate::error::Error;

/// What is known of a record in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JournalOutcome {
    /// Not saved: refused by the server, invalid, or never sent.
    NotSaved,
    /// The request was sent but its answer was lost or unreadable: it may have been saved.
    Unknown,
}

/// One line of a failures journal (fields in the order they are written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JournalEntry {
    /// Why the record failed: `{"code": status or null, "message": ..., "details": [...]}`.
    pub error: Value,
    /// With a whole lost create request: its `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    /// With the key: when the request was first sent (RFC 3339 UTC to the second).
    pub key_sent_at: Option<String>,
    /// Where the record was in the input (the caller's numbering, e.g. 1-based lines).
    pub line: u64,
    /// Not saved, or unknown.
    pub outcome: JournalOutcome,
    /// The record (as sent, or the line's text when it was not JSON).
    pub record: Value,
    /// With the key: the record's place in its request (0-based).
    pub request_position: Option<u64>,
    /// With the key: how many records the request carried.
    pub request_size: Option<u64>,
}

impl JournalEntry {
    /// A record found wanting before anything was sent (not JSON, invalid...): not saved.
    /// `error` is written as it is (see [`JournalEntry::error_json`] for the usual shape).
    pub fn not_saved(line: u64, record: Value, error: Value) -> Self {
        Self::new(line, record, error, JournalOutcome::NotSaved)
    }

    /// An entry with no request named.
    pub fn new(line: u64, record: Value, error: Value, outcome: JournalOutcome) -> Self {
        Self {
            error,
            idempotency_key: None,
            key_sent_at: None,
            line,
            outcome,
            record,
            request_position: None,
            request_size: None,
        }
    }

    /// The entry of a record that was not saved (`None` when it was), at `line`.
    pub fn from_outcome<T>(line: u64, outcome: &WriteOutcome<T>) -> Option<Self> {
        match outcome {
            WriteOutcome::Saved { .. } => None,
            WriteOutcome::Rejected { input, error, .. } => Some(Self::new(
                line,
                input.clone(),
                Self::error_json(error),
                JournalOutcome::NotSaved,
            )),
            WriteOutcome::Unknown {
                input,
                error,
                request,
                ..
            } => {
                let mut entry = Self::new(
                    line,
                    input.clone(),
                    Self::error_json(error),
                    JournalOutcome::Unknown,
                );
                if let Some(request) = request {
                    entry.idempotency_key = Some(request.idempotency_key.clone());
                    entry.key_sent_at =
                        Some(dbsync_contract::timestamp::format_seconds(request.sent_at));
                    entry.request_position = u64::try_from(request.position).ok();
                    entry.request_size = u64::try_from(request.size).ok();
                }
                Some(entry)
            }
        }
    }

    /// An error as a journal writes it: `{"code", "message", "details"}`.
    pub fn error_json(error: &Error) -> Value {
        json!({
            "code": error.status(),
            "message": error.to_string(),
            "details": error.details(),
        })
    }

    /// The error's message, when it has one.
    pub fn message(&self) -> Option<&str> {
        self.error.get("message").and_then(Value::as_str)
    }
}

/// A failures journal being written: each entry is one line, flushed as it is written.
///
/// ```
/// use dbsync_client::{Journal, JournalEntry};
/// let mut journal = Journal::new(Vec::new());
/// let error = serde_json::json!({"code": null, "message": "not a JSON object", "details": []});
/// journal.write(&JournalEntry::not_saved(3, serde_json::json!("oops"), error))?;
/// assert_eq!(journal.entries(), 1);
/// let text = String::from_utf8(journal.into_inner()?).unwrap();
/// assert!(text.ends_with("\"outcome\":\"not_saved\",\"record\":\"oops\",\"request_position\":null,\"request_size\":null}\n"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Journal<W: Write> {
    out: BufWriter<W>,
    entries: u64,
    unknown: u64,
}

impl Journal<File> {
    /// Creates (or truncates) the journal file at `path`, readable by its owner only (it holds
    /// records and idempotency keys; `0600` on unix, also for a file that existed).
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        dbsync_auth::private_file::create_private(path.as_ref()).map(Self::new)
    }
}

impl<W: Write> Journal<W> {
    /// A journal written to `out`.
    pub fn new(out: W) -> Self {
        Self {
            out: BufWriter::new(out),
            entries: 0,
            unknown: 0,
        }
    }

    /// Writes `entry` as one line and flushes it.
    pub fn write(&mut self, entry: &JournalEntry) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, entry)?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        self.entries += 1;
        if entry.outcome == JournalOutcome::Unknown {
            self.unknown += 1;
        }
        Ok(())
    }

    /// How many entries were written.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// How many of them have an unknown outcome.
    pub fn unknown(&self) -> u64 {
        self.unknown
    }

    /// Flushes and hands back the writer.
    pub fn into_inner(self) -> io::Result<W> {
        self.out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
    }
}
