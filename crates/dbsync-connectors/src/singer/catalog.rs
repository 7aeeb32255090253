//! The Singer catalog. Discovery writes one stream per configured resource: its JSON Schema
//! (from `GET /v1/{resource}/schema` through [`dbsync_validate::Schema::to_json_schema`]),
//! `key_properties` `["id"]`, replication key `updated_at`, and metadata that marks the stream
//! selectable. A sync reads back the streams selected in a catalog, their replication
//! method and their property selection (`super::properties`).

use dbsync_client::Connection;
use serde_json::{Value, json};

use super::properties::PropertySelection;
use crate::config::ConnectorConfig;
use crate::error::ConnectorError;

/// The largest catalog file read (16 MiB).
pub const MAX_CATALOG_BYTES: u64 = 16 * 1024 * 1024;
/// The replication key of every stream.
pub const REPLICATION_KEY: &str = crate::stream::CURSOR_FIELD;
/// The key property of every stream.
pub const KEY_PROPERTY: &str = crate::stream::KEY_FIELD;

/// How a stream is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplicationMethod {
    /// Changes since the bookmark (`updated_at` watermark).
    Incremental,
    /// Every record, each run.
    FullTable,
}

impl ReplicationMethod {
    /// The Singer name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incremental => "INCREMENTAL",
            Self::FullTable => "FULL_TABLE",
        }
    }
}

/// A stream to sync.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SelectedStream {
    /// The stream (and resource) name.
    pub stream: String,
    /// How to read it.
    pub method: ReplicationMethod,
    /// Its JSON Schema (from the catalog; `None`: fetched from the server).
    pub schema: Option<Value>,
    /// The properties it emits (from the catalog's property metadata; default: all).
    pub properties: PropertySelection,
}

/// The catalog entry of one stream.
pub fn stream_entry(resource: &str, schema: Value) -> Value {
    let mut metadata = vec![json!({
        "breadcrumb": [],
        "metadata": {
            "inclusion": "available",
            "selected-by-default": true,
            "table-key-properties": [KEY_PROPERTY],
            "valid-replication-keys": [REPLICATION_KEY],
            "replication-method": ReplicationMethod::Incremental.as_str(),
            "replication-key": REPLICATION_KEY,
        }
    })];
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for name in properties.keys() {
            let inclusion = if name == KEY_PROPERTY || name == REPLICATION_KEY {
                "automatic"
            } else {
                "available"
            };
            metadata.push(json!({
                "breadcrumb": ["properties", name],
                "metadata": {"inclusion": inclusion},
            }));
        }
    }
    json!({
        "tap_stream_id": resource,
        "stream": resource,
        "schema": schema,
        "key_properties": [KEY_PROPERTY],
        "replication_key": REPLICATION_KEY,
        "replication_method": ReplicationMethod::Incremental.as_str(),
        "metadata": metadata,
    })
}

pub use crate::stream::json_schema;

/// Discovery: the catalog of every configured resource.
pub async fn discover(
    connection: &Connection,
    config: &ConnectorConfig,
) -> Result<Value, ConnectorError> {
    let mut streams = Vec::with_capacity(config.resources().len());
    for resource in config.resources() {
        streams.push(stream_entry(
            resource,
            json_schema(connection, resource).await?,
        ));
    }
    Ok(json!({ "streams": streams }))
}

/// The streams a sync reads: without a catalog, every configured resource, incrementally; with
/// one, the streams whose top-level metadata (breadcrumb `[]`) says `"selected": true` (or the
/// legacy stream-level `"selected": true`), in catalog order, each with the properties it emits
/// ([`PropertySelection::from_entry`]). A stream the config does not offer, or bad property
/// metadata of a selected stream, is an error.
pub fn selected_streams(
    catalog: Option<&Value>,
    config: &ConnectorConfig,
) -> Result<Vec<SelectedStream>, ConnectorError> {
    let Some(catalog) = catalog else {
        return Ok(config
            .resources()
            .iter()
            .map(|resource| SelectedStream {
                stream: resource.clone(),
                method: ReplicationMethod::Incremental,
                schema: None,
                properties: PropertySelection::default(),
            })
            .collect());
    };
    let bad = |message: String| ConnectorError::Catalog(message);
    let streams = catalog
        .get("streams")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("the catalog has no `streams` array".into()))?;
    let mut selected: Vec<SelectedStream> = Vec::new();
    for (i, entry) in streams.iter().enumerate() {
        let name = entry
            .get("tap_stream_id")
            .or_else(|| entry.get("stream"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("streams[{i}] has no `tap_stream_id`")))?;
        if !config.resources().iter().any(|r| r == name) {
            return Err(bad(format!(
                "stream `{}` is not one of the config's resources ({})",
                name.chars().take(64).collect::<String>(),
                config.resources().join(", ")
            )));
        }
        let top = top_metadata(entry);
        let is_selected = top
            .and_then(|m| m.get("selected"))
            .or_else(|| entry.get("selected"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !is_selected {
            continue;
        }
        if selected.iter().any(|s| s.stream == name) {
            return Err(bad(format!("stream `{name}` is listed twice")));
        }
        let method = top
            .and_then(|m| m.get("replication-method"))
            .or_else(|| entry.get("replication_method"))
            .map(|m| match m.as_str() {
                Some("INCREMENTAL") => Ok(ReplicationMethod::Incremental),
                Some("FULL_TABLE") => Ok(ReplicationMethod::FullTable),
                _ => Err(bad(format!(
                    "stream `{name}`: replication method {m} is not INCREMENTAL or FULL_TABLE"
                ))),
            })
            .transpose()?
            .unwrap_or(ReplicationMethod::Incremental);
        if let Some(key) = top
            .and_then(|m| m.get("replication-key"))
            .or_else(|| entry.get("replication_key"))
            .filter(|k| !k.is_null())
            && key.as_str() != Some(REPLICATION_KEY)
        {
            return Err(bad(format!(
                "stream `{name}`: the replication key must be `{REPLICATION_KEY}`"
            )));
        }
        selected.push(SelectedStream {
            stream: name.to_owned(),
            method,
            schema: entry.get("schema").filter(|s| s.is_object()).cloned(),
            properties: PropertySelection::from_entry(name, entry)?,
        });
    }
    Ok(selected)
}

fn top_metadata(entry: &Value) -> Option<&serde_json::Map<String, Value>> {
    entry
        .get("metadata")?
        .as_array()?
        .iter()
        .find(|m| {
            m.get("breadcrumb")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
        })?
        .get("metadata")?
        .as_object()
}
