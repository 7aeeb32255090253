//! What the end-to-end tests share: the sandbox in each auth mode and a connection to it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use dbsync::auth::{Auth, BasicAuth, BearerAuth, NoAuth, OAuth2Auth};
use dbsync::client::{Connection, ConnectionBuilder, RetryPolicy};
use dbsync::sandbox::{LogEntry, Sandbox, SandboxAuth, SandboxBuilder};
use serde_json::{Value, json};

pub const USERNAME: &str = "demo";
pub const PASSWORD: &str = "p@55w0rd";
pub const TOKEN: &str = "e2e-bearer-token";
pub const CLIENT_ID: &str = "e2e-client";
pub const CLIENT_SECRET: &str = "e2e-client-secret";

/// The sandbox's four auth modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    None,
    Basic,
    Bearer,
    OAuth2,
}

impl Mode {
    pub fn sandbox_auth(self) -> SandboxAuth {
        match self {
            Self::None => SandboxAuth::None,
            Self::Basic => SandboxAuth::Basic {
                username: USERNAME.into(),
                password: PASSWORD.into(),
            },
            Self::Bearer => SandboxAuth::Bearer {
                token: TOKEN.into(),
            },
            Self::OAuth2 => SandboxAuth::OAuth2 {
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
            },
        }
    }

    /// The right credentials for a sandbox in this mode.
    pub fn auth(self, sandbox: &Sandbox) -> Arc<dyn Auth> {
        match self {
            Self::None => Arc::new(NoAuth),
            Self::Basic => Arc::new(BasicAuth::new(USERNAME, PASSWORD).unwrap()),
            Self::Bearer => Arc::new(BearerAuth::new(TOKEN)),
            Self::OAuth2 => Arc::new(
                OAuth2Auth::client_credentials(CLIENT_ID, CLIENT_SECRET, sandbox.token_url())
                    .build()
                    .unwrap(),
            ),
        }
    }

    /// Wrong credentials of this mode's kind (`None` for the mode without credentials). In
    /// oauth2 mode: an access token the server never issued.
    pub fn wrong_auth(self) -> Option<Arc<dyn Auth>> {
        match self {
            Self::None => None,
            Self::Basic => Some(Arc::new(
                BasicAuth::new(USERNAME, "wrong-password").unwrap(),
            )),
            Self::Bearer => Some(Arc::new(BearerAuth::new("wrong-token"))),
            Self::OAuth2 => Some(Arc::new(BearerAuth::new("never-issued-access-token"))),
        }
    }
}

pub const MODES: [Mode; 4] = [Mode::None, Mode::Basic, Mode::Bearer, Mode::OAuth2];

/// Starts `builder` in `mode`, every response checked against docs/openapi.yaml (a response the
/// document does not describe fails the request that got it: `dbsync_openapi::sandbox`).
pub async fn start(mode: Mode, builder: SandboxBuilder) -> Sandbox {
    dbsync_openapi::sandbox::check_responses(builder.auth(mode.sandbox_auth()))
        .expect("docs/openapi.yaml loads")
        .start()
        .await
        .expect("the sandbox starts")
}

/// Retries with tiny backoffs, so tests that meet faults stay fast.
pub fn quick_retries() -> RetryPolicy {
    // 3 retries and no deadline: what these tests were written for (the defaults are a safety
    // net of 50 retries and a 2-minute deadline, a timer that tokio's paused clock would fire).
    RetryPolicy::default()
        .max_retries(3)
        .call_deadline(None)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(4))
}

pub fn builder(sandbox: &Sandbox, auth: Arc<dyn Auth>) -> ConnectionBuilder {
    Connection::builder()
        .base_url(sandbox.base_url())
        .auth_shared(auth)
        .retry(quick_retries())
}

/// A connection with the right credentials for `mode`.
pub fn connect(sandbox: &Sandbox, mode: Mode) -> Connection {
    builder(sandbox, mode.auth(sandbox)).build().unwrap()
}

/// The requests the sandbox served with this method and path.
pub fn served(sandbox: &Sandbox, method: &str, endpoint: &str) -> Vec<LogEntry> {
    sandbox
        .request_log()
        .into_iter()
        .filter(|e| e.method == method && e.endpoint == endpoint)
        .collect()
}

/// A valid record of the sandbox's `records` schema, with a unique email.
pub fn person(n: usize) -> Value {
    json!({
        "email": format!("person{n}@e2e.example"),
        "first_name": "Test",
        "last_name": format!("Person{n}"),
        "country": "US",
        "active": true,
    })
}
