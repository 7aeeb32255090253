//! The connector config: the connection settings JSON (as `dbsync_client::ConnectionSettings`
//! reads it) plus `resources`, the resources to offer as streams (default `["records"]`: there
//! is no endpoint that lists resources), and an optional `start_date` (RFC 3339) where the first
//! incremental read starts.

use std::fmt;
use std::io::Read as _;
use std::path::Path;

use dbsync_client::{Connection, ConnectionSettings};
use serde_json::{Map, Value};

/// The largest config file read, in bytes.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// The most resources a config may list.
pub const MAX_RESOURCES: usize = 256;
/// The resources offered when the config names none.
pub const DEFAULT_RESOURCES: [&str; 1] = ["records"];

/// A connector config (see the module documentation).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectorConfig {
    /// The connection settings (every field but `resources` and `start_date`).
    pub settings: ConnectionSettings,
    /// The resources offered as streams, in order, without duplicates.
    pub resources: Vec<String>,
    /// Where the first incremental read starts (RFC 3339); `None`: from the beginning.
    pub start_date: Option<String>,
}

/// A config that is not the settings format: the message names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl ConnectorConfig {
    /// Reads a config file (at most [`MAX_CONFIG_BYTES`]).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = read_bounded(path, MAX_CONFIG_BYTES, "config")?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| ConfigError(format!("the config is not valid JSON: {e}")))?;
        Self::from_json_value(&value)
    }

    /// Parses a config from JSON.
    pub fn from_json_value(value: &Value) -> Result<Self, ConfigError> {
        let Value::Object(object) = value else {
            return Err(ConfigError("the config must be a JSON object".into()));
        };
        let mut settings: Map<String, Value> = object.clone();
        let resources = match settings.remove("resources") {
            None | Some(Value::Null) => DEFAULT_RESOURCES.iter().map(|r| (*r).to_owned()).collect(),
            Some(value) => parse_resources(&value)?,
        };
        let start_date = match settings.remove("start_date") {
            None | Some(Value::Null) => None,
            Some(Value::String(date)) if !date.is_empty() => Some(date),
            Some(_) => {
                return Err(ConfigError(
                    "start_date must be an RFC 3339 timestamp, e.g. 2024-01-01T00:00:00Z".into(),
                ));
            }
        };
        let settings = ConnectionSettings::from_json_value(&Value::Object(settings))
            .map_err(|e| ConfigError(e.to_string()))?;
        Ok(Self {
            settings,
            resources,
            start_date,
        })
    }

    /// The connection the settings describe.
    pub fn connect(&self) -> Result<Connection, dbsync_client::Error> {
        self.settings.connect()
    }
}

fn parse_resources(value: &Value) -> Result<Vec<String>, ConfigError> {
    let bad = || ConfigError("resources must be a non-empty list of resource names".into());
    let Value::Array(items) = value else {
        return Err(bad());
    };
    if items.is_empty() {
        return Err(bad());
    }
    if items.len() > MAX_RESOURCES {
        return Err(ConfigError(format!(
            "resources lists {} names; at most {MAX_RESOURCES}",
            items.len()
        )));
    }
    let mut names: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let Some(name) = item.as_str() else {
            return Err(bad());
        };
        if !dbsync_client::contract::is_valid_resource_name(name) {
            return Err(ConfigError(format!(
                "resources: `{}` is not a resource name ([a-z][a-z0-9_-]{{0,63}})",
                name.chars().take(64).collect::<String>()
            )));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// Reads a whole file of at most `max` bytes as UTF-8; `what` names it in errors.
pub fn read_bounded(path: &Path, max: u64, what: &str) -> Result<String, ConfigError> {
    let file = std::fs::File::open(path).map_err(|e| {
        ConfigError(format!(
            "cannot read the {what} file {}: {e}",
            path.display()
        ))
    })?;
    let mut text = String::new();
    file.take(max + 1).read_to_string(&mut text).map_err(|e| {
        ConfigError(format!(
            "cannot read the {what} file {}: {e}",
            path.display()
        ))
    })?;
    if text.len() as u64 > max {
        return Err(ConfigError(format!(
            "the {what} file {} is larger than {max} bytes",
            path.display()
        )));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_plus_resources_and_start_date() {
        let config = ConnectorConfig::from_json_value(&json!({
            "api_url": "http://127.0.0.1:1", "auth": {"type": "bearer", "token": "t"},
            "resources": ["records", "contacts", "records"], "start_date": "2024-01-01T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(config.resources, ["records", "contacts"]);
        assert_eq!(config.start_date.as_deref(), Some("2024-01-01T00:00:00Z"));
        let default =
            ConnectorConfig::from_json_value(&json!({"api_url": "http://127.0.0.1:1"})).unwrap();
        assert_eq!(default.resources, ["records"]);
    }

    #[test]
    fn bad_configs_name_the_field() {
        for (config, needle) in [
            (json!([]), "JSON object"),
            (json!({"api_url": "http://x", "resources": []}), "resources"),
            (
                json!({"api_url": "http://x", "resources": ["Bad Name"]}),
                "Bad Name",
            ),
            (
                json!({"api_url": "http://x", "start_date": 5}),
                "start_date",
            ),
            (json!({"url": "http://x"}), "url"),
            (
                json!({"api_url": "http://x", "auth": {"type": "bearer"}}),
                "auth.token",
            ),
        ] {
            let error = ConnectorConfig::from_json_value(&config).unwrap_err();
            assert!(error.0.contains(needle), "{config}: {error}");
        }
    }
}
