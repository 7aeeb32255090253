//! `dbsync airbyte spec|check|discover|read|write`: DBSync as an Airbyte source and destination
//! (dbsync-connectors). The config is the global `--config FILE`, as Airbyte passes it. Every
//! failure is also a `TRACE` error message on standard output.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use dbsync_client::Connection;
use dbsync_connectors::airbyte::{
    self, AirbyteError, ConfiguredCatalog, Emitter, InputState, ReadOptions, WriteOptions,
};
use dbsync_connectors::config::ConnectorConfig;
use dbsync_connectors::partition::PartitionSpec;

use crate::args::ConnectionArgs;
use crate::exit::{CliError, Exit};

/// `dbsync airbyte ...`
#[derive(Debug, Subcommand)]
pub enum AirbyteCommand {
    /// Print the connector specification (SPEC).
    Spec,
    /// Check the connection of --config (CONNECTION_STATUS).
    Check,
    /// One stream per resource of --config, with its JSON Schema (CATALOG).
    Discover,
    /// Read the streams of --catalog (RECORD, per-stream STATE, LOG).
    Read(AirbyteReadArgs),
    /// Write the RECORDs on standard input; echo each STATE once the records before it are
    /// stored.
    Write(AirbyteWriteArgs),
}

/// `dbsync airbyte read`
#[derive(Debug, Args)]
pub struct AirbyteReadArgs {
    /// The configured catalog (JSON).
    #[arg(long, value_name = "FILE")]
    pub catalog: PathBuf,
    /// The state of the last read: a list of per-stream STATE messages (JSON).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Read partition I of N of each (full refresh) stream; `N` alone takes I from
    /// JOB_COMPLETION_INDEX.
    #[arg(long, value_name = "I/N")]
    pub partition: Option<String>,
    /// A STATE every this many records of a stream.
    #[arg(long, value_name = "N", default_value_t = airbyte::source::DEFAULT_STATE_EVERY)]
    pub state_every: u64,
}

/// `dbsync airbyte write`
#[derive(Debug, Args)]
pub struct AirbyteWriteArgs {
    /// The configured catalog (JSON).
    #[arg(long, value_name = "FILE")]
    pub catalog: PathBuf,
    /// Where the failures journals go (dbsync-airbyte-<stream>-failed.jsonl).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub failed_dir: PathBuf,
    /// Records buffered before they are written.
    #[arg(long, value_name = "N",
          default_value_t = airbyte::destination::DEFAULT_MAX_BUFFERED_RECORDS)]
    pub buffer_records: usize,
    /// The longest input line, in bytes (at most 1 GiB).
    #[arg(long, value_name = "BYTES",
          default_value_t = dbsync_connectors::lines::MAX_LINE_BYTES,
          value_parser = crate::connectors_cmd::line_limit)]
    pub max_line_bytes: usize,
    /// Send records without checking them against their stream's json_schema.
    #[arg(long)]
    pub no_validate_records: bool,
}

/// Runs an Airbyte command; a failure is written as a `TRACE` message, then returned.
pub async fn run(command: &AirbyteCommand, connection: &ConnectionArgs) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    let mut out = Emitter::new(std::io::BufWriter::new(stdout.lock()));
    let result = match command {
        AirbyteCommand::Spec => out.emit(&airbyte::spec()).map_err(output),
        _ => run_with_config(command, connection, &mut out).await,
    };
    match result {
        Ok(()) => out
            .flush()
            .map_err(|e| CliError::io("cannot write to stdout", e)),
        Err(error) => {
            let _ = out.emit_now(&error.to_trace());
            Err(CliError::new(Exit::Other, error.to_string()))
        }
    }
}

async fn run_with_config<W: Write>(
    command: &AirbyteCommand,
    args: &ConnectionArgs,
    out: &mut Emitter<W>,
) -> Result<(), AirbyteError> {
    let Some(path) = &args.config else {
        return Err(AirbyteError::config(
            "give the connector config with --config FILE",
        ));
    };
    let config = ConnectorConfig::from_file(path, &[])?.allow_env(&args.allow_env);
    let connection = config.connect()?;
    match command {
        AirbyteCommand::Spec => Ok(()),
        AirbyteCommand::Check => out.emit(&airbyte::check(&connection).await).map_err(output),
        AirbyteCommand::Discover => {
            let catalog = airbyte::discover(&config, &connection).await?;
            out.emit(&catalog).map_err(output)
        }
        AirbyteCommand::Read(read) => run_read(&config, &connection, read, out).await,
        AirbyteCommand::Write(write) => run_write(&connection, write, out).await,
    }
}

async fn run_read<W: Write>(
    config: &ConnectorConfig,
    connection: &Connection,
    args: &AirbyteReadArgs,
    out: &mut Emitter<W>,
) -> Result<(), AirbyteError> {
    let catalog = ConfiguredCatalog::from_file(&args.catalog)?;
    let state = match &args.state {
        Some(path) => InputState::from_file(path)?,
        None => InputState::default(),
    };
    let partition = args
        .partition
        .as_deref()
        .map(PartitionSpec::parse_with_env)
        .transpose()?;
    let options = ReadOptions::default()
        .state_every(args.state_every)
        .partition(partition);
    airbyte::read(config, connection, &catalog, &state, &options, out).await?;
    Ok(())
}

async fn run_write<W: Write>(
    connection: &Connection,
    args: &AirbyteWriteArgs,
    out: &mut Emitter<W>,
) -> Result<(), AirbyteError> {
    let catalog = ConfiguredCatalog::from_file(&args.catalog)?;
    let options = WriteOptions::default()
        .failed_dir(Path::new(&args.failed_dir))
        .max_buffered_records(args.buffer_records)
        .max_line_bytes(args.max_line_bytes)
        .validate_records(!args.no_validate_records);
    let input = tokio::io::BufReader::new(tokio::io::stdin());
    airbyte::write(connection, &catalog, input, &options, out).await?;
    Ok(())
}

fn output(error: std::io::Error) -> AirbyteError {
    AirbyteError::system(format!("cannot write to standard output: {error}"))
}
