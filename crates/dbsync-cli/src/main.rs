//! `dbsync`: the DBSync Cloud Workflow Open API from the terminal.
//!
//! See `dbsync --help` and the crate's README. Exit codes tell failure classes apart (see
//! [`exit::Exit`]).

/// `dbsync airbyte ...`: the Airbyte source and destination (dbsync-connectors).
mod airbyte_cmd;
/// `dbsync api METHOD PATH`: any endpoint of the connection's API.
mod api_cmd;
/// The command line: every command, flag and environment variable (clap).
mod args;
/// Bulk create/update from a file and `dbsync resend`, on dbsync-client's durable bulk writes.
mod bulk;
/// The connection a command uses: flags over `DBSYNC_*` variables over a settings file or profile.
mod connect;
/// `dbsync tap` and `dbsync target`: the Singer connectors.
mod connectors_cmd;
/// CSV input: a header row, cells converted by the resource's schema.
mod csv_input;
/// `dbsync delete`: ids from arguments, a file or stdin; dry run; confirmation.
mod delete_cmd;
/// `--dry-run` of create and update: the records checked and printed, nothing sent.
mod dry_run;
/// A failure as one JSON object on stderr, for `--format json`.
mod error_json;
/// Exit codes and the one-line errors the CLI prints.
mod exit;
/// `dbsync export`: records to a file, resumable, incremental, partitioned.
mod export_cmd;
/// The output, checkpoint and state files of `dbsync export`, written crash-safe.
mod export_files;
/// Reading records from a JSON Lines or JSON array file, each with its line number.
mod input;
/// `dbsync login`: credentials asked for or read from standard input, checked, saved.
mod login_cmd;
/// `dbsync man`: man pages (clap_mangen).
mod man_cmd;
/// Workflows, API keys, usage and server logs.
mod ops_cmd;
/// Printing records and reports as JSON, JSON Lines, tables or CSV.
mod output;
/// `dbsync connection show`: each setting in use and where it came from.
mod precedence;
/// Saved connection profiles.
mod profiles;
/// Progress bars on stderr, only on a terminal.
mod progress;
/// get, list, create, update, delete and their bulk forms.
mod records;
/// `dbsync sandbox`: the local server.
mod sandbox_cmd;
/// `dbsync schema`: a resource's schema as DBSync JSON, JSON Schema or a Rust struct.
mod schema_cmd;
/// `--fields` and `--jq`: what of each record is printed.
mod shape;
/// The text table: display widths, cut cells, fitted to the terminal.
mod table;
/// Server text made safe to print: control characters as visible escapes, long messages cut.
mod terminal_text;
/// `dbsync validate`: every violation of every record, with its line number.
mod validate_cmd;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};

use crate::args::{Cli, Command};
use crate::exit::{CliError, Exit};
use crate::output::Format;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2.
            if error.use_stderr() && error_json::wanted_in_args(std::env::args_os()) {
                let message = error.kind().as_str().unwrap_or("bad command line");
                let hint = format!("{message}: see `dbsync --help`");
                eprintln!("{}", error_json::line(&CliError::usage(hint)));
            } else {
                let _ = error.print();
            }
            return ExitCode::from(if error.use_stderr() {
                Exit::Usage.code()
            } else {
                Exit::Ok.code()
            });
        }
    };
    match shape::Shape::from_args(&cli.shaping) {
        Ok(shape) => shape::install(shape),
        Err(error) => return fail(&cli, &error),
    }
    if cli.verbose {
        init_verbose_logging();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("dbsync: cannot start the async runtime: {error}");
            return ExitCode::from(Exit::Other.code());
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.exit == Exit::Ok => ExitCode::SUCCESS,
        Err(error) => fail(&cli, &error),
    }
}

/// Prints `error` on stderr (one JSON object with `--format json`, else `dbsync: ` and the
/// text) and returns its exit code.
fn fail(cli: &Cli, error: &CliError) -> ExitCode {
    if error_json::wanted(cli.format) {
        eprintln!("{}", error_json::line(error));
    } else {
        eprintln!("dbsync: {error}");
    }
    ExitCode::from(error.exit.code())
}

/// `-v`: the client's request events (method, path template, status, attempt, duration) on
/// stderr. Only dbsync-client's target is enabled: its events carry no secret and no body.
fn init_verbose_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = Targets::new().with_target("dbsync_client", LevelFilter::DEBUG);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(terminal_text::color_allowed(
            std::io::stderr().is_terminal(),
        ))
        .with_target(false)
        .compact();
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layer)
        .try_init();
}

async fn run(cli: &Cli) -> Result<(), CliError> {
    let format = cli
        .format
        .unwrap_or_else(|| Format::default_for(std::io::stdout().is_terminal()));
    connect::check_stdin_use(cli)?;
    let connect = || connect::connection(&cli.connection);
    match &cli.command {
        Command::Check => check(&connect()?, format).await,
        Command::Connection(command) => profiles::run(command, &cli.connection, format).await,
        Command::List(args) => records::list(&connect()?, args, format).await,
        Command::Get { id, resource } => records::get(&connect()?, resource, id, format).await,
        Command::Create(args) => records::create(&connect()?, args, format).await,
        Command::Resend(args) => records::resend(&connect()?, args, format).await,
        Command::Update(args) => records::update(&connect()?, args, format).await,
        Command::Delete(args) => delete_cmd::run(&connect()?, args, format).await,
        Command::Validate(args) => {
            let schema = match (&args.schema, &args.resource) {
                (Some(path), None) => {
                    validate_cmd::load_schema(validate_cmd::SchemaSource::File(path)).await?
                }
                (None, Some(name)) => {
                    let connection = connect()?;
                    validate_cmd::load_schema(validate_cmd::SchemaSource::Resource(
                        &connection,
                        name,
                    ))
                    .await?
                }
                _ => return Err(CliError::usage("give --schema FILE or --resource NAME")),
            };
            validate_cmd::run(&schema, args, format)
        }
        Command::Schema(args) => schema_cmd::run(&connect()?, args).await,
        Command::Export(args) => export_cmd::run(&connect()?, args, cli.format).await,
        Command::Workflow(command) => ops_cmd::workflow(&connect()?, command, format).await,
        Command::Logs(args) => ops_cmd::logs(&connect()?, args, cli.format, format).await,
        Command::Usage => ops_cmd::usage(&connect()?, format).await,
        Command::Keys(command) => ops_cmd::keys(&connect()?, command, format).await,
        Command::Sandbox(args) => sandbox_cmd::run(args, &cli.connection).await,
        Command::Airbyte(command) => airbyte_cmd::run(command, &cli.connection).await,
        Command::Tap(args) => connectors_cmd::tap(args, &cli.connection).await,
        Command::Target(args) => connectors_cmd::target(args, &cli.connection).await,
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(*shell, &mut command, "dbsync", &mut std::io::stdout());
            Ok(())
        }
        Command::Man(args) => man_cmd::run(args),
        Command::Login(args) => login_cmd::run(args, &cli.connection).await,
        Command::Api(args) => api_cmd::run(&connect()?, args, format).await,
    }
}

/// `dbsync check`: Validate Connection.
async fn check(connection: &dbsync_client::Connection, format: Format) -> Result<(), CliError> {
    let report = connection.validate().await?;
    let limit = &report.rate_limit;
    let value = serde_json::json!({
        "url": connection.base_url().as_str(),
        "reachable": report.reachable,
        "authenticated": report.authenticated,
        "auth": report.auth_scheme,
        "status": report.status,
        "latency_ms": u64::try_from(report.latency.as_millis()).unwrap_or(u64::MAX),
        "rate_limit": limit.limit,
        "rate_limit_remaining": limit.remaining,
        "rate_limit_reset": limit.reset,
    });
    output::write_one(std::io::stdout().lock(), format, &value)
        .map_err(|e| CliError::io("cannot write to stdout", e))
}
