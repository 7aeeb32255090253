//! Sending a failures journal again ([`Resource::resend`]) with the guarantees that nothing is
//! ever created twice:
//!
//! - a `"not_saved"` entry is sent as a new create (after the caller's check, if any), in
//!   batches, each request with a new key;
//! - the `"unknown"` entries sharing an `idempotency_key` are gathered over the whole journal
//!   and, at its end, sent as one batch in position order with that key
//!   ([`Resource::create_batch_with_key`]), never with a new one and never split, when the
//!   group is exactly that request (positions `0..size` once each, at most 100) and every
//!   `key_sent_at` is under 23 hours old (the server keeps a key 24 hours): the server replays
//!   its first answer or creates them now;
//! - any other entry (an unknown outcome without a key, an entry without an `"outcome"` from an
//!   older dbsync, a malformed line) is not sent: it fails again with a message saying why and
//!   what to do.
//!
//! Saved records are handed over as they are known; the failures of each round of lines come
//! in line order (the groups are checked and sent in the last round). Memory is bounded for the
//! records sent as new creates; the lines of lost requests are kept until the end of the
//! journal, since a group is complete only then. If the journal cannot be read to its end,
//! nothing more is sent, every line read so far still gets its outcome (the groups' lines fail
//! with their keys kept), and the read error is returned.

mod entries;
mod groups;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use futures::StreamExt as _;
use serde_json::{Value, json};

use super::batch::BatchOutcome;
use super::journal::{JournalEntry, JournalOutcome};
use super::options::BatchOptions;
use crate::concurrency::{Concurrency, Order, adaptive_buffered};
use crate::error::Error;
use crate::resource::Resource;
use entries::{Failure, Item, local_error, sort_entry};
use groups::{Groups, Member};

/// How many journal lines are sorted before their records are sent (in batches of 100).
const LINES_PER_ROUND: usize = 1000;

/// A check of each record before it is sent as a new create: `Err` with the error to write
/// (`{"code", "message", "details"}`) keeps it from being sent.
pub(crate) type RecordCheck = dyn Fn(&Value) -> Result<(), Value> + Send + Sync;

/// One line of a failures journal, as read: its line number and its JSON, or why it is not
/// JSON and its text.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JournalLine {
    /// The line's number (1-based), written back as the entry's `line` when it fails again.
    line: u64,
    /// The line's JSON, or why it is not JSON and the line's text.
    value: Result<Value, (String, String)>,
}

impl JournalLine {
    /// A line read as JSON.
    pub fn new(line: u64, value: Value) -> Self {
        Self {
            line,
            value: Ok(value),
        }
    }

    /// The line's number.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// A line that is not JSON: `why`, and its text.
    pub fn unreadable(line: u64, why: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            line,
            value: Err((why.into(), text.into())),
        }
    }
}

/// How [`Resource::resend`] sends.
#[derive(Clone, Default)]
pub struct ResendOptions {
    batch: BatchOptions,
    check: Option<Arc<RecordCheck>>,
}

impl fmt::Debug for ResendOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResendOptions")
            .field("batch", &self.batch)
            .field("check", &self.check.is_some())
            .finish()
    }
}

impl ResendOptions {
    /// How new creates are sent, and how many key groups go at once
    /// ([`BatchOptions::max_in_flight`]).
    pub fn batch(mut self, options: BatchOptions) -> Self {
        self.batch = options;
        self
    }

    /// Checks each `"not_saved"` record before it is sent again (for example against a
    /// schema); a record that fails is not sent and fails again with the check's error.
    pub fn check(
        mut self,
        check: impl Fn(&Value) -> Result<(), Value> + Send + Sync + 'static,
    ) -> Self {
        self.check = Some(Arc::new(check));
        self
    }
}

/// What became of one line of a journal sent again.
#[derive(Debug)]
#[non_exhaustive]
pub enum ResendOutcome {
    /// Saved now (or replayed as saved for its key).
    Saved {
        /// The journal line.
        line: u64,
        /// The saved record.
        record: Value,
    },
    /// Still not saved, or still unknown: `entry` is the line of the new journal.
    Failed {
        /// The new journal's entry (its `error` says why, and what to do).
        entry: JournalEntry,
        /// The request's error, when the record was sent.
        error: Option<Error>,
        /// Whether the line itself was wanting (malformed, or failing the check): nothing was
        /// sent for it.
        invalid: bool,
    },
}

impl From<Failure> for ResendOutcome {
    fn from(failure: Failure) -> Self {
        let Failure {
            line,
            record,
            invalid,
            cause,
            error,
            outcome,
            idempotency_key,
            key_sent_at,
            request_position,
            request_size,
        } = failure;
        let mut entry = JournalEntry::new(line, record, error, outcome);
        entry.idempotency_key = idempotency_key;
        entry.key_sent_at = key_sent_at;
        entry.request_position = request_position;
        entry.request_size = request_size;
        Self::Failed {
            entry,
            error: cause,
            invalid,
        }
    }
}

impl Resource<Value> {
    /// The body of [`Resource::resend`].
    pub(crate) async fn resend_journal<E>(
        &self,
        lines: impl IntoIterator<Item = Result<JournalLine, E>>,
        options: &ResendOptions,
        mut on_outcome: impl FnMut(ResendOutcome) -> Result<(), E>,
    ) -> Result<(), E> {
        let check = options.check.as_deref();
        let concurrency = options.batch.get_concurrency();
        let mut lines = lines.into_iter();
        let mut chunk: Vec<(u64, Value)> = Vec::new();
        // Failures found locally wait for their round, so that failures stay in line order.
        let mut local: Vec<Failure> = Vec::new();
        let mut groups = Groups::default();
        loop {
            let next = match lines.next().transpose() {
                Ok(next) => next,
                Err(error) => {
                    // Nothing more is sent, but every line read so far gets its outcome.
                    let why = "the journal could not be read to its end";
                    let mut failures = std::mem::take(&mut local);
                    failures.extend(std::mem::take(&mut chunk).into_iter().map(
                        |(line, record)| {
                            let error = local_error(
                                format!("not sent: {why}; resend the file once it can be read"),
                                json!([]),
                            );
                            Failure {
                                outcome: JournalOutcome::NotSaved,
                                ..Failure::unsent(line, record, error)
                            }
                        },
                    ));
                    failures.extend(std::mem::take(&mut groups).abandon(why));
                    failures.sort_by_key(|f| f.line);
                    for failure in failures {
                        on_outcome(failure.into())?;
                    }
                    return Err(error);
                }
            };
            let end = next.is_none();
            let mut ready = Vec::new();
            match next {
                Some(JournalLine { line, value }) => match sort_entry(line, value, check) {
                    Item::Send(record) => chunk.push((line, record)),
                    Item::Again { key, member } => groups.push(key, member),
                    Item::Fail(failure) => local.push(failure),
                },
                None => {
                    let (sendable, failed) = std::mem::take(&mut groups).finish(SystemTime::now());
                    ready = sendable;
                    local.extend(failed);
                }
            }
            if chunk.len() >= LINES_PER_ROUND || local.len() >= LINES_PER_ROUND || end {
                let mut failures = std::mem::take(&mut local);
                let batch = std::mem::take(&mut chunk);
                let mut saved = send(self, batch, &options.batch, &mut failures).await;
                saved.extend(send_again(self, ready, concurrency, &mut failures).await);
                for (line, record) in saved {
                    on_outcome(ResendOutcome::Saved { line, record })?;
                }
                failures.sort_by_key(|f| f.line);
                for failure in failures {
                    on_outcome(failure.into())?;
                }
            }
            if end {
                return Ok(());
            }
        }
    }
}

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
fn outcome_of(outcome: &BatchOutcome<Value>, sent: Sent<'_>) -> JournalOutcome {
    if sent.unknown(outcome) {
        JournalOutcome::Unknown
    } else {
        JournalOutcome::NotSaved
    }
}

/// Sends one chunk as new creates; returns the saved records (with their lines).
async fn send(
    resource: &Resource<Value>,
    batch: Vec<(u64, Value)>,
    options: &BatchOptions,
    failures: &mut Vec<Failure>,
) -> Vec<(u64, Value)> {
    if batch.is_empty() {
        return Vec::new();
    }
    // Taken before any request of the call carries its key: a lower bound of when it was sent.
    let sent_at = dbsync_contract::timestamp::format_seconds(SystemTime::now());
    let records: Vec<Value> = batch.iter().map(|(_, r)| r.clone()).collect();
    let outcomes = resource.create_many_with(&records, options).await;
    settle(batch, outcomes, Sent::New, SentAt::All(&sent_at), failures)
}

/// Sends each group again as the one batch create it was first sent as, with its key (up to
/// `concurrency` requests in flight); returns how many records were saved.
async fn send_again(
    resource: &Resource<Value>,
    groups: Vec<(String, Vec<Member>)>,
    concurrency: Concurrency,
    failures: &mut Vec<Failure>,
) -> Vec<(u64, Value)> {
    let requests = futures::stream::iter(groups).map(|(key, group)| async move {
        let records: Vec<Value> = group.iter().map(|m| m.record.clone()).collect();
        let outcomes = resource.create_batch_with_key(&records, &key).await;
        (key, group, outcomes)
    });
    let transport = resource.connection.transport();
    let mut answers = adaptive_buffered(requests, concurrency, Order::Any, || {
        transport.congestion_events()
    });
    let mut saved = Vec::new();
    while let Some((key, group, outcomes)) = answers.next().await {
        let sent_at: Vec<String> = group
            .iter()
            .map(|m| m.sent_at.clone().unwrap_or_default())
            .collect();
        let batch = group.into_iter().map(|m| (m.line, m.record)).collect();
        saved.extend(settle(
            batch,
            outcomes,
            Sent::Again(&key),
            SentAt::Each(&sent_at),
            failures,
        ));
    }
    saved
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

/// Adds each failed record of `batch` to `failures`, with what is known of it (see
/// [`Sent::unknown`]); returns the saved records, with their lines.
fn settle(
    batch: Vec<(u64, Value)>,
    outcomes: Vec<BatchOutcome<Value>>,
    sent: Sent<'_>,
    sent_at: SentAt<'_>,
    failures: &mut Vec<Failure>,
) -> Vec<(u64, Value)> {
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
    let mut saved = Vec::new();
    let mut batch: Vec<Option<(u64, Value)>> = batch.into_iter().map(Some).collect();
    for outcome in outcomes {
        let Some((line, record)) = batch.get_mut(outcome.index).and_then(Option::take) else {
            continue;
        };
        let known = outcome_of(&outcome, sent);
        let said_unknown = outcome.outcome_unknown;
        match outcome.result {
            Ok(saved_record) => saved.push((line, saved_record)),
            Err(error) => {
                let mut error_value = JournalEntry::error_json(&error);
                // dbsync-client's own word on a 409 is about sending with a key in general;
                // here the records were just sent again with it.
                if let Sent::Again(key) = sent
                    && known == JournalOutcome::Unknown
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
                    invalid: false,
                    cause: Some(error),
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
        failures.push(Failure::unsent(
            line,
            record,
            local_error(
                "no outcome was reported for this record: it may or may not have been saved".into(),
                json!([]),
            ),
        ));
    }
    saved
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
    use crate::TransportKind;

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
            JournalOutcome::Unknown
        );
        let refused = Error::Validation {
            message: "bad".into(),
            details: Vec::new(),
        };
        assert_eq!(
            outcome_of(&failed(&refused, false), Sent::New),
            JournalOutcome::NotSaved
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
            assert_eq!(again(&error), JournalOutcome::NotSaved, "{error}");
            // Refused as a whole batch, dbsync-client says unknown: that holds.
            assert_eq!(
                outcome_of(&failed(&error, true), Sent::Again("k")),
                JournalOutcome::Unknown,
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
            assert_eq!(again(&error), JournalOutcome::Unknown, "{error}");
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
        let at = "2026-01-02T03:04:05Z";
        let saved = settle(batch, outcomes, Sent::New, SentAt::All(at), &mut failures);
        assert!(saved.is_empty());
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
}
