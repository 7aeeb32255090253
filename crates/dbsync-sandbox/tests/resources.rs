//! Resource calls, validation, idempotency and bad input, over real HTTP.

mod common;

use std::collections::HashSet;

use common::*;
use dbsync_sandbox::{Sandbox, Schema};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn create_get_update_delete_on_a_resource_without_schema() {
    let (sb, http) = start(Sandbox::builder()).await;
    let created = http
        .post(url(&sb, "/v1/notes"))
        .json(&json!({"title": "hello", "n": 1, "nested": {"a": [1, 2]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let record = body(created).await;
    let id = record["id"].as_u64().expect("numeric id");
    assert_eq!(record["title"], "hello");
    assert_eq!(record["nested"], json!({"a": [1, 2]}));
    let created_at = record["created_at"].as_str().unwrap().to_string();
    assert!(created_at.ends_with('Z'), "{created_at}");
    assert_eq!(record["created_at"], record["updated_at"]);

    let got = http
        .get(url(&sb, &format!("/v1/notes/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(body(got).await, record);

    let updated = http
        .put(url(&sb, &format!("/v1/notes/{id}")))
        .json(&json!({"n": 2, "id": id, "created_at": created_at}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    let updated = body(updated).await;
    assert_eq!(updated["title"], "hello", "absent fields unchanged");
    assert_eq!(updated["n"], 2);
    assert_eq!(updated["id"], id);
    assert_eq!(updated["created_at"], created_at.as_str());

    let deleted = http
        .delete(url(&sb, &format!("/v1/notes/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = http
        .get(url(&sb, &format!("/v1/notes/{id}")))
        .send()
        .await
        .unwrap();
    expect_error(gone, StatusCode::NOT_FOUND).await;
    let again = http
        .delete(url(&sb, &format!("/v1/notes/{id}")))
        .send()
        .await
        .unwrap();
    expect_error(again, StatusCode::NOT_FOUND).await;
    let update_gone = http
        .put(url(&sb, &format!("/v1/notes/{id}")))
        .json(&json!({"n": 3}))
        .send()
        .await
        .unwrap();
    expect_error(update_gone, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn new_ids_increase_and_list_after_old_ones() {
    let (sb, http) = start(Sandbox::builder().seed_records(5)).await;
    let r = body(
        http.post(url(&sb, "/v1/records"))
            .json(&person(1))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r["id"], 6);
    let page = body(http.get(url(&sb, "/v1/records")).send().await.unwrap()).await;
    let ids: Vec<u64> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
    assert_eq!(page["meta"], json!({"limit": 100, "offset": 0, "total": 6}));
}

#[tokio::test]
async fn never_written_resource_lists_empty_and_has_open_schema() {
    let (sb, http) = start(Sandbox::builder()).await;
    let page = body(
        http.get(url(&sb, "/v1/widgets?limit=5&color=red"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        page,
        json!({"data": [], "meta": {"limit": 5, "offset": 0, "total": 0}})
    );
    let schema = body(
        http.get(url(&sb, "/v1/widgets/schema"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(schema, json!({"fields": [], "additional_fields": true}));
    let missing = http.get(url(&sb, "/v1/widgets/1")).send().await.unwrap();
    expect_error(missing, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn records_schema_uses_every_type_and_constraint() {
    let (sb, http) = start(Sandbox::builder()).await;
    let schema = body(
        http.get(url(&sb, "/v1/records/schema"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let fields = schema["fields"].as_array().unwrap();
    let types: HashSet<&str> = fields.iter().filter_map(|f| f["type"].as_str()).collect();
    for t in [
        "string", "integer", "number", "boolean", "date", "datetime", "object", "array",
    ] {
        assert!(types.contains(t), "type {t}");
    }
    for key in [
        "required",
        "nullable",
        "unique",
        "min",
        "max",
        "min_length",
        "max_length",
        "pattern",
        "enum",
        "format",
    ] {
        assert!(
            fields.iter().any(|f| f.get(key).is_some()),
            "constraint {key}"
        );
    }
    let formats: HashSet<&str> = fields.iter().filter_map(|f| f["format"].as_str()).collect();
    assert_eq!(formats, HashSet::from(["email", "url", "uuid"]));
}

#[tokio::test]
async fn seeded_records_are_deterministic_and_valid() {
    let (a, http) = start(Sandbox::builder().seed_records(300)).await;
    let (b, _) = start(Sandbox::builder().seed_records(300)).await;
    let page_a = body(
        http.get(url(&a, "/v1/records?limit=1000"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let page_b = body(
        http.get(url(&b, "/v1/records?limit=1000"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page_a, page_b);
    assert_eq!(page_a["meta"]["total"], 300);
    // Each seeded record passes the server's own validation: an unchanged PUT succeeds.
    for record in page_a["data"].as_array().unwrap().iter().take(100) {
        let id = record["id"].as_u64().unwrap();
        let put = http
            .put(url(&a, &format!("/v1/records/{id}")))
            .json(record)
            .send()
            .await
            .unwrap();
        assert_eq!(
            put.status(),
            StatusCode::OK,
            "record {id}: {}",
            put.text().await.unwrap()
        );
    }
}

#[tokio::test]
async fn pagination_totals_under_filters() {
    let (sb, http) = start(Sandbox::builder().seed_records(1000)).await;
    let all = body(
        http.get(url(&sb, "/v1/records?limit=1000"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let want: Vec<Value> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["country"] == "US" && r["active"] == true)
        .cloned()
        .collect();
    assert!(want.len() > 10 && want.len() < 500, "{}", want.len());
    let mut got = Vec::new();
    let mut offset = 0;
    loop {
        let page = body(
            http.get(url(
                &sb,
                &format!("/v1/records?country=US&active=true&limit=7&offset={offset}"),
            ))
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(page["meta"]["total"], want.len());
        let data = page["data"].as_array().unwrap().clone();
        offset += data.len();
        got.extend(data);
        if offset >= want.len() {
            break;
        }
    }
    assert_eq!(got, want);
    // Number filters match the JSON text.
    let age = all["data"][0]["age"].as_u64().unwrap();
    let page = body(
        http.get(url(&sb, &format!("/v1/records?age={age}&limit=1000")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let n = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["age"] == age)
        .count();
    assert_eq!(page["meta"]["total"], n);
    // Past the end: an empty page with the same total.
    let past = body(
        http.get(url(&sb, "/v1/records?offset=5000"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(past["data"], json!([]));
    assert_eq!(past["meta"]["total"], 1000);
}

#[tokio::test]
async fn from_to_filter_on_updated_at() {
    let (sb, http) = start(Sandbox::builder().seed_records(200)).await;
    let all = body(
        http.get(url(&sb, "/v1/records?limit=1000"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let records = all["data"].as_array().unwrap();
    let mut stamps: Vec<&str> = records
        .iter()
        .map(|r| r["updated_at"].as_str().unwrap())
        .collect();
    stamps.sort();
    let (from, to) = (stamps[50], stamps[150]);
    let expected = records
        .iter()
        .filter(|r| {
            let u = r["updated_at"].as_str().unwrap();
            u >= from && u < to
        })
        .count();
    let page = body(
        http.get(url(&sb, "/v1/records"))
            .query(&[("from", from), ("to", to), ("limit", "1000")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page["meta"]["total"], expected);
    assert!(page["data"].as_array().unwrap().iter().all(|r| {
        let u = r["updated_at"].as_str().unwrap();
        u >= from && u < to
    }));
    // An offset other than Z, percent-encoded '+'.
    let page = body(
        http.get(url(&sb, "/v1/records"))
            .query(&[("from", "2000-01-01T01:00:00+01:00")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page["meta"]["total"], 200);
}

#[tokio::test]
async fn validation_lists_every_violation_and_checks_uniqueness() {
    let (sb, http) = start(Sandbox::builder().seed_records(10)).await;
    let seeded = body(http.get(url(&sb, "/v1/records/3")).send().await.unwrap()).await;
    let mut dup = person(1);
    dup["email"] = seeded["email"].clone();
    dup["age"] = json!(5);
    dup["country"] = json!("XX");
    dup["unknown_field"] = json!(1);
    let response = http
        .post(url(&sb, "/v1/records"))
        .json(&dup)
        .send()
        .await
        .unwrap();
    let error = expect_error(response, StatusCode::BAD_REQUEST).await;
    let fields = detail_fields(&error);
    for f in ["email", "age", "country", "unknown_field"] {
        assert!(fields.contains(&f.to_string()), "{f} in {fields:?}");
    }
    assert_eq!(sb.record_count("records"), 10, "nothing created");

    // Missing required fields.
    let response = http
        .post(url(&sb, "/v1/records"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let error = expect_error(response, StatusCode::BAD_REQUEST).await;
    assert!(detail_fields(&error).contains(&"email".to_string()));

    // Uniqueness against a created record, and a record may keep its own value.
    let created = body(
        http.post(url(&sb, "/v1/records"))
            .json(&person(2))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let again = http
        .post(url(&sb, "/v1/records"))
        .json(&person(2))
        .send()
        .await
        .unwrap();
    let error = expect_error(again, StatusCode::BAD_REQUEST).await;
    assert_eq!(detail_fields(&error), ["email"]);
    let id = created["id"].as_u64().unwrap();
    let keep = http
        .put(url(&sb, &format!("/v1/records/{id}")))
        .json(&json!({"email": "person2@test.example", "age": 40}))
        .send()
        .await
        .unwrap();
    assert_eq!(keep.status(), StatusCode::OK);
    // Taking a seeded record's email on update is refused; the record is unchanged.
    let steal = http
        .put(url(&sb, &format!("/v1/records/{id}")))
        .json(&json!({"email": seeded["email"], "age": 41}))
        .send()
        .await
        .unwrap();
    expect_error(steal, StatusCode::BAD_REQUEST).await;
    let now = body(
        http.get(url(&sb, &format!("/v1/records/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(now["age"], 40);
    // After the seeded record changes its email, the old one is free.
    let moved = http
        .put(url(&sb, "/v1/records/3"))
        .json(&json!({"email": "moved@test.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    let take = http
        .put(url(&sb, &format!("/v1/records/{id}")))
        .json(&json!({"email": seeded["email"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(take.status(), StatusCode::OK);
    // Deleting frees a value too.
    http.delete(url(&sb, &format!("/v1/records/{id}")))
        .send()
        .await
        .unwrap();
    let reuse = http.post(url(&sb, "/v1/records")).json(&json!({"email": seeded["email"], "first_name": "A", "last_name": "B", "country": "DE", "active": false})).send().await.unwrap();
    assert_eq!(reuse.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn read_only_fields() {
    let (sb, http) = start(Sandbox::builder()).await;
    for field in ["id", "created_at", "updated_at"] {
        let response = http
            .post(url(&sb, "/v1/notes"))
            .json(&json!({ "title": "x", field: null }))
            .send()
            .await
            .unwrap();
        let error = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(detail_fields(&error), [field]);
    }
    assert_eq!(sb.record_count("notes"), 0);
    let record = body(
        http.post(url(&sb, "/v1/notes"))
            .json(&json!({"t": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = record["id"].as_u64().unwrap();
    for (field, value) in [
        ("id", json!(id + 1)),
        ("created_at", json!("2020-01-01T00:00:00Z")),
        ("updated_at", Value::Null),
    ] {
        let response = http
            .put(url(&sb, &format!("/v1/notes/{id}")))
            .json(&json!({ "t": 2, field: value }))
            .send()
            .await
            .unwrap();
        let error = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(detail_fields(&error), [field]);
    }
    let same = http
        .put(url(&sb, &format!("/v1/notes/{id}")))
        .json(&json!({"t": 3, "id": id.to_string(), "updated_at": record["updated_at"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK);
    let now = body(
        http.get(url(&sb, &format!("/v1/notes/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(now["t"], 3);
}

#[tokio::test]
async fn batch_create_and_update() {
    let (sb, http) = start(Sandbox::builder()).await;
    let records: Vec<Value> = (0..100).map(person).collect();
    let response = http
        .post(url(&sb, "/v1/records/batch"))
        .json(&json!({"records": records}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let results = body(response).await["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 100);
    assert!(
        results
            .iter()
            .enumerate()
            .all(|(i, r)| r["index"] == i && r["status"] == 201 && r["data"]["id"].is_u64())
    );
    assert_eq!(sb.record_count("records"), 100);

    // 101 records: 400, nothing created.
    let records: Vec<Value> = (100..201).map(person).collect();
    let response = http
        .post(url(&sb, "/v1/records/batch"))
        .json(&json!({"records": records}))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::BAD_REQUEST).await;
    let response = http
        .put(url(&sb, "/v1/records/batch"))
        .json(&json!({"records": records}))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(sb.record_count("records"), 100);

    // One bad record does not fail the others; duplicates within a batch are caught.
    let mixed = json!({"records": [person(500), {"email": "bad"}, person(500), "not an object", {"id": 1}]});
    let results = body(
        http.post(url(&sb, "/v1/records/batch"))
            .json(&mixed)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let statuses: Vec<u64> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 400, 400, 400, 400]);
    let bad = &results["results"][1]["error"];
    assert_eq!(bad["code"], 400);
    assert!(detail_fields(bad).contains(&"first_name".to_string()));
    assert_eq!(sb.record_count("records"), 101);

    // Batch update: per-item results, ids as numbers or strings.
    let update = json!({"records": [
        {"id": 1, "age": 30},
        {"id": "2", "age": 31},
        {"id": 99999, "age": 1},
        {"age": 20},
        {"id": 3, "age": 500}
    ]});
    let results = body(
        http.put(url(&sb, "/v1/records/batch"))
            .json(&update)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let results = results["results"].as_array().unwrap();
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 404, 400, 400]);
    assert_eq!(results[0]["data"]["age"], 30);
    assert_eq!(results[0]["data"]["email"], "person0@test.example");
    let three = body(http.get(url(&sb, "/v1/records/3")).send().await.unwrap()).await;
    assert!(
        three.get("age").is_none(),
        "failed item left the record unchanged"
    );

    // Bad batch bodies.
    for bad in [json!({}), json!({"records": {}}), json!([])] {
        let response = http
            .post(url(&sb, "/v1/records/batch"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        expect_error(response, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn idempotent_replay() {
    let (sb, http) = start(Sandbox::builder()).await;
    let post = |key: &str, value: Value| {
        http.post(url(&sb, "/v1/records"))
            .header("Idempotency-Key", key)
            .json(&value)
            .send()
    };
    let first = post("k1", person(1)).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = body(first).await;
    let second = post("k1", person(1)).await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(body(second).await, first);
    assert_eq!(sb.record_count("records"), 1);

    let conflict = post("k1", person(2)).await.unwrap();
    let error = expect_error(conflict, StatusCode::CONFLICT).await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("different request body"),
        "{error}"
    );
    assert_eq!(sb.record_count("records"), 1);

    // Error responses are replayed too (even once the request would now succeed).
    let invalid = json!({"email": "late@test.example"});
    let bad = post("k2", invalid.clone()).await.unwrap();
    expect_error(bad, StatusCode::BAD_REQUEST).await;
    let replayed = post("k2", invalid).await.unwrap();
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    expect_error(replayed, StatusCode::BAD_REQUEST).await;

    // Batch creates too; a new key acts again.
    let batch = json!({"records": [person(10), person(11)]});
    for _ in 0..2 {
        let r = http
            .post(url(&sb, "/v1/records/batch"))
            .header("Idempotency-Key", "k3")
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(sb.record_count("records"), 3);
    let fresh = post("k4", person(3)).await.unwrap();
    assert_eq!(fresh.status(), StatusCode::CREATED);
    assert_eq!(sb.record_count("records"), 4);
}

#[tokio::test]
async fn bad_input_gets_the_contract_error() {
    let (sb, http) = start(Sandbox::builder().seed_records(3).max_body_bytes(1024)).await;
    let raw = |body: &'static str| {
        http.post(url(&sb, "/v1/records"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let error = expect_error(raw("{\"email\":").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Malformed JSON")
    );
    for not_object in ["[1,2]", "\"text\"", "42", "null", ""] {
        expect_error(raw(not_object).await.unwrap(), StatusCode::BAD_REQUEST).await;
    }
    let big = json!({"notes": "x".repeat(2000)});
    let r = http
        .post(url(&sb, "/v1/records"))
        .json(&big)
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::PAYLOAD_TOO_LARGE).await;
    let r = http
        .put(url(&sb, "/v1/records/1"))
        .json(&big)
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::PAYLOAD_TOO_LARGE).await;
    let r = http
        .post(url(&sb, "/v1/records"))
        .header("Idempotency-Key", "big")
        .json(&big)
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::PAYLOAD_TOO_LARGE).await;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = http
            .post(url(&sb, "/v1/records"))
            .body(person(1).to_string());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        expect_error(
            request.send().await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
        .await;
    }
    for query in [
        "limit=0",
        "limit=1001",
        "limit=abc",
        "limit=-1",
        "offset=-1",
        "offset=x",
        "from=2024-01-01T00:00:00",
        "from=yesterday",
        "to=2024-13-01T00:00:00Z",
        "from=2024-01-02T00:00:00Z&to=2024-01-01T00:00:00Z",
        "colour=red",
        "limit=5&limit=6",
    ] {
        let r = http
            .get(url(&sb, &format!("/v1/records?{query}")))
            .send()
            .await
            .unwrap();
        expect_error(r, StatusCode::BAD_REQUEST).await;
    }
    for path in [
        "/v1/records/999",
        "/v1/records/abc",
        "/v1/records/..%2Fx",
        "/v1/records/%FF",
        "/v1/records/-1",
    ] {
        let r = http.get(url(&sb, path)).send().await.unwrap();
        expect_error(r, StatusCode::NOT_FOUND).await;
    }
    for path in [
        "/nope",
        "/v1",
        "/v1/records/1/extra",
        "/v1/Bad_Name",
        "/v1/workflows/wf_unknown/runs/run_1",
        "/v1/%FF",
        "/v1/logs/1",
    ] {
        let r = http.get(url(&sb, path)).send().await.unwrap();
        expect_error(r, StatusCode::NOT_FOUND).await;
    }
    let r = http
        .patch(url(&sb, "/v1/records/1"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(sb.record_count("records"), 3, "nothing written");
    let one = body(http.get(url(&sb, "/v1/records/1")).send().await.unwrap()).await;
    assert!(
        one.get("notes")
            .is_none_or(|n| n.as_str().is_some_and(|s| s.len() < 600))
    );
}

#[tokio::test]
async fn concurrent_creates_are_all_stored_once() {
    let (sb, http) = start(Sandbox::builder()).await;
    let requests = (0..1000).map(|i| {
        let http = http.clone();
        let target = url(&sb, "/v1/records");
        tokio::spawn(async move {
            let response = http.post(target).json(&person(i)).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            body(response).await["id"].as_u64().unwrap()
        })
    });
    let ids: Vec<u64> = futures::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let unique: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 1000);
    assert_eq!(sb.record_count("records"), 1000);
    let page = body(
        http.get(url(&sb, "/v1/records?limit=1000"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page["meta"]["total"], 1000);
    let listed: HashSet<u64> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, unique);
}

#[tokio::test]
async fn custom_schema_is_strict() {
    let schema = json!({"fields": [
        {"name": "name", "type": "string", "required": true},
        {"name": "sku", "type": "string", "unique": true}
    ]});
    let parsed = Schema::from_json(&schema).unwrap();
    let (sb, http) = start(Sandbox::builder().schema("products", parsed.clone())).await;
    let served = body(
        http.get(url(&sb, "/v1/products/schema"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(Schema::from_json(&served).unwrap(), parsed);
    assert_eq!(served["additional_fields"], false);
    let ok = http
        .post(url(&sb, "/v1/products"))
        .json(&json!({"name": "a", "sku": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::CREATED);
    let dup = http
        .post(url(&sb, "/v1/products"))
        .json(&json!({"name": "b", "sku": "1"}))
        .send()
        .await
        .unwrap();
    expect_error(dup, StatusCode::BAD_REQUEST).await;
    let r = http
        .get(url(&sb, "/v1/products?color=red"))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::BAD_REQUEST).await;
    let r = body(
        http.get(url(&sb, "/v1/products?sku=1"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r["meta"]["total"], 1);
    assert!(
        Sandbox::builder()
            .schema("workflows", Schema::open())
            .start()
            .await
            .is_err()
    );
    assert!(
        Sandbox::builder()
            .seed_records(u64::MAX)
            .start()
            .await
            .is_err()
    );
    assert!(
        Sandbox::builder()
            .schema("Bad", Schema::open())
            .start()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn requests_are_logged() {
    let (sb, http) = start(Sandbox::builder().log_capacity(3)).await;
    for path in ["/v1/a", "/v1/b/1", "/nope", "/v1/c"] {
        http.get(url(&sb, path)).send().await.unwrap();
    }
    let log = sb.request_log();
    assert_eq!(log.len(), 3, "bounded");
    let summary: Vec<(u64, &str, &str, u16)> = log
        .iter()
        .map(|e| (e.id, e.method.as_str(), e.endpoint.as_str(), e.status))
        .collect();
    assert_eq!(
        summary,
        [
            (2, "GET", "/v1/b/1", 404),
            (3, "GET", "/nope", 404),
            (4, "GET", "/v1/c", 200)
        ]
    );
    assert!(log[0].timestamp().ends_with('Z'));
}

#[tokio::test]
async fn a_million_seeded_records_page_cheaply() {
    let (sb, http) = start(Sandbox::builder().seed_records(1_000_000)).await;
    let page = body(
        http.get(url(&sb, "/v1/records?limit=1000&offset=999500"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page["meta"]["total"], 1_000_000);
    let data = page["data"].as_array().unwrap();
    assert_eq!(data.len(), 500);
    assert_eq!(data[0]["id"], 999_501);
    assert_eq!(data[499]["id"], 1_000_000);
    let one = body(
        http.get(url(&sb, "/v1/records/777777"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(one["id"], 777_777);
    // A date-range filter scans timestamps only.
    let ranged = body(
        http.get(url(&sb, "/v1/records"))
            .query(&[("to", "2024-01-02T00:00:00Z"), ("limit", "1")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let before = ranged["meta"]["total"].as_u64().unwrap();
    let ranged = body(
        http.get(url(&sb, "/v1/records"))
            .query(&[("from", "2024-01-02T00:00:00Z"), ("limit", "1")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let after = ranged["meta"]["total"].as_u64().unwrap();
    assert!(before > 0 && after > 0, "{before} {after}");
    assert_eq!(before + after, 1_000_000, "from is inclusive, to exclusive");
}

#[tokio::test]
async fn concurrent_repeats_of_one_key_create_once() {
    let (sb, http) = start(Sandbox::builder()).await;
    let attempts = (0..20).map(|_| {
        http.post(url(&sb, "/v1/records"))
            .header("Idempotency-Key", "same")
            .json(&person(1))
            .send()
    });
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(sb.record_count("records"), 1);
}

#[tokio::test]
async fn an_empty_or_blank_idempotency_key_is_a_400_naming_the_header() {
    let (sb, http) = start(Sandbox::builder()).await;
    for key in ["", " ", "   ", "\t"] {
        let response = http
            .post(url(&sb, "/v1/records"))
            .header("Idempotency-Key", key)
            .json(&person(1))
            .send()
            .await
            .unwrap();
        let error = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("Idempotency-Key")),
            "{key:?}: {error}"
        );
        let response = http
            .post(url(&sb, "/v1/records/batch"))
            .header("Idempotency-Key", key)
            .json(&json!({"records": [person(2)]}))
            .send()
            .await
            .unwrap();
        expect_error(response, StatusCode::BAD_REQUEST).await;
    }
    assert_eq!(sb.record_count("records"), 0, "nothing was created");
    // Without the header, or with a real key, creates work as before.
    let response = http
        .post(url(&sb, "/v1/records"))
        .json(&person(1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = http
        .post(url(&sb, "/v1/records"))
        .header("Idempotency-Key", " k ")
        .json(&person(2))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(sb.record_count("records"), 2);
}
