//! The Singer messages: `SCHEMA`, `RECORD` (with `time_extracted`) and `STATE`, written one a
//! line ([`MessageWriter`](crate::singer::messages::MessageWriter)), and a target's input line parsed into a [`Message`](crate::singer::messages::Message).

use std::io::Write;

use serde_json::{Map, Value, json};

use crate::error::ConnectorError;

/// Writes messages one a line; flushes after each `STATE` (so a state is never seen before
/// the records it covers).
#[derive(Debug)]
pub struct MessageWriter<W: Write> {
    out: W,
    records: u64,
}

impl<W: Write> MessageWriter<W> {
    /// A writer over `out` (buffer it: it is flushed at each state).
    pub fn new(out: W) -> Self {
        Self { out, records: 0 }
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    fn line(&mut self, value: &Value) -> Result<(), ConnectorError> {
        serde_json::to_writer(&mut self.out, value)
            .map_err(|e| ConnectorError::io("cannot write a message", e.into()))?;
        self.out
            .write_all(b"\n")
            .map_err(|e| ConnectorError::io("cannot write a message", e))
    }

    /// A `SCHEMA` message.
    pub fn schema(
        &mut self,
        stream: &str,
        schema: &Value,
        key_properties: &[&str],
        bookmark_properties: &[&str],
    ) -> Result<(), ConnectorError> {
        self.line(&json!({
            "type": "SCHEMA",
            "stream": stream,
            "schema": schema,
            "key_properties": key_properties,
            "bookmark_properties": bookmark_properties,
        }))
    }

    /// A `RECORD` message.
    pub fn record(
        &mut self,
        stream: &str,
        record: Value,
        time_extracted: &str,
    ) -> Result<(), ConnectorError> {
        self.records += 1;
        let mut message = Map::with_capacity(4);
        message.insert("type".into(), "RECORD".into());
        message.insert("stream".into(), stream.into());
        message.insert("record".into(), record);
        message.insert("time_extracted".into(), time_extracted.into());
        self.line(&Value::Object(message))
    }

    /// A `STATE` message, then a flush.
    pub fn state(&mut self, value: &Value) -> Result<(), ConnectorError> {
        self.line(&json!({"type": "STATE", "value": value}))?;
        self.flush()
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> Result<(), ConnectorError> {
        self.out
            .flush()
            .map_err(|e| ConnectorError::io("cannot write the output", e))
    }

    /// Any JSON line (a catalog).
    pub fn raw(&mut self, value: &Value) -> Result<(), ConnectorError> {
        self.line(value)?;
        self.flush()
    }
}

/// Now as an RFC 3339 timestamp (UTC), for `time_extracted`.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.to_string())
}

/// A message a target reads.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// `SCHEMA`: a stream's JSON Schema.
    Schema {
        /// The stream.
        stream: String,
        /// Its JSON Schema.
        schema: Value,
    },
    /// `RECORD`: one record of a stream.
    Record {
        /// The stream.
        stream: String,
        /// The record (a JSON object).
        record: Map<String, Value>,
    },
    /// `STATE`: the tap's state, to hand back once everything before it is stored.
    State {
        /// The state value.
        value: Value,
    },
    /// A message this target takes no action on (`ACTIVATE_VERSION`).
    Ignored,
}

/// Parses one input line.
pub fn parse_line(line_number: u64, line: &str) -> Result<Message, ConnectorError> {
    let bad = |message: String| ConnectorError::Input {
        line: line_number,
        message,
    };
    let value: Value =
        serde_json::from_str(line).map_err(|e| bad(format!("not a JSON message ({e})")))?;
    let Value::Object(mut map) = value else {
        return Err(bad("a message must be a JSON object".into()));
    };
    let kind = match map.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        _ => return Err(bad("the message has no string `type`".into())),
    };
    let mut stream = || match map.remove("stream") {
        Some(Value::String(stream)) if !stream.is_empty() => Ok(stream),
        _ => Err(bad(format!(
            "a {kind} message needs a non-empty string `stream`"
        ))),
    };
    match kind.as_str() {
        "SCHEMA" => {
            let stream = stream()?;
            match map.remove("schema") {
                Some(schema @ Value::Object(_)) => Ok(Message::Schema { stream, schema }),
                _ => Err(bad("a SCHEMA message needs an object `schema`".into())),
            }
        }
        "RECORD" => {
            let stream = stream()?;
            match map.remove("record") {
                Some(Value::Object(record)) => Ok(Message::Record { stream, record }),
                _ => Err(bad("a RECORD message needs an object `record`".into())),
            }
        }
        "STATE" => match map.remove("value") {
            Some(value) => Ok(Message::State { value }),
            None => Err(bad("a STATE message needs a `value`".into())),
        },
        "ACTIVATE_VERSION" => Ok(Message::Ignored),
        other => Err(bad(format!(
            "unknown message type `{}` (expected SCHEMA, RECORD or STATE)",
            other.chars().take(32).collect::<String>()
        ))),
    }
}
