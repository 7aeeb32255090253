//! `dbsync connection show` without a name: each connection setting in use, its value (secrets
//! masked) and where it came from, in the order the CLI takes them: flag, standard input,
//! environment variable, `*_FILE` variable, then the profile or settings file.

use dbsync_client::ConnectionSettings;
use serde_json::{Value, json};

use crate::args::ConnectionArgs;
use crate::connect::Layers;
use crate::exit::CliError;
use crate::output::{Format, RecordWriter};

/// One setting: its name, its variable, its `auth`/top-level key in the file, whether secret.
struct Setting {
    name: &'static str,
    variable: &'static str,
    key: &'static str,
    secret: bool,
}

const SETTINGS: [Setting; 9] = [
    Setting {
        name: "url",
        variable: "DBSYNC_API_URL",
        key: "api_url",
        secret: false,
    },
    Setting {
        name: "auth",
        variable: "DBSYNC_AUTH_TYPE",
        key: "type",
        secret: false,
    },
    Setting {
        name: "username",
        variable: "DBSYNC_USERNAME",
        key: "username",
        secret: false,
    },
    Setting {
        name: "password",
        variable: "DBSYNC_PASSWORD",
        key: "password",
        secret: true,
    },
    Setting {
        name: "token",
        variable: "DBSYNC_TOKEN",
        key: "token",
        secret: true,
    },
    Setting {
        name: "client_id",
        variable: "DBSYNC_CLIENT_ID",
        key: "client_id",
        secret: false,
    },
    Setting {
        name: "client_secret",
        variable: "DBSYNC_CLIENT_SECRET",
        key: "client_secret",
        secret: true,
    },
    Setting {
        name: "token_url",
        variable: "DBSYNC_TOKEN_URL",
        key: "token_url",
        secret: false,
    },
    Setting {
        name: "scopes",
        variable: "DBSYNC_SCOPES",
        key: "scopes",
        secret: false,
    },
];

/// The flag value of `setting` and the flag's name.
fn flag_of(args: &ConnectionArgs, setting: &Setting) -> (Option<String>, bool) {
    match setting.name {
        "url" => (args.url.clone(), false),
        "auth" => (args.auth.map(|a| a.as_str().to_owned()), false),
        "username" => (args.username.clone(), false),
        "password" => (args.password.clone(), args.password_stdin),
        "token" => (args.token.clone(), args.token_stdin),
        "client_id" => (args.client_id.clone(), false),
        "client_secret" => (args.client_secret.clone(), args.client_secret_stdin),
        "token_url" => (args.token_url.clone(), false),
        _ => (args.scopes.clone(), false),
    }
}

/// Prints one row per setting: `setting`, `value`, `source`.
pub fn show(args: &ConnectionArgs, format: Format) -> Result<(), CliError> {
    let layers = Layers::new(args)?;
    let (file, file_label) = match (layers.profile(), layers.var("DBSYNC_CONFIG")) {
        (Some((name, source)), Some(path)) => (
            Some(path),
            format!("profile `{name}` (chosen by {})", source.describe()),
        ),
        (None, Some(path)) => (Some(path.clone()), format!("settings file {path}")),
        (_, None) => (None, String::new()),
    };
    let file_json = match &file {
        Some(path) => crate::profiles::redacted(&ConnectionSettings::from_file(path)?),
        None => Value::Null,
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mask = |setting: &Setting, value: String| match setting.secret {
        true => "***".to_owned(),
        false => value,
    };
    let stdout = std::io::stdout();
    let mut writer = RecordWriter::new(stdout.lock(), format);
    for setting in &SETTINGS {
        let (flag, from_stdin) = flag_of(args, setting);
        let file_value = match setting.key {
            "api_url" => file_json.get("api_url"),
            key => file_json.get("auth").and_then(|auth| auth.get(key)),
        };
        let file_text = file_value.and_then(|value| match value {
            Value::String(text) => Some(text.clone()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Value::Null => None,
            other => Some(other.to_string()),
        });
        let file_variable = format!("{}_FILE", setting.variable);
        let (value, source) = if let Some(value) = flag {
            (
                mask(setting, value),
                format!("flag --{}", setting.name.replace('_', "-")),
            )
        } else if from_stdin {
            ("***".to_owned(), "standard input".to_owned())
        } else if let Some(value) = env(setting.variable) {
            (
                mask(setting, value),
                format!("environment {}", setting.variable),
            )
        } else if setting.secret && env(&file_variable).is_some() {
            (
                "***".to_owned(),
                format!("the file named by {file_variable}"),
            )
        } else if let Some(text) = file_text {
            // A reference (`${NAME}`) is shown as written; a stored secret is already masked.
            (text, file_label.clone())
        } else {
            (String::new(), "not set".to_owned())
        };
        let row = json!({"setting": setting.name, "value": value, "source": source});
        writer.write(&row).map_err(|e| CliError::io("stdout", e))?;
    }
    writer.finish().map_err(|e| CliError::io("stdout", e))?;
    Ok(())
}
