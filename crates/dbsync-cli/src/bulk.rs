//! Bulk create and update from a file: records read incrementally, sent in batches, every
//! failure written to the `--failed` file (JSON Lines: line, record, error, outcome,
//! idempotency_key) so nothing is lost.
//!
//! A failure is either `"not_saved"` (refused, invalid, or never sent: safe to send again once
//! fixed) or `"unknown"`: the request was sent and its answer lost or unreadable after every
//! retry, so the server may have saved the record. Sending an `"unknown"` record again as a new
//! create could make a duplicate, so the retry recipe the CLI prints skips them. For a create
//! whose whole batch request went unanswered, the line carries that request's `Idempotency-Key`,
//! and the lines with the same key are exactly that request's records in its order: re-sending
//! them with that key is safe (the server replays its first answer instead of creating
//! anything). The CLI itself cannot send a chosen key (dbsync-client picks a fresh one per
//! request), so it never re-sends them; the README shows how to.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead as _, BufReader, BufWriter, IsTerminal as _, Write};
use std::path::Path;

use dbsync_client::{BatchOptions, BatchOutcome, Error, Resource, Schema};
use serde_json::{Map, Value, json};

use crate::exit::{CliError, Exit, class_of, report_write};
use crate::input::Input;
use crate::output::{Format, RecordWriter};
use crate::progress;

/// How many records are read before they are sent (in batches of 100).
const CHUNK: usize = 1000;

/// Create or update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMode {
    /// `POST /v1/{resource}/batch`
    Create,
    /// `PUT /v1/{resource}/batch`, each record carrying its `id`.
    Update,
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

/// What is known of a failed record, by dbsync-client's rule
/// ([`BatchOutcome::outcome_unknown`]).
fn outcome_of<T>(outcome: &BatchOutcome<T>) -> Outcome {
    if outcome.outcome_unknown() {
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
    /// outcome of every record of that request is unknown (see [`send`]).
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

/// Sends every record of `input`, writing saved records to stdout and failures to the
/// `--failed` file (or stderr).
pub async fn run(
    resource: &Resource<Value>,
    input: Input,
    options: Options<'_>,
) -> Result<(), CliError> {
    let Options {
        mode,
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
    let bar = progress::bar(
        total,
        if mode == BulkMode::Create {
            "creating"
        } else {
            "updating"
        },
    );
    let mut chunk: Vec<(u64, Value)> = Vec::with_capacity(CHUNK);
    // Failures found locally wait for their chunk, so the failed file stays in line order.
    let mut local: Vec<Failure> = Vec::new();
    let mut seen: u64 = 0;
    let mut saved: u64 = 0;
    let mut input = input;
    loop {
        let next = input.next().transpose()?;
        let end = next.is_none();
        if let Some(item) = next {
            seen += 1;
            match item.value {
                Err((message, raw)) => local.push(Failure::local(
                    item.line,
                    Value::String(raw),
                    local_error(message, json!([])),
                )),
                Ok(record) => match check(&record, mode, schema.as_ref()) {
                    Ok(()) => chunk.push((item.line, record)),
                    Err(error) => local.push(Failure::local(item.line, record, error)),
                },
            }
        }
        if chunk.len() >= CHUNK
            || local.len() >= CHUNK
            || (end && !(chunk.is_empty() && local.is_empty()))
        {
            let batch = std::mem::take(&mut chunk);
            let mut found = std::mem::take(&mut local);
            let batch_options = {
                let bar = bar.clone();
                let base = seen - (batch.len() + found.len()) as u64;
                BatchOptions::default()
                    .concurrency(concurrency)
                    .on_progress(move |p| bar.set_position(base + p.done as u64))
            };
            saved += send(
                resource,
                mode,
                batch,
                &batch_options,
                &mut found,
                &mut writer,
            )
            .await?;
            found.sort_by_key(|f| f.line);
            for failure in found {
                failures.record(failure)?;
            }
            bar.set_position(seen);
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
    let verb = if mode == BulkMode::Create {
        "created"
    } else {
        "updated"
    };
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
                     retry the records not saved with `jq -c 'select(.outcome == \"not_saved\") \
                     | .record' {}`",
                    path.display(),
                    path.display()
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

/// What to do about records whose outcome is unknown.
fn unknown_advice(mode: BulkMode, unknown: u64) -> String {
    match mode {
        BulkMode::Create => format!(
            ". {unknown} of the failed record(s) have an unknown outcome (\"outcome\": \
             \"unknown\"): the server may have saved them, so do not create them again as new \
             records; check whether they exist, or re-send the records that share an \
             idempotency_key, in the same order, with that Idempotency-Key within 24 hours \
             (the server then replays its first answer and creates nothing twice; see the \
             README)"
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

/// Sends one chunk; returns how many records were saved.
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
    let whole_unknown = keys_of_unknown_requests(&outcomes);
    let mut saved = 0;
    let mut batch: Vec<Option<(u64, Value)>> = batch.into_iter().map(Some).collect();
    for outcome in outcomes {
        let Some((line, record)) = batch.get_mut(outcome.index).and_then(Option::take) else {
            continue;
        };
        let known = outcome_of(&outcome);
        match outcome.result {
            Ok(saved_record) => {
                saved += 1;
                report_write(writer.write(&saved_record))?;
            }
            Err(error) => {
                failures.push(Failure {
                    line,
                    record,
                    exit: class_of(&error),
                    error: error_json(&error),
                    outcome: known,
                    idempotency_key: outcome
                        .idempotency_key
                        .filter(|key| whole_unknown.contains(key)),
                });
            }
        }
    }
    Ok(saved)
}

/// The idempotency keys of the requests none of whose records has a known outcome. Each such
/// request is entirely in the failures, so the lines sharing its key are exactly its records, in
/// its order, and re-sending them with the key replays it. The key of a request with any known
/// record (saved, or refused on its own) is left out: its failed records alone are not that
/// request, and sent with its key they would only be refused (`409`).
fn keys_of_unknown_requests(outcomes: &[BatchOutcome<Value>]) -> HashSet<String> {
    let mut all_unknown: HashMap<&str, bool> = HashMap::new();
    for outcome in outcomes {
        if let Some(key) = outcome.idempotency_key.as_deref() {
            *all_unknown.entry(key).or_insert(true) &= outcome.outcome_unknown();
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

    /// A failed record's outcome.
    fn failed(error: &Error) -> BatchOutcome<Value> {
        BatchOutcome {
            index: 0,
            result: Err(error.clone()),
            idempotency_key: Some("k".into()),
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
    fn a_failure_is_unknown_when_the_server_may_have_acted() {
        let not_saved = [
            Error::Validation {
                message: "bad".into(),
                details: Vec::new(),
            },
            Error::Unauthorized {
                message: "no".into(),
                challenge: None,
            },
            Error::RateLimited {
                message: "slow down".into(),
                retry_after: None,
            },
            Error::Conflict {
                message: "key reused".into(),
            },
            transport(TransportKind::Connect),
            transport(TransportKind::ConnectTimeout),
            Error::Config("bad".into()),
        ];
        for error in &not_saved {
            assert_eq!(outcome_of(&failed(error)), Outcome::NotSaved, "{error}");
        }
        let unknown = [
            transport(TransportKind::Broken),
            transport(TransportKind::Timeout),
            decode(),
            Error::Server {
                status: 503,
                message: "down".into(),
            },
        ];
        for error in &unknown {
            assert_eq!(outcome_of(&failed(error)), Outcome::Unknown, "{error}");
        }
    }

    #[test]
    fn only_the_keys_of_requests_with_no_known_record_are_kept() {
        let outcome =
            |index: usize, result: Result<Value, Error>, key: Option<&str>| BatchOutcome {
                index,
                result,
                idempotency_key: key.map(str::to_owned),
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
        let keys = keys_of_unknown_requests(&outcomes);
        assert_eq!(keys, HashSet::from(["A".to_owned()]));
    }
}
