//! Connection settings: the contract's "API Json", parsed with errors that name the field,
//! and turned into a [`Connection`](crate::Connection).
//!
//! A string value of the form `${NAME}` is a reference to the environment variable `NAME`,
//! read when the connection is built (not when the settings are parsed), so settings keep the
//! reference and a saved file need not hold a secret. A reference reads only `DBSYNC_*`
//! variables unless the caller allows more names ([`ConnectionSettings::allow_env`]): settings
//! also choose `api_url`, so an arbitrary `${AWS_SECRET_ACCESS_KEY}` in an untrusted file would
//! send that secret to the file's author.
//!
//! - `model`: the settings types.
//! - `reference`: `${NAME}` references and how variables are looked up.
//! - `read`: parsing settings JSON (file, text or value), field by field.
//! - `env`: settings from the `DBSYNC_*` environment variables.
//! - `connect`: settings -> `ConnectionBuilder` / `Connection`.
//! - `write`: settings -> JSON, literal secrets as references unless asked for.
//! - `save`: writing a settings file with owner-only permissions.

mod connect;
mod env;
mod model;
mod read;
mod reference;
mod save;
mod write;

pub use model::{
    AuthSettings, ConnectionSettings, PaginationSettings, RateLimitSettings, RetrySettings,
    SecretValue, TlsSettings,
};
pub use reference::{EnvLookup, process_env};
pub use save::{SaveOptions, SaveReport};
