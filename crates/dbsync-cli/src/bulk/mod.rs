//! Bulk create and update from a file, and `dbsync resend`: thin users of dbsync-client's
//! durable bulk writes ([`Resource::create_stream`], [`Resource::update_stream`],
//! [`Resource::resend`]). Records are read as requests can carry them (bounded memory), saved
//! records go to stdout, and every failure to the `--failed` journal (JSON Lines: line,
//! record, error, outcome, idempotency_key, key_sent_at, request_position, request_size; see
//! [`dbsync_client::Journal`]) or to stderr, so nothing is lost.
//!
//! A failure is either `"not_saved"` (refused, invalid, or never sent: safe to send again once
//! fixed) or `"unknown"` (the server may have saved it). For a create whose whole batch
//! request went unanswered, the lines carry that request's `Idempotency-Key`, and `dbsync
//! resend` sends them again as that request with that key, never as new records (the rules are
//! dbsync-client's, see [`Resource::resend`]).

mod failures;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead as _, BufReader, IsTerminal as _};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use dbsync_client::{
    BatchOptions, JournalEntry, JournalLine, ResendOptions, ResendOutcome, Resource, Schema,
    WriteOutcome,
};
use futures::StreamExt as _;
use indicatif::ProgressBar;
use serde_json::{Map, Value, json};

use crate::exit::{CliError, Exit, class_of, report_write};
use crate::input::{Input, InputRecord};
use crate::output::{Format, RecordWriter};
use crate::progress;
use failures::{Failure, Failures, local_error, retry_advice, unknown_advice};

/// How many failures found before sending (bad lines) may wait for the records before them to
/// be settled; past it the records read so far are settled first (the journal stays in line
/// order and memory stays bounded).
const MAX_WAITING_FAILURES: usize = 1000;

/// Create or update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMode {
    /// `POST /v1/{resource}/batch`
    Create,
    /// `PUT /v1/{resource}/batch`, each record carrying its `id`.
    Update,
}

/// What the input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Records to write (`dbsync create|update --file`).
    Records,
    /// The `--failed` file of a `dbsync create` (`dbsync resend`; always with
    /// [`BulkMode::Create`]).
    Failures,
}

/// A record without its `id` (what an update patch is checked as).
pub fn without_id(record: &Value) -> Value {
    match record {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| *k != "id")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The number of records in a file, for the progress bar (non-blank lines; array elements are
/// not counted, and stdin is unknown).
pub fn count_records(file: &Path) -> Option<u64> {
    if file.as_os_str() == "-" {
        return None;
    }
    let reader = BufReader::new(File::open(file).ok()?);
    let mut count = 0;
    for line in reader.split(b'\n') {
        if !line.ok()?.iter().all(u8::is_ascii_whitespace) {
            count += 1;
        }
    }
    Some(count)
}

/// How a bulk write runs.
pub struct Options<'a> {
    /// Create or update.
    pub mode: BulkMode,
    /// What the input holds.
    pub source: Source,
    /// Check records against this schema first (`--validate`).
    pub schema: Option<Schema>,
    /// The `--failed` file.
    pub failed: Option<&'a Path>,
    /// The output format of saved records.
    pub format: Format,
    /// The number of records, for the progress bar, when known.
    pub total: Option<u64>,
    /// Batch requests in flight at once.
    pub concurrency: usize,
}

/// What a run has done so far.
struct Run<'a, W: std::io::Write> {
    failures: Failures<'a>,
    writer: RecordWriter<W>,
    bar: ProgressBar,
    /// Input lines handled (for the progress bar).
    done: u64,
    saved: u64,
}

impl<W: std::io::Write> Run<'_, W> {
    fn saved(&mut self, record: &Value) -> Result<(), CliError> {
        self.saved += 1;
        self.tick();
        report_write(self.writer.write(record))
    }

    fn failed(&mut self, failure: Failure) -> Result<(), CliError> {
        self.tick();
        self.failures.record(failure)
    }

    fn tick(&mut self) {
        self.done += 1;
        self.bar.set_position(self.done);
    }
}

/// Sends every record of `input`, writing saved records to stdout and failures to the
/// `--failed` file (or stderr).
pub async fn run(
    resource: &Resource<Value>,
    input: Input,
    options: Options<'_>,
) -> Result<(), CliError> {
    let Options {
        mode,
        source,
        schema,
        failed,
        format,
        total,
        concurrency,
    } = options;
    let (doing, verb) = match (source, mode) {
        (Source::Failures, _) => ("resending", "saved"),
        (Source::Records, BulkMode::Create) => ("creating", "created"),
        (Source::Records, BulkMode::Update) => ("updating", "updated"),
    };
    let stdout = std::io::stdout();
    let mut run = Run {
        failures: Failures::open(failed)?,
        writer: RecordWriter::new(stdout.lock(), format),
        bar: progress::bar(total, doing),
        done: 0,
        saved: 0,
    };
    let batch = BatchOptions::default().concurrency(concurrency);
    let seen = match source {
        Source::Records => write_records(resource, input, mode, schema, &batch, &mut run).await?,
        Source::Failures => resend(resource, input, schema, batch, &mut run).await?,
    };
    run.bar.finish_and_clear();
    report_write(run.writer.finish())?;
    let failures = run.failures;
    match failures.class {
        None => {
            if std::io::stderr().is_terminal() {
                eprintln!("{verb} {} record(s)", run.saved);
            }
            Ok(())
        }
        Some(class) => {
            let whereto = match failed {
                Some(path) => format!(
                    "written to {} (JSON Lines: line, record, error, outcome, idempotency_key); \
                     {}",
                    path.display(),
                    retry_advice(mode, resource.name(), path)
                ),
                None => "listed above (use --failed FILE to keep them)".to_owned(),
            };
            let mut message = format!(
                "{verb} {} of {seen} record(s); {} failed, {whereto}",
                run.saved, failures.count
            );
            if failures.unknown > 0 {
                message.push_str(&unknown_advice(mode, failures.unknown));
            }
            Err(CliError::new(class, message))
        }
    }
}

/// How many input lines the reading thread may read ahead of the requests.
const LINES_AHEAD: usize = 1024;

/// The input's lines, read on a thread of their own (see [`read_on_a_thread`]).
type Lines = tokio::sync::mpsc::Receiver<Result<InputRecord, CliError>>;

/// Reads `input` on a thread of its own, so that a slow pipe never holds up the task that
/// polls the requests in flight; at most [`LINES_AHEAD`] lines wait in between. The thread
/// stops at the end of the input, at a read error, or when the run stops taking lines.
fn read_on_a_thread(input: Input) -> Lines {
    let (lines, receiver) = tokio::sync::mpsc::channel(LINES_AHEAD);
    std::thread::spawn(move || {
        for item in input {
            let failed = item.is_err();
            if lines.blocking_send(item).is_err() || failed {
                break;
            }
        }
    });
    receiver
}

/// What the reader of the input shares with the writer of the outcomes: the lines of the
/// records handed to the library (their outcomes come in that order), the failures found
/// before sending (waiting for the records before them), and how reading ended.
#[derive(Default)]
struct Feed {
    lines: VecDeque<u64>,
    waiting: VecDeque<Failure>,
    seen: u64,
    ended: bool,
    /// The run failed (stdout or the journal): no more lines are taken.
    stopped: bool,
    error: Option<CliError>,
}

impl Feed {
    /// Sorts out one input line: a record to send (with its id, for an update), or a failure
    /// that waits for the records before it.
    fn take(
        &mut self,
        InputRecord { line, value }: InputRecord,
        mode: BulkMode,
        schema: Option<&Schema>,
    ) -> Option<(String, Value)> {
        self.seen += 1;
        let checked = match value {
            Err((message, raw)) => Err(Failure::local(
                line,
                Value::String(raw),
                local_error(message, json!([])),
            )),
            Ok(record) => match check(&record, mode, schema) {
                Ok(()) => Ok(record),
                Err(error) => Err(Failure::local(line, record, error)),
            },
        };
        match checked {
            Ok(record) => {
                self.lines.push_back(line);
                let id = record.as_object().and_then(id_of).unwrap_or_default();
                Some((id, record))
            }
            Err(failure) => {
                self.waiting.push_back(failure);
                None
            }
        }
    }

    /// Whether this round takes no more lines: the run stopped, or too many failures wait.
    fn round_is_full(&self) -> bool {
        self.stopped || self.waiting.len() >= MAX_WAITING_FAILURES
    }

    /// The waiting failures of lines up to `line` (all of them with `None`); a bad element
    /// of a JSON array goes before a record that starts on the same line, as it was read first.
    fn failures_before(&mut self, line: Option<u64>) -> Vec<Failure> {
        let count = self
            .waiting
            .iter()
            .take_while(|failure| line.is_none_or(|line| failure.entry.line <= line))
            .count();
        self.waiting.drain(..count).collect()
    }
}

/// The feed, locked. It is only used on the run's task; a panic elsewhere cannot leave it
/// half-done.
fn lock(feed: &Mutex<Feed>) -> std::sync::MutexGuard<'_, Feed> {
    feed.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The next record to send, sorting out bad lines on the way; `None` at the end of the input,
/// on a read error, or when the round is full (its records are then settled and written, and
/// the next round goes on reading).
async fn next_record(
    lines: &tokio::sync::Mutex<Lines>,
    feed: &Mutex<Feed>,
    mode: BulkMode,
    schema: Option<&Schema>,
) -> Option<(String, Value)> {
    let mut lines = lines.lock().await;
    loop {
        if lock(feed).round_is_full() {
            return None;
        }
        let item = lines.recv().await;
        let mut feed = lock(feed);
        match item {
            None => {
                feed.ended = true;
                return None;
            }
            Some(Err(error)) => {
                feed.ended = true;
                feed.error = Some(error);
                return None;
            }
            Some(Ok(line)) => {
                if let Some(record) = feed.take(line, mode, schema) {
                    return Some(record);
                }
            }
        }
    }
}

/// `dbsync create|update --file`: the records through [`Resource::create_stream`] or
/// [`Resource::update_stream`], in rounds that end only when bad lines pile up; returns how
/// many records were read. A failure to write stdout or the journal stops the reading, but the
/// requests in flight are still settled (and written where that still works) before it is
/// returned: their records may be saved.
async fn write_records<W: std::io::Write>(
    resource: &Resource<Value>,
    input: Input,
    mode: BulkMode,
    schema: Option<Schema>,
    options: &BatchOptions,
    run: &mut Run<'_, W>,
) -> Result<u64, CliError> {
    let lines = Arc::new(tokio::sync::Mutex::new(read_on_a_thread(input)));
    let feed = Arc::new(Mutex::new(Feed::default()));
    let schema = Arc::new(schema);
    let mut first_error: Option<CliError> = None;
    loop {
        let state = (Arc::clone(&lines), Arc::clone(&feed), Arc::clone(&schema));
        let records = futures::stream::unfold(state, move |(lines, feed, schema)| async move {
            let record = next_record(&lines, &feed, mode, schema.as_ref().as_ref()).await?;
            Some((record, (lines, feed, schema)))
        });
        let mut outcomes = match mode {
            BulkMode::Create => resource.create_stream(records.map(|(_, record)| record), options),
            BulkMode::Update => resource.update_stream(records, options),
        };
        while let Some(outcome) = outcomes.next().await {
            let (line, before) = {
                let mut feed = lock(&feed);
                let line = feed.lines.pop_front().unwrap_or_default();
                (line, feed.failures_before(Some(line)))
            };
            for failure in before {
                keep_first(&mut first_error, run.failed(failure), &feed);
            }
            match JournalEntry::from_outcome(line, &outcome) {
                None => {
                    if let WriteOutcome::Saved { record, .. } = &outcome {
                        keep_first(&mut first_error, run.saved(record), &feed);
                    }
                }
                Some(entry) => {
                    let exit = outcome.error().map_or(Exit::Other, class_of);
                    keep_first(&mut first_error, run.failed(Failure { entry, exit }), &feed);
                }
            }
        }
        let (rest, ended, error, seen) = {
            let mut feed = lock(&feed);
            let rest = feed.failures_before(None);
            (
                rest,
                feed.ended || feed.stopped,
                feed.error.take(),
                feed.seen,
            )
        };
        for failure in rest {
            keep_first(&mut first_error, run.failed(failure), &feed);
        }
        if let Some(error) = first_error.take().or(error) {
            return Err(error);
        }
        if ended {
            return Ok(seen);
        }
    }
}

/// Keeps the first failure to write stdout or the journal, and stops the reading there (the
/// requests in flight are still settled).
fn keep_first(first: &mut Option<CliError>, result: Result<(), CliError>, feed: &Mutex<Feed>) {
    if let Err(error) = result
        && first.is_none()
    {
        *first = Some(error);
        lock(feed).stopped = true;
    }
}

/// `dbsync resend`: the failures file of a create through [`Resource::resend`]; returns how
/// many lines were read.
async fn resend<W: std::io::Write>(
    resource: &Resource<Value>,
    input: Input,
    schema: Option<Schema>,
    batch: BatchOptions,
    run: &mut Run<'_, W>,
) -> Result<u64, CliError> {
    let mut seen = 0;
    let lines = input.map(|item| {
        seen += 1;
        item.map(|InputRecord { line, value }| match value {
            Ok(value) => JournalLine::new(line, value),
            Err((why, text)) => JournalLine::unreadable(line, why, text),
        })
    });
    let options = ResendOptions::default()
        .batch(batch)
        .check(move |record| check(record, BulkMode::Create, schema.as_ref()));
    resource
        .resend(lines, &options, |outcome| match outcome {
            ResendOutcome::Saved { record, .. } => run.saved(&record),
            ResendOutcome::Failed {
                entry,
                error,
                invalid,
            } => {
                let exit = match (&error, invalid) {
                    (Some(error), _) => class_of(error),
                    (None, true) => Exit::Validation,
                    (None, false) => Exit::Other,
                };
                run.failed(Failure { entry, exit })
            }
            _ => Ok(()),
        })
        .await?;
    Ok(seen)
}

/// The local checks: an object, an `id` for an update, and the schema when `--validate`.
pub(crate) fn check(record: &Value, mode: BulkMode, schema: Option<&Schema>) -> Result<(), Value> {
    let Some(object) = record.as_object() else {
        return Err(local_error(
            "the record is not a JSON object".into(),
            json!([]),
        ));
    };
    if mode == BulkMode::Update && id_of(object).is_none() {
        return Err(local_error(
            "the record has no \"id\" (a string or a number): an update must name its record"
                .into(),
            json!([]),
        ));
    }
    if let Some(schema) = schema {
        let result = match mode {
            BulkMode::Create => schema.validate(record),
            BulkMode::Update => schema.validate_partial(&without_id(record)),
        };
        if let Err(violations) = result {
            let object = violations.to_error_object();
            return Err(
                json!({"code": 400, "message": format!("validation failed locally (nothing was sent): {}", object.message), "details": object.details}),
            );
        }
    }
    Ok(())
}

fn id_of(object: &Map<String, Value>) -> Option<String> {
    match object.get("id")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
