//! `spec`: the connector specification, the connection settings as a JSON Schema with the
//! secrets marked `airbyte_secret: true`, plus `resources` and `start_date`.

use serde_json::{Value, json};

/// Where the connector is documented.
pub const DOCUMENTATION_URL: &str = "https://docs.rs/dbsync-connectors";

fn secret(title: &str) -> Value {
    json!({"type": "string", "title": title, "airbyte_secret": true})
}

fn auth_option(kind: &str, title: &str, fields: Value, required: &[&str]) -> Value {
    let mut properties = json!({"type": {"type": "string", "const": kind}});
    if let (Some(all), Value::Object(fields)) = (properties.as_object_mut(), fields) {
        all.extend(fields);
    }
    let mut required_fields = vec!["type"];
    required_fields.extend_from_slice(required);
    json!({"title": title, "type": "object", "required": required_fields, "properties": properties})
}

/// The connection specification (the `connectionSpecification` of `SPEC`).
pub fn connection_specification() -> Value {
    let auth = json!({
        "title": "Authentication",
        "type": "object",
        "oneOf": [
            auth_option("none", "None", json!({}), &[]),
            auth_option("bearer", "Bearer token or API key",
                json!({"token": secret("Token")}), &["token"]),
            auth_option("basic", "Basic", json!({
                "username": {"type": "string", "title": "Username"},
                "password": secret("Password")}), &["username", "password"]),
            auth_option("oauth2", "OAuth 2.0 client credentials", json!({
                "token_url": {"type": "string", "title": "Token URL", "format": "uri"},
                "client_id": {"type": "string", "title": "Client id"},
                "client_secret": secret("Client secret"),
                "scopes": {"type": "array", "items": {"type": "string"}, "title": "Scopes"}}),
                &["client_id", "client_secret"]),
        ],
    });
    let whole = |title: &str| json!({"type": "integer", "minimum": 0, "title": title});
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "DBSync",
        "type": "object",
        "required": ["api_url"],
        "additionalProperties": true,
        "properties": {
            "api_url": {"type": "string", "title": "API URL", "format": "uri", "order": 0,
                "examples": ["https://api.dbsync.com"]},
            "auth": auth,
            "resources": {"type": "array", "title": "Resources",
                "description": "The resources to offer as streams.",
                "items": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,63}$"},
                "minItems": 1, "default": ["records"]},
            "start_date": {"type": "string", "format": "date-time", "title": "Start date",
                "description": "Where the first incremental read starts (RFC 3339)."},
            "name": {"type": "string", "title": "Connection name"},
            "timeout_secs": whole("Request timeout (s)"),
            "connect_timeout_secs": whole("Connect timeout (s)"),
            "retry": {"type": "object", "title": "Retries", "properties": {
                "max_retries": whole("Max retries"),
                "max_retry_after_secs": whole("Longest Retry-After to wait (s)")}},
            "rate_limit": {"type": "object", "title": "Client-side rate limit", "properties": {
                "requests_per_minute": {"type": "integer", "minimum": 1},
                "requests_per_hour": {"type": "integer", "minimum": 1}}},
            "max_response_bytes": {"type": "integer", "minimum": 1,
                "title": "Largest response read (bytes)"},
            "proxy": {"type": "string", "title": "Proxy URL", "airbyte_secret": true},
            "allow_insecure_http": {"type": "boolean", "default": false,
                "title": "Allow credentials over plain http:// to a non-loopback host"},
        },
    })
}

/// The `SPEC` message.
pub fn spec() -> Value {
    json!({"type": "SPEC", "spec": {
        "documentationUrl": DOCUMENTATION_URL,
        "connectionSpecification": connection_specification(),
        "supportsIncremental": true,
        "supported_destination_sync_modes": ["append"],
    }})
}
