//! Checks one response against the document: its status is listed for the operation of the
//! request, and its body has a listed media type and matches that media type's schema.
//!
//! Outside the document's paths, a `404` in the error shape is accepted (an unknown route), and
//! on a described path a `405` in the error shape for a method it does not describe; both may
//! also get the answers given before routing ([`BEFORE_ROUTING`]), in the error shape.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::document::{Document, DocumentError};

/// The largest inflated body checked (a gzip body that inflates to more is a mismatch).
pub const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

/// How many schema violations a mismatch lists.
pub const MAX_REPORTED_ERRORS: usize = 5;

/// The statuses any request may get before it is routed, so also one for a route the document
/// does not have: `401` (authentication), `429` (rate limit), `500` (an internal error or an
/// injected fault).
pub const BEFORE_ROUTING: [u16; 3] = [401, 429, 500];

/// One response as it was sent.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Observed<'a> {
    /// The request's method, e.g. `GET`.
    pub method: &'a str,
    /// The request's path as sent (percent-encoded), with or without its query.
    pub path: &'a str,
    /// The response's status.
    pub status: u16,
    /// The response's `Content-Type`, if any.
    pub content_type: Option<&'a str>,
    /// The response's `Content-Encoding`, if any (`gzip` is inflated before the check).
    pub content_encoding: Option<&'a str>,
    /// The body as sent.
    pub body: &'a [u8],
}

impl<'a> Observed<'a> {
    /// A response without `Content-Type` or `Content-Encoding`.
    pub fn new(method: &'a str, path: &'a str, status: u16, body: &'a [u8]) -> Self {
        Self {
            method,
            path,
            status,
            content_type: None,
            content_encoding: None,
            body,
        }
    }

    /// With this `Content-Type`.
    pub fn content_type(mut self, content_type: Option<&'a str>) -> Self {
        self.content_type = content_type;
        self
    }

    /// With this `Content-Encoding`.
    pub fn content_encoding(mut self, content_encoding: Option<&'a str>) -> Self {
        self.content_encoding = content_encoding;
        self
    }
}

/// A response the document does not describe: which request, which status, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mismatch {
    /// The request's method.
    pub method: String,
    /// The request's path.
    pub path: String,
    /// The response's status.
    pub status: u16,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} answered {}, which docs/openapi.yaml does not describe: {}",
            self.method, self.path, self.status, self.problem
        )
    }
}

impl std::error::Error for Mismatch {}

/// Checks responses against a [`Document`]; compiled schemas are cached, so one checker can
/// serve a whole test suite (it is `Send + Sync`).
pub struct Conformance {
    document: Document,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl fmt::Debug for Conformance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conformance").finish_non_exhaustive()
    }
}

impl Conformance {
    /// A checker for `document`.
    pub fn new(document: Document) -> Self {
        Self {
            document,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// A checker for this workspace's `docs/openapi.yaml`.
    pub fn workspace() -> Result<Self, DocumentError> {
        Document::workspace().map(Self::new)
    }

    /// The document.
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// Checks one response.
    pub fn check(&self, observed: &Observed<'_>) -> Result<(), Mismatch> {
        let mismatch = |problem: String| Mismatch {
            method: observed.method.to_owned(),
            path: observed.path.to_owned(),
            status: observed.status,
            problem,
        };
        self.check_inner(observed).map_err(mismatch)
    }

    fn check_inner(&self, observed: &Observed<'_>) -> Result<(), String> {
        let doc = &self.document;
        let method = observed.method.to_ascii_lowercase();
        let Some(template) = doc.template_of(observed.path) else {
            if observed.status == 404 || BEFORE_ROUTING.contains(&observed.status) {
                return self.check_error_body(observed, "an unknown route");
            }
            return Err(
                "no path of the document matches (only a 404, 401, 429 or 500 may answer it)"
                    .into(),
            );
        };
        // HEAD is served as GET, without a body.
        let op_method = if method == "head" {
            "get"
        } else {
            method.as_str()
        };
        let Some(operation) = doc.operation(op_method, template) else {
            if observed.status == 405 || BEFORE_ROUTING.contains(&observed.status) {
                return self.check_error_body(observed, "a method the path does not have");
            }
            return Err(format!(
                "{template} has no {} operation (only a 405, 401, 429 or 500 may answer it)",
                observed.method
            ));
        };
        let responses = operation.get("responses").and_then(Value::as_object);
        let status = observed.status.to_string();
        let class = format!("{}XX", observed.status / 100);
        let Some((key, response)) = responses.and_then(|r| {
            [status.as_str(), class.as_str(), "default"]
                .into_iter()
                .find_map(|k| r.get(k).map(|v| (k, v)))
        }) else {
            let listed: Vec<&str> = responses
                .map(|r| r.keys().map(String::as_str).collect())
                .unwrap_or_default();
            return Err(format!(
                "the status is not listed for {} {template} (listed: {})",
                op_method.to_uppercase(),
                listed.join(", ")
            ));
        };
        let response = doc.resolve(response).map_err(|e| e.to_string())?;
        if method == "head" {
            return Ok(());
        }
        let key = format!("{op_method} {template} {key}");
        self.check_body(observed, response, &key)
    }

    /// The body of a 404/405 outside the document: the contract's error shape.
    fn check_error_body(&self, observed: &Observed<'_>, what: &str) -> Result<(), String> {
        let response = json!({"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}
        }}});
        self.check_body(observed, &response, "error")
            .map_err(|e| format!("{what}: {e}"))
    }

    fn check_body(
        &self,
        observed: &Observed<'_>,
        response: &Value,
        key: &str,
    ) -> Result<(), String> {
        let body = inflate(observed)?;
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            if body.is_empty() {
                return Ok(());
            }
            return Err(format!(
                "the document lists no body for this status, the response has {} bytes",
                body.len()
            ));
        };
        let media = observed
            .content_type
            .map(|c| {
                c.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .ok_or("the response has no Content-Type")?;
        let Some(media_type) = content.get(&media) else {
            let listed: Vec<&str> = content.keys().map(String::as_str).collect();
            return Err(format!(
                "Content-Type {media} is not listed (listed: {})",
                listed.join(", ")
            ));
        };
        let schema = media_type.get("schema").cloned().unwrap_or(json!({}));
        let instance = if media == "application/json" || media.ends_with("+json") {
            serde_json::from_slice::<Value>(&body)
                .map_err(|e| format!("the body is not JSON: {e}"))?
        } else {
            let text = String::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
            Value::String(text)
        };
        let validator = self.validator(&format!("{key} {media}"), &schema)?;
        let errors = violations(&validator, &instance);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the body does not match the schema: {}",
                errors.join("; ")
            ))
        }
    }

    /// Checks `instance` against `schema` (a schema of the document, `$ref`s to its components
    /// allowed): for request bodies and examples. The error lists the first violations.
    pub fn check_value(&self, schema: &Value, instance: &Value) -> Result<(), String> {
        let validator = self.validator(&format!("value {schema}"), schema)?;
        let errors = violations(&validator, instance);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// The compiled schema, from the cache or built with the document's components beside it
    /// (so that `#/components/...` references resolve).
    fn validator(&self, key: &str, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
        let mut cache = self
            .validators
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(v) = cache.get(key) {
            return Ok(v.clone());
        }
        let wrapper = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.document.value().get("components").cloned().unwrap_or(json!({})),
            "allOf": [schema],
        });
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&wrapper)
            .map_err(|e| format!("the document's schema does not compile: {e}"))?;
        let validator = Arc::new(validator);
        cache.insert(key.to_owned(), validator.clone());
        Ok(validator)
    }
}

/// The body, inflated when it is gzip-encoded (up to [`MAX_INFLATED_BYTES`]).
fn inflate(observed: &Observed<'_>) -> Result<Vec<u8>, String> {
    match observed.content_encoding.map(str::trim) {
        None | Some("") | Some("identity") => Ok(observed.body.to_vec()),
        Some(e) if e.eq_ignore_ascii_case("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(observed.body)
                .take(MAX_INFLATED_BYTES + 1)
                .read_to_end(&mut out)
                .map_err(|e| format!("the gzip body does not inflate: {e}"))?;
            if out.len() as u64 > MAX_INFLATED_BYTES {
                return Err(format!(
                    "the body inflates to more than {MAX_INFLATED_BYTES} bytes"
                ));
            }
            Ok(out)
        }
        Some(other) => Err(format!(
            "Content-Encoding {other} is not one the checker reads"
        )),
    }
}
/// The first [`MAX_REPORTED_ERRORS`] violations of `instance` against `validator`, each with
/// where it is.
fn violations(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .take(MAX_REPORTED_ERRORS)
        .map(|e| format!("at {:?}: {e}", e.instance_path().to_string()))
        .collect()
}
