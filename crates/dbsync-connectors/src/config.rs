//! The connector config shared by every connector: the connection settings JSON (the format of
//! `ConnectionSettings::from_json`, docs/api.md) with the connector's keys beside it:
//! `resources` (the streams to offer, default `["records"]`: no endpoint lists resources),
//! an optional `start_date` (RFC 3339: where the first incremental run starts), and each
//! connector's own keys (e.g. the Singer target's `stream_map`). Any other key is handed to the
//! settings parser, which refuses it naming the field. Singer and Airbyte read the same format.

use std::io::Read as _;
use std::path::Path;

use dbsync_client::{Connection, ConnectionSettings};
use serde_json::{Map, Value};

use crate::error::ConnectorError;

/// The largest config file read (1 MiB).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// The most resources a config may offer (as many as an Airbyte catalog may hold).
pub const MAX_RESOURCES: usize = 256;
/// The resources offered when the config names none.
pub const DEFAULT_RESOURCES: [&str; 1] = ["records"];
/// The keys every connector understands besides the settings.
pub const SHARED_KEYS: [&str; 2] = ["resources", "start_date"];

/// A parsed connector config.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    settings: ConnectionSettings,
    resources: Vec<String>,
    start_date: Option<String>,
    own: Map<String, Value>,
}

impl ConnectorConfig {
    /// Parses a config document. `own_keys` are the calling connector's keys (kept for
    /// [`ConnectorConfig::get`]); `resources` and `start_date` are always understood.
    pub fn from_json(text: &str, own_keys: &[&str]) -> Result<Self, ConnectorError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ConnectorError::Config(format!("not valid JSON: {e}")))?;
        let Value::Object(mut map) = value else {
            return Err(ConnectorError::Config(
                "must be a JSON object (the connection settings plus `resources`)".into(),
            ));
        };
        let resources = match map.remove("resources") {
            None | Some(Value::Null) => DEFAULT_RESOURCES.iter().map(|r| (*r).to_owned()).collect(),
            Some(value) => parse_resources(&value)?,
        };
        let start_date = match map.remove("start_date") {
            None | Some(Value::Null) => None,
            Some(Value::String(date)) => {
                check_timestamp("start_date", &date)?;
                Some(date)
            }
            Some(_) => return Err(ConnectorError::Config("start_date must be a string".into())),
        };
        let mut own = Map::new();
        for key in own_keys {
            if let Some(value) = map.remove(*key) {
                own.insert((*key).to_owned(), value);
            }
        }
        let settings = ConnectionSettings::from_json_value(&Value::Object(map)).map_err(|e| {
            let mut message = settings_message(&e);
            if message.contains("not a known setting") {
                let keys: Vec<&str> = SHARED_KEYS.iter().chain(own_keys).copied().collect();
                message.push_str(&format!("; connector keys: {}", keys.join(", ")));
            }
            ConnectorError::Config(message)
        })?;
        Ok(Self {
            settings,
            resources,
            start_date,
            own,
        })
    }

    /// Reads and parses a config file (at most [`MAX_CONFIG_BYTES`]).
    pub fn from_file(path: &Path, own_keys: &[&str]) -> Result<Self, ConnectorError> {
        let text = read_bounded(path, MAX_CONFIG_BYTES, "config")?;
        Self::from_json(&text, own_keys).map_err(|e| match e {
            ConnectorError::Config(message) => {
                ConnectorError::Config(format!("{}: {message}", path.display()))
            }
            other => other,
        })
    }

    /// The same config, letting the settings read these environment variables besides
    /// `DBSYNC_*` (the CLI's `--allow-env`).
    pub fn allow_env<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.settings = self.settings.allow_env(names);
        self
    }

    /// The connection settings part.
    pub fn settings(&self) -> &ConnectionSettings {
        &self.settings
    }

    /// The resources offered as streams.
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// The `start_date`, if given.
    pub fn start_date(&self) -> Option<&str> {
        self.start_date.as_deref()
    }

    /// One of the connector's own keys.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.own.get(key)
    }

    /// A positive integer among the connector's own keys, or `default`; at most `max`.
    pub fn positive(&self, key: &str, default: u64, max: u64) -> Result<u64, ConnectorError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(value) => match value.as_u64() {
                Some(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ConnectorError::Config(format!(
                    "{key} must be an integer from 1 to {max}"
                ))),
            },
        }
    }

    /// The connection (references such as `${DBSYNC_TOKEN}` are read from the environment).
    pub fn connect(&self) -> Result<Connection, ConnectorError> {
        self.settings
            .connect()
            .map_err(|e| ConnectorError::Config(settings_message(&e)))
    }
}

/// The message of a settings error (dbsync-client names fields, never secret values).
fn settings_message(error: &dbsync_client::Error) -> String {
    match error {
        dbsync_client::Error::Config(message) => message.clone(),
        other => other.to_string(),
    }
}

fn parse_resources(value: &Value) -> Result<Vec<String>, ConnectorError> {
    let bad = || ConnectorError::Config("resources must be a non-empty array of names".into());
    let items = value.as_array().ok_or_else(bad)?;
    if items.is_empty() {
        return Err(bad());
    }
    if items.len() > MAX_RESOURCES {
        return Err(ConnectorError::Config(format!(
            "resources lists {} names; at most {MAX_RESOURCES}",
            items.len()
        )));
    }
    let mut names: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let name = item.as_str().ok_or_else(bad)?;
        if !dbsync_client::contract::is_valid_resource_name(name) {
            return Err(ConnectorError::Config(format!(
                "resources: `{}` is not a resource name (letters, digits, `_`, `-`)",
                name.chars().take(64).collect::<String>()
            )));
        }
        if names.iter().any(|n| n == name) {
            return Err(ConnectorError::Config(format!(
                "resources names `{name}` twice"
            )));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// Checks an RFC 3339 timestamp.
pub fn check_timestamp(what: &str, value: &str) -> Result<(), ConnectorError> {
    time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map(|_| ())
        .map_err(|_| {
            ConnectorError::Config(format!(
                "{what} `{}` is not an RFC 3339 timestamp such as 2024-01-01T00:00:00Z",
                value.chars().take(64).collect::<String>()
            ))
        })
}

/// Reads a whole file of at most `max` bytes (a larger file is a clear error).
pub fn read_bounded(path: &Path, max: u64, what: &str) -> Result<String, ConnectorError> {
    let file = std::fs::File::open(path).map_err(|e| {
        ConnectorError::io(format!("cannot open the {what} `{}`", path.display()), e)
    })?;
    let mut text = String::new();
    file.take(max + 1).read_to_string(&mut text).map_err(|e| {
        ConnectorError::io(format!("cannot read the {what} `{}`", path.display()), e)
    })?;
    if text.len() as u64 > max {
        return Err(ConnectorError::Config(format!(
            "the {what} `{}` is larger than {max} bytes",
            path.display()
        )));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_own_keys() {
        let config = ConnectorConfig::from_json(
            r#"{"api_url":"http://127.0.0.1:1","state_every":5}"#,
            &["state_every"],
        )
        .unwrap();
        assert_eq!(config.resources(), ["records"]);
        assert_eq!(config.positive("state_every", 1000, 10).unwrap(), 5);
        assert!(config.start_date().is_none());
    }

    #[test]
    fn unknown_keys_are_refused_by_the_settings_parser() {
        let error = ConnectorError::to_string(
            &ConnectorConfig::from_json(r#"{"api_url":"http://x","bogus":1}"#, &[]).unwrap_err(),
        );
        assert!(
            error.contains("bogus") && error.contains("connector keys: resources, start_date"),
            "{error}"
        );
        let error =
            ConnectorConfig::from_json(r#"{"resources":["a b"],"api_url":"http://x"}"#, &[])
                .unwrap_err()
                .to_string();
        assert!(error.contains("resources"), "{error}");
        let error =
            ConnectorConfig::from_json(r#"{"api_url":"http://x","start_date":"yesterday"}"#, &[])
                .unwrap_err()
                .to_string();
        assert!(error.contains("start_date"), "{error}");
    }

    #[test]
    fn resources_and_start_date() {
        let config = ConnectorConfig::from_json(
            r#"{"api_url":"http://127.0.0.1:1","auth":{"type":"bearer","token":"t"},
                "resources":["records","contacts"],"start_date":"2024-01-01T00:00:00Z"}"#,
            &[],
        )
        .unwrap();
        assert_eq!(config.resources(), ["records", "contacts"]);
        assert_eq!(config.start_date(), Some("2024-01-01T00:00:00Z"));
    }

    #[test]
    fn bad_configs_name_the_field() {
        let many: Vec<String> = (0..=MAX_RESOURCES).map(|i| format!("\"r{i}\"")).collect();
        let many = format!(
            r#"{{"api_url":"http://x","resources":[{}]}}"#,
            many.join(",")
        );
        for (config, needle) in [
            ("[]", "JSON object"),
            ("{", "not valid JSON"),
            (r#"{"api_url":"http://x","resources":[]}"#, "resources"),
            (
                r#"{"api_url":"http://x","resources":"records"}"#,
                "resources",
            ),
            (
                r#"{"api_url":"http://x","resources":["Bad Name"]}"#,
                "Bad Name",
            ),
            (r#"{"api_url":"http://x","resources":["a","a"]}"#, "twice"),
            (many.as_str(), "at most 256"),
            (r#"{"api_url":"http://x","start_date":5}"#, "start_date"),
            (r#"{"url":"http://x"}"#, "url"),
            (
                r#"{"api_url":"http://x","auth":{"type":"bearer"}}"#,
                "auth.token",
            ),
        ] {
            let error = ConnectorConfig::from_json(config, &[]).unwrap_err();
            assert!(
                matches!(error, ConnectorError::Config(_)),
                "{config}: {error}"
            );
            assert!(error.to_string().contains(needle), "{config}: {error}");
        }
    }

    #[test]
    fn own_keys_are_checked() {
        let config = ConnectorConfig::from_json(
            r#"{"api_url":"http://127.0.0.1:1","batch_size":0}"#,
            &["batch_size"],
        )
        .unwrap();
        let error = config.positive("batch_size", 10, 100).unwrap_err();
        assert!(error.to_string().contains("batch_size"), "{error}");
    }

    #[test]
    fn files_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, vec![b' '; MAX_CONFIG_BYTES as usize + 1]).unwrap();
        let error = ConnectorConfig::from_file(&path, &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("larger than"), "{error}");
        let error = ConnectorConfig::from_file(&dir.path().join("missing"), &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("missing"), "{error}");
    }
}
