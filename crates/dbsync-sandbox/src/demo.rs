//! The built-in demo credentials: what `dbsync-sandbox` and `dbsync sandbox` use when no
//! credential is given. Anyone can read them here, so the `dbsync-sandbox` binary refuses to
//! listen beyond loopback with them unless told `--allow-demo-credentials`.

/// The basic mode's username.
pub const USERNAME: &str = "demo";
/// The basic mode's password.
pub const PASSWORD: &str = "demo-password";
/// The bearer mode's token.
pub const TOKEN: &str = "demo";
/// The OAuth 2.0 mode's client id.
pub const CLIENT_ID: &str = "demo-client";
/// The OAuth 2.0 mode's client secret.
pub const CLIENT_SECRET: &str = "demo-secret";
