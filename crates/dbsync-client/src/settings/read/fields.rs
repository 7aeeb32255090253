//! Typed access to one JSON object of the settings: unknown keys refused, and errors naming
//! the field (`auth.client_id is missing`) without echoing a value.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::settings::model::SecretValue;

/// Typed access to one JSON object of the settings, with errors naming `path.key`.
pub(super) struct Fields<'a> {
    path: &'a str,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub(super) fn new(value: &'a Value, path: &'a str, known: &[&str]) -> Result<Self, Error> {
        let map = value.as_object().ok_or_else(|| {
            Error::config(if path.is_empty() {
                "the connection settings must be a JSON object".to_owned()
            } else {
                format!("{path} must be a JSON object")
            })
        })?;
        let fields = Self { path, map };
        if let Some(unknown) = map.keys().find(|key| !known.contains(&key.as_str())) {
            return Err(Error::config(format!(
                "{} is not a known setting (known here: {})",
                fields.name(unknown),
                known.join(", ")
            )));
        }
        Ok(fields)
    }

    pub(super) fn name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    pub(super) fn opt_string(&self, key: &str) -> Result<Option<String>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(Error::config(format!("{} is empty", self.name(key))))
            }
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::config(format!(
                "{} must be a string",
                self.name(key)
            ))),
        }
    }

    pub(super) fn string(&self, key: &str) -> Result<String, Error> {
        self.opt_string(key)?
            .ok_or_else(|| Error::config(format!("{} is missing", self.name(key))))
    }

    pub(super) fn secret(&self, key: &str) -> Result<SecretValue, Error> {
        match self.get(key) {
            None => Err(Error::config(format!("{} is missing", self.name(key)))),
            Some(Value::String(s)) if s.is_empty() => {
                Err(Error::config(format!("{} is empty", self.name(key))))
            }
            Some(Value::String(s)) => Ok(SecretValue::parse(s)),
            // Never echo the value: it may be a secret of the wrong type.
            Some(_) => Err(Error::config(format!(
                "{} must be a string",
                self.name(key)
            ))),
        }
    }

    pub(super) fn opt_u64(&self, key: &str) -> Result<Option<u64>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => value.as_u64().map(Some).ok_or_else(|| {
                Error::config(format!(
                    "{} must be a non-negative whole number",
                    self.name(key)
                ))
            }),
        }
    }

    pub(super) fn positive(&self, key: &str) -> Result<Option<u64>, Error> {
        match self.opt_u64(key)? {
            Some(0) => Err(Error::config(format!(
                "{} must be at least 1",
                self.name(key)
            ))),
            other => Ok(other),
        }
    }

    pub(super) fn opt_bool(&self, key: &str) -> Result<Option<bool>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Error::config(format!(
                "{} must be true or false",
                self.name(key)
            ))),
        }
    }

    /// A list of strings, or one space-separated string.
    pub(super) fn scopes(&self, key: &str) -> Result<Vec<String>, Error> {
        let wrong = || {
            Error::config(format!(
                "{} must be a list of strings (or one space-separated string)",
                self.name(key)
            ))
        };
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(s.split_whitespace().map(str::to_owned).collect()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned).ok_or_else(wrong))
                .collect(),
            Some(_) => Err(wrong()),
        }
    }
}
