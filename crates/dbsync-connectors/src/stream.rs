//! What a stream is in both protocols: one DBSync resource, keyed by `id`, its incremental
//! cursor `updated_at`, its JSON Schema made from the server's schema (`GET
//! /v1/{resource}/schema`, through `dbsync_validate::Schema::to_portable_json_schema`: patterns
//! every consumer's regex dialect compiles, Python's included).

use dbsync_client::Connection;
use serde_json::Value;

use crate::error::ConnectorError;

/// The key field of every stream (Singer `key_properties`, Airbyte primary key).
pub const KEY_FIELD: &str = "id";
/// The cursor of every stream (Singer replication key, Airbyte cursor field).
pub const CURSOR_FIELD: &str = "updated_at";

/// The JSON Schema of a resource, from the server's schema, in the portable form (email and url
/// as formats, not as `\p{..}` patterns that Python's `re` cannot compile).
pub async fn json_schema(connection: &Connection, resource: &str) -> Result<Value, ConnectorError> {
    let schema = connection.resource::<Value>(resource)?.schema().await?;
    Ok(schema.to_portable_json_schema())
}
