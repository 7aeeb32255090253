//! `dbsync target`: Singer messages from standard input into DBSync. Each stream's records go
//! to the resource it maps to (config `stream_map`, default the stream's own name) through
//! dbsync-client's durable bulk writes (100 records a request, each request with its own
//! `Idempotency-Key`, so a lost answer never creates a record twice). Server fields (`id`,
//! `created_at`, `updated_at`) are left out of what is sent: the destination assigns its own.
//!
//! Each `RECORD` is first checked against its stream's latest `SCHEMA` (config
//! `validate_records`, default `true`; see [`crate::record_check`]). A record that does not
//! match goes to the failures journal and stops the run before the records buffered with it
//! are written, with no state past it
//! ([`ConnectorError::RecordInvalid`](crate::error::ConnectorError::RecordInvalid)). A rerun
//! from the last state sends again what was read since: once for the buffered records, a
//! second time for records already written because the buffer filled after that state.
//!
//! Records are buffered up to `batch_size` (all streams together) and
//! [`MAX_BUFFERED_BYTES`](crate::singer::target::MAX_BUFFERED_BYTES) of input lines, and written
//! when the buffer is full, at each `STATE` and at the end. A `STATE`'s value is written to
//! standard output (one JSON line, the Singer target convention) only once every record before
//! it is stored. The first record that is not stored (refused, or its outcome unknown) goes to
//! the failures journal with the rest of its batch's failures; then the target stops reading,
//! emits no further state, and fails with
//! [`ConnectorError::RecordsFailed`](crate::error::ConnectorError::RecordsFailed).

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use dbsync_client::{BatchOptions, Connection, Journal, JournalEntry, Resource, WriteOutcome};
use futures::StreamExt as _;
use serde_json::{Map, Value};
use tokio::io::AsyncBufRead;

use super::state::MAX_STATE_BYTES;
use crate::config::ConnectorConfig;
use crate::error::ConnectorError;
use crate::lines::LineReader;
use crate::record_check::{RecordSchema, ready_to_send};

/// The target's own config keys.
pub const TARGET_KEYS: [&str; 4] = [
    "stream_map",
    "failures_journal",
    "batch_size",
    "validate_records",
];
/// The failures journal, by default.
pub const DEFAULT_JOURNAL: &str = "dbsync-target-failures.jsonl";
/// Records buffered (all streams) before they are written, by default.
pub const DEFAULT_BATCH_SIZE: u64 = 1000;
/// The most records buffered.
pub const MAX_BATCH_SIZE: u64 = 100_000;
/// The most streams one run may see.
pub const MAX_STREAMS: usize = 1000;
/// The most bytes of `RECORD` lines buffered before they are written (64 MiB).
pub const MAX_BUFFERED_BYTES: usize = 64 * 1024 * 1024;

/// What a target run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TargetSummary {
    /// `RECORD` messages read.
    pub records: u64,
    /// Records stored.
    pub stored: u64,
    /// Records not stored (in the journal).
    pub failed: u64,
    /// Of those, records whose outcome is unknown.
    pub unknown: u64,
    /// States written to the output.
    pub states: u64,
}

/// Reads the config of a target.
pub fn read_config(path: &std::path::Path) -> Result<ConnectorConfig, ConnectorError> {
    ConnectorConfig::from_file(path, &TARGET_KEYS)
}

struct StreamInfo {
    resource: Resource<Value>,
    /// The stream's latest `SCHEMA`, compiled (none when records are not checked).
    schema: Option<RecordSchema>,
}

/// The target's run over `input`, writing states to `out`.
pub struct Target<W: Write> {
    connection: Connection,
    stream_map: HashMap<String, String>,
    journal_path: PathBuf,
    journal: Option<Journal<File>>,
    batch_size: usize,
    validate: bool,
    options: BatchOptions,
    streams: HashMap<String, StreamInfo>,
    /// Buffered records: stream, input line, record.
    buffer: Vec<(String, u64, Value)>,
    /// The input bytes of the buffered records.
    buffered_bytes: usize,
    out: W,
    summary: TargetSummary,
}

impl<W: Write> Target<W> {
    /// A target from its config, writing states to `out`.
    pub fn new(config: &ConnectorConfig, out: W) -> Result<Self, ConnectorError> {
        let stream_map = match config.get("stream_map") {
            None | Some(Value::Null) => HashMap::new(),
            Some(Value::Object(map)) => {
                let mut out = HashMap::new();
                for (stream, resource) in map {
                    let resource = resource
                        .as_str()
                        .filter(|r| dbsync_client::contract::is_valid_resource_name(r));
                    let Some(resource) = resource else {
                        return Err(ConnectorError::Config(format!(
                            "stream_map.{stream} must be a resource name"
                        )));
                    };
                    out.insert(stream.clone(), resource.to_owned());
                }
                out
            }
            Some(_) => {
                return Err(ConnectorError::Config(
                    "stream_map must be an object {stream: resource}".into(),
                ));
            }
        };
        let journal_path = match config.get("failures_journal") {
            None | Some(Value::Null) => PathBuf::from(DEFAULT_JOURNAL),
            Some(Value::String(path)) if !path.is_empty() => PathBuf::from(path),
            Some(_) => {
                return Err(ConnectorError::Config(
                    "failures_journal must be a file path".into(),
                ));
            }
        };
        let batch_size = config.positive("batch_size", DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE)?;
        let validate = match config.get("validate_records") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(validate)) => *validate,
            Some(_) => {
                return Err(ConnectorError::Config(
                    "validate_records must be true or false".into(),
                ));
            }
        };
        Ok(Self {
            connection: config.connect()?,
            stream_map,
            journal_path,
            journal: None,
            batch_size: usize::try_from(batch_size).unwrap_or(1000),
            validate,
            options: BatchOptions::default(),
            streams: HashMap::new(),
            buffer: Vec::new(),
            buffered_bytes: 0,
            out,
            summary: TargetSummary::default(),
        })
    }

    /// Reads every message of `input` (lines of at most `max_line` bytes).
    pub async fn run<R: AsyncBufRead + Unpin>(
        mut self,
        input: R,
        max_line: usize,
    ) -> Result<TargetSummary, ConnectorError> {
        let mut lines = LineReader::new(input, max_line);
        while let Some((number, line)) = lines.next_line().await? {
            let size = line.len();
            match super::messages::parse_line(number, line)? {
                super::messages::Message::Schema { stream, schema } => {
                    self.schema(number, stream, &schema)?;
                }
                super::messages::Message::Record { stream, record } => {
                    self.record(number, &stream, record)?;
                    self.buffered_bytes = self.buffered_bytes.saturating_add(size);
                    if (self.buffer.len() >= self.batch_size
                        || self.buffered_bytes >= MAX_BUFFERED_BYTES)
                        && !self.flush().await?
                    {
                        return Err(self.failed());
                    }
                }
                super::messages::Message::State { value } => {
                    if !self.flush().await? {
                        return Err(self.failed());
                    }
                    self.state(number, &value)?;
                }
                super::messages::Message::Ignored => {}
            }
        }
        if !self.flush().await? {
            return Err(self.failed());
        }
        Ok(self.summary)
    }

    fn failed(&self) -> ConnectorError {
        ConnectorError::RecordsFailed {
            failed: self.summary.failed,
            unknown: self.summary.unknown,
            journal: self.journal_path.display().to_string(),
        }
    }

    /// A `SCHEMA`: the stream's resource on its first, the records' schema on every one (a
    /// stream's schema may change during a run; the latest applies).
    fn schema(&mut self, line: u64, stream: String, schema: &Value) -> Result<(), ConnectorError> {
        let compile = |validate: bool| -> Result<Option<RecordSchema>, ConnectorError> {
            if !validate {
                return Ok(None);
            }
            RecordSchema::compile(schema)
                .map(Some)
                .map_err(|reason| ConnectorError::Input {
                    line,
                    message: format!(
                        "the SCHEMA of stream `{}` is not a usable JSON Schema ({reason}); \
                         set validate_records to false to send its records unchecked",
                        stream.chars().take(64).collect::<String>()
                    ),
                })
        };
        if let Some(info) = self.streams.get_mut(&stream) {
            if info.schema.as_ref().is_some_and(|s| !s.is_from(schema)) {
                info.schema = compile(self.validate)?;
            }
            return Ok(());
        }
        if self.streams.len() >= MAX_STREAMS {
            return Err(ConnectorError::Input {
                line,
                message: format!("more than {MAX_STREAMS} streams"),
            });
        }
        let name = self.stream_map.get(&stream).unwrap_or(&stream);
        let resource = self
            .connection
            .resource(name)
            .map_err(|e| ConnectorError::Input {
                line,
                message: format!(
                    "stream `{}` maps to no valid resource ({e}); map it with stream_map",
                    stream.chars().take(64).collect::<String>()
                ),
            })?;
        let schema = compile(self.validate)?;
        self.streams.insert(stream, StreamInfo { resource, schema });
        Ok(())
    }

    fn record(
        &mut self,
        line: u64,
        stream: &str,
        record: Map<String, Value>,
    ) -> Result<(), ConnectorError> {
        let Some(info) = self.streams.get(stream) else {
            return Err(ConnectorError::Input {
                line,
                message: format!(
                    "RECORD for stream `{}` before its SCHEMA",
                    stream.chars().take(64).collect::<String>()
                ),
            });
        };
        let (record, mismatch) = ready_to_send(info.schema.as_ref(), stream, Value::Object(record));
        self.summary.records += 1;
        if let Some(error) = mismatch {
            let entry = JournalEntry::not_saved(line, record, error);
            self.journal_entry(&entry)?;
            return Err(ConnectorError::RecordInvalid {
                line,
                reason: entry.message().unwrap_or_default().to_owned(),
                journal: self.journal_path.display().to_string(),
            });
        }
        self.buffer.push((stream.to_owned(), line, record));
        Ok(())
    }

    fn state(&mut self, line: u64, value: &Value) -> Result<(), ConnectorError> {
        let text = serde_json::to_string(value).map_err(|e| ConnectorError::Input {
            line,
            message: format!("the state cannot be written: {e}"),
        })?;
        if text.len() > MAX_STATE_BYTES {
            return Err(ConnectorError::Input {
                line,
                message: format!("the state is larger than {MAX_STATE_BYTES} bytes"),
            });
        }
        writeln!(self.out, "{text}")
            .and_then(|()| self.out.flush())
            .map_err(|e| ConnectorError::io("cannot write the state", e))?;
        self.summary.states += 1;
        Ok(())
    }

    /// Writes every buffered record; `false` when any was not stored (they are journaled).
    async fn flush(&mut self) -> Result<bool, ConnectorError> {
        let buffer = std::mem::take(&mut self.buffer);
        self.buffered_bytes = 0;
        let mut ok = true;
        // One durable write per stream, in order of first appearance.
        let mut groups: Vec<(String, Vec<u64>, Vec<Value>)> = Vec::new();
        let mut group_of: HashMap<String, usize> = HashMap::new();
        for (stream, line, record) in buffer {
            match group_of.get(&stream).and_then(|&at| groups.get_mut(at)) {
                Some((_, lines, records)) => {
                    lines.push(line);
                    records.push(record);
                }
                None => {
                    group_of.insert(stream.clone(), groups.len());
                    groups.push((stream, vec![line], vec![record]));
                }
            }
        }
        for (stream, lines, records) in groups {
            let Some(info) = self.streams.get(&stream) else {
                continue;
            };
            let mut outcomes = info
                .resource
                .create_stream(futures::stream::iter(records), &self.options);
            while let Some(outcome) = outcomes.next().await {
                if let WriteOutcome::Saved { .. } = outcome {
                    self.summary.stored += 1;
                    continue;
                }
                ok = false;
                let index = usize::try_from(outcome.index()).unwrap_or(usize::MAX);
                let line = lines.get(index).copied().unwrap_or_default();
                if let Some(entry) = JournalEntry::from_outcome(line, &outcome) {
                    self.journal_entry(&entry)?;
                }
            }
        }
        Ok(ok)
    }

    fn journal_entry(&mut self, entry: &JournalEntry) -> Result<(), ConnectorError> {
        let what = || {
            format!(
                "cannot write the failures journal `{}`",
                self.journal_path.display()
            )
        };
        if self.journal.is_none() {
            self.journal = Some(
                Journal::create(&self.journal_path).map_err(|e| ConnectorError::io(what(), e))?,
            );
        }
        if let Some(journal) = &mut self.journal {
            journal
                .write(entry)
                .map_err(|e| ConnectorError::io(what(), e))?;
            self.summary.failed = journal.entries();
            self.summary.unknown = journal.unknown();
        }
        Ok(())
    }
}
