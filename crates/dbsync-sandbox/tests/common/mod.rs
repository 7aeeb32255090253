//! Helpers shared by the HTTP tests.
#![allow(dead_code)]

use dbsync_sandbox::{Sandbox, SandboxBuilder};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

/// Starts `builder`, every response checked against docs/openapi.yaml (a response the document
/// does not describe fails the request that got it: `dbsync_openapi::sandbox`).
pub async fn start(builder: SandboxBuilder) -> (Sandbox, Client) {
    let sandbox = checked(builder).start().await.expect("sandbox starts");
    (sandbox, Client::new())
}

/// `builder` with every response checked against docs/openapi.yaml, for the tests that start it
/// themselves (their own client, a start that must fail).
pub fn checked(builder: SandboxBuilder) -> SandboxBuilder {
    dbsync_openapi::sandbox::check_responses(builder).expect("docs/openapi.yaml loads")
}

pub fn url(sandbox: &Sandbox, path: &str) -> String {
    format!("{}{}", sandbox.base_url(), path)
}

pub async fn body(response: Response) -> Value {
    let text = response.text().await.expect("body readable");
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts the contract's error shape and returns the error object.
pub async fn expect_error(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let value = body(response).await;
    let error = value
        .get("error")
        .cloned()
        .unwrap_or_else(|| panic!("no error object: {value}"));
    assert_eq!(error["code"], json!(status.as_u16()), "{value}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{value}"
    );
    error
}

/// A valid `records` record with a unique email.
pub fn person(n: usize) -> Value {
    json!({
        "email": format!("person{n}@test.example"),
        "first_name": "Test",
        "last_name": format!("Person{n}"),
        "country": "US",
        "active": true,
    })
}

pub fn detail_fields(error: &Value) -> Vec<String> {
    error["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|x| x["field"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
