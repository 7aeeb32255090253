//! The Postman collection (format v2.1) of every operation of the document: one folder per tag,
//! `{{baseUrl}}` and `{{token}}` variables, Bearer auth for the collection (no auth or the
//! OAuth client's Basic auth where the operation says so), example bodies from the document.

use serde_json::{Map, Value, json};

use crate::document::{Document, DocumentError};

/// The schema URL of Postman's collection format v2.1.
pub const SCHEMA_URL: &str = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json";

/// The default of `{{baseUrl}}`: a local sandbox on its default port.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";

/// How deep [`example_of`] walks a schema before it stops (a recursive schema ends here).
pub const MAX_EXAMPLE_DEPTH: usize = 8;

/// The collection for `doc`.
pub fn collection(doc: &Document) -> Result<Value, DocumentError> {
    let mut folders: Vec<(String, Vec<Value>)> = Vec::new();
    for (template, method, operation) in doc.operations() {
        let tag = operation["tags"][0].as_str().unwrap_or("other").to_owned();
        let item = request_item(doc, template, method, operation)?;
        match folders.iter_mut().find(|(t, _)| *t == tag) {
            Some((_, items)) => items.push(item),
            None => folders.push((tag, vec![item])),
        }
    }
    // Folders in the order of the document's `tags`, then the others.
    let tags: Vec<&str> = doc.value()["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    folders.sort_by_key(|(name, _)| tags.iter().position(|t| t == name).unwrap_or(tags.len()));
    let info = &doc.value()["info"];
    Ok(json!({
        "info": {
            "name": info["title"].as_str().unwrap_or("DBSync Open API"),
            "description": format!(
                "Generated from docs/openapi.yaml (version {}) by `cargo run -p dbsync-openapi -- postman`; \
                 do not edit by hand. Set `baseUrl` and `token` (collection variables).",
                info["version"].as_str().unwrap_or("?")
            ),
            "schema": SCHEMA_URL,
        },
        "variable": [
            {"key": "baseUrl", "value": DEFAULT_BASE_URL, "type": "string"},
            {"key": "token", "value": "", "type": "string"},
            {"key": "clientId", "value": "", "type": "string"},
            {"key": "clientSecret", "value": "", "type": "string"},
        ],
        "auth": {"type": "bearer", "bearer": [
            {"key": "token", "value": "{{token}}", "type": "string"}
        ]},
        "item": folders
            .into_iter()
            .map(|(name, item)| json!({"name": name, "item": item}))
            .collect::<Vec<_>>(),
    }))
}

fn request_item(
    doc: &Document,
    template: &str,
    method: &str,
    operation: &Value,
) -> Result<Value, DocumentError> {
    let mut path_vars = Vec::new();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for p in doc.parameters(template, method)? {
        let name = p["name"].as_str().unwrap_or_default();
        let required = p["required"].as_bool().unwrap_or(false);
        let example = match p.get("example").or_else(|| p["schema"].get("example")) {
            Some(e) => Some(plain(e)),
            None if required => Some(plain(&example_of(doc, &p["schema"], 0)?)),
            None => None,
        };
        match p["in"].as_str() {
            Some("path") => path_vars.push(json!({
                "key": name,
                "value": example.unwrap_or_else(|| "1".into()),
            })),
            Some("query") if required || example.is_some() => query.push(json!({
                "key": name,
                "value": example.unwrap_or_default(),
            })),
            Some("header") if example.is_some() => headers.push(json!({
                "key": name,
                "value": example.unwrap_or_default(),
            })),
            _ => {}
        }
    }
    let path: Vec<String> = template
        .split('/')
        .skip(1)
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(var) => format!(":{var}"),
                None => s.to_owned(),
            },
        )
        .collect();
    let mut raw = format!("{{{{baseUrl}}}}/{}", path.join("/"));
    if !query.is_empty() {
        let pairs: Vec<String> = query
            .iter()
            .map(|q| {
                format!(
                    "{}={}",
                    q["key"].as_str().unwrap_or_default(),
                    q["value"].as_str().unwrap_or_default()
                )
            })
            .collect();
        raw = format!("{raw}?{}", pairs.join("&"));
    }
    let mut url = json!({"raw": raw, "host": ["{{baseUrl}}"], "path": path});
    if !query.is_empty() {
        url["query"] = Value::Array(query);
    }
    if !path_vars.is_empty() {
        url["variable"] = Value::Array(path_vars);
    }
    let mut request = json!({
        "method": method.to_uppercase(),
        "header": headers,
        "url": url,
    });
    if let Some(auth) = auth_of(operation) {
        request["auth"] = auth;
    }
    if let Some(body) = body_of(doc, operation, &mut request)? {
        request["body"] = body;
    }
    if let Some(summary) = operation["summary"].as_str() {
        request["description"] = json!(summary);
    }
    let name = operation["operationId"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{} {template}", method.to_uppercase()));
    Ok(json!({"name": name, "request": request}))
}

/// The operation's own auth, when its `security` differs from the document's.
fn auth_of(operation: &Value) -> Option<Value> {
    let security = operation.get("security")?.as_array()?;
    let uses = |scheme: &str| security.iter().any(|s| s.get(scheme).is_some());
    if uses("clientBasic") {
        Some(json!({"type": "basic", "basic": [
            {"key": "username", "value": "{{clientId}}", "type": "string"},
            {"key": "password", "value": "{{clientSecret}}", "type": "string"},
        ]}))
    } else if security
        .iter()
        .all(|s| s.as_object().is_some_and(Map::is_empty))
    {
        Some(json!({"type": "noauth"}))
    } else {
        None
    }
}

fn body_of(
    doc: &Document,
    operation: &Value,
    request: &mut Value,
) -> Result<Option<Value>, DocumentError> {
    let Some(body) = operation.get("requestBody") else {
        return Ok(None);
    };
    let body = doc.resolve(body)?;
    let Some(content) = body["content"].as_object() else {
        return Ok(None);
    };
    let Some((media, media_type)) = content.iter().next() else {
        return Ok(None);
    };
    let example = match media_type.get("example") {
        Some(e) => e.clone(),
        None => example_of(doc, &media_type["schema"], 0)?,
    };
    let header = |request: &mut Value| {
        if let Some(h) = request["header"].as_array_mut() {
            h.push(json!({"key": "Content-Type", "value": media}));
        }
    };
    if media == "application/x-www-form-urlencoded" {
        header(request);
        let fields: Vec<Value> = example
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| json!({"key": k, "value": plain(v), "type": "text"}))
            .collect();
        return Ok(Some(json!({"mode": "urlencoded", "urlencoded": fields})));
    }
    header(request);
    let raw = serde_json::to_string_pretty(&example).unwrap_or_default();
    Ok(Some(json!({
        "mode": "raw",
        "raw": raw,
        "options": {"raw": {"language": "json"}},
    })))
}

/// A value for a schema: its `example`, `default`, first `enum` or `const`, else by type (an
/// object holds its required properties).
pub fn example_of(doc: &Document, schema: &Value, depth: usize) -> Result<Value, DocumentError> {
    if depth > MAX_EXAMPLE_DEPTH {
        return Ok(Value::Null);
    }
    let schema = doc.resolve(schema)?;
    for key in ["example", "default", "const"] {
        if let Some(v) = schema.get(key) {
            return Ok(v.clone());
        }
    }
    if let Some(first) = schema["enum"].get(0) {
        return Ok(first.clone());
    }
    let ty = match &schema["type"] {
        Value::Array(types) => types.first().and_then(Value::as_str),
        other => other.as_str(),
    };
    Ok(match ty {
        Some("object") => {
            let mut out = Map::new();
            for name in schema["required"].as_array().into_iter().flatten() {
                if let Some(name) = name.as_str() {
                    let prop = &schema["properties"][name];
                    out.insert(name.to_owned(), example_of(doc, prop, depth + 1)?);
                }
            }
            Value::Object(out)
        }
        Some("array") => json!([]),
        Some("string") => json!("string"),
        Some("integer") | Some("number") => json!(0),
        Some("boolean") => json!(false),
        _ => json!({}),
    })
}

/// A value as text for a URL or form: strings as they are, anything else as JSON.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The collection as the committed file holds it: pretty JSON (without the final newline).
pub fn to_text(collection: &Value) -> String {
    serde_json::to_string_pretty(collection).unwrap_or_default()
}
