//! The permission scopes of the contract ("Scopes, permissions and key expiry"): what each
//! allows, the list of all of them, and the `WWW-Authenticate` error code of a `403`.

/// `GET` on `/v1/{resource}...` (records, schemas), workflow lists and run status.
pub const RECORDS_READ: &str = "records:read";

/// `POST`/`PUT`/`DELETE` on resources and batches.
pub const RECORDS_WRITE: &str = "records:write";

/// Triggering and cancelling workflow runs.
pub const WORKFLOWS_RUN: &str = "workflows:run";

/// The server's API logs, their export, and the usage.
pub const LOGS_READ: &str = "logs:read";

/// Everything under `/v1/api-keys`.
pub const KEYS_MANAGE: &str = "keys:manage";

/// Every scope the contract defines, in the order above. The fixed credentials of the basic and
/// bearer modes have all of them; so does an API key created without `scopes` by such a caller.
pub const ALL: [&str; 5] = [
    RECORDS_READ,
    RECORDS_WRITE,
    WORKFLOWS_RUN,
    LOGS_READ,
    KEYS_MANAGE,
];

/// The `error` of a `403`'s `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`.
pub const INSUFFICIENT_SCOPE: &str = "insufficient_scope";

/// Whether `token` is one scope token of RFC 6749 section 3.3: non-empty, made of the
/// characters `%x21 / %x23-5B / %x5D-7E` (printable ASCII without space, `"` or `\`).
pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// Whether `value` is a `scope` parameter: space-separated scope tokens (RFC 6749 section 3.3).
pub fn is_scope_list(value: &str) -> bool {
    value.split(' ').all(is_scope_token)
}

/// Whether `scope` is one the contract defines.
pub fn is_known(scope: &str) -> bool {
    ALL.contains(&scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_is_known_and_distinct() {
        for (i, scope) in ALL.iter().enumerate() {
            assert!(is_known(scope));
            assert!(!ALL[i + 1..].contains(scope), "{scope} twice");
        }
        assert!(!is_known("records"));
        assert!(!is_known("RECORDS:READ"));
    }

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        assert!(is_scope_token("records:read") && is_scope_token("a!#[]~"));
        for bad in ["", "a b", "a\"b", "a\\b", "é", "a\u{7f}"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
        assert!(is_scope_list("records:read logs:read"));
        assert!(!is_scope_list("") && !is_scope_list("a  b") && !is_scope_list(" a"));
    }
}
