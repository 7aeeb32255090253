//! Classifying what one attempt got: an answer (a `2xx`, decoded), or a failure with its
//! [`Outcome`] for the retry decision and its [`Error`] (mapped by [`Error::from_response`] /
//! [`Error::from_transport`]).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};

use super::call::{Call, Reply};
use super::decode::{Decode, Decoded};
use crate::error::{Error, TransportKind};
use crate::retry::{Outcome, parse_retry_after};

/// What one attempt came to.
pub(crate) enum Attempted<T> {
    /// A `2xx` that was taken: the call's result (a body that does not fit its type is a final
    /// error; the attempt itself succeeded).
    Answered {
        /// The status.
        status: u16,
        /// The call's result.
        result: Result<T, Error>,
    },
    /// No usable answer: retried or returned as the [`Outcome`] decides.
    Failed(Outcome, Error),
}

impl<T> Attempted<T> {
    /// The outcome, for the retry decision ([`Outcome::Success`] for an answer).
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Self::Answered { .. } => Outcome::Success,
            Self::Failed(outcome, _) => *outcome,
        }
    }

    /// What logs record of the attempt: the status of an answer, or the attempt's error.
    pub(crate) fn logged(&self) -> Result<u16, &Error> {
        match self {
            Self::Answered { status, .. } => Ok(*status),
            Self::Failed(_, error) => Err(error),
        }
    }
}

/// No response came (or a TLS failure, which repeating cannot fix).
pub(crate) fn transport_failure<T>(call: &Call, error: reqwest::Error) -> Attempted<T> {
    let outcome = if error.is_connect() {
        Outcome::ConnectFailed
    } else {
        Outcome::TransportFailed
    };
    let error = Error::from_transport(error, &call.describe());
    let outcome = match error {
        Error::Transport {
            kind: TransportKind::Tls,
            ..
        } => Outcome::Fatal,
        _ => outcome,
    };
    Attempted::Failed(outcome, error)
}

/// A response with a status other than `2xx`, with its body (empty when it could not be read).
pub(crate) fn refused<T>(status: u16, headers: &HeaderMap, body: &[u8]) -> Attempted<T> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after =
        text(RETRY_AFTER.as_str()).and_then(|value| parse_retry_after(&value, SystemTime::now()));
    let error = Error::from_response(
        status,
        text(WWW_AUTHENTICATE.as_str()),
        text(LOCATION.as_str()),
        retry_after,
        body,
    );
    Attempted::Failed(
        Outcome::Status {
            status,
            retry_after,
        },
        error,
    )
}

/// A `2xx` whose body is over the size limit: the server may have acted, and the answer is
/// lost (the request path does not retry it).
pub(crate) fn too_large_answer<T>(error: Error) -> Attempted<T> {
    Attempted::Failed(Outcome::UnreadableBody, error)
}

/// A response with a status other than `2xx` whose body is over the size limit: its status
/// decides whether the server may have acted (the request path does not retry it).
pub(crate) fn too_large_refusal<T>(status: u16, error: Error) -> Attempted<T> {
    let outcome = Outcome::Status {
        status,
        retry_after: None,
    };
    Attempted::Failed(outcome, error)
}

/// A `2xx` response with its body (or the error reading it), decoded by `decode`. A body that
/// could not be read (unless `decode` does not need it) or is not JSON is an unreadable body:
/// the server may have acted. A body that did not arrive in time is a timeout
/// ([`TransportKind::Timeout`]), retried as one.
pub(crate) fn answered<D: Decode>(
    call: &Call,
    status: u16,
    headers: HeaderMap,
    body: Result<Bytes, reqwest::Error>,
    latency: Duration,
    decode: &D,
) -> Attempted<D::Output> {
    let body = match body {
        Ok(body) => body,
        Err(_) if !decode.needs_body() => Bytes::new(),
        Err(error) if error.is_timeout() => {
            let what = format!(
                "{} answered {status} but its body did not arrive in time",
                call.describe()
            );
            return Attempted::Failed(
                Outcome::TransportFailed,
                Error::from_transport(error, &what),
            );
        }
        Err(error) => {
            let message = format!(
                "{} answered {status} but the body could not be read ({}); the server may have \
                 acted on the request",
                call.describe(),
                error.without_url()
            );
            return Attempted::Failed(
                Outcome::UnreadableBody,
                Error::decode(Some(status), message, b""),
            );
        }
    };
    let reply = Reply {
        status,
        headers,
        body,
        latency,
        page: None,
    };
    match decode.decode(reply) {
        Decoded::Done(result) => Attempted::Answered { status, result },
        Decoded::NotJson(body) => {
            let message = format!(
                "{} answered {status} with a body that is not JSON; the server may have acted \
                 on the request",
                call.describe()
            );
            Attempted::Failed(
                Outcome::UnreadableBody,
                Error::decode(
                    Some(status),
                    message,
                    if call.quote_body { &body } else { b"" },
                ),
            )
        }
    }
}
