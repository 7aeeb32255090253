//! Records checked against the JSON Schema their stream declares (a Singer `SCHEMA` message, an
//! Airbyte configured stream's `json_schema`) before a target or destination sends them. A
//! record that does not match is not sent: it goes to the failures journal with the reasons, in
//! the shape of a server refusal (`code` null, `message`, `details` with `field` and `message`).
//!
//! Compiled with the `jsonschema` crate. A schema with `$schema` is read as the draft it names.
//! One without is read as draft 7 (singer-sdk's and Airbyte's), and if it does not compile as
//! draft 7, as draft 4 (singer-python's: `"exclusiveMaximum": true` and the like). `format` is
//! an annotation, not checked: taps disagree on formats such as `date-time`, and DBSync checks
//! the formats of its own schema when it stores the record. Only references inside the schema
//! resolve (no file or network is read).
//!
//! Limits, so that a schema cannot take a run's memory or time: a schema is at most
//! [`MAX_SCHEMA_BYTES`](crate::record_check::MAX_SCHEMA_BYTES) as JSON with at most
//! [`MAX_PATTERNS`](crate::record_check::MAX_PATTERNS) patterns, each compiled within
//! [`PATTERN_SIZE_LIMIT`](crate::record_check::PATTERN_SIZE_LIMIT); a pattern match gives up
//! after [`PATTERN_BACKTRACK_LIMIT`](crate::record_check::PATTERN_BACKTRACK_LIMIT) backtracking
//! steps (the record counts as not matching).

use std::hash::{DefaultHasher, Hash as _, Hasher as _};

use jsonschema::{Draft, PatternOptions, Validator};
use serde_json::{Value, json};

/// The most mismatches listed for one record.
pub const MAX_DETAILS: usize = 10;
/// The longest message of one mismatch, in characters.
const MAX_MESSAGE_CHARS: usize = 200;
/// Backtracking steps one pattern match may take (fancy-regex's own default, set here so that
/// it stays the bound whatever the crates' defaults become).
pub const PATTERN_BACKTRACK_LIMIT: usize = 1_000_000;
/// The largest compiled pattern, in bytes (the regex crate's default: a Unicode class repeated
/// up to 61 times, as in the email pattern of DBSync's own schemas, needs several MiB).
pub const PATTERN_SIZE_LIMIT: usize = 10 * 1024 * 1024;
/// The largest schema compiled, as JSON text (1 MiB).
pub const MAX_SCHEMA_BYTES: usize = 1024 * 1024;
/// The most `pattern`s and `patternProperties` entries in one schema.
pub const MAX_PATTERNS: usize = 100;

/// A stream's compiled record schema.
pub struct RecordSchema {
    /// A hash of the schema's JSON text (to tell a repeated declaration from a changed one).
    source: u64,
    validator: Validator,
}

impl std::fmt::Debug for RecordSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordSchema").finish_non_exhaustive()
    }
}

impl RecordSchema {
    /// Compiles `schema`; the error says why it is not a usable JSON Schema.
    pub fn compile(schema: &Value) -> Result<Self, String> {
        let text = schema.to_string();
        let size = text.len();
        if size > MAX_SCHEMA_BYTES {
            return Err(format!(
                "{size} bytes as JSON, over the limit of {MAX_SCHEMA_BYTES}"
            ));
        }
        let patterns = count_patterns(schema);
        if patterns > MAX_PATTERNS {
            return Err(format!(
                "{patterns} patterns, over the limit of {MAX_PATTERNS}"
            ));
        }
        let build = |draft: Option<Draft>| {
            let mut options = jsonschema::options()
                .should_validate_formats(false)
                .with_pattern_options(
                    PatternOptions::fancy_regex()
                        .backtrack_limit(PATTERN_BACKTRACK_LIMIT)
                        .size_limit(PATTERN_SIZE_LIMIT),
                );
            if let Some(draft) = draft {
                options = options.with_draft(draft);
            }
            options
                .build(schema)
                .map_err(|e| shorten(&e.masked().to_string()))
        };
        let validator = if schema.get("$schema").is_some() {
            build(None)?
        } else {
            build(Some(Draft::Draft7)).or_else(|draft7| {
                build(Some(Draft::Draft4)).map_err(|_| format!("{draft7} (as draft 7 and 4)"))
            })?
        };
        Ok(Self {
            source: fingerprint(&text),
            validator,
        })
    }

    /// Whether this was compiled from `schema`.
    pub fn is_from(&self, schema: &Value) -> bool {
        self.source == fingerprint(&schema.to_string())
    }

    /// `Ok` when `record` matches; otherwise the journal's error object: `code` null, a
    /// `message` naming the stream and the first mismatch, and up to [`MAX_DETAILS`] `details`
    /// (`field`: the JSON pointer of the value, empty for the record; `message`). Messages
    /// name the rule, not the value.
    pub fn check(&self, stream: &str, record: &Value) -> Result<(), Value> {
        if self.validator.is_valid(record) {
            return Ok(());
        }
        let details: Vec<Value> = self
            .validator
            .iter_errors(record)
            .take(MAX_DETAILS)
            .map(|e| {
                let field = e
                    .instance_path()
                    .as_str()
                    .trim_start_matches('/')
                    .to_owned();
                json!({"field": field, "message": shorten(&e.masked().to_string())})
            })
            .collect();
        let first = details
            .first()
            .map(|d| {
                let field = d["field"].as_str().unwrap_or_default();
                let message = d["message"].as_str().unwrap_or_default();
                if field.is_empty() {
                    message.to_owned()
                } else {
                    format!("{field}: {message}")
                }
            })
            .unwrap_or_default();
        Err(json!({
            "code": null,
            "message": format!(
                "the record does not match the schema of stream `{}`: {first}",
                shorten(stream)
            ),
            "details": details,
        }))
    }
}

/// A record as a target or destination received it, made ready to send: checked against
/// `schema` (when given) as received, then without the fields the server sets
/// (`dbsync_validate::SERVER_FIELDS`: the destination assigns its own). The second value is the
/// journal's error when the record does not match.
pub fn ready_to_send(
    schema: Option<&RecordSchema>,
    stream: &str,
    mut record: Value,
) -> (Value, Option<Value>) {
    let mismatch = schema.and_then(|schema| schema.check(stream, &record).err());
    if let Some(object) = record.as_object_mut() {
        for field in dbsync_validate::SERVER_FIELDS {
            object.remove(field);
        }
    }
    (record, mismatch)
}

/// A hash of a schema's JSON text.
fn fingerprint(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// The `pattern` strings and `patternProperties` entries anywhere in `schema` (iteratively: a
/// deep schema cannot overflow the stack).
fn count_patterns(schema: &Value) -> usize {
    let mut count = 0usize;
    let mut pending = vec![schema];
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(map) => {
                for (key, member) in map {
                    match (key.as_str(), member) {
                        ("pattern", Value::String(_)) => count += 1,
                        ("patternProperties", Value::Object(entries)) => count += entries.len(),
                        _ => {}
                    }
                    pending.push(member);
                }
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    count
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_MESSAGE_CHARS {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
    short.push_str("...");
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> RecordSchema {
        RecordSchema::compile(&json!({
            "type": "object",
            "properties": {
                "age": {"type": "integer", "minimum": 0},
                "code": {"type": "string", "pattern": "^[A-Z]{2}$"},
                "seen": {"type": ["null", "string"], "format": "date-time"},
            },
            "required": ["age"],
        }))
        .unwrap()
    }

    #[test]
    fn a_matching_record_passes_and_formats_are_not_checked() {
        let schema = schema();
        assert!(schema.check("s", &json!({"age": 3, "code": "SE"})).is_ok());
        assert!(
            schema
                .check("s", &json!({"age": 3, "seen": "yesterday"}))
                .is_ok()
        );
    }

    #[test]
    fn a_mismatch_names_the_field_and_the_rule_but_not_the_value() {
        let schema = schema();
        let secret_like = "VALUE-THAT-MUST-NOT-BE-QUOTED";
        let error = schema
            .check("people", &json!({"age": secret_like, "code": "xyz"}))
            .unwrap_err();
        assert_eq!(error["code"], Value::Null);
        let message = error["message"].as_str().unwrap();
        assert!(message.starts_with("the record does not match the schema of stream `people`: "));
        let fields: Vec<&str> = error["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&"age") && fields.contains(&"code"),
            "{error}"
        );
        assert!(!error.to_string().contains(secret_like), "{error}");
        let missing = schema.check("people", &json!({})).unwrap_err();
        assert_eq!(missing["details"][0]["field"], "");
        assert!(
            missing["message"].as_str().unwrap().contains("age"),
            "{missing}"
        );
    }

    #[test]
    fn details_are_bounded() {
        let properties: serde_json::Map<String, Value> = (0..50)
            .map(|i| (format!("f{i}"), json!({"type": "integer"})))
            .collect();
        let schema =
            RecordSchema::compile(&json!({"type": "object", "properties": properties})).unwrap();
        let record: serde_json::Map<String, Value> =
            (0..50).map(|i| (format!("f{i}"), json!("x"))).collect();
        let error = schema.check("s", &Value::Object(record)).unwrap_err();
        assert_eq!(error["details"].as_array().unwrap().len(), MAX_DETAILS);
    }

    #[test]
    fn draft_4_style_and_declared_drafts_compile_and_unusable_schemas_are_refused() {
        // No `$schema`: draft 7, which still takes Singer's usual `type` lists.
        assert!(RecordSchema::compile(&json!({"type": ["null", "object"]})).is_ok());
        let declared = json!({"$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object", "properties": {"n": {"type": "integer"}}});
        let schema = RecordSchema::compile(&declared).unwrap();
        assert!(schema.is_from(&declared));
        assert!(schema.check("s", &json!({"n": "x"})).is_err());
        for bad in [
            json!({"type": "no-such-type"}),
            json!({"$ref": "https://example.com/remote.json"}),
            json!({"type": "string", "pattern": "("}),
        ] {
            assert!(RecordSchema::compile(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_singer_python_draft_4_schema_compiles_as_draft_4() {
        // pipelinewise taps write draft 4's boolean exclusiveMaximum; draft 7 refuses it.
        let schema = json!({"type": "object", "properties": {"n": {
            "type": ["null", "number"], "exclusiveMaximum": true, "maximum": 100}}});
        let schema = RecordSchema::compile(&schema).unwrap();
        assert!(schema.check("s", &json!({"n": 99.5})).is_ok());
        assert!(schema.check("s", &json!({"n": 100})).is_err());
        assert!(schema.check("s", &json!({"n": null})).is_ok());
    }

    #[test]
    fn a_schema_is_bounded_in_size_and_patterns() {
        let many: serde_json::Map<String, Value> = (0..=MAX_PATTERNS)
            .map(|i| (format!("f{i}"), json!({"type": "string", "pattern": "^a"})))
            .collect();
        let error = RecordSchema::compile(&json!({"properties": many})).unwrap_err();
        assert!(
            error.contains("101 patterns, over the limit of 100"),
            "{error}"
        );
        let big = json!({"description": "x".repeat(MAX_SCHEMA_BYTES)});
        let error = RecordSchema::compile(&big).unwrap_err();
        assert!(error.contains("over the limit of 1048576"), "{error}");
        // A changed schema is told from a repeated one.
        let one = json!({"type": "object"});
        let compiled = RecordSchema::compile(&one).unwrap();
        assert!(compiled.is_from(&one) && !compiled.is_from(&json!({"type": "array"})));
    }

    #[test]
    fn the_tap_s_own_schemas_accept_the_longest_valid_email_and_url() {
        // The JSON Schema of a DBSync schema expresses email and url as lookahead patterns,
        // which run on the backtracking engine: a long valid value stays under the limit.
        let dbsync = dbsync_validate::Schema::from_json(&json!({"fields": [
            {"name": "email", "type": "string", "format": "email", "required": true},
            {"name": "site", "type": "string", "format": "url"}]}))
        .unwrap();
        let schema = RecordSchema::compile(&dbsync.to_json_schema()).unwrap();
        let local = "a.".repeat(31) + "bc";
        let label = "d".repeat(58);
        let domain = format!("{label}.{label}.{label}.example.com");
        let email = format!("{local}@{domain}");
        assert!(email.len() <= 254, "{}", email.len());
        let site = format!("https://{domain}/{}", "p/".repeat(500));
        let record = json!({"id": 1, "email": email, "site": site});
        assert_eq!(schema.check("s", &record), Ok(()));
        let error = schema
            .check("s", &json!({"email": "not-an-email"}))
            .unwrap_err();
        assert_eq!(error["details"][0]["field"], "email");
    }

    #[test]
    fn a_record_is_checked_as_received_and_sent_without_the_server_fields() {
        let schema = RecordSchema::compile(&json!({"type": "object", "required": ["id"],
            "properties": {"id": {"type": "integer"}, "n": {"type": "integer"}}}))
        .unwrap();
        let received = json!({"id": 7, "n": 1, "created_at": "2024-01-01T00:00:00Z"});
        let (sent, mismatch) = ready_to_send(Some(&schema), "s", received.clone());
        assert_eq!((sent, mismatch), (json!({"n": 1}), None));
        let (sent, mismatch) = ready_to_send(Some(&schema), "s", json!({"id": 7, "n": "x"}));
        assert_eq!(sent, json!({"n": "x"}));
        assert_eq!(mismatch.unwrap()["details"][0]["field"], "n");
        assert_eq!(ready_to_send(None, "s", received).1, None);
    }

    #[test]
    fn a_pathological_pattern_does_not_stall() {
        let schema = RecordSchema::compile(&json!({"type": "object", "properties": {
            "s": {"type": "string", "pattern": "^(a+)+\\1$"}}}))
        .unwrap();
        // Without the backtracking limit this match takes about 2^40 steps.
        let record = json!({"s": format!("{}b", "a".repeat(40))});
        assert!(schema.check("s", &record).is_err());
    }
}
