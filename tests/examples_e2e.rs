//! The examples' own code, end to end against the in-process sandbox: each example's `main` is
//! a thin wrapper over its `run`, and these tests call exactly that `run` (the quickstart in
//! every auth mode, each auth example in its own mode).

mod common;

#[allow(dead_code)]
#[path = "../examples/quickstart.rs"]
mod quickstart;

#[allow(dead_code)]
#[path = "../examples/auth_basic.rs"]
mod auth_basic;

#[allow(dead_code)]
#[path = "../examples/auth_bearer.rs"]
mod auth_bearer;

#[allow(dead_code)]
#[path = "../examples/auth_oauth2.rs"]
mod auth_oauth2;

#[allow(dead_code)]
#[path = "../examples/auth_custom.rs"]
mod auth_custom;

use std::collections::{BTreeSet, HashMap};

use common::{Mode, served, start};
use dbsync::auth::Auth as _;
use dbsync::client::{Connection, Error, Id};
use dbsync::sandbox::Sandbox;
use dbsync::validate::Schema;
use serde_json::json;

/// The quickstart's full walk in `mode`: every step happens, and everything it created is gone.
async fn quickstart_full_walk(mode: Mode) {
    let sandbox = start(mode, Sandbox::builder().seed_records(120)).await;
    let connection = common::connect(&sandbox, mode);

    let summary = quickstart::run(&connection, &quickstart::Options::full_walk())
        .await
        .unwrap_or_else(|e| panic!("{mode:?}: {e}"));

    let created = summary.created_id.clone().expect("a record was created");
    // The stream went over 3 pages of 50 and saw every record once, the new one included.
    let unique: BTreeSet<&Id> = summary.streamed_ids.iter().collect();
    assert_eq!(summary.streamed_ids.len(), 121, "{mode:?}");
    assert_eq!(unique.len(), 121, "{mode:?}: an id was streamed twice");
    assert!(summary.streamed_ids.contains(&created));
    let lists = served(&sandbox, "GET", "/v1/records").len();
    assert_eq!(
        lists, 4,
        "validate + 3 pages, not the empty page past the end"
    );

    // The batch: index 1 rejected with every violation, the others created.
    assert_eq!(summary.batch.len(), 3);
    assert!(matches!(summary.batch[0], (0, Ok(_))));
    assert!(matches!(summary.batch[2], (2, Ok(_))));
    let (index, Err(fields)) = &summary.batch[1] else {
        panic!("record 1 was saved: {:?}", summary.batch[1]);
    };
    assert_eq!(*index, 1);
    let fields: BTreeSet<&str> = fields.iter().map(String::as_str).collect();
    assert_eq!(
        fields,
        BTreeSet::from(["country", "email", "last_name"]),
        "{mode:?}"
    );

    // Deleted: the single record and the two saved batch records; the store is as it was.
    let mut expected = vec![created];
    for (_, outcome) in &summary.batch {
        if let Ok(id) = outcome {
            expected.push(id.clone());
        }
    }
    assert_eq!(summary.deleted, expected);
    assert_eq!(sandbox.record_count("records"), 120, "{mode:?}");

    // Credentials were right on every request: nothing was refused.
    let refused: Vec<_> = sandbox
        .request_log()
        .into_iter()
        .filter(|e| e.status == 401)
        .collect();
    assert!(refused.is_empty(), "{mode:?}: {refused:?}");
    if mode == Mode::OAuth2 {
        assert_eq!(
            served(&sandbox, "POST", "/oauth/token").len(),
            1,
            "one token for the whole walk"
        );
    }
}

#[tokio::test]
async fn quickstart_walks_through_everything_without_auth() {
    quickstart_full_walk(Mode::None).await;
}

#[tokio::test]
async fn quickstart_walks_through_everything_with_basic_auth() {
    quickstart_full_walk(Mode::Basic).await;
}

#[tokio::test]
async fn quickstart_walks_through_everything_with_a_bearer_token() {
    quickstart_full_walk(Mode::Bearer).await;
}

#[tokio::test]
async fn quickstart_walks_through_everything_with_oauth2() {
    quickstart_full_walk(Mode::OAuth2).await;
}

fn env_map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// With `DBSYNC_API_URL` set (here: a sandbox with basic auth, configured the way a user
/// would, through the variables) and no `--write`, the quickstart only reads.
#[tokio::test]
async fn quickstart_against_a_configured_server_only_reads_without_write() {
    let sandbox = start(Mode::Basic, Sandbox::builder().seed_records(75)).await;
    let env = env_map(&[
        ("DBSYNC_API_URL", sandbox.base_url()),
        ("DBSYNC_USERNAME", common::USERNAME),
        ("DBSYNC_PASSWORD", common::PASSWORD),
    ]);
    let lookup = |name: &str| env.get(name).cloned();
    let connection = Connection::from_env_map(&lookup).unwrap();
    assert_eq!(connection.auth_scheme(), "basic");
    let options = quickstart::Options::from_env_and_args(&lookup, Vec::new()).unwrap();
    assert!(!options.write);
    assert_eq!(options.resource, "records");

    let summary = quickstart::run(&connection, &options).await.unwrap();
    assert_eq!(summary.first_page, 50);
    assert!(summary.created_id.is_none() && summary.deleted.is_empty());
    let log = sandbox.request_log();
    assert_eq!(log.len(), 2, "validate and one page: {log:?}");
    assert!(log.iter().all(|e| e.method == "GET" && e.status == 200));
    assert_eq!(sandbox.record_count("records"), 75);
}

#[tokio::test]
async fn quickstart_reads_the_resource_named_by_dbsync_resource() {
    let sandbox = start(Mode::Bearer, Sandbox::builder().seed_records(5)).await;
    let env = env_map(&[("DBSYNC_RESOURCE", "contacts")]);
    let lookup = |name: &str| env.get(name).cloned();
    let options = quickstart::Options::from_env_and_args(&lookup, Vec::new()).unwrap();
    assert_eq!(options.resource, "contacts");
    let summary = quickstart::run(&common::connect(&sandbox, Mode::Bearer), &options)
        .await
        .unwrap();
    assert_eq!(summary.first_page, 0, "contacts was never written to");
    assert_eq!(served(&sandbox, "GET", "/v1/contacts").len(), 1);
}

#[test]
fn quickstart_options_take_write_and_refuse_anything_else() {
    let none = |_: &str| None;
    let write = quickstart::Options::from_env_and_args(&none, ["--write".to_owned()]).unwrap();
    assert!(write.write);
    let error = quickstart::Options::from_env_and_args(&none, ["--wirte".to_owned()]).unwrap_err();
    assert!(
        error.contains("--wirte") && error.contains("--write"),
        "{error}"
    );
}

/// A write walk that fails half way still deletes what it created, and reports the failure.
#[tokio::test]
async fn quickstart_cleans_up_when_a_step_fails() {
    // `contacts` accepts the quickstart's records but only status "lead": the update fails.
    let mut schema = dbsync::sandbox::records_schema_json();
    for field in schema["fields"].as_array_mut().unwrap() {
        if field["name"] == "status" {
            field["enum"] = json!(["lead"]);
        }
    }
    let sandbox = start(
        Mode::None,
        Sandbox::builder().schema("contacts", Schema::from_json(&schema).unwrap()),
    )
    .await;
    let options = quickstart::Options {
        resource: "contacts".into(),
        ..quickstart::Options::full_walk()
    };
    let error = quickstart::run(&common::connect(&sandbox, Mode::None), &options)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Validation { .. }), "{error}");
    assert_eq!(error.details()[0].field, "status");
    assert_eq!(served(&sandbox, "POST", "/v1/contacts").len(), 1);
    assert_eq!(
        sandbox.record_count("contacts"),
        0,
        "the created record was deleted"
    );
}

/// A schema of fields the sandbox's `records` do not have.
fn gadget_schema() -> Schema {
    Schema::from_json(&json!({"fields": [
        {"name": "serial", "type": "string", "required": true, "unique": true, "pattern": "^G[0-9]{6}$"},
        {"name": "weight_g", "type": "integer", "required": true, "min": 1, "max": 5000},
        {"name": "color", "type": "string", "enum": ["red", "blue"]},
        {"name": "made_on", "type": "date", "nullable": true}
    ], "additional_fields": false}))
    .unwrap()
}

/// `--write` against a server that is not the embedded sandbox: the records come from the
/// resource's schema, on a resource the sandbox's `records` fields do not fit.
#[tokio::test]
async fn quickstart_writes_records_made_from_the_servers_schema() {
    let sandbox = start(
        Mode::None,
        Sandbox::builder()
            .schema("gadgets", gadget_schema())
            .generate("gadgets", 10),
    )
    .await;
    let connection = common::connect(&sandbox, Mode::None);
    let options = quickstart::Options {
        resource: "gadgets".into(),
        records_from_schema: true,
        ..quickstart::Options::full_walk()
    };
    let summary = quickstart::run(&connection, &options).await.unwrap();
    assert!(summary.created_id.is_some());
    assert_eq!(summary.streamed_ids.len(), 11);
    assert!(matches!(summary.batch[0], (0, Ok(_))));
    assert!(
        matches!(&summary.batch[1], (1, Err(fields)) if fields.len() == 1),
        "{:?}",
        summary.batch
    );
    assert!(matches!(summary.batch[2], (2, Ok(_))));
    assert_eq!(summary.deleted.len(), 3);
    assert_eq!(
        sandbox.record_count("gadgets"),
        10,
        "what it created is gone"
    );
    assert_eq!(served(&sandbox, "GET", "/v1/gadgets/schema").len(), 1);

    // The sandbox's own `records` fields do not fit there: the walk without the schema fails.
    let error = quickstart::run(
        &connection,
        &quickstart::Options {
            records_from_schema: false,
            ..options
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(error, Error::Validation { .. }), "{error}");

    // A `records` whose schema differs from the sandbox's: the schema is used there too.
    let sandbox = start(
        Mode::None,
        Sandbox::builder().schema("records", gadget_schema()),
    )
    .await;
    let options = quickstart::Options {
        records_from_schema: true,
        ..quickstart::Options::full_walk()
    };
    let summary = quickstart::run(&common::connect(&sandbox, Mode::None), &options)
        .await
        .unwrap();
    assert_eq!(summary.deleted.len(), 3);
}

#[tokio::test]
async fn quickstart_fails_with_unauthorized_on_wrong_credentials() {
    let sandbox = start(Mode::Bearer, Sandbox::builder()).await;
    let connection = common::builder(&sandbox, Mode::Bearer.wrong_auth().unwrap())
        .build()
        .unwrap();
    let error = quickstart::run(&connection, &quickstart::Options::full_walk())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unauthorized { .. }), "{error}");
    assert!(!error.to_string().contains('\n'), "one line: {error}");
    assert_eq!(
        sandbox.request_log().len(),
        1,
        "nothing after the failed check"
    );
}

#[tokio::test]
async fn auth_basic_example_runs_in_basic_mode() {
    let sandbox = start(Mode::Basic, Sandbox::builder().seed_records(5)).await;
    auth_basic::run(sandbox.base_url(), common::USERNAME, common::PASSWORD)
        .await
        .unwrap();
    // The wrong-password step was refused once, and not retried.
    let statuses: Vec<u16> = sandbox.request_log().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [200, 200, 401]);
    // The example itself fails when the credentials are wrong.
    assert!(
        auth_basic::run(sandbox.base_url(), common::USERNAME, "nope")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn auth_bearer_example_runs_in_bearer_mode() {
    let sandbox = start(Mode::Bearer, Sandbox::builder().seed_records(5)).await;
    auth_bearer::run(sandbox.base_url(), common::TOKEN)
        .await
        .unwrap();
    let statuses: Vec<u16> = sandbox.request_log().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [200, 200, 401, 200]);
}

#[tokio::test]
async fn auth_oauth2_example_runs_in_oauth2_mode() {
    let sandbox = start(Mode::OAuth2, Sandbox::builder().seed_records(5)).await;
    let server = auth_oauth2::OAuthServer {
        base_url: sandbox.base_url().to_owned(),
        token_url: sandbox.token_url(),
        authorize_url: sandbox.authorize_url(),
        client_id: common::CLIENT_ID.into(),
        client_secret: common::CLIENT_SECRET.into(),
    };
    auth_oauth2::run(&server).await.unwrap();
    // Client credentials: one token; code flow: one authorize and one code exchange; the wrong
    // secret: one refused token request. No API call was refused.
    let tokens: Vec<u16> = served(&sandbox, "POST", "/oauth/token")
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(tokens, [200, 200, 401]);
    assert_eq!(served(&sandbox, "GET", "/oauth/authorize").len(), 1);
    let api: Vec<u16> = served(&sandbox, "GET", "/v1/records")
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(api, [200, 200, 200]);
}

#[tokio::test]
async fn auth_custom_example_runs_in_bearer_mode() {
    let sandbox = start(Mode::Bearer, Sandbox::builder().seed_records(5)).await;
    auth_custom::run(sandbox.base_url(), common::TOKEN)
        .await
        .unwrap();
    assert_eq!(served(&sandbox, "POST", "/v1/api-keys").len(), 1);
    // X-API-Key refused, the Bearer key accepted twice, refused once revoked.
    let statuses: Vec<u16> = served(&sandbox, "GET", "/v1/records")
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [401, 200, 200, 401]);
    // The revoked key is gone from the key list.
    let keys: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1/api-keys", sandbox.base_url()))
        .bearer_auth(common::TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["data"], json!([]), "{keys}");
}

/// The custom strategy sends exactly the header it is configured for, and nothing else.
#[tokio::test]
async fn the_custom_api_key_strategy_sends_exactly_its_header() {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/records"))
        .and(header("x-api-key", "key-123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/records"))
        .and(header("authorization", "Bearer key-456"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&server)
        .await;
    for auth in [
        auth_custom::ApiKeyAuth::in_header("x-api-key", "key-123"),
        auth_custom::ApiKeyAuth::as_bearer("key-456"),
    ] {
        assert!(!format!("{auth:?}").contains("key-"), "{auth:?}");
        assert_eq!(auth.scheme(), "api-key");
        let connection = Connection::builder()
            .base_url(server.uri())
            .auth(auth)
            .build()
            .unwrap();
        connection
            .records()
            .list(&Default::default())
            .await
            .unwrap();
    }
    let requests = server.received_requests().await.unwrap();
    assert!(requests[0].headers.get("authorization").is_none());
    assert!(requests[1].headers.get("x-api-key").is_none());
    // An empty key is refused before anything is sent.
    let connection = Connection::builder()
        .base_url(server.uri())
        .auth(auth_custom::ApiKeyAuth::as_bearer(""))
        .build()
        .unwrap();
    let error = connection.validate().await.unwrap_err();
    assert!(matches!(error, Error::Auth(_)), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
