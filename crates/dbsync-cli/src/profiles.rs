//! Saved connection profiles: one settings JSON file per profile in the user's config
//! directory (`DBSYNC_CONFIG_DIR` overrides it), written with owner-only permissions.

use std::io::Write;
use std::path::PathBuf;

use dbsync_client::{AuthSettings, ConnectionSettings, SaveOptions, SecretValue};
use serde_json::{Value, json};

use crate::args::{ConnectionArgs, ConnectionCommand};
use crate::connect::Layers;
use crate::exit::{CliError, Exit};
use crate::output::{Format, RecordWriter, write_one};

/// The directory profiles live in: `$DBSYNC_CONFIG_DIR`, else `$XDG_CONFIG_HOME/dbsync`, else
/// `~/.config/dbsync` (`%APPDATA%\dbsync` on Windows).
pub fn config_dir() -> Result<PathBuf, CliError> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("DBSYNC_CONFIG_DIR") {
        return Ok(dir);
    }
    if cfg!(windows)
        && let Some(dir) = var("APPDATA")
    {
        return Ok(dir.join("dbsync"));
    }
    if let Some(dir) = var("XDG_CONFIG_HOME") {
        return Ok(dir.join("dbsync"));
    }
    if let Some(home) = var("HOME") {
        return Ok(home.join(".config").join("dbsync"));
    }
    Err(CliError::other(
        "cannot tell where to keep profiles: set DBSYNC_CONFIG_DIR (or HOME)",
    ))
}

fn profiles_dir() -> Result<PathBuf, CliError> {
    Ok(config_dir()?.join("profiles"))
}

/// The file of profile `name` (letters, digits, `-`, `_`, `.`; up to 64 characters).
pub fn path_of(name: &str) -> Result<PathBuf, CliError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(CliError::usage(format!(
            "`{name}` is not a usable profile name: use up to 64 letters, digits, `-`, `_` or `.`"
        )));
    }
    Ok(profiles_dir()?.join(format!("{name}.json")))
}

/// Runs `dbsync connection ...`.
pub async fn run(
    command: &ConnectionCommand,
    args: &ConnectionArgs,
    format: Format,
) -> Result<(), CliError> {
    match command {
        ConnectionCommand::Save {
            name,
            store_secret,
            no_check,
        } => save(name, *store_secret, *no_check, args).await,
        ConnectionCommand::List => list(format),
        ConnectionCommand::Show { name: Some(name) } => show(name, format),
        ConnectionCommand::Show { name: None } => crate::precedence::show(args, format),
        ConnectionCommand::Use { name } => set_default(name),
        ConnectionCommand::Remove { name } => {
            let path = path_of(name)?;
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    eprintln!("removed connection `{name}`");
                    Ok(())
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(not_found(name)),
                Err(e) => Err(CliError::io(path.display(), e)),
            }
        }
    }
}

pub fn not_found(name: &str) -> CliError {
    CliError::new(
        Exit::NotFound,
        format!("no saved connection `{name}` (see `dbsync connection list`)"),
    )
}

async fn save(
    name: &str,
    store_secret: bool,
    no_check: bool,
    args: &ConnectionArgs,
) -> Result<(), CliError> {
    path_of(name)?;
    let layers = Layers::with_default(args, false)?;
    let mut settings = layers.settings(args)?;
    settings.name = Some(name.to_owned());
    if !no_check {
        let connection = layers.connect(&settings)?;
        connection.validate().await.map_err(|e| {
            let mut error = CliError::from(e);
            error.message = format!(
                "not saved: the connection check failed: {} (use --no-check to save anyway)",
                error.message
            );
            error
        })?;
    }
    write(name, &layers, settings, store_secret)
}

/// Writes profile `name` (owner-only file in an owner-only directory), its secrets inlined
/// when `store_secret`, else kept as `${NAME}` references; says where on stderr.
pub fn write(
    name: &str,
    layers: &Layers,
    mut settings: ConnectionSettings,
    store_secret: bool,
) -> Result<(), CliError> {
    let path = path_of(name)?;
    if store_secret {
        layers.inline_secrets(&mut settings)?;
    }
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let report = settings.save(&path, SaveOptions::default().with_secrets(store_secret))?;
    eprintln!("saved connection `{name}` to {}", report.path.display());
    for (field, reference) in secret_references(&settings) {
        if !store_secret {
            eprintln!(
                "  {field} is kept as {reference}: set it in the environment when using the profile"
            );
        }
    }
    Ok(())
}

/// The file naming the default profile.
fn default_file() -> Result<PathBuf, CliError> {
    Ok(config_dir()?.join("default-profile"))
}

/// The default profile's name (`dbsync connection use NAME`), if one is set.
pub fn default_name() -> Result<Option<String>, CliError> {
    let path = default_file()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let name = text.trim().to_owned();
            path_of(&name)?;
            Ok(Some(name))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::io(path.display(), e)),
    }
}

/// `dbsync connection use NAME`: makes the saved profile `name` the default, written to a
/// temporary file then renamed, so a failure leaves the old default whole.
pub fn set_default(name: &str) -> Result<(), CliError> {
    if !path_of(name)?.exists() {
        return Err(not_found(name));
    }
    let path = default_file()?;
    let dir = config_dir()?;
    create_private_dir(&dir)?;
    let temporary = dir.join(".default-profile.tmp");
    std::fs::write(&temporary, format!("{name}\n"))
        .and_then(|()| std::fs::rename(&temporary, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            CliError::io(path.display(), e)
        })?;
    eprintln!("`{name}` is now the default connection");
    Ok(())
}

/// The secret fields kept as `${NAME}` references.
fn secret_references(settings: &ConnectionSettings) -> Vec<(&'static str, String)> {
    let reference = |field: &'static str, variable: &str, value: &SecretValue| match value {
        SecretValue::EnvRef(name) => (field, format!("${{{name}}}")),
        SecretValue::Literal(_) => (field, format!("${{{variable}}}")),
    };
    match &settings.auth {
        AuthSettings::Basic { password, .. } => {
            vec![reference("auth.password", "DBSYNC_PASSWORD", password)]
        }
        AuthSettings::Bearer { token } => vec![reference("auth.token", "DBSYNC_TOKEN", token)],
        AuthSettings::OAuth2 { client_secret, .. } => {
            vec![reference(
                "auth.client_secret",
                "DBSYNC_CLIENT_SECRET",
                client_secret,
            )]
        }
        _ => Vec::new(),
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &std::path::Path) -> Result<(), CliError> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| CliError::io(dir.display(), e))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &std::path::Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir.display(), e))
}

fn load(name: &str) -> Result<ConnectionSettings, CliError> {
    let path = path_of(name)?;
    if !path.exists() {
        return Err(not_found(name));
    }
    Ok(ConnectionSettings::from_file(&path)?)
}

fn list(format: Format) -> Result<(), CliError> {
    let dir = profiles_dir()?;
    let mut names: Vec<String> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".json").map(str::to_owned)
            })
            .filter(|name| !name.starts_with('.'))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(CliError::io(dir.display(), e)),
    };
    names.sort();
    let stdout = std::io::stdout();
    let mut writer = RecordWriter::new(stdout.lock(), format);
    for name in names {
        let row = match load(&name) {
            Ok(settings) => json!({
                "name": name,
                "api_url": settings.api_url,
                "auth": settings.auth.type_name(),
            }),
            Err(error) => {
                json!({"name": name, "api_url": null, "auth": null, "error": error.message})
            }
        };
        writer.write(&row).map_err(|e| CliError::io("stdout", e))?;
    }
    writer.finish().map_err(|e| CliError::io("stdout", e))?;
    Ok(())
}

/// The profile as JSON with every literal secret replaced by a marker.
pub fn redacted(settings: &ConnectionSettings) -> Value {
    let (mut json, _) = settings.to_json(false);
    let literal_fields: Vec<&str> = match &settings.auth {
        AuthSettings::Basic {
            password: SecretValue::Literal(_),
            ..
        } => vec!["password"],
        AuthSettings::Bearer {
            token: SecretValue::Literal(_),
        } => vec!["token"],
        AuthSettings::OAuth2 {
            client_secret: SecretValue::Literal(_),
            ..
        } => {
            vec!["client_secret"]
        }
        _ => Vec::new(),
    };
    if let Some(auth) = json.get_mut("auth").and_then(Value::as_object_mut) {
        for field in literal_fields {
            auth.insert(
                field.to_owned(),
                Value::from("(stored in the profile, not shown)"),
            );
        }
    }
    json
}

fn show(name: &str, format: Format) -> Result<(), CliError> {
    let settings = load(name)?;
    let json = redacted(&settings);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Table => {
            let text =
                serde_json::to_string_pretty(&json).map_err(|e| CliError::other(e.to_string()))?;
            writeln!(out, "{text}").map_err(|e| CliError::io("stdout", e))
        }
        _ => write_one(out, format, &json).map_err(|e| CliError::io("stdout", e)),
    }
}
