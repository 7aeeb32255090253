//! The sandbox's answers against docs/openapi.yaml: a tour of every operation (the two cases an
//! OpenAPI fuzzer found among them), and the checker catching a document that is wrong.

mod common;

use common::{TOKEN, recorded};
use dbsync_openapi::sandbox::workspace_checker;
use dbsync_openapi::{Conformance, Document, Observed};
use dbsync_sandbox::Sandbox;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

async fn send(sandbox: &Sandbox, method: Method, path: &str, body: Option<Value>) -> StatusCode {
    let mut request = Client::new()
        .request(method, format!("{}{path}", sandbox.base_url()))
        .bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    response.bytes().await.unwrap();
    status
}

#[tokio::test]
async fn every_operation_answers_as_documented() {
    let (sandbox, mismatches) = recorded().await;
    let g = Method::GET;
    let cases: Vec<(Method, &str, Option<Value>, u16)> = vec![
        (g.clone(), "/v1/records?limit=2", None, 200),
        (g.clone(), "/v1/records/1", None, 200),
        (g.clone(), "/v1/records/999", None, 404),
        (g.clone(), "/v1/records/schema", None, 200),
        (g.clone(), "/v1/notes/schema", None, 200),
        (g.clone(), "/v1/records?limit=0", None, 400),
        // The fuzzer's first case: `from` after `to`.
        (
            g.clone(),
            "/v1/records?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z",
            None,
            400,
        ),
        (
            g.clone(),
            "/v1/logs?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z",
            None,
            400,
        ),
        (
            g.clone(),
            "/v1/logs/export?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z",
            None,
            400,
        ),
        (Method::POST, "/v1/notes", Some(json!({"text": "hi"})), 201),
        (
            Method::POST,
            "/v1/records",
            Some(json!({"email": "not-an-email"})),
            400,
        ),
        (Method::PUT, "/v1/notes/1", Some(json!({"text": "ho"})), 200),
        // The fuzzer's second case: batch items that are not objects get per-item errors.
        (
            Method::POST,
            "/v1/notes/batch",
            Some(json!({"records": [{"a": 1}, 7, "x", null, [1]]})),
            200,
        ),
        (
            Method::PUT,
            "/v1/notes/batch",
            Some(json!({"records": [{"id": 1, "a": 2}, 7]})),
            200,
        ),
        (
            Method::POST,
            "/v1/notes/batch",
            Some(json!({"records": 7})),
            400,
        ),
        (Method::DELETE, "/v1/notes/1", None, 204),
        (g.clone(), "/v1/workflows", None, 200),
        (
            Method::POST,
            "/v1/workflows/wf_sync_contacts/runs",
            Some(json!({"a": 1})),
            202,
        ),
        (
            g.clone(),
            "/v1/workflows/wf_sync_contacts/runs/run_000001",
            None,
            200,
        ),
        (
            Method::DELETE,
            "/v1/workflows/wf_sync_contacts/runs/run_000001",
            None,
            200,
        ),
        (
            Method::DELETE,
            "/v1/workflows/wf_sync_contacts/runs/run_000001",
            None,
            409,
        ),
        (g.clone(), "/v1/logs?limit=5", None, 200),
        (g.clone(), "/v1/logs/export?format=csv", None, 200),
        (g.clone(), "/v1/logs/export?format=jsonl", None, 200),
        (g.clone(), "/v1/usage", None, 200),
        (
            Method::POST,
            "/v1/api-keys",
            Some(json!({"name": "ci"})),
            201,
        ),
        (g.clone(), "/v1/api-keys", None, 200),
        (
            Method::POST,
            "/v1/api-keys/key_000001/regenerate",
            None,
            200,
        ),
        (Method::DELETE, "/v1/api-keys/key_000001", None, 204),
        (Method::POST, "/oauth/token", None, 404),
        (g.clone(), "/openapi.json", None, 200),
        (g.clone(), "/no/such/route", None, 404),
        (Method::PATCH, "/v1/records/1", None, 405),
    ];
    for (method, path, body, expected) in cases {
        let status = send(&sandbox, method.clone(), path, body).await;
        assert_eq!(status.as_u16(), expected, "{method} {path}");
    }
    let mismatches = mismatches.lock().unwrap();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[tokio::test]
async fn a_status_the_document_does_not_list_is_a_mismatch() {
    let mut value = Document::workspace().unwrap().value().clone();
    let responses = value["paths"]["/v1/{resource}"]["get"]["responses"]
        .as_object_mut()
        .unwrap();
    responses.remove("400");
    let checker = Conformance::new(Document::from_value(value).unwrap());
    let body = br#"{"error":{"code":400,"message":"from is after to"}}"#;
    let observed = Observed::new("GET", "/v1/records?from=b&to=a", 400, body)
        .content_type(Some("application/json"));
    let mismatch = checker.check(&observed).unwrap_err();
    assert_eq!((mismatch.method.as_str(), mismatch.status), ("GET", 400));
    assert!(mismatch.problem.contains("not listed"), "{mismatch}");
    assert!(mismatch.to_string().contains("/v1/records"), "{mismatch}");
}

#[tokio::test]
async fn a_body_off_the_schema_is_a_mismatch() {
    let checker = workspace_checker().unwrap();
    let json = Some("application/json");
    let wrong = [
        // a record page without meta
        (200, "/v1/records", br#"{"data":[]}"#.as_slice(), json),
        // an error without message
        (
            404,
            "/v1/records/1",
            br#"{"error":{"code":404}}"#.as_slice(),
            json,
        ),
        // not JSON
        (200, "/v1/usage", b"<html>".as_slice(), json),
        // a media type not listed
        (200, "/v1/usage", b"{}".as_slice(), Some("text/plain")),
        // a body where the document lists none
        (204, "/v1/records/1", b"{}".as_slice(), json),
        // a timestamp that is not one
        (
            200,
            "/v1/records/1",
            br#"{"id":1,"created_at":"yesterday"}"#.as_slice(),
            json,
        ),
        // an unknown route answered 200
        (200, "/nope", b"{}".as_slice(), json),
    ];
    for (status, path, body, content_type) in wrong {
        let method = if status == 204 { "DELETE" } else { "GET" };
        let observed = Observed::new(method, path, status, body).content_type(content_type);
        assert!(checker.check(&observed).is_err(), "{status} {path}");
    }
    let gzip_bomb_free = Observed::new("GET", "/v1/usage", 200, b"not gzip")
        .content_type(json)
        .content_encoding(Some("gzip"));
    assert!(
        checker
            .check(&gzip_bomb_free)
            .unwrap_err()
            .problem
            .contains("gzip")
    );
}

/// The batch decision: an item that is not an object is the document's per-item error, and the
/// other items are carried out.
#[tokio::test]
async fn batch_items_that_are_not_objects_get_their_own_errors() {
    let checker = workspace_checker().unwrap();
    let schema = json!({"$ref": "#/components/schemas/BatchRequest"});
    let mixed = json!({"records": [{"text": "kept"}, 7, "x", null, [1]]});
    checker.check_value(&schema, &mixed).unwrap();
    let too_many = json!({"records": vec![json!({}); 101]});
    assert!(checker.check_value(&schema, &too_many).is_err());
    assert!(
        checker
            .check_value(&schema, &json!({"records": 7}))
            .is_err()
    );

    let (sandbox, mismatches) = recorded().await;
    let response = Client::new()
        .post(format!("{}/v1/notes/batch", sandbox.base_url()))
        .bearer_auth(TOKEN)
        .json(&mixed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert_eq!(results[0]["status"], 201);
    for item in &results[1..] {
        assert_eq!(item["status"], 400, "{item}");
        assert_eq!(item["error"]["code"], 400, "{item}");
    }
    assert_eq!(sandbox.record_count("notes"), 1, "the object item was kept");
    assert!(mismatches.lock().unwrap().is_empty());
}

/// Authentication, the rate limit and faults answer before routing: an unknown route may get them.
#[test]
fn answers_before_routing_are_accepted_on_any_path() {
    let checker = workspace_checker().unwrap();
    let error = br#"{"error":{"code":401,"message":"Unauthorized"}}"#;
    let json = Some("application/json");
    for (method, path) in [("GET", "/no/such/route"), ("PATCH", "/v1/records/1")] {
        let ok = Observed::new(method, path, 401, error).content_type(json);
        checker.check(&ok).unwrap();
        let teapot = Observed::new(method, path, 418, error).content_type(json);
        assert!(checker.check(&teapot).is_err(), "{method} {path}");
    }
}
