//! Concurrent batches: `create_many_with`/`update_many_with` send up to C batch requests at
//! once, isolate bad records by splitting a batch the server refused as a whole, report
//! progress, and never report a record saved that the server did not accept.

use std::fmt;
use std::sync::Arc;

use futures::StreamExt as _;
use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::batch::{BatchOutcome, BatchResponse, MAX_BATCH_SIZE, item_result};
use crate::error::Error;
use crate::request::execute_json_tracked;
use crate::resource::Resource;

/// How many batch requests are in flight at once unless configured.
pub const DEFAULT_BATCH_CONCURRENCY: usize = 4;

/// How far a batch call has come; handed to [`BatchOptions::on_progress`] after each batch
/// request (split parts included) finishes, and once at the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Records whose outcome is known (saved or failed).
    pub done: usize,
    /// All records of the call.
    pub total: usize,
    /// Records the server reported saved.
    pub saved: usize,
    /// Records that failed (refused, invalid before sending, or with an unknown outcome).
    pub failed: usize,
}

/// A progress callback: any `Fn(Progress)` that can be shared between threads, such as one that
/// moves an `indicatif` progress bar.
pub type ProgressCallback = Arc<dyn Fn(Progress) + Send + Sync>;

/// How [`Resource::create_many_with`] and [`Resource::update_many_with`] send their batches.
///
/// ```
/// use dbsync_client::BatchOptions;
/// let options = BatchOptions::default()
///     .concurrency(8)
///     .chunk_size(50)
///     .on_progress(|p| eprintln!("{}/{} records", p.done, p.total));
/// assert_eq!(options.max_in_flight(), 8);
/// assert_eq!(options.records_per_request(), 50);
/// ```
#[derive(Clone)]
pub struct BatchOptions {
    concurrency: usize,
    chunk_size: usize,
    on_progress: Option<ProgressCallback>,
}

impl Default for BatchOptions {
    /// 4 requests in flight, 100 records per request, no progress callback.
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_BATCH_CONCURRENCY,
            chunk_size: MAX_BATCH_SIZE,
            on_progress: None,
        }
    }
}

impl fmt::Debug for BatchOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchOptions")
            .field("concurrency", &self.concurrency)
            .field("chunk_size", &self.chunk_size)
            .field("on_progress", &self.on_progress.is_some())
            .finish()
    }
}

impl BatchOptions {
    /// How many batch requests may be in flight at once (default 4; `0` counts as 1). The
    /// parts of a split batch count against their batch's slot.
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self
    }

    /// Records per batch request (default and most 100, the contract's limit; a larger value is
    /// lowered to 100, `0` counts as 1).
    pub fn chunk_size(mut self, records: usize) -> Self {
        self.chunk_size = records.clamp(1, MAX_BATCH_SIZE);
        self
    }

    /// Called with the progress after each batch request finishes (and once at the start, with
    /// `total` set). Runs on the caller's task: keep it quick.
    pub fn on_progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(callback));
        self
    }

    /// The configured concurrency.
    pub fn max_in_flight(&self) -> usize {
        self.concurrency
    }

    /// The configured records per request.
    pub fn records_per_request(&self) -> usize {
        self.chunk_size
    }
}

/// One record ready to send: its input index and its JSON.
type Prepared = (usize, Value);

/// The outcome of one record: its index, its result, and the idempotency key its request used.
type Settled<T> = (usize, Result<T, Error>, Option<Arc<str>>, bool);

/// A record's result and the idempotency key of its request.
type Known<T> = (Result<T, Error>, Option<Arc<str>>, bool);

/// What one request made of a part of a batch.
enum PartReply<T> {
    /// Per-record results (records the response leaves out are absent).
    Items(Vec<Settled<T>>),
    /// The request failed as a whole.
    /// The request failed as a whole; `true` when one of its attempts may have been carried
    /// out (see [`crate::retry::Outcome::may_have_acted`]).
    Whole(Error, Option<Arc<str>>, bool),
}

#[derive(Serialize)]
struct BatchBody<'a> {
    records: Vec<&'a Value>,
}

impl<T: Serialize + DeserializeOwned> Resource<T> {
    /// Creates any number of records like [`Resource::create_many`], with `options`: up to
    /// `concurrency` batch requests in flight, `chunk_size` records each, progress reported to
    /// the callback. Returns one outcome per input record, in input order.
    ///
    /// A batch the server refuses as a whole with `400` or `413` is split in halves, again and
    /// again, so the good records still go in and each bad one is reported at its index. Each
    /// request carries its own `Idempotency-Key`, reused (with the same body bytes) on its
    /// retries. A request whose outcome stays unknown after its retries (the response was lost)
    /// reports its records failed, with the key in [`BatchOutcome::idempotency_key`]: resending
    /// the same records in the same order with that key is safe.
    ///
    /// ```no_run
    /// # async fn run(records: Vec<serde_json::Value>) {
    /// use dbsync_client::{BatchOptions, Connection};
    /// let connection = Connection::from_env().unwrap();
    /// let outcomes = connection
    ///     .records()
    ///     .create_many_with(&records, &BatchOptions::default().concurrency(4))
    ///     .await;
    /// let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    /// println!("{} saved, {failed} failed", outcomes.len() - failed);
    /// # }
    /// ```
    pub async fn create_many_with(
        &self,
        records: &[T],
        options: &BatchOptions,
    ) -> Vec<BatchOutcome<T>> {
        let prepared = self.prepare_creates(records);
        self.run_concurrent(Method::POST, prepared, options).await
    }

    /// Updates any number of records like [`Resource::update_many`], with `options` (see
    /// [`Resource::create_many_with`]; `PUT` is idempotent, so no key is sent).
    pub async fn update_many_with<I: fmt::Display, P: Serialize>(
        &self,
        patches: &[(I, P)],
        options: &BatchOptions,
    ) -> Vec<BatchOutcome<T>> {
        let prepared = self.prepare_updates(patches);
        self.run_concurrent(Method::PUT, prepared, options).await
    }

    /// Sends `records` again as the one batch create they were first sent as, with that
    /// request's `Idempotency-Key` (from [`BatchOutcome::idempotency_key`] of records whose
    /// outcome was unknown, see [`BatchOutcome::outcome_unknown`]): if the server answered the
    /// first request, it replays that answer and creates nothing; if it never got it, it
    /// creates them now. Each record is reported at its index, and none is created twice.
    ///
    /// The server replays whatever it answered first, errors too: when the first answer was a
    /// `5xx` or a body the client could not read, the replay is the same, and the records stay
    /// unknown. Then check whether they exist (by a unique field) instead of resending again.
    ///
    /// `records` must be exactly the records of that request, in the same order and unchanged
    /// (at most 100; the records that share the key, in input order): the server replays only
    /// a byte-identical body, and answers another body with the same key with a `409`
    /// ([`Error::Conflict`]). Nothing is sent, and every record fails with a configuration
    /// error, when the key is empty or not a valid header value, there are more than 100
    /// records, or a record fails the pre-flight check (the first request cannot have carried
    /// it); no records make no request (an empty body would use up the key). The records go as
    /// one request and are never split: a whole-batch `400`/`413` leaves them unknown (a server
    /// may check a body before it looks its key up, so the refusal does not prove that the
    /// first request saved nothing).
    ///
    /// ```no_run
    /// # async fn run(outcomes: Vec<dbsync_client::BatchOutcome<serde_json::Value>>,
    /// #     records: Vec<serde_json::Value>) {
    /// use dbsync_client::Connection;
    /// let contacts = Connection::from_env().unwrap().records();
    /// // `records[i]` is the input record of `outcomes[i]` (one request of a create_many).
    /// let lost = outcomes.iter().find(|o| o.outcome_unknown);
    /// if let Some(key) = lost.and_then(|o| o.idempotency_key.clone()) {
    ///     let same: Vec<serde_json::Value> = outcomes.iter()
    ///         .filter(|o| o.idempotency_key.as_deref() == Some(key.as_str()))
    ///         .map(|o| records[o.index].clone())
    ///         .collect();
    ///     let again = contacts.create_batch_with_key(&same, &key).await;
    ///     # let _ = again;
    /// }
    /// # }
    /// ```
    pub async fn create_batch_with_key(
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
        let (_, settled) = self
            .send_chunk(&Method::POST, ready, Some(Arc::from(idempotency_key)))
            .await;
        let mut outcomes: Vec<Option<Known<T>>> = (0..records.len()).map(|_| None).collect();
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
        let mut outcomes: Vec<Option<Known<T>>> = Vec::with_capacity(total);
        let mut ready: Vec<Prepared> = Vec::new();
        for (index, record) in prepared.into_iter().enumerate() {
            match record {
                Ok(value) => {
                    outcomes.push(None);
                    ready.push((index, value));
                }
                Err(error) => outcomes.push(Some((Err(error), None, false))),
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
        let mut finished = futures::stream::iter(chunks)
            .map(|chunk| self.send_chunk(&method, chunk, None))
            .buffer_unordered(options.concurrency);
        while let Some((size, settled)) = finished.next().await {
            progress.saved += settle(&mut outcomes, settled);
            progress.done += size;
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
    /// the chunk's size and what is known of its records.
    async fn send_chunk(
        &self,
        method: &Method,
        chunk: Vec<Prepared>,
        resend_key: Option<Arc<str>>,
    ) -> (usize, Vec<Settled<T>>) {
        let resend = resend_key.is_some();
        let mut key = resend_key;
        let size = chunk.len();
        let mut settled = Vec::with_capacity(size);
        let mut pending = vec![chunk];
        while let Some(part) = pending.pop() {
            match self.send_part(method, &part, key.take()).await {
                PartReply::Items(items) => settled.extend(items),
                PartReply::Whole(error, _, _)
                    if !resend && part.len() > 1 && is_split_worthy(&error) =>
                {
                    let mut first = part;
                    let second = first.split_off(first.len() / 2);
                    pending.push(second);
                    pending.push(first);
                }
                PartReply::Whole(error, key, acted) => {
                    let unknown = whole_failure_unknown(&error, acted, key.is_some())
                        || (resend && is_split_worthy(&error));
                    let error = match &key {
                        Some(key) if unknown => unknown_outcome(error, key, &part),
                        _ => error,
                    };
                    settled.extend(
                        part.iter()
                            .map(|(index, _)| (*index, Err(error.clone()), key.clone(), unknown)),
                    );
                }
            }
        }
        (size, settled)
    }

    /// One batch request for `part` (a create with `key`, or a new key).
    async fn send_part(
        &self,
        method: &Method,
        part: &[Prepared],
        key: Option<Arc<str>>,
    ) -> PartReply<T> {
        let body = BatchBody {
            records: part.iter().map(|(_, value)| value).collect(),
        };
        let call = match self
            .sub_call(method.clone(), "batch")
            .and_then(|call| call.json_body(&body))
        {
            Ok(call) if *method == Method::POST => match key {
                Some(key) => call.with_idempotency_key(key.to_string()),
                None => call.with_new_idempotency_key(),
            },
            Ok(call) => call,
            Err(error) => return PartReply::Whole(error, None, false),
        };
        let key: Option<Arc<str>> = call.idempotency_key.as_deref().map(Arc::from);
        // Decoded in the attempt loop: the one parse is also the check that the body is whole
        // (a body cut short is retried with the same key). A body of another shape fails the
        // part as a `Decode` error, whose records' outcome is unknown.
        let what = "the batch response (expected `{\"results\":[...]}`)";
        let response: BatchResponse = match execute_json_tracked(&self.connection, call, what).await
        {
            (Ok(response), _) => response,
            (Err(error), acted) => return PartReply::Whole(error, key, acted),
        };
        let mut items = Vec::with_capacity(part.len());
        for item in response.results {
            let Some((input_index, _)) = part.get(item.index) else {
                continue;
            };
            let result = item_result(item);
            // Saved without a usable record, or a server failure on this record.
            let unknown = matches!(&result, Err(error) if outcome_unknown(error));
            items.push((*input_index, result, key.clone(), unknown));
        }
        PartReply::Items(items)
    }
}

/// Records the results of `settled` in `outcomes`, by input index; returns how many were saved.
/// The first result for a record counts; a repeated index cannot overwrite it.
fn settle<T>(outcomes: &mut [Option<Known<T>>], settled: Vec<Settled<T>>) -> usize {
    let mut saved = 0;
    for (index, result, key, unknown) in settled {
        if let Some(slot @ None) = outcomes.get_mut(index) {
            saved += usize::from(result.is_ok());
            *slot = Some((result, key, unknown));
        }
    }
    saved
}

/// One outcome per input record, in input order; a record the server's answer left out may or
/// may not have been saved.
fn into_outcomes<T>(outcomes: Vec<Option<Known<T>>>) -> Vec<BatchOutcome<T>> {
    outcomes
        .into_iter()
        .enumerate()
        .map(|(index, outcome)| match outcome {
            Some((result, key, outcome_unknown)) => BatchOutcome {
                index,
                result,
                idempotency_key: key.map(|k| k.to_string()),
                outcome_unknown,
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
        Error::Http { status, message } => Error::Http {
            status,
            message: message + &advice,
        },
        other => other,
    }
}
