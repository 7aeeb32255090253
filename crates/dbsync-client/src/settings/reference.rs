//! `${NAME}` references to environment variables: how variables are looked up, and reading a
//! reference.

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

/// Reads a `${NAME}` reference from `env`; other values are returned as they are.
pub(super) fn expand(field: &str, value: &str, env: EnvLookup<'_>) -> Result<String, Error> {
    match env_reference(value) {
        Some(name) => env(name).ok_or_else(|| {
            Error::config(format!(
                "{field}: the environment variable {name} is not set"
            ))
        }),
        None => Ok(value.to_owned()),
    }
}
