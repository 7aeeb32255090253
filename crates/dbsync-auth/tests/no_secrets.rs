//! No secret reaches Debug, Display, an error message or a log line.

use std::io::Write;
use std::sync::{Arc, Mutex};

use dbsync_auth::{
    Auth, AuthRequest, BasicAuth, BearerAuth, MemoryTokenStore, OAuth2Auth, PendingAuthorization,
    StoredToken,
};
use http::{HeaderMap, Method};
use serde_json::json;
use url::Url;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Every secret used below: none of them may appear in any output.
const SECRETS: &[&str] = &[
    "cs-SECRET-0",
    "pw-SECRET-1",
    "key-SECRET-2",
    "at-SECRET-3",
    "rt-SECRET-4",
    "at-SECRET-5",
    "rt-SECRET-6",
    "code-SECRET-7",
    // base64 of "dbsync-client:cs-SECRET-0", the client's Basic credentials
    "ZGJzeW5jLWNsaWVudDpjcy1TRUNSRVQtMA",
];

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "`{secret}` leaked into {what}: {text}"
        );
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn authorize(auth: &dyn Auth) -> Result<(), dbsync_auth::AuthError> {
    let method = Method::GET;
    let mut url = Url::parse("http://127.0.0.1:1/v1/records").unwrap();
    let mut headers = HeaderMap::new();
    auth.authorize(&mut AuthRequest::new(&method, &mut url, &mut headers))
        .await?;
    // Even the request's own Debug hides the credential (the header is marked sensitive).
    assert_clean("AuthRequest Debug", &format!("{headers:?}"));
    Ok(())
}

#[tokio::test]
async fn no_secret_in_debug_display_errors_or_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    let token_url = format!("{}/oauth/token", server.uri());
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-SECRET-3", "token_type": "Bearer", "expires_in": 3600,
            "refresh_token": "rt-SECRET-4"
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-SECRET-5", "token_type": "Bearer", "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "rt-SECRET-6 is revoked"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client", "error_description": "secret cs-SECRET-0 is wrong"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let store = Arc::new(MemoryTokenStore::new());
    let oauth = OAuth2Auth::client_credentials("dbsync-client", "cs-SECRET-0", &token_url)
        .token_store(store.clone())
        .build()
        .unwrap();
    authorize(&oauth).await.unwrap();
    assert!(oauth.on_unauthorized().await.unwrap());
    authorize(&oauth).await.unwrap();

    let refresh =
        OAuth2Auth::from_refresh_token("dbsync-client", "cs-SECRET-0", &token_url, "rt-SECRET-6")
            .build()
            .unwrap();
    let refresh_error = authorize(&refresh).await.unwrap_err();

    let code = OAuth2Auth::authorization_code(
        "dbsync-client",
        "cs-SECRET-0",
        format!("{}/oauth/authorize", server.uri()),
        &token_url,
        "http://127.0.0.1:8765/callback",
    )
    .build()
    .unwrap();
    let (_, pending) = code.authorize_url().unwrap();
    let code_error = code
        .exchange_code("code-SECRET-7", pending.csrf_state().expose(), &pending)
        .await
        .unwrap_err();
    let pending_debug = format!("{pending:?}");
    assert!(!pending_debug.contains(pending.pkce_verifier().expose()));
    assert!(!pending_debug.contains(pending.csrf_state().expose()));
    let rebuilt = PendingAuthorization::from_parts("state-x", "verifier-SECRET-x");
    assert!(!format!("{rebuilt:?}").contains("SECRET"));

    let basic = BasicAuth::new("demo", "pw-SECRET-1").unwrap();
    let bearer = BearerAuth::new("key-SECRET-2");
    authorize(&basic).await.unwrap();
    authorize(&bearer).await.unwrap();
    let stored: StoredToken = store.get().unwrap();

    let builder =
        OAuth2Auth::from_refresh_token("dbsync-client", "cs-SECRET-0", &token_url, "rt-SECRET-4");
    let everything = format!(
        "{oauth:?} {refresh:?} {code:?} {basic:?} {bearer:?} {stored:?} {builder:?} {store:?} \
         {refresh_error} {refresh_error:?} {code_error} {code_error:?}"
    );
    assert_clean("Debug/Display", &everything);
    // The test would prove nothing if the objects were not what we think they are.
    assert!(refresh_error.is_invalid_grant() && code_error.is_invalid_client());
    assert_eq!(stored.access_token.expose(), "at-SECRET-5");
    assert!(everything.contains("[redacted]"));

    drop(_guard);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("obtained an OAuth 2.0 access token"),
        "{logs}"
    );
    assert!(
        logs.contains("rejected the OAuth 2.0 access token"),
        "{logs}"
    );
    assert!(logs.contains("token request failed"), "{logs}");
    assert_clean("the logs", &logs);
    server.verify().await;
}

#[tokio::test]
async fn a_secret_in_the_token_url_reaches_no_error_or_log() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // A closed port: the token request fails to connect, and the error names the endpoint.
    let in_query = OAuth2Auth::client_credentials(
        "dbsync-client",
        "cs-SECRET-0",
        "http://127.0.0.1:1/oauth/token?api_key=key-SECRET-2#at-SECRET-3",
    )
    .build()
    .unwrap();
    let shown = format!("{in_query:?}");
    assert!(shown.contains("127.0.0.1:1/oauth/token"), "{shown}");
    assert_clean("the strategy's Debug", &shown);
    let builders = [
        OAuth2Auth::client_credentials(
            "dbsync-client",
            "cs-SECRET-0",
            "https://user:pw-SECRET-1@example.com/oauth/token?api_key=key-SECRET-2#at-SECRET-3",
        )
        .http_client(
            reqwest::Client::builder()
                .default_headers(
                    [(
                        reqwest::header::HeaderName::from_static("x-api-key"),
                        reqwest::header::HeaderValue::from_static("key-SECRET-2"),
                    )]
                    .into_iter()
                    .collect(),
                )
                .build()
                .unwrap(),
        ),
        OAuth2Auth::from_refresh_token(
            "dbsync-client",
            "cs-SECRET-0",
            "https://example.com/oauth/token?api_key=key-SECRET-2",
            "rt-SECRET-4",
        ),
        OAuth2Auth::authorization_code(
            "dbsync-client",
            "cs-SECRET-0",
            "https://example.com/authorize?api_key=key-SECRET-2",
            "https://example.com/oauth/token",
            "http://127.0.0.1:9/callback#at-SECRET-3",
        ),
    ];
    for builder in &builders {
        let shown = format!("{builder:?}");
        assert!(shown.contains("example.com/oauth/token"), "{shown}");
        assert_clean("a builder's Debug", &shown);
    }
    let error = authorize(&in_query).await.unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("127.0.0.1:1/oauth/token"), "{shown}");
    assert_clean("an unreachable token endpoint's error", &shown);

    // A URL that does not parse is refused without echoing it.
    let malformed = OAuth2Auth::client_credentials(
        "dbsync-client",
        "cs-SECRET-0",
        "https://user:pw-SECRET-1@exa mple.com/oauth/token",
    )
    .build()
    .unwrap_err();
    let shown = format!("{malformed} {malformed:?}");
    assert!(shown.contains("token_url"), "{shown}");
    assert_clean("a malformed token_url's error", &shown);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_clean("the logs", &logs);
}
