//! `${NAME}` references to environment variables: how variables are looked up, which names a
//! reference may read (`DBSYNC_*`, plus an explicit allow-list), and reading a reference.

use crate::error::Error;

/// How environment variables are read: a function from name to value. Tests pass a map;
/// [`process_env`] reads the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads the process environment (an unset or non-UTF-8 variable is `None`).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `${NAME}` -> `NAME`.
pub(super) fn env_reference(value: &str) -> Option<&str> {
    let name = value.strip_prefix("${")?.strip_suffix('}')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(name)
}

/// The prefix of the variables a reference may always read. Any other name must be allowed
/// by the caller ([`ConnectionSettings::allow_env`](super::ConnectionSettings::allow_env)): a
/// settings file also chooses `api_url`, so a reference to an arbitrary variable would send
/// that variable's value to whoever wrote the file.
pub(super) const ALLOWED_PREFIX: &str = "DBSYNC_";

/// Reads the variable `name` for the setting `field` through `env`, if the name may be read:
/// it starts with `DBSYNC_` or is in `allowed`. A refused name is an error naming the variable
/// (its value is never read).
pub(super) fn read_variable(
    field: &str,
    name: &str,
    env: EnvLookup<'_>,
    allowed: &[String],
) -> Result<String, Error> {
    if !name.starts_with(ALLOWED_PREFIX) && !allowed.iter().any(|a| a == name) {
        return Err(Error::config(format!(
            "{field}: the settings refer to the environment variable {name}, which they may not \
             read: only {ALLOWED_PREFIX}* variables are read unless the caller allows more \
             (ConnectionSettings::allow_env)"
        )));
    }
    env(name).ok_or_else(|| {
        Error::config(format!(
            "{field}: the environment variable {name} is not set"
        ))
    })
}

/// Reads a `${NAME}` reference through `env` (see [`read_variable`]); other values are returned
/// as they are.
pub(super) fn expand(
    field: &str,
    value: &str,
    env: EnvLookup<'_>,
    allowed: &[String],
) -> Result<String, Error> {
    match env_reference(value) {
        Some(name) => read_variable(field, name, env, allowed),
        None => Ok(value.to_owned()),
    }
}
