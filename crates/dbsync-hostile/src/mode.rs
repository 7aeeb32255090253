//! The misbehaviours: one [`Mode`] per way a server can be hostile.

use std::time::Duration;

/// How the server misbehaves. Paths it does not misbehave on get an ordinary answer: a record
/// `{"id": ..}` for `GET /v1/{resource}/{id}`, a short page for `GET /v1/{resource}`, and a
/// token for `POST /oauth/token`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Mode {
    /// Every request: `200`, chunked (no `Content-Length`), a body that never ends.
    EndlessBody,
    /// Every request: `500` with a JSON error body of this many bytes, chunked, generated as
    /// it is sent (never held in memory).
    HugeErrorBody {
        /// The body's length.
        bytes: u64,
    },
    /// Lists: full pages (`limit` records) of new ids at every offset, forever, with no total.
    EndlessPages,
    /// Lists: the same full page of ids `1..=limit` at every offset, with no total.
    SamePage,
    /// Lists: `limit + 1` records at every offset.
    LongPage,
    /// Every request: `200` announcing a 1,000-byte JSON body, then one byte every `every`.
    Drip {
        /// The pause between two bytes.
        every: Duration,
    },
    /// Every connection is accepted and its request read; no answer is ever written.
    Silent,
    /// Every request: a redirect with this status to this absolute URL (another host).
    Redirect {
        /// `301`, `302`, `303`, `307` or `308`.
        status: u16,
        /// The `Location` header.
        location: String,
    },
    /// Every request: `429` with this `Retry-After` value, verbatim.
    RetryAfter(String),
    /// Lists and gets answer normally (25 records in all), each with `X-RateLimit-Remaining: 0`
    /// and this `X-RateLimit-Reset` value, verbatim.
    RateLimitReset(String),
    /// The token endpoint (`POST /oauth/token`) answers this; the API answers normally.
    Token(TokenAnswer),
    /// Terminal escape sequences in record values and keys (gets and lists), and in the error
    /// message and details of every other path (a `404`).
    Escapes,
    /// Every request: `200` with a record and one header whose value is this many bytes.
    HugeHeader {
        /// The header value's length.
        bytes: usize,
    },
    /// Every request: `200` with a record and this many headers.
    ManyHeaders {
        /// How many `X-Pad-N` headers.
        count: usize,
    },
    /// Every request: `200` with a record whose string value holds bytes that are not UTF-8.
    InvalidUtf8Body,
    /// Every request: `200` with a record, and header values (`X-RateLimit-*`, `Retry-After`,
    /// the `Content-Type` charset, a custom header) that are not UTF-8.
    InvalidUtf8Header,
}

/// How the token endpoint misbehaves in [`Mode::Token`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TokenAnswer {
    /// `200` with an HTML page.
    Html,
    /// `200` with a JSON body of this many bytes, chunked, generated as it is sent.
    Huge {
        /// The body's length.
        bytes: u64,
    },
    /// `200` with `{"access_token":` and nothing more.
    Truncated,
    /// `200` with a well-formed token response whose access token is this many bytes.
    LongToken {
        /// The access token's length.
        bytes: usize,
    },
}
