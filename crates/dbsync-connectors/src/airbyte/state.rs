//! Per-stream state: the watermark of the last finished incremental read and the checkpoint of
//! a read in progress, so a resumed read neither misses nor repeats a record; and the
//! `--state` file (a list of per-stream `STATE` messages, as Airbyte passes it).

use std::collections::HashMap;
use std::path::Path;

use dbsync_client::Checkpoint;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::catalog::SyncMode;
use super::error::AirbyteError;
use crate::config::read_bounded;

/// The version of the stream state this crate writes and reads.
pub const STATE_VERSION: u32 = 1;
/// The largest `--state` file read, in bytes.
pub const MAX_STATE_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// The largest state of one stream, serialized, in bytes.
pub const MAX_STREAM_STATE_BYTES: usize = 1024 * 1024;
/// The most stream states a `--state` file may hold.
pub const MAX_STATE_STREAMS: usize = 256;

/// The `stream_state` of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StreamState {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// The resource the stream reads.
    pub resource: String,
    /// `full_refresh` or `incremental`: the mode of the read the state comes from.
    pub sync_mode: String,
    /// Incremental: every record with `updated_at` before this was read by a finished read.
    pub watermark: Option<String>,
    /// The position of an unfinished read (`None` once the read finished).
    pub checkpoint: Option<Checkpoint>,
    /// The partition `I/N` of a partitioned read (absent otherwise): its checkpoint resumes
    /// only that partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
}

impl StreamState {
    /// A state of `resource` read in `mode`.
    pub fn new(
        resource: &str,
        mode: SyncMode,
        watermark: Option<String>,
        checkpoint: Option<Checkpoint>,
    ) -> Self {
        Self {
            version: STATE_VERSION,
            resource: resource.to_owned(),
            sync_mode: mode.as_str().to_owned(),
            watermark,
            checkpoint,
            partition: None,
        }
    }

    /// The same state, of partition `partition` (`I/N`) of a partitioned read.
    pub fn in_partition(mut self, partition: Option<String>) -> Self {
        self.partition = partition;
        self
    }

    /// The checkpoint to resume from in a read of `partition`: `None` when there is none or the
    /// read finished. A checkpoint of another partition (or of an unpartitioned read, for a
    /// partitioned one, and the other way round) is a `config_error`: its records are not this
    /// read's.
    pub fn resumable(&self, partition: Option<&str>) -> Result<Option<&Checkpoint>, AirbyteError> {
        let checkpoint = self.checkpoint.as_ref().filter(|c| !c.is_finished());
        if checkpoint.is_some() && self.partition.as_deref() != partition {
            return Err(AirbyteError::config(format!(
                "the state of stream `{}` is part-way through partition {}, and this read is {}: \
                 give each partition its own state",
                self.resource,
                self.partition.as_deref().unwrap_or("(none)"),
                partition.unwrap_or("not partitioned")
            ))
            .in_stream(&self.resource));
        }
        Ok(checkpoint)
    }

    /// Parses the `stream_state` of stream `stream`, refusing another version or resource.
    pub fn from_json_value(stream: &str, value: &Value) -> Result<Self, AirbyteError> {
        let bad = |what: String| {
            AirbyteError::config(format!("the state of stream `{stream}` {what}")).in_stream(stream)
        };
        match value.get("version").and_then(Value::as_u64) {
            Some(v) if v == u64::from(STATE_VERSION) => {}
            Some(v) => {
                return Err(bad(format!(
                    "has version {v}; this dbsync reads version {STATE_VERSION}: start without it"
                )));
            }
            None => return Err(bad("is not a dbsync state (no `version`)".into())),
        }
        let state: Self = serde_json::from_value(value.clone())
            .map_err(|e| bad(format!("is not a dbsync state: {e}")))?;
        if state.resource != stream {
            return Err(bad(format!(
                "is the state of resource `{}`",
                state.resource
            )));
        }
        if let Some(checkpoint) = &state.checkpoint
            && checkpoint.resource() != stream
        {
            return Err(bad(format!(
                "holds a checkpoint of resource `{}`",
                checkpoint.resource()
            )));
        }
        Ok(state)
    }

    /// The state as the `stream_state` JSON, refused over [`MAX_STREAM_STATE_BYTES`].
    pub fn to_json_value(&self) -> Result<Value, AirbyteError> {
        let value = serde_json::to_value(self)
            .map_err(|e| AirbyteError::system(format!("cannot write the state: {e}")))?;
        let size = value.to_string().len();
        if size > MAX_STREAM_STATE_BYTES {
            return Err(AirbyteError::system(format!(
                "the state of stream `{}` is {size} bytes, over {MAX_STREAM_STATE_BYTES}",
                self.resource
            )));
        }
        Ok(value)
    }
}

/// The states of a `--state` file, by stream name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputState {
    streams: HashMap<String, StreamState>,
}

impl InputState {
    /// Reads a `--state` file (at most [`MAX_STATE_FILE_BYTES`]).
    pub fn from_file(path: &Path) -> Result<Self, AirbyteError> {
        let text = read_bounded(path, MAX_STATE_FILE_BYTES, "state")?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| AirbyteError::config(format!("the state is not valid JSON: {e}")))?;
        Self::from_json_value(&value)
    }

    /// Parses a list of per-stream state messages (`AirbyteStateMessage`s, or whole `STATE`
    /// messages); `{}` and `null` are no state.
    pub fn from_json_value(value: &Value) -> Result<Self, AirbyteError> {
        let bad = |what: &str| {
            AirbyteError::config(format!(
                "the state is not a list of per-stream states: {what}"
            ))
        };
        let items = match value {
            Value::Null => return Ok(Self::default()),
            Value::Object(object) if object.is_empty() => return Ok(Self::default()),
            Value::Array(items) => items,
            _ => return Err(bad("legacy and global states are not supported")),
        };
        if items.len() > MAX_STATE_STREAMS {
            return Err(bad("too many streams"));
        }
        let mut streams = HashMap::new();
        for item in items {
            let message = match item.get("type").and_then(Value::as_str) {
                Some("STATE") => item.get("state").unwrap_or(&Value::Null),
                _ => item,
            };
            if message.get("type").and_then(Value::as_str) != Some("STREAM") {
                return Err(bad("an entry is not of type STREAM"));
            }
            let Some(name) = message
                .pointer("/stream/stream_descriptor/name")
                .and_then(Value::as_str)
            else {
                return Err(bad("an entry has no stream.stream_descriptor.name"));
            };
            let Some(blob) = message.pointer("/stream/stream_state") else {
                continue;
            };
            if blob.is_null() {
                continue;
            }
            streams.insert(name.to_owned(), StreamState::from_json_value(name, blob)?);
        }
        Ok(Self { streams })
    }

    /// The state of `stream`, if any.
    pub fn get(&self, stream: &str) -> Option<&StreamState> {
        self.streams.get(stream)
    }
}
