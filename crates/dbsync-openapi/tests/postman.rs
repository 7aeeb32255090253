//! The committed Postman collection is the one generated from docs/openapi.yaml, and each of its
//! requests, sent to a sandbox, is answered as the document says.

mod common;

use std::time::Duration;

use common::{TOKEN, recorded};
use dbsync_openapi::{Document, WORKSPACE_POSTMAN, postman};
use reqwest::Client;
use serde_json::Value;

const CLIENT_ID: &str = "postman-client";
const CLIENT_SECRET: &str = "postman-client-secret";

fn committed() -> Value {
    let text = std::fs::read_to_string(WORKSPACE_POSTMAN).expect("the collection is committed");
    serde_json::from_str(&text).expect("the collection is JSON")
}

#[test]
fn the_committed_collection_is_the_generated_one() {
    let fresh = postman::collection(&Document::workspace().unwrap()).unwrap();
    let text = std::fs::read_to_string(WORKSPACE_POSTMAN).unwrap();
    assert_eq!(
        text.trim_end(),
        postman::to_text(&fresh),
        "docs/postman/dbsync.postman_collection.json is stale: regenerate it with \
         cargo run -p dbsync-openapi -- postman > docs/postman/dbsync.postman_collection.json"
    );
    assert_eq!(fresh["info"]["schema"], postman::SCHEMA_URL);
}

fn substitute(text: &str, base_url: &str) -> String {
    text.replace("{{baseUrl}}", base_url)
        .replace("{{token}}", TOKEN)
        .replace("{{clientId}}", CLIENT_ID)
        .replace("{{clientSecret}}", CLIENT_SECRET)
}

/// Every request of the collection (folders flattened), with the collection's auth.
fn requests(collection: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for folder in collection["item"].as_array().unwrap() {
        for item in folder["item"].as_array().unwrap() {
            out.push((
                item["name"].as_str().unwrap().to_owned(),
                item["request"].clone(),
            ));
        }
    }
    out
}

async fn send(client: &Client, base_url: &str, collection: &Value, request: &Value) -> u16 {
    let url = &request["url"];
    let vars = url["variable"].as_array().cloned().unwrap_or_default();
    let path: Vec<String> = url["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let s = s.as_str().unwrap();
            match s.strip_prefix(':') {
                Some(name) => vars
                    .iter()
                    .find(|v| v["key"] == name)
                    .and_then(|v| v["value"].as_str())
                    .unwrap_or_else(|| panic!("no value for :{name}"))
                    .to_owned(),
                None => s.to_owned(),
            }
        })
        .collect();
    let query: Vec<(String, String)> = url["query"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|q| {
            (
                q["key"].as_str().unwrap().into(),
                q["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    let method = request["method"].as_str().unwrap().parse().unwrap();
    let mut builder = client
        .request(method, format!("{base_url}/{}", path.join("/")))
        .query(&query)
        .timeout(Duration::from_secs(10));
    for h in request["header"].as_array().unwrap() {
        let value = substitute(h["value"].as_str().unwrap(), base_url);
        builder = builder.header(h["key"].as_str().unwrap(), value);
    }
    let auth = request.get("auth").unwrap_or(&collection["auth"]);
    let field = |kind: &str, key: &str| {
        let entries = auth[kind].as_array().unwrap();
        let entry = entries.iter().find(|e| e["key"] == key).unwrap();
        substitute(entry["value"].as_str().unwrap(), base_url)
    };
    builder = match auth["type"].as_str().unwrap() {
        "bearer" => builder.bearer_auth(field("bearer", "token")),
        "basic" => builder.basic_auth(field("basic", "username"), Some(field("basic", "password"))),
        "noauth" => builder,
        other => panic!("auth type {other}"),
    };
    let body = &request["body"];
    builder = match body["mode"].as_str() {
        Some("raw") => builder.body(body["raw"].as_str().unwrap().to_owned()),
        Some("urlencoded") => {
            let form: Vec<(String, String)> = body["urlencoded"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["key"].as_str().unwrap().into(),
                        f["value"].as_str().unwrap().into(),
                    )
                })
                .collect();
            let mut encoder = reqwest::Url::parse("http://form.invalid/").unwrap();
            encoder.query_pairs_mut().extend_pairs(&form);
            builder.body(encoder.query().unwrap_or_default().to_owned())
        }
        None => builder,
        Some(other) => panic!("body mode {other}"),
    };
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    response.bytes().await.unwrap();
    status
}

#[tokio::test]
async fn every_request_of_the_collection_is_answered_as_documented() {
    let collection = committed();
    let variables: Vec<&str> = collection["variable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap())
        .collect();
    assert!(variables.contains(&"baseUrl") && variables.contains(&"token"));
    let requests = requests(&collection);
    let operations = Document::workspace().unwrap().operations().count();
    assert_eq!(requests.len(), operations, "one request per operation");

    let (sandbox, mismatches) = recorded().await;
    let client = Client::new();
    let mut statuses = Vec::new();
    for (name, request) in &requests {
        let status = send(&client, sandbox.base_url(), &collection, request).await;
        assert_ne!(status, 401, "{name}: the token variable is not sent");
        statuses.push((name.clone(), status));
    }
    let mismatches = mismatches.lock().unwrap();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    // The examples are meaningful: most requests succeed against a seeded sandbox.
    let ok = statuses.iter().filter(|(_, s)| *s < 300).count();
    assert!(ok * 3 >= statuses.len() * 2, "{statuses:?}");
}
