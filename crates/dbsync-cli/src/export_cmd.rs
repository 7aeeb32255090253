//! `dbsync export`: a resource's records into a JSON Lines file, resumable (`--checkpoint`),
//! incremental (`--since`, `--state`) and partitioned (`--partition I/N`), on dbsync-client's
//! scans.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use dbsync_client::{Connection, IncrementalOptions, Query, Resource, Scan, ScanMode, ScanOptions};
use dbsync_connectors::ConnectorError;
use dbsync_connectors::partition::PartitionSpec;
use futures::StreamExt as _;
use serde_json::Value;

use crate::exit::{CliError, Exit};
use crate::export_files::{self, Saved, State};
use crate::output::Format;
use crate::progress;

/// The checkpoint is saved after this many records at the latest, by default
/// (`--checkpoint-every`).
pub const CHECKPOINT_EVERY_RECORDS: u64 = 1_000;
/// The checkpoint is saved after this long at the latest (when records come).
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// `dbsync export`
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The resource.
    #[arg(short, long, default_value = "records")]
    pub resource: String,
    /// The file to write, JSON Lines (one record per line, unchanged). Replaced, unless a
    /// --checkpoint resumes it.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Resume from this file after a crash or Ctrl-C, and save progress in it (created when
    /// missing; removed when the export completes).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Save the checkpoint after at most this many records (and at least every 2 seconds while
    /// records come).
    #[arg(long, value_name = "N", default_value_t = CHECKPOINT_EVERY_RECORDS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: u64,
    /// Only records changed (updated_at) at or after this RFC 3339 time.
    #[arg(long, value_name = "TIME", conflicts_with = "state")]
    pub since: Option<String>,
    /// Incremental: only records changed since the last run that used this file; the new
    /// watermark is written there when the export completes (missing file: everything).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Export only partition I of N (0-based: 0/4 .. 3/4), by offset ranges of the list; N
    /// alone takes I from JOB_COMPLETION_INDEX (env: JOB_COMPLETION_INDEX).
    #[arg(long, value_name = "I/N", conflicts_with_all = ["since", "state"])]
    pub partition: Option<String>,
    /// Records per page asked of the server (1..=1000; default 1000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: Option<u32>,
    /// Stop after this many records in this run, save the checkpoint and exit 0 with a note on
    /// stderr (needs --checkpoint): the next run continues.
    #[arg(long, value_name = "N", requires = "checkpoint",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub stop_after: Option<u64>,
}

/// What kind of scan the flags ask for; saved in the checkpoint so that a resume with other
/// flags is refused.
fn scan_kind(args: &ExportArgs, partition: Option<(usize, usize)>) -> String {
    match (partition, &args.since, &args.state) {
        (Some((i, n)), _, _) => format!("partition {i}/{n}"),
        (None, Some(since), _) => format!("since {since}"),
        (None, None, Some(_)) => "state".to_owned(),
        (None, None, None) => "full".to_owned(),
    }
}

/// Parses `I/N`, or `N` with I from `JOB_COMPLETION_INDEX` (`job_index`), with the
/// connectors' parser (an explicit I must agree with `job_index`).
pub fn parse_partition(spec: &str, job_index: Option<&str>) -> Result<(usize, usize), CliError> {
    let spec =
        PartitionSpec::parse(spec, job_index.filter(|i| !i.is_empty())).map_err(|e| match e {
            ConnectorError::Config(message) => CliError::usage(message),
            other => CliError::usage(other.to_string()),
        })?;
    Ok((spec.index(), spec.count()))
}

/// `dbsync export`
pub async fn run(
    connection: &Connection,
    args: &ExportArgs,
    format: Option<Format>,
) -> Result<(), CliError> {
    if format.is_some_and(|format| format != Format::Jsonl) {
        return Err(CliError::usage(
            "dbsync export writes JSON Lines only (--format jsonl): convert the file afterwards \
             (e.g. with jq), or use `dbsync list --all --format csv`",
        ));
    }
    let resource = connection.resource::<Value>(&args.resource)?;
    let partition = match &args.partition {
        Some(spec) => Some(parse_partition(
            spec,
            std::env::var("JOB_COMPLETION_INDEX").ok().as_deref(),
        )?),
        None => None,
    };
    if args.checkpoint.as_deref() == Some(args.out.as_path()) {
        return Err(CliError::usage("--checkpoint must not be the --out file"));
    }
    let kind = scan_kind(args, partition);
    let saved = match &args.checkpoint {
        Some(path) => export_files::read_checkpoint(path)?,
        None => None,
    };
    let (scan, out) = match saved {
        Some(saved) => {
            if saved.kind != kind || saved.resource != args.resource {
                return Err(CliError::usage(format!(
                    "the checkpoint is of another export (resource `{}`, {}), not of this one \
                     (resource `{}`, {kind}): give the same flags, or remove the checkpoint to \
                     start again",
                    saved.resource, saved.kind, args.resource
                )));
            }
            let out = export_files::reopen_output(&args.out, saved.bytes)?;
            (
                resource.resume_with(&saved.checkpoint, ScanOptions::default())?,
                out,
            )
        }
        None => {
            let scan = start_scan(&resource, args, partition).await?;
            (scan, export_files::create_output(&args.out)?)
        }
    };
    // The bar shows a count and rate, and a length with an ETA once the server's total is known
    // (a full export only: a partition or an incremental slice is a part of that total).
    let sized = partition.is_none() && args.since.is_none() && args.state.is_none();
    let bar = progress::bar(None, "exporting");
    if sized {
        bar.set_position(scan.checkpoint().offset());
    }
    let mut export = Export {
        scan,
        out,
        bar,
        sized,
        kind,
        args,
        written: 0,
        since_checkpoint: 0,
        last_checkpoint: Instant::now(),
    };
    let outcome = export.run().await;
    export.bar.finish_and_clear();
    outcome
}

fn base_query(args: &ExportArgs) -> Query {
    Query::new().limit(args.page_size.unwrap_or(1000))
}

async fn start_scan(
    resource: &Resource<Value>,
    args: &ExportArgs,
    partition: Option<(usize, usize)>,
) -> Result<Scan<Value>, CliError> {
    let query = base_query(args);
    if let Some((index, count)) = partition {
        let part = resource
            .partition_with(query, index, count, ScanMode::Consistent)
            .await?;
        return Ok(resource.scan_partition_with(&part, ScanOptions::default())?);
    }
    let since = match (&args.since, &args.state) {
        (Some(since), _) => Some(since.clone()),
        (None, Some(state)) => export_files::read_state(state)?.map(|s| s.watermark),
        (None, None) => return Ok(resource.scan_with(query, ScanOptions::default())),
    };
    Ok(resource.changes_since(query, since.map(Into::into), IncrementalOptions::default())?)
}

/// A running export.
struct Export<'a> {
    scan: Scan<Value>,
    out: export_files::Output,
    bar: indicatif::ProgressBar,
    /// Whether the scan's total is the bar's length.
    sized: bool,
    kind: String,
    args: &'a ExportArgs,
    written: u64,
    since_checkpoint: u64,
    last_checkpoint: Instant,
}

impl Export<'_> {
    async fn run(&mut self) -> Result<(), CliError> {
        let interrupted = tokio::signal::ctrl_c();
        tokio::pin!(interrupted);
        loop {
            if self.args.stop_after.is_some_and(|cap| self.written >= cap) {
                self.save_checkpoint()?;
                eprintln!(
                    "dbsync: stopped after {} record(s) (--stop-after); run the same command \
                     again to continue",
                    self.written
                );
                return Ok(());
            }
            let next = tokio::select! {
                next = self.scan.next() => next,
                _ = &mut interrupted => {
                    self.save_checkpoint()?;
                    return Err(CliError::other(self.stopped_message("interrupted")));
                }
            };
            match next {
                None => return self.finish(),
                Some(Ok(record)) => self.write(&record)?,
                Some(Err(error)) => {
                    // The scan's checkpoint after an error is the place to resume from.
                    self.save_checkpoint()?;
                    let mut error = CliError::from(error);
                    error.message =
                        format!("{} ({})", error.message, self.stopped_message("stopped"));
                    return Err(error);
                }
            }
        }
    }

    fn stopped_message(&self, what: &str) -> String {
        match &self.args.checkpoint {
            Some(path) => format!(
                "{what} after {} record(s); the checkpoint {} resumes it: run the same command \
                 again",
                self.written,
                path.display()
            ),
            None => format!(
                "{what} after {} record(s); without --checkpoint a new run starts over",
                self.written
            ),
        }
    }

    fn write(&mut self, record: &Value) -> Result<(), CliError> {
        self.out.write_record(record)?;
        self.written += 1;
        self.since_checkpoint += 1;
        self.bar.inc(1);
        if self.sized
            && self.bar.length().is_none()
            && let Some(total) = self.scan.total()
        {
            progress::set_total(&self.bar, total);
        }
        if self.since_checkpoint >= self.args.checkpoint_every
            || self.last_checkpoint.elapsed() >= CHECKPOINT_EVERY
        {
            self.save_checkpoint()?;
        }
        Ok(())
    }

    /// Flushes and syncs the output, then replaces the checkpoint with one that holds the
    /// output's length: a crash at any point neither loses nor repeats a record.
    fn save_checkpoint(&mut self) -> Result<(), CliError> {
        let bytes = self.out.sync()?;
        if let Some(path) = &self.args.checkpoint {
            let saved = Saved {
                resource: self.args.resource.clone(),
                kind: self.kind.clone(),
                bytes,
                checkpoint: self.scan.checkpoint(),
            };
            export_files::write_checkpoint(path, &saved)?;
        }
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        Ok(())
    }

    /// The scan ended: the output is synced, the new watermark saved (`--state`), and the
    /// checkpoint removed (the next run is a new export).
    fn finish(&mut self) -> Result<(), CliError> {
        self.out.sync()?;
        if let Some(state) = &self.args.state {
            let Some(watermark) = self.scan.watermark() else {
                return Err(CliError::new(
                    Exit::Other,
                    "the incremental scan ended without a watermark; the state file is unchanged",
                ));
            };
            export_files::write_state(state, &State { watermark })?;
        }
        if let Some(path) = &self.args.checkpoint {
            export_files::remove_checkpoint(path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_parse_and_refuse_what_is_out_of_range() {
        assert_eq!(parse_partition("2/4", None).unwrap(), (2, 4));
        assert_eq!(parse_partition("4", Some("3")).unwrap(), (3, 4));
        for (spec, job) in [
            ("4/4", None),
            ("0/0", None),
            ("x/2", None),
            ("4", None),
            ("4", Some("9")),
            ("1/10001", None),
        ] {
            let error = parse_partition(spec, job).unwrap_err();
            assert_eq!(error.exit, Exit::Usage, "{spec}");
            assert!(error.message.contains("--partition"), "{}", error.message);
        }
    }
}
