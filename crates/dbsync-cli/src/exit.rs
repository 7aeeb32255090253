//! Exit codes: scripts tell failure classes apart by them; and the errors the CLI prints.

use crate::terminal_text::{self, MAX_MESSAGE_CHARS};

/// The classes of outcome the CLI reports through its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: everything worked.
    Ok = 0,
    /// 1: anything not covered below.
    Other = 1,
    /// 2: the command line was wrong (clap reports these itself).
    Usage = 2,
    /// 3: authentication failed (bad or missing credentials, token endpoint refused).
    Auth = 3,
    /// 4: the resource, record, workflow or run does not exist.
    NotFound = 4,
    /// 5: validation failed, locally or on the server.
    Validation = 5,
    /// 6: rate limited, still after the retries.
    RateLimited = 6,
    /// 7: the server failed (5xx).
    Server = 7,
    /// 8: the network failed (unreachable, timeout, TLS).
    Network = 8,
    /// 9: forbidden: the credentials were accepted but lack a permission (a scope) the command
    /// needs; retrying will not help.
    Forbidden = 9,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The text for `--help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  ok
  1  anything else
  2  usage (bad command line)
  3  auth (bad or missing credentials)
  4  not found
  5  validation (local or server); also a bulk create/update or `dbsync target` where the
     server rejected records or a record did not match its SCHEMA (they are in the failures
     journal)
  6  rate limited after retries
  7  server error (5xx)
  8  network (unreachable, timeout, TLS)
  9  forbidden (the credentials lack a scope the command needs)
`dbsync airbyte` exits 1 on any failure; its TRACE message says which kind.";

/// A failure the CLI reports: one line (plus validation details) and an exit class.
#[derive(Debug)]
pub struct CliError {
    /// The exit class.
    pub exit: Exit,
    /// One clear line.
    pub message: String,
    /// Validation details, one per line after the message.
    pub details: Vec<dbsync_client::ErrorDetail>,
}

impl CliError {
    /// A failure of class `exit`.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// Anything else (exit 1).
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(Exit::Other, message)
    }

    /// An I/O failure on `what` (a file the user named, stdout...). A closed pipe on stdout
    /// (`dbsync list --all | head`) is not a failure: the reader has what it wanted.
    pub fn io(what: impl std::fmt::Display, error: std::io::Error) -> Self {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            return Self::new(Exit::Ok, String::new());
        }
        if let Some(shape) = shape_error(&error) {
            return Self::other(shape.to_string());
        }
        Self::other(format!("{what}: {error}"))
    }
}

/// Checks a write of the report of a command that changes or checks data (bulk writes,
/// deletes, `validate`). A closed pipe (`dbsync create --file big.jsonl | head -1`) does not stop
/// such a command: it finishes its work and exits with its real outcome; only the report is cut.
/// (A read-only command stops at a closed pipe instead: see [`CliError::io`].)
///
/// A `--jq` filter failing on a record of such a report does not stop the work either: the
/// first failure is printed on stderr, that record's line is left out, and the command exits
/// with its real outcome.
pub fn report_write<T>(result: std::io::Result<T>) -> Result<(), CliError> {
    match result {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => match shape_error(&error) {
            Some(shape) => {
                static WARNED: std::sync::atomic::AtomicBool =
                    std::sync::atomic::AtomicBool::new(false);
                if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    eprintln!(
                        "dbsync: {shape} (the command goes on; its report misses such records)"
                    );
                }
                Ok(())
            }
            None => Err(CliError::other(format!("cannot write to stdout: {error}"))),
        },
        _ => Ok(()),
    }
}

/// The `--jq` failure a write error carries, if it is one.
fn shape_error(error: &std::io::Error) -> Option<&crate::shape::ShapeError> {
    error.get_ref()?.downcast_ref::<crate::shape::ShapeError>()
}

/// The exit class of a client error.
pub fn class_of(error: &dbsync_client::Error) -> Exit {
    use dbsync_client::Error as E;
    match error {
        E::Validation { .. } => Exit::Validation,
        E::Unauthorized { .. } => Exit::Auth,
        E::Forbidden { .. } => Exit::Forbidden,
        E::Auth(dbsync_auth::AuthError::InsecureTransport { .. }) => Exit::Usage,
        E::Auth(_) => Exit::Auth,
        E::NotFound { .. } => Exit::NotFound,
        E::RateLimited { .. } => Exit::RateLimited,
        E::Server { .. } => Exit::Server,
        E::Transport { .. } => Exit::Network,
        E::Config(_) => Exit::Usage,
        _ => Exit::Other,
    }
}

impl From<dbsync_client::Error> for CliError {
    fn from(error: dbsync_client::Error) -> Self {
        let exit = class_of(&error);
        let mut message = terminal_text::cut(&error.to_string(), MAX_MESSAGE_CHARS).into_owned();
        if let dbsync_client::Error::Auth(dbsync_auth::AuthError::InsecureTransport { .. }) = &error
        {
            message = format!(
                "{message}. From the command line, pass --allow-insecure-http (or use https://)."
            );
        }
        if let dbsync_client::Error::Validation { details, .. } = &error
            && !details.is_empty()
        {
            message = format!("validation failed (400), {} violation(s):", details.len());
        }
        if exit == Exit::RateLimited {
            message.push_str(" (after the retries; try later, or raise --max-retries)");
        }
        Self {
            exit,
            message,
            details: error.details().to_vec(),
        }
    }
}

/// The most validation details printed after an error's message; a last line counts the others.
pub const MAX_DETAILS: usize = 100;

/// The message, then one line per detail (at most [`MAX_DETAILS`]), every control character of
/// either shown as an escape and each detail's field and message cut to
/// [`MAX_MESSAGE_CHARS`]: a server's text never acts on the terminal.
impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&terminal_text::escape_controls(&self.message))?;
        for detail in self.details.iter().take(MAX_DETAILS) {
            let field = if detail.field.is_empty() {
                "(record)".to_owned()
            } else {
                terminal_text::server_message(&detail.field)
            };
            write!(
                f,
                "\n  {field}: {}",
                terminal_text::server_message(&detail.message)
            )?;
        }
        if let Some(more) = self
            .details
            .len()
            .checked_sub(MAX_DETAILS)
            .filter(|n| *n > 0)
        {
            write!(f, "\n  … and {more} more detail(s)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbsync_client::Error;

    fn client_error(status: u16, body: &str) -> Error {
        // The same path a server answer takes: the status mapped by dbsync-client.
        let body = serde_json::json!({"error": {"code": status, "message": body}});
        match status {
            400 => Error::Validation {
                message: body.to_string(),
                details: Vec::new(),
            },
            401 => Error::Unauthorized {
                message: body.to_string(),
                challenge: None,
            },
            404 => Error::NotFound {
                message: body.to_string(),
            },
            409 => Error::Conflict {
                message: body.to_string(),
            },
            403 => Error::Forbidden {
                message: body.to_string(),
                scope: Some("records:write".into()),
            },
            429 => Error::RateLimited {
                message: body.to_string(),
                retry_after: None,
            },
            s => Error::Server {
                status: s,
                message: body.to_string(),
            },
        }
    }

    #[test]
    fn each_error_class_has_its_exit_code() {
        assert_eq!(class_of(&client_error(400, "x")), Exit::Validation);
        assert_eq!(class_of(&client_error(401, "x")), Exit::Auth);
        assert_eq!(class_of(&client_error(403, "x")), Exit::Forbidden);
        assert_eq!(class_of(&client_error(404, "x")), Exit::NotFound);
        assert_eq!(class_of(&client_error(409, "x")), Exit::Other);
        assert_eq!(class_of(&client_error(429, "x")), Exit::RateLimited);
        assert_eq!(class_of(&client_error(503, "x")), Exit::Server);
        assert_eq!(class_of(&Error::Config("bad".into())), Exit::Usage);
        let insecure = Error::Auth(dbsync_auth::AuthError::InsecureTransport { host: "h".into() });
        assert_eq!(class_of(&insecure), Exit::Usage);
        assert!(
            CliError::from(insecure)
                .message
                .contains("--allow-insecure-http")
        );
        let codes: Vec<u8> = [
            Exit::Ok,
            Exit::Other,
            Exit::Usage,
            Exit::Auth,
            Exit::NotFound,
            Exit::Validation,
            Exit::RateLimited,
            Exit::Server,
            Exit::Network,
            Exit::Forbidden,
        ]
        .iter()
        .map(|e| e.code())
        .collect();
        assert_eq!(codes, vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }

    #[test]
    fn a_server_error_prints_no_control_character_and_is_cut() {
        const PWNED: &str = "\u{1b}]0;pwned\u{7}";
        let details: Vec<dbsync_client::ErrorDetail> = serde_json::from_value(serde_json::json!(
            (0..MAX_DETAILS + 2)
                .map(|i| serde_json::json!({"field": format!("f{i}{PWNED}"), "message": format!("bad\u{9b}2J{PWNED}")}))
                .collect::<Vec<_>>()
        ))
        .unwrap();
        let error = CliError::from(Error::Validation {
            message: format!("nope{PWNED}"),
            details,
        });
        let text = error.to_string();
        assert!(
            !text
                .chars()
                .any(|c| terminal_text::is_control(c) && c != '\n'),
            "{text:?}"
        );
        assert!(
            text.contains("\n  f0\\u{1b}]0;pwned\\u{7}: bad\\u{9b}2J\\u{1b}]0;pwned\\u{7}\n"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1 + MAX_DETAILS + 1, "{text}");
        assert!(text.ends_with("\n  … and 2 more detail(s)"), "{text}");

        let long = format!("{PWNED}{}", "x".repeat(5000));
        let text = CliError::from(Error::NotFound { message: long }).to_string();
        assert!(
            text.starts_with("not found (404): \\u{1b}]0;pwned\\u{7}x"),
            "{text}"
        );
        assert!(text.ends_with("more character(s) cut]"), "{text}");
        assert!(text.chars().count() < MAX_MESSAGE_CHARS + 100, "{text}");
        assert!(!text.chars().any(terminal_text::is_control), "{text:?}");
    }

    #[test]
    fn a_closed_stdout_pipe_is_not_a_failure() {
        let error = CliError::io(
            "stdout",
            std::io::Error::from(std::io::ErrorKind::BrokenPipe),
        );
        assert_eq!(error.exit, Exit::Ok);
        let error = CliError::io("f", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(error.exit, Exit::Other);
    }
}
