//! Monitoring over real HTTP: the request log with its filters, CSV and JSON Lines export, and
//! the usage endpoint.

mod common;

use dbsync_sandbox::Sandbox;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// A sandbox that has served a known mix of requests: 3 GET /v1/records (200), 1 POST
/// /v1/notes (201), 1 GET /v1/records/999999 (404), 1 GET /v1/workflows (200).
async fn busy_sandbox() -> (Sandbox, Client) {
    let (sandbox, http) = common::start(Sandbox::builder().seed_records(5)).await;
    for _ in 0..3 {
        assert!(
            http.get(common::url(&sandbox, "/v1/records"))
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
    }
    let created = http
        .post(common::url(&sandbox, "/v1/notes"))
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let missing = http
        .get(common::url(&sandbox, "/v1/records/999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(
        http.get(common::url(&sandbox, "/v1/workflows"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    (sandbox, http)
}

async fn logs(sandbox: &Sandbox, http: &Client, query: &str) -> Value {
    let response = http
        .get(common::url(sandbox, &format!("/v1/logs{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    common::body(response).await
}

fn endpoints(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["method"].as_str().unwrap(),
                e["endpoint"].as_str().unwrap(),
                e["status"]
            )
        })
        .collect()
}

#[tokio::test]
async fn every_request_is_logged_with_its_fields() {
    let (sandbox, http) = busy_sandbox().await;
    let page = logs(&sandbox, &http, "").await;
    assert_eq!(page["meta"], json!({"limit": 100, "offset": 0, "total": 6}));
    let first = &page["data"][0];
    for field in [
        "id",
        "timestamp",
        "method",
        "endpoint",
        "status",
        "duration_ms",
    ] {
        assert!(first.get(field).is_some(), "{field} in {first}");
    }
    assert_eq!(
        endpoints(&page),
        [
            "GET /v1/records 200",
            "GET /v1/records 200",
            "GET /v1/records 200",
            "POST /v1/notes 201",
            "GET /v1/records/999999 404",
            "GET /v1/workflows 200",
        ]
    );
    // Pagination, with total counting every match.
    let page = logs(&sandbox, &http, "?limit=2&offset=1").await;
    assert_eq!(page["meta"], json!({"limit": 2, "offset": 1, "total": 7}));
    assert_eq!(
        endpoints(&page),
        ["GET /v1/records 200", "GET /v1/records 200"]
    );
}

#[tokio::test]
async fn filters_by_method_endpoint_status_and_date() {
    let (sandbox, http) = busy_sandbox().await;
    let post = logs(&sandbox, &http, "?method=post").await;
    assert_eq!(endpoints(&post), ["POST /v1/notes 201"]);
    let records = logs(&sandbox, &http, "?endpoint=/v1/records&method=GET").await;
    assert_eq!(
        records["meta"]["total"], 4,
        "the path and the paths under it"
    );
    let exact = logs(&sandbox, &http, "?endpoint=/v1/records/999999").await;
    assert_eq!(endpoints(&exact), ["GET /v1/records/999999 404"]);
    let not_found = logs(&sandbox, &http, "?status=404").await;
    assert_eq!(endpoints(&not_found), ["GET /v1/records/999999 404"]);
    let client_errors = logs(&sandbox, &http, "?status=4xx&endpoint=/v1").await;
    assert_eq!(client_errors["meta"]["total"], 1);

    // Dates: from is inclusive, to exclusive; a window around the POST finds it alone.
    let at = post["data"][0]["timestamp"].as_str().unwrap().to_owned();
    let encoded: String = url::form_urlencoded::byte_serialize(at.as_bytes()).collect();
    let from = logs(&sandbox, &http, &format!("?from={encoded}&method=POST")).await;
    assert_eq!(from["meta"]["total"], 1);
    let to = logs(&sandbox, &http, &format!("?to={encoded}&method=POST")).await;
    assert_eq!(to["meta"]["total"], 0);
    let past = logs(&sandbox, &http, "?to=2000-01-01T00:00:00Z").await;
    assert_eq!(past["meta"]["total"], 0);
    let all = logs(
        &sandbox,
        &http,
        "?from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z&endpoint=/v1/workflows",
    )
    .await;
    assert_eq!(endpoints(&all), ["GET /v1/workflows 200"]);
}

#[tokio::test]
async fn a_filter_that_matches_nothing_is_an_empty_page() {
    let (sandbox, http) = busy_sandbox().await;
    let page = logs(&sandbox, &http, "?method=PATCH&status=500").await;
    assert_eq!(
        page,
        json!({"data": [], "meta": {"limit": 100, "offset": 0, "total": 0}})
    );
}

#[tokio::test]
async fn invalid_filters_are_400() {
    let (sandbox, http) = busy_sandbox().await;
    for query in [
        "?status=999",
        "?status=ok",
        "?method=G%20T",
        "?endpoint=records",
        "?from=yesterday",
        "?from=2026-01-01T00:00:00",
        "?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        "?limit=0",
        "?limit=1001",
        "?offset=-1",
        "?colour=blue",
    ] {
        for path in ["/v1/logs", "/v1/logs/export"] {
            let response = http
                .get(common::url(&sandbox, &format!("{path}{query}")))
                .send()
                .await
                .unwrap();
            common::expect_error(response, StatusCode::BAD_REQUEST).await;
        }
    }
    let response = http
        .get(common::url(&sandbox, "/v1/logs/export?format=xml"))
        .send()
        .await
        .unwrap();
    common::expect_error(response, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn export_as_csv_and_jsonl() {
    let (sandbox, http) = busy_sandbox().await;
    let response = http
        .get(common::url(
            &sandbox,
            "/v1/logs/export?format=csv&endpoint=/v1/records",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "id,timestamp,method,endpoint,status,duration_ms");
    assert_eq!(lines.len(), 5, "{text}");
    let cells: Vec<&str> = lines[4].split(',').collect();
    assert_eq!(&cells[2..5], ["GET", "/v1/records/999999", "404"]);

    let response = http
        .get(common::url(
            &sandbox,
            "/v1/logs/export?format=jsonl&method=POST",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["endpoint"], "/v1/notes");
    assert_eq!(rows[0]["status"], 201);

    // The same entries as the logs endpoint, in the same order.
    let page = logs(&sandbox, &http, "?method=GET&endpoint=/v1/records").await;
    let response = http
        .get(common::url(
            &sandbox,
            "/v1/logs/export?format=jsonl&method=GET&endpoint=/v1/records",
        ))
        .send()
        .await
        .unwrap();
    let rows: Vec<Value> = response
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(Value::Array(rows), page["data"]);

    // Nothing matches: a CSV with only its header, an empty JSON Lines file.
    let csv = http
        .get(common::url(&sandbox, "/v1/logs/export?status=599"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        csv.text().await.unwrap(),
        "id,timestamp,method,endpoint,status,duration_ms\n"
    );
    let jsonl = http
        .get(common::url(
            &sandbox,
            "/v1/logs/export?status=599&format=jsonl",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(jsonl.text().await.unwrap(), "");
}

#[tokio::test]
async fn usage_reports_the_rate_limit_budget() {
    let (sandbox, http) = common::start(Sandbox::builder().rate_limit(50)).await;
    for _ in 0..4 {
        http.get(common::url(&sandbox, "/v1/records"))
            .send()
            .await
            .unwrap();
    }
    let response = http
        .get(common::url(&sandbox, "/v1/usage"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let usage = common::body(response).await;
    assert_eq!(usage["plan"], "sandbox");
    assert_eq!(usage["limit_per_minute"], 50);
    assert_eq!(usage["used"], 5, "{usage}");
    assert_eq!(usage["remaining"], 45);
    assert!(usage["reset_at"].as_str().unwrap().ends_with('Z'));

    let (unlimited, http) = common::start(Sandbox::builder()).await;
    http.get(common::url(&unlimited, "/v1/records"))
        .send()
        .await
        .unwrap();
    let usage = common::body(
        http.get(common::url(&unlimited, "/v1/usage"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(usage["plan"], "unlimited");
    assert_eq!(usage["limit_per_minute"], Value::Null);
    assert_eq!(usage["used"], 2);
    assert_eq!(usage["remaining"], Value::Null);
}

#[tokio::test]
async fn a_large_export_streams_every_entry_once() {
    let (sandbox, http) = common::start(Sandbox::builder()).await;
    for _ in 0..1100 {
        http.get(common::url(&sandbox, "/v1/usage"))
            .send()
            .await
            .unwrap();
    }
    let text = http
        .get(common::url(
            &sandbox,
            "/v1/logs/export?format=csv&endpoint=/v1/usage",
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ids: Vec<u64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, (1..=1100).collect::<Vec<u64>>());
}
