//! The three OAuth 2.0 grants: their kinds and RFC 6749 names, as given to the builder, as
//! checked, and as one request to the token endpoint.

use url::Url;

use crate::Secret;

/// Which grant: the one thing the grant enums below have in common, and where their names live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum GrantKind {
    ClientCredentials,
    RefreshToken,
    AuthorizationCode,
}

impl GrantKind {
    /// The grant's RFC 6749 name, as logged and shown in errors and `Debug`.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
            Self::AuthorizationCode => "authorization_code",
        }
    }
}

/// The grant as given to the builder, not yet checked.
pub(super) enum BuilderGrant {
    ClientCredentials,
    RefreshToken(Secret),
    AuthorizationCode {
        authorize_url: String,
        redirect_uri: String,
    },
}

impl BuilderGrant {
    pub(super) fn kind(&self) -> GrantKind {
        match self {
            Self::ClientCredentials => GrantKind::ClientCredentials,
            Self::RefreshToken(_) => GrantKind::RefreshToken,
            Self::AuthorizationCode { .. } => GrantKind::AuthorizationCode,
        }
    }
}

/// The grant of a built strategy, its URLs checked. (The refresh token lives in the cache: it
/// may rotate.)
pub(super) enum Grant {
    ClientCredentials,
    RefreshToken,
    AuthorizationCode {
        authorize_url: Url,
        redirect_uri: Url,
    },
}

impl Grant {
    pub(super) fn kind(&self) -> GrantKind {
        match self {
            Self::ClientCredentials => GrantKind::ClientCredentials,
            Self::RefreshToken => GrantKind::RefreshToken,
            Self::AuthorizationCode { .. } => GrantKind::AuthorizationCode,
        }
    }
}

/// One request to the token endpoint.
pub(super) enum TokenGrant<'a> {
    ClientCredentials,
    Refresh(&'a Secret),
    Code { code: &'a str, verifier: &'a Secret },
}

impl TokenGrant<'_> {
    pub(super) fn kind(&self) -> GrantKind {
        match self {
            Self::ClientCredentials => GrantKind::ClientCredentials,
            Self::Refresh(_) => GrantKind::RefreshToken,
            Self::Code { .. } => GrantKind::AuthorizationCode,
        }
    }
}
