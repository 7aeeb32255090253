//! The generic resource calls: list, get, create, update, delete, batch, schema.

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use serde_json::{Map, Value, json};

use dbsync_validate::{Violation, ViolationCode, Violations};

use crate::error::{ApiError, json_response};
use crate::ops_util::parse_count;
use crate::state::AppState;
use crate::store::{ListQuery, Page, READ_ONLY_FIELDS, Resource, WriteError, read, write};
use crate::time_fmt::{now_micros, parse_rfc3339};

use dbsync_contract::{
    DEFAULT_PAGE_SIZE, MAX_BATCH_SIZE, MAX_LIMIT, RESERVED_NAMES, is_valid_resource_name,
};

/// The routes of the generic resources.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/{resource}", get(list).post(create))
        .route("/v1/{resource}/schema", get(schema))
        .route("/v1/{resource}/batch", post(batch_create).put(batch_update))
        .route(
            "/v1/{resource}/{id}",
            get(get_one).put(update).delete(delete),
        )
}

/// `Path`, but a path that cannot be decoded (bad percent-encoding, not UTF-8) is a `404` in the
/// contract's shape instead of axum's plain-text rejection.
struct ApiPath<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(ApiError::not_found(format!(
                "No such resource or record: {}",
                rejection.body_text()
            ))),
        }
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if is_valid_resource_name(name) && !RESERVED_NAMES.contains(&name) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "No such resource: resource names match [a-z][a-z0-9_-]{{0,63}} (got {name:?})"
        )))
    }
}

fn not_found_id(resource: &str, id: &str) -> ApiError {
    ApiError::not_found(format!("No record with id {id:?} in {resource}"))
}

/// A record id in its one canonical spelling: `7`, never `+7` or `007` (those name no record).
fn parse_id(id: &str) -> Option<u64> {
    let digits = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
    let canonical = digits && (id.len() == 1 || !id.starts_with('0'));
    canonical.then(|| id.parse().ok()).flatten()
}

/// Reads a JSON object body: `415` without `application/json`, `413` past the limit, `400` when
/// malformed or not an object.
pub(crate) async fn read_json(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Value, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "application/json" && !(mime.starts_with("application/") && mime.ends_with("+json"))
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Request bodies must be JSON with Content-Type: application/json (got {content_type:?})"
            ),
        ));
    }
    let limit = state.max_body_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("Could not read the request body: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("Malformed JSON in request body: {e}")))
}

fn object(value: Value, what: &str) -> Result<Map<String, Value>, ApiError> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::bad_request(format!(
            "{what} must be a JSON object of field/value pairs"
        ))),
    }
}

fn read_only(field: &str, message: &str) -> Violation {
    Violation::new(
        field,
        ViolationCode::Other("read_only".into()),
        format!("{field} {message}"),
    )
}

/// Removes read-only fields from a create: each one sent is a violation.
fn strip_read_only_create(fields: &mut Map<String, Value>) -> Violations {
    let mut violations = Violations::new();
    for name in READ_ONLY_FIELDS {
        if fields.remove(name).is_some() {
            violations.push(read_only(
                name,
                "is read-only and cannot be set on a create",
            ));
        }
    }
    violations
}

/// Removes read-only fields from an update, each one a violation unless unchanged.
fn strip_read_only_update(
    fields: &mut Map<String, Value>,
    id: u64,
    resource: &Resource,
) -> Violations {
    let (created, updated) = resource.timestamps(id).unwrap_or_default();
    let mut violations = Violations::new();
    for name in READ_ONLY_FIELDS {
        let Some(value) = fields.remove(name) else {
            continue;
        };
        let unchanged = match name {
            "id" => match &value {
                Value::Number(n) => n.as_u64() == Some(id),
                Value::String(s) => parse_id(s) == Some(id),
                _ => false,
            },
            _ => {
                let stored = if name == "created_at" {
                    created
                } else {
                    updated
                };
                value.as_str().and_then(parse_rfc3339) == Some(stored)
            }
        };
        if !unchanged {
            violations.push(read_only(
                name,
                "is read-only: an update may send it only unchanged",
            ));
        }
    }
    violations
}

/// A create: read-only violations and schema violations together, or the stored record.
pub(crate) fn create_one(
    res: &mut Resource,
    mut fields: Map<String, Value>,
    now: i64,
) -> Result<String, ApiError> {
    let mut violations = strip_read_only_create(&mut fields);
    if !violations.is_empty() {
        for v in res.check(&fields, None) {
            violations.push(v);
        }
        return Err(ApiError::validation(&violations));
    }
    res.create(fields, now).map_err(|e| write_error(e, "", ""))
}

/// An update of an existing record (checked by the caller): every violation together.
fn update_one(
    res: &mut Resource,
    resource: &str,
    id: u64,
    mut fields: Map<String, Value>,
    now: i64,
) -> Result<String, ApiError> {
    let mut violations = strip_read_only_update(&mut fields, id, res);
    if !violations.is_empty() {
        for v in res.check(&fields, Some(id)) {
            violations.push(v);
        }
        return Err(ApiError::validation(&violations));
    }
    res.update(id, fields, now)
        .map_err(|e| write_error(e, resource, &id.to_string()))
}

fn write_error(error: WriteError, resource: &str, id: &str) -> ApiError {
    match error {
        WriteError::NotFound => not_found_id(resource, id),
        WriteError::Invalid(violations) => ApiError::validation(&violations),
    }
}

fn parse_list_query(
    raw: Option<&str>,
    has_field: &dyn Fn(&str) -> bool,
) -> Result<ListQuery, ApiError> {
    let mut query = ListQuery {
        limit: DEFAULT_PAGE_SIZE as usize,
        ..ListQuery::default()
    };
    let mut seen = Vec::new();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let reserved = matches!(name.as_ref(), "limit" | "offset" | "from" | "to");
        if reserved {
            if seen.contains(&name) {
                return Err(ApiError::bad_request(format!(
                    "Query parameter {name} is given more than once"
                )));
            }
            seen.push(name.clone());
        }
        match name.as_ref() {
            "limit" => {
                query.limit = parse_count(&value)
                    .filter(|&l| u32::try_from(l).is_ok_and(|l| (1..=MAX_LIMIT).contains(&l)))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "limit must be an integer from 1 to {MAX_LIMIT} (got {value:?})"
                        ))
                    })?;
            }
            "offset" => {
                query.offset = parse_count(&value).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "offset must be a non-negative integer (got {value:?})"
                    ))
                })?;
            }
            "from" | "to" => {
                let at = parse_rfc3339(&value).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{name} must be an RFC 3339 timestamp with an offset, e.g. 2024-01-01T00:00:00Z (got {value:?}); percent-encode a '+'"
                    ))
                })?;
                if name == "from" {
                    query.from = Some(at);
                } else {
                    query.to = Some(at);
                }
            }
            field => {
                if !has_field(field) {
                    return Err(ApiError::bad_request(format!(
                        "Unknown query parameter {field:?}: use limit, offset, from, to or a field of the resource"
                    )));
                }
                query.filters.push((field.to_string(), value.into_owned()));
            }
        }
    }
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from > to
    {
        return Err(ApiError::bad_request("from must not be after to"));
    }
    Ok(query)
}

async fn list(
    State(state): State<AppState>,
    ApiPath(resource): ApiPath<String>,
    request: Request,
) -> Result<Response, ApiError> {
    check_name(&resource)?;
    let schema = state.store.schema(&resource);
    let has_field = |name: &str| {
        READ_ONLY_FIELDS.contains(&name) || schema.as_ref().is_none_or(|s| s.field(name).is_some())
    };
    let query = parse_list_query(request.uri().query(), &has_field)?;
    let mut body = String::from("{\"data\":[");
    let page = match state.store.existing(&resource) {
        Some(res) => read(&res).list_into(&query, &mut body, state.max_page_bytes),
        None => Page::default(),
    };
    // A page cut at the byte cap says so the way a server that caps the page size does: its
    // `meta.limit` is the number of records it holds, so a client asks for the next page at
    // `offset + limit` and stops only at `total`.
    let limit = if page.cut { page.written } else { query.limit };
    body.push_str(&format!(
        "],\"meta\":{{\"limit\":{},\"offset\":{},\"total\":{}}}}}",
        limit, query.offset, page.total
    ));
    Ok(json_response(StatusCode::OK, body))
}

async fn schema(
    State(state): State<AppState>,
    ApiPath(resource): ApiPath<String>,
) -> Result<Response, ApiError> {
    check_name(&resource)?;
    let doc = match state.store.schema(&resource) {
        Some(schema) => schema.to_json(),
        None => dbsync_validate::Schema::open().to_json(),
    };
    Ok(json_response(StatusCode::OK, doc.to_string()))
}

async fn get_one(
    State(state): State<AppState>,
    ApiPath((resource, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    check_name(&resource)?;
    let found = parse_id(&id)
        .zip(state.store.existing(&resource))
        .and_then(|(n, res)| read(&res).get(n));
    match found {
        Some(record) => Ok(json_response(StatusCode::OK, record)),
        None => Err(not_found_id(&resource, &id)),
    }
}

async fn create(
    State(state): State<AppState>,
    ApiPath(resource): ApiPath<String>,
    request: Request,
) -> Result<Response, ApiError> {
    check_name(&resource)?;
    let (parts, body) = request.into_parts();
    let fields = object(
        read_json(&state, &parts.headers, body).await?,
        "The request body",
    )?;
    let res = state.store.resource(&resource);
    let record = create_one(&mut write(&res), fields, now_micros())?;
    Ok(json_response(StatusCode::CREATED, record))
}

async fn update(
    State(state): State<AppState>,
    ApiPath((resource, id)): ApiPath<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    check_name(&resource)?;
    let (parts, body) = request.into_parts();
    let fields = object(
        read_json(&state, &parts.headers, body).await?,
        "The request body",
    )?;
    let (Some(n), Some(res)) = (parse_id(&id), state.store.existing(&resource)) else {
        return Err(not_found_id(&resource, &id));
    };
    let mut guard = write(&res);
    if guard.timestamps(n).is_none() {
        return Err(not_found_id(&resource, &id));
    }
    let record = update_one(&mut guard, &resource, n, fields, now_micros())?;
    Ok(json_response(StatusCode::OK, record))
}

async fn delete(
    State(state): State<AppState>,
    ApiPath((resource, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    check_name(&resource)?;
    let deleted = parse_id(&id)
        .zip(state.store.existing(&resource))
        .is_some_and(|(n, res)| write(&res).delete(n));
    if deleted {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found_id(&resource, &id))
    }
}

async fn batch_items(state: &AppState, request: Request) -> Result<Vec<Value>, ApiError> {
    let (parts, body) = request.into_parts();
    let mut body = object(
        read_json(state, &parts.headers, body).await?,
        "The request body",
    )?;
    let Some(Value::Array(items)) = body.remove("records") else {
        return Err(ApiError::bad_request(
            "A batch body is {\"records\": [ ... ]} with an array of records",
        ));
    };
    if items.len() > MAX_BATCH_SIZE {
        return Err(ApiError::bad_request(format!(
            "A batch holds at most {MAX_BATCH_SIZE} records (got {}); split it into several batches",
            items.len()
        )));
    }
    Ok(items)
}

fn item_ok(index: usize, status: StatusCode, record: &str) -> Value {
    let data: Value = serde_json::from_str(record).unwrap_or(Value::Null);
    json!({"index": index, "status": status.as_u16(), "data": data})
}

fn item_err(index: usize, error: &ApiError) -> Value {
    json!({"index": index, "status": error.status.as_u16(), "error": error.object()})
}

fn batch_response(results: Vec<Value>) -> Response {
    json_response(StatusCode::OK, json!({ "results": results }).to_string())
}

/// Runs one write per record of a batch under a single lock of the resource: each record's
/// outcome becomes its own result, so one bad record does not fail the others.
async fn run_batch(
    state: AppState,
    resource: String,
    request: Request,
    success: StatusCode,
    write_one: impl Fn(&mut Resource, &str, Map<String, Value>, i64) -> Result<String, ApiError>,
) -> Result<Response, ApiError> {
    check_name(&resource)?;
    let items = batch_items(&state, request).await?;
    let res = state.store.resource(&resource);
    let mut guard = write(&res);
    let now = now_micros();
    let results = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let outcome = object(item, "A batch record")
                .and_then(|fields| write_one(&mut guard, &resource, fields, now));
            match outcome {
                Ok(record) => item_ok(index, success, &record),
                Err(error) => item_err(index, &error),
            }
        })
        .collect();
    Ok(batch_response(results))
}

async fn batch_create(
    State(state): State<AppState>,
    ApiPath(resource): ApiPath<String>,
    request: Request,
) -> Result<Response, ApiError> {
    run_batch(
        state,
        resource,
        request,
        StatusCode::CREATED,
        |res, _, fields, now| create_one(res, fields, now),
    )
    .await
}

/// One record of a batch update: its `id` names the record to change.
fn batch_update_one(
    res: &mut Resource,
    resource: &str,
    fields: Map<String, Value>,
    now: i64,
) -> Result<String, ApiError> {
    let id_text = match fields.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            let missing = Violation::new(
                "id",
                ViolationCode::Required,
                "id is required in each record of a batch update",
            );
            return Err(ApiError::validation(&Violations::from(vec![missing])));
        }
    };
    let n = parse_id(&id_text)
        .filter(|n| res.timestamps(*n).is_some())
        .ok_or_else(|| not_found_id(resource, &id_text))?;
    update_one(res, resource, n, fields, now)
}

async fn batch_update(
    State(state): State<AppState>,
    ApiPath(resource): ApiPath<String>,
    request: Request,
) -> Result<Response, ApiError> {
    run_batch(state, resource, request, StatusCode::OK, batch_update_one).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_one_spelling() {
        assert_eq!(parse_id("7"), Some(7));
        assert_eq!(parse_id("0"), Some(0));
        assert_eq!(parse_id("18446744073709551615"), Some(u64::MAX));
        for bad in ["+7", "007", "", "7 ", "-1", "1e3", "18446744073709551616"] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn list_query_rules() {
        let any = |_: &str| true;
        let none = |_: &str| false;
        assert_eq!(
            parse_list_query(None, &any).map(|q| q.limit).ok(),
            Some(100)
        );
        assert!(parse_list_query(Some("limit=0"), &any).is_err());
        assert!(parse_list_query(Some("limit=1001"), &any).is_err());
        assert!(parse_list_query(Some("limit=abc"), &any).is_err());
        assert!(parse_list_query(Some("offset=-1"), &any).is_err());
        assert!(parse_list_query(Some("limit=%2B5"), &any).is_err());
        assert!(parse_list_query(Some("offset=%2B5"), &any).is_err());
        assert!(parse_list_query(Some("from=2024-01-01"), &any).is_err());
        assert!(
            parse_list_query(
                Some("from=2024-01-02T00:00:00Z&to=2024-01-01T00:00:00Z"),
                &any
            )
            .is_err()
        );
        assert!(parse_list_query(Some("color=red"), &none).is_err());
        let q = parse_list_query(Some("limit=5&offset=10&color=red"), &any).ok();
        assert_eq!(
            q.map(|q| (q.limit, q.offset, q.filters.len())),
            Some((5, 10, 1))
        );
    }
}
