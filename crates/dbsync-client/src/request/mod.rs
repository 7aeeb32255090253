//! The request path: [`Transport`] owns it (HTTP client, auth, retry policy, throttle,
//! rate-limiter hook, API log sinks, timeout, origin check), and sending a [`Call`] on it
//! returns `Sent`: the result and whether the server may have acted on it.
//!
//! 1. **build** the URL and headers ([`Call`], `call::build_headers`);
//! 2. **authorize**: the [`dbsync_auth::Auth`] strategy adds credentials, afresh on every
//!    attempt, and only for the connection's own origin;
//! 3. **rate limit**: wait for the [`crate::RateLimiter`], if one is installed, then for the
//!    shared throttle (`throttle`: the `requests_per_minute` and `requests_per_hour` budgets,
//!    a pause another task's `429` set, pacing from `X-RateLimit-*` (`pacing`)), within the
//!    call's cap on rate-limit waits;
//! 4. **send** with reqwest (the body is [`bytes::Bytes`], so every attempt sends the same
//!    body);
//! 5. **classify** what came back (`classify`) into a [`crate::retry::Outcome`] and a result: a
//!    `2xx` is taken as the call takes it ([`Transport::send`]: read whole and decoded;
//!    [`Transport::send_streaming`]: handed over unread), anything else is an error mapped
//!    by `Error::from_response` / `Error::from_transport`. A body read whole is read chunk by
//!    chunk within the connection's size limit (`body`); one over it ends the call, unretried,
//!    with [`crate::TransportKind::ResponseTooLarge`]. Every wait and attempt stays
//!    within the call's deadline (`waits`, [`crate::RetryPolicy::call_deadline`]);
//! 6. **retry or map error**: a `401` asks the strategy to refresh
//!    ([`dbsync_auth::Auth::on_unauthorized_for`], told the headers it sent) and retries once at
//!    most; everything else goes through the pure [`crate::retry::decide`], with the call's
//!    retry budget (`budget`: failures and `429`s counted apart, the connection's
//!    [`crate::RetryQuota`], the deadline); each wait is told to the connection's wait observer;
//! 7. **decode** the body with the call's [`Decode`]r ([`JsonAs`]: into a type, that one parse
//!    also being the check that a `2xx` body is JSON; [`Expect`]: the whole [`Reply`], checked).
//!
//! Each attempt hands one finished [`crate::ApiLogEntry`] to the API log sinks. Each call runs
//! in a `dbsync_call` debug span (method, path template, auth scheme); each attempt logs one
//! debug event (attempt, status, duration). No secrets, no bodies.
//!
//! This module knows nothing of connections, resources, scans or bulk writes: they build calls
//! and send them here.

mod attempts;
mod body;
mod budget;
mod call;
mod classify;
mod decode;
mod gcra;
mod pacing;
mod throttle;
mod transport;
mod waits;

pub(crate) use call::{Call, Reply, new_idempotency_key};
pub(crate) use decode::{Decode, Decoded, Expect, JsonAs, first_byte, not_an_object};
pub(crate) use throttle::Budgets;
pub(crate) use transport::{Transport, TransportParts};

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::Method;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::{Connection, Error, RetryPolicy};

    async fn post(server: &MockServer, with_key: bool) -> Result<Reply, Error> {
        let connection = Connection::builder()
            .base_url(server.uri())
            .retry(
                RetryPolicy::default()
                    .max_retries(3)
                    .initial_backoff(Duration::from_millis(1)),
            )
            .build()
            .unwrap();
        let url = connection.endpoint(&["workflows", "w1", "runs"]).unwrap();
        let mut call = Call::new(Method::POST, url, "/v1/workflows/{id}/runs".into())
            .json_body(&serde_json::json!({"input": 1}))
            .unwrap();
        if with_key {
            call = call.with_new_idempotency_key();
        }
        connection
            .transport()
            .send(&call, Expect::Json)
            .await
            .result
    }

    #[tokio::test]
    async fn a_post_without_a_key_is_not_retried() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .expect(1)
            .mount(&server)
            .await;
        let err = post(&server, false).await.unwrap_err();
        assert_eq!(err.status(), Some(503));
    }

    #[tokio::test]
    async fn a_post_with_a_key_is_retried() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .expect(4)
            .mount(&server)
            .await;
        assert!(post(&server, true).await.is_err());
    }
}
