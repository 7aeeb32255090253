//! Property tests: whatever a server answers (arbitrary bytes, arbitrary JSON, JSON shaped like
//! the contract's error bodies, pages, batch responses and schemas with arbitrary members), the
//! client's parsing never panics, through its public API; and settings JSON of any text or
//! value never makes it panic either. One wiremock server serves the case's answer.

use std::sync::{Arc, Mutex};

use dbsync_client::{Connection, ConnectionSettings, PageFormat, Query, RetryPolicy};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Cases per property: enough to find the odd shape, few enough to run in seconds.
const CASES: u32 = 128;

/// The answer the server gives to every request: a status and raw body bytes.
#[derive(Clone, Default)]
struct Answer(Arc<Mutex<(u16, Vec<u8>)>>);

impl Answer {
    fn set(&self, status: u16, body: Vec<u8>) {
        *self.0.lock().unwrap() = (status, body);
    }
}

impl Respond for Answer {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let (status, body) = self.0.lock().unwrap().clone();
        ResponseTemplate::new(status).set_body_raw(body, "application/json")
    }
}

/// A runtime, a server answering with [`Answer`], and connections to it without retries.
struct Harness {
    runtime: tokio::runtime::Runtime,
    answer: Answer,
    server: MockServer,
}

impl Harness {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let answer = Answer::default();
        let server = runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(answer.clone())
                .mount(&server)
                .await;
            server
        });
        Self {
            runtime,
            answer,
            server,
        }
    }

    fn connection(&self, format: PageFormat) -> Connection {
        Connection::builder()
            .base_url(self.server.uri())
            .retry(RetryPolicy::none())
            .page_format(format)
            .build()
            .unwrap()
    }
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0u64..12).prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!(1e300)),
        Just(json!(-0.0)),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        "\\PC{0,12}".prop_map(Value::String),
        Just(Value::String("\u{1b}]0;x\u{7}\u{0}\u{9b}".into())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

/// An object with each of `members` usually present (`required` ones always), its value
/// usually the member's own (well-formed) strategy and now and then anything, plus now and
/// then an unknown member.
fn object_with(
    required: Vec<(&'static str, BoxedStrategy<Value>)>,
    members: Vec<(&'static str, BoxedStrategy<Value>)>,
) -> BoxedStrategy<Value> {
    let member = |key: &'static str, good: BoxedStrategy<Value>| {
        prop_oneof![12 => good, 1 => json_value()].prop_map(move |v| (key.to_owned(), v))
    };
    let required: Vec<_> = required
        .into_iter()
        .map(|(key, good)| member(key, good).prop_map(Some).boxed())
        .collect();
    let optional: Vec<_> = members
        .into_iter()
        .map(|(key, good)| prop::option::weighted(0.7, member(key, good)).boxed())
        .collect();
    let extra = prop::option::weighted(0.05, ("\\PC{0,6}", json_value()));
    (required, optional, extra)
        .prop_map(|(required, optional, extra)| {
            let members = required.into_iter().chain(optional).flatten().chain(extra);
            Value::Object(members.collect::<Map<_, _>>())
        })
        .boxed()
}

/// [`object_with`] without required members.
fn object(members: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    object_with(Vec::new(), members)
}

fn text(options: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop::sample::select(options).prop_map(Value::from).boxed()
}

/// A body: arbitrary bytes, arbitrary JSON, or `shape` (as JSON text, maybe cut short).
fn body(shape: BoxedStrategy<Value>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..200),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        4 => shape.clone().prop_map(|v| v.to_string().into_bytes()),
        1 => (shape, any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = v.to_string().into_bytes();
            let end = cut.index(text.len() + 1);
            text[..end].to_vec()
        }),
    ]
}

fn error_body() -> BoxedStrategy<Value> {
    let detail = object(vec![
        ("field", text(&["email", "a.b", ""])),
        ("code", text(&["required", "invalid_type", "x"])),
        ("message", json_value()),
    ]);
    let error = object(vec![
        (
            "code",
            text(&["validation_error", "not_found", "insufficient_scope"]),
        ),
        ("message", json_value()),
        (
            "details",
            prop::collection::vec(detail, 0..4)
                .prop_map(Value::Array)
                .boxed(),
        ),
        ("request_id", json_value()),
    ]);
    object(vec![("error", error)])
}

fn records(max: usize) -> BoxedStrategy<Value> {
    let record = prop_oneof![
        4 => object(vec![("id", prop_oneof![number(), text(&["r1", "r2", ""])].boxed())]),
        1 => json_value(),
    ];
    prop::collection::vec(record, 0..max)
        .prop_map(Value::Array)
        .boxed()
}

fn page_body() -> BoxedStrategy<Value> {
    let meta = object(vec![
        ("limit", number()),
        ("offset", number()),
        ("total", number()),
    ]);
    let page = object(vec![
        ("data", records(24)),
        ("items", records(24)),
        ("meta", meta),
    ]);
    prop_oneof![3 => page, 1 => records(24)].boxed()
}

fn batch_body() -> BoxedStrategy<Value> {
    let error = object(vec![
        ("code", text(&["validation_error", "conflict"])),
        ("message", json_value()),
        ("details", json_value()),
    ]);
    let index = prop_oneof![8 => (0u64..3).prop_map(Value::from), 1 => number()].boxed();
    let status = prop::sample::select(&[200u16, 201, 201, 400, 409, 500, 0, 999][..])
        .prop_map(Value::from)
        .boxed();
    let data = object(vec![("id", text(&["r1", "r2"])), ("n", number())]);
    let item = object_with(
        vec![("index", index), ("status", status)],
        vec![("data", data), ("error", error)],
    );
    let results = prop::collection::vec(item, 0..8)
        .prop_map(Value::Array)
        .boxed();
    object_with(vec![("results", results)], Vec::new())
}

fn schema_body() -> BoxedStrategy<Value> {
    let kind = text(&[
        "string", "integer", "number", "boolean", "date", "datetime", "object", "array",
    ]);
    let flag = any::<bool>().prop_map(Value::Bool).boxed();
    let field = object_with(
        vec![("name", text(&["email", "n", "a_b"])), ("type", kind)],
        vec![
            ("required", flag.clone()),
            ("nullable", flag),
            ("min", number()),
            ("max_length", (0u64..30).prop_map(Value::from).boxed()),
            ("pattern", text(&["^[a-z]+$", "(a+)+$", "\\p{L}{1000}"])),
            (
                "enum",
                prop::collection::vec(json_value(), 0..3)
                    .prop_map(Value::Array)
                    .boxed(),
            ),
            ("format", text(&["email", "url", "uuid"])),
            ("label", json_value()),
        ],
    );
    let fields = prop::collection::vec(field, 0..6)
        .prop_map(Value::Array)
        .boxed();
    object_with(
        vec![("fields", fields)],
        vec![
            (
                "additional_fields",
                any::<bool>().prop_map(Value::Bool).boxed(),
            ),
            ("description", json_value()),
        ],
    )
}

#[test]
fn error_bodies_of_any_shape_become_an_error_without_panicking() {
    let harness = Harness::start();
    let records = harness.connection(PageFormat::default()).records();
    let statuses = prop::sample::select(&[400u16, 401, 403, 404, 409, 413, 422, 429, 500, 503][..]);
    runner()
        .run(&(statuses, body(error_body())), |(status, body)| {
            harness.answer.set(status, body);
            let result = harness.runtime.block_on(records.get("1"));
            prop_assert!(result.is_err(), "{status} was taken as a success");
            // Its messages are made without panicking too.
            let error = result.unwrap_err();
            let _ = (error.to_string(), format!("{error:?}"));
            Ok(())
        })
        .unwrap();
}

#[test]
fn pages_of_any_shape_never_panic() {
    let harness = Harness::start();
    let formats = [
        PageFormat::default(),
        PageFormat::records_under("items"),
        PageFormat::BareArray,
    ];
    let connections: Vec<Connection> = formats
        .iter()
        .map(|f| harness.connection(f.clone()))
        .collect();
    runner()
        .run(
            &(0..connections.len(), body(page_body()), 1u32..20),
            |(which, body, limit)| {
                harness.answer.set(200, body);
                let records = connections[which].records();
                let query = Query::new().limit(limit);
                if let Ok(page) = harness.runtime.block_on(records.list(&query)) {
                    // A page never holds more records than asked for.
                    prop_assert!(page.data.len() <= limit as usize);
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn batch_responses_of_any_shape_never_panic_and_keep_one_outcome_per_record() {
    let harness = Harness::start();
    let records = harness.connection(PageFormat::default()).records();
    let statuses = prop_oneof![
        6 => prop::sample::select(&[200u16, 201][..]),
        1 => prop::sample::select(&[207u16, 400, 409, 500][..]),
    ];
    runner()
        .run(
            &(statuses, body(batch_body()), 1usize..4),
            |(status, body, count)| {
                harness.answer.set(status, body);
                let input: Vec<Value> = (0..count).map(|i| json!({ "n": i })).collect();
                let outcomes = harness
                    .runtime
                    .block_on(records.create_batch_with_key(&input, "key-1"));
                prop_assert_eq!(outcomes.len(), count);
                let mut indexes: Vec<usize> = outcomes.iter().map(|o| o.index).collect();
                indexes.sort_unstable();
                prop_assert_eq!(indexes, (0..count).collect::<Vec<_>>());
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn server_schemas_of_any_shape_never_panic() {
    let harness = Harness::start();
    let records = harness.connection(PageFormat::default()).records();
    runner()
        .run(&body(schema_body()), |body| {
            harness.answer.set(200, body);
            let _ = harness.runtime.block_on(records.schema());
            Ok(())
        })
        .unwrap();
}

fn settings_value() -> BoxedStrategy<Value> {
    let secret = text(&["s3cret", "${DBSYNC_SECRET}", "${HOME}"]);
    let auth = prop_oneof![
        object_with(vec![("type", text(&["none"]))], Vec::new()),
        object_with(
            vec![("type", text(&["basic"]))],
            vec![
                ("username", text(&["alice", "${DBSYNC_USER}"])),
                ("password", secret.clone()),
            ],
        ),
        object_with(
            vec![("type", text(&["bearer"]))],
            vec![("token", secret.clone())]
        ),
        object_with(
            vec![("type", text(&["oauth2"]))],
            vec![
                ("client_id", text(&["c1"])),
                ("client_secret", secret),
                ("scopes", text(&["a b", ""])),
                (
                    "token_url",
                    text(&["http://127.0.0.1:9/t", "${DBSYNC_URL}"])
                ),
            ],
        ),
    ]
    .boxed();
    let count = prop_oneof![8 => (0u64..100).prop_map(Value::from), 1 => number()].boxed();
    let retry = object(vec![
        ("max_retries", count.clone()),
        ("initial_backoff_ms", count.clone()),
        ("max_backoff_ms", count.clone()),
        ("max_retry_after_secs", count.clone()),
        ("max_rate_limit_wait_secs", count.clone()),
        ("call_deadline_secs", count.clone()),
    ]);
    let flag = any::<bool>().prop_map(Value::Bool).boxed();
    let pagination = object(vec![
        ("records_key", text(&["items"])),
        ("bare_array", flag.clone()),
    ]);
    object_with(
        vec![(
            "api_url",
            text(&["http://127.0.0.1:9", "${DBSYNC_API_URL}"]),
        )],
        vec![
            ("name", text(&["crm"])),
            ("auth", auth),
            ("timeout_secs", count.clone()),
            ("connect_timeout_secs", count.clone()),
            ("pool_idle_timeout_secs", count.clone()),
            ("retry", retry),
            (
                "rate_limit",
                object(vec![("requests_per_minute", count.clone())]),
            ),
            ("allow_insecure_http", flag),
            ("user_agent", text(&["ua/1", "${DBSYNC_UA}"])),
            ("pagination", pagination),
            ("validate_resource", text(&["records", "contacts"])),
            ("max_response_bytes", count),
        ],
    )
}

#[test]
fn settings_of_any_text_or_value_never_panic() {
    let env = |name: &str| {
        name.starts_with("DBSYNC_")
            .then(|| "http://127.0.0.1:9".to_owned())
    };
    runner()
        .run(&body(settings_value()), |bytes| {
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(settings) = ConnectionSettings::from_json(&text) {
                let _ = settings.to_json(true);
                let _ = settings.connect_with_env(&env);
            }
            Ok(())
        })
        .unwrap();
    runner()
        .run(&settings_value(), |value| {
            if let Ok(settings) = ConnectionSettings::from_json_value(&value) {
                // What is written back reads back the same.
                let (written, _) = settings.to_json(true);
                prop_assert_eq!(
                    ConnectionSettings::from_json_value(&written).ok(),
                    Some(settings.clone())
                );
                let _ = settings.connect_with_env(&env);
            }
            Ok(())
        })
        .unwrap();
}
