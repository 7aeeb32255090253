//! How values are described in violation messages, and which field names hold secrets.

use std::fmt::{self, Write as _};

use serde_json::Value;

/// Longest value excerpt (in characters) quoted in a message.
const MAX_QUOTED_CHARS: usize = 40;

/// Whether a field name suggests a secret: it contains `password`, `token`, `secret` or `key`
/// (case-insensitive). Values of such fields are never quoted in messages.
pub fn is_secret_name(name: &str) -> bool {
    const WORDS: [&str; 4] = ["password", "token", "secret", "key"];
    let lower = name.to_lowercase();
    WORDS.iter().any(|w| lower.contains(w))
}

/// The JSON kind of a value with an article: "a string", "an object", "null".
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What was found, for a message: the kind, and for non-secret scalars the value itself
/// (strings shortened to a few dozen characters). Written straight into the message, without an
/// intermediate `String`.
pub(crate) fn found(value: &Value, secret: bool) -> Found<'_> {
    Found { value, secret }
}

/// See [`found`].
pub(crate) struct Found<'a> {
    value: &'a Value,
    secret: bool,
}

impl fmt::Display for Found<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secret {
            return f.write_str(kind(self.value));
        }
        match self.value {
            Value::String(s) => write!(f, "the string {}", quote(s)),
            Value::Number(n) if n.is_f64() => write!(f, "the number {n}"),
            Value::Number(n) => write!(f, "the integer {n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Null => f.write_str("null"),
            Value::Array(a) => write!(f, "an array of {} items", a.len()),
            Value::Object(_) => f.write_str("an object"),
        }
    }
}

/// A string in double quotes with JSON escaping, shortened to [`MAX_QUOTED_CHARS`] characters.
pub(crate) fn quote(s: &str) -> Quoted<'_> {
    Quoted(s)
}

/// See [`quote`].
pub(crate) struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for (i, c) in self.0.chars().enumerate() {
            if i == MAX_QUOTED_CHARS {
                f.write_char('…')?;
                break;
            }
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() => write!(f, "\\u{:04x}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

/// A list of allowed values for an `enum` message: `"a", "b" or "c"` (at most ten shown).
pub(crate) fn list_values(values: &[Value]) -> ValueList<'_> {
    ValueList(values)
}

/// See [`list_values`].
pub(crate) struct ValueList<'a>(&'a [Value]);

impl fmt::Display for ValueList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 10;
        let shown = self.0.len().min(SHOWN);
        for (i, value) in self.0.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str(if i + 1 == shown { " or " } else { ", " })?;
            }
            match value {
                Value::String(s) => write!(f, "{}", quote(s))?,
                other => write!(f, "{other}")?,
            }
        }
        if self.0.len() > SHOWN {
            write!(f, " (and {} more)", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}
