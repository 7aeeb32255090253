//! Bulk create and update from a file, and `dbsync resend`: records read incrementally, sent in
//! batches, every failure written to the `--failed` file (JSON Lines: line, record, error,
//! outcome, idempotency_key) so nothing is lost.
//!
//! A failure is either `"not_saved"` (refused, invalid, or never sent: safe to send again once
//! fixed) or `"unknown"`: the request was sent and its answer lost or unreadable after every
//! retry, so the server may have saved the record. Sending an `"unknown"` record again as a new
//! create could make a duplicate. For a create whose whole batch request went unanswered, the
//! line carries that request's `Idempotency-Key`, and the lines with the same key are exactly
//! that request's records in its order: sending them again with that key is safe (the server
//! replays its first answer instead of creating anything).
//!
//! `dbsync resend` reads such a file of a create through the same [`run`] ([`Source::Failures`]):
//! a `"not_saved"` line goes the way of a record of `dbsync create --file` (checked, batched, a
//! new key per request); the `"unknown"` lines sharing a key are gathered, in file order, and sent
//! as one batch with that key (`Resource::create_batch_with_key`), never with a new one; any
//! other line (an unknown outcome without a key, a line without an `"outcome"` from an older
//! dbsync, a key over 24 hours old, a malformed line) is not sent and fails again with a message
//! saying why. A group is sent once it has a request's most records (100), else at the end of the
//! file, so its failures may come after those of later lines in the new file.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead as _, BufReader, BufWriter, IsTerminal as _, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use dbsync_client::{BatchOptions, BatchOutcome, Error, MAX_BATCH_SIZE, Resource, Schema};
use futures::StreamExt as _;
use indicatif::ProgressBar;
use serde_json::{Map, Value, json};

use crate::exit::{CliError, Exit, class_of, report_write};
use crate::input::Input;
use crate::output::{Format, RecordWriter};
use crate::progress;

/// How many records are read before they are sent (in batches of 100).
const CHUNK: usize = 1000;

/// How long the server keeps an `Idempotency-Key` and replays the answer to its request.
const KEY_LIFETIME: Duration = Duration::from_secs(24 * 3600);

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
    Failures {
        /// The file is older than a key lives (see [`keys_expired`]): its keys are not sent.
        keys_expired: bool,
    },
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

/// Whether the failures file at `path` was last modified over 24 hours ago. It was written after
/// the requests whose keys it holds, so the server has then forgotten every one of them and
/// would create their records again instead of replaying its answer. (A file modified since,
/// or one written by an earlier `dbsync resend`, can be fresh and still hold an expired key:
/// this catches only what is certain.) `false` for stdin or when the time is not known.
pub fn keys_expired(path: &Path) -> bool {
    if path.as_os_str() == "-" {
        return false;
    }
    std::fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age > KEY_LIFETIME)
}

/// What is known of a record that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Not saved: refused by the server, invalid, or never sent.
    NotSaved,
    /// The request was sent but its answer was lost or unreadable: it may have been saved.
    Unknown,
}

impl Outcome {
    /// Its name in the `--failed` file.
    fn as_str(self) -> &'static str {
        match self {
            Outcome::NotSaved => "not_saved",
            Outcome::Unknown => "unknown",
        }
    }
}

/// The text dbsync-client adds to the error of a request whose outcome is unknown (so the
/// stderr line does not say it twice).
const UNKNOWN_OUTCOME_TEXT: &str = "the outcome is unknown";

/// How the records of a batch call were sent, which tells what a failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent<'a> {
    /// As new creates (each request with a new key) or as updates.
    New,
    /// Again, with the key of the create request that first carried them and lost its answer.
    Again(&'a str),
}

impl Sent<'_> {
    /// Whether the server may have saved this record although it is not reported saved.
    ///
    /// Sent as new: dbsync-client's rule ([`BatchOutcome::outcome_unknown`]). Sent again with
    /// the first request's key: unknown unless the server refused the record itself (`400`, or
    /// `413` for a record alone), which it answers (or replays) only for the very body it was
    /// first sent, so that request saved nothing of it either. Any other failure (`409`: not
    /// the same body, or that request still in progress; nothing sent; auth; rate limit; no
    /// answer) tells nothing of the first request.
    fn unknown(self, outcome: &BatchOutcome<Value>) -> bool {
        match self {
            Sent::New => outcome.outcome_unknown,
            Sent::Again(_) => matches!(
                &outcome.result,
                Err(error) if !matches!(error, Error::Validation { .. } | Error::PayloadTooLarge { .. })
            ),
        }
    }
}

/// What is known of a failed record (see [`Sent::unknown`]).
fn outcome_of(outcome: &BatchOutcome<Value>, sent: Sent<'_>) -> Outcome {
    if sent.unknown(outcome) {
        Outcome::Unknown
    } else {
        Outcome::NotSaved
    }
}

/// One record that was not saved (or may not have been).
struct Failure {
    line: u64,
    record: Value,
    exit: Exit,
    error: Value,
    outcome: Outcome,
    /// The `Idempotency-Key` of the create request that carried the record, kept only when the
    /// outcome of every record of that request is unknown (see [`settle`]).
    idempotency_key: Option<String>,
}

impl Failure {
    /// A failure found before anything was sent.
    fn local(line: u64, record: Value, error: Value) -> Self {
        Self {
            line,
            record,
            exit: Exit::Validation,
            error,
            outcome: Outcome::NotSaved,
            idempotency_key: None,
        }
    }

    /// A line of a failures file not sent again because its record may have been saved.
    fn unsent(line: u64, record: Value, error: Value) -> Self {
        Self {
            line,
            record,
            exit: Exit::Other,
            error,
            outcome: Outcome::Unknown,
            idempotency_key: None,
        }
    }
}

/// Where failures go: the `--failed` file, or stderr lines.
struct Failures<'a> {
    file: Option<(BufWriter<File>, &'a Path)>,
    count: u64,
    /// How many of them have an unknown outcome.
    unknown: u64,
    class: Option<Exit>,
}

impl Failures<'_> {
    fn record(&mut self, failure: Failure) -> Result<(), CliError> {
        let Failure {
            line,
            record,
            exit,
            error,
            outcome,
            idempotency_key,
        } = failure;
        self.count += 1;
        if outcome == Outcome::Unknown {
            self.unknown += 1;
        }
        // Validation when any record was invalid, else the class of the first failure.
        self.class = Some(match self.class {
            None => exit,
            Some(_) if exit == Exit::Validation => Exit::Validation,
            Some(class) => class,
        });
        match &mut self.file {
            Some((out, path)) => {
                let entry = json!({
                    "line": line,
                    "record": record,
                    "error": error,
                    "outcome": outcome.as_str(),
                    "idempotency_key": idempotency_key,
                });
                serde_json::to_writer(&mut *out, &entry).map_err(|e| {
                    CliError::other(format!("cannot write {}: {e}", path.display()))
                })?;
                out.write_all(b"\n")
                    .map_err(|e| CliError::io(path.display(), e))
            }
            None => {
                let message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("failed");
                let mut note = String::new();
                if outcome == Outcome::Unknown {
                    if !message.contains(UNKNOWN_OUTCOME_TEXT) {
                        note.push_str(
                            " (the outcome is unknown: it may have been saved; do not create it \
                             again blindly)",
                        );
                    }
                    if let Some(key) = idempotency_key.filter(|key| !message.contains(key.as_str()))
                    {
                        note.push_str(&format!(" (Idempotency-Key `{key}`)"));
                    }
                }
                eprintln!("dbsync: line {line}: {message}{note}");
                Ok(())
            }
        }
    }
}

fn error_json(error: &Error) -> Value {
    json!({
        "code": error.status(),
        "message": error.to_string(),
        "details": error.details(),
    })
}

fn local_error(message: String, details: Value) -> Value {
    json!({"code": null, "message": message, "details": details})
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

/// One line of the input, sorted out before anything is sent.
enum Item {
    /// Send it as a new create, or as an update.
    Send(Value),
    /// Send it again, unchanged, with the key of the create request that first carried it.
    Again {
        /// That request's `Idempotency-Key`.
        key: String,
        /// The record, as the failures file has it.
        record: Value,
    },
    /// It is not sent: it fails as it is.
    Fail(Failure),
}

/// A line of records (`dbsync create|update --file`): sent when it passes [`check`].
fn sort_record(
    line: u64,
    value: Result<Value, (String, String)>,
    mode: BulkMode,
    schema: Option<&Schema>,
) -> Item {
    match value {
        Err((message, raw)) => Item::Fail(Failure::local(
            line,
            Value::String(raw),
            local_error(message, json!([])),
        )),
        Ok(record) => match check(&record, mode, schema) {
            Ok(()) => Item::Send(record),
            Err(error) => Item::Fail(Failure::local(line, record, error)),
        },
    }
}

/// How the message of a line of a failures file that is not sent again begins.
const NOT_SENT: &str = "not sent again: ";

/// A line of the failures file of a create (`dbsync resend`): a record `"not_saved"` is sent as
/// a new create (when it passes [`check`]); an `"unknown"` one with an `"idempotency_key"` is
/// sent again with that key; any other line is not sent, since its record may have been saved
/// (or, malformed, it cannot be told).
fn sort_entry(
    line: u64,
    value: Result<Value, (String, String)>,
    schema: Option<&Schema>,
    keys_expired: bool,
) -> Item {
    let malformed = |record: Value, why: String| {
        Item::Fail(Failure {
            line,
            record,
            exit: Exit::Validation,
            error: local_error(
                format!(
                    "{NOT_SENT}this line is not an entry of a failures file ({why}), so the \
                     outcome is unknown (its record may have been saved); fix the line (it \
                     needs \"record\" and \"outcome\") or check whether the record exists"
                ),
                json!([]),
            ),
            outcome: Outcome::Unknown,
            idempotency_key: None,
        })
    };
    let entry = match value {
        Err((message, raw)) => return malformed(Value::String(raw), message),
        Ok(Value::Object(entry)) => entry,
        Ok(other) => return malformed(other, "not a JSON object".into()),
    };
    let Some(record) = entry.get("record").cloned() else {
        return malformed(Value::Object(entry), "no \"record\"".into());
    };
    let key = match entry.get("idempotency_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) if key.trim().is_empty() => None,
        Some(Value::String(key)) => Some(key.clone()),
        Some(_) => {
            return malformed(
                Value::Object(entry),
                "\"idempotency_key\" is neither a string nor null".into(),
            );
        }
    };
    let unsent = |record: Value, why: String| {
        let earlier = entry.get("error");
        let error = match earlier
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
        {
            // Not sent by an earlier resend already: its message says why.
            Some(message) if message.starts_with(NOT_SENT) => earlier.cloned().unwrap_or_default(),
            Some(message) => local_error(format!("{why} (first error: {message})"), json!([])),
            None => local_error(why, json!([])),
        };
        Item::Fail(Failure::unsent(line, record, error))
    };
    const CHECK: &str = "check whether it exists (e.g. `dbsync list --where FIELD=VALUE` on a \
                         unique field) and, if it does not, create it with `dbsync create`";
    match entry.get("outcome") {
        Some(Value::String(outcome)) if outcome == "not_saved" => {
            match check(&record, BulkMode::Create, schema) {
                Ok(()) => Item::Send(record),
                Err(error) => Item::Fail(Failure::local(line, record, error)),
            }
        }
        Some(Value::String(outcome)) if outcome == "unknown" => match key {
            Some(key) if !keys_expired => Item::Again { key, record },
            Some(key) => unsent(
                record,
                format!(
                    "{NOT_SENT}the outcome is unknown (the record may have been saved) and its \
                     idempotency_key `{key}` is over 24 hours old (the file was last modified \
                     more than 24 hours ago), so the server no longer replays its request and \
                     sending it could create the record twice; {CHECK}"
                ),
            ),
            None => unsent(
                record,
                format!(
                    "{NOT_SENT}the outcome is unknown (the request was sent but its answer was \
                     lost, so the record may have been saved) and there is no idempotency_key \
                     to send it again safely with; {CHECK}"
                ),
            ),
        },
        None => unsent(
            record,
            format!(
                "{NOT_SENT}this line has no \"outcome\" (a failures file from an older dbsync), \
                 so the outcome is unknown (the record may have been saved); {CHECK}"
            ),
        ),
        Some(other) => malformed(
            Value::Object(entry.clone()),
            format!("\"outcome\" is {other}, not \"not_saved\" or \"unknown\""),
        ),
    }
}

/// The records of `dbsync resend` to send again with their request's key, by key.
#[derive(Default)]
struct Groups {
    /// Groups that may get more lines, with their lines in file order.
    pending: HashMap<String, Vec<(u64, Value)>>,
    /// Groups to send.
    ready: Vec<(String, Vec<(u64, Value)>)>,
    /// The records in `ready`.
    ready_records: usize,
}

impl Groups {
    /// Adds a line to its key's group; a group with a request's most records (100) is ready.
    fn push(&mut self, key: String, line: u64, record: Value) {
        let group = self.pending.entry(key.clone()).or_default();
        group.push((line, record));
        if group.len() >= MAX_BATCH_SIZE
            && let Some(group) = self.pending.remove(&key)
        {
            self.ready_records += group.len();
            self.ready.push((key, group));
        }
    }

    /// At the end of the input: every group is ready, in the order of its first line.
    fn finish(&mut self) {
        let mut rest: Vec<(String, Vec<(u64, Value)>)> = self.pending.drain().collect();
        rest.sort_by_key(|(_, group)| group.first().map(|(line, _)| *line));
        self.ready_records += rest.iter().map(|(_, group)| group.len()).sum::<usize>();
        self.ready.extend(rest);
    }

    fn take_ready(&mut self) -> Vec<(String, Vec<(u64, Value)>)> {
        self.ready_records = 0;
        std::mem::take(&mut self.ready)
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
    let file = match failed {
        Some(path) => {
            let file = File::create(path)
                .map_err(|e| CliError::io(format!("cannot create {}", path.display()), e))?;
            Some((BufWriter::new(file), path))
        }
        None => None,
    };
    let mut failures = Failures {
        file,
        count: 0,
        unknown: 0,
        class: None,
    };
    let stdout = std::io::stdout();
    let mut writer = RecordWriter::new(stdout.lock(), format);
    let (doing, verb) = match (source, mode) {
        (Source::Failures { .. }, _) => ("resending", "saved"),
        (Source::Records, BulkMode::Create) => ("creating", "created"),
        (Source::Records, BulkMode::Update) => ("updating", "updated"),
    };
    let bar = progress::bar(total, doing);
    let mut chunk: Vec<(u64, Value)> = Vec::with_capacity(CHUNK);
    // Failures found locally wait for their chunk, so the failed file stays in line order.
    let mut local: Vec<Failure> = Vec::new();
    let mut groups = Groups::default();
    let mut seen: u64 = 0;
    // Lines whose outcome is known (for the progress bar).
    let mut done: u64 = 0;
    let mut saved: u64 = 0;
    let mut input = input;
    loop {
        let next = input.next().transpose()?;
        let end = next.is_none();
        if let Some(item) = next {
            seen += 1;
            let sorted = match source {
                Source::Records => sort_record(item.line, item.value, mode, schema.as_ref()),
                Source::Failures { keys_expired } => {
                    sort_entry(item.line, item.value, schema.as_ref(), keys_expired)
                }
            };
            match sorted {
                Item::Send(record) => chunk.push((item.line, record)),
                Item::Again { key, record } => groups.push(key, item.line, record),
                Item::Fail(failure) => local.push(failure),
            }
        } else {
            groups.finish();
        }
        if chunk.len() >= CHUNK
            || local.len() >= CHUNK
            || groups.ready_records >= CHUNK
            || (end && !(chunk.is_empty() && local.is_empty() && groups.ready.is_empty()))
        {
            let batch = std::mem::take(&mut chunk);
            let mut found = std::mem::take(&mut local);
            let batch_options = {
                let bar = bar.clone();
                let base = done + found.len() as u64;
                BatchOptions::default()
                    .concurrency(concurrency)
                    .on_progress(move |p| bar.set_position(base + p.done as u64))
            };
            done += (found.len() + batch.len()) as u64;
            saved += send(
                resource,
                mode,
                batch,
                &batch_options,
                &mut found,
                &mut writer,
            )
            .await?;
            bar.set_position(done);
            saved += send_again(
                resource,
                groups.take_ready(),
                concurrency,
                &mut found,
                &mut writer,
                (&bar, &mut done),
            )
            .await?;
            found.sort_by_key(|f| f.line);
            for failure in found {
                failures.record(failure)?;
            }
        }
        if end {
            break;
        }
    }
    bar.finish_and_clear();
    report_write(writer.finish())?;
    if let Some((out, path)) = &mut failures.file {
        out.flush().map_err(|e| CliError::io(path.display(), e))?;
    }
    match failures.class {
        None => {
            if std::io::stderr().is_terminal() {
                eprintln!("{verb} {saved} record(s)");
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
                "{verb} {saved} of {seen} record(s); {} failed, {whereto}",
                failures.count
            );
            if failures.unknown > 0 {
                message.push_str(&unknown_advice(mode, failures.unknown));
            }
            Err(CliError::new(class, message))
        }
    }
}

/// How to send the failures written to `path` again.
fn retry_advice(mode: BulkMode, resource: &str, path: &Path) -> String {
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
                 never creates a record twice)"
            )
        }
        BulkMode::Update => format!(
            "retry the records not saved with `jq -c 'select(.outcome == \"not_saved\") | \
             .record' {path}`"
        ),
    }
}

/// What to do about records whose outcome is unknown.
fn unknown_advice(mode: BulkMode, unknown: u64) -> String {
    match mode {
        BulkMode::Create => format!(
            ". {unknown} of the failed record(s) have an unknown outcome (\"outcome\": \
             \"unknown\"): the server may have saved them, so never create them again as new \
             records; `dbsync resend` sends those with an idempotency_key again with that key, \
             within 24 hours (the server then replays its first answer and creates nothing \
             twice), and does not send the others: check whether they exist"
        ),
        BulkMode::Update => format!(
            ". {unknown} of the failed update(s) have an unknown outcome (\"outcome\": \
             \"unknown\"): they may have been applied; an update is safe to send again"
        ),
    }
}

/// The local checks: an object, an `id` for an update, and the schema when `--validate`.
fn check(record: &Value, mode: BulkMode, schema: Option<&Schema>) -> Result<(), Value> {
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

/// Sends one chunk as new creates or as updates; returns how many records were saved.
async fn send<W: Write>(
    resource: &Resource<Value>,
    mode: BulkMode,
    batch: Vec<(u64, Value)>,
    options: &BatchOptions,
    failures: &mut Vec<Failure>,
    writer: &mut RecordWriter<W>,
) -> Result<u64, CliError> {
    if batch.is_empty() {
        return Ok(0);
    }
    let outcomes = match mode {
        BulkMode::Create => {
            let records: Vec<Value> = batch.iter().map(|(_, r)| r.clone()).collect();
            resource.create_many_with(&records, options).await
        }
        BulkMode::Update => {
            let patches: Vec<(String, Value)> = batch
                .iter()
                .map(|(_, r)| {
                    let id = r.as_object().and_then(id_of).unwrap_or_default();
                    (id, r.clone())
                })
                .collect();
            resource.update_many_with(&patches, options).await
        }
    };
    settle(batch, outcomes, Sent::New, failures, writer)
}

/// Sends each group again as the one batch create it was first sent as, with its key (up to
/// `concurrency` requests at once); returns how many records were saved.
async fn send_again<W: Write>(
    resource: &Resource<Value>,
    groups: Vec<(String, Vec<(u64, Value)>)>,
    concurrency: usize,
    failures: &mut Vec<Failure>,
    writer: &mut RecordWriter<W>,
    (bar, done): (&ProgressBar, &mut u64),
) -> Result<u64, CliError> {
    let mut answers = futures::stream::iter(groups)
        .map(|(key, group)| async move {
            let (lines, records): (Vec<u64>, Vec<Value>) = group.into_iter().unzip();
            let outcomes = resource.create_batch_with_key(&records, &key).await;
            let group: Vec<(u64, Value)> = lines.into_iter().zip(records).collect();
            (key, group, outcomes)
        })
        .buffer_unordered(concurrency.max(1));
    let mut saved = 0;
    while let Some((key, group, outcomes)) = answers.next().await {
        *done += group.len() as u64;
        saved += settle(group, outcomes, Sent::Again(&key), failures, writer)?;
        bar.set_position(*done);
    }
    Ok(saved)
}

/// Writes each saved record of `batch` to `writer` and adds each failed one to `failures`, with
/// what is known of it (see [`Sent::unknown`]); returns how many were saved.
fn settle<W: Write>(
    batch: Vec<(u64, Value)>,
    outcomes: Vec<BatchOutcome<Value>>,
    sent: Sent<'_>,
    failures: &mut Vec<Failure>,
    writer: &mut RecordWriter<W>,
) -> Result<u64, CliError> {
    let whole_unknown = keys_of_unknown_requests(&outcomes, sent);
    let mut saved = 0;
    let mut batch: Vec<Option<(u64, Value)>> = batch.into_iter().map(Some).collect();
    for outcome in outcomes {
        let Some((line, record)) = batch.get_mut(outcome.index).and_then(Option::take) else {
            continue;
        };
        let known = outcome_of(&outcome, sent);
        let said_unknown = outcome.outcome_unknown;
        match outcome.result {
            Ok(saved_record) => {
                saved += 1;
                report_write(writer.write(&saved_record))?;
            }
            Err(error) => {
                let mut error_value = error_json(&error);
                // dbsync-client's own word on a 409 is about sending with a key in general;
                // here the records were just sent again with it.
                if let Sent::Again(key) = sent
                    && known == Outcome::Unknown
                    && (!said_unknown || matches!(error, Error::Conflict { .. }))
                {
                    still_unknown(&mut error_value, &error, key);
                }
                failures.push(Failure {
                    line,
                    record,
                    exit: class_of(&error),
                    error: error_value,
                    outcome: known,
                    idempotency_key: outcome
                        .idempotency_key
                        .filter(|key| whole_unknown.contains(key)),
                });
            }
        }
    }
    // dbsync-client reports one outcome per record; should one be missing, the record is not
    // dropped silently.
    for (line, record) in batch.into_iter().flatten() {
        failures.push(Failure {
            line,
            record,
            exit: Exit::Other,
            error: local_error(
                "no outcome was reported for this record: it may or may not have been saved".into(),
                json!([]),
            ),
            outcome: Outcome::Unknown,
            idempotency_key: None,
        });
    }
    Ok(saved)
}

/// Adds to the message of a record sent again with `key` that the server did not settle it, so
/// that whether its first request saved it is still unknown.
fn still_unknown(error_value: &mut Value, error: &Error, key: &str) {
    let why = match error {
        Error::Conflict { .. } => {
            "the server took the key for another request: the lines sharing it must be exactly \
             the records of the first request, unchanged and in order (or that request was \
             still in progress: send again later)"
        }
        Error::Config(_) => "nothing was sent",
        _ => "the server did not answer for the record",
    };
    let text = format!(
        "; sending it again with Idempotency-Key `{key}` settled nothing ({why}): whether the \
         first request saved the record is still unknown (the outcome is unknown)"
    );
    if let Some(Value::String(message)) = error_value.get_mut("message") {
        message.push_str(&text);
    }
}

/// The idempotency keys of the requests none of whose records has a known outcome (by
/// [`Sent::unknown`]). Each such request is entirely in the failures, so the lines sharing its
/// key are exactly its records, in its order, and sending them again with the key replays it.
/// The key of a request with any known record (saved, or refused on its own) is left out: its
/// failed records alone are not that request, and sent with its key they would only be refused
/// (`409`).
fn keys_of_unknown_requests(outcomes: &[BatchOutcome<Value>], sent: Sent<'_>) -> HashSet<String> {
    let mut all_unknown: HashMap<&str, bool> = HashMap::new();
    for outcome in outcomes {
        if let Some(key) = outcome.idempotency_key.as_deref() {
            *all_unknown.entry(key).or_insert(true) &= sent.unknown(outcome);
        }
    }
    all_unknown
        .into_iter()
        .filter(|(_, unknown)| *unknown)
        .map(|(key, _)| key.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbsync_client::TransportKind;

    fn transport(kind: TransportKind) -> Error {
        Error::Transport {
            kind,
            message: "x".into(),
            source: None,
        }
    }

    /// A failed record's outcome, as dbsync-client reports it.
    fn failed(error: &Error, unknown: bool) -> BatchOutcome<Value> {
        BatchOutcome {
            index: 0,
            result: Err(error.clone()),
            idempotency_key: Some("k".into()),
            outcome_unknown: unknown,
        }
    }

    fn decode() -> Error {
        Error::Decode {
            status: Some(200),
            message: "the body was cut short".into(),
            snippet: String::new(),
        }
    }

    #[test]
    fn a_record_sent_as_new_is_unknown_as_dbsync_client_says() {
        let broken = transport(TransportKind::Broken);
        assert_eq!(
            outcome_of(&failed(&broken, true), Sent::New),
            Outcome::Unknown
        );
        let refused = Error::Validation {
            message: "bad".into(),
            details: Vec::new(),
        };
        assert_eq!(
            outcome_of(&failed(&refused, false), Sent::New),
            Outcome::NotSaved
        );
    }

    #[test]
    fn only_the_keys_of_requests_with_no_known_record_are_kept() {
        // Unknown as dbsync-client reports it: a lost request, an unreadable result.
        let outcome = |index: usize, result: Result<Value, Error>, key: Option<&str>| {
            let outcome_unknown =
                matches!(&result, Err(Error::Transport { .. } | Error::Decode { .. }));
            BatchOutcome {
                index,
                result,
                idempotency_key: key.map(str::to_owned),
                outcome_unknown,
            }
        };
        let outcomes = vec![
            // Request A: lost as a whole.
            outcome(0, Err(transport(TransportKind::Broken)), Some("A")),
            outcome(1, Err(transport(TransportKind::Broken)), Some("A")),
            // Request B: one saved, one with an unreadable result.
            outcome(2, Ok(json!({"id": 1})), Some("B")),
            outcome(3, Err(decode()), Some("B")),
            // Request C: one refused on its own, one unknown.
            outcome(4, Err(decode()), Some("C")),
            outcome(
                5,
                Err(Error::Validation {
                    message: "bad".into(),
                    details: Vec::new(),
                }),
                Some("C"),
            ),
            // No key (an update, or a record the library had no request for).
            outcome(6, Err(decode()), None),
        ];
        let keys = keys_of_unknown_requests(&outcomes, Sent::New);
        assert_eq!(keys, HashSet::from(["A".to_owned()]));
    }

    #[test]
    fn a_record_sent_again_with_its_key_is_not_saved_only_when_the_server_refused_it() {
        let again = |error: &Error| outcome_of(&failed(error, false), Sent::Again("k"));
        for error in [
            Error::Validation {
                message: "bad".into(),
                details: Vec::new(),
            },
            Error::PayloadTooLarge {
                message: "big".into(),
            },
        ] {
            assert_eq!(again(&error), Outcome::NotSaved, "{error}");
        }
        // Nothing here tells what the first request did.
        for error in [
            Error::Conflict {
                message: "another body".into(),
            },
            Error::Config("empty key; nothing was sent".into()),
            Error::Unauthorized {
                message: "no".into(),
                challenge: None,
            },
            Error::RateLimited {
                message: "slow down".into(),
                retry_after: None,
            },
            transport(TransportKind::Connect),
            transport(TransportKind::Broken),
            decode(),
        ] {
            assert_eq!(again(&error), Outcome::Unknown, "{error}");
        }
        let saved = BatchOutcome {
            index: 0,
            result: Ok(json!({"id": 1})),
            idempotency_key: Some("k".into()),
            outcome_unknown: false,
        };
        assert!(!Sent::Again("k").unknown(&saved));
        // A 409 for the whole group keeps its key: the lines can be sent again once restored.
        let conflict = Error::Conflict {
            message: "another body".into(),
        };
        let outcomes = vec![failed(&conflict, true), failed(&conflict, true)];
        assert_eq!(
            keys_of_unknown_requests(&outcomes, Sent::Again("k")),
            HashSet::from(["k".to_owned()])
        );
    }

    fn sorted(text: &str, keys_expired: bool) -> Item {
        let value = serde_json::from_str::<Value>(text)
            .map_err(|e| (format!("not a JSON document: {e}"), text.into()));
        sort_entry(3, value, None, keys_expired)
    }

    /// The failure of a line that is not sent: its outcome, key and message.
    fn failure_of(item: Item) -> (Outcome, Option<String>, String, Value) {
        match item {
            Item::Fail(failure) => (
                failure.outcome,
                failure.idempotency_key,
                failure.error["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                failure.record,
            ),
            Item::Send(record) => panic!("sent as new: {record}"),
            Item::Again { key, record } => panic!("sent again with {key}: {record}"),
        }
    }

    #[test]
    fn each_line_of_a_failures_file_is_sorted_by_its_outcome() {
        let record = json!({"email": "a@example.com"});
        let line = |outcome: Value, key: Value| {
            json!({"line": 9, "record": record, "error": {"message": "lost"}, "outcome": outcome, "idempotency_key": key})
                .to_string()
        };
        match sorted(&line(json!("not_saved"), Value::Null), false) {
            Item::Send(sent) => assert_eq!(sent, record),
            _ => panic!("a record not saved is sent as new"),
        }
        match sorted(&line(json!("unknown"), json!("k1")), false) {
            Item::Again { key, record: sent } => {
                assert_eq!(key, "k1");
                assert_eq!(sent, record);
            }
            _ => panic!("an unknown record with a key is sent again with it"),
        }
        let (outcome, key, message, sent) =
            failure_of(sorted(&line(json!("unknown"), json!("k1")), true));
        assert_eq!((outcome, key), (Outcome::Unknown, None));
        assert!(message.contains("over 24 hours old"), "{message}");
        assert_eq!(sent, record);
        for key in [Value::Null, json!("  ")] {
            let (outcome, key, message, _) =
                failure_of(sorted(&line(json!("unknown"), key), false));
            assert_eq!((outcome, key), (Outcome::Unknown, None));
            assert!(message.starts_with(NOT_SENT), "{message}");
            assert!(message.contains("(first error: lost)"), "{message}");
        }
        let old = json!({"line": 9, "record": record, "error": {"message": "lost"}}).to_string();
        let (outcome, _, message, _) = failure_of(sorted(&old, false));
        assert_eq!(outcome, Outcome::Unknown);
        assert!(message.contains("older dbsync"), "{message}");
        // Malformed: never sent, whatever they hold.
        for (text, why) in [
            ("{\"record\": ", "not a JSON document"),
            ("[1]", "not a JSON object"),
            ("{\"outcome\": \"not_saved\"}", "no \"record\""),
            (&line(json!("lost"), Value::Null), "\"outcome\" is \"lost\""),
            (
                &line(json!("unknown"), json!(7)),
                "\"idempotency_key\" is neither",
            ),
        ] {
            let (outcome, key, message, _) = failure_of(sorted(text, false));
            assert_eq!((outcome, key), (Outcome::Unknown, None), "{text}");
            assert!(message.contains(why), "{text}: {message}");
        }
        // A line not sent by an earlier resend keeps its message, not wrapped again.
        let earlier = json!({"record": record, "error": {"message": format!("{NOT_SENT}why")}, "outcome": "unknown", "idempotency_key": null});
        let (_, _, message, _) = failure_of(sorted(&earlier.to_string(), false));
        assert_eq!(message, format!("{NOT_SENT}why"));
    }

    #[test]
    fn a_group_is_ready_at_a_requests_size_or_at_the_end_in_file_order() {
        let mut groups = Groups::default();
        groups.push("b".into(), 1, json!(1));
        for line in 2..=101 {
            groups.push("a".into(), line, json!(line));
        }
        groups.push("c".into(), 102, json!(102));
        groups.push("b".into(), 103, json!(103));
        assert_eq!(groups.ready_records, 100);
        let ready = groups.take_ready();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].0, "a");
        assert_eq!(ready[0].1.first().map(|(line, _)| *line), Some(2));
        groups.finish();
        let rest: Vec<(String, Vec<u64>)> = groups
            .take_ready()
            .into_iter()
            .map(|(key, group)| (key, group.into_iter().map(|(line, _)| line).collect()))
            .collect();
        assert_eq!(
            rest,
            vec![("b".to_owned(), vec![1, 103]), ("c".to_owned(), vec![102])]
        );
        assert_eq!(groups.ready_records, 0);
    }
}
