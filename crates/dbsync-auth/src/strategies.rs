//! The simple strategies: no auth, HTTP Basic, and Bearer tokens (API keys too).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use tokio::sync::watch;

use crate::{Auth, AuthError, AuthRequest, Secret};

/// Sends no credentials: for a server that needs none (a local sandbox started with no auth).
///
/// ```
/// use dbsync_auth::{Auth, NoAuth};
///
/// let auth: std::sync::Arc<dyn Auth> = std::sync::Arc::new(NoAuth);
/// assert_eq!(auth.scheme(), "none");
/// // It sends nothing, so plain http:// is allowed to any host (credentials are refused there).
/// assert!(!auth.sends_credentials());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAuth;

#[async_trait]
impl Auth for NoAuth {
    async fn authorize(&self, _request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        Ok(())
    }
    fn scheme(&self) -> &'static str {
        "none"
    }
    fn sends_credentials(&self) -> bool {
        false
    }
}

/// HTTP Basic authentication (RFC 7617): `Authorization: Basic base64(username:password)`.
///
/// ```
/// let auth = dbsync_auth::BasicAuth::new("demo", "p@55w0rd").unwrap();
/// assert_eq!(auth.header_value().expose(), "Basic ZGVtbzpwQDU1dzByZA==");
/// ```
#[derive(Debug, Clone)]
pub struct BasicAuth {
    username: String,
    header: Secret,
}

impl BasicAuth {
    /// Builds the strategy. A username containing `:` cannot be sent (RFC 7617), so it is refused.
    pub fn new(
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Result<Self, AuthError> {
        let username = username.into();
        let password = password.into();
        if username.contains(':') {
            return Err(AuthError::config(
                "a BasicAuth username must not contain ':' (RFC 7617); check the username",
            ));
        }
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{username}:{}", password.expose()));
        Ok(Self {
            username,
            header: Secret::new(format!("Basic {encoded}")),
        })
    }

    /// The username (not secret).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The full `Authorization` header value.
    pub fn header_value(&self) -> &Secret {
        &self.header
    }
}

#[async_trait]
impl Auth for BasicAuth {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        request.set_header("authorization", self.header.expose())
    }
    fn scheme(&self) -> &'static str {
        "basic"
    }
}

/// How long a request refused with the old secret waits for a rotation under way to finish
/// before giving up (see [`BearerAuth::begin_rotation`]).
pub const ROTATION_WAIT_LIMIT: Duration = Duration::from_secs(60);

/// A Bearer token or API key: `Authorization: Bearer <token>`.
///
/// The token can be replaced at run time with [`BearerAuth::rotate`] (for example right after
/// an API key was regenerated); clones share the token, so a client holding a clone picks the
/// new one up on its next attempt. When the server refuses (`401`) a request that carried a
/// token that has since been replaced, [`Auth::on_unauthorized_for`] answers `true`, so the
/// client retries it once with the current token.
///
/// A key regenerated on the server dies before the client learns the new one. To bridge that
/// gap, announce the rotation with [`BearerAuth::begin_rotation`] before regenerating: until
/// the returned [`Rotation`] is completed or dropped, a request refused with the current token
/// waits for the new one (at most [`ROTATION_WAIT_LIMIT`]) and is then retried with it.
///
/// ```
/// let auth = dbsync_auth::BearerAuth::new("old-key");
/// let rotation = auth.begin_rotation();
/// // ... regenerate the key on the server, get "new-key" ...
/// rotation.complete("new-key");
/// ```
#[derive(Debug, Clone)]
pub struct BearerAuth {
    token: Arc<RwLock<Secret>>,
    rotation: Arc<RotationState>,
}

/// Rotations under way, and a signal each time the token changes or a rotation ends.
#[derive(Debug)]
struct RotationState {
    pending: AtomicUsize,
    changed: watch::Sender<u64>,
}

impl RotationState {
    fn signal(&self) {
        self.changed.send_modify(|generation| *generation += 1);
    }
}

impl BearerAuth {
    /// Builds the strategy from a token or API key.
    pub fn new(token: impl Into<Secret>) -> Self {
        Self {
            token: Arc::new(RwLock::new(token.into())),
            rotation: Arc::new(RotationState {
                pending: AtomicUsize::new(0),
                changed: watch::Sender::new(0),
            }),
        }
    }

    /// Replaces the token for every clone of this strategy, effective on the next attempt.
    pub fn rotate(&self, token: impl Into<Secret>) {
        let token = token.into();
        match self.token.write() {
            Ok(mut guard) => *guard = token,
            Err(poisoned) => *poisoned.into_inner() = token,
        }
        self.rotation.signal();
    }

    /// Announces that the token is about to be replaced (its key is being regenerated). Until
    /// the returned [`Rotation`] is completed or dropped, a request refused (`401`) with the
    /// current token waits for the new one instead of failing.
    #[must_use = "the rotation ends when this is dropped; call `complete` with the new token"]
    pub fn begin_rotation(&self) -> Rotation {
        self.rotation.pending.fetch_add(1, Ordering::SeqCst);
        Rotation { auth: self.clone() }
    }

    fn current(&self) -> Secret {
        match self.token.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Whether `sent` carried the current token.
    fn sent_current(&self, sent: &http::HeaderMap) -> bool {
        let current = self.current();
        sent.get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|token| token == current.expose())
    }
}

/// A rotation under way, from [`BearerAuth::begin_rotation`]. Complete it with the new token;
/// dropping it without completing ends the rotation and keeps the old token.
#[derive(Debug)]
pub struct Rotation {
    auth: BearerAuth,
}

impl Rotation {
    /// Switches to `token` and ends the rotation.
    pub fn complete(self, token: impl Into<Secret>) {
        self.auth.rotate(token);
    }
}

impl Drop for Rotation {
    fn drop(&mut self) {
        self.auth.rotation.pending.fetch_sub(1, Ordering::SeqCst);
        self.auth.rotation.signal();
    }
}

#[async_trait]
impl Auth for BearerAuth {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        let token = self.current();
        if token.is_empty() {
            return Err(AuthError::config(
                "the Bearer token is empty; set a token or API key",
            ));
        }
        request.set_header("authorization", &format!("Bearer {}", token.expose()))
    }

    /// `true` when the refused request carried a token that has been replaced since (retry
    /// with the new one). With the current token and a rotation under way, waits (at most
    /// [`ROTATION_WAIT_LIMIT`]) for the rotation to end, then answers the same question.
    async fn on_unauthorized_for(&self, sent_headers: &http::HeaderMap) -> Result<bool, AuthError> {
        let wait = async {
            loop {
                // Subscribe before checking, so a change right after the check is not missed.
                let mut changes = self.rotation.changed.subscribe();
                if !self.sent_current(sent_headers) {
                    return true;
                }
                if self.rotation.pending.load(Ordering::SeqCst) == 0 {
                    return false;
                }
                if changes.changed().await.is_err() {
                    return false;
                }
            }
        };
        Ok(tokio::time::timeout(ROTATION_WAIT_LIMIT, wait)
            .await
            .unwrap_or(false))
    }

    fn scheme(&self) -> &'static str {
        "bearer"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(token: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        headers
    }

    #[tokio::test]
    async fn a_replaced_token_is_worth_a_retry_the_current_one_is_not() {
        let auth = BearerAuth::new("one");
        assert!(!auth.on_unauthorized_for(&sent("one")).await.unwrap());
        auth.rotate("two");
        assert!(auth.on_unauthorized_for(&sent("one")).await.unwrap());
        assert!(!auth.on_unauthorized_for(&sent("two")).await.unwrap());
    }

    #[tokio::test]
    async fn a_refusal_during_a_rotation_waits_for_the_new_token() {
        let auth = BearerAuth::new("one");
        let rotation = auth.begin_rotation();
        let waiting = tokio::spawn({
            let auth = auth.clone();
            async move { auth.on_unauthorized_for(&sent("one")).await.unwrap() }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        rotation.complete("two");
        assert!(waiting.await.unwrap());
    }

    #[tokio::test]
    async fn an_abandoned_rotation_releases_the_waiters() {
        let auth = BearerAuth::new("one");
        let rotation = auth.begin_rotation();
        let waiting = tokio::spawn({
            let auth = auth.clone();
            async move { auth.on_unauthorized_for(&sent("one")).await.unwrap() }
        });
        tokio::task::yield_now().await;
        drop(rotation);
        assert!(!waiting.await.unwrap(), "the token did not change");
    }

    #[tokio::test(start_paused = true)]
    async fn a_forgotten_rotation_does_not_hang_requests() {
        let auth = BearerAuth::new("one");
        std::mem::forget(auth.begin_rotation());
        assert!(!auth.on_unauthorized_for(&sent("one")).await.unwrap());
    }

    #[test]
    fn debug_shows_no_token() {
        let auth = BearerAuth::new("tok-secret-1");
        let rotation = auth.begin_rotation();
        assert!(!format!("{auth:?} {rotation:?}").contains("tok-secret-1"));
    }
}
