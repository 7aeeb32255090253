//! Concurrent batches: `create_many_with`/`update_many_with` send up to C batch requests at
//! once, isolate bad records by splitting a batch the server refused as a whole, report
//! progress, and never report a record saved that the server did not accept.

use std::sync::Arc;
use std::time::SystemTime;

use futures::StreamExt as _;
use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::batch::{BatchOutcome, BatchResponse, item_result};
use super::options::{BatchOptions, Progress};
use crate::concurrency::{Order, adaptive_buffered};
use crate::error::Error;
use crate::request::{JsonAs, new_idempotency_key};
use crate::resource::Resource;
use dbsync_contract::MAX_BATCH_SIZE;

/// One record ready to send: its input index and its JSON.
pub(crate) type Prepared = (usize, Value);

/// What is known of one record after its request: its result, and the request that carried it.
pub(crate) struct Settled<T> {
    /// The record's input index.
    pub(crate) index: usize,
    pub(crate) result: Result<T, Error>,
    /// Whether the server may have saved the record although `result` is an error.
    pub(crate) unknown: bool,
    /// The request that carried the record, when it was sent with an `Idempotency-Key`.
    pub(crate) request: Option<SentWith>,
    /// The record as sent, kept when it was not saved (for a failures journal).
    pub(crate) input: Option<Value>,
}

/// The `Idempotency-Key` of the request that carried a record, when that request was first
/// sent (taken just before: a lower bound), and the record's place in it.
#[derive(Debug, Clone)]
pub(crate) struct SentWith {
    pub(crate) key: Arc<str>,
    pub(crate) sent_at: SystemTime,
    pub(crate) position: usize,
    pub(crate) size: usize,
}

/// What one request made of a part of a batch.
enum PartReply<T> {
    /// Per-record results, by position in the part (`None`: the response left it out).
    Items(Vec<Option<(Result<T, Error>, bool)>>),
    /// The request failed as a whole; `true` when one of its attempts may have been carried
    /// out (see [`crate::retry::Outcome::may_have_acted`]).
    Whole(Error, bool),
}

#[derive(Serialize)]
struct BatchBody<'a> {
    records: Vec<&'a Value>,
}

impl<T: Serialize + DeserializeOwned> Resource<T> {
    /// [`Resource::create_batch_with_key`]: the records sent as one batch with the key.
    pub(crate) async fn send_with_key(
        &self,
        records: &[T],
        idempotency_key: &str,
    ) -> Vec<BatchOutcome<T>> {
        let refuse = |why: String| {
            let error = Error::config(format!("{why}; nothing was sent"));
            (0..records.len())
                .map(|index| BatchOutcome {
                    index,
                    result: Err(error.clone()),
                    idempotency_key: Some(idempotency_key.to_owned()),
                    outcome_unknown: false,
                })
                .collect()
        };
        if records.is_empty() {
            return Vec::new();
        }
        if idempotency_key.trim().is_empty() {
            return refuse("the Idempotency-Key to send the batch again with is empty".into());
        }
        if http::HeaderValue::from_str(idempotency_key).is_err() {
            return refuse(
                "the Idempotency-Key has characters a header cannot carry; pass the key exactly \
                 as the first request's outcome gave it"
                    .into(),
            );
        }
        if records.len() > MAX_BATCH_SIZE {
            return refuse(format!(
                "{} records cannot be one batch request (at most {MAX_BATCH_SIZE}): send the \
                 records of one request with its key",
                records.len()
            ));
        }
        let mut ready = Vec::with_capacity(records.len());
        for (index, prepared) in self.prepare_creates(records).into_iter().enumerate() {
            match prepared {
                Ok(value) => ready.push((index, value)),
                Err(error) => {
                    return refuse(format!(
                        "record {index} fails the pre-flight check ({error}), so it cannot have \
                         been part of the first request"
                    ));
                }
            }
        }
        let settled = self
            .send_chunk(&Method::POST, ready, Some(Arc::from(idempotency_key)))
            .await;
        let mut outcomes: Vec<Option<Settled<T>>> = (0..records.len()).map(|_| None).collect();
        settle(&mut outcomes, settled);
        into_outcomes(outcomes)
    }

    pub(crate) async fn run_concurrent(
        &self,
        method: Method,
        prepared: Vec<Result<Value, Error>>,
        options: &BatchOptions,
    ) -> Vec<BatchOutcome<T>> {
        let total = prepared.len();
        let mut outcomes: Vec<Option<Settled<T>>> = Vec::with_capacity(total);
        let mut ready: Vec<Prepared> = Vec::new();
        for (index, record) in prepared.into_iter().enumerate() {
            match record {
                Ok(value) => {
                    outcomes.push(None);
                    ready.push((index, value));
                }
                Err(error) => outcomes.push(Some(Settled::refused_locally(index, error, None))),
            }
        }
        let mut progress = Progress {
            done: total - ready.len(),
            total,
            saved: 0,
            failed: total - ready.len(),
        };
        let report = |progress: Progress| {
            if let Some(callback) = &options.on_progress {
                callback(progress);
            }
        };
        report(progress);

        let mut chunks: Vec<Vec<Prepared>> = Vec::new();
        let mut records = ready.into_iter().peekable();
        while records.peek().is_some() {
            chunks.push(records.by_ref().take(options.chunk_size).collect());
        }
        let transport = self.connection.transport();
        let mut finished = adaptive_buffered(
            futures::stream::iter(chunks).map(|chunk| self.send_chunk(&method, chunk, None)),
            options.concurrency,
            Order::Any,
            || transport.congestion_events(),
        );
        while let Some(settled) = finished.next().await {
            progress.done += settled.len();
            progress.saved += settle(&mut outcomes, settled);
            progress.failed = progress.done.saturating_sub(progress.saved);
            report(progress);
        }
        into_outcomes(outcomes)
    }

    /// Sends one chunk, splitting it while the server refuses a part as a whole with `400` or
    /// `413`. With `resend_key` (a create sent again) the chunk goes as one request with that
    /// key and is never split: a server may check a body's size or shape before it looks the
    /// key up, so such a refusal does not prove the first request saved nothing, and the
    /// records stay unknown. Otherwise the chunk and every split part get a new key. Returns
    /// what is known of every record of the chunk, one entry each.
    pub(crate) async fn send_chunk(
        &self,
        method: &Method,
        chunk: Vec<Prepared>,
        resend_key: Option<Arc<str>>,
    ) -> Vec<Settled<T>> {
        let resend = resend_key.is_some();
        let mut key = resend_key;
        let mut settled = Vec::with_capacity(chunk.len());
        let mut pending = vec![chunk];
        while let Some(part) = pending.pop() {
            let (sent_with, reply) = self.send_part(method, &part, key.take()).await;
            let size = part.len();
            let request = |position: usize| {
                sent_with.as_ref().map(|(key, sent_at)| SentWith {
                    key: Arc::clone(key),
                    sent_at: *sent_at,
                    position,
                    size,
                })
            };
            match reply {
                PartReply::Items(mut items) => {
                    for (position, (index, value)) in part.into_iter().enumerate() {
                        let answered = items.get_mut(position).and_then(Option::take);
                        settled.push(match answered {
                            Some((result, unknown)) => Settled {
                                index,
                                input: result.is_err().then_some(value),
                                result,
                                unknown,
                                request: request(position),
                            },
                            // Left out of the answer: it may or may not have been saved. It was
                            // part of the request, so sending that whole request again with its
                            // key stays safe.
                            None => Settled {
                                index,
                                result: Err(Error::decode(
                                    None,
                                    "the batch response has no result for this record; it may \
                                     or may not have been saved",
                                    b"",
                                )),
                                unknown: true,
                                request: request(position),
                                input: Some(value),
                            },
                        });
                    }
                }
                PartReply::Whole(error, _)
                    if !resend && part.len() > 1 && is_split_worthy(&error) =>
                {
                    let mut first = part;
                    let second = first.split_off(first.len() / 2);
                    pending.push(second);
                    pending.push(first);
                }
                PartReply::Whole(error, acted) => {
                    let keyed = sent_with.is_some();
                    let unknown = whole_failure_unknown(&error, acted, keyed)
                        || (resend && is_split_worthy(&error));
                    let error = match &sent_with {
                        Some((key, _)) if unknown => unknown_outcome(error, key, &part),
                        _ => error,
                    };
                    for (position, (index, value)) in part.into_iter().enumerate() {
                        settled.push(Settled {
                            index,
                            result: Err(error.clone()),
                            unknown,
                            request: request(position),
                            input: Some(value),
                        });
                    }
                }
            }
        }
        settled
    }

    /// One batch request for `part` (a create with `key`, or a new key). Returns the key the
    /// request carried with the time just before it was first sent, and what came back.
    async fn send_part(
        &self,
        method: &Method,
        part: &[Prepared],
        key: Option<Arc<str>>,
    ) -> (Option<(Arc<str>, SystemTime)>, PartReply<T>) {
        let body = BatchBody {
            records: part.iter().map(|(_, value)| value).collect(),
        };
        let call = match self
            .sub_call(method.clone(), "batch")
            .and_then(|call| call.json_body(&body))
        {
            Ok(call) if *method == Method::POST => match key {
                Some(key) => call.with_idempotency_key(key.to_string()),
                // One key per request, whatever CallOptions says: the parts differ.
                None => call.with_idempotency_key(new_idempotency_key()),
            },
            Ok(call) => call,
            Err(error) => return (None, PartReply::Whole(error, false)),
        };
        let sent_with = call
            .idempotency_key
            .as_deref()
            .map(|key| (Arc::from(key), SystemTime::now()));
        // Decoded in the attempt loop: the one parse is also the check that the body is whole
        // (a body cut short is retried with the same key). A body of another shape fails the
        // part as a `Decode` error, whose records' outcome is unknown.
        let what = "the batch response (expected `{\"results\":[...]}`)";
        let sent = self
            .connection
            .transport()
            .send(&call, JsonAs::<BatchResponse>::new(what))
            .await;
        let response = match sent.result {
            Ok(response) => response,
            Err(error) => return (sent_with, PartReply::Whole(error, sent.may_have_acted)),
        };
        let mut items: Vec<Option<(Result<T, Error>, bool)>> =
            (0..part.len()).map(|_| None).collect();
        for item in response.results {
            // The first result for a record counts; a repeated index cannot overwrite it.
            let Some(slot @ None) = items.get_mut(item.index) else {
                continue;
            };
            let result = item_result(item);
            // Saved without a usable record, or a server failure on this record.
            let unknown = matches!(&result, Err(error) if outcome_unknown(error));
            *slot = Some((result, unknown));
        }
        (sent_with, PartReply::Items(items))
    }
}

impl<T> Settled<T> {
    /// A record refused before anything was sent (the pre-flight check).
    pub(crate) fn refused_locally(index: usize, error: Error, input: Option<Value>) -> Self {
        Self {
            index,
            result: Err(error),
            unknown: false,
            request: None,
            input,
        }
    }
}

/// Records `settled` in `outcomes`, by input index; returns how many were saved. The first
/// result for a record counts.
fn settle<T>(outcomes: &mut [Option<Settled<T>>], settled: Vec<Settled<T>>) -> usize {
    let mut saved = 0;
    for record in settled {
        if let Some(slot @ None) = outcomes.get_mut(record.index) {
            saved += usize::from(record.result.is_ok());
            *slot = Some(record);
        }
    }
    saved
}

/// One outcome per input record, in input order; a record never settled may or may not have
/// been saved.
fn into_outcomes<T>(outcomes: Vec<Option<Settled<T>>>) -> Vec<BatchOutcome<T>> {
    outcomes
        .into_iter()
        .enumerate()
        .map(|(index, outcome)| match outcome {
            Some(settled) => BatchOutcome {
                index,
                result: settled.result,
                idempotency_key: settled.request.map(|request| request.key.to_string()),
                outcome_unknown: settled.unknown,
            },
            None => BatchOutcome {
                index,
                result: Err(Error::decode(
                    None,
                    "the batch response has no result for this record; it may or may not \
                     have been saved",
                    b"",
                )),
                idempotency_key: None,
                outcome_unknown: true,
            },
        })
        .collect()
}

/// A whole-batch refusal that splitting can get around: a bad record (`400`) or a body too
/// large (`413`).
fn is_split_worthy(error: &Error) -> bool {
    matches!(
        error,
        Error::Validation { .. } | Error::PayloadTooLarge { .. }
    )
}

/// Whether the server may have saved the records of a request that failed as a whole with
/// `error`, after attempts of which one may have been carried out when `acted`; `keyed` for a
/// create (which carries an `Idempotency-Key`).
fn whole_failure_unknown(error: &Error, acted: bool, keyed: bool) -> bool {
    if outcome_unknown(error) {
        return true;
    }
    // A 409 to a key: the key is in use, so a request with it reached the server (it may
    // still be running, or another body was sent with it).
    if keyed && matches!(error, Error::Conflict { .. }) {
        return true;
    }
    // After an attempt that may have been carried out, only the server's own verdict on the
    // request (replayed for its key) says that nothing was saved; a `429`, a `401`, a failed
    // connect or the deadline on a later attempt says nothing about the earlier one.
    acted && !refused_the_request(error)
}

/// The server's verdict on the request itself: it was refused, and nothing was saved.
fn refused_the_request(error: &Error) -> bool {
    match error {
        Error::Validation { .. } | Error::PayloadTooLarge { .. } | Error::NotFound { .. } => true,
        Error::Http { status, .. } => {
            (400..500).contains(status) && !matches!(status, 401 | 403 | 408 | 409 | 429)
        }
        _ => false,
    }
}

/// Whether the server may have acted on a request that ended in `error`, whatever came before.
pub(crate) fn outcome_unknown(error: &Error) -> bool {
    match error {
        Error::Transport { kind, .. } => !matches!(
            kind,
            crate::TransportKind::Connect | crate::TransportKind::ConnectTimeout
        ),
        Error::Decode { .. } | Error::Server { .. } => true,
        _ => false,
    }
}

/// Adds to `error` that the records' fate is unknown and how to retry safely.
fn unknown_outcome(error: Error, key: &str, part: &[Prepared]) -> Error {
    let first = part.first().map(|(index, _)| *index).unwrap_or_default();
    let last = part.last().map(|(index, _)| *index).unwrap_or_default();
    let advice = format!(
        "; the outcome is unknown: the server may have saved some or all of the {} records of \
         this batch (input indices {first}..={last}); resending the same records in the same \
         order with Idempotency-Key `{key}` is safe (it creates nothing twice)",
        part.len()
    );
    match error {
        Error::Transport {
            kind,
            message,
            source,
        } => Error::Transport {
            kind,
            message: message + &advice,
            source,
        },
        Error::Decode {
            status,
            message,
            snippet,
        } => Error::Decode {
            status,
            message: message + &advice,
            snippet,
        },
        Error::Server { status, message } => Error::Server {
            status,
            message: message + &advice,
        },
        Error::Conflict { message } => Error::Conflict {
            message: format!(
                "{message}; the Idempotency-Key `{key}` is already in use: by a request still \
                 being processed (send the same records with it again later) or with another \
                 body (the records sent with a key must be exactly those of its first request, \
                 unchanged and in order); the outcome is unknown: the server may have saved \
                 some or all of the {} records of this batch (input indices {first}..={last})",
                part.len()
            ),
        },
        Error::RateLimited {
            message,
            retry_after,
        } => Error::RateLimited {
            message: message + &advice,
            retry_after,
        },
        Error::Unauthorized { message, challenge } => Error::Unauthorized {
            message: message + &advice,
            challenge,
        },
        Error::Forbidden { message, scope } => Error::Forbidden {
            message: message + &advice,
            scope,
        },
        Error::Http { status, message } => Error::Http {
            status,
            message: message + &advice,
        },
        other => other,
    }
}
