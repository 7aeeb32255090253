//! Airbyte messages as JSON values, and [`Emitter`], which writes them one per line.

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Milliseconds since the Unix epoch (`emitted_at`).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `{"type":"RECORD","record":{stream, data, emitted_at}}`.
pub fn record(stream: &str, data: Value, emitted_at: u64) -> Value {
    json!({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": emitted_at}})
}

/// A per-stream `STATE` message.
pub fn stream_state(stream: &str, state: Value) -> Value {
    json!({"type": "STATE", "state": {
        "type": "STREAM",
        "stream": {"stream_descriptor": {"name": stream}, "stream_state": state},
    }})
}

/// A `LOG` message at `level` (`INFO`, `WARN`, `ERROR`...).
pub fn log(level: &str, message: &str) -> Value {
    json!({"type": "LOG", "log": {"level": level, "message": message}})
}

/// A `CONNECTION_STATUS` message: `SUCCEEDED`, or `FAILED` with the reason.
pub fn connection_status(failure: Option<&str>) -> Value {
    match failure {
        None => json!({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED"}}),
        Some(message) => json!({"type": "CONNECTION_STATUS",
            "connectionStatus": {"status": "FAILED", "message": message}}),
    }
}

/// Writes messages as JSON lines (buffer it: [`Emitter::flush`] is called after each `STATE`).
#[derive(Debug)]
pub struct Emitter<W: Write> {
    out: W,
}

impl<W: Write> Emitter<W> {
    /// Messages to `out`.
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// Writes one message and a newline.
    pub fn emit(&mut self, message: &Value) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, message)?;
        self.out.write_all(b"\n")
    }

    /// Writes one message and flushes (for `STATE`, `TRACE`, and the last message).
    pub fn emit_now(&mut self, message: &Value) -> io::Result<()> {
        self.emit(message)?;
        self.out.flush()
    }

    /// Flushes what was written.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}
