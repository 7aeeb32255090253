//! OAuth2Auth against a wiremock token endpoint: the token request on the wire, caching,
//! single-flight renewal, renewal before expiry, 401 handling, rotation, the token store, PKCE,
//! token-endpoint errors and redirects.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dbsync_auth::{
    Auth, AuthError, AuthRequest, FileTokenStore, MemoryTokenStore, OAuth2Auth, OAuth2AuthBuilder,
    Secret, StoredToken, TokenStore,
};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CLIENT_ID: &str = "dbsync-client";
const CLIENT_SECRET: &str = "cs-SECRET-0";
/// `base64("dbsync-client:cs-SECRET-0")`.
const CLIENT_BASIC: &str = "Basic ZGJzeW5jLWNsaWVudDpjcy1TRUNSRVQtMA==";

fn token_url(server: &MockServer) -> String {
    format!("{}/oauth/token", server.uri())
}

fn client_credentials(server: &MockServer) -> OAuth2AuthBuilder {
    OAuth2Auth::client_credentials(CLIENT_ID, CLIENT_SECRET, token_url(server))
}

fn token_body(access: &str, expires_in: Option<u64>, refresh: Option<&str>) -> Value {
    let mut body = json!({"access_token": access, "token_type": "Bearer"});
    if let Some(expires_in) = expires_in {
        body["expires_in"] = json!(expires_in);
    }
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    body
}

/// A token endpoint mock: `POST /oauth/token` with the client's Basic credentials.
fn token_endpoint() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("authorization", CLIENT_BASIC))
        .and(header("content-type", "application/x-www-form-urlencoded"))
}

fn issue(access: &str, expires_in: Option<u64>, refresh: Option<&str>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(token_body(access, expires_in, refresh))
}

/// The `Authorization` header `auth` puts on a fresh request.
async fn authorization(auth: &dyn Auth) -> Result<String, AuthError> {
    let method = Method::GET;
    let mut url = Url::parse("http://127.0.0.1:1/v1/records").unwrap();
    let mut headers = HeaderMap::new();
    auth.authorize(&mut AuthRequest::new(&method, &mut url, &mut headers))
        .await?;
    Ok(headers["authorization"].to_str().unwrap().to_owned())
}

fn sent_with(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    headers
}

/// The form fields of a received request.
fn form(request: &Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn token_requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/oauth/token")
        .collect()
}

/// Moves tokio's clock forward with no request in flight (a paused clock would otherwise fire
/// the HTTP timeouts of requests waiting on real sockets).
async fn pass(duration: Duration) {
    tokio::time::pause();
    tokio::time::advance(duration).await;
    tokio::time::resume();
}

// --- the token request on the wire -------------------------------------------------------------

#[tokio::test]
async fn client_credentials_is_a_form_post_with_basic_client_auth_and_scopes() {
    let server = MockServer::start().await;
    token_endpoint()
        .and(header("accept", "application/json"))
        .respond_with(issue("at-1", Some(3600), None))
        .expect(1)
        .mount(&server)
        .await;
    let auth = client_credentials(&server)
        .scopes(["records:read", "records:write"])
        .build()
        .unwrap();

    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    // Cached: a second request needs no token request.
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");

    let requests = token_requests(&server).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(
        form(&requests[0]),
        fields(&[
            ("grant_type", "client_credentials"),
            ("scope", "records:read records:write"),
        ])
    );
    assert_eq!(auth.scheme(), "oauth2");
    assert_eq!(auth.grant(), "client_credentials");
}

#[tokio::test]
async fn an_empty_client_secret_makes_a_public_client_that_sends_its_id_in_the_form() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(issue("at-1", None, None))
        .expect(1)
        .mount(&server)
        .await;
    let auth = OAuth2Auth::client_credentials(CLIENT_ID, "", token_url(&server))
        .build()
        .unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    let requests = token_requests(&server).await;
    assert!(requests[0].headers.get("authorization").is_none());
    assert_eq!(
        form(&requests[0]),
        fields(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID)
        ])
    );
}

// --- single flight -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_without_a_token_make_one_token_request() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-1", Some(3600), None))
        .expect(1)
        .mount(&server)
        .await;
    let auth = client_credentials(&server).build().unwrap();

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let auth = auth.clone();
        tasks.spawn(async move { authorization(&auth).await });
    }
    let mut headers = Vec::new();
    while let Some(result) = tasks.join_next().await {
        headers.push(result.unwrap().unwrap());
    }
    assert_eq!(headers.len(), 50);
    assert!(headers.iter().all(|h| h == "Bearer at-1"));
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_401s_for_the_same_token_cause_one_refresh() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-1", Some(3600), None))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_endpoint()
        .respond_with(issue("at-2", Some(3600), None))
        .expect(1)
        .mount(&server)
        .await;
    let auth = client_credentials(&server).build().unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let auth = auth.clone();
        tasks.spawn(async move { auth.on_unauthorized_for(&sent_with("at-1")).await });
    }
    while let Some(result) = tasks.join_next().await {
        assert!(
            result.unwrap().unwrap(),
            "every rejected request may retry once"
        );
    }
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-2");
    server.verify().await;
}

// --- expiry ------------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_is_renewed_a_little_before_it_expires_and_every_call_uses_the_newest() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-1", Some(3600), None))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_endpoint()
        .respond_with(issue("at-2", Some(3600), None))
        .expect(1)
        .mount(&server)
        .await;
    let auth = client_credentials(&server)
        .refresh_buffer(Duration::from_secs(30))
        .build()
        .unwrap();

    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    pass(Duration::from_secs(3569)).await;
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    assert_eq!(token_requests(&server).await.len(), 1);

    // 30 s before expiry: renewed without waiting for the server to reject it.
    pass(Duration::from_secs(2)).await;
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-2");
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-2");
    server.verify().await;
}

#[tokio::test]
async fn a_short_lived_token_is_used_for_half_its_lifetime() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-1", Some(40), None))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_endpoint()
        .respond_with(issue("at-2", Some(40), None))
        .expect(1)
        .mount(&server)
        .await;
    let auth = client_credentials(&server).build().unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    pass(Duration::from_secs(19)).await;
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    pass(Duration::from_secs(2)).await;
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-2");
}

#[tokio::test]
async fn a_token_without_expires_in_is_kept_until_a_401() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-1", None, None))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_endpoint()
        .respond_with(issue("at-2", None, None))
        .expect(1)
        .mount(&server)
        .await;
    let auth = client_credentials(&server).build().unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    pass(Duration::from_secs(365 * 24 * 3600)).await;
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    assert!(auth.on_unauthorized().await.unwrap());
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-2");
}

#[tokio::test]
async fn absurd_expiry_values_do_not_break_the_cache() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-1", Some(u64::MAX), None))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::new());
    let auth = client_credentials(&server)
        .token_store(store.clone())
        .build()
        .unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");

    // A store holding a token that expires in the far future.
    let far = serde_json::from_value::<StoredToken>(json!({
        "access_token": "at-far", "expires_at": u64::MAX
    }))
    .unwrap();
    let auth = client_credentials(&server)
        .token_store(Arc::new(MemoryTokenStore::with_token(far)))
        .build()
        .unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-far");
    let near = StoredToken {
        access_token: Secret::new("at-near"),
        refresh_token: None,
        expires_at: SystemTime::now().checked_add(Duration::from_secs(u64::MAX / 4)),
        scopes: vec![],
    };
    let auth = client_credentials(&server)
        .token_store(Arc::new(MemoryTokenStore::with_token(near)))
        .build()
        .unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-near");
    server.verify().await;
}

// --- 401 -----------------------------------------------------------------------------------------

#[tokio::test]
async fn on_unauthorized_renews_once_and_the_next_call_uses_the_new_token() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-1", Some(3600), None))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_endpoint()
        .respond_with(issue("at-2", Some(3600), None))
        .expect(1)
        .mount(&server)
        .await;
    let auth = client_credentials(&server).build().unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    assert!(auth.on_unauthorized().await.unwrap());
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-2");

    // A late 401 for the old token: the new one is already there, so retry without renewing.
    assert!(auth.on_unauthorized_for(&sent_with("at-1")).await.unwrap());
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-2");
    server.verify().await;
}

#[tokio::test]
async fn on_unauthorized_says_no_retry_when_the_server_hands_out_the_same_token() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-1", Some(3600), None))
        .expect(2)
        .mount(&server)
        .await;
    let auth = client_credentials(&server).build().unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    assert!(!auth.on_unauthorized().await.unwrap());
}

// --- refresh tokens and the store ----------------------------------------------------------------

#[tokio::test]
async fn a_rotated_refresh_token_is_kept_saved_and_used_next_time() {
    let server = MockServer::start().await;
    token_endpoint()
        .and(body_string_contains("refresh_token=rt-1"))
        .respond_with(issue("at-1", Some(3600), Some("rt-2")))
        .expect(1)
        .mount(&server)
        .await;
    token_endpoint()
        .and(body_string_contains("refresh_token=rt-2"))
        .respond_with(issue("at-2", Some(3600), Some("rt-3")))
        .expect(1)
        .mount(&server)
        .await;
    // A server that rotates may also answer without a new refresh token: the last one is kept.
    token_endpoint()
        .and(body_string_contains("refresh_token=rt-3"))
        .respond_with(issue("at-3", Some(3600), None))
        .expect(2)
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::new());
    let auth = OAuth2Auth::from_refresh_token(CLIENT_ID, CLIENT_SECRET, token_url(&server), "rt-1")
        .token_store(store.clone())
        .build()
        .unwrap();

    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    let saved = store.get().unwrap();
    assert_eq!(saved.access_token.expose(), "at-1");
    assert_eq!(saved.refresh_token.as_ref().unwrap().expose(), "rt-2");
    assert!(saved.expires_at.unwrap() > SystemTime::now() + Duration::from_secs(3500));

    assert!(auth.on_unauthorized().await.unwrap());
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-2");
    assert_eq!(store.get().unwrap().refresh_token.unwrap().expose(), "rt-3");

    assert!(auth.on_unauthorized().await.unwrap());
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-3");
    assert_eq!(store.get().unwrap().refresh_token.unwrap().expose(), "rt-3");
    assert!(!auth.on_unauthorized().await.unwrap(), "same token again");

    let requests = token_requests(&server).await;
    assert_eq!(
        form(&requests[0]),
        fields(&[("grant_type", "refresh_token"), ("refresh_token", "rt-1")])
    );
    server.verify().await;
}

#[tokio::test]
async fn a_caller_that_gives_up_mid_refresh_does_not_lose_the_rotated_refresh_token() {
    let server = MockServer::start().await;
    token_endpoint()
        .and(body_string_contains("refresh_token=rt-1"))
        .respond_with(issue("at-1", Some(3600), Some("rt-2")).set_delay(Duration::from_secs(2)))
        .expect(1)
        .mount(&server)
        .await;
    token_endpoint()
        .and(body_string_contains("refresh_token=rt-2"))
        .respond_with(issue("at-2", Some(3600), Some("rt-3")))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::new());
    let auth = OAuth2Auth::from_refresh_token(CLIENT_ID, CLIENT_SECRET, token_url(&server), "rt-1")
        .token_store(store.clone())
        .build()
        .unwrap();

    // The caller is dropped (say, by its own timeout) once the token request reached the server.
    let request_arrived = async {
        while token_requests(&server).await.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        _ = authorization(&auth) => panic!("the slow token endpoint answered too early"),
        () = request_arrived => {}
    }

    // The refresh went on: the next caller gets its token, and the rotated refresh token is kept.
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    assert_eq!(store.get().unwrap().refresh_token.unwrap().expose(), "rt-2");
    assert!(auth.on_unauthorized().await.unwrap());
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-2");
    server.verify().await;
}

#[tokio::test]
async fn a_fresh_token_in_the_store_is_used_without_a_token_request() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-new", Some(3600), None))
        .expect(0)
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::with_token(StoredToken {
        access_token: Secret::new("at-stored"),
        refresh_token: None,
        expires_at: Some(SystemTime::now() + Duration::from_secs(3600)),
        scopes: vec![],
    }));
    let auth = client_credentials(&server)
        .token_store(store)
        .build()
        .unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-stored");
}

#[tokio::test]
async fn after_a_401_a_newer_token_in_the_store_is_used_without_a_token_request() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-1", Some(3600), Some("rt-2")))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::new());
    let auth = OAuth2Auth::from_refresh_token(CLIENT_ID, CLIENT_SECRET, token_url(&server), "rt-1")
        .token_store(store.clone())
        .build()
        .unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");

    // Another process refreshed meanwhile (and rotated the refresh token).
    store.set(Some(StoredToken {
        access_token: Secret::new("at-other-process"),
        refresh_token: Some(Secret::new("rt-3")),
        expires_at: Some(SystemTime::now() + Duration::from_secs(3600)),
        scopes: vec![],
    }));
    assert!(auth.on_unauthorized_for(&sent_with("at-1")).await.unwrap());
    assert_eq!(
        authorization(&auth).await.unwrap(),
        "Bearer at-other-process"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_refresh_uses_the_newest_refresh_token_from_the_store() {
    let server = MockServer::start().await;
    token_endpoint()
        .and(body_string_contains("refresh_token=rt-from-store"))
        .respond_with(issue("at-2", Some(3600), Some("rt-next")))
        .expect(1)
        .mount(&server)
        .await;
    // The expired access token and the rotated refresh token another process left behind.
    let store = Arc::new(MemoryTokenStore::with_token(StoredToken {
        access_token: Secret::new("at-expired"),
        refresh_token: Some(Secret::new("rt-from-store")),
        expires_at: Some(SystemTime::now() - Duration::from_secs(1)),
        scopes: vec![],
    }));
    let auth = OAuth2Auth::from_refresh_token(
        CLIENT_ID,
        CLIENT_SECRET,
        token_url(&server),
        "rt-dead-since-rotated",
    )
    .token_store(store.clone())
    .build()
    .unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-2");
    assert_eq!(
        store.get().unwrap().refresh_token.unwrap().expose(),
        "rt-next"
    );
}

#[tokio::test]
async fn a_file_store_carries_the_token_to_a_new_process() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dbsync-token.json");
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-1", "token_type": "bearer", "expires_in": 3600,
            "scope": "records:read"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let first = client_credentials(&server)
        .scopes(["records:read"])
        .token_store(Arc::new(FileTokenStore::new(&file)))
        .build()
        .unwrap();
    assert_eq!(authorization(&first).await.unwrap(), "Bearer at-1");

    let saved = FileTokenStore::new(&file).load().await.unwrap().unwrap();
    assert_eq!(saved.scopes, vec!["records:read".to_owned()]);
    let restarted = client_credentials(&server)
        .token_store(Arc::new(FileTokenStore::new(&file)))
        .build()
        .unwrap();
    assert_eq!(authorization(&restarted).await.unwrap(), "Bearer at-1");
    server.verify().await;
}

#[tokio::test]
async fn a_failing_store_does_not_lose_a_good_token() {
    #[derive(Debug)]
    struct ReadOnly;
    #[async_trait::async_trait]
    impl TokenStore for ReadOnly {
        async fn load(&self) -> Result<Option<StoredToken>, AuthError> {
            Ok(None)
        }
        async fn save(&self, _: &StoredToken) -> Result<(), AuthError> {
            Err(AuthError::token_store("read-only"))
        }
    }
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-1", Some(3600), None))
        .expect(1)
        .mount(&server)
        .await;
    let auth = client_credentials(&server)
        .token_store(Arc::new(ReadOnly))
        .build()
        .unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
}

#[tokio::test]
async fn an_unreadable_store_is_an_error_before_any_token_request() {
    #[derive(Debug)]
    struct Broken;
    #[async_trait::async_trait]
    impl TokenStore for Broken {
        async fn load(&self) -> Result<Option<StoredToken>, AuthError> {
            Err(AuthError::token_store("disk on fire"))
        }
        async fn save(&self, _: &StoredToken) -> Result<(), AuthError> {
            Ok(())
        }
    }
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-1", Some(3600), None))
        .expect(0)
        .mount(&server)
        .await;
    let auth = client_credentials(&server)
        .token_store(Arc::new(Broken))
        .build()
        .unwrap();
    let error = authorization(&auth).await.unwrap_err();
    assert!(matches!(error, AuthError::TokenStore(_)), "{error:?}");
}

// --- authorization code with PKCE ----------------------------------------------------------------

fn code_flow(server: &MockServer) -> OAuth2Auth {
    OAuth2Auth::authorization_code(
        CLIENT_ID,
        CLIENT_SECRET,
        format!("{}/oauth/authorize", server.uri()),
        token_url(server),
        "http://127.0.0.1:8765/callback",
    )
    .scopes(["records:read"])
    .build()
    .unwrap()
}

#[tokio::test]
async fn the_authorize_url_carries_state_and_an_s256_pkce_challenge() {
    let server = MockServer::start().await;
    let auth = code_flow(&server);
    let (url, pending) = auth.authorize_url().unwrap();
    assert_eq!(url.path(), "/oauth/authorize");
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    let challenge = oauth2::PkceCodeChallenge::from_code_verifier_sha256(
        &oauth2::PkceCodeVerifier::new(pending.pkce_verifier().expose().to_owned()),
    );
    assert_eq!(
        query,
        fields(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", "http://127.0.0.1:8765/callback"),
            ("scope", "records:read"),
            ("state", pending.csrf_state().expose()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
    );
    assert!(pending.pkce_verifier().expose().len() >= 43);
    // Every login gets its own state and verifier.
    let (_, other) = auth.authorize_url().unwrap();
    assert_ne!(other.csrf_state(), pending.csrf_state());
    assert_ne!(other.pkce_verifier(), pending.pkce_verifier());
}

#[tokio::test]
async fn the_code_exchange_sends_code_and_verifier_then_refreshes_with_the_refresh_token() {
    let server = MockServer::start().await;
    token_endpoint()
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(issue("at-1", Some(3600), Some("rt-1")))
        .expect(1)
        .mount(&server)
        .await;
    token_endpoint()
        .and(body_string_contains("refresh_token=rt-1"))
        .respond_with(issue("at-2", Some(3600), Some("rt-2")))
        .expect(1)
        .mount(&server)
        .await;
    let auth = code_flow(&server);
    let (_, pending) = auth.authorize_url().unwrap();

    // Before the exchange there is nothing to authorize with.
    let error = authorization(&auth).await.unwrap_err();
    assert!(
        matches!(error, AuthError::AuthorizationRequired(_)),
        "{error:?}"
    );
    assert!(error.to_string().contains("exchange_code"), "{error}");
    assert!(!auth.on_unauthorized().await.unwrap());

    auth.exchange_code("code-1", pending.csrf_state().expose(), &pending)
        .await
        .unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    assert!(auth.on_unauthorized().await.unwrap());
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-2");

    let requests = token_requests(&server).await;
    assert_eq!(
        form(&requests[0]),
        fields(&[
            ("grant_type", "authorization_code"),
            ("code", "code-1"),
            ("code_verifier", pending.pkce_verifier().expose()),
            ("redirect_uri", "http://127.0.0.1:8765/callback"),
        ])
    );
    assert_eq!(
        form(&requests[1]),
        fields(&[("grant_type", "refresh_token"), ("refresh_token", "rt-1")])
    );
    server.verify().await;
}

#[tokio::test]
async fn a_wrong_state_is_refused_before_any_token_request() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-1", Some(3600), None))
        .expect(0)
        .mount(&server)
        .await;
    let auth = code_flow(&server);
    let (_, pending) = auth.authorize_url().unwrap();
    let error = auth
        .exchange_code("code-1", "forged-state", &pending)
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::StateMismatch), "{error:?}");
}

#[tokio::test]
async fn the_redirect_url_is_read_for_code_state_and_errors() {
    let server = MockServer::start().await;
    token_endpoint()
        .and(body_string_contains("code=code-2"))
        .respond_with(issue("at-1", Some(3600), Some("rt-1")))
        .expect(1)
        .mount(&server)
        .await;
    let auth = code_flow(&server);
    let (_, pending) = auth.authorize_url().unwrap();
    let state = pending.csrf_state().expose().to_owned();
    let callback =
        |query: &str| Url::parse(&format!("http://127.0.0.1:8765/callback?{query}")).unwrap();

    let denied = callback(&format!(
        "error=access_denied&error_description=User+said+no&state={state}"
    ));
    let error = auth.exchange_redirect(&denied, &pending).await.unwrap_err();
    assert!(
        matches!(error, AuthError::AuthorizationRequired(_)),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("`access_denied`: User said no"),
        "{error}"
    );
    assert!(error.to_string().contains("declined"), "{error}");

    let forged = callback("code=code-2&state=other");
    let error = auth.exchange_redirect(&forged, &pending).await.unwrap_err();
    assert!(matches!(error, AuthError::StateMismatch), "{error:?}");
    let stateless = callback("code=code-2");
    let error = auth
        .exchange_redirect(&stateless, &pending)
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::StateMismatch), "{error:?}");

    let good = callback(&format!("code=code-2&state={state}"));
    auth.exchange_redirect(&good, &pending).await.unwrap();
    assert_eq!(authorization(&auth).await.unwrap(), "Bearer at-1");
    server.verify().await;
}

#[tokio::test]
async fn authorize_url_needs_the_code_grant() {
    let server = MockServer::start().await;
    let auth = client_credentials(&server).build().unwrap();
    let error = auth.authorize_url().unwrap_err();
    assert!(error.to_string().contains("authorization_code"), "{error}");
}

// --- token-endpoint errors -----------------------------------------------------------------------

/// Checks that nothing secret reaches an error's Display or Debug.
fn assert_no_secret(error: &AuthError) {
    let text = format!("{error} {error:?}");
    for secret in [
        CLIENT_SECRET,
        "rt-SECRET",
        "at-SECRET",
        "ZGJzeW5j",
        "code-SECRET",
    ] {
        assert!(!text.contains(secret), "`{secret}` leaked into: {text}");
    }
}

#[tokio::test]
async fn invalid_client_says_to_check_the_client_credentials() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "Client authentication failed for secret cs-SECRET-0"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let auth = client_credentials(&server).build().unwrap();
    let error = authorization(&auth).await.unwrap_err();
    assert!(error.is_invalid_client(), "{error:?}");
    assert_eq!(error.oauth_error(), Some("invalid_client"));
    assert_eq!(error.status(), Some(401));
    assert!(!error.is_retryable());
    assert!(error.needs_user_action());
    let message = error.to_string();
    assert!(message.contains("client_id and client_secret"), "{message}");
    assert!(message.contains("client_credentials grant"), "{message}");
    assert!(
        message.contains("Client authentication failed for secret [redacted]"),
        "{message}"
    );
    assert_no_secret(&error);
}

#[tokio::test]
async fn invalid_grant_on_refresh_says_to_authorize_again() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "refresh token rt-SECRET-1 was already used"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let auth =
        OAuth2Auth::from_refresh_token(CLIENT_ID, CLIENT_SECRET, token_url(&server), "rt-SECRET-1")
            .build()
            .unwrap();
    let error = authorization(&auth).await.unwrap_err();
    assert!(error.is_invalid_grant(), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("refresh token is expired"), "{message}");
    assert!(
        message.contains("authorization-code flow again"),
        "{message}"
    );
    assert_no_secret(&error);
}

#[tokio::test]
async fn a_secret_echoed_back_form_or_url_encoded_is_redacted_too() {
    // A refresh token with characters a form body encodes; the server echoes the request body.
    let refresh = "rt/SECRET+2 =x";
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "bad request body: grant_type=refresh_token&\
                                  refresh_token=rt%2FSECRET%2B2+%3Dx, also rt%2FSECRET%2B2%20%3Dx, \
                                  also rt%2fSECRET%2b2+%3dx, and rt/SEC\r\nRET+2 =x"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let auth =
        OAuth2Auth::from_refresh_token(CLIENT_ID, CLIENT_SECRET, token_url(&server), refresh)
            .build()
            .unwrap();
    let error = authorization(&auth).await.unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(
        !text.contains("SECRET"),
        "a shape of the token leaked: {text}"
    );
    assert!(
        text.contains("refresh_token=[redacted], also [redacted], also [redacted], and [redacted]"),
        "{text}"
    );
}

#[tokio::test]
async fn invalid_grant_on_code_exchange_says_to_start_again() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .expect(1)
        .mount(&server)
        .await;
    let auth = code_flow(&server);
    let (_, pending) = auth.authorize_url().unwrap();
    let error = auth
        .exchange_code("code-SECRET-9", pending.csrf_state().expose(), &pending)
        .await
        .unwrap_err();
    assert!(error.is_invalid_grant());
    assert!(error.to_string().contains("authorization code"), "{error}");
    let text = format!("{error} {error:?}");
    assert!(!text.contains(pending.pkce_verifier().expose()), "{text}");
    assert_no_secret(&error);
}

#[tokio::test]
async fn the_other_rfc_6749_errors_each_say_what_to_do() {
    for (code, advice) in [
        ("invalid_scope", "check the scopes setting"),
        (
            "unauthorized_client",
            "not allowed to use the client_credentials grant",
        ),
        (
            "unsupported_grant_type",
            "does not support the client_credentials grant",
        ),
        ("invalid_request", "missing a parameter"),
        ("temporarily_unavailable", "server's documentation"),
    ] {
        let server = MockServer::start().await;
        token_endpoint()
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": code})))
            .expect(1)
            .mount(&server)
            .await;
        let auth = client_credentials(&server).build().unwrap();
        let error = authorization(&auth).await.unwrap_err();
        assert_eq!(error.oauth_error(), Some(code));
        let message = error.to_string();
        assert!(message.contains(advice), "{code}: {message}");
        assert_no_secret(&error);
    }
}

#[tokio::test]
async fn an_html_500_is_a_clear_retryable_error() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(ResponseTemplate::new(500).set_body_raw(
            "<html><body><h1>Internal Server Error</h1></body></html>",
            "text/html",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let auth = client_credentials(&server).build().unwrap();
    let error = authorization(&auth).await.unwrap_err();
    assert!(
        matches!(error, AuthError::InvalidTokenResponse { status: 500, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
    let message = error.to_string();
    assert!(message.contains("HTTP 500"), "{message}");
    assert!(message.contains("text/html"), "{message}");
    assert!(message.contains("Internal Server Error"), "{message}");
    assert_no_secret(&error);
}

/// The error of a client-credentials authorization whose token endpoint gives `answer` once.
async fn error_for_answer(answer: ResponseTemplate) -> AuthError {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    let auth = client_credentials(&server).build().unwrap();
    authorization(&auth).await.unwrap_err()
}

#[tokio::test]
async fn a_success_that_is_not_json_never_quotes_the_body() {
    // Some servers answer form-encoded: the body holds the token, which must not be echoed.
    for content_type in [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
    ] {
        let error = error_for_answer(
            ResponseTemplate::new(200)
                .set_body_raw("access_token=at-SECRET-7&token_type=bearer", content_type),
        )
        .await;
        assert!(
            matches!(error, AuthError::InvalidTokenResponse { status: 200, .. }),
            "{error:?}"
        );
        assert_no_secret(&error);
    }
}

#[tokio::test]
async fn a_success_of_the_wrong_shape_never_quotes_its_values() {
    // The parser's "invalid type: string \"...\"" quotes the value: a body that is only a
    // string, or a field holding a secret where a number belongs, must not reach the error
    // (found by never_panics.rs with the client secret as the body).
    for body in [
        json!(CLIENT_SECRET),
        json!(["at-SECRET-8"]),
        json!({"access_token": "at-SECRET-2", "token_type": "Bearer", "expires_in": "at-SECRET-3"}),
        json!({"access_token": "at-SECRET-4", "token_type": "Bearer", "scope": ["at-SECRET-5"]}),
    ] {
        let error = error_for_answer(ResponseTemplate::new(200).set_body_json(&body)).await;
        assert!(
            matches!(error, AuthError::InvalidTokenResponse { status: 200, .. }),
            "{body}: {error:?}"
        );
        assert_no_secret(&error);
    }
}

#[tokio::test]
async fn a_token_response_with_wrong_fields_is_explained() {
    for (body, expected) in [
        (json!({"token_type": "Bearer"}), "access_token"),
        (
            json!({"access_token": "at-SECRET-1", "token_type": "Bearer", "expires_in": "soon"}),
            "expires_in",
        ),
        (
            json!({"access_token": "at-SECRET-1", "token_type": "mac"}),
            "only Bearer",
        ),
        (json!({"access_token": "", "token_type": "Bearer"}), "empty"),
    ] {
        let error = error_for_answer(ResponseTemplate::new(200).set_body_json(body)).await;
        assert!(error.to_string().contains(expected), "{error}");
        assert_no_secret(&error);
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let auth = OAuth2Auth::client_credentials(
        CLIENT_ID,
        CLIENT_SECRET,
        format!("http://{address}/oauth/token"),
    )
    .build()
    .unwrap();
    let error = authorization(&auth).await.unwrap_err();
    assert!(
        matches!(error, AuthError::Transport { timeout: false, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
    let message = error.to_string();
    assert!(message.contains("could not connect"), "{message}");
    assert!(message.contains(&address.to_string()), "{message}");
    assert_no_secret(&error);
}

// --- redirects -----------------------------------------------------------------------------------

#[tokio::test]
async fn a_redirect_from_the_token_endpoint_is_not_followed() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(issue("at-stolen", Some(3600), None))
        .expect(0)
        .mount(&elsewhere)
        .await;
    Mock::given(method("GET"))
        .respond_with(issue("at-stolen", Some(3600), None))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    for status in [302, 307] {
        token_endpoint()
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("location", format!("{}/oauth/token", elsewhere.uri())),
            )
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        let auth = client_credentials(&server).build().unwrap();
        let error = authorization(&auth).await.unwrap_err();
        assert_eq!(error.status(), Some(status), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("not followed"), "{message}");
        assert!(message.contains(&elsewhere.uri()), "{message}");
        assert_no_secret(&error);
    }
    elsewhere.verify().await;
}

#[tokio::test]
async fn a_shared_client_that_follows_redirects_is_detected() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(issue("at-1", Some(3600), None))
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/oauth/token", elsewhere.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    let auth = client_credentials(&server)
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let error = authorization(&auth).await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("Policy::none()"), "{message}");
    assert_no_secret(&error);
}

#[tokio::test]
async fn a_shared_client_without_redirects_serves_token_and_api_calls() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issue("at-1", Some(3600), None))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/records"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let shared = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let auth = client_credentials(&server)
        .http_client(shared.clone())
        .build()
        .unwrap();
    for _ in 0..2 {
        let method = Method::GET;
        let mut url = Url::parse(&format!("{}/v1/records", server.uri())).unwrap();
        let mut headers = HeaderMap::new();
        auth.authorize(&mut AuthRequest::new(&method, &mut url, &mut headers))
            .await
            .unwrap();
        let response = shared
            .request(method, url)
            .headers(headers)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

// --- settings ------------------------------------------------------------------------------------

#[test]
fn settings_are_checked_when_building() {
    let build = |builder: OAuth2AuthBuilder| builder.build().unwrap_err().to_string();

    let message = build(OAuth2Auth::client_credentials(
        CLIENT_ID,
        CLIENT_SECRET,
        "http://auth.example.com/oauth/token",
    ));
    assert!(message.contains("allow_insecure_http"), "{message}");
    assert!(
        OAuth2Auth::client_credentials(CLIENT_ID, CLIENT_SECRET, "http://auth.example.com/t")
            .allow_insecure_http(true)
            .build()
            .is_ok()
    );

    let message = build(OAuth2Auth::client_credentials(
        "",
        CLIENT_SECRET,
        "https://a.example/t",
    ));
    assert!(message.contains("client_id"), "{message}");

    let message = build(OAuth2Auth::client_credentials(
        CLIENT_ID,
        CLIENT_SECRET,
        "not a url",
    ));
    assert!(message.contains("token_url"), "{message}");

    let message = build(OAuth2Auth::client_credentials(
        CLIENT_ID,
        CLIENT_SECRET,
        "https://user:pw-SECRET@a.example/t",
    ));
    assert!(
        message.contains("must not contain a user name or password"),
        "{message}"
    );
    assert!(!message.contains("pw-SECRET"), "{message}");

    let message = build(
        OAuth2Auth::client_credentials(CLIENT_ID, CLIENT_SECRET, "https://a.example/t")
            .scopes(["records:read records:write"]),
    );
    assert!(message.contains("scope"), "{message}");

    let message = build(OAuth2Auth::from_refresh_token(
        CLIENT_ID,
        CLIENT_SECRET,
        "https://a.example/t",
        "",
    ));
    assert!(message.contains("refresh token is empty"), "{message}");

    let message = build(OAuth2Auth::authorization_code(
        CLIENT_ID,
        CLIENT_SECRET,
        "https://a.example/authorize",
        "https://a.example/t",
        "callback",
    ));
    assert!(message.contains("redirect_uri"), "{message}");
}
