//! Durable bulk writes from a stream of any size: records are taken from the input only as
//! requests can carry them (at most 100 per request, `concurrency` requests in flight), so
//! memory stays bounded however long the input; each input record yields one [`WriteOutcome`],
//! in input order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use futures::stream::{BoxStream, Stream, StreamExt as _};
use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::options::BatchOptions;
use super::runner::{Prepared, SentWith, Settled};
use crate::concurrency::{Order, adaptive_buffered};
use crate::error::Error;
use crate::resource::Resource;

/// The request that carried a record whose outcome is unknown, when the outcome of every
/// record of that request is unknown: sending exactly its records again, in
/// [`LostRequest::position`] order, with its key ([`Resource::create_batch_with_key`], or a
/// journal through [`Resource::resend`]) is safe while the server still remembers the key
/// (24 hours): the server replays its first answer or creates them now, never twice.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LostRequest {
    /// The request's `Idempotency-Key`.
    pub idempotency_key: String,
    /// When the request was first sent (taken just before: a lower bound).
    pub sent_at: SystemTime,
    /// The record's place in the request (0-based).
    pub position: usize,
    /// How many records the request carried.
    pub size: usize,
}

/// What became of one input record of a durable bulk write ([`Resource::create_stream`],
/// [`Resource::update_stream`]). `index` is the record's 0-based position in the input.
#[derive(Debug)]
#[non_exhaustive]
pub enum WriteOutcome<T> {
    /// The server reported it saved; `record` is the saved record as it answered.
    #[non_exhaustive]
    Saved {
        /// The record's position in the input.
        index: u64,
        /// The saved record.
        record: T,
    },
    /// Not saved, for certain: refused by the server (`400`, `413` on its own...), failing the
    /// pre-flight check, or never sent. Safe to send again once fixed.
    #[non_exhaustive]
    Rejected {
        /// The record's position in the input.
        index: u64,
        /// The record as it was (to be) sent (`null` when it could not be made JSON).
        input: Value,
        /// Why it was not saved.
        error: Error,
    },
    /// The server may have saved it: a request carrying it may have been carried out and no
    /// answer for the record came back (see [`crate::BatchOutcome::outcome_unknown`]). Never
    /// create it again as a new record: send its whole request again with its key (when
    /// `request` is known), or check whether it exists.
    #[non_exhaustive]
    Unknown {
        /// The record's position in the input.
        index: u64,
        /// The record as it was sent.
        input: Value,
        /// The last error of its request.
        error: Error,
        /// The request that carried it, when that whole request's outcome is unknown (creates
        /// only; an update is safe to send again as it is).
        request: Option<LostRequest>,
    },
}

impl<T> WriteOutcome<T> {
    /// The record's 0-based position in the input.
    pub fn index(&self) -> u64 {
        match self {
            Self::Saved { index, .. }
            | Self::Rejected { index, .. }
            | Self::Unknown { index, .. } => *index,
        }
    }

    /// Why the record was not saved (or may not have been); `None` when saved.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Self::Saved { .. } => None,
            Self::Rejected { error, .. } | Self::Unknown { error, .. } => Some(error),
        }
    }
}

/// A chunk's records, each with its input index, ready to send or refused before sending.
type Chunk = Vec<(u64, Result<Value, (Error, Value)>)>;

impl<T> Resource<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    pub(crate) fn write_stream<S>(
        &self,
        method: Method,
        prepared: S,
        options: &BatchOptions,
    ) -> BoxStream<'static, WriteOutcome<T>>
    where
        S: Stream<Item = Result<Value, (Error, Value)>> + Send + 'static,
    {
        let resource = self.clone();
        let connection = self.connection.clone();
        let requests = prepared
            .enumerate()
            .map(|(index, record)| (index as u64, record))
            .chunks(options.get_chunk_size())
            .map(move |chunk| {
                let resource = resource.clone();
                let method = method.clone();
                async move { resource.write_chunk(method, chunk).await }
            })
            .boxed();
        adaptive_buffered(
            requests,
            options.get_concurrency(),
            Order::Kept,
            move || connection.transport().congestion_events(),
        )
        .flat_map(futures::stream::iter)
        .boxed()
    }

    /// Sends one chunk (one request, split only when refused as a whole) and tells each of its
    /// records' outcome, in input order.
    async fn write_chunk(&self, method: Method, chunk: Chunk) -> Vec<WriteOutcome<T>> {
        // The records go out numbered by their input index (errors name the input indices of a
        // lost request), unless that index does not fit a `usize`: then by place in the chunk.
        let offset = chunk
            .first()
            .and_then(|(first, _)| usize::try_from(*first).ok())
            .filter(|first| first.checked_add(chunk.len()).is_some())
            .unwrap_or(0);
        let mut indexes = Vec::with_capacity(chunk.len());
        let mut ready: Vec<Prepared> = Vec::with_capacity(chunk.len());
        let mut outcomes: Vec<Option<WriteOutcome<T>>> = Vec::with_capacity(chunk.len());
        for (position, (index, record)) in chunk.into_iter().enumerate() {
            indexes.push(index);
            match record {
                Ok(value) => {
                    ready.push((offset + position, value));
                    outcomes.push(None);
                }
                Err((error, input)) => outcomes.push(Some(WriteOutcome::Rejected {
                    index,
                    input,
                    error,
                })),
            }
        }
        if !ready.is_empty() {
            let settled = self.send_chunk(&method, ready, None).await;
            let lost = keys_of_lost_requests(&settled, |record| record.unknown);
            for record in settled {
                let Some(position) = record.index.checked_sub(offset) else {
                    continue;
                };
                let Some(index) = indexes.get(position).copied() else {
                    continue;
                };
                if let Some(slot @ None) = outcomes.get_mut(position) {
                    *slot = Some(to_outcome(index, record, &lost));
                }
            }
        }
        outcomes
            .into_iter()
            .zip(indexes)
            .map(|(outcome, index)| {
                outcome.unwrap_or_else(|| WriteOutcome::Unknown {
                    index,
                    input: Value::Null,
                    error: Error::decode(
                        None,
                        "no outcome was reported for this record: it may or may not have been \
                         saved",
                        b"",
                    ),
                    request: None,
                })
            })
            .collect()
    }
}

/// The keys of the requests none of whose records has a known outcome (by `unknown`). Each
/// such request is entirely unknown, so its records, in order, are that whole request, and
/// sending them again with its key replays it. The key of a request with any known record
/// (saved, or refused on its own) is left out: its failed records alone are not that request,
/// and sent with its key they would only be refused (`409`).
pub(crate) fn keys_of_lost_requests<T>(
    settled: &[Settled<T>],
    unknown: impl Fn(&Settled<T>) -> bool,
) -> HashMap<Arc<str>, bool> {
    let mut all_unknown: HashMap<Arc<str>, bool> = HashMap::new();
    for record in settled {
        if let Some(request) = &record.request {
            *all_unknown.entry(Arc::clone(&request.key)).or_insert(true) &= unknown(record);
        }
    }
    all_unknown
}

/// One record's outcome, naming its request when that whole request was lost (see
/// [`keys_of_lost_requests`]).
fn to_outcome<T>(
    index: u64,
    record: Settled<T>,
    lost: &HashMap<Arc<str>, bool>,
) -> WriteOutcome<T> {
    let input = record.input.unwrap_or(Value::Null);
    match record.result {
        Ok(saved) => WriteOutcome::Saved {
            index,
            record: saved,
        },
        Err(error) if record.unknown => WriteOutcome::Unknown {
            index,
            input,
            error,
            request: record
                .request
                .filter(|request| lost.get(&request.key).copied().unwrap_or(false))
                .map(LostRequest::from),
        },
        Err(error) => WriteOutcome::Rejected {
            index,
            input,
            error,
        },
    }
}

impl From<SentWith> for LostRequest {
    fn from(sent: SentWith) -> Self {
        Self {
            idempotency_key: sent.key.to_string(),
            sent_at: sent.sent_at,
            position: sent.position,
            size: sent.size,
        }
    }
}
