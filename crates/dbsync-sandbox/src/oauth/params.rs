//! The request parameters of both endpoints, and the syntax of the `scope` parameter.

use super::error::OAuthError;
use crate::scopes::Scopes;

/// Request parameters, each at most once; an empty value counts as absent (RFC 6749 3.1).
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    pub(super) fn parse(raw: &[u8]) -> Result<Self, String> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw).into_owned().collect();
        // A set, not a scan per pair: the token endpoint is public and a body may hold many
        // thousands of parameters.
        let mut seen = std::collections::HashSet::new();
        for (key, _) in &pairs {
            if !seen.insert(key.as_str()) {
                return Err(format!("Parameter `{key}` is given more than once"));
            }
        }
        Ok(Self(pairs))
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::new(
                "invalid_request",
                format!("Missing required parameter `{name}`"),
            )
        })
    }

    /// The optional `scope` parameter; `invalid_scope` when it breaks RFC 6749 section 3.3 or
    /// names a scope the contract does not have (the client may have every scope).
    pub(super) fn scope(&self) -> Result<Option<String>, OAuthError> {
        match self.get("scope") {
            None => Ok(None),
            Some(scope) if valid_scope(scope) => match Scopes::from_scope_param(scope) {
                Ok(_) => Ok(Some(scope.to_owned())),
                Err(unknown) => Err(OAuthError::new(
                    "invalid_scope",
                    format!(
                        "Unknown scope `{}`; the scopes are {}",
                        unknown.chars().take(64).collect::<String>(),
                        Scopes::all().names().join(", ")
                    ),
                )),
            },
            Some(_) => Err(OAuthError::new(
                "invalid_scope",
                "The scope must be space-separated tokens of printable ASCII without `\"` or `\\`",
            )),
        }
    }
}

/// Checks a `scope` value: space-separated tokens of RFC 6749 section 3.3 characters.
fn valid_scope(scope: &str) -> bool {
    dbsync_contract::scopes::is_scope_list(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_syntax() {
        assert!(valid_scope("records:read records:write"));
        assert!(!valid_scope("a  b"));
        assert!(!valid_scope("quote\"d"));
        assert!(!valid_scope(""));
    }
}
