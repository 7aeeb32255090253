//! Cross-crate end-to-end checks a demanding user would make: the client, the auth strategies
//! and the validator against the in-process sandbox.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::{Mode, person, served, start};
use dbsync::auth::OAuth2Auth;
use dbsync::client::{Error, ErrorDetail, Query, Record};
use dbsync::sandbox::{Fault, Faults, Sandbox, records_schema_json};
use dbsync::validate::Schema;
use futures::TryStreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Contact {
    /// Read-only fields are never sent (the contract refuses them on a create, even as null).
    #[serde(default, skip_serializing)]
    id: Option<dbsync::client::Id>,
    email: String,
    name: String,
    #[serde(default)]
    phone: Option<String>,
    vip: bool,
    #[serde(default, skip_serializing)]
    created_at: Option<String>,
    #[serde(default, skip_serializing)]
    updated_at: Option<String>,
}

fn contacts_schema() -> Schema {
    Schema::from_json(&json!({
        "fields": [
            {"name": "email", "type": "string", "format": "email", "required": true, "unique": true},
            {"name": "name", "type": "string", "required": true, "min_length": 1},
            {"name": "phone", "type": "string", "nullable": true},
            {"name": "vip", "type": "boolean", "required": true}
        ]
    }))
    .unwrap()
}

#[tokio::test]
async fn a_typed_resource_round_trips() {
    let sandbox = start(
        Mode::Bearer,
        Sandbox::builder().schema("contacts", contacts_schema()),
    )
    .await;
    let connection = common::connect(&sandbox, Mode::Bearer);
    let contacts = connection.resource::<Contact>("contacts").unwrap();
    let ada = Contact {
        id: None,
        email: "ada@example.com".into(),
        name: "Ada".into(),
        phone: None,
        vip: false,
        created_at: None,
        updated_at: None,
    };

    let created = contacts.create(&ada).await.unwrap();
    let id = created.id.clone().expect("the server assigned an id");
    assert!(created.created_at.is_some() && created.updated_at.is_some());
    assert_eq!(
        (&created.email, &created.name, created.vip),
        (&ada.email, &ada.name, false)
    );

    assert_eq!(contacts.get(&id).await.unwrap(), created);

    let updated = contacts
        .update(&id, &json!({"vip": true, "phone": "+441234567"}))
        .await
        .unwrap();
    assert_eq!(updated.id, Some(id.clone()));
    assert!(updated.vip);
    assert_eq!(updated.phone.as_deref(), Some("+441234567"));
    assert_eq!(updated.email, ada.email, "a partial update keeps the rest");

    let page = contacts
        .list(&Query::new().filter("email", "ada@example.com"))
        .await
        .unwrap();
    assert_eq!(page.data, vec![updated.clone()]);

    // The unique constraint holds through the typed API, as a validation error.
    let duplicate = contacts.create(&ada).await.unwrap_err();
    assert!(matches!(duplicate, Error::Validation { .. }), "{duplicate}");
    assert_eq!(duplicate.details()[0].field, "email");

    contacts.delete(&id).await.unwrap();
    let gone = contacts.get(&id).await.unwrap_err();
    assert!(matches!(gone, Error::NotFound { .. }), "{gone}");
    assert_eq!(sandbox.record_count("contacts"), 0);

    // A type that does not fit the server's records says so instead of guessing: the sandbox's
    // ids are integers, so `id: String` cannot hold them; `dbsync_client::Id` reads either form.
    #[derive(Debug, Serialize, Deserialize)]
    struct StringId {
        id: String,
    }
    #[derive(Debug, Serialize, Deserialize)]
    struct OpaqueId {
        id: dbsync::client::Id,
    }
    let other = contacts.create(&ada).await.unwrap();
    let other_id = other.id.unwrap();
    let typed = connection.resource::<StringId>("contacts").unwrap();
    let error = typed.get(&other_id).await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error}");
    assert!(error.to_string().contains("expected type"), "{error}");
    let opaque = connection.resource::<OpaqueId>("contacts").unwrap();
    let fetched = opaque.get(&other_id).await.unwrap();
    assert_eq!(fetched.id.as_str(), other_id.to_string());
    assert!(fetched.id.is_numeric());
}

#[tokio::test]
async fn a_stream_over_three_and_a_half_pages_yields_each_id_once() {
    let sandbox = start(Mode::None, Sandbox::builder().seed_records(350)).await;
    let records = common::connect(&sandbox, Mode::None).records();
    // The stream is owned: it runs in a task of its own.
    let all: Vec<Record> = tokio::spawn(records.stream(Query::new().limit(100)).try_collect())
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<u64> = all.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=350).collect::<Vec<_>>(), "each id once, in order");
    assert_eq!(
        served(&sandbox, "GET", "/v1/records").len(),
        4,
        "offsets 0, 100, 200, 300 and not the empty page past the end"
    );
}

#[tokio::test]
async fn a_batch_of_250_with_one_invalid_record_stores_249_and_names_the_index() {
    let sandbox = start(Mode::Basic, Sandbox::builder()).await;
    let records = common::connect(&sandbox, Mode::Basic).records();
    let mut input: Vec<Value> = (0..250).map(person).collect();
    input[137]["email"] = json!("not-an-email");

    let outcomes = records.create_many(&input).await;
    assert_eq!(outcomes.len(), 250);
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome.index, i);
        match (&outcome.result, i) {
            (Err(error), 137) => {
                assert!(matches!(error, Error::Validation { .. }), "{error}");
                assert_eq!(error.details()[0].field, "email");
            }
            (Ok(saved), _) => assert_eq!(saved["email"], input[i]["email"]),
            (Err(error), _) => panic!("record {i} failed: {error}"),
        }
    }
    assert_eq!(served(&sandbox, "POST", "/v1/records/batch").len(), 3);
    assert_eq!(sandbox.record_count("records"), 249);
    let stored: BTreeSet<String> = records
        .stream(Query::new().limit(1000))
        .map_ok(|r| r["email"].as_str().unwrap().to_owned())
        .try_collect()
        .await
        .unwrap();
    let expected: BTreeSet<String> = input
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 137)
        .map(|(_, r)| r["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, expected, "exactly the 249 valid records, each once");
}

/// The first request's response is lost after the server created the record; the client's
/// retry carries the same `Idempotency-Key`, so the server replays instead of creating again.
#[tokio::test]
async fn a_create_whose_response_is_lost_is_retried_without_a_duplicate() {
    for lost in [Fault::LostDrop, Fault::LostTruncate] {
        let faults = |seed| Faults {
            seed,
            lost_response_rate: 0.5,
            ..Faults::default()
        };
        // A fixed schedule: request 1 loses its response, requests 2 (the retry) and 3 (the
        // check below) are served normally.
        let seed = (0..10_000)
            .find(|&seed| {
                let schedule = faults(seed);
                schedule.decide(1) == lost
                    && schedule.decide(2) == Fault::None
                    && schedule.decide(3) == Fault::None
            })
            .expect("a seed with that schedule");
        let sandbox = start(Mode::Bearer, Sandbox::builder().faults(faults(seed))).await;
        let records = common::connect(&sandbox, Mode::Bearer).records();

        let created = records.create(&person(1)).await.unwrap();

        assert_eq!(served(&sandbox, "POST", "/v1/records").len(), 2, "{lost:?}");
        assert_eq!(sandbox.record_count("records"), 1, "{lost:?}: no duplicate");
        let stored = records.get(&created["id"]).await.unwrap();
        assert_eq!(stored, created, "{lost:?}");
    }
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized_in_every_mode_that_has_credentials() {
    for mode in [Mode::Basic, Mode::Bearer, Mode::OAuth2] {
        let sandbox = start(mode, Sandbox::builder().seed_records(3)).await;
        let connection = common::builder(&sandbox, mode.wrong_auth().unwrap())
            .build()
            .unwrap();
        let error = connection.records().list(&Query::new()).await.unwrap_err();
        assert!(
            matches!(error, Error::Unauthorized { .. }),
            "{mode:?}: {error}"
        );
        assert_eq!(error.status(), Some(401));
        assert!(!error.is_retryable());
        assert_eq!(
            sandbox.request_log().len(),
            1,
            "{mode:?}: refused once, no loop"
        );
        let error = connection.validate().await.unwrap_err();
        assert!(
            matches!(error, Error::Unauthorized { .. }),
            "{mode:?}: {error}"
        );
        // The right credentials work on the same sandbox.
        common::connect(&sandbox, mode).validate().await.unwrap();
    }
}

#[tokio::test]
async fn a_wrong_oauth2_client_secret_is_an_auth_error_and_no_api_call_is_made() {
    let sandbox = start(Mode::OAuth2, Sandbox::builder()).await;
    let auth =
        OAuth2Auth::client_credentials(common::CLIENT_ID, "bad-secret-7f3a", sandbox.token_url())
            .build()
            .unwrap();
    let connection = common::builder(&sandbox, Arc::new(auth)).build().unwrap();
    let error = connection.records().list(&Query::new()).await.unwrap_err();
    let Error::Auth(auth_error) = &error else {
        panic!("{error}");
    };
    assert!(auth_error.is_invalid_client(), "{error}");
    assert!(
        !error.to_string().contains("bad-secret-7f3a")
            && !format!("{error:?}").contains("bad-secret-7f3a"),
        "no secret in {error}"
    );
    assert!(served(&sandbox, "GET", "/v1/records").is_empty());
}

/// Moves tokio's clock forward (both the sandbox's token expiry and the strategy's cache read
/// it) without waiting, and lets it run again for the network calls that follow.
async fn advance(by: Duration) {
    tokio::time::pause();
    tokio::time::advance(by).await;
    tokio::time::resume();
}

#[tokio::test]
async fn an_oauth2_token_is_renewed_before_it_expires_without_a_401() {
    let sandbox = start(
        Mode::OAuth2,
        Sandbox::builder()
            .seed_records(3)
            .token_ttl(Duration::from_secs(60)),
    )
    .await;
    let auth = OAuth2Auth::client_credentials(
        common::CLIENT_ID,
        common::CLIENT_SECRET,
        sandbox.token_url(),
    )
    .refresh_buffer(Duration::from_secs(10))
    .build()
    .unwrap();
    let records = common::builder(&sandbox, Arc::new(auth))
        .build()
        .unwrap()
        .records();
    let tokens = || served(&sandbox, "POST", "/oauth/token").len();

    records.list(&Query::new()).await.unwrap();
    assert_eq!(tokens(), 1);
    advance(Duration::from_secs(30)).await;
    records.list(&Query::new()).await.unwrap();
    assert_eq!(tokens(), 1, "the cached token is reused");
    // 55 s: the token is still valid for 5 s, inside the 10 s buffer: renewed first.
    advance(Duration::from_secs(25)).await;
    records.list(&Query::new()).await.unwrap();
    assert_eq!(tokens(), 2, "renewed before it expired");
    // Long past the new token's expiry.
    advance(Duration::from_secs(120)).await;
    records.list(&Query::new()).await.unwrap();
    assert_eq!(tokens(), 3);
    let log = sandbox.request_log();
    assert!(
        log.iter().all(|e| e.status == 200),
        "no request was refused: {log:?}"
    );
}

fn validation_parts(error: Error) -> (String, Vec<ErrorDetail>) {
    match error {
        Error::Validation { message, details } => (message, details),
        other => panic!("not a validation error: {other}"),
    }
}

/// A record checked locally (pre-flight, with the schema fetched from the server) fails with
/// exactly the error the server gives for it, and nothing is sent.
#[tokio::test]
async fn a_pre_flight_validation_error_equals_the_servers_400() {
    let sandbox = start(Mode::Bearer, Sandbox::builder().seed_records(1)).await;
    let records = common::connect(&sandbox, Mode::Bearer).records();
    let checked = records.clone().validate_with_server_schema().await.unwrap();
    assert_eq!(
        checked.local_schema().unwrap().to_json(),
        Schema::from_json(&records_schema_json()).unwrap().to_json()
    );
    let bad = json!({
        "email": "nope",
        "first_name": "",
        "country": "Atlantis",
        "active": "yes",
        "age": 7,
        "nickname": "x"
    });

    let server = validation_parts(records.create(&bad).await.unwrap_err());
    let local = validation_parts(checked.create(&bad).await.unwrap_err());
    assert!(server.1.len() >= 6, "every violation: {server:?}");
    assert_eq!(local, server);

    let patch = json!({"age": 200, "phone": "12"});
    let server = validation_parts(records.update(1, &patch).await.unwrap_err());
    let local = validation_parts(checked.update(1, &patch).await.unwrap_err());
    assert_eq!(local, server);

    let server = records.create_many(std::slice::from_ref(&bad)).await;
    let local = checked.create_many(std::slice::from_ref(&bad)).await;
    let server = validation_parts(server.into_iter().next().unwrap().result.unwrap_err());
    let local = validation_parts(local.into_iter().next().unwrap().result.unwrap_err());
    assert_eq!(local, server);

    // Only the server-checked calls went out.
    assert_eq!(served(&sandbox, "POST", "/v1/records").len(), 1);
    assert_eq!(served(&sandbox, "PUT", "/v1/records/1").len(), 1);
    assert_eq!(served(&sandbox, "POST", "/v1/records/batch").len(), 1);
    assert_eq!(sandbox.record_count("records"), 1, "nothing was written");
}
