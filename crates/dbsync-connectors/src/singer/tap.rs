//! `dbsync tap`: discovery (the catalog) and sync (`SCHEMA`, `RECORD`s, `STATE` every
//! `state_every` records and at the end of each stream), reading with dbsync-client's scans:
//! an incremental scan from the bookmark's watermark, a consistent full scan, or one partition
//! of a consistent scan. Logs go to stderr; standard output holds messages only.

use std::io::Write;
use std::path::Path;

use dbsync_client::{Connection, IncrementalOptions, Query, Resource, Scan, ScanMode, ScanOptions};
use futures::StreamExt as _;
use serde_json::Value;

use super::catalog::{self, KEY_PROPERTY, REPLICATION_KEY, ReplicationMethod, SelectedStream};
use super::messages::{MessageWriter, now_rfc3339};
use super::state::State;
use crate::config::{ConnectorConfig, read_bounded};
use crate::error::ConnectorError;
use crate::partition::PartitionSpec;

/// The tap's own config keys: `state_every` (records between states, default
/// [`DEFAULT_STATE_EVERY`]) and `page_size` (records per list request, default
/// [`DEFAULT_PAGE_SIZE`], at most 1000).
pub const TAP_KEYS: [&str; 2] = ["state_every", "page_size"];
/// Records between two `STATE` messages, by default.
pub const DEFAULT_STATE_EVERY: u64 = 1000;
/// The most records between two states.
pub const MAX_STATE_EVERY: u64 = 1_000_000;
/// Records per list request, by default.
pub const DEFAULT_PAGE_SIZE: u64 = 1000;

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TapSummary {
    /// Streams synced.
    pub streams: usize,
    /// `RECORD` messages written.
    pub records: u64,
    /// `STATE` messages written.
    pub states: u64,
}

/// Reads the config of a tap.
pub fn read_config(path: &Path) -> Result<ConnectorConfig, ConnectorError> {
    ConnectorConfig::from_file(path, &TAP_KEYS)
}

/// Reads a catalog file.
pub fn read_catalog(path: &Path) -> Result<Value, ConnectorError> {
    let text = read_bounded(path, catalog::MAX_CATALOG_BYTES, "catalog")
        .map_err(|e| ConnectorError::Catalog(e.to_string()))?;
    serde_json::from_str(&text)
        .map_err(|e| ConnectorError::Catalog(format!("{}: not valid JSON: {e}", path.display())))
}

/// Reads a state file.
pub fn read_state(path: &Path) -> Result<State, ConnectorError> {
    let text = read_bounded(path, super::state::MAX_STATE_BYTES as u64, "state")
        .map_err(|e| ConnectorError::State(e.to_string()))?;
    State::from_json(&text)
}

/// `--discover`: writes the catalog (one JSON document) to `out`.
pub async fn discover<W: Write>(config: &ConnectorConfig, out: W) -> Result<(), ConnectorError> {
    let connection = config.connect()?;
    let catalog = catalog::discover(&connection, config).await?;
    MessageWriter::new(out).raw(&catalog)
}

/// A sync: the selected streams (all configured resources without a catalog), from `state`.
/// On a failed scan, a `STATE` with the checkpoint to resume from is written before the error
/// is returned.
pub async fn sync<W: Write>(
    config: &ConnectorConfig,
    catalog: Option<&Value>,
    state: State,
    partition: Option<PartitionSpec>,
    out: W,
) -> Result<TapSummary, ConnectorError> {
    let streams = catalog::selected_streams(catalog, config)?;
    let state_every = config.positive("state_every", DEFAULT_STATE_EVERY, MAX_STATE_EVERY)?;
    let page_size = config.positive("page_size", DEFAULT_PAGE_SIZE, 1000)?;
    let page_size = u32::try_from(page_size).unwrap_or(1000);
    let connection = config.connect()?;
    let mut run = Run {
        connection,
        state,
        out: MessageWriter::new(out),
        state_every,
        page_size,
        partition,
        start_date: config.start_date().map(str::to_owned),
        summary: TapSummary::default(),
    };
    for stream in &streams {
        run.stream(stream).await?;
    }
    run.state.currently_syncing = None;
    run.write_state()?;
    run.summary.records = run.out.records();
    Ok(run.summary)
}

struct Run<W: Write> {
    connection: Connection,
    state: State,
    out: MessageWriter<W>,
    state_every: u64,
    page_size: u32,
    partition: Option<PartitionSpec>,
    start_date: Option<String>,
    summary: TapSummary,
}

impl<W: Write> Run<W> {
    fn write_state(&mut self) -> Result<(), ConnectorError> {
        let value = self.state.to_value()?;
        self.summary.states += 1;
        self.out.state(&value)
    }

    async fn stream(&mut self, selected: &SelectedStream) -> Result<(), ConnectorError> {
        let name = selected.stream.as_str();
        let resource: Resource<Value> = self.connection.resource(name)?;
        let schema = match &selected.schema {
            Some(schema) => schema.clone(),
            None => catalog::json_schema(&self.connection, name).await?,
        };
        // Property selection: computed once per stream (in the catalog), applied to each record.
        let schema = selected.properties.schema(schema);
        self.out
            .schema(name, &schema, &[KEY_PROPERTY], &[REPLICATION_KEY])?;
        let partition = self.partition.map(|p| p.to_string());
        // Taken before the scan starts: every record updated before it is read by this run.
        let started = time::OffsetDateTime::now_utc() - dbsync_client::DEFAULT_SETTLE;
        let mut scan = self
            .open_scan(&resource, selected.method, partition.as_deref())
            .await?;
        self.state.currently_syncing = Some(name.to_owned());
        {
            let bookmark = self.state.bookmark(name);
            bookmark.replication_method = Some(selected.method.as_str().to_owned());
            bookmark.partition = partition.clone();
        }
        let mut since_state = 0u64;
        while let Some(record) = scan.next().await {
            let mut record = match record {
                Ok(record) => record,
                Err(error) => {
                    self.state.bookmark(name).checkpoint = Some(scan.checkpoint());
                    self.write_state()?;
                    return Err(error.into());
                }
            };
            selected.properties.record(&mut record);
            self.out.record(name, record, &now_rfc3339())?;
            since_state += 1;
            if since_state >= self.state_every {
                since_state = 0;
                self.state.bookmark(name).checkpoint = Some(scan.checkpoint());
                self.write_state()?;
            }
        }
        let bookmark = self.state.bookmark(name);
        bookmark.checkpoint = None;
        match (selected.method, &partition) {
            (ReplicationMethod::Incremental, None) => {
                if let Some(watermark) = scan.watermark() {
                    bookmark.replication_key_value = Some(watermark);
                }
            }
            (_, Some(_)) => {
                let at = started
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok();
                bookmark.replication_key_value = at.or(bookmark.replication_key_value.take());
            }
            (ReplicationMethod::FullTable, None) => {}
        }
        self.summary.streams += 1;
        self.write_state()
    }

    async fn open_scan(
        &mut self,
        resource: &Resource<Value>,
        method: ReplicationMethod,
        partition: Option<&str>,
    ) -> Result<Scan<Value>, ConnectorError> {
        let name = resource.name().to_owned();
        let options = ScanOptions::default().mode(ScanMode::Consistent);
        let query = Query::new().limit(self.page_size);
        let bookmark = self.state.bookmark(&name).clone();
        if let Some(checkpoint) = bookmark.resumable(method, partition)? {
            eprintln!("dbsync tap: {name}: resuming from the state's checkpoint");
            return Ok(resource.resume_with(checkpoint, options)?);
        }
        if let Some(spec) = self.partition {
            let part = resource
                .partition_with(query, spec.index(), spec.count(), ScanMode::Consistent)
                .await?;
            return Ok(resource.scan_partition_with(&part, options)?);
        }
        Ok(match method {
            ReplicationMethod::Incremental => {
                let since = bookmark
                    .replication_key_value
                    .or_else(|| self.start_date.clone());
                resource.changes_since(
                    query,
                    since.map(Into::into),
                    IncrementalOptions::default().scan_options(options),
                )?
            }
            ReplicationMethod::FullTable => resource.scan_with(query, options),
        })
    }
}
