//! Creating and updating many records: split into batches of at most 100, one outcome per input.

use std::fmt::Display;

use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::Error;
use crate::preflight::Preflight;
use crate::resource::Resource;
use dbsync_validate::ErrorObject;

use crate::error::snippet;

/// What became of one input record of a batch call.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchOutcome<T> {
    /// The record's position in the input slice.
    pub index: usize,
    /// The saved record as the server returned it, or why it was not saved. A record is `Ok`
    /// only when the server reported it saved.
    pub result: Result<T, Error>,
    /// The `Idempotency-Key` of the request that carried the record (creates only). When the
    /// outcome is unknown (a lost response after every retry), resending the same records in
    /// the same order with this key is safe: the server replays its first answer.
    pub idempotency_key: Option<String>,
    /// Whether the server may have saved the record although `result` is an error: an attempt
    /// of its request may have been carried out and no answer for the record came back (a lost
    /// or cut answer, a `5xx`, a `409` because the key was already in use, or a later attempt
    /// refused by a `429`, a failed connect or the deadline), or the answer said saved without
    /// a usable record. Such a record must not be created again as a new record: check whether
    /// it exists, or resend the records that share its [`BatchOutcome::idempotency_key`], in
    /// the same order, with [`crate::Resource::create_batch_with_key`]. `false` for a saved
    /// record, for one the server refused (`400`, `413` on its own...) and for one never sent.
    pub outcome_unknown: bool,
}

/// One item of a batch response.
#[derive(Debug, Deserialize)]
pub(crate) struct BatchItem {
    pub(crate) index: usize,
    status: u16,
    /// The saved record's JSON text, decoded into `T` on its own (see [`item_result`]), so
    /// that a record that does not fit `T` fails alone and the response is parsed once.
    #[serde(default)]
    data: Option<Box<RawValue>>,
    /// Read leniently (see [`item_result`]) so that one odd error object does not hide the
    /// outcome of the other records.
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BatchResponse {
    pub(crate) results: Vec<BatchItem>,
}

impl<T: Serialize + DeserializeOwned> Resource<T> {
    /// Each record checked (pre-flight) and turned into JSON, or why it cannot be sent.
    ///
    /// Through a `Value` on purpose, not serialized straight to text: a `Value` object has
    /// sorted keys (unless an application turns on serde_json's `preserve_order`), so the same
    /// records make the same body bytes in any process, whatever the field order of `T` or the
    /// iteration order of a `HashMap` in it. Resending a batch with
    /// its `Idempotency-Key` ([`Resource::create_batch_with_key`]) is replayed only for a
    /// byte-identical body.
    pub(crate) fn prepare_creates(&self, records: &[T]) -> Vec<Result<Value, Error>> {
        records
            .iter()
            .map(|record| {
                self.preflight.check_create(record)?;
                to_json(record)
            })
            .collect()
    }

    /// Each patch checked (pre-flight) and turned into a JSON object with its id.
    pub(crate) fn prepare_updates<I: Display, P: Serialize>(
        &self,
        patches: &[(I, P)],
    ) -> Vec<Result<Value, Error>> {
        patches
            .iter()
            .map(|(id, patch)| prepare_update(&self.preflight, id, patch))
            .collect()
    }
}

/// A patch checked (pre-flight) and turned into a JSON object with its id (added as a string
/// unless the patch has an `id`).
pub(crate) fn prepare_update<I: Display, P: Serialize>(
    preflight: &Preflight,
    id: &I,
    patch: &P,
) -> Result<Value, Error> {
    preflight.check_patch(patch)?;
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
}

pub(crate) fn item_result<T: DeserializeOwned>(item: BatchItem) -> Result<T, Error> {
    if (200..300).contains(&item.status) {
        return match item.data {
            Some(data) if crate::request::first_byte(data.get().as_bytes()) != Some(b'{') => {
                Err(crate::request::not_an_object(
                    "the saved record",
                    item.status,
                    data.get().as_bytes(),
                ))
            }
            Some(data) => serde_json::from_str(data.get()).map_err(|e| {
                Error::decode(
                    Some(item.status),
                    format!("the saved record does not fit the expected type ({e})"),
                    data.get().as_bytes(),
                )
            }),
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

pub(crate) fn to_json(value: &impl Serialize) -> Result<Value, Error> {
    serde_json::to_value(value)
        .map_err(|e| Error::config(format!("the record could not be serialised as JSON: {e}")))
}
