//! How values are described in violation messages, and which field names hold secrets.

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
/// (strings shortened to a few dozen characters).
pub(crate) fn found(value: &Value, secret: bool) -> String {
    if secret {
        return kind(value).to_owned();
    }
    match value {
        Value::String(s) => format!("the string {}", quote(s)),
        Value::Number(n) => format!(
            "{} {n}",
            if n.is_f64() {
                "the number"
            } else {
                "the integer"
            }
        ),
        Value::Bool(b) => format!("{b}"),
        Value::Null => "null".to_owned(),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// A string in double quotes (JSON escaping), shortened if long.
pub(crate) fn quote(s: &str) -> String {
    let mut shown: String = s.chars().take(MAX_QUOTED_CHARS).collect();
    let cut = shown.len() < s.len();
    if cut {
        shown.push('…');
    }
    Value::String(shown).to_string()
}

/// A list of allowed values for an `enum` message: `"a", "b" or "c"`.
pub(crate) fn list_values(values: &[Value]) -> String {
    let shown: Vec<String> = values
        .iter()
        .take(10)
        .map(|v| match v {
            Value::String(s) => quote(s),
            other => other.to_string(),
        })
        .collect();
    let mut text = match shown.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    if values.len() > 10 {
        text.push_str(&format!(" (and {} more)", values.len() - 10));
    }
    text
}
