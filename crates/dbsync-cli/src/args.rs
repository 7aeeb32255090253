//! The command line, declared with clap's derive API.

use std::fmt;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit::EXIT_CODES_HELP;
use crate::output::Format;

/// `dbsync`: the DBSync Cloud Workflow Open API from the terminal.
///
/// The connection comes from flags, the DBSYNC_* environment variables, a settings file
/// (--config) or a saved profile (--profile); flags override the environment, which overrides
/// the file or profile. A secret is taken from the first of: its flag, standard input
/// (--token-stdin, --password-stdin, --client-secret-stdin), its variable (DBSYNC_TOKEN...),
/// the file its *_FILE variable names (DBSYNC_TOKEN_FILE...), the settings file or profile.
#[derive(Debug, Parser)]
#[command(name = "dbsync", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// How to reach DBSync.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Output format (default: table on a terminal, JSON Lines otherwise; `logs export` writes
    /// csv (default) or jsonl). A table fits the width in COLUMNS or the terminal's; with json,
    /// an error is one JSON object on stderr.
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,

    /// Log each request and its outcome to stderr (method, path, status, attempt, duration;
    /// never a secret or a body).
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// `--fields` and `--jq`: what of each record is printed.
    #[command(flatten)]
    pub shaping: crate::shape::ShapeArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The connection flags, shared by every command.
///
/// `Debug` is written by hand: the password, token and client secret print as `Some("***")`
/// (or `None`), and credentials in the URL's user-info are masked, so formatting the parsed
/// command line (`{:?}` of [`Cli`], which embeds this) never shows a secret.
#[derive(Clone, Default, Args)]
pub struct ConnectionArgs {
    /// Base URL of the API, e.g. https://api.dbsync.com (env: DBSYNC_API_URL).
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Authentication type (env: DBSYNC_AUTH_TYPE).
    #[arg(long, global = true, value_enum)]
    pub auth: Option<AuthKind>,
    /// BasicAuth user name (env: DBSYNC_USERNAME).
    #[arg(long, global = true)]
    pub username: Option<String>,
    /// BasicAuth password (env: DBSYNC_PASSWORD or DBSYNC_PASSWORD_FILE; prefer those or
    /// --password-stdin: flags show up in `ps`).
    #[arg(long, global = true)]
    pub password: Option<String>,
    /// Read the BasicAuth password from standard input (one trailing newline removed, at most
    /// 64 KiB).
    #[arg(long, global = true)]
    pub password_stdin: bool,
    /// Bearer token or API key (env: DBSYNC_TOKEN or DBSYNC_TOKEN_FILE; prefer those or
    /// --token-stdin).
    #[arg(long, global = true)]
    pub token: Option<String>,
    /// Read the Bearer token or API key from standard input (one trailing newline removed, at
    /// most 64 KiB).
    #[arg(long, global = true)]
    pub token_stdin: bool,
    /// OAuth 2.0 client id (env: DBSYNC_CLIENT_ID).
    #[arg(long, global = true)]
    pub client_id: Option<String>,
    /// OAuth 2.0 client secret (env: DBSYNC_CLIENT_SECRET or DBSYNC_CLIENT_SECRET_FILE; prefer
    /// those or --client-secret-stdin).
    #[arg(long, global = true)]
    pub client_secret: Option<String>,
    /// Read the OAuth 2.0 client secret from standard input (one trailing newline removed, at
    /// most 64 KiB).
    #[arg(long, global = true)]
    pub client_secret_stdin: bool,
    /// OAuth 2.0 token endpoint (env: DBSYNC_TOKEN_URL; default {url}/oauth/token).
    #[arg(long, global = true)]
    pub token_url: Option<String>,
    /// OAuth 2.0 scopes, space-separated (env: DBSYNC_SCOPES).
    #[arg(long, global = true)]
    pub scopes: Option<String>,
    /// A connection settings JSON file (env: DBSYNC_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// A saved connection profile (env: DBSYNC_PROFILE; default: the one chosen with
    /// `dbsync connection use`; see `dbsync connection`).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Let `${NAME}` references in the settings file or profile read the environment variable
    /// NAME (repeatable); only DBSYNC_* variables are read otherwise.
    #[arg(long = "allow-env", global = true, value_name = "NAME")]
    pub allow_env: Vec<String>,
    /// Allow sending credentials over plain http:// to a host that is not loopback.
    #[arg(long, global = true)]
    pub allow_insecure_http: bool,
    /// The most retries of a failed attempt (5xx, network; a 429 within the caps is not one):
    /// a safety net, default 50 or the settings file's; the 2-minute deadline of each call and
    /// the connection's retry quota end retries first; 0 retries nothing.
    #[arg(long, global = true, value_name = "N")]
    pub max_retries: Option<u32>,
    /// The longest Retry-After to wait on a 429, in seconds (default 60).
    #[arg(long, global = true, value_name = "SECS")]
    pub max_retry_after: Option<u64>,
    /// Timeout of one request, in seconds (default 30).
    #[arg(long, global = true, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// The largest response body read into memory, in bytes (default 67108864, 64 MiB, or the
    /// settings file's `max_response_bytes`); a larger answer fails the command (exit 8)
    /// instead of filling memory.
    #[arg(long, global = true, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_response_bytes: Option<u64>,
}

impl fmt::Debug for ConnectionArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a field added later cannot be forgotten here.
        let Self {
            url,
            auth,
            username,
            password,
            password_stdin,
            token,
            token_stdin,
            client_id,
            client_secret,
            client_secret_stdin,
            token_url,
            scopes,
            config,
            profile,
            allow_env,
            allow_insecure_http,
            max_retries,
            max_retry_after,
            timeout,
            max_response_bytes,
        } = self;
        f.debug_struct("ConnectionArgs")
            .field("url", &url.as_deref().map(MaskedUrl))
            .field("auth", auth)
            .field("username", username)
            .field("password", &Redacted(password))
            .field("password_stdin", password_stdin)
            .field("token", &Redacted(token))
            .field("token_stdin", token_stdin)
            .field("client_id", client_id)
            .field("client_secret", &Redacted(client_secret))
            .field("client_secret_stdin", client_secret_stdin)
            .field("token_url", &token_url.as_deref().map(MaskedUrl))
            .field("scopes", scopes)
            .field("config", config)
            .field("profile", profile)
            .field("allow_env", allow_env)
            .field("allow_insecure_http", allow_insecure_http)
            .field("max_retries", max_retries)
            .field("max_retry_after", max_retry_after)
            .field("timeout", timeout)
            .field("max_response_bytes", max_response_bytes)
            .finish()
    }
}

/// A secret flag in `Debug`: `Some("***")` when given, `None` when not; never the value.
struct Redacted<'a>(&'a Option<String>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("Some(\"***\")"),
            None => f.write_str("None"),
        }
    }
}

/// A URL in `Debug` that cannot show a credential: everything from the first `?` or `#` is
/// dropped (a query may carry a token), and a URL with an `@` anywhere (user info, or a
/// password with an unencoded `/` that hides where the host starts) shows only its scheme.
struct MaskedUrl<'a>(&'a str);

impl fmt::Debug for MaskedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.0;
        let without_query = url.find(['?', '#']).map_or(url, |end| &url[..end]);
        let shown = if without_query.contains('@') {
            let scheme = url.find(':').map_or("", |end| &url[..end]);
            format!("{scheme}:<hidden: the URL has an `@`>")
        } else if without_query.len() < url.len() {
            format!("{without_query}?<hidden>")
        } else {
            url.to_owned()
        };
        fmt::Debug::fmt(&shown, f)
    }
}

/// Authentication types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthKind {
    /// No credentials.
    None,
    /// HTTP Basic (username and password).
    Basic,
    /// A Bearer token or API key.
    Bearer,
    /// OAuth 2.0 client credentials.
    Oauth2,
}

impl AuthKind {
    /// The name used in settings files and DBSYNC_AUTH_TYPE.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::None => "none",
            AuthKind::Basic => "basic",
            AuthKind::Bearer => "bearer",
            AuthKind::Oauth2 => "oauth2",
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate Connection: is the API reachable, are the credentials accepted, how fast, what
    /// rate limit.
    Check,
    /// Save, list, show or remove connection profiles.
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// List records: one page, or every page with --all.
    List(ListArgs),
    /// Get one record by id.
    Get {
        /// The record id.
        id: String,
        /// The resource.
        #[arg(short, long, default_value = "records")]
        resource: String,
    },
    /// Create one record (--data) or many (--file, JSON Lines or a JSON array, any size).
    Create(WriteArgs),
    /// Send the failures of `dbsync create --failed FILE` again, with the lost requests' keys.
    #[command(long_about = RESEND_HELP)]
    Resend(ResendArgs),
    /// Update one record (ID --data) or many (--file; each record carries its "id").
    Update(UpdateArgs),
    /// Delete records by id: from the command line, --file or stdin (`-`), one per line.
    Delete(crate::delete_cmd::DeleteArgs),
    /// Check records against a schema and print every violation with its line number.
    Validate(ValidateArgs),
    /// Print a resource's schema: DBSync JSON, a JSON Schema (--json-schema) or a Rust struct (--rust).
    Schema(crate::schema_cmd::SchemaArgs),
    /// Export a resource's records to a JSON Lines file: resumable, incremental, partitioned.
    Export(crate::export_cmd::ExportArgs),
    /// Workflows: list, run, status, cancel.
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// The server's API logs, and their export.
    Logs(LogsArgs),
    /// API usage against the rate limit.
    Usage,
    /// API keys: list, create, regenerate, revoke.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Start the local sandbox server (Ctrl-C stops it).
    Sandbox(SandboxArgs),
    /// DBSync as an Airbyte source (spec, check, discover, read) and destination (write).
    #[command(subcommand)]
    Airbyte(crate::airbyte_cmd::AirbyteCommand),
    /// Singer tap: --discover prints the catalog; else SCHEMA, RECORD and STATE on stdout.
    Tap(crate::connectors_cmd::TapArgs),
    /// Singer target: SCHEMA/RECORD/STATE on stdin into DBSync; states stored on stdout.
    Target(crate::connectors_cmd::TargetArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page of dbsync or of a subcommand, or write every page into a directory.
    Man(crate::man_cmd::ManArgs),
    /// Log in: ask for (or read from standard input) the credentials, check them, save a profile.
    Login(crate::login_cmd::LoginArgs),
    /// Call any endpoint of the API: `dbsync api GET records?limit=5`.
    Api(crate::api_cmd::ApiArgs),
}

/// `dbsync connection ...`
#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Save the connection given by the flags/environment as a profile (validated first).
    Save {
        /// The profile name.
        name: String,
        /// Store literal secrets in the file instead of ${ENV} references.
        #[arg(long)]
        store_secret: bool,
        /// Save without validating the connection first.
        #[arg(long)]
        no_check: bool,
    },
    /// List saved profiles.
    List,
    /// Show a profile; without a name, every setting in use with where it came from (flag,
    /// environment, profile). Secrets are never printed.
    Show {
        /// The profile name.
        name: Option<String>,
    },
    /// Make a saved profile the default (DBSYNC_PROFILE and --profile still win).
    Use {
        /// The profile name.
        name: String,
    },
    /// Remove a profile.
    Remove {
        /// The profile name.
        name: String,
    },
}

/// `dbsync list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The resource.
    #[arg(short, long, default_value = "records")]
    pub resource: String,
    /// Stream every page instead of one.
    #[arg(long)]
    pub all: bool,
    /// At most this many records in all, over as many pages as needed (not with --all:
    /// `--all --limit N` used to set the page size; --page-size does now).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Records per page asked of the server (1..=1000; default: --limit when at most 1000, 1000
    /// for a larger --limit, else the server's, 100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: Option<u32>,
    /// Start offset.
    #[arg(long)]
    pub offset: Option<u64>,
    /// Only records updated at or after this RFC 3339 time.
    #[arg(long)]
    pub from: Option<String>,
    /// Only records updated before this RFC 3339 time.
    #[arg(long)]
    pub to: Option<String>,
    /// Equality filter FIELD=VALUE (repeatable).
    #[arg(long = "where", value_name = "FIELD=VALUE")]
    pub filters: Vec<String>,
    /// With --all: fail after this many pages (a server that never stops sending full pages
    /// without a total is only stopped by a cap; default: no cap).
    #[arg(long, value_name = "N", requires = "all")]
    pub max_pages: Option<u64>,
    /// With --all: fail after this many records (default: no cap).
    #[arg(long, value_name = "N", requires = "all")]
    pub max_records: Option<u64>,
    /// With --all: list partition I of N (`I/N`, or `N` with I from JOB_COMPLETION_INDEX).
    #[arg(long, value_name = "I/N", requires = "all")]
    pub partition: Option<String>,
}

/// `dbsync create`
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The resource.
    #[arg(short, long, default_value = "records")]
    pub resource: String,
    /// One record as a JSON object.
    #[arg(long, conflicts_with = "file")]
    pub data: Option<String>,
    /// Many records: a JSON Lines file, a JSON array or CSV with a header row (a `.csv` name or
    /// --input-format csv; `-` for stdin).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// How to read --file (default: csv for a name ending in .csv, else JSON).
    #[arg(long, value_enum, requires = "file")]
    pub input_format: Option<crate::csv_input::InputFormat>,
    /// Check the records against the resource's schema and print what would be sent; send
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Check records locally against the resource's schema first.
    #[arg(long)]
    pub validate: bool,
    /// Write the records that failed here (JSON Lines: line, record, error, outcome,
    /// idempotency_key, key_sent_at, request_position, request_size; not the input file).
    ///
    /// "outcome" is "not_saved" (refused or never sent) or "unknown": the request was sent but
    /// its answer was lost, so the server may have saved the record. Never create an "unknown"
    /// record again as a new record. After a create, fix the invalid records in FILE and run
    /// `dbsync resend FILE --failed NEW_FILE`: it creates the records not saved, sends each
    /// request lost as a whole again with its "idempotency_key" when its lines are complete and
    /// unchanged and the key was first sent under 23 hours ago ("key_sent_at"; the server keeps
    /// a key 24 hours and then replays its first answer instead of creating the records again)
    /// and does not send the other "unknown" records (check whether they exist). After an update, every failed record can
    /// be sent again: an update is idempotent.
    #[arg(long, value_name = "FILE")]
    pub failed: Option<PathBuf>,
    /// Batch requests (of up to 100 records) in flight at once, for --file.
    #[arg(long, default_value_t = dbsync_client::DEFAULT_BATCH_CONCURRENCY)]
    pub concurrency: usize,
}

/// The long help of `dbsync resend`.
const RESEND_HELP: &str = "\
Send the failures of `dbsync create --failed FILE` again, the lost requests with their keys.

For the failures file of a create only (an update is idempotent: send its failures again with
`dbsync update --file`). Each line is handled by its \"outcome\":

- \"not_saved\": created as a new record, like `dbsync create --file` does (batched, checked with
  --validate). Fix the invalid records in FAILED first.
- \"unknown\" with an \"idempotency_key\": the lines sharing the key (the records of one batch
  request whose answer was lost) are gathered over the whole file and sent after the rest, as
  that one batch in \"request_position\" order, unchanged, with that key (never a new one, never
  split): the server replays its first answer if it saved them, or creates them now. That
  creates nothing twice only for a complete, unchanged group whose key is under a day old, so a
  group is sent only when every line has a \"key_sent_at\" under 23 hours old (the server keeps
  a key 24 hours) and its positions are exactly 0..\"request_size\"-1, each once, with one size of
  at most 100 and no malformed line naming the key. A group too old, or with a line without
  \"key_sent_at\" (an older dbsync), fails again without its key (check whether the records
  exist); a group with a line duplicated, missing or malformed fails again with its key and a
  message naming the problem. A key a header cannot carry makes its line malformed.
- \"unknown\" without a key, or no \"outcome\" (a file from an older dbsync): not sent, since the
  record may have been saved; check whether it exists.

Saved records go to stdout (the replayed ones too); what fails again goes to --failed NEW_FILE
in the same format (\"line\" is then the line of FAILED; not in FAILED's order: the key groups'
failures come last), so it can be resent in turn. --failed must not be FAILED, by any name or
as stdin. Resend a
file once: the records not saved are created anew each time, so resend NEW_FILE next, not
FAILED again.";

/// `dbsync resend`
#[derive(Debug, Args)]
pub struct ResendArgs {
    /// The failures file of `dbsync create --failed` (JSON Lines; `-` for stdin).
    #[arg(value_name = "FAILED")]
    pub input: PathBuf,
    /// The resource the records were created in.
    #[arg(short, long, default_value = "records")]
    pub resource: String,
    /// Check the records not saved against the resource's schema first (the records sent again
    /// with their key go unchanged).
    #[arg(long)]
    pub validate: bool,
    /// Write the records that fail again here (the format of `dbsync create --failed`; not
    /// FAILED itself).
    #[arg(long, value_name = "FILE")]
    pub failed: Option<PathBuf>,
    /// Batch requests (of up to 100 records) in flight at once.
    #[arg(long, default_value_t = dbsync_client::DEFAULT_BATCH_CONCURRENCY)]
    pub concurrency: usize,
}

/// `dbsync update`
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The record id (with --data).
    pub id: Option<String>,
    /// The fields and values to write.
    #[command(flatten)]
    pub write: WriteArgs,
}

/// `dbsync validate`
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A schema JSON file.
    #[arg(long, conflicts_with = "resource")]
    pub schema: Option<PathBuf>,
    /// Fetch the schema of this resource from the server.
    #[arg(long)]
    pub resource: Option<String>,
    /// Validate as updates (absent fields are fine).
    #[arg(long)]
    pub partial: bool,
    /// The records: a JSON Lines file or a JSON array (`-` for stdin).
    pub input: PathBuf,
}

/// `dbsync workflow ...`
#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// List workflows.
    List,
    /// Trigger a run.
    Run {
        /// The workflow id.
        workflow: String,
        /// The run's input, a JSON document.
        #[arg(long)]
        input: Option<String>,
        /// Wait for the run to finish; exit by its outcome.
        #[arg(long)]
        wait: bool,
        /// How long to wait, in seconds.
        #[arg(long, default_value_t = 300)]
        wait_timeout: u64,
    },
    /// Show a run.
    Status {
        /// The workflow id.
        workflow: String,
        /// The run id.
        run: String,
    },
    /// Cancel a run.
    Cancel {
        /// The workflow id.
        workflow: String,
        /// The run id.
        run: String,
    },
}

/// Filters shared by `dbsync logs` and its export.
#[derive(Debug, Clone, Args)]
pub struct LogFilterArgs {
    /// From this RFC 3339 time (inclusive).
    #[arg(long, global = true)]
    pub from: Option<String>,
    /// To this RFC 3339 time (exclusive).
    #[arg(long, global = true)]
    pub to: Option<String>,
    /// HTTP method.
    #[arg(long, global = true)]
    pub method: Option<String>,
    /// Endpoint path.
    #[arg(long, global = true)]
    pub endpoint: Option<String>,
    /// HTTP status.
    #[arg(long, global = true)]
    pub status: Option<u16>,
}

/// `dbsync logs`
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Filters.
    #[command(flatten)]
    pub filters: LogFilterArgs,
    /// At most this many entries in all (default: all matching; with `export`, the most
    /// exported).
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Entries per page asked of the server (1..=1000; default: --limit when at most 1000, else
    /// the server's); not with `export` (one download).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: Option<u32>,
    /// Export instead of listing.
    #[command(subcommand)]
    pub export: Option<LogsCommand>,
}

/// `dbsync logs export`
#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Export the matching logs to a file, streamed (`--format csv|jsonl`, default csv).
    Export {
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `dbsync keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List API keys (never the secret).
    List,
    /// Create an API key; its secret is shown once.
    Create {
        /// A name for the key.
        name: String,
        /// A scope the key gets (repeatable): records:read, records:write, workflows:run,
        /// logs:read, keys:manage. Without any, the key gets every scope of the caller.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// When the key stops working (RFC 3339 with an offset, in the future, e.g.
        /// 2030-01-01T00:00:00Z). Without it, the key does not expire.
        #[arg(long, value_name = "TIME")]
        expires_at: Option<String>,
    },
    /// Regenerate a key; the old secret stops working at once.
    Regenerate {
        /// The key id.
        id: String,
    },
    /// Revoke a key.
    Revoke {
        /// The key id.
        id: String,
    },
}

/// `dbsync sandbox`: the auth mode and credentials come from the global `--auth`,
/// `--username`/`--password`, `--token`, `--client-id`/`--client-secret` flags (demo values when
/// absent).
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seeded records.
    #[arg(long, default_value_t = 1000)]
    pub records: u64,
    /// Print the secrets to use at startup (hidden by default).
    #[arg(long)]
    pub show_secrets: bool,
    /// Rate limit, faults and timings.
    #[command(flatten)]
    pub behaviour: dbsync_sandbox::BehaviourArgs,
    /// Connection timeouts and cap.
    #[command(flatten)]
    pub serve: dbsync_sandbox::ServeArgs,
    /// Resources of your own: schemas, fixtures, generated rows.
    #[command(flatten)]
    pub resources: dbsync_sandbox::ResourceArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "pw-4b1d-never-print";
    const TOKEN: &str = "tok-9e2c-never-print";
    const CLIENT_SECRET: &str = "cs-77a0-never-print";
    const URL_PASSWORD: &str = "urlpw-31f8-never-print";

    /// The parsed command line, as `{:?}` and `{:#?}`.
    fn debug_of(args: &[&str]) -> String {
        let cli = Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{e}"));
        format!("{cli:?}\n{cli:#?}")
    }

    fn assert_no_secret(text: &str) {
        for secret in [PASSWORD, TOKEN, CLIENT_SECRET, URL_PASSWORD] {
            assert!(!text.contains(secret), "`{secret}` printed in:\n{text}");
        }
    }

    #[test]
    fn debug_of_the_parsed_command_line_shows_no_secret() {
        let text = debug_of(&[
            "dbsync",
            "--url",
            "https://api.dbsync.example",
            "--auth",
            "oauth2",
            "--username",
            "alice",
            "--password",
            PASSWORD,
            "--token",
            TOKEN,
            "--client-id",
            "client-42",
            "--client-secret",
            CLIENT_SECRET,
            "--token-url",
            "https://login.dbsync.example/oauth/token",
            "--profile",
            "prod-eu",
            "--timeout",
            "17",
            "list",
            "--limit",
            "5",
        ]);
        assert_no_secret(&text);
        // The non-secret fields are still there, and the secrets are marked as given.
        for shown in [
            "https://api.dbsync.example",
            "https://login.dbsync.example/oauth/token",
            "prod-eu",
            "alice",
            "client-42",
            "Oauth2",
            "Some(17)",
            "password: Some(\"***\")",
            "token: Some(\"***\")",
            "client_secret: Some(\"***\")",
            "List(",
        ] {
            assert!(text.contains(shown), "`{shown}` missing from:\n{text}");
        }

        // Global flags after the subcommand, and a subcommand that uses the credentials itself.
        let text = debug_of(&[
            "dbsync",
            "sandbox",
            "--auth",
            "basic",
            "--password",
            PASSWORD,
            "--token",
            TOKEN,
            "--client-secret",
            CLIENT_SECRET,
            "--url",
            &format!("https://bob:{URL_PASSWORD}@api.dbsync.example/base"),
        ]);
        assert_no_secret(&text);
        assert!(text.contains("https:<hidden"), "{text}");
        assert!(text.contains("Sandbox("), "{text}");

        // Secrets not given print as None, not as a marker.
        let text = debug_of(&["dbsync", "--url", "http://127.0.0.1:1", "check"]);
        assert!(text.contains("password: None"), "{text}");
        assert!(text.contains("\"http://127.0.0.1:1\""), "{text}");
    }

    #[test]
    fn urls_without_credentials_print_unchanged() {
        let show = |url: &str| format!("{:?}", MaskedUrl(url));
        assert_eq!(show("https://h.example/a/b"), "\"https://h.example/a/b\"");
        assert_eq!(show(""), "\"\"");
        // Nothing that may hold a credential is shown.
        for (url, secret) in [
            ("https://u:pw1@h.example?x=@", "pw1"),
            ("u:pw2@h/?next=https://x", "pw2"),
            ("https:/u:pw3@h", "pw3"),
            ("https://u:p/w4@h", "w4"),
            ("https://h.example/?access_token=tok5", "tok5"),
            ("https://h.example/#tok6", "tok6"),
        ] {
            let shown = show(url);
            assert!(!shown.contains(secret), "{url} -> {shown}");
        }
    }
}
