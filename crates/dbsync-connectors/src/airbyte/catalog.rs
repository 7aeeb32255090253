//! `discover` (the `CATALOG`: one stream per configured resource) and the configured catalog
//! that `read` and `write` take (`--catalog FILE`).

use std::path::Path;

use dbsync_client::Connection;
use serde_json::{Value, json};

use super::error::AirbyteError;
use crate::ConnectorError;
use crate::config::{ConnectorConfig, read_bounded};

/// The largest catalog file read, in bytes.
pub const MAX_CATALOG_BYTES: u64 = 16 * 1024 * 1024;
/// The most streams a configured catalog may hold.
pub const MAX_STREAMS: usize = 256;
/// The cursor field of every stream.
pub const CURSOR_FIELD: &str = crate::stream::CURSOR_FIELD;
/// The primary key of every stream.
pub const PRIMARY_KEY: &str = crate::stream::KEY_FIELD;

/// How a stream is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncMode {
    /// Every record, every time.
    FullRefresh,
    /// The records changed since the state's watermark.
    Incremental,
}

impl SyncMode {
    /// The protocol's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FullRefresh => "full_refresh",
            Self::Incremental => "incremental",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "full_refresh" => Some(Self::FullRefresh),
            "incremental" => Some(Self::Incremental),
            _ => None,
        }
    }
}

/// One stream of a configured catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfiguredStream {
    /// The stream (= resource) name.
    pub name: String,
    /// How the source reads it.
    pub sync_mode: SyncMode,
    /// How the destination writes it (`append` is the only one supported).
    pub destination_sync_mode: String,
    /// The stream's `json_schema` (`{}` when the catalog gives none): what `write` checks each
    /// record against.
    pub json_schema: Value,
}

/// A configured catalog: the streams to read or write.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfiguredCatalog {
    /// The streams, in the catalog's order.
    pub streams: Vec<ConfiguredStream>,
}

impl ConfiguredCatalog {
    /// Reads a configured catalog file (at most [`MAX_CATALOG_BYTES`]).
    pub fn from_file(path: &Path) -> Result<Self, AirbyteError> {
        let text = read_bounded(path, MAX_CATALOG_BYTES, "catalog")?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| AirbyteError::config(format!("the catalog is not valid JSON: {e}")))?;
        Self::from_json_value(&value)
    }

    /// Parses a configured catalog.
    pub fn from_json_value(value: &Value) -> Result<Self, AirbyteError> {
        let bad = |what: String| {
            AirbyteError::config(format!("the catalog is not a configured catalog: {what}"))
        };
        let Some(streams) = value.get("streams").and_then(Value::as_array) else {
            return Err(bad("`streams` is missing or not a list".into()));
        };
        if streams.len() > MAX_STREAMS {
            return Err(bad(format!(
                "{} streams; at most {MAX_STREAMS}",
                streams.len()
            )));
        }
        let mut out: Vec<ConfiguredStream> = Vec::with_capacity(streams.len());
        for (i, entry) in streams.iter().enumerate() {
            let Some(name) = entry.pointer("/stream/name").and_then(Value::as_str) else {
                return Err(bad(format!("streams[{i}].stream.name is missing")));
            };
            let sync_mode = match entry.get("sync_mode").and_then(Value::as_str) {
                None => SyncMode::FullRefresh,
                Some(mode) => SyncMode::parse(mode)
                    .ok_or_else(|| bad(format!("streams[{i}].sync_mode `{mode}` is unknown")))?,
            };
            if let Some(cursor) = entry.get("cursor_field").and_then(Value::as_array)
                && sync_mode == SyncMode::Incremental
                && !cursor.is_empty()
                && cursor != &[json!(CURSOR_FIELD)]
            {
                return Err(AirbyteError::config(format!(
                    "stream `{name}`: the cursor is source-defined, `{CURSOR_FIELD}`"
                )));
            }
            let destination_sync_mode = entry
                .get("destination_sync_mode")
                .and_then(Value::as_str)
                .unwrap_or("append")
                .to_owned();
            if out.iter().any(|s| s.name == name) {
                return Err(bad(format!("stream `{name}` is listed twice")));
            }
            let json_schema = match entry.pointer("/stream/json_schema") {
                None | Some(Value::Null) => json!({}),
                Some(schema @ (Value::Object(_) | Value::Bool(_))) => schema.clone(),
                Some(_) => {
                    return Err(bad(format!(
                        "streams[{i}].stream.json_schema is not a JSON Schema object"
                    )));
                }
            };
            out.push(ConfiguredStream {
                name: name.to_owned(),
                sync_mode,
                destination_sync_mode,
                json_schema,
            });
        }
        Ok(Self { streams: out })
    }

    /// Refuses streams the config does not offer (the source reads only those).
    pub fn check_offered(&self, config: &ConnectorConfig) -> Result<(), AirbyteError> {
        for stream in &self.streams {
            if !config.resources().contains(&stream.name) {
                return Err(AirbyteError::config(format!(
                    "the catalog names stream `{}`, which the config does not offer (resources: {})",
                    stream.name,
                    config.resources().join(", ")
                ))
                .in_stream(&stream.name));
            }
        }
        Ok(())
    }
}

/// One catalog stream for a resource and its JSON Schema.
pub fn stream(name: &str, json_schema: Value) -> Value {
    json!({
        "name": name,
        "json_schema": json_schema,
        "supported_sync_modes": ["full_refresh", "incremental"],
        "source_defined_cursor": true,
        "default_cursor_field": [CURSOR_FIELD],
        "source_defined_primary_key": [[PRIMARY_KEY]],
        "is_resumable": true,
    })
}

/// `discover`: the `CATALOG` message, one stream per configured resource with the JSON Schema
/// of the server's schema.
pub async fn discover(
    config: &ConnectorConfig,
    connection: &Connection,
) -> Result<Value, AirbyteError> {
    let mut streams = Vec::with_capacity(config.resources().len());
    for name in config.resources() {
        let schema = crate::stream::json_schema(connection, name)
            .await
            .map_err(|e| match e {
                ConnectorError::Client(e) => {
                    AirbyteError::from_client(&format!("reading the schema of `{name}`"), &e)
                }
                other => other.into(),
            })
            .map_err(|e| e.in_stream(name))?;
        streams.push(stream(name, schema));
    }
    Ok(json!({"type": "CATALOG", "catalog": {"streams": streams}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_s_json_schema_is_kept_and_must_be_a_schema() {
        let stream = |schema: Value| {
            json!({"streams": [{"stream": {"name": "records", "json_schema": schema},
                "sync_mode": "full_refresh", "destination_sync_mode": "append"}]})
        };
        let kept = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
        let catalog = ConfiguredCatalog::from_json_value(&stream(kept.clone())).unwrap();
        assert_eq!(catalog.streams[0].json_schema, kept);
        let absent = ConfiguredCatalog::from_json_value(&stream(Value::Null)).unwrap();
        assert_eq!(absent.streams[0].json_schema, json!({}));
        for bad in [json!("object"), json!(1), json!([])] {
            let error = ConfiguredCatalog::from_json_value(&stream(bad.clone())).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("json_schema is not a JSON Schema object"),
                "{bad}: {error}"
            );
        }
    }
}
