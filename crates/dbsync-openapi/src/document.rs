//! The OpenAPI document: loading it, finding the operation of a concrete request by its path
//! template, and following local `$ref`s.

use std::path::Path;

use serde_json::Value;

/// The largest document read (a document is a file of the repository, still bounded).
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// The longest chain of `$ref`s followed before giving up (a cycle ends here).
pub const MAX_REF_DEPTH: usize = 16;

/// The HTTP methods an OpenAPI path item may describe.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Why a document could not be loaded or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_DOCUMENT_BYTES`].
    #[error("the document is {0} bytes, over the limit of {MAX_DOCUMENT_BYTES}")]
    TooLarge(usize),
    /// Not YAML (or JSON), or not an OpenAPI document.
    #[error("not an OpenAPI document: {0}")]
    Invalid(String),
    /// A `$ref` that points nowhere, is not local, or is part of a chain too long.
    #[error("cannot resolve $ref {0:?}")]
    Ref(String),
}

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

/// A path template of the document, e.g. `/v1/{resource}/{id}`.
#[derive(Debug, Clone)]
struct Template {
    text: String,
    segments: Vec<Segment>,
    literals: usize,
}

impl Template {
    fn new(text: &str) -> Self {
        let segments: Vec<Segment> = text
            .split('/')
            .skip(1)
            .map(|s| {
                if s.starts_with('{') && s.ends_with('}') {
                    Segment::Param
                } else {
                    Segment::Literal(s.to_owned())
                }
            })
            .collect();
        let literals = segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        Self {
            text: text.to_owned(),
            segments,
            literals,
        }
    }

    fn matches(&self, segments: &[&str]) -> bool {
        self.segments.len() == segments.len()
            && self.segments.iter().zip(segments).all(|(t, s)| match t {
                Segment::Literal(l) => l == s,
                Segment::Param => !s.is_empty(),
            })
    }
}

/// A loaded OpenAPI document.
#[derive(Debug, Clone)]
pub struct Document {
    value: Value,
    templates: Vec<Template>,
}

impl Document {
    /// Reads a YAML (or JSON) document from a file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DocumentError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| DocumentError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_yaml(&text)
    }

    /// `docs/openapi.yaml` of this workspace.
    pub fn workspace() -> Result<Self, DocumentError> {
        Self::load(crate::WORKSPACE_DOCUMENT)
    }

    /// Parses a YAML (or JSON) document.
    pub fn from_yaml(text: &str) -> Result<Self, DocumentError> {
        if text.len() > MAX_DOCUMENT_BYTES {
            return Err(DocumentError::TooLarge(text.len()));
        }
        let value: Value =
            serde_yaml_ng::from_str(text).map_err(|e| DocumentError::Invalid(e.to_string()))?;
        Self::from_value(value)
    }

    /// A document already parsed.
    pub fn from_value(value: Value) -> Result<Self, DocumentError> {
        let paths = value
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| DocumentError::Invalid("no `paths` object".into()))?;
        let templates = paths.keys().map(|p| Template::new(p)).collect();
        Ok(Self { value, templates })
    }

    /// The whole document.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The path template that describes a concrete path (`/v1/records/7` gives
    /// `/v1/{resource}/{id}`); literal segments win over parameters (`/v1/workflows` is not a
    /// resource). The path is taken as sent (percent-encoded), without its query.
    pub fn template_of(&self, path: &str) -> Option<&str> {
        let path = path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        self.templates
            .iter()
            .filter(|t| t.matches(&segments))
            .max_by_key(|t| t.literals)
            .map(|t| t.text.as_str())
    }

    /// The path item of a template.
    pub fn path_item(&self, template: &str) -> Option<&Value> {
        self.value["paths"].get(template)
    }

    /// The operation of `method` (any case) on a template.
    pub fn operation(&self, method: &str, template: &str) -> Option<&Value> {
        self.path_item(template)?
            .get(method.to_ascii_lowercase())
            .filter(|op| op.is_object())
    }

    /// `value` itself, or what its `$ref` (a local `#/...` pointer) points at, followed up to
    /// [`MAX_REF_DEPTH`] times.
    pub fn resolve<'a>(&'a self, mut value: &'a Value) -> Result<&'a Value, DocumentError> {
        for _ in 0..MAX_REF_DEPTH {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return Ok(value);
            };
            let pointer = reference
                .strip_prefix('#')
                .ok_or_else(|| DocumentError::Ref(reference.to_owned()))?;
            value = self
                .value
                .pointer(pointer)
                .ok_or_else(|| DocumentError::Ref(reference.to_owned()))?;
        }
        Err(DocumentError::Ref(
            "a chain longer than MAX_REF_DEPTH".into(),
        ))
    }

    /// The parameters of an operation: its path item's, then its own (resolved).
    pub fn parameters(&self, template: &str, method: &str) -> Result<Vec<&Value>, DocumentError> {
        let mut all = Vec::new();
        let item = self.path_item(template);
        let op = self.operation(method, template);
        for holder in [item, op].into_iter().flatten() {
            for p in holder
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                all.push(self.resolve(p)?);
            }
        }
        Ok(all)
    }

    /// Every (template, method, operation), in the document's order of paths.
    pub fn operations(&self) -> impl Iterator<Item = (&str, &'static str, &Value)> {
        self.templates.iter().flat_map(move |t| {
            METHODS.iter().filter_map(move |m| {
                self.operation(m, &t.text)
                    .map(|op| (t.text.as_str(), *m, op))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_win_over_parameters() {
        let doc = Document::workspace().unwrap();
        assert_eq!(
            doc.template_of("/v1/records/7"),
            Some("/v1/{resource}/{id}")
        );
        assert_eq!(
            doc.template_of("/v1/records/batch"),
            Some("/v1/{resource}/batch")
        );
        assert_eq!(doc.template_of("/v1/workflows"), Some("/v1/workflows"));
        assert_eq!(
            doc.template_of("/v1/api-keys/key_1"),
            Some("/v1/api-keys/{id}")
        );
        assert_eq!(
            doc.template_of("/v1/logs/export?format=csv"),
            Some("/v1/logs/export")
        );
        assert_eq!(doc.template_of("/v1/records/"), None);
        assert_eq!(doc.template_of("/nope"), None);
    }

    #[test]
    fn a_ref_cycle_is_an_error() {
        let doc = Document::from_value(serde_json::json!({
            "paths": {}, "a": {"$ref": "#/b"}, "b": {"$ref": "#/a"}
        }))
        .unwrap();
        assert!(matches!(
            doc.resolve(&doc.value()["a"]),
            Err(DocumentError::Ref(_))
        ));
        let remote = serde_json::json!({"$ref": "https://example.com/x"});
        assert!(matches!(doc.resolve(&remote), Err(DocumentError::Ref(_))));
    }

    #[test]
    fn a_document_without_paths_is_refused() {
        assert!(matches!(
            Document::from_yaml("openapi: 3.1.0"),
            Err(DocumentError::Invalid(_))
        ));
        let huge = "#".repeat(MAX_DOCUMENT_BYTES + 1);
        assert!(matches!(
            Document::from_yaml(&huge),
            Err(DocumentError::TooLarge(_))
        ));
    }
}
