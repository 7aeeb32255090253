//! Property tests: whatever a token endpoint answers (any status, arbitrary bytes, arbitrary
//! JSON, token responses and RFC 6749 error bodies with arbitrary members, a `Location`, a
//! server that echoes the client secret), fetching a token never panics, and its error never
//! shows the client secret.

use std::sync::{Arc, Mutex};

use dbsync_auth::OAuth2Auth;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CLIENT_SECRET: &str = "cs-6d2f-never-shown";

/// A status, a body, and an optional `Location`.
type Reply = (u16, Vec<u8>, Option<String>);

/// The answer of the token endpoint.
#[derive(Clone, Default)]
struct Answer(Arc<Mutex<Reply>>);

impl Respond for Answer {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let (status, body, location) = self.0.lock().unwrap().clone();
        let mut template = ResponseTemplate::new(status).set_body_raw(body, "application/json");
        if let Some(location) = location {
            template = template.insert_header("location", location.as_str());
        }
        template
    }
}

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::String),
        Just(Value::String(CLIENT_SECRET.into())),
        Just(Value::String(format!(
            "bad secret {CLIENT_SECRET}\u{1b}[2J"
        ))),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

/// An object with some of `members`, each usually well-formed, now and then anything.
fn object(members: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let parts: Vec<_> = members
        .into_iter()
        .map(|(key, good)| {
            let value = prop_oneof![6 => good, 1 => json_value()];
            prop::option::weighted(0.8, value.prop_map(move |v| (key.to_owned(), v))).boxed()
        })
        .collect();
    parts
        .prop_map(|parts| Value::Object(parts.into_iter().flatten().collect::<Map<_, _>>()))
        .boxed()
}

fn text(options: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop::sample::select(options).prop_map(Value::from).boxed()
}

fn token_response() -> BoxedStrategy<Value> {
    let count = prop_oneof![
        (0u64..100_000).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(json!(1e300)),
        Just(json!("3600")),
    ]
    .boxed();
    object(vec![
        ("access_token", text(&["at-1", "", " "])),
        ("token_type", text(&["Bearer", "bearer", "mac", ""])),
        ("expires_in", count),
        ("refresh_token", text(&["rt-1", ""])),
        ("scope", text(&["a b", "", "records:read"])),
    ])
}

fn error_response() -> BoxedStrategy<Value> {
    object(vec![
        (
            "error",
            text(&[
                "invalid_client",
                "invalid_grant",
                "unauthorized_client",
                "x",
            ]),
        ),
        ("error_description", json_value()),
        ("error_uri", text(&["https://e.example/%41", "%zz", ""])),
    ])
}

fn answer() -> impl Strategy<Value = Reply> {
    let status = prop::sample::select(
        &[
            200u16, 201, 204, 301, 302, 307, 400, 401, 403, 429, 500, 503,
        ][..],
    );
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        token_response().prop_map(|v| v.to_string().into_bytes()),
        error_response().prop_map(|v| v.to_string().into_bytes()),
        (token_response(), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = v.to_string().into_bytes();
            text[..cut.index(text.len() + 1)].to_vec()
        }),
    ];
    let location = prop::option::of(prop_oneof![
        Just("https://elsewhere.example/token".to_owned()),
        Just(format!(
            "https://u:{CLIENT_SECRET}@x.example/?s={CLIENT_SECRET}"
        )),
        "[ -~]{0,40}",
    ]);
    (status, body, location)
}

#[test]
fn token_responses_of_any_shape_never_panic_nor_show_the_secret() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer_slot = Answer::default();
    let server = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(answer_slot.clone())
            .mount(&server)
            .await;
        server
    });
    let token_url = format!("{}/oauth/token", server.uri());
    let mut runner = TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&answer(), |answer| {
            *answer_slot.0.lock().unwrap() = answer;
            let auth = OAuth2Auth::client_credentials("client-1", CLIENT_SECRET, token_url.clone())
                .build()
                .unwrap();
            if let Err(error) = runtime.block_on(auth.access_token()) {
                let shown = format!("{error}\n{error:?}");
                prop_assert!(!shown.contains(CLIENT_SECRET), "secret shown: {}", shown);
            }
            Ok(())
        })
        .unwrap();
}
