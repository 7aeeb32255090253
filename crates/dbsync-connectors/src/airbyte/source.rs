//! The source: `check` (`CONNECTION_STATUS`) and `read` (`RECORD`s with a per-stream `STATE`
//! every [`ReadOptions::state_every`] records and at the end of each stream).

use std::io::Write;

use dbsync_client::{Connection, IncrementalOptions, Query, Scan, ScanMode, ScanOptions};
use futures::StreamExt as _;
use serde_json::Value;

use super::catalog::{ConfiguredCatalog, ConfiguredStream, SyncMode};
use super::error::{AirbyteError, output_error};
use super::message::{self, Emitter, now_ms};
use super::state::{InputState, StreamState};
use crate::config::ConnectorConfig;
use crate::partition::PartitionSpec;

/// `STATE` every this many records by default.
pub const DEFAULT_STATE_EVERY: u64 = 1000;
/// The page size of the scans.
pub const PAGE_SIZE: u32 = 1000;

/// How `read` runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReadOptions {
    /// A `STATE` per stream every this many records (at least 1).
    pub state_every: u64,
    /// Read only this partition of each full-refresh stream.
    pub partition: Option<PartitionSpec>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            state_every: DEFAULT_STATE_EVERY,
            partition: None,
        }
    }
}

impl ReadOptions {
    /// A `STATE` every `records` records (0 is taken as 1).
    pub fn state_every(mut self, records: u64) -> Self {
        self.state_every = records.max(1);
        self
    }

    /// Reads partition `partition` of each stream.
    pub fn partition(mut self, partition: Option<PartitionSpec>) -> Self {
        self.partition = partition;
        self
    }
}

/// What a read did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadReport {
    /// Records emitted, all streams.
    pub records: u64,
    /// `STATE` messages emitted.
    pub states: u64,
}

/// `check`: `CONNECTION_STATUS` `SUCCEEDED` when the server is reachable and accepts the
/// credentials, `FAILED` with the reason otherwise.
pub async fn check(connection: &Connection) -> Value {
    match connection.validate().await {
        Ok(report) if report.reachable && report.authenticated => message::connection_status(None),
        Ok(report) => message::connection_status(Some(&format!(
            "the server answered {} (reachable: {}, credentials accepted: {})",
            report.status, report.reachable, report.authenticated
        ))),
        Err(error) => message::connection_status(Some(&error.to_string())),
    }
}

/// `read`: every configured stream in catalog order.
pub async fn read<W: Write>(
    config: &ConnectorConfig,
    connection: &Connection,
    catalog: &ConfiguredCatalog,
    state: &InputState,
    options: &ReadOptions,
    out: &mut Emitter<W>,
) -> Result<ReadReport, AirbyteError> {
    catalog.check_offered(config)?;
    if options.partition.is_some()
        && let Some(stream) = catalog
            .streams
            .iter()
            .find(|s| s.sync_mode == SyncMode::Incremental)
    {
        return Err(AirbyteError::config(format!(
            "stream `{}` is incremental: a partitioned read takes full_refresh streams only",
            stream.name
        ))
        .in_stream(&stream.name));
    }
    let mut report = ReadReport::default();
    for stream in &catalog.streams {
        read_stream(
            config,
            connection,
            stream,
            state.get(&stream.name),
            options,
            out,
            &mut report,
        )
        .await
        .map_err(|e| e.in_stream(&stream.name))?;
    }
    out.flush().map_err(output_error)?;
    Ok(report)
}

async fn read_stream<W: Write>(
    config: &ConnectorConfig,
    connection: &Connection,
    stream: &ConfiguredStream,
    previous: Option<&StreamState>,
    options: &ReadOptions,
    out: &mut Emitter<W>,
    report: &mut ReadReport,
) -> Result<(), AirbyteError> {
    let name = stream.name.as_str();
    let mode = stream.sync_mode;
    let resource = connection
        .resource::<Value>(name)
        .map_err(|e| AirbyteError::from_client("resource", &e))?;
    // A state of the other mode is not used: full refresh starts over, incremental keeps the
    // watermark only.
    let previous = previous.filter(|s| s.sync_mode == mode.as_str());
    let watermark = previous.and_then(|s| s.watermark.clone());
    let partition = options.partition.map(|p| p.to_string());
    let checkpoint = match previous {
        Some(state) => state.resumable(partition.as_deref())?.cloned(),
        None => None,
    };
    let state_of = |watermark: Option<String>, checkpoint: Option<dbsync_client::Checkpoint>| {
        StreamState::new(name, mode, watermark, checkpoint).in_partition(partition.clone())
    };
    let client = |what: &str, e: dbsync_client::Error| AirbyteError::from_client(what, &e);
    let scan_options = ScanOptions::default().mode(ScanMode::Consistent);
    let query = Query::new().limit(PAGE_SIZE);
    let (mut scan, how): (Scan<Value>, String) = match (&checkpoint, mode) {
        (Some(checkpoint), _) => (
            resource
                .resume_with(checkpoint, ScanOptions::default())
                .map_err(|e| client("resuming from the state", e))?,
            format!("resuming at offset {}", checkpoint.offset()),
        ),
        (None, SyncMode::Incremental) => {
            let since = watermark
                .clone()
                .or_else(|| config.start_date().map(str::to_owned));
            let how = since
                .as_deref()
                .map_or_else(|| "from the beginning".to_owned(), |s| format!("since {s}"));
            let scan = resource
                .changes_since(query, since.map(Into::into), IncrementalOptions::default())
                .map_err(|e| client("starting the incremental read", e))?;
            (scan, how)
        }
        (None, SyncMode::FullRefresh) => match options.partition {
            None => (
                resource.scan_with(query, scan_options),
                "every record".to_owned(),
            ),
            Some(part) => {
                let mine = resource
                    .partition_with(query, part.index(), part.count(), ScanMode::Consistent)
                    .await
                    .map_err(|e| client("splitting into partitions", e))?;
                let scan = resource
                    .scan_partition_with(&mine, scan_options)
                    .map_err(|e| client("starting the partition", e))?;
                (scan, format!("partition {part}"))
            }
        },
    };
    out.emit(&message::log(
        "INFO",
        &format!("stream `{name}`: {} read, {how}", mode.as_str()),
    ))
    .map_err(output_error)?;
    let mut since_state = 0u64;
    let mut count = 0u64;
    while let Some(item) = scan.next().await {
        let record = match item {
            Ok(record) => record,
            Err(error) => {
                // Everything yielded so far was emitted: the checkpoint resumes after it.
                let state = state_of(watermark.clone(), Some(scan.checkpoint()));
                emit_state(out, name, &state, report)?;
                return Err(client("reading", error));
            }
        };
        out.emit(&message::record(name, record, now_ms()))
            .map_err(output_error)?;
        count += 1;
        since_state += 1;
        report.records += 1;
        if since_state >= options.state_every {
            since_state = 0;
            let state = state_of(watermark.clone(), Some(scan.checkpoint()));
            emit_state(out, name, &state, report)?;
        }
    }
    let final_watermark = match mode {
        SyncMode::Incremental => scan.watermark().or(watermark),
        SyncMode::FullRefresh => None,
    };
    emit_state(out, name, &state_of(final_watermark, None), report)?;
    out.emit_now(&message::log(
        "INFO",
        &format!("stream `{name}`: {count} records"),
    ))
    .map_err(output_error)
}

fn emit_state<W: Write>(
    out: &mut Emitter<W>,
    name: &str,
    state: &StreamState,
    report: &mut ReadReport,
) -> Result<(), AirbyteError> {
    out.emit_now(&message::stream_state(name, state.to_json_value()?))
        .map_err(output_error)?;
    report.states += 1;
    Ok(())
}
