//! Where the connection comes from: flags over `DBSYNC_*` variables over a settings file or a
//! saved profile. The layering reuses dbsync-client's own environment reader: each flag stands
//! in for its variable, and `--config`/`--profile` for `DBSYNC_CONFIG`. A secret read from
//! standard input or a `*_FILE` variable's file (`secret_input`) stands in for its variable too.

mod secret_input;

pub use secret_input::{check_stdin_use, read_capped};

use std::collections::HashMap;
use std::path::PathBuf;

use dbsync_client::{AuthSettings, Connection, ConnectionSettings, RetrySettings, SecretValue};
use secret_input::read_secrets;

use crate::args::ConnectionArgs;
use crate::exit::CliError;
use crate::profiles;

/// The variables a flag stands in for, with the flags' values, and the profile used.
pub struct Layers {
    overrides: HashMap<&'static str, String>,
    /// The profile used as the file layer, and what chose it.
    profile: Option<(String, ProfileSource)>,
}

/// What chose the profile a command uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileSource {
    /// `--profile NAME`.
    Flag,
    /// `DBSYNC_PROFILE`.
    Env,
    /// The default profile (`dbsync connection use NAME`).
    Default,
}

impl ProfileSource {
    /// Where the name came from, in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Flag => "--profile",
            Self::Env => "DBSYNC_PROFILE",
            Self::Default => "the default profile, set by `dbsync connection use`",
        }
    }
}

/// A variable of the process, when set and not blank.
fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Layers {
    /// The flags as variable overrides (`--url` is `DBSYNC_API_URL`, ...), the secrets read
    /// from standard input or `*_FILE` files as their variables, and the file layer
    /// (`--profile`, `--config`, else `DBSYNC_PROFILE` or the default profile unless
    /// `DBSYNC_CONFIG` is set) as `DBSYNC_CONFIG`.
    pub fn new(args: &ConnectionArgs) -> Result<Self, CliError> {
        Self::with_default(args, true)
    }

    /// Like [`Layers::new`]; without `DBSYNC_PROFILE` nor the default profile when
    /// `with_default` is false (saving a new profile starts from the flags and environment).
    pub fn with_default(args: &ConnectionArgs, with_default: bool) -> Result<Self, CliError> {
        let mut overrides = HashMap::new();
        let mut put = |name: &'static str, value: &Option<String>| {
            if let Some(value) = value {
                overrides.insert(name, value.clone());
            }
        };
        put("DBSYNC_API_URL", &args.url);
        put(
            "DBSYNC_AUTH_TYPE",
            &args.auth.map(|a| a.as_str().to_owned()),
        );
        put("DBSYNC_USERNAME", &args.username);
        put("DBSYNC_PASSWORD", &args.password);
        put("DBSYNC_TOKEN", &args.token);
        put("DBSYNC_CLIENT_ID", &args.client_id);
        put("DBSYNC_CLIENT_SECRET", &args.client_secret);
        put("DBSYNC_TOKEN_URL", &args.token_url);
        put("DBSYNC_SCOPES", &args.scopes);
        let secrets = read_secrets(
            args,
            &|name| std::env::var(name).ok(),
            &|name| std::env::var_os(name),
            &mut std::io::stdin().lock(),
        )?;
        overrides.extend(secrets);
        let profile = match (&args.profile, &args.config) {
            (Some(_), Some(_)) => {
                return Err(CliError::usage("give --profile or --config, not both"));
            }
            (Some(name), None) => Some((name.clone(), ProfileSource::Flag)),
            (None, None) if with_default && non_empty_env("DBSYNC_CONFIG").is_none() => {
                match non_empty_env("DBSYNC_PROFILE") {
                    Some(name) => Some((name, ProfileSource::Env)),
                    None => profiles::default_name()?.map(|name| (name, ProfileSource::Default)),
                }
            }
            (None, _) => None,
        };
        let file: Option<PathBuf> = match &profile {
            Some((name, source)) => {
                let path = profiles::path_of(name)?;
                if !path.exists() {
                    return Err(CliError::new(
                        crate::exit::Exit::NotFound,
                        format!(
                            "no saved connection `{name}` ({}; see `dbsync connection list`)",
                            source.describe()
                        ),
                    ));
                }
                Some(path)
            }
            None => args.config.clone(),
        };
        if let Some(path) = file {
            overrides.insert("DBSYNC_CONFIG", path.to_string_lossy().into_owned());
        }
        Ok(Self { overrides, profile })
    }

    /// The profile used as the file layer, and what chose it.
    pub fn profile(&self) -> Option<&(String, ProfileSource)> {
        self.profile.as_ref()
    }

    /// A variable: the flag standing in for it, else the process environment.
    pub fn var(&self, name: &str) -> Option<String> {
        self.overrides
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    }

    /// The settings the layers describe, with the flags that are not variables applied.
    pub fn settings(&self, args: &ConnectionArgs) -> Result<ConnectionSettings, CliError> {
        let lookup = |name: &str| self.var(name);
        if lookup("DBSYNC_API_URL").is_none() && lookup("DBSYNC_CONFIG").is_none() {
            return Err(CliError::usage(
                "no connection given: pass --url (or set DBSYNC_API_URL), --config FILE or \
                 --profile NAME",
            ));
        }
        let mut settings =
            ConnectionSettings::from_env_map(&lookup)?.allow_env(args.allow_env.iter().cloned());
        if args.allow_insecure_http {
            settings.allow_insecure_http = true;
        }
        if let Some(secs) = args.timeout {
            settings.timeout_secs = Some(secs.max(1));
        }
        if args.max_retries.is_some() || args.max_retry_after.is_some() {
            let mut retry = settings.retry.unwrap_or_else(RetrySettings::default);
            if let Some(n) = args.max_retries {
                retry.max_retries = Some(n);
            }
            if let Some(secs) = args.max_retry_after {
                retry.max_retry_after_secs = Some(secs);
            }
            settings.retry = Some(retry);
        }
        if let Some(bytes) = args.max_response_bytes {
            settings.max_response_bytes = Some(bytes);
        }
        Ok(settings)
    }

    /// Builds the connection, reading `${NAME}` references through the layers (`DBSYNC_*`
    /// and the names allowed with `--allow-env`).
    pub fn connect(&self, settings: &ConnectionSettings) -> Result<Connection, CliError> {
        Ok(settings
            .builder_with_env(&|name: &str| self.var(name))?
            .on_wait(crate::progress::announce_wait)
            .build()?)
    }

    /// Replaces every `${NAME}` secret reference with its value (for `--store-secret`); a
    /// name allowed with `--allow-env` is read like a `DBSYNC_*` one.
    pub fn inline_secrets(&self, settings: &mut ConnectionSettings) -> Result<(), CliError> {
        let allowed = settings.allowed_env().to_vec();
        let env = |name: &str| self.var(name);
        let inline = |field: &str, value: &mut SecretValue| -> Result<(), CliError> {
            if let SecretValue::EnvRef(name) = value {
                let resolved = if allowed.contains(name) {
                    // Checked like `resolve` checks a `DBSYNC_*` name: set and not empty.
                    let text = self.var(name).filter(|v| !v.is_empty()).ok_or_else(|| {
                        CliError::usage(format!(
                            "{field}: the environment variable {name} is not set"
                        ))
                    })?;
                    dbsync_auth::Secret::new(text)
                } else {
                    value.resolve(field, &env)?
                };
                *value = SecretValue::Literal(resolved);
            }
            Ok(())
        };
        match &mut settings.auth {
            AuthSettings::Basic { password, .. } => inline("auth.password", password)?,
            AuthSettings::Bearer { token } => inline("auth.token", token)?,
            AuthSettings::OAuth2 { client_secret, .. } => {
                inline("auth.client_secret", client_secret)?
            }
            _ => {}
        }
        Ok(())
    }
}

/// The connection given by the flags, variables and file or profile.
pub fn connection(args: &ConnectionArgs) -> Result<Connection, CliError> {
    let layers = Layers::new(args)?;
    let settings = layers.settings(args)?;
    layers.connect(&settings)
}
