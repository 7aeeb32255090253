//! Secrets without flags (a flag's value shows in `ps`): a token, password or client secret
//! read from standard input (`--token-stdin`, `--password-stdin`, `--client-secret-stdin`) or
//! from the file named by a `*_FILE` variable (`DBSYNC_TOKEN_FILE`, `DBSYNC_PASSWORD_FILE`,
//! `DBSYNC_CLIENT_SECRET_FILE`), capped in size. Errors name the source, never the secret.
//!
//! For each secret the first of these is used: its flag (`--token`), its `-stdin` flag (the
//! two together are refused), its variable (`DBSYNC_TOKEN`), the file of its `*_FILE`
//! variable, then the settings file or profile. A source not used is not read.

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;

use crate::args::{Cli, Command, ConnectionArgs, ConnectionCommand};
use crate::exit::CliError;

/// The most bytes read for one secret, from standard input or a file (64 KiB).
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// One secret the CLI takes without a flag.
struct SecretSource {
    /// What it is, in messages.
    label: &'static str,
    /// The variable its flag stands in for.
    variable: &'static str,
    /// The variable naming a file that holds it.
    file_variable: &'static str,
    /// Its flag.
    flag: &'static str,
    /// Its standard-input flag.
    stdin_flag: &'static str,
}

const SOURCES: [SecretSource; 3] = [
    SecretSource {
        label: "token",
        variable: "DBSYNC_TOKEN",
        file_variable: "DBSYNC_TOKEN_FILE",
        flag: "--token",
        stdin_flag: "--token-stdin",
    },
    SecretSource {
        label: "password",
        variable: "DBSYNC_PASSWORD",
        file_variable: "DBSYNC_PASSWORD_FILE",
        flag: "--password",
        stdin_flag: "--password-stdin",
    },
    SecretSource {
        label: "client secret",
        variable: "DBSYNC_CLIENT_SECRET",
        file_variable: "DBSYNC_CLIENT_SECRET_FILE",
        flag: "--client-secret",
        stdin_flag: "--client-secret-stdin",
    },
];

/// The flag value and whether the `-stdin` flag was given, for `source`.
fn given<'a>(args: &'a ConnectionArgs, source: &SecretSource) -> (&'a Option<String>, bool) {
    match source.variable {
        "DBSYNC_TOKEN" => (&args.token, args.token_stdin),
        "DBSYNC_PASSWORD" => (&args.password, args.password_stdin),
        _ => (&args.client_secret, args.client_secret_stdin),
    }
}

/// The `-stdin` flag given, if any (at most one: standard input can be read once).
fn stdin_flag(args: &ConnectionArgs) -> Result<Option<&'static str>, CliError> {
    let flags: Vec<&'static str> = SOURCES
        .iter()
        .filter(|source| given(args, source).1)
        .map(|source| source.stdin_flag)
        .collect();
    match flags.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(CliError::usage(format!(
            "give only one of {}: standard input holds one secret",
            many.join(", ")
        ))),
    }
}

/// Refuses a `-stdin` flag with a command that reads records from standard input, or that
/// makes no connection (the flag would be ignored).
pub fn check_stdin_use(cli: &Cli) -> Result<(), CliError> {
    let Some(flag) = stdin_flag(&cli.connection)? else {
        return Ok(());
    };
    let is_stdin = |path: &Path| path.as_os_str() == "-";
    let reads_records = match &cli.command {
        Command::Create(write) => write.file.as_deref().is_some_and(is_stdin),
        Command::Update(update) => update.write.file.as_deref().is_some_and(is_stdin),
        Command::Resend(resend) => is_stdin(&resend.input),
        Command::Validate(validate) => is_stdin(&validate.input),
        Command::Api(api) => crate::api_cmd::reads_stdin(api),
        Command::Login(login) => login.with_token,
        _ => false,
    };
    if reads_records {
        return Err(CliError::usage(format!(
            "{flag} reads the secret from standard input, and this command reads its records \
             from there too (`-`): give the records as a file, or the secret through its \
             *_FILE variable"
        )));
    }
    let connects = match &cli.command {
        Command::Completions { .. } => false,
        Command::Connection(command) => matches!(command, ConnectionCommand::Save { .. }),
        Command::Validate(validate) => validate.resource.is_some(),
        _ => true,
    };
    if !connects {
        return Err(CliError::usage(format!(
            "{flag} is given but this command takes no secret from standard input"
        )));
    }
    Ok(())
}

/// The secrets read from standard input or `*_FILE` files, as `(variable, value)` pairs to
/// stand in for their variables. `var` reads a variable as text, `var_os` as a path; `stdin`
/// is read only when a `-stdin` flag asks for it.
pub fn read_secrets(
    args: &ConnectionArgs,
    var: &dyn Fn(&str) -> Option<String>,
    var_os: &dyn Fn(&str) -> Option<OsString>,
    stdin: &mut dyn Read,
) -> Result<Vec<(&'static str, String)>, CliError> {
    stdin_flag(args)?;
    let mut secrets = Vec::new();
    for source in &SOURCES {
        let (flag_value, from_stdin) = given(args, source);
        if flag_value.is_some() && from_stdin {
            return Err(CliError::usage(format!(
                "give {} or {}, not both",
                source.flag, source.stdin_flag
            )));
        }
        if flag_value.is_some() {
            continue;
        }
        if from_stdin {
            let what = format!("{} (standard input)", source.stdin_flag);
            secrets.push((source.variable, read_capped(stdin, &what, source.label)?));
            continue;
        }
        if var(source.variable).is_some_and(|value| !value.trim().is_empty()) {
            continue;
        }
        if let Some(path) = var_os(source.file_variable).filter(|path| !path.is_empty()) {
            let path = Path::new(&path);
            let what = format!("{} (`{}`)", source.file_variable, path.display());
            let mut file = std::fs::File::open(path)
                .map_err(|e| CliError::usage(format!("{what}: cannot open the file: {e}")))?;
            secrets.push((
                source.variable,
                read_capped(&mut file, &what, source.label)?,
            ));
        }
    }
    Ok(secrets)
}

/// Reads one secret from `reader`: at most [`MAX_SECRET_BYTES`], UTF-8, one trailing newline
/// (`\n` or `\r\n`) removed, not empty. `what` names the source in errors.
pub fn read_capped(reader: &mut dyn Read, what: &str, label: &str) -> Result<String, CliError> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_SECRET_BYTES).unwrap_or(u64::MAX);
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::usage(format!("{what}: cannot read the {label}: {e}")))?;
    if bytes.len() > MAX_SECRET_BYTES {
        return Err(CliError::usage(format!(
            "{what} holds more than {} KiB: that is not a {label}",
            MAX_SECRET_BYTES / 1024
        )));
    }
    let Ok(mut text) = String::from_utf8(bytes) else {
        return Err(CliError::usage(format!(
            "{what}: the {label} is not UTF-8 text"
        )));
    };
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.trim().is_empty() {
        return Err(CliError::usage(format!(
            "{what} is empty: expected the {label}"
        )));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-5c1e-never-print";

    fn args() -> ConnectionArgs {
        ConnectionArgs::default()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn no_env_os(_: &str) -> Option<OsString> {
        None
    }

    fn read(args: &ConnectionArgs, stdin: &[u8]) -> Result<Vec<(&'static str, String)>, String> {
        read_secrets(args, &no_env, &no_env_os, &mut &stdin[..]).map_err(|e| e.message)
    }

    #[test]
    fn standard_input_gives_one_secret_with_one_trailing_newline_removed() {
        let mut a = args();
        a.token_stdin = true;
        for (input, expected) in [
            (format!("{SECRET}\n"), SECRET.to_owned()),
            (format!("{SECRET}\r\n"), SECRET.to_owned()),
            (SECRET.to_owned(), SECRET.to_owned()),
            (format!("{SECRET}\n\n"), format!("{SECRET}\n")),
            (format!(" {SECRET} "), format!(" {SECRET} ")),
        ] {
            assert_eq!(
                read(&a, input.as_bytes()).unwrap(),
                vec![("DBSYNC_TOKEN", expected)]
            );
        }
        let mut a = args();
        a.client_secret_stdin = true;
        assert_eq!(
            read(&a, b"cs\n").unwrap(),
            vec![("DBSYNC_CLIENT_SECRET", "cs".to_owned())]
        );
    }

    #[test]
    fn bad_standard_input_is_a_clear_error_without_the_secret() {
        let mut a = args();
        a.password_stdin = true;
        for (input, expected) in [
            (
                Vec::new(),
                "--password-stdin (standard input) is empty: expected the password",
            ),
            (b"\n".to_vec(), "is empty"),
            (b" \r\n".to_vec(), "is empty"),
            (vec![0xff, 0xfe], "the password is not UTF-8 text"),
            (
                SECRET
                    .repeat(MAX_SECRET_BYTES / SECRET.len() + 1)
                    .into_bytes(),
                "holds more than 64 KiB",
            ),
        ] {
            let message = read(&a, &input).unwrap_err();
            assert!(message.contains(expected), "{message}");
            assert!(!message.contains(SECRET), "{message}");
        }
        // Exactly the cap is fine.
        let at_cap = "p".repeat(MAX_SECRET_BYTES);
        assert_eq!(
            read(&a, at_cap.as_bytes()).unwrap()[0].1.len(),
            MAX_SECRET_BYTES
        );
    }

    #[test]
    fn one_stdin_flag_at_a_time_and_never_beside_its_flag() {
        let mut a = args();
        a.token_stdin = true;
        a.password_stdin = true;
        let message = read(&a, b"x").unwrap_err();
        assert!(
            message.contains("--token-stdin, --password-stdin"),
            "{message}"
        );
        let mut a = args();
        a.token_stdin = true;
        a.token = Some(SECRET.into());
        let message = read(&a, b"x").unwrap_err();
        assert_eq!(message, "give --token or --token-stdin, not both");
    }

    #[test]
    fn a_file_variable_is_read_after_the_flag_and_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, format!("{SECRET}\n")).unwrap();
        let env_os = |name: &str| (name == "DBSYNC_TOKEN_FILE").then(|| file.clone().into());

        // Only the file: read.
        let read_with = |a: &ConnectionArgs, var: &dyn Fn(&str) -> Option<String>| {
            read_secrets(a, var, &env_os, &mut &b""[..]).map_err(|e| e.message)
        };
        assert_eq!(
            read_with(&args(), &no_env).unwrap(),
            vec![("DBSYNC_TOKEN", SECRET.to_owned())]
        );
        // The variable or the flag wins, and the file is then not read.
        std::fs::remove_file(&file).unwrap();
        let var = |name: &str| (name == "DBSYNC_TOKEN").then(|| "from-var".to_owned());
        assert_eq!(read_with(&args(), &var).unwrap(), Vec::new());
        let mut a = args();
        a.token = Some("from-flag".into());
        assert_eq!(read_with(&a, &no_env).unwrap(), Vec::new());
        // A missing file is an error naming the variable and the path.
        let message = read_with(&args(), &no_env).unwrap_err();
        assert!(message.starts_with("DBSYNC_TOKEN_FILE (`"), "{message}");
        assert!(message.contains("cannot open the file"), "{message}");
        // An empty file too.
        std::fs::write(&file, "\n").unwrap();
        let message = read_with(&args(), &no_env).unwrap_err();
        assert!(
            message.ends_with("is empty: expected the token"),
            "{message}"
        );
    }

    #[test]
    fn an_endless_file_stops_at_the_cap() {
        let env_os = |name: &str| (name == "DBSYNC_PASSWORD_FILE").then(|| "/dev/zero".into());
        if !Path::new("/dev/zero").exists() {
            return;
        }
        let message = read_secrets(&args(), &no_env, &env_os, &mut &b""[..])
            .unwrap_err()
            .message;
        assert!(message.contains("holds more than 64 KiB"), "{message}");
    }
}
