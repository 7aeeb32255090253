//! Small helpers shared by the OAuth, API key, workflow and monitoring modules: random secrets,
//! hashing, timestamps, `limit`/`offset` parsing and (optional JSON) bodies.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ApiError;

/// A fresh random secret: `prefix` followed by 32 random bytes in base64url (43 characters).
pub(crate) fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of a secret; stores keep only this, never the secret itself.
pub(crate) fn sha256(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// Compares two byte strings in constant time (for equal lengths).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// The current wall-clock time, truncated to milliseconds.
pub(crate) fn now_utc() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_millisecond(now.millisecond()).unwrap_or(now)
}

/// RFC 3339 text of a timestamp, to the millisecond.
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_millisecond(at.millisecond())
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// A count given in a query (`limit`, `offset`): ASCII digits only. Rust's integer parser also
/// takes a leading `+` (`%2B5` in a query), which the contract does not allow.
pub(crate) fn parse_count(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `limit` (1..=1000, default 100) and `offset` (>= 0, default 0) from a query.
pub(crate) fn parse_page(
    limit: Option<&str>,
    offset: Option<&str>,
) -> Result<(usize, usize), ApiError> {
    let limit = match limit {
        None => 100,
        Some(text) => match parse_count(text) {
            Some(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(
                    "Query parameter `limit` must be an integer from 1 to 1000",
                ));
            }
        },
    };
    let offset = match offset {
        None => 0,
        Some(text) => parse_count(text).ok_or_else(|| {
            ApiError::bad_request("Query parameter `offset` must be a non-negative integer")
        })?,
    };
    Ok((limit, offset))
}

/// Rejects query parameters outside `allowed`, naming the first unknown one.
pub(crate) fn reject_unknown_params(
    params: &[(String, String)],
    allowed: &[&str],
) -> Result<(), ApiError> {
    match params.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        Some((key, _)) => Err(ApiError::bad_request(format!(
            "Unknown query parameter `{key}`; allowed: {}",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

/// The value of a query parameter given at most once.
pub(crate) fn single_param<'a>(
    params: &'a [(String, String)],
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    let mut values = params.iter().filter(|(k, _)| k == name);
    let first = values.next();
    if values.next().is_some() {
        return Err(ApiError::bad_request(format!(
            "Query parameter `{name}` is given more than once"
        )));
    }
    Ok(first.map(|(_, v)| v.as_str()))
}

/// Decodes a raw query string into pairs.
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// Whether the request says its body is JSON (`application/json`, any parameters).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json")
                || (v.len() > 5 && v[..v.len() - 5].contains('/') && v.ends_with("+json"))
        })
}

/// A body read by axum's `Bytes` extractor (under the configured `max_body_bytes`, see
/// `routes::app`), or the contract's error: `413` past the limit, `400` if unreadable.
pub(crate) fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body is larger than this server's request body limit",
            )
        } else {
            ApiError::bad_request("Could not read the request body")
        }
    })
}

/// An optional JSON body: empty means `None`; otherwise it must be labelled JSON (`415`) and
/// parse (`400`).
pub(crate) fn optional_json(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<serde_json::Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if !is_json(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Request body must be JSON: send `Content-Type: application/json`",
        ));
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("Request body is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_prefixed() {
        let a = random_secret("x_");
        let b = random_secret("x_");
        assert!(a.starts_with("x_") && a.len() == 45);
        assert_ne!(a, b);
    }

    #[test]
    fn page_bounds_are_enforced() {
        assert_eq!(parse_page(None, None).unwrap(), (100, 0));
        assert_eq!(parse_page(Some("1000"), Some("5")).unwrap(), (1000, 5));
        assert!(parse_page(Some("0"), None).is_err());
        assert!(parse_page(Some("1001"), None).is_err());
        assert!(parse_page(None, Some("-1")).is_err());
        assert!(parse_page(None, Some("x")).is_err());
        assert!(parse_page(Some("+5"), None).is_err());
        assert!(parse_page(None, Some("+5")).is_err());
        assert!(parse_page(None, Some("")).is_err());
    }

    #[test]
    fn optional_json_checks_type_and_syntax() {
        let mut headers = HeaderMap::new();
        assert_eq!(optional_json(&headers, b"").unwrap(), None);
        assert_eq!(
            optional_json(&headers, b"{}").unwrap_err().status.as_u16(),
            415
        );
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        assert_eq!(
            optional_json(&headers, b"{\"a\":1}").unwrap(),
            Some(serde_json::json!({"a": 1}))
        );
        assert_eq!(
            optional_json(&headers, b"{oops")
                .unwrap_err()
                .status
                .as_u16(),
            400
        );
    }

    #[test]
    fn timestamps_round_trip() {
        let now = now_utc();
        assert!(rfc3339(now).ends_with('Z'));
    }
}
