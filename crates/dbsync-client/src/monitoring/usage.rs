//! API usage: `GET /v1/usage`. The rate-limit headers last seen on any response are
//! [`Connection::last_rate_limit`].

use http::Method;
use serde::{Deserialize, Serialize};

use crate::connection::Connection;
use crate::error::Error;
use crate::request::{Call, JsonAs};

/// The account's usage against its rate limits. Every field is optional: a plan without a
/// limit has no `limit_per_minute`, `remaining` or `reset_at` (the sandbox sends `null`), and a
/// server older than the hour window sends no `limit_per_hour` nor `windows`. The top-level
/// `used`, `remaining` and `reset_at` are the minute window's; [`Usage::windows`] has each.
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
    /// Requests allowed per hour.
    #[serde(default)]
    pub limit_per_hour: Option<u64>,
    /// Each window the plan limits (minute, hour), as the server reports them; empty when it
    /// reports none. At most [`MAX_USAGE_WINDOWS`] are kept.
    #[serde(default, deserialize_with = "bounded_windows")]
    pub windows: Vec<UsageWindow>,
}

/// The most windows a [`Usage`] keeps; a server sending more is cut to these.
pub const MAX_USAGE_WINDOWS: usize = 16;

/// One rate-limit window of a [`Usage`]. Every number is optional: `null` for a window without
/// a limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UsageWindow {
    /// Which window.
    #[serde(default)]
    pub window: WindowKind,
    /// Requests allowed in the window.
    #[serde(default)]
    pub limit: Option<u64>,
    /// Requests used in the current window.
    #[serde(default)]
    pub used: Option<u64>,
    /// Requests left in the current window.
    #[serde(default)]
    pub remaining: Option<u64>,
    /// When the current window resets (RFC 3339).
    #[serde(default)]
    pub reset_at: Option<String>,
}

/// The length of a [`UsageWindow`]: the contract's `minute` and `hour`, or anything else a
/// server sends (kept as sent, at most 64 characters; empty when it sent none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum WindowKind {
    /// `minute`.
    Minute,
    /// `hour`.
    Hour,
    /// A window this client does not know, or none (the empty string).
    Other(String),
}

impl Default for WindowKind {
    fn default() -> Self {
        Self::Other(String::new())
    }
}

impl WindowKind {
    /// The window's name as on the wire (`minute`, `hour`, or what else was sent).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Other(name) => name,
        }
    }
}

impl From<String> for WindowKind {
    fn from(name: String) -> Self {
        match name.as_str() {
            "minute" => Self::Minute,
            "hour" => Self::Hour,
            _ => Self::Other(name.chars().take(64).collect()),
        }
    }
}

impl From<WindowKind> for String {
    fn from(kind: WindowKind) -> Self {
        kind.as_str().to_owned()
    }
}

impl std::fmt::Display for WindowKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Usage {
    /// The window of this kind, if the server reported it.
    pub fn window(&self, kind: &WindowKind) -> Option<&UsageWindow> {
        self.windows.iter().find(|w| &w.window == kind)
    }
}

/// `windows` as a list (`null` is empty), cut to [`MAX_USAGE_WINDOWS`] while reading.
fn bounded_windows<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<UsageWindow>, D::Error> {
    struct Windows;
    impl<'de> serde::de::Visitor<'de> for Windows {
        type Value = Vec<UsageWindow>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of usage windows, or null")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut windows = Vec::new();
            while let Some(window) = seq.next_element::<UsageWindow>()? {
                if windows.len() < MAX_USAGE_WINDOWS {
                    windows.push(window);
                }
            }
            Ok(windows)
        }
    }
    deserializer.deserialize_option(Windows)
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
