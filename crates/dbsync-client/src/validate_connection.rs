//! "Validate Connection": one cheap authenticated call that says whether URL and credentials
//! work.

use std::time::Duration;

use http::Method;

use crate::connection::Connection;
use crate::error::Error;
use crate::query::Query;
use crate::rate_limit::RateLimitInfo;
use crate::request::{Call, Expect};
use crate::retry::RetryPolicy;

/// What [`Connection::validate`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationReport {
    /// The server answered.
    pub reachable: bool,
    /// Credentials were sent and accepted (`false` for a strategy that sends none).
    pub authenticated: bool,
    /// The auth scheme used (`none`, `basic`, `bearer`, `oauth2`...).
    pub auth_scheme: &'static str,
    /// The HTTP status of the check.
    pub status: u16,
    /// How long the check took (the last attempt, including a token fetch is not counted).
    pub latency: Duration,
    /// The server's rate-limit headers on the answer.
    pub rate_limit: RateLimitInfo,
    /// What was called, e.g. `GET https://api.dbsync.com/v1/records?limit=1`.
    pub checked: String,
}

impl Connection {
    /// Validates the connection with one `GET /v1/{resource}?limit=1` (the resource set with
    /// [`crate::ConnectionBuilder::validate_resource`], `records` by default). No retries
    /// (except the one a refreshing strategy gets after a `401`).
    ///
    /// The error tells the cases apart: host unreachable ([`Error::Transport`] with
    /// [`crate::TransportKind::Connect`], [`Error::is_connect`]), TLS
    /// ([`crate::TransportKind::Tls`]), wrong base URL ([`Error::NotFound`], whose message says
    /// so), bad credentials ([`Error::Unauthorized`]), credentials without the scope to read the
    /// resource ([`Error::Forbidden`]), or a strategy that could not get a token
    /// ([`Error::Auth`]).
    pub async fn validate(&self) -> Result<ValidationReport, Error> {
        let resource = self.validate_resource();
        let mut url = self.endpoint(&[resource])?;
        Query::new().limit(1).apply(&mut url);
        let checked = format!("GET {url}");
        let call = Call::new(Method::GET, url, format!("/v1/{resource}"));
        let reply = self
            .transport()
            .send_with(&call, &RetryPolicy::none(), Expect::Json)
            .await
            .result
            .map_err(|error| explain(error, self, &checked))?;
        Ok(ValidationReport {
            reachable: true,
            authenticated: self.transport().auth().sends_credentials(),
            auth_scheme: self.auth_scheme(),
            status: reply.status,
            latency: reply.latency,
            rate_limit: RateLimitInfo::from_headers(&reply.headers),
            checked,
        })
    }
}

/// Adds what the failure means for a connection check.
fn explain(error: Error, connection: &Connection, checked: &str) -> Error {
    match error {
        Error::NotFound { message } => Error::NotFound {
            message: format!(
                "{checked} answered 404 ({message}): the base URL `{}` looks wrong (resources \
                 must be under {{base}}/v1), or the resource `{}` does not exist",
                connection.base_url(),
                connection.validate_resource()
            ),
        },
        Error::Unauthorized { message, challenge } => Error::Unauthorized {
            message: format!(
                "{checked}: the server refused the `{}` credentials ({message})",
                connection.auth_scheme()
            ),
            challenge,
        },
        Error::Forbidden { message, scope } => Error::Forbidden {
            message: format!(
                "{checked}: the server accepted the `{}` credentials but refused the call \
                 ({message})",
                connection.auth_scheme()
            ),
            scope,
        },
        other => other,
    }
}
