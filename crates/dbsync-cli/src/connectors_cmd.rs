//! `dbsync tap` and `dbsync target`: the Singer connectors of dbsync-connectors, with the
//! connector config from the global `--config FILE` (settings JSON plus the connector's keys).
//!
//! Exit codes: 2 for a bad config, catalog, state or input line (and a stdin-secret flag with
//! `target`); 5 when the target could not store some records or a record did not match its
//! stream's `SCHEMA` (they are in the journal); a
//! failed call to DBSync exits with its class (3 auth, 7 server, 8 network...).

use std::path::PathBuf;

use clap::Args;
use dbsync_connectors::ConnectorError;
use dbsync_connectors::partition::PartitionSpec;
use dbsync_connectors::singer::{tap, target};

use crate::args::ConnectionArgs;
use crate::exit::{CliError, Exit};

/// `dbsync tap`: a Singer tap (the config is the global `--config FILE`).
#[derive(Debug, Clone, Args)]
pub struct TapArgs {
    /// Print the catalog (one stream per configured resource) instead of syncing.
    #[arg(long)]
    pub discover: bool,
    /// The catalog: only its selected streams are synced, with their replication method.
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// The state of an earlier run (the last state the target printed).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Read partition I of N (`I/N`; or `N` with I from JOB_COMPLETION_INDEX).
    #[arg(long, value_name = "I/N")]
    pub partition: Option<String>,
}

/// `dbsync target`: a Singer target (the config is the global `--config FILE`).
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// The longest input line, in bytes (default 16 MiB, at most 1 GiB).
    #[arg(long, value_name = "BYTES", default_value_t = dbsync_connectors::lines::MAX_LINE_BYTES,
          value_parser = line_limit)]
    pub max_line_bytes: usize,
}

/// `--max-line-bytes`: 1 to `lines::LINE_LIMIT_CEILING` (1 GiB).
pub fn line_limit(text: &str) -> Result<usize, String> {
    let ceiling = dbsync_connectors::lines::LINE_LIMIT_CEILING;
    match text.parse::<usize>() {
        Ok(bytes) if (1..=ceiling).contains(&bytes) => Ok(bytes),
        _ => Err(format!("a number of bytes from 1 to {ceiling} (1 GiB)")),
    }
}

fn config_path(connection: &ConnectionArgs) -> Result<&PathBuf, CliError> {
    connection.config.as_ref().ok_or_else(|| {
        CliError::usage("give --config FILE: the connection settings JSON plus `resources`")
    })
}

fn cli_error(error: ConnectorError) -> CliError {
    match error {
        ConnectorError::Client(error) => error.into(),
        ConnectorError::RecordsFailed { .. } | ConnectorError::RecordInvalid { .. } => {
            CliError::new(Exit::Validation, error.to_string())
        }
        ConnectorError::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe => {
            CliError::other("the output was closed before the run ended")
        }
        ConnectorError::Io { .. } => CliError::other(error.to_string()),
        other => CliError::usage(other.to_string()),
    }
}

/// `dbsync tap`.
pub async fn tap(args: &TapArgs, connection: &ConnectionArgs) -> Result<(), CliError> {
    let config = tap::read_config(config_path(connection)?)
        .map_err(cli_error)?
        .allow_env(&connection.allow_env);
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.discover {
        return tap::discover(&config, out).await.map_err(cli_error);
    }
    let catalog = args
        .catalog
        .as_deref()
        .map(tap::read_catalog)
        .transpose()
        .map_err(cli_error)?;
    let state = match &args.state {
        Some(path) => tap::read_state(path).map_err(cli_error)?,
        None => dbsync_connectors::singer::state::State::new(),
    };
    let partition = args
        .partition
        .as_deref()
        .map(PartitionSpec::parse_with_env)
        .transpose()
        .map_err(cli_error)?;
    let summary = tap::sync(&config, catalog.as_ref(), state, partition, out)
        .await
        .map_err(cli_error)?;
    eprintln!(
        "dbsync tap: {} record(s) from {} stream(s), {} state(s)",
        summary.records, summary.streams, summary.states
    );
    Ok(())
}

/// `dbsync target`.
pub async fn target(args: &TargetArgs, connection: &ConnectionArgs) -> Result<(), CliError> {
    if connection.token_stdin || connection.password_stdin || connection.client_secret_stdin {
        return Err(CliError::usage(
            "the target reads its messages from standard input: give the secret through the \
             config file's ${DBSYNC_...} reference",
        ));
    }
    let config = target::read_config(config_path(connection)?)
        .map_err(cli_error)?
        .allow_env(&connection.allow_env);
    let out = std::io::stdout().lock();
    let input = tokio::io::BufReader::with_capacity(1 << 16, tokio::io::stdin());
    let summary = target::Target::new(&config, out)
        .map_err(cli_error)?
        .run(input, args.max_line_bytes)
        .await
        .map_err(cli_error)?;
    eprintln!(
        "dbsync target: {} record(s) read, {} stored, {} state(s) emitted",
        summary.records, summary.stored, summary.states
    );
    Ok(())
}

/// `dbsync list --all --partition I/N`: the scan of partition I of N of `query` (consistent
/// partitions, as `dbsync tap --partition`).
pub async fn partition_scan<T>(
    resource: &dbsync_client::Resource<T>,
    query: dbsync_client::Query,
    spec: &str,
    options: dbsync_client::ScanOptions,
) -> Result<dbsync_client::Scan<T>, CliError>
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    let spec = PartitionSpec::parse_with_env(spec).map_err(cli_error)?;
    let part = resource
        .partition_with(
            query,
            spec.index(),
            spec.count(),
            dbsync_client::ScanMode::Consistent,
        )
        .await?;
    let options = options.mode(dbsync_client::ScanMode::Consistent);
    Ok(resource.scan_partition_with(&part, options)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_limit_is_one_byte_to_one_gib() {
        assert_eq!(line_limit("1"), Ok(1));
        assert_eq!(line_limit("1073741824"), Ok(1 << 30));
        for bad in ["0", "1073741825", "18446744073709551615", "-1", "16MiB"] {
            let error = line_limit(bad).unwrap_err();
            assert!(error.contains("from 1 to 1073741824"), "{bad}: {error}");
        }
    }
}
