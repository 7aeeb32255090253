//! The tap's state, handed back by the target (or the orchestrator) as `--state`:
//!
//! ```json
//! {"version": 1, "currently_syncing": null,
//!  "bookmarks": {"records": {"replication_key": "updated_at",
//!                            "replication_key_value": "2024-06-01T00:00:00Z",
//!                            "replication_method": "INCREMENTAL",
//!                            "checkpoint": {...}, "partition": "0/4"}}}
//! ```
//!
//! `replication_key_value` is the watermark of the last finished incremental scan (every
//! record updated before it was emitted). `checkpoint` is present while a stream is part-way:
//! the dbsync-client scan checkpoint taken right after the last `RECORD` before the state, so
//! resuming emits the next record, none twice and none missed. `partition` is set by a
//! partitioned run (`--partition I/N`). An empty object `{}` is an empty state.

use std::collections::BTreeMap;

use dbsync_client::Checkpoint;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::catalog::{REPLICATION_KEY, ReplicationMethod};
use crate::error::ConnectorError;

/// The state format version this tap writes and reads.
pub const STATE_VERSION: u64 = 1;
/// The largest state read or written (1 MiB).
pub const MAX_STATE_BYTES: usize = 1024 * 1024;
/// The most bookmarks a state may hold.
pub const MAX_BOOKMARKS: usize = 1000;

/// The whole state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The format version ([`STATE_VERSION`]).
    pub version: u64,
    /// The stream being synced when the state was written.
    #[serde(default)]
    pub currently_syncing: Option<String>,
    /// One bookmark per stream.
    #[serde(default)]
    pub bookmarks: BTreeMap<String, Bookmark>,
}

/// Where one stream stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bookmark {
    /// Always `updated_at`.
    pub replication_key: String,
    /// The watermark of the last finished incremental scan.
    #[serde(default)]
    pub replication_key_value: Option<String>,
    /// `INCREMENTAL` or `FULL_TABLE`: the method the checkpoint belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_method: Option<String>,
    /// The scan checkpoint of a stream part-way through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
    /// The partition `I/N` of a partitioned run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
}

impl State {
    /// An empty state.
    pub fn new() -> Self {
        Self {
            version: STATE_VERSION,
            ..Self::default()
        }
    }

    /// Parses a state (`{}` is empty). A state of another version, of unknown shape, or whose
    /// checkpoint belongs to another resource than its stream is an error.
    pub fn from_json(text: &str) -> Result<Self, ConnectorError> {
        if text.len() > MAX_STATE_BYTES {
            return Err(ConnectorError::State(format!(
                "larger than {MAX_STATE_BYTES} bytes"
            )));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ConnectorError::State(format!("not valid JSON: {e}")))?;
        // Meltano and others hand back `{"value": state}` sometimes: not ours to guess.
        if value.as_object().is_some_and(serde_json::Map::is_empty) {
            return Ok(Self::new());
        }
        match value.get("version") {
            Some(v) if v.as_u64() == Some(STATE_VERSION) => {}
            Some(v) => {
                return Err(ConnectorError::State(format!(
                    "version {v} is not {STATE_VERSION}, the version this tap reads"
                )));
            }
            None => {
                return Err(ConnectorError::State(
                    "no `version`: not a state written by `dbsync tap`".into(),
                ));
            }
        }
        let state: Self = serde_json::from_value(value)
            .map_err(|e| ConnectorError::State(format!("not a dbsync tap state: {e}")))?;
        if state.bookmarks.len() > MAX_BOOKMARKS {
            return Err(ConnectorError::State(format!(
                "more than {MAX_BOOKMARKS} bookmarks"
            )));
        }
        for (stream, bookmark) in &state.bookmarks {
            if bookmark.replication_key != REPLICATION_KEY {
                return Err(ConnectorError::State(format!(
                    "bookmark `{stream}`: replication_key must be `{REPLICATION_KEY}`"
                )));
            }
            if let Some(value) = &bookmark.replication_key_value {
                crate::config::check_timestamp("replication_key_value", value)
                    .map_err(|e| ConnectorError::State(format!("bookmark `{stream}`: {e}")))?;
            }
            if let Some(checkpoint) = &bookmark.checkpoint
                && checkpoint.resource() != stream
            {
                return Err(ConnectorError::State(format!(
                    "bookmark `{stream}` holds a checkpoint of resource `{}`: a state from \
                     another resource",
                    checkpoint.resource()
                )));
            }
        }
        Ok(state)
    }

    /// The state as JSON, refusing a state larger than [`MAX_STATE_BYTES`].
    pub fn to_value(&self) -> Result<Value, ConnectorError> {
        let text = serde_json::to_string(self)
            .map_err(|e| ConnectorError::State(format!("cannot be written: {e}")))?;
        if text.len() > MAX_STATE_BYTES {
            return Err(ConnectorError::State(format!(
                "the state grew past {MAX_STATE_BYTES} bytes"
            )));
        }
        serde_json::from_str(&text)
            .map_err(|e| ConnectorError::State(format!("cannot be written: {e}")))
    }

    /// The bookmark of `stream`, created empty.
    pub fn bookmark(&mut self, stream: &str) -> &mut Bookmark {
        self.bookmarks
            .entry(stream.to_owned())
            .or_insert_with(|| Bookmark {
                replication_key: REPLICATION_KEY.to_owned(),
                ..Bookmark::default()
            })
    }
}

impl Bookmark {
    /// The checkpoint to resume from for a run with `method` and `partition`: `None` when
    /// there is none, or when it belongs to another method (the stream starts over). A
    /// checkpoint of another partition is an error.
    pub fn resumable(
        &self,
        method: ReplicationMethod,
        partition: Option<&str>,
    ) -> Result<Option<&Checkpoint>, ConnectorError> {
        if self.partition.as_deref() != partition && self.checkpoint.is_some() {
            return Err(ConnectorError::State(format!(
                "the bookmark is part-way through partition {}, and this run is {}: give each \
                 partition its own state",
                self.partition.as_deref().unwrap_or("(none)"),
                partition.unwrap_or("not partitioned")
            )));
        }
        if self.replication_method.as_deref() != Some(method.as_str()) {
            return Ok(None);
        }
        Ok(self.checkpoint.as_ref().filter(|c| !c.is_finished()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(State::from_json("{}").unwrap(), State::new());
        let ok = r#"{"version":1,"bookmarks":{"records":{"replication_key":"updated_at","replication_key_value":"2024-01-01T00:00:00Z"}}}"#;
        let state = State::from_json(ok).unwrap();
        assert_eq!(
            state.bookmarks["records"].replication_key_value.as_deref(),
            Some("2024-01-01T00:00:00Z")
        );
        for (text, needle) in [
            (r#"{"version":2,"bookmarks":{}}"#, "version 2"),
            (r#"{"bookmarks":{}}"#, "no `version`"),
            (
                r#"{"version":1,"bookmarks":{"r":{"replication_key":"x"}}}"#,
                "replication_key",
            ),
            (r#"{"version":1,"other":1}"#, "unknown field"),
            ("[", "not valid JSON"),
        ] {
            let error = State::from_json(text).unwrap_err().to_string();
            assert!(error.contains(needle), "{text}: {error}");
        }
    }
}
