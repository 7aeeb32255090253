//! Helpers shared by the HTTP tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use dbsync_auth::{Auth, AuthError, AuthRequest};
use dbsync_client::{Connection, ConnectionBuilder, RetryPolicy};
use wiremock::MockServer;

/// `builder` with every response checked against docs/openapi.yaml: a response the document
/// does not describe panics the server task and fails the request that got it
/// (`dbsync_openapi::sandbox`).
pub fn checked(builder: dbsync_sandbox::SandboxBuilder) -> dbsync_sandbox::SandboxBuilder {
    dbsync_openapi::sandbox::check_responses(builder).expect("docs/openapi.yaml loads")
}

/// A connection with the default settings to `sandbox` (no credentials).
pub fn sandbox_connection(sandbox: &dbsync_sandbox::Sandbox) -> Connection {
    Connection::builder()
        .base_url(sandbox.base_url())
        .build()
        .unwrap()
}

/// Retries with tiny backoffs, so real-clock tests stay fast.
pub fn quick_retries() -> RetryPolicy {
    // 3 retries and no deadline: what these tests were written for (the defaults are a safety
    // net of 50 retries and a 2-minute deadline, a timer that tokio's paused clock would fire).
    RetryPolicy::default()
        .max_retries(3)
        .call_deadline(None)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(4))
}

/// A builder for `server` with no timers of its own (safe under tokio's paused clock).
pub fn builder(server: &MockServer) -> ConnectionBuilder {
    Connection::builder()
        .base_url(server.uri())
        .timeout(None)
        .connect_timeout(None)
        .pool_idle_timeout(None)
        .retry(quick_retries())
}

pub fn connection(server: &MockServer) -> Connection {
    builder(server).build().unwrap()
}

/// A Bearer-like strategy that counts its calls and sends a new token on every attempt.
#[derive(Debug, Default)]
pub struct CountingAuth {
    pub authorized: AtomicUsize,
    pub unauthorized: AtomicUsize,
    /// What `on_unauthorized` answers.
    pub renews: bool,
    /// The `Authorization` header of the last rejected request, as the client reported it.
    pub rejected: std::sync::Mutex<Option<String>>,
}

impl CountingAuth {
    pub fn renewing() -> Arc<Self> {
        Arc::new(Self {
            renews: true,
            ..Self::default()
        })
    }

    pub fn fixed() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn authorized(&self) -> usize {
        self.authorized.load(Ordering::SeqCst)
    }

    pub fn unauthorized(&self) -> usize {
        self.unauthorized.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Auth for CountingAuth {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        let n = self.authorized.fetch_add(1, Ordering::SeqCst) + 1;
        request.set_header("authorization", &format!("Bearer token-{n}"))
    }
    async fn on_unauthorized_for(&self, sent: &http::HeaderMap) -> Result<bool, AuthError> {
        let header = sent
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        *self.rejected.lock().unwrap() = header;
        self.unauthorized.fetch_add(1, Ordering::SeqCst);
        Ok(self.renews)
    }
    fn scheme(&self) -> &'static str {
        "counting"
    }
}

/// A local port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
