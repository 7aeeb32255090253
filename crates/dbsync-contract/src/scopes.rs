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
}
