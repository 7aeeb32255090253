//! Connection settings: JSON parsing, `${ENV}` expansion, environment variables, saving.

use std::collections::HashMap;

use dbsync_client::{
    AuthSettings, Connection, ConnectionSettings, Error, SaveOptions, SecretValue,
};

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn config_error(json: &str) -> String {
    match ConnectionSettings::from_json(json) {
        Err(Error::Config(message)) => message,
        other => panic!("expected a config error, got {other:?}"),
    }
}

const CONTRACT_EXAMPLE: &str = r#"{
  "name": "crm-prod",
  "api_url": "https://api.dbsync.com",
  "auth": {"type": "oauth2", "token_url": "https://api.dbsync.com/oauth/token",
           "client_id": "abc", "client_secret": "${DBSYNC_CLIENT_SECRET}", "scopes": ["records:read"]},
  "timeout_secs": 30,
  "retry": {"max_retries": 5},
  "rate_limit": {"requests_per_minute": 600}
}"#;

#[test]
fn the_contract_example_parses_and_keeps_references() {
    let settings = ConnectionSettings::from_json(CONTRACT_EXAMPLE).unwrap();
    assert_eq!(settings.name.as_deref(), Some("crm-prod"));
    assert_eq!(settings.timeout_secs, Some(30));
    assert_eq!(settings.retry.unwrap().policy().get_max_retries(), 5);
    assert_eq!(settings.rate_limit.unwrap().requests_per_minute, 600);
    match &settings.auth {
        AuthSettings::OAuth2 {
            client_id,
            client_secret,
            scopes,
            ..
        } => {
            assert_eq!(client_id, "abc");
            assert_eq!(
                client_secret,
                &SecretValue::EnvRef("DBSYNC_CLIENT_SECRET".into())
            );
            assert_eq!(scopes, &["records:read"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_settings_name_the_field() {
    let cases = [
        (
            r#"{"api_url":"https://h","auth":{"type":"oauth2","client_secret":"s"}}"#,
            "auth.client_id is missing",
        ),
        (r#"{"auth":{"type":"none"}}"#, "api_url is missing"),
        (
            r#"{"api_url":"https://h","auth":{}}"#,
            "auth.type is missing",
        ),
        (
            r#"{"api_url":"https://h","auth":{"type":"digest"}}"#,
            "auth.type `digest` is not supported",
        ),
        (
            r#"{"api_url":"https://h","auth":{"type":"basic","username":"u"}}"#,
            "auth.password is missing",
        ),
        (
            r#"{"api_url":"https://h","timeout_secs":"30"}"#,
            "timeout_secs must be a non-negative whole number",
        ),
        (
            r#"{"api_url":"https://h","timeout_secs":0}"#,
            "timeout_secs must be at least 1",
        ),
        (
            r#"{"api_url":"https://h","retry":{"max_retry":2}}"#,
            "retry.max_retry is not a known setting",
        ),
        (r#"{"api_url":"not a url"}"#, "api_url is not a valid URL"),
        (
            r#"{"api_url":"https://h","auth":{"type":"bearer","token":""}}"#,
            "auth.token is empty",
        ),
        (r#"[1]"#, "must be a JSON object"),
        (r#"{"api_url": "#, "not valid JSON"),
    ];
    for (json, expected) in cases {
        let message = config_error(json);
        assert!(message.contains(expected), "{json}: {message}");
    }
}

#[test]
fn a_secret_of_the_wrong_type_is_not_echoed() {
    let message =
        config_error(r#"{"api_url":"https://h","auth":{"type":"bearer","token":12345678}}"#);
    assert!(message.contains("auth.token must be a string"));
    assert!(!message.contains("12345678"));
}

#[test]
fn references_are_expanded_when_connecting() {
    let settings = ConnectionSettings::from_json(
        r#"{"api_url":"${API}","auth":{"type":"basic","username":"${USER}","password":"${PASS}"}}"#,
    )
    .unwrap();
    // Names other than DBSYNC_* must be allowed by the caller (see
    // references_read_only_dbsync_variables_unless_allowed).
    let settings = settings.allow_env(["API", "USER", "PASS"]);
    let conn = settings
        .connect_with_env(&env(&[
            ("API", "https://api.example.com"),
            ("USER", "demo"),
            ("PASS", "p@55w0rd"),
        ]))
        .unwrap();
    assert_eq!(conn.base_url().as_str(), "https://api.example.com/");
    assert_eq!(conn.auth_scheme(), "basic");
    let err = settings
        .connect_with_env(&env(&[
            ("API", "https://api.example.com"),
            ("USER", "demo"),
        ]))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("auth.password: the environment variable PASS is not set"),
        "{err}"
    );
}

#[test]
fn references_read_only_dbsync_variables_unless_allowed() {
    let secret = "AKIA-do-not-send-7f3e";
    let lookup = env(&[
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("DBSYNC_TOKEN", "t0ken"),
        ("DBSYNC_AGENT", "agent/1"),
    ]);
    // Every place a reference may stand: refused when naming a variable outside DBSYNC_*,
    // with an error that names it and never holds its value.
    let refused = [
        (r#"{"api_url":"${AWS_SECRET_ACCESS_KEY}"}"#, "api_url"),
        (
            r#"{"api_url":"https://h","auth":{"type":"bearer","token":"${AWS_SECRET_ACCESS_KEY}"}}"#,
            "auth.token",
        ),
        (
            r#"{"api_url":"https://h","auth":{"type":"basic","username":"${AWS_SECRET_ACCESS_KEY}","password":"${DBSYNC_TOKEN}"}}"#,
            "auth.username",
        ),
        (
            r#"{"api_url":"https://h","auth":{"type":"basic","username":"u","password":"${AWS_SECRET_ACCESS_KEY}"}}"#,
            "auth.password",
        ),
        (
            r#"{"api_url":"https://h","auth":{"type":"oauth2","client_id":"${AWS_SECRET_ACCESS_KEY}","client_secret":"${DBSYNC_TOKEN}"}}"#,
            "auth.client_id",
        ),
        (
            r#"{"api_url":"https://h","auth":{"type":"oauth2","client_id":"c","client_secret":"${AWS_SECRET_ACCESS_KEY}"}}"#,
            "auth.client_secret",
        ),
        (
            r#"{"api_url":"https://h","auth":{"type":"oauth2","token_url":"${AWS_SECRET_ACCESS_KEY}","client_id":"c","client_secret":"${DBSYNC_TOKEN}"}}"#,
            "auth.token_url",
        ),
        (
            r#"{"api_url":"https://h","user_agent":"${AWS_SECRET_ACCESS_KEY}"}"#,
            "user_agent",
        ),
    ];
    for (json, field) in refused {
        let settings = ConnectionSettings::from_json(json).unwrap();
        for err in [
            settings.connect_with_env(&lookup).unwrap_err(),
            settings.builder_with_env(&lookup).unwrap_err(),
        ] {
            let Error::Config(message) = &err else {
                panic!("{json}: expected a config error, got {err:?}");
            };
            assert!(message.starts_with(&format!("{field}: ")), "{message}");
            assert!(message.contains("AWS_SECRET_ACCESS_KEY"), "{message}");
            assert!(message.contains("DBSYNC_"), "{message}");
            assert!(!message.contains(secret), "{message}");
            assert!(!format!("{err:?}").contains(secret));
        }
        // Allowing the name by the caller reads it (where the value fits the setting).
        let allowed = settings.clone().allow_env(["AWS_SECRET_ACCESS_KEY"]);
        assert_eq!(allowed.allowed_env(), ["AWS_SECRET_ACCESS_KEY"]);
        if let Err(err) = allowed.builder_with_env(&lookup) {
            assert!(
                !err.to_string().contains("may not"),
                "{field} still refused: {err}"
            );
        }
    }

    // DBSYNC_* names need no allow-list.
    let ok = ConnectionSettings::from_json(
        r#"{"api_url":"https://h","user_agent":"${DBSYNC_AGENT}","auth":{"type":"bearer","token":"${DBSYNC_TOKEN}"}}"#,
    )
    .unwrap();
    assert_eq!(
        ok.connect_with_env(&lookup).unwrap().auth_scheme(),
        "bearer"
    );

    // An allow-listed name is read; other names stay refused; a literal is never a reference.
    let settings = ConnectionSettings::from_json(
        r#"{"api_url":"https://h","auth":{"type":"bearer","token":"${CRM_TOKEN}"}}"#,
    )
    .unwrap();
    let crm = env(&[("CRM_TOKEN", "crm-t0ken")]);
    let err = settings.connect_with_env(&crm).unwrap_err();
    assert!(err.to_string().contains("CRM_TOKEN"), "{err}");
    assert!(!err.to_string().contains("crm-t0ken"), "{err}");
    let allowed = settings
        .clone()
        .allow_env(["OTHER"])
        .allow_env(vec![String::from("CRM_TOKEN")]);
    assert_eq!(
        allowed.connect_with_env(&crm).unwrap().auth_scheme(),
        "bearer"
    );
    let lower = settings.allow_env(["crm_token"]);
    assert!(lower.connect_with_env(&crm).is_err(), "names match exactly");

    // SecretValue::resolve follows the same rule (no allow-list there).
    let outside = SecretValue::EnvRef("AWS_SECRET_ACCESS_KEY".into());
    let err = outside.resolve("auth.token", &lookup).unwrap_err();
    assert!(err.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{err}");
    assert!(!err.to_string().contains(secret), "{err}");
    let inside = SecretValue::EnvRef("DBSYNC_TOKEN".into());
    assert_eq!(
        inside.resolve("auth.token", &lookup).unwrap().expose(),
        "t0ken"
    );
}

#[test]
fn insecure_http_is_refused_from_settings_too() {
    let settings = ConnectionSettings::from_json(
        r#"{"api_url":"http://api.example.com","auth":{"type":"bearer","token":"t"}}"#,
    )
    .unwrap();
    let err = settings.connect_with_env(&env(&[])).unwrap_err();
    assert!(err.to_string().contains("allow_insecure_http"), "{err}");
    let allowed = ConnectionSettings::from_json(
        r#"{"api_url":"http://api.example.com","allow_insecure_http":true,"auth":{"type":"bearer","token":"t"}}"#,
    )
    .unwrap();
    assert!(allowed.connect_with_env(&env(&[])).is_ok());
}

#[test]
fn oauth2_settings_build_an_oauth2_strategy() {
    let settings = ConnectionSettings::from_json(CONTRACT_EXAMPLE).unwrap();
    let conn = settings
        .connect_with_env(&env(&[("DBSYNC_CLIENT_SECRET", "s3cret")]))
        .unwrap();
    assert_eq!(conn.auth_scheme(), "oauth2");
    assert!(!format!("{conn:?}").contains("s3cret"));
    let bad_scope = ConnectionSettings::from_json(
        r#"{"api_url":"https://h","auth":{"type":"oauth2","client_id":"a","client_secret":"s","scopes":["a b"]}}"#,
    )
    .unwrap();
    let err = bad_scope.connect_with_env(&env(&[])).unwrap_err();
    assert!(err.to_string().contains("auth (oauth2)"), "{err}");
}

#[tokio::test]
async fn oauth2_from_env_fetches_one_token_from_the_default_endpoint() {
    use wiremock::matchers::{body_string_contains, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "at-1", "token_type": "Bearer", "expires_in": 3600})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/records"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": []})))
        .expect(2)
        .mount(&server)
        .await;
    let uri = server.uri();
    let vars = env(&[
        ("DBSYNC_API_URL", uri.as_str()),
        ("DBSYNC_AUTH_TYPE", "oauth2"),
        ("DBSYNC_CLIENT_ID", "client"),
        ("DBSYNC_CLIENT_SECRET", "s3cret"),
    ]);
    let conn = Connection::from_env_map(&vars).unwrap();
    conn.validate().await.unwrap();
    conn.records()
        .list(&dbsync_client::Query::new())
        .await
        .unwrap();
}

#[test]
fn no_secret_in_debug_of_settings() {
    let settings = ConnectionSettings::from_json(
        r#"{"api_url":"https://h","auth":{"type":"basic","username":"demo","password":"p@55w0rd"}}"#,
    )
    .unwrap();
    let text = format!("{settings:?}");
    assert!(!text.contains("p@55w0rd"), "{text}");
    assert!(text.contains("demo"));
    let conn = settings.connect_with_env(&env(&[])).unwrap();
    assert!(!format!("{conn:?}").contains("p@55w0rd"));
}

#[test]
fn from_env_reads_the_contract_variables() {
    let vars = env(&[
        ("DBSYNC_API_URL", "https://api.example.com"),
        ("DBSYNC_AUTH_TYPE", "basic"),
        ("DBSYNC_USERNAME", "demo"),
        ("DBSYNC_PASSWORD", "p@55w0rd"),
    ]);
    let settings = ConnectionSettings::from_env_map(&vars).unwrap();
    assert_eq!(
        settings.auth,
        AuthSettings::Basic {
            username: "demo".into(),
            password: SecretValue::EnvRef("DBSYNC_PASSWORD".into()),
        }
    );
    let conn = Connection::from_env_map(&vars).unwrap();
    assert_eq!(conn.auth_scheme(), "basic");

    // The type is guessed from the variables when DBSYNC_AUTH_TYPE is unset.
    let bearer = env(&[("DBSYNC_API_URL", "https://h"), ("DBSYNC_TOKEN", "tok")]);
    assert_eq!(
        Connection::from_env_map(&bearer).unwrap().auth_scheme(),
        "bearer"
    );
    let none = env(&[("DBSYNC_API_URL", "http://api.example.com")]);
    assert_eq!(
        Connection::from_env_map(&none).unwrap().auth_scheme(),
        "none"
    );

    let oauth = env(&[
        ("DBSYNC_API_URL", "https://h"),
        ("DBSYNC_AUTH_TYPE", "oauth2"),
        ("DBSYNC_CLIENT_ID", "id"),
        ("DBSYNC_CLIENT_SECRET", "s"),
        ("DBSYNC_SCOPES", "records:read records:write"),
    ]);
    match ConnectionSettings::from_env_map(&oauth).unwrap().auth {
        AuthSettings::OAuth2 {
            scopes, token_url, ..
        } => {
            assert_eq!(scopes, ["records:read", "records:write"]);
            assert_eq!(token_url, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn from_env_errors_name_the_variable() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[], "DBSYNC_API_URL is not set"),
        (
            &[
                ("DBSYNC_API_URL", "https://h"),
                ("DBSYNC_AUTH_TYPE", "bearer"),
            ],
            "DBSYNC_TOKEN is not set",
        ),
        (
            &[
                ("DBSYNC_API_URL", "https://h"),
                ("DBSYNC_AUTH_TYPE", "kerberos"),
            ],
            "DBSYNC_AUTH_TYPE `kerberos`",
        ),
        (
            &[("DBSYNC_CONFIG", "/nonexistent/dbsync.json")],
            "DBSYNC_CONFIG",
        ),
    ];
    for (vars, expected) in cases {
        let err = Connection::from_env_map(&env(vars)).unwrap_err();
        assert!(err.to_string().contains(expected), "{expected}: {err}");
    }
}

#[test]
fn explicit_variables_override_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conn.json");
    std::fs::write(
        &path,
        r#"{"name":"file","api_url":"https://from-file","auth":{"type":"bearer","token":"${DBSYNC_FILE_TOKEN}"},"timeout_secs":12}"#,
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let only_file = env(&[("DBSYNC_CONFIG", path), ("DBSYNC_FILE_TOKEN", "t1")]);
    let settings = ConnectionSettings::from_env_map(&only_file).unwrap();
    assert_eq!(settings.api_url, "https://from-file");
    assert_eq!(
        settings.auth,
        AuthSettings::Bearer {
            token: SecretValue::EnvRef("DBSYNC_FILE_TOKEN".into())
        }
    );
    assert!(Connection::from_env_map(&only_file).is_ok());

    let overridden = env(&[
        ("DBSYNC_CONFIG", path),
        ("DBSYNC_API_URL", "https://from-env"),
        ("DBSYNC_TOKEN", "t2"),
    ]);
    let settings = ConnectionSettings::from_env_map(&overridden).unwrap();
    assert_eq!(settings.api_url, "https://from-env");
    assert_eq!(
        settings.timeout_secs,
        Some(12),
        "untouched fields come from the file"
    );
    assert_eq!(
        settings.auth,
        AuthSettings::Bearer {
            token: SecretValue::EnvRef("DBSYNC_TOKEN".into())
        }
    );
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn save_writes_owner_only_and_no_literal_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conn.json");
    // An existing file with wide permissions is replaced, not reused.
    std::fs::write(&path, "old").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let settings = ConnectionSettings::from_json(
        r#"{"api_url":"https://h","auth":{"type":"basic","username":"demo","password":"p@55w0rd"}}"#,
    )
    .unwrap();
    let report = settings.save(&path, SaveOptions::default()).unwrap();
    assert_eq!(report.secrets_as_references.len(), 1);
    assert!(report.secrets_as_references[0].contains("${DBSYNC_PASSWORD}"));
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(!written.contains("p@55w0rd"), "{written}");
    assert!(written.contains("${DBSYNC_PASSWORD}"), "{written}");
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // The saved file loads back, with the reference read from the environment.
    let loaded = ConnectionSettings::from_file(&path).unwrap();
    assert!(
        loaded
            .connect_with_env(&env(&[("DBSYNC_PASSWORD", "p@55w0rd")]))
            .is_ok()
    );

    // Asked for, the literal is written.
    settings
        .save(&path, SaveOptions::default().with_secrets(true))
        .unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().contains("p@55w0rd"));
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn save_keeps_references_as_references() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conn.json");
    let settings = ConnectionSettings::from_json(CONTRACT_EXAMPLE).unwrap();
    let report = settings
        .save(&path, SaveOptions::default().with_secrets(true))
        .unwrap();
    assert!(report.secrets_as_references.is_empty());
    let reloaded = ConnectionSettings::from_file(&path).unwrap();
    assert_eq!(reloaded, settings);
    // Serialize never writes a literal secret.
    let with_literal = ConnectionSettings::new("https://h").with_auth(AuthSettings::Bearer {
        token: SecretValue::Literal("tok-s3cret".into()),
    });
    let json = serde_json::to_string(&with_literal).unwrap();
    assert!(
        !json.contains("tok-s3cret") && json.contains("${DBSYNC_TOKEN}"),
        "{json}"
    );
}

#[test]
fn a_failed_save_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("conn.json");
    let err = ConnectionSettings::new("https://h")
        .save(&path, SaveOptions::default())
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn settings_reach_the_connection() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/contacts"))
        .and(query_param("limit", "1"))
        .and(wiremock::matchers::header("user-agent", "crm-sync/1.0"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": [{"id": 1}]})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let json = format!(
        r#"{{"api_url":"{}","validate_resource":"contacts","user_agent":"crm-sync/1.0",
            "pagination":{{"records_key":"items"}},"retry":{{"max_retries":0}}}}"#,
        server.uri()
    );
    let conn = Connection::from_settings_json(&json).unwrap();
    assert_eq!(conn.retry_policy().get_max_retries(), 0);
    conn.validate().await.unwrap();
    let page = conn
        .resource::<serde_json::Value>("contacts")
        .unwrap()
        .list(&dbsync_client::Query::new().limit(1))
        .await
        .unwrap();
    assert_eq!(page.data.len(), 1);
}

#[test]
fn wait_cap_and_deadline_settings_reach_the_policy_and_round_trip() {
    let json = r#"{"api_url":"https://h","retry":{"max_rate_limit_wait_secs":90,"call_deadline_secs":600},
        "rate_limit":{"requests_per_minute":120}}"#;
    let settings = ConnectionSettings::from_json(json).unwrap();
    let policy = settings.retry.unwrap().policy();
    assert_eq!(
        policy.get_max_rate_limit_wait(),
        std::time::Duration::from_secs(90)
    );
    assert_eq!(
        policy.get_call_deadline(),
        Some(std::time::Duration::from_secs(600))
    );
    let (saved, _) = settings.to_json(false);
    assert_eq!(saved["retry"]["max_rate_limit_wait_secs"], 90);
    assert_eq!(saved["retry"]["call_deadline_secs"], 600);
    let connection = settings
        .builder_with_env(&|_| None)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        connection.retry_policy().get_call_deadline(),
        Some(std::time::Duration::from_secs(600))
    );
    assert!(format!("{connection:?}").contains("requests_per_minute: Some(120)"));
}

#[test]
fn a_bad_base_url_is_refused_without_quoting_its_password() {
    for raw in [
        "ftp://user:pw-SECRET@example.com",
        "https://user:pw-SECRET@exa mple.com",
        "https://user:pw-SECRET@example.com:99999",
        "https://user:pw-SECRET@example.com/?q=1",
    ] {
        let err = dbsync_client::Connection::builder()
            .base_url(raw)
            .build()
            .unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("base_url"), "{shown}");
        assert!(!shown.contains("pw-SECRET"), "{shown}");
        // From settings, the URL is refused when it does not parse, or else at build.
        let settings = serde_json::json!({"api_url": raw, "auth": {"type": "none"}});
        let err = dbsync_client::Connection::from_settings_json(&settings.to_string()).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("pw-SECRET"), "{shown}");
    }
}

/// A server for both the token endpoint and the API that notes the client port of every
/// request, so a test can count the TCP connections the client opened.
async fn port_counting_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<u16>>>) {
    use axum::extract::{ConnectInfo, State};
    use axum::routing::{get, post};
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    type Ports = Arc<Mutex<Vec<u16>>>;
    async fn token(
        State(ports): State<Ports>,
        ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ) -> axum::Json<serde_json::Value> {
        ports.lock().unwrap().push(peer.port());
        axum::Json(serde_json::json!({
            "access_token": "at-1", "token_type": "Bearer", "expires_in": 3600}))
    }
    async fn records(
        State(ports): State<Ports>,
        ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ) -> axum::Json<serde_json::Value> {
        ports.lock().unwrap().push(peer.port());
        axum::Json(serde_json::json!({"data": [], "meta": {"total": 0}}))
    }
    let ports = Ports::default();
    let app = axum::Router::new()
        .route("/oauth/token", post(token))
        .route("/v1/records", get(records))
        .with_state(ports.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (format!("http://{addr}"), ports)
}

#[tokio::test]
async fn oauth2_from_settings_or_env_shares_one_connection_pool_with_api_calls() {
    for from_env in [false, true] {
        let (uri, ports) = port_counting_server().await;
        let conn = if from_env {
            Connection::from_env_map(&env(&[
                ("DBSYNC_API_URL", uri.as_str()),
                ("DBSYNC_AUTH_TYPE", "oauth2"),
                ("DBSYNC_CLIENT_ID", "client"),
                ("DBSYNC_CLIENT_SECRET", "s3cret"),
            ]))
            .unwrap()
        } else {
            let json = format!(
                r#"{{"api_url":"{uri}","auth":{{"type":"oauth2","client_id":"a","client_secret":"s"}}}}"#
            );
            ConnectionSettings::from_json(&json)
                .unwrap()
                .connect_with_env(&env(&[]))
                .unwrap()
        };
        // One after the other: the token request, then two API calls.
        for _ in 0..2 {
            conn.records()
                .list(&dbsync_client::Query::new())
                .await
                .unwrap();
        }
        let ports = ports.lock().unwrap().clone();
        assert_eq!(ports.len(), 3, "one token request and two API calls");
        assert!(
            ports.iter().all(|p| *p == ports[0]),
            "from_env {from_env}: the token request and the API calls should share one pooled \
             connection, but came from ports {ports:?}"
        );
    }
}

#[test]
fn oauth2_from_settings_takes_the_builders_later_allow_insecure_http() {
    let json = r#"{"api_url":"http://sandbox.internal:8080","auth":{"type":"oauth2",
        "client_id":"a","client_secret":"s"}}"#;
    let settings = ConnectionSettings::from_json(json).unwrap();
    let refused = settings.builder_with_env(&env(&[])).unwrap().build();
    assert!(
        refused.is_err(),
        "plain http to another host is refused by default"
    );
    let allowed = settings
        .builder_with_env(&env(&[]))
        .unwrap()
        .allow_insecure_http(true)
        .build();
    assert!(allowed.is_ok(), "{:?}", allowed.err());
}

#[test]
fn an_hourly_rate_limit_setting_reaches_the_connection_and_round_trips() {
    let json = r#"{"api_url":"https://h","rate_limit":{"requests_per_minute":120,"requests_per_hour":5000}}"#;
    let settings = ConnectionSettings::from_json(json).unwrap();
    let limit = settings.rate_limit.unwrap();
    assert_eq!(limit.requests_per_hour, Some(5000));
    let (saved, _) = settings.to_json(false);
    assert_eq!(saved["rate_limit"]["requests_per_hour"], 5000);
    assert_eq!(saved["rate_limit"]["requests_per_minute"], 120);
    let connection = settings
        .builder_with_env(&|_| None)
        .unwrap()
        .build()
        .unwrap();
    assert!(format!("{connection:?}").contains("requests_per_hour: Some(5000)"));

    let without = ConnectionSettings::from_json(
        r#"{"api_url":"https://h","rate_limit":{"requests_per_minute":120}}"#,
    )
    .unwrap();
    assert_eq!(without.rate_limit.unwrap().requests_per_hour, None);
    let (saved, _) = without.to_json(false);
    assert!(saved["rate_limit"].get("requests_per_hour").is_none());

    for bad in ["0", "-1", "\"many\""] {
        let json = format!(
            r#"{{"api_url":"https://h","rate_limit":{{"requests_per_minute":120,"requests_per_hour":{bad}}}}}"#
        );
        let error = ConnectionSettings::from_json(&json)
            .unwrap_err()
            .to_string();
        assert!(error.contains("requests_per_hour"), "{bad}: {error}");
    }
}

#[test]
fn a_call_deadline_of_zero_in_settings_means_none() {
    let read = |secs: u64| {
        let json = format!(r#"{{"api_url":"https://h","retry":{{"call_deadline_secs":{secs}}}}}"#);
        ConnectionSettings::from_json(&json)
            .unwrap()
            .retry
            .unwrap()
            .policy()
            .get_call_deadline()
    };
    assert_eq!(read(0), None);
    assert_eq!(read(30), Some(std::time::Duration::from_secs(30)));
    let default = ConnectionSettings::from_json(r#"{"api_url":"https://h","retry":{}}"#)
        .unwrap()
        .retry
        .unwrap()
        .policy()
        .get_call_deadline();
    assert_eq!(default, Some(std::time::Duration::from_secs(120)));
}
