//! Creating and updating many records: split into batches of at most 100, one outcome per input.

use std::fmt::Display;

use http::Method;
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::Error;
use crate::page::decode_record;
use crate::request::execute;
use crate::resource::Resource;
use dbsync_validate::ErrorObject;

use crate::error::snippet;

/// The most records one batch request may carry (the contract's limit).
pub const MAX_BATCH_SIZE: usize = 100;

/// What became of one input record of a batch call.
#[derive(Debug, Clone)]
pub struct BatchOutcome<T> {
    /// The record's position in the input slice.
    pub index: usize,
    /// The saved record as the server returned it, or why it was not saved. A record is `Ok`
    /// only when the server reported it saved.
    pub result: Result<T, Error>,
}

/// One item of a batch response.
#[derive(Debug, Deserialize)]
struct BatchItem {
    index: usize,
    status: u16,
    #[serde(default)]
    data: Option<Value>,
    /// Read leniently (see [`item_result`]) so that one odd error object does not hide the
    /// outcome of the other records.
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct BatchResponse {
    results: Vec<BatchItem>,
}

impl<T: Serialize + DeserializeOwned> Resource<T> {
    /// Creates any number of records with `POST /v1/{resource}/batch`, 100 per request, each
    /// request with its own `Idempotency-Key` (reused on its retries). Returns one outcome per
    /// input record, in input order; one bad record does not fail the others.
    pub async fn create_many(&self, records: &[T]) -> Vec<BatchOutcome<T>> {
        let prepared = records
            .iter()
            .map(|record| {
                self.preflight.check_create(record)?;
                to_json(record)
            })
            .collect();
        self.run_batches(Method::POST, prepared).await
    }

    /// Updates any number of records with `PUT /v1/{resource}/batch`, 100 per request. Each
    /// input is `(id, patch)`; the patch must serialise to a JSON object, and the id is added
    /// to it as a string unless the patch already has an `id`. Returns one outcome per input.
    pub async fn update_many<I: Display, P: Serialize>(
        &self,
        patches: &[(I, P)],
    ) -> Vec<BatchOutcome<T>> {
        let prepared = patches
            .iter()
            .map(|(id, patch)| {
                self.preflight.check_patch(patch)?;
                let mut object = match to_json(patch)? {
                    Value::Object(object) => object,
                    _ => {
                        return Err(Error::config(
                            "a batch update patch must serialise to a JSON object",
                        ));
                    }
                };
                object
                    .entry("id")
                    .or_insert_with(|| Value::String(id.to_string()));
                Ok(Value::Object(object))
            })
            .collect();
        self.run_batches(Method::PUT, prepared).await
    }

    async fn run_batches(
        &self,
        method: Method,
        prepared: Vec<Result<Value, Error>>,
    ) -> Vec<BatchOutcome<T>> {
        let mut outcomes: Vec<Option<Result<T, Error>>> = Vec::with_capacity(prepared.len());
        let mut ready: Vec<(usize, Value)> = Vec::new();
        for (index, record) in prepared.into_iter().enumerate() {
            match record {
                Ok(value) => {
                    outcomes.push(None);
                    ready.push((index, value));
                }
                Err(error) => outcomes.push(Some(Err(error))),
            }
        }
        for chunk in ready.chunks(MAX_BATCH_SIZE) {
            for (index, result) in self.send_batch(method.clone(), chunk).await {
                // The first result for a record counts; a repeated index cannot overwrite it.
                if let Some(slot @ None) = outcomes.get_mut(index) {
                    *slot = Some(result);
                }
            }
        }
        outcomes
            .into_iter()
            .enumerate()
            .map(|(index, result)| BatchOutcome {
                index,
                result: result.unwrap_or_else(|| {
                    Err(Error::decode(
                        None,
                        "the batch response has no result for this record; it may or may not \
                         have been saved",
                        b"",
                    ))
                }),
            })
            .collect()
    }

    /// Sends one batch; returns `(input index, result)` for the records the outcome is known of.
    async fn send_batch(
        &self,
        method: Method,
        chunk: &[(usize, Value)],
    ) -> Vec<(usize, Result<T, Error>)> {
        let records: Vec<&Value> = chunk.iter().map(|(_, value)| value).collect();
        let call = self
            .sub_call(method.clone(), "batch")
            .and_then(|call| call.json_body(&json!({ "records": records })))
            .map(|call| {
                if method == Method::POST {
                    call.with_new_idempotency_key()
                } else {
                    call
                }
            });
        let reply = match call {
            Ok(call) => execute(&self.connection, call).await,
            Err(error) => Err(error),
        };
        let reply = match reply {
            Ok(reply) => reply,
            Err(error) => return everyone(chunk, &error),
        };
        let response: BatchResponse = match serde_json::from_slice(&reply.body) {
            Ok(response) => response,
            Err(e) => {
                let error = Error::decode(
                    Some(reply.status),
                    format!(
                        "the batch response is not `{{\"results\":[...]}}` ({e}); the records \
                         may or may not have been saved"
                    ),
                    &reply.body,
                );
                return everyone(chunk, &error);
            }
        };
        let mut results = Vec::with_capacity(chunk.len());
        for item in response.results {
            let Some((input_index, _)) = chunk.get(item.index) else {
                continue;
            };
            results.push((*input_index, item_result(item)));
        }
        results
    }
}

fn item_result<T: DeserializeOwned>(item: BatchItem) -> Result<T, Error> {
    if (200..300).contains(&item.status) {
        return match item.data {
            Some(data) => decode_record(data, item.status, "the saved record"),
            None => Err(Error::decode(
                Some(item.status),
                "the batch result says saved but carries no record",
                b"",
            )),
        };
    }
    let (message, details) = match item.error {
        Some(error) => match ErrorObject::deserialize(&error) {
            Ok(object) => (object.message, object.details),
            Err(_) => (
                format!(
                    "unexpected batch error object `{}`",
                    snippet(error.to_string().as_bytes())
                ),
                Vec::new(),
            ),
        },
        None => (
            "the batch result has no error object".to_owned(),
            Vec::new(),
        ),
    };
    Err(Error::from_parts(
        item.status,
        message,
        details,
        None,
        None,
        None,
    ))
}

fn everyone<T>(chunk: &[(usize, Value)], error: &Error) -> Vec<(usize, Result<T, Error>)> {
    chunk
        .iter()
        .map(|(index, _)| (*index, Err(error.clone())))
        .collect()
}

fn to_json(value: &impl Serialize) -> Result<Value, Error> {
    serde_json::to_value(value)
        .map_err(|e| Error::config(format!("the record could not be serialised as JSON: {e}")))
}
