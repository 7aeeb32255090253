//! API usage: `GET /v1/usage`. The rate-limit headers last seen on any response are
//! [`Connection::last_rate_limit`].

use http::Method;
use serde::{Deserialize, Serialize};

use crate::connection::Connection;
use crate::error::Error;
use crate::request::{Call, JsonAs};

/// The account's usage against its rate limit. Every field is optional: a plan without a
/// limit has no `limit_per_minute`, `remaining` or `reset_at` (the sandbox sends `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Usage {
    /// The plan's name.
    #[serde(default)]
    pub plan: Option<String>,
    /// Requests allowed per minute.
    #[serde(default)]
    pub limit_per_minute: Option<u64>,
    /// Requests used in the current window.
    #[serde(default)]
    pub used: Option<u64>,
    /// Requests left in the current window.
    #[serde(default)]
    pub remaining: Option<u64>,
    /// When the window resets (RFC 3339).
    #[serde(default)]
    pub reset_at: Option<String>,
}

impl Connection {
    /// The account's usage: `GET /v1/usage`.
    ///
    /// ```no_run
    /// # async fn demo(connection: dbsync_client::Connection) -> Result<(), dbsync_client::Error> {
    /// let usage = connection.usage().await?;
    /// println!("{:?} used of {:?} per minute", usage.used, usage.limit_per_minute);
    /// if let Some(headers) = connection.last_rate_limit() {
    ///     println!("{:?} left until {:?}", headers.remaining, headers.reset);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn usage(&self) -> Result<Usage, Error> {
        let url = self.endpoint(&["usage"])?;
        let call = Call::new(Method::GET, url, "/v1/usage".to_owned());
        self.transport()
            .send(&call, JsonAs::new("the usage"))
            .await
            .result
    }
}
