//! Pre-flight validation with dbsync-validate: invalid records fail locally, as a server 400 would.

mod common;

use common::connection;
use dbsync_client::{Error, Schema};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn schema_json() -> Value {
    json!({"fields": [
        {"name": "email", "type": "string", "format": "email", "required": true},
        {"name": "age", "type": "integer", "min": 0}
    ]})
}

#[tokio::test]
async fn an_invalid_record_fails_locally_with_every_violation_and_nothing_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "1"})))
        .expect(0)
        .mount(&server)
        .await;
    let schema = Schema::from_json(&schema_json()).unwrap();
    let contacts = connection(&server)
        .resource::<Value>("contacts")
        .unwrap()
        .with_schema(schema.clone());
    let record = json!({"email": "not-an-email", "age": -1});
    let local = contacts.create(&record).await.unwrap_err();
    assert!(matches!(local, Error::Validation { .. }), "{local:?}");
    let fields: Vec<&str> = local.details().iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["email", "age"]);

    // The same error a server 400 with these violations gives.
    let violations = schema.validate(&record).unwrap_err();
    let server_400 = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(violations.to_error_body()))
        .mount(&server_400)
        .await;
    let remote = connection(&server_400)
        .resource::<Value>("contacts")
        .unwrap()
        .create(&record)
        .await
        .unwrap_err();
    assert_eq!(remote.to_string(), local.to_string());
    assert_eq!(remote.details(), local.details());
}

#[tokio::test]
async fn the_server_schema_is_fetched_and_used_for_updates_and_batches() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/contacts/schema"))
        .respond_with(ResponseTemplate::new(200).set_body_json(schema_json()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/contacts/batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [
            {"index": 0, "status": 201, "data": {"id": "a", "email": "a@example.com"}},
            {"index": 1, "status": 201, "data": {"id": "b", "email": "b@example.com"}}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let contacts = connection(&server)
        .resource::<Value>("contacts")
        .unwrap()
        .validate_with_server_schema()
        .await
        .unwrap();
    assert!(contacts.local_schema().is_some());

    // A partial update is checked on the fields it has only.
    let err = contacts
        .update("1", &json!({"age": "old"}))
        .await
        .unwrap_err();
    assert_eq!(err.details()[0].field, "age");

    let input = [
        json!({"email": "a@example.com"}),
        json!({"age": 3}),
        json!({"email": "b@example.com"}),
    ];
    let outcomes = contacts.create_many(&input).await;
    assert_eq!(outcomes[0].result.as_ref().unwrap()["id"], "a");
    assert!(matches!(outcomes[1].result, Err(Error::Validation { .. })));
    assert_eq!(outcomes[2].result.as_ref().unwrap()["id"], "b");
    let batch = &server.received_requests().await.unwrap()[1];
    let sent: Value = serde_json::from_slice(&batch.body).unwrap();
    assert_eq!(
        sent["records"].as_array().unwrap().len(),
        2,
        "the invalid record is not sent"
    );
}

#[tokio::test]
async fn an_unusable_server_schema_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"fields": [{"name": "x", "type": "blob"}]})),
        )
        .mount(&server)
        .await;
    let err = connection(&server)
        .resource::<Value>("contacts")
        .unwrap()
        .validate_with_server_schema()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn a_server_schema_with_descriptive_members_is_accepted_but_a_misspelt_constraint_is_not() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/contacts/schema"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "description": "CRM contacts",
            "fields": [{"name": "email", "type": "string", "format": "email",
                        "required": true, "label": "E-mail"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/typos/schema"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "fields": [{"name": "email", "type": "string", "max_lenght": 5}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let conn = connection(&server);
    let schema = conn
        .resource::<Value>("contacts")
        .unwrap()
        .schema()
        .await
        .unwrap();
    assert_eq!(schema.fields().len(), 1);
    assert!(schema.validate(&json!({"email": "nope"})).is_err());

    let err = conn
        .resource::<Value>("typos")
        .unwrap()
        .schema()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("max_lenght"), "{err}");
}
