//! The contract's scopes (`records:read`, `records:write`, `workflows:run`, `logs:read`,
//! `keys:manage`): which one each route needs, and the `403 insufficient_scope` answer.

use std::fmt;

use axum::http::{HeaderValue, Method, StatusCode, header};
use dbsync_contract::scopes;

use crate::error::ApiError;

/// One permission of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// `records:read`: `GET` on resources (schemas included), workflow list and run status.
    RecordsRead,
    /// `records:write`: `POST`/`PUT`/`DELETE` on resources and batches.
    RecordsWrite,
    /// `workflows:run`: trigger and cancel workflow runs.
    WorkflowsRun,
    /// `logs:read`: logs, their export, usage.
    LogsRead,
    /// `keys:manage`: everything under `/v1/api-keys`.
    KeysManage,
}

impl Scope {
    /// Every scope, in the contract's order.
    pub const ALL: [Scope; 5] = [
        Scope::RecordsRead,
        Scope::RecordsWrite,
        Scope::WorkflowsRun,
        Scope::LogsRead,
        Scope::KeysManage,
    ];

    /// The scope's name on the wire, e.g. `records:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RecordsRead => scopes::RECORDS_READ,
            Self::RecordsWrite => scopes::RECORDS_WRITE,
            Self::WorkflowsRun => scopes::WORKFLOWS_RUN,
            Self::LogsRead => scopes::LOGS_READ,
            Self::KeysManage => scopes::KEYS_MANAGE,
        }
    }

    /// The scope named `name`, if the contract has one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    fn bit(self) -> u8 {
        match self {
            Self::RecordsRead => 1,
            Self::RecordsWrite => 2,
            Self::WorkflowsRun => 4,
            Self::LogsRead => 8,
            Self::KeysManage => 16,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes (what a credential may do).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Scopes {
    /// No scope at all.
    pub const fn none() -> Self {
        Self(0)
    }

    /// Every scope (the fixed credentials of the basic and bearer modes, no-auth mode, and an
    /// OAuth 2.0 grant that asked for no `scope`).
    pub const fn all() -> Self {
        Self(31)
    }

    /// This set plus `scope`.
    pub fn with(self, scope: Scope) -> Self {
        Self(self.0 | scope.bit())
    }

    /// Whether `scope` is in the set.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// The set as one byte (one bit per scope), to key caches by what a caller may do.
    pub(crate) fn bits(self) -> u8 {
        self.0
    }

    /// Whether the set holds no scope.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes of `self` that `other` lacks, in the contract's order.
    pub fn missing_from(self, other: Scopes) -> Vec<Scope> {
        self.iter().filter(|s| !other.contains(*s)).collect()
    }

    /// The scopes in the set, in the contract's order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The names, in the contract's order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Scope::as_str).collect()
    }

    /// Parses names; `Err(name)` names the first one that is not a scope.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, &'a str> {
        names.into_iter().try_fold(Self::none(), |set, name| {
            Scope::parse(name).map(|s| set.with(s)).ok_or(name)
        })
    }

    /// Parses a space-separated OAuth 2.0 `scope` value.
    pub fn from_scope_param(value: &str) -> Result<Self, &str> {
        Self::from_names(value.split(' ').filter(|s| !s.is_empty()))
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

/// The scope a request needs, from its method and path; `None` outside `/v1`.
pub(crate) fn required_scope(method: &Method, path: &str) -> Option<Scope> {
    let under = |prefix: &str| {
        path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    let read = method == Method::GET || method == Method::HEAD;
    if under("/v1/api-keys") {
        Some(Scope::KeysManage)
    } else if under("/v1/logs") || under("/v1/usage") {
        Some(Scope::LogsRead)
    } else if under("/v1/workflows") {
        Some(if read {
            Scope::RecordsRead
        } else {
            Scope::WorkflowsRun
        })
    } else if under("/v1") {
        Some(if read {
            Scope::RecordsRead
        } else {
            Scope::RecordsWrite
        })
    } else {
        None
    }
}

/// The contract's `403`: names the missing scope, with
/// `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."` (RFC 6750 3.1).
pub(crate) fn insufficient_scope(missing: &[Scope], what: &str) -> ApiError {
    let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
    let joined = names.join(" ");
    let message = match names.as_slice() {
        [one] => {
            format!("Forbidden: {what} needs the scope `{one}`, which this token or key lacks")
        }
        _ => format!(
            "Forbidden: {what} needs the scopes `{}`, which this token or key lacks",
            names.join("`, `")
        ),
    };
    let challenge = format!(
        "Bearer error=\"{}\", scope=\"{joined}\"",
        scopes::INSUFFICIENT_SCOPE
    );
    let error = ApiError::new(StatusCode::FORBIDDEN, message);
    match HeaderValue::from_str(&challenge) {
        Ok(value) => error.with_header(header::WWW_AUTHENTICATE, value),
        Err(_) => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sets_compare() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(Scope::ALL.len(), Scopes::all().names().len());
        let read = Scopes::from_scope_param("records:read").unwrap();
        assert!(read.contains(Scope::RecordsRead));
        assert!(!read.contains(Scope::RecordsWrite));
        assert_eq!(Scopes::from_names(["records:read", "admin"]), Err("admin"));
        assert_eq!(Scopes::all().missing_from(read).len(), Scope::ALL.len() - 1);
        assert!(read.missing_from(Scopes::all()).is_empty());
        assert_eq!(format!("{read:?}"), "{\"records:read\"}");
    }

    #[test]
    fn every_route_group_needs_its_scope() {
        use Scope::*;
        for (method, path, scope) in [
            (Method::GET, "/v1/records", Some(RecordsRead)),
            (Method::GET, "/v1/records/schema", Some(RecordsRead)),
            (Method::POST, "/v1/records/batch", Some(RecordsWrite)),
            (Method::PUT, "/v1/records/7", Some(RecordsWrite)),
            (Method::DELETE, "/v1/records/7", Some(RecordsWrite)),
            (Method::GET, "/v1/workflows", Some(RecordsRead)),
            (Method::GET, "/v1/workflows/w/runs/r", Some(RecordsRead)),
            (Method::POST, "/v1/workflows/w/runs", Some(WorkflowsRun)),
            (Method::DELETE, "/v1/workflows/w/runs/r", Some(WorkflowsRun)),
            (Method::GET, "/v1/logs/export", Some(LogsRead)),
            (Method::GET, "/v1/usage", Some(LogsRead)),
            (Method::GET, "/v1/api-keys", Some(KeysManage)),
            (Method::POST, "/v1/api-keys/k/regenerate", Some(KeysManage)),
            (Method::GET, "/v1/logsx", Some(RecordsRead)),
            (Method::GET, "/elsewhere", None),
            (Method::GET, "/v1x", None),
        ] {
            assert_eq!(required_scope(&method, path), scope, "{method} {path}");
        }
    }
}
