//! The destination: `write` reads `RECORD` and `STATE` messages from standard input, writes
//! each stream's records to the resource of the same name with durable bulk writes (batches
//! with an `Idempotency-Key`, failures to a journal), and echoes a `STATE` only once every
//! record before it is stored.
//!
//! Records are buffered (at most [`WriteOptions::max_buffered_records`] records and
//! [`WriteOptions::max_buffered_bytes`] bytes) and written when the buffer is full, at each
//! `STATE` and at the end of the input. A write with a failed record (refused by the server,
//! or whose outcome stays unknown after the retries) stops the run after journaling it: no
//! later `STATE` is echoed. Bad input (a line that is not JSON, too long, cut off by the end
//! of the input, a `RECORD` of a stream the catalog does not name) stops the run before the
//! records buffered since the last `STATE` are written, so that a rerun from that state sends
//! them again and nothing is stored twice. So does a record that does not match its stream's
//! `json_schema` in the configured catalog ([`WriteOptions::validate_records`], on by default;
//! see [`crate::record_check`]), after it is written to the stream's failures journal.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use dbsync_client::{BatchOptions, Connection, Journal, JournalEntry, WriteOutcome};
use futures::StreamExt as _;
use serde_json::Value;
use tokio::io::AsyncBufRead;

use super::catalog::ConfiguredCatalog;
use super::error::{AirbyteError, output_error};
use super::message::{self, Emitter};
use crate::error::ConnectorError;
use crate::lines::{LineReader, MAX_LINE_BYTES};
use crate::record_check::{RecordSchema, ready_to_send};

/// The most records buffered before they are written, by default.
pub const DEFAULT_MAX_BUFFERED_RECORDS: usize = 5000;
/// The most bytes of records buffered before they are written, by default (64 MiB).
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 64 * 1024 * 1024;

/// How `write` runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WriteOptions {
    /// The longest input line, in bytes.
    pub max_line_bytes: usize,
    /// Records buffered before they are written.
    pub max_buffered_records: usize,
    /// Bytes of records buffered before they are written.
    pub max_buffered_bytes: usize,
    /// Where the failures journals go: `<dir>/dbsync-airbyte-<stream>-failed.jsonl`, created
    /// on the first failure of that stream.
    pub failed_dir: PathBuf,
    /// How the batches are sent.
    pub batch: BatchOptions,
    /// Whether each record is checked against its stream's `json_schema` before it is sent.
    pub validate_records: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            max_line_bytes: MAX_LINE_BYTES,
            max_buffered_records: DEFAULT_MAX_BUFFERED_RECORDS,
            max_buffered_bytes: DEFAULT_MAX_BUFFERED_BYTES,
            failed_dir: PathBuf::from("."),
            batch: BatchOptions::default(),
            validate_records: true,
        }
    }
}

impl WriteOptions {
    /// The failures journals go to `dir`.
    pub fn failed_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.failed_dir = dir.into();
        self
    }

    /// Write once `records` records (at least 1) are buffered.
    pub fn max_buffered_records(mut self, records: usize) -> Self {
        self.max_buffered_records = records.max(1);
        self
    }

    /// Check each record against its stream's `json_schema` (default), or send it unchecked.
    pub fn validate_records(mut self, validate: bool) -> Self {
        self.validate_records = validate;
        self
    }

    /// The longest input line (at least 1 byte).
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = bytes.max(1);
        self
    }
}

/// What a write did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteReport {
    /// `RECORD` messages read.
    pub records: u64,
    /// Records the server stored.
    pub stored: u64,
    /// Records journaled (refused, or outcome unknown).
    pub failed: u64,
    /// `STATE` messages echoed.
    pub states: u64,
}

/// The path of the failures journal of `stream`.
pub fn journal_path(options: &WriteOptions, stream: &str) -> PathBuf {
    options
        .failed_dir
        .join(format!("dbsync-airbyte-{stream}-failed.jsonl"))
}

/// Records waiting to be written: per stream, `(input line, record)` in input order.
#[derive(Default)]
struct Buffer {
    streams: BTreeMap<String, Vec<(u64, Value)>>,
    records: usize,
    bytes: usize,
}

/// `write`: see the module documentation.
pub async fn write<R: AsyncBufRead + Unpin, W: Write>(
    connection: &Connection,
    catalog: &ConfiguredCatalog,
    input: R,
    options: &WriteOptions,
    out: &mut Emitter<W>,
) -> Result<WriteReport, AirbyteError> {
    for stream in &catalog.streams {
        if stream.destination_sync_mode != "append" {
            return Err(AirbyteError::config(format!(
                "stream `{}`: destination sync mode `{}` is not supported (only append)",
                stream.name, stream.destination_sync_mode
            ))
            .in_stream(&stream.name));
        }
        connection
            .resource::<Value>(&stream.name)
            .map_err(|e| AirbyteError::from_client("stream", &e).in_stream(&stream.name))?;
    }
    let mut schemas: BTreeMap<&str, RecordSchema> = BTreeMap::new();
    if options.validate_records {
        for stream in &catalog.streams {
            let schema = RecordSchema::compile(&stream.json_schema).map_err(|reason| {
                AirbyteError::config(format!(
                    "stream `{}`: its json_schema is not a usable JSON Schema ({reason}); \
                     write with --no-validate-records to send its records unchecked",
                    stream.name
                ))
                .in_stream(&stream.name)
            })?;
            schemas.insert(&stream.name, schema);
        }
    }
    let mut report = WriteReport::default();
    let mut buffer = Buffer::default();
    let mut lines = LineReader::new(input, options.max_line_bytes);
    loop {
        let Some((number, line)) = lines.next_line().await.map_err(|e| match e {
            ConnectorError::Input { .. } => AirbyteError::system(format!(
                "{e}: the records since the last STATE were not written"
            )),
            other => AirbyteError::system(format!("cannot read standard input: {other}")),
        })?
        else {
            break;
        };
        let mut message: Value = serde_json::from_str(line).map_err(|e| {
            AirbyteError::system(format!(
                "line {number} is not a JSON message ({e}): the records since the last STATE \
                 were not written"
            ))
        })?;
        let size = line.len();
        match message.get("type").and_then(Value::as_str) {
            Some("RECORD") => {
                let (stream, data) = take_record(&mut message, number, catalog, &schemas)
                    .map_err(|invalid| invalid.journal(options))?;
                report.records += 1;
                buffer.bytes += size;
                buffer.records += 1;
                buffer
                    .streams
                    .entry(stream)
                    .or_default()
                    .push((number, data));
                if buffer.records >= options.max_buffered_records
                    || buffer.bytes >= options.max_buffered_bytes
                {
                    flush(connection, &mut buffer, options, &mut report).await?;
                }
            }
            Some("STATE") => {
                flush(connection, &mut buffer, options, &mut report).await?;
                out.emit_now(&message).map_err(output_error)?;
                report.states += 1;
            }
            Some(_) => {}
            None => {
                return Err(AirbyteError::system(format!(
                    "line {number} is not an Airbyte message (no `type`)"
                )));
            }
        }
    }
    flush(connection, &mut buffer, options, &mut report).await?;
    out.emit_now(&message::log(
        "INFO",
        &format!(
            "{} records read, {} stored, {} STATE echoed",
            report.records, report.stored, report.states
        ),
    ))
    .map_err(output_error)?;
    Ok(report)
}

/// Why a `RECORD` was not taken.
enum NotTaken {
    /// Not a record of the catalog's streams.
    Bad(AirbyteError),
    /// It does not match its stream's schema: the journal entry to write.
    Mismatch {
        stream: String,
        line: u64,
        entry: Box<JournalEntry>,
    },
}

impl From<AirbyteError> for NotTaken {
    fn from(error: AirbyteError) -> Self {
        Self::Bad(error)
    }
}

impl NotTaken {
    /// The run's error, once a mismatched record is in its stream's journal.
    fn journal(self, options: &WriteOptions) -> AirbyteError {
        let (stream, line, entry) = match self {
            Self::Bad(error) => return error,
            Self::Mismatch {
                stream,
                line,
                entry,
            } => (stream, line, entry),
        };
        let path = journal_path(options, &stream);
        if let Err(error) = append_to_journal(&mut None, &path, &entry) {
            return error.in_stream(&stream);
        }
        AirbyteError::system(format!(
            "line {line}: {}; the record is in the journal {}; the records buffered since the \
             last write were not sent and no STATE is echoed past it",
            entry.message().unwrap_or_default(),
            path.display()
        ))
        .in_stream(&stream)
    }
}

/// The stream and data of a `RECORD` message, checked against the stream's schema (when
/// `schemas` has it) and without the fields the server sets.
fn take_record(
    message: &mut Value,
    number: u64,
    catalog: &ConfiguredCatalog,
    schemas: &BTreeMap<&str, RecordSchema>,
) -> Result<(String, Value), NotTaken> {
    let record = message.get_mut("record");
    let stream = record
        .as_ref()
        .and_then(|r| r.get("stream"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(stream) = stream else {
        return Err(
            AirbyteError::system(format!("line {number}: a RECORD without record.stream")).into(),
        );
    };
    if !catalog.streams.iter().any(|s| s.name == stream) {
        return Err(AirbyteError::config(format!(
            "line {number}: a RECORD of stream `{stream}`, which the catalog does not name"
        ))
        .in_stream(&stream)
        .into());
    }
    let data = record.and_then(|r| r.get_mut("data")).map(Value::take);
    let Some(data @ Value::Object(_)) = data else {
        return Err(
            AirbyteError::system(format!("line {number}: record.data is not an object"))
                .in_stream(&stream)
                .into(),
        );
    };
    let (data, mismatch) = ready_to_send(schemas.get(stream.as_str()), &stream, data);
    if let Some(error) = mismatch {
        return Err(NotTaken::Mismatch {
            entry: Box::new(JournalEntry::not_saved(number, data, error)),
            stream,
            line: number,
        });
    }
    Ok((stream, data))
}

/// Writes `entry` to the journal at `path`, creating (truncating) it when `journal` is none.
fn append_to_journal(
    journal: &mut Option<Journal<File>>,
    path: &std::path::Path,
    entry: &JournalEntry,
) -> Result<(), AirbyteError> {
    if journal.is_none() {
        *journal = Some(Journal::create(path).map_err(|e| {
            AirbyteError::system(format!("cannot create the journal {}: {e}", path.display()))
        })?);
    }
    if let Some(journal) = journal.as_mut() {
        journal.write(entry).map_err(|e| {
            AirbyteError::system(format!("cannot write the journal {}: {e}", path.display()))
        })?;
    }
    Ok(())
}

/// Writes every buffered record; journals the failures and then fails.
async fn flush(
    connection: &Connection,
    buffer: &mut Buffer,
    options: &WriteOptions,
    report: &mut WriteReport,
) -> Result<(), AirbyteError> {
    let streams = std::mem::take(&mut buffer.streams);
    buffer.records = 0;
    buffer.bytes = 0;
    let mut failed = Vec::new();
    for (stream, records) in streams {
        let resource = connection
            .resource::<Value>(&stream)
            .map_err(|e| AirbyteError::from_client("stream", &e).in_stream(&stream))?;
        let (lines, values): (Vec<u64>, Vec<Value>) = records.into_iter().unzip();
        let mut outcomes = resource.create_stream(futures::stream::iter(values), &options.batch);
        let mut journal = None;
        let mut stream_failed = 0u64;
        while let Some(outcome) = outcomes.next().await {
            if let WriteOutcome::Saved { .. } = outcome {
                report.stored += 1;
                continue;
            }
            let index = usize::try_from(outcome.index()).unwrap_or(usize::MAX);
            let line = lines.get(index).copied().unwrap_or(0);
            let Some(entry) = JournalEntry::from_outcome(line, &outcome) else {
                continue;
            };
            append_to_journal(&mut journal, &journal_path(options, &stream), &entry)?;
            stream_failed += 1;
        }
        if stream_failed > 0 {
            report.failed += stream_failed;
            failed.push(format!(
                "{stream_failed} records of stream `{stream}` were not stored (journal {})",
                journal_path(options, &stream).display()
            ));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(AirbyteError::system(format!(
            "{}; no STATE is echoed past them: fix them and send the journal with `dbsync \
             resend FILE -r STREAM`",
            failed.join("; ")
        )))
    }
}
