//! The OpenAPI document: `docs/openapi.yaml` and the JSON copy served at `/openapi.json` are the
//! same document, and it describes every route the sandbox serves.

mod common;

use dbsync_sandbox::Sandbox;
use reqwest::StatusCode;
use serde_json::Value;

fn yaml_document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("docs/openapi.yaml is readable");
    serde_yaml_ng::from_str(&text).expect("docs/openapi.yaml is valid YAML")
}

#[tokio::test]
async fn served_json_equals_docs_yaml() {
    let (sandbox, http) = common::start(Sandbox::builder()).await;
    let response = http
        .get(common::url(&sandbox, "/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served = common::body(response).await;
    assert_eq!(
        served,
        yaml_document(),
        "crates/dbsync-sandbox/openapi.json differs from docs/openapi.yaml: regenerate it with \
         python3 -c 'import yaml,json; json.dump(yaml.safe_load(open(\"docs/openapi.yaml\")), \
         open(\"crates/dbsync-sandbox/openapi.json\",\"w\"), indent=2)'"
    );
    assert_eq!(served["openapi"], "3.1.0");
}

#[tokio::test]
async fn every_contract_path_is_described() {
    let document = yaml_document();
    let paths = document["paths"].as_object().expect("paths");
    for (path, methods) in [
        ("/v1/{resource}", &["get", "post"][..]),
        ("/v1/{resource}/{id}", &["get", "put", "delete"]),
        ("/v1/{resource}/batch", &["post", "put"]),
        ("/v1/{resource}/schema", &["get"]),
        ("/v1/workflows", &["get"]),
        ("/v1/workflows/{workflow_id}/runs", &["post"]),
        (
            "/v1/workflows/{workflow_id}/runs/{run_id}",
            &["get", "delete"],
        ),
        ("/v1/logs", &["get"]),
        ("/v1/logs/export", &["get"]),
        ("/v1/usage", &["get"]),
        ("/v1/api-keys", &["get", "post"]),
        ("/v1/api-keys/{id}", &["delete"]),
        ("/v1/api-keys/{id}/regenerate", &["post"]),
        ("/oauth/token", &["post"]),
        ("/oauth/authorize", &["get"]),
        ("/openapi.json", &["get"]),
    ] {
        for method in methods {
            assert!(paths[path].get(*method).is_some(), "{method} {path}");
        }
    }
    assert_eq!(paths.len(), 16, "a path without a test above");
}
