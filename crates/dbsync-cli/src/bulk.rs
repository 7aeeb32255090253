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
//! Such a line also has `key_sent_at` (RFC 3339 UTC, taken just before the batch call: a lower
//! bound of when the key was first sent), `request_position` and `request_size` (its place in
//! its request, and that request's record count).
//!
//! `dbsync resend` reads such a file of a create through the same [`run`] ([`Source::Failures`]):
//! a `"not_saved"` line goes the way of a record of `dbsync create --file` (checked, batched, a
//! new key per request); the `"unknown"` lines sharing a key are gathered over the whole file and,
//! at its end, sent as one batch in position order with that key
//! (`Resource::create_batch_with_key`), never with a new one and never split, when the group
//! checks out (see [`check_group`]: every `key_sent_at` under 23 hours old, positions exactly
//! `0..size`, at most 100, no malformed line naming the key); any other line (an unknown outcome
//! without a key, a line without an `"outcome"` from an older dbsync, a malformed line) is not
//! sent and fails again with a message saying why. The groups' failures come last in the new
//! file.

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

/// How old a key may be and still be sent again: the server keeps an `Idempotency-Key` 24
/// hours; an hour's margin covers clocks and the time the resend takes.
const KEY_MAX_AGE: Duration = Duration::from_secs(23 * 3600);

/// How far in the future a `key_sent_at` may be (clock differences) and still be believed.
const CLOCK_SKEW: Duration = Duration::from_secs(300);

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

/// Whether `key` can be an `Idempotency-Key` header as it is (the rule of
/// `http::HeaderValue::from_str`, which dbsync-client applies: no control character but tab),
/// and is not blank.
fn header_can_carry(key: &str) -> bool {
    !key.trim().is_empty() && key.bytes().all(|b| (b >= 32 && b != 127) || b == b'\t')
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
    /// the first request's key: unknown when dbsync-client says so (a whole-batch refusal
    /// included), and otherwise unless the server refused the record itself (`400`, or `413`
    /// for a record alone), which it answers (or replays) only for the very body it was
    /// first sent, so that request saved nothing of it either. Any other failure (`409`: not
    /// the same body, or that request still in progress; nothing sent; auth; rate limit; no
    /// answer) tells nothing of the first request.
    fn unknown(self, outcome: &BatchOutcome<Value>) -> bool {
        match self {
            Sent::New => outcome.outcome_unknown,
            // dbsync-client's word first: a whole-batch 400/413 to a resend stays unknown (the
            // server may have checked the body before its key).
            Sent::Again(_) => {
                outcome.outcome_unknown
                    || matches!(
                        &outcome.result,
                        Err(error) if !matches!(error, Error::Validation { .. } | Error::PayloadTooLarge { .. })
                    )
            }
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
    /// With the key: when the request was first sent (RFC 3339 UTC, a lower bound).
    key_sent_at: Option<String>,
    /// With the key: the record's place in its request, and that request's record count.
    request_position: Option<u64>,
    request_size: Option<u64>,
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
            key_sent_at: None,
            request_position: None,
            request_size: None,
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
            key_sent_at: None,
            request_position: None,
            request_size: None,
        }
    }
}

/// Where failures go: the `--failed` file, or stderr lines.
struct Failures<'a> {
    file: Option<(BufWriter<Box<dyn Write>>, &'a Path)>,
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
            key_sent_at,
            request_position,
            request_size,
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
                    "key_sent_at": key_sent_at,
                    "request_position": request_position,
                    "request_size": request_size,
                });
                serde_json::to_writer(&mut *out, &entry)
                    .map_err(|e| failures_file_error(path, &e))?;
                out.write_all(b"\n")
                    .map_err(|e| failures_file_error(path, &e))
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

/// A failure to write the `--failed` file: never a success, not even a closed pipe (the
/// failures would be lost).
fn failures_file_error(path: &Path, error: &dyn std::fmt::Display) -> CliError {
    CliError::other(format!(
        "cannot write the failures to {}: {error}",
        path.display()
    ))
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
        /// The line.
        member: Member,
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
/// a new create (when it passes [`check`]); an `"unknown"` one with an `"idempotency_key"` joins
/// that key's group (see [`Groups`]); any other line is not sent, since its record may have been
/// saved (or, malformed, it cannot be told). A malformed line that names a key joins its group
/// too, so that the group is not sent without it.
fn sort_entry(line: u64, value: Result<Value, (String, String)>, schema: Option<&Schema>) -> Item {
    let malformed = |record: Value, why: String| Failure {
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
        key_sent_at: None,
        request_position: None,
        request_size: None,
    };
    let entry = match value {
        Err((message, raw)) => return Item::Fail(malformed(Value::String(raw), message)),
        Ok(Value::Object(entry)) => entry,
        Ok(other) => return Item::Fail(malformed(other, "not a JSON object".into())),
    };
    let key = match entry.get("idempotency_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) if key.trim().is_empty() => None,
        Some(Value::String(key)) if !header_can_carry(key) => {
            return Item::Fail(malformed(
                Value::Object(entry.clone()),
                "its \"idempotency_key\" has characters a header cannot carry".into(),
            ));
        }
        Some(Value::String(key)) => Some(key.clone()),
        Some(_) => {
            return Item::Fail(malformed(
                Value::Object(entry),
                "\"idempotency_key\" is neither a string nor null".into(),
            ));
        }
    };
    // A line of a key's group, or a malformed line naming a key (its group is then not sent).
    let member = |record: Value, bad: Option<Failure>| {
        let key = key.clone().unwrap_or_default();
        Item::Again {
            key,
            member: Member {
                line,
                record,
                sent_at: entry
                    .get("key_sent_at")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                position: entry.get("request_position").and_then(Value::as_u64),
                size: entry.get("request_size").and_then(Value::as_u64),
                error: entry.get("error").cloned(),
                bad,
            },
        }
    };
    let bad = |record: Value, why: String| {
        let failure = malformed(record.clone(), why);
        if key.is_some() {
            member(record, Some(failure))
        } else {
            Item::Fail(failure)
        }
    };
    let Some(record) = entry.get("record").cloned() else {
        return bad(Value::Object(entry.clone()), "no \"record\"".into());
    };
    let unsent = |record: Value, why: String| {
        Item::Fail(Failure::unsent(
            line,
            record,
            unsent_error(entry.get("error"), why),
        ))
    };
    match entry.get("outcome") {
        Some(Value::String(outcome)) if outcome == "not_saved" => {
            match check(&record, BulkMode::Create, schema) {
                Ok(()) => Item::Send(record),
                Err(error) => Item::Fail(Failure::local(line, record, error)),
            }
        }
        Some(Value::String(outcome)) if outcome == "unknown" => match key {
            Some(_) => member(record, None),
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
        Some(other) => bad(
            Value::Object(entry.clone()),
            format!("\"outcome\" is {other}, not \"not_saved\" or \"unknown\""),
        ),
    }
}

/// What to do about a record that may exist.
const CHECK: &str = "check whether it exists (e.g. `dbsync list --where FIELD=VALUE` on a unique \
                     field) and, if it does not, create it with `dbsync create`";

/// The error of a line not sent: `why`, with the line's first error (an earlier resend's
/// "not sent" message is kept as it is).
fn unsent_error(earlier: Option<&Value>, why: String) -> Value {
    match earlier
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
    {
        Some(message) if message.starts_with(NOT_SENT) => earlier.cloned().unwrap_or_default(),
        Some(message) => local_error(format!("{why} (first error: {message})"), json!([])),
        None => local_error(why, json!([])),
    }
}

/// A line of a failures file with an `"idempotency_key"`: one record of that key's request.
struct Member {
    line: u64,
    record: Value,
    /// `key_sent_at`, `request_position` and `request_size`, when readable.
    sent_at: Option<String>,
    position: Option<u64>,
    size: Option<u64>,
    /// The line's earlier error.
    error: Option<Value>,
    /// A malformed line naming the key: its failure.
    bad: Option<Failure>,
}

/// The lines of `dbsync resend` to send again with their request's key, by key, gathered over
/// the whole file: a group is sent only once complete and checked (see [`check_group`]).
#[derive(Default)]
struct Groups {
    groups: HashMap<String, Vec<Member>>,
    /// The keys, by their first line.
    order: Vec<String>,
}

impl Groups {
    fn push(&mut self, key: String, member: Member) {
        let group = self.groups.entry(key.clone()).or_default();
        if group.is_empty() {
            self.order.push(key);
        }
        group.push(member);
    }

    /// At the end of the input: the groups to send (each in request order), and the failures of
    /// the others.
    fn finish(mut self, now: SystemTime) -> (Vec<(String, Vec<Member>)>, Vec<Failure>) {
        let mut ready = Vec::new();
        let mut failed = Vec::new();
        for key in self.order {
            let members = self.groups.remove(&key).unwrap_or_default();
            match check_group(&key, members, now) {
                Ok(group) => ready.push((key, group)),
                Err(failures) => failed.extend(failures),
            }
        }
        (ready, failed)
    }
}

/// Why the key of a group may no longer be kept by the server, if it may not.
fn key_too_old(members: &[Member], now: SystemTime) -> Option<String> {
    for member in members {
        let Some(text) = &member.sent_at else {
            return Some(format!(
                "line {} has no \"key_sent_at\" (a file from an older dbsync, or edited), so \
                 the key's age is not known",
                member.line
            ));
        };
        let Some(at) = dbsync_contract::timestamp::parse(text) else {
            return Some(format!(
                "line {} has a \"key_sent_at\" that is not an RFC 3339 time",
                member.line
            ));
        };
        match now.duration_since(at) {
            Ok(age) if age >= KEY_MAX_AGE => {
                return Some(format!(
                    "it was first sent at {text}, over 23 hours ago (the server keeps a key 24 \
                     hours)"
                ));
            }
            Ok(_) => {}
            Err(ahead) if ahead.duration() > CLOCK_SKEW => {
                return Some(format!(
                    "line {} has a \"key_sent_at\" in the future ({text})",
                    member.line
                ));
            }
            Err(_) => {}
        }
    }
    None
}

/// Why a group is not exactly the records of one request, if it is not.
fn group_problem(members: &[Member]) -> Option<String> {
    if let Some(bad) = members.iter().find(|m| m.bad.is_some()) {
        return Some(format!("line {} is malformed", bad.line));
    }
    let mut size = None;
    for member in members {
        let (Some(position), Some(this_size)) = (member.position, member.size) else {
            return Some(format!(
                "line {} has no \"request_position\" or \"request_size\"",
                member.line
            ));
        };
        match size {
            None => size = Some(this_size),
            Some(size) if size != this_size => {
                return Some(format!(
                    "size mismatch: the lines give request_size {size} and {this_size}"
                ));
            }
            Some(_) => {}
        }
        if position >= this_size {
            return Some(format!(
                "line {} has request_position {position}, not under its request_size \
                 {this_size}",
                member.line
            ));
        }
    }
    let size = size.unwrap_or(0);
    if size == 0 || size > MAX_BATCH_SIZE as u64 {
        return Some(format!(
            "request_size {size} is not a request's (1 to {MAX_BATCH_SIZE} records)"
        ));
    }
    let mut seen: HashMap<u64, u64> = HashMap::new();
    for member in members {
        let position = member.position.unwrap_or_default();
        if let Some(first) = seen.insert(position, member.line) {
            return Some(format!(
                "duplicate position {position} (lines {first} and {})",
                member.line
            ));
        }
    }
    (0..size)
        .find(|position| !seen.contains_key(position))
        .map(|position| format!("missing position {position} of {size}"))
}

/// A group that can be sent again with its key, in its request's order; else the failures of
/// its lines: with the key dropped when the server may have forgotten it (sending it could
/// create the records twice), else with the key kept and why the group is not one request.
fn check_group(
    key: &str,
    mut members: Vec<Member>,
    now: SystemTime,
) -> Result<Vec<Member>, Vec<Failure>> {
    let (why, keep) = if let Some(why) = key_too_old(&members, now) {
        (
            format!(
                "{NOT_SENT}the outcome is unknown (the record may have been saved) and its \
                 idempotency_key `{key}` may no longer be kept by the server ({why}), so \
                 sending it could create the record twice; {CHECK}"
            ),
            false,
        )
    } else if let Some(problem) = group_problem(&members) {
        (
            format!(
                "{NOT_SENT}the lines sharing idempotency_key `{key}` are not exactly the records \
                 of its request ({problem}), so none of them is sent and the outcome is still \
                 unknown (the records may have been saved); restore the lines of that request \
                 as the create wrote them and resend, or {CHECK}"
            ),
            true,
        )
    } else {
        members.sort_by_key(|m| m.position);
        return Ok(members);
    };
    Err(members
        .into_iter()
        .map(|member| {
            let mut failure = match member.bad {
                Some(mut bad) => {
                    if let Some(Value::String(message)) = bad.error.get_mut("message") {
                        message.push_str(&format!(
                            "; the lines sharing its idempotency_key `{key}` are not sent \
                             without it"
                        ));
                    }
                    bad
                }
                None => {
                    let earlier = member.error.as_ref().filter(|e| {
                        !e.get("message")
                            .and_then(Value::as_str)
                            .is_some_and(|m| m.starts_with(NOT_SENT))
                    });
                    Failure::unsent(
                        member.line,
                        member.record,
                        unsent_error(earlier, why.clone()),
                    )
                }
            };
            failure.outcome = Outcome::Unknown;
            if keep {
                failure.idempotency_key = Some(key.to_owned());
                failure.key_sent_at = member.sent_at;
                failure.request_position = member.position;
                failure.request_size = member.size;
            }
            failure
        })
        .collect())
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
                .map_err(|e| CliError::other(format!("cannot create {}: {e}", path.display())))?;
            Some((BufWriter::new(Box::new(file) as Box<dyn Write>), path))
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
        (Source::Failures, _) => ("resending", "saved"),
        (Source::Records, BulkMode::Create) => ("creating", "created"),
        (Source::Records, BulkMode::Update) => ("updating", "updated"),
    };
    let bar = progress::bar(total, doing);
    let mut chunk: Vec<(u64, Value)> = Vec::with_capacity(CHUNK);
    // Failures found locally wait for their chunk, so the failed file stays in line order.
    let mut local: Vec<Failure> = Vec::new();
    let mut groups = Groups::default();
    // The groups to send, at the end of the input.
    let mut ready = Vec::new();
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
                Source::Failures => sort_entry(item.line, item.value, schema.as_ref()),
            };
            match sorted {
                Item::Send(record) => chunk.push((item.line, record)),
                Item::Again { key, member } => groups.push(key, member),
                Item::Fail(failure) => local.push(failure),
            }
        } else {
            let (sendable, failed) = std::mem::take(&mut groups).finish(SystemTime::now());
            ready = sendable;
            local.extend(failed);
        }
        if chunk.len() >= CHUNK
            || local.len() >= CHUNK
            || (end && !(chunk.is_empty() && local.is_empty() && ready.is_empty()))
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
                std::mem::take(&mut ready),
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
        out.flush().map_err(|e| failures_file_error(path, &e))?;
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
fn unknown_advice(mode: BulkMode, unknown: u64) -> String {
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
    // Taken before any request of the call carries its key: a lower bound of when it was sent.
    let sent_at = dbsync_contract::timestamp::format_seconds(SystemTime::now());
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
    settle(
        batch,
        outcomes,
        Sent::New,
        SentAt::All(&sent_at),
        failures,
        writer,
    )
}

/// Sends each group again as the one batch create it was first sent as, with its key (up to
/// `concurrency` requests at once); returns how many records were saved.
async fn send_again<W: Write>(
    resource: &Resource<Value>,
    groups: Vec<(String, Vec<Member>)>,
    concurrency: usize,
    failures: &mut Vec<Failure>,
    writer: &mut RecordWriter<W>,
    (bar, done): (&ProgressBar, &mut u64),
) -> Result<u64, CliError> {
    let mut answers = futures::stream::iter(groups)
        .map(|(key, group)| async move {
            let records: Vec<Value> = group.iter().map(|m| m.record.clone()).collect();
            let outcomes = resource.create_batch_with_key(&records, &key).await;
            (key, group, outcomes)
        })
        .buffer_unordered(concurrency.max(1));
    let mut saved = 0;
    while let Some((key, group, outcomes)) = answers.next().await {
        *done += group.len() as u64;
        let sent_at: Vec<String> = group
            .iter()
            .map(|m| m.sent_at.clone().unwrap_or_default())
            .collect();
        let batch = group.into_iter().map(|m| (m.line, m.record)).collect();
        saved += settle(
            batch,
            outcomes,
            Sent::Again(&key),
            SentAt::Each(&sent_at),
            failures,
            writer,
        )?;
        bar.set_position(*done);
    }
    Ok(saved)
}

/// When the key of each record of a batch call was first sent.
#[derive(Clone, Copy)]
enum SentAt<'a> {
    /// The same for every record: just before the call.
    All(&'a str),
    /// Each record's own (`key_sent_at` of its line), by index.
    Each(&'a [String]),
}

impl SentAt<'_> {
    fn at(self, index: usize) -> Option<String> {
        match self {
            SentAt::All(at) => Some(at.to_owned()),
            SentAt::Each(each) => each.get(index).filter(|at| !at.is_empty()).cloned(),
        }
    }
}

/// Writes each saved record of `batch` to `writer` and adds each failed one to `failures`, with
/// what is known of it (see [`Sent::unknown`]); returns how many were saved.
fn settle<W: Write>(
    batch: Vec<(u64, Value)>,
    outcomes: Vec<BatchOutcome<Value>>,
    sent: Sent<'_>,
    sent_at: SentAt<'_>,
    failures: &mut Vec<Failure>,
    writer: &mut RecordWriter<W>,
) -> Result<u64, CliError> {
    let whole_unknown = keys_of_unknown_requests(&outcomes, sent);
    // The records of each kept key are its request's records, in index order: a record's
    // place among them is its place in the request.
    let mut members: HashMap<&str, Vec<usize>> = HashMap::new();
    for outcome in &outcomes {
        if let Some(key) = outcome.idempotency_key.as_deref()
            && whole_unknown.contains(key)
        {
            members.entry(key).or_default().push(outcome.index);
        }
    }
    let place: HashMap<usize, (u64, u64)> = members
        .into_values()
        .flat_map(|mut indexes| {
            indexes.sort_unstable();
            let size = indexes.len() as u64;
            indexes
                .into_iter()
                .enumerate()
                .map(move |(position, index)| (index, (position as u64, size)))
        })
        .collect();
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
                let key = outcome
                    .idempotency_key
                    .filter(|key| whole_unknown.contains(key));
                let place = key.as_ref().and_then(|_| place.get(&outcome.index));
                failures.push(Failure {
                    line,
                    record,
                    exit: class_of(&error),
                    error: error_value,
                    outcome: known,
                    key_sent_at: key.as_ref().and_then(|_| sent_at.at(outcome.index)),
                    request_position: place.map(|p| p.0),
                    request_size: place.map(|p| p.1),
                    idempotency_key: key,
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
            key_sent_at: None,
            request_position: None,
            request_size: None,
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
            // Refused as a whole batch, dbsync-client says unknown: that holds.
            assert_eq!(
                outcome_of(&failed(&error, true), Sent::Again("k")),
                Outcome::Unknown,
                "{error}"
            );
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

    fn sorted(text: &str) -> Item {
        let value = serde_json::from_str::<Value>(text)
            .map_err(|e| (format!("not a JSON document: {e}"), text.into()));
        sort_entry(3, value, None)
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
            Item::Again { key, member } => panic!("sent again with {key}: {}", member.record),
        }
    }

    #[test]
    fn each_line_of_a_failures_file_is_sorted_by_its_outcome() {
        let record = json!({"email": "a@example.com"});
        let line = |outcome: Value, key: Value| {
            json!({"line": 9, "record": record, "error": {"message": "lost"}, "outcome": outcome, "idempotency_key": key})
                .to_string()
        };
        match sorted(&line(json!("not_saved"), Value::Null)) {
            Item::Send(sent) => assert_eq!(sent, record),
            _ => panic!("a record not saved is sent as new"),
        }
        match sorted(&line(json!("unknown"), json!("k1"))) {
            Item::Again { key, member } => {
                assert_eq!(key, "k1");
                assert_eq!(member.record, record);
                assert!(member.bad.is_none());
            }
            _ => panic!("an unknown record with a key joins its group"),
        }
        for key in [Value::Null, json!("  ")] {
            let (outcome, key, message, _) = failure_of(sorted(&line(json!("unknown"), key)));
            assert_eq!((outcome, key), (Outcome::Unknown, None));
            assert!(message.starts_with(NOT_SENT), "{message}");
            assert!(message.contains("(first error: lost)"), "{message}");
        }
        let old = json!({"line": 9, "record": record, "error": {"message": "lost"}}).to_string();
        let (outcome, _, message, _) = failure_of(sorted(&old));
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
            let (outcome, key, message, _) = failure_of(sorted(text));
            assert_eq!((outcome, key), (Outcome::Unknown, None), "{text}");
            assert!(message.contains(why), "{text}: {message}");
        }
        // A line not sent by an earlier resend keeps its message, not wrapped again.
        let earlier = json!({"record": record, "error": {"message": format!("{NOT_SENT}why")}, "outcome": "unknown", "idempotency_key": null});
        let (_, _, message, _) = failure_of(sorted(&earlier.to_string()));
        assert_eq!(message, format!("{NOT_SENT}why"));
    }

    #[test]
    fn a_key_a_header_cannot_carry_makes_the_line_malformed() {
        for key in ["bad\nkey", "bad\u{7f}", "a\rb"] {
            let text = json!({"record": {"a": 1}, "outcome": "unknown", "idempotency_key": key, "key_sent_at": dbsync_contract::timestamp::format_seconds(SystemTime::now()), "request_position": 0, "request_size": 1}).to_string();
            match sorted(&text) {
                Item::Fail(failure) => {
                    assert_eq!(failure.exit, Exit::Validation, "{key:?}");
                    assert_eq!(failure.idempotency_key, None);
                    let message = failure.error["message"].as_str().unwrap();
                    assert!(message.contains("a header cannot carry"), "{message}");
                }
                _ => panic!("{key:?} is sent"),
            }
        }
        assert!(header_can_carry("2f1e-aa_09.Z"));
    }

    /// A line of a key's group.
    fn member(
        line: u64,
        position: Option<u64>,
        size: Option<u64>,
        sent_at: Option<&str>,
    ) -> Member {
        Member {
            line,
            record: json!({"n": line}),
            sent_at: sent_at.map(str::to_owned),
            position,
            size,
            error: Some(json!({"message": "lost"})),
            bad: None,
        }
    }

    fn group_failures(members: Vec<Member>, now: SystemTime) -> Vec<Failure> {
        match check_group("k", members, now) {
            Ok(group) => panic!(
                "sent: lines {:?}",
                group.iter().map(|m| m.line).collect::<Vec<_>>()
            ),
            Err(failures) => failures,
        }
    }

    #[test]
    fn a_key_is_sent_again_only_when_every_line_says_it_is_under_23_hours_old() {
        let now = SystemTime::now();
        let at = |hours_ago: u64| {
            dbsync_contract::timestamp::format_seconds(now - Duration::from_secs(hours_ago * 3600))
        };
        let fresh = at(22);
        // Fresh and complete: sent, in the request's order.
        let group = check_group(
            "k",
            vec![
                member(5, Some(1), Some(2), Some(&fresh)),
                member(4, Some(0), Some(2), Some(&fresh)),
            ],
            now,
        )
        .unwrap_or_else(|_| panic!("not sent"));
        assert_eq!(group.iter().map(|m| m.line).collect::<Vec<_>>(), vec![4, 5]);
        let old = at(23);
        let future = dbsync_contract::timestamp::format_seconds(now + Duration::from_secs(3600));
        for (sent_at, why) in [
            (None, "no \"key_sent_at\""),
            (Some(old.as_str()), "over 23 hours ago"),
            (Some("not a time"), "not an RFC 3339 time"),
            (Some(future.as_str()), "in the future"),
        ] {
            let failures = group_failures(
                vec![
                    member(1, Some(0), Some(2), Some(&fresh)),
                    member(2, Some(1), Some(2), sent_at),
                ],
                now,
            );
            assert_eq!(failures.len(), 2);
            for failure in failures {
                assert_eq!(failure.outcome, Outcome::Unknown);
                assert_eq!(failure.idempotency_key, None, "the key is dropped");
                assert_eq!(failure.key_sent_at, None);
                let message = failure.error["message"].as_str().unwrap();
                assert!(message.contains(why), "{message}");
                assert!(message.contains("check whether it exists"), "{message}");
                assert!(message.contains("(first error: lost)"), "{message}");
            }
        }
    }

    #[test]
    fn a_group_is_sent_only_when_it_is_exactly_one_whole_request() {
        let now = SystemTime::now();
        let at = dbsync_contract::timestamp::format_seconds(now - Duration::from_secs(60));
        let m = |line, position, size| member(line, position, size, Some(&at));
        let mut malformed = m(3, Some(2), Some(3));
        malformed.bad = Some(Failure::local(
            3,
            json!({}),
            local_error("bad line".into(), json!([])),
        ));
        for (members, why) in [
            (
                vec![
                    m(1, Some(0), Some(2)),
                    m(2, Some(1), Some(2)),
                    m(3, Some(1), Some(2)),
                ],
                "duplicate position 1",
            ),
            (
                vec![m(1, Some(0), Some(3)), m(2, Some(2), Some(3))],
                "missing position 1",
            ),
            (
                vec![m(1, Some(0), Some(2)), m(2, Some(1), Some(3))],
                "size mismatch",
            ),
            (
                vec![m(1, Some(0), Some(1)), m(2, None, None)],
                "no \"request_position\"",
            ),
            (
                vec![m(1, Some(0), Some(2)), m(2, Some(1), Some(2)), malformed],
                "line 3 is malformed",
            ),
            (
                (0..101).map(|i| m(i + 1, Some(i), Some(101))).collect(),
                "request_size 101",
            ),
        ] {
            let lines = members.len();
            let failures = group_failures(members, now);
            assert_eq!(failures.len(), lines, "{why}");
            for failure in failures {
                assert_eq!(failure.outcome, Outcome::Unknown);
                assert_eq!(
                    failure.idempotency_key.as_deref(),
                    Some("k"),
                    "the key is kept"
                );
                assert_eq!(failure.key_sent_at.as_deref(), Some(at.as_str()));
                let message = failure.error["message"].as_str().unwrap();
                assert!(
                    message.contains(why) || message.contains("are not sent without it"),
                    "{why}: {message}"
                );
            }
        }
        // A malformed line naming a key joins its group.
        let text =
            json!({"record": {"a": 1}, "outcome": "lost", "idempotency_key": "k"}).to_string();
        match sorted(&text) {
            Item::Again { key, member } => {
                assert_eq!(key, "k");
                assert!(member.bad.is_some());
            }
            _ => panic!("a malformed line with a key does not join its group"),
        }
    }

    #[test]
    fn create_writes_each_lost_requests_key_time_and_places() {
        let lost = |index: usize, key: &str| BatchOutcome {
            index,
            result: Err(transport(TransportKind::Broken)),
            idempotency_key: Some(key.to_owned()),
            outcome_unknown: true,
        };
        let outcomes = vec![lost(2, "A"), lost(0, "A"), lost(1, "B"), lost(3, "A")];
        let batch: Vec<(u64, Value)> = (0..4).map(|i| (i + 10, json!({"n": i}))).collect();
        let mut failures = Vec::new();
        let mut writer = RecordWriter::new(Vec::new(), Format::Jsonl);
        let at = "2026-01-02T03:04:05Z";
        settle(
            batch,
            outcomes,
            Sent::New,
            SentAt::All(at),
            &mut failures,
            &mut writer,
        )
        .unwrap();
        failures.sort_by_key(|f| f.line);
        #[allow(clippy::type_complexity)]
        let places: Vec<(u64, Option<&str>, Option<u64>, Option<u64>, Option<&str>)> = failures
            .iter()
            .map(|f| {
                (
                    f.line,
                    f.idempotency_key.as_deref(),
                    f.request_position,
                    f.request_size,
                    f.key_sent_at.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            places,
            vec![
                (10, Some("A"), Some(0), Some(3), Some(at)),
                (11, Some("B"), Some(0), Some(1), Some(at)),
                (12, Some("A"), Some(1), Some(3), Some(at)),
                (13, Some("A"), Some(2), Some(3), Some(at)),
            ]
        );
    }

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
                BufWriter::with_capacity(0, Box::new(ClosedPipe) as Box<dyn Write>),
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
