//! `dbsync login [NAME]`: asks for the URL, auth type and credentials on a terminal (the
//! secret with echo off), or reads the secret from standard input (`--with-token`); checks the
//! connection; only then saves profile NAME (secrets as `${NAME}` references unless
//! `--store-secret`), and makes it the default when there is none yet.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use clap::Args;

use crate::args::{AuthKind, ConnectionArgs};
use crate::connect::{Layers, read_capped};
use crate::exit::CliError;
use crate::profiles;

/// The longest answer read at a prompt, in bytes.
const MAX_ANSWER_BYTES: usize = 8 * 1024;

/// `dbsync login`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The profile to save (letters, digits, `-`, `_`, `.`).
    #[arg(default_value = "default")]
    pub name: String,
    /// Read the token (bearer), password (basic) or client secret (oauth2) from standard input
    /// instead of asking; the auth type is --auth (default bearer).
    #[arg(long)]
    pub with_token: bool,
    /// Store the secret in the profile (an owner-only file) instead of a ${NAME} reference.
    #[arg(long)]
    pub store_secret: bool,
}

/// Where login asks its questions: the terminal, or a script in tests.
pub trait Prompter {
    /// Asks `question` and returns the answer, echoed as typed.
    fn ask(&mut self, question: &str) -> Result<String, CliError>;
    /// Asks `question` and returns the answer, not echoed.
    fn ask_hidden(&mut self, question: &str) -> Result<String, CliError>;
}

/// Runs `dbsync login`.
pub async fn run(login: &LoginArgs, args: &ConnectionArgs) -> Result<(), CliError> {
    profiles::path_of(&login.name)?;
    if args.profile.is_some() || args.config.is_some() {
        return Err(CliError::usage(
            "dbsync login saves the profile it names: --profile and --config are not used",
        ));
    }
    let stdin_is_terminal = std::io::stdin().is_terminal();
    let args = if login.with_token {
        token_input_is_not_a_terminal(stdin_is_terminal)?;
        let mut args = args.clone();
        let kind = args.auth.unwrap_or(AuthKind::Bearer);
        args.auth = Some(kind);
        let secret = read_capped(
            &mut std::io::stdin().lock(),
            "--with-token (standard input)",
            "secret",
        )?;
        put_secret(&mut args, kind, secret)?;
        args
    } else if stdin_is_terminal {
        complete(args, &mut Terminal)?
    } else {
        let mut args = args.clone();
        if args.auth.is_none() {
            args.auth = std::env::var("DBSYNC_AUTH_TYPE")
                .ok()
                .and_then(|name| <AuthKind as clap::ValueEnum>::from_str(&name, true).ok());
        }
        if args.auth.is_none() {
            return Err(CliError::usage(
                "standard input is not a terminal to ask on: pass --with-token and pipe the \
                 secret, or give --auth and the credentials' variables",
            ));
        }
        args
    };
    let layers = Layers::with_default(&args, false)?;
    let mut settings = layers.settings(&args)?;
    settings.name = Some(login.name.clone());
    let connection = layers.connect(&settings)?;
    connection.validate().await.map_err(|e| {
        let mut error = CliError::from(e);
        error.message = format!("not saved: the connection check failed: {}", error.message);
        error
    })?;
    profiles::write(&login.name, &layers, settings, login.store_secret)?;
    if profiles::default_name()?.is_none() {
        profiles::set_default(&login.name)?;
    }
    Ok(())
}

/// Refuses `--with-token` when standard input is a terminal: a token typed there would be
/// echoed; the prompt (without `--with-token`) hides it.
fn token_input_is_not_a_terminal(stdin_is_terminal: bool) -> Result<(), CliError> {
    if stdin_is_terminal {
        return Err(CliError::usage(
            "--with-token reads the secret from standard input, which is a terminal: pipe it in \
             (dbsync login --with-token < token.txt), or leave --with-token out to be asked",
        ));
    }
    Ok(())
}

/// Puts `secret` where auth type `kind` takes it.
fn put_secret(args: &mut ConnectionArgs, kind: AuthKind, secret: String) -> Result<(), CliError> {
    match kind {
        AuthKind::Bearer => args.token = Some(secret),
        AuthKind::Basic => args.password = Some(secret),
        AuthKind::Oauth2 => args.client_secret = Some(secret),
        AuthKind::None => {
            return Err(CliError::usage(
                "--with-token with --auth none: there is no secret",
            ));
        }
    }
    args.token_stdin = false;
    args.password_stdin = false;
    args.client_secret_stdin = false;
    Ok(())
}

/// The connection flags with what is missing asked of `prompter`: the URL, the auth type, the
/// user name or client id, and the secret (hidden).
pub fn complete(
    args: &ConnectionArgs,
    prompter: &mut dyn Prompter,
) -> Result<ConnectionArgs, CliError> {
    let mut args = args.clone();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if args.url.is_none() && env("DBSYNC_API_URL").is_none() {
        args.url = Some(non_empty(
            prompter.ask("API URL (e.g. https://api.dbsync.com): ")?,
            "the URL",
        )?);
    }
    let kind = match args.auth {
        Some(kind) => kind,
        None => {
            let answer = prompter.ask("Auth type (none, basic, bearer, oauth2) [bearer]: ")?;
            let answer = answer.trim();
            if answer.is_empty() {
                AuthKind::Bearer
            } else {
                <AuthKind as clap::ValueEnum>::from_str(answer, true).map_err(|_| {
                    CliError::usage(format!(
                        "`{}` is not an auth type: none, basic, bearer or oauth2",
                        answer.escape_debug()
                    ))
                })?
            }
        }
    };
    args.auth = Some(kind);
    match kind {
        AuthKind::None => return Ok(args),
        AuthKind::Basic if args.username.is_none() && env("DBSYNC_USERNAME").is_none() => {
            args.username = Some(non_empty(prompter.ask("User name: ")?, "the user name")?);
        }
        AuthKind::Oauth2 if args.client_id.is_none() && env("DBSYNC_CLIENT_ID").is_none() => {
            args.client_id = Some(non_empty(prompter.ask("Client id: ")?, "the client id")?);
        }
        _ => {}
    }
    let question = match kind {
        AuthKind::Basic => "Password: ",
        AuthKind::Oauth2 => "Client secret: ",
        _ => "Token or API key: ",
    };
    let secret = non_empty(prompter.ask_hidden(question)?, "the secret")?;
    put_secret(&mut args, kind, secret)?;
    Ok(args)
}

fn non_empty(answer: String, what: &str) -> Result<String, CliError> {
    let answer = answer.trim().to_owned();
    if answer.is_empty() {
        return Err(CliError::usage(format!("no {what} given: nothing saved")));
    }
    Ok(answer)
}

/// The terminal: questions on stderr, answers from standard input, the hidden ones with echo
/// off (termios, restored afterwards, even on an error).
struct Terminal;

impl Terminal {
    fn read_line() -> Result<String, CliError> {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .take_line(&mut line)
            .map_err(|e| CliError::io("standard input", e))?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// Reading one line, at most [`MAX_ANSWER_BYTES`].
trait TakeLine {
    fn take_line(&mut self, line: &mut String) -> std::io::Result<usize>;
}

impl<R: std::io::BufRead> TakeLine for R {
    fn take_line(&mut self, line: &mut String) -> std::io::Result<usize> {
        let limit = u64::try_from(MAX_ANSWER_BYTES).unwrap_or(u64::MAX);
        std::io::Read::take(self, limit).read_line(line)
    }
}

impl Prompter for Terminal {
    fn ask(&mut self, question: &str) -> Result<String, CliError> {
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        Self::read_line()
    }

    fn ask_hidden(&mut self, question: &str) -> Result<String, CliError> {
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let answer = echo_off::while_hidden(Self::read_line);
        eprintln!();
        answer
    }
}

#[cfg(unix)]
mod echo_off {
    use crate::exit::CliError;

    /// Runs `read` with the terminal's echo off, restoring it afterwards.
    pub fn while_hidden(
        read: impl FnOnce() -> Result<String, CliError>,
    ) -> Result<String, CliError> {
        let fd = libc::STDIN_FILENO;
        // SAFETY: termios is a plain C struct; tcgetattr fills it or fails, checked.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd is standard input; `saved` is a valid termios to write to.
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return Err(CliError::other(
                "cannot turn the terminal's echo off: use --with-token and pipe the secret",
            ));
        }
        let mut hidden = saved;
        hidden.c_lflag &= !libc::ECHO;
        hidden.c_lflag |= libc::ECHONL;
        // SAFETY: a copy of the settings just read, with echo off.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &hidden) } != 0 {
            return Err(CliError::other(
                "cannot turn the terminal's echo off: use --with-token and pipe the secret",
            ));
        }
        let answer = read();
        // SAFETY: restores the settings read above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
        answer
    }
}

#[cfg(not(unix))]
mod echo_off {
    use crate::exit::CliError;

    /// Hidden input is only implemented on Unix terminals here.
    pub fn while_hidden(_: impl FnOnce() -> Result<String, CliError>) -> Result<String, CliError> {
        Err(CliError::usage(
            "hidden input is not supported on this system: use --with-token and pipe the secret",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers from a script; records which questions were hidden.
    struct Script {
        answers: Vec<&'static str>,
        hidden: Vec<String>,
        shown: Vec<String>,
    }

    impl Prompter for Script {
        fn ask(&mut self, question: &str) -> Result<String, CliError> {
            self.shown.push(question.to_owned());
            Ok(self.answers.remove(0).to_owned())
        }
        fn ask_hidden(&mut self, question: &str) -> Result<String, CliError> {
            self.hidden.push(question.to_owned());
            Ok(self.answers.remove(0).to_owned())
        }
    }

    fn script(answers: &[&'static str]) -> Script {
        Script {
            answers: answers.to_vec(),
            hidden: Vec::new(),
            shown: Vec::new(),
        }
    }

    #[test]
    fn the_secret_is_asked_hidden_and_the_rest_shown() {
        let args = ConnectionArgs {
            url: Some("http://127.0.0.1:1".into()),
            ..Default::default()
        };
        let mut prompter = script(&["basic", "alice", "pw-secret"]);
        let done = complete(&args, &mut prompter).unwrap();
        assert_eq!(done.auth, Some(AuthKind::Basic));
        assert_eq!(done.username.as_deref(), Some("alice"));
        assert_eq!(done.password.as_deref(), Some("pw-secret"));
        assert_eq!(prompter.hidden, vec!["Password: ".to_owned()]);
        assert!(prompter.shown.iter().all(|q| !q.contains("Password")));

        let mut prompter = script(&["", "tok"]);
        let done = complete(&args, &mut prompter).unwrap();
        assert_eq!(
            (done.auth, done.token.as_deref()),
            (Some(AuthKind::Bearer), Some("tok"))
        );
        assert_eq!(prompter.hidden.len(), 1);
    }

    #[test]
    fn a_token_is_not_read_from_a_terminal() {
        let error = token_input_is_not_a_terminal(true).unwrap_err();
        assert_eq!(error.exit, crate::exit::Exit::Usage);
        assert!(error.message.contains("is a terminal"), "{}", error.message);
        assert!(!error.message.contains('\n'));
        assert!(token_input_is_not_a_terminal(false).is_ok());
    }

    #[test]
    fn bad_or_empty_answers_are_refused() {
        let args = ConnectionArgs {
            url: Some("http://127.0.0.1:1".into()),
            ..Default::default()
        };
        let error = complete(&args, &mut script(&["kerberos"])).unwrap_err();
        assert!(
            error.message.contains("not an auth type"),
            "{}",
            error.message
        );
        let error = complete(&args, &mut script(&["bearer", "  "])).unwrap_err();
        assert!(error.message.contains("nothing saved"), "{}", error.message);
        assert_eq!(error.exit, crate::exit::Exit::Usage);
    }
}
