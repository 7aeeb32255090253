//! Monitoring and audit: filter the server's API logs, export them to a CSV file (streamed,
//! never held in memory), print how many entries were exported; export the client's own API
//! log beside it; show usage and the last rate-limit headers.
//!
//! Runs with no setup: without `DBSYNC_API_URL` it starts the local sandbox in-process;
//! otherwise it uses the `DBSYNC_*` settings. The files go to the directory given as the first
//! argument (default: the system's temporary directory).
//!
//! ```text
//! cargo run --example logs_export -- .
//! ```

use std::path::{Path, PathBuf};

use dbsync::client::{ApiLogFilter, Connection, Error, ExportFormat, LogQuery, Query};
use dbsync::sandbox::Sandbox;
use futures::TryStreamExt as _;

/// What the example did.
#[derive(Debug)]
pub struct Outcome {
    /// The server log export.
    pub server_csv: PathBuf,
    /// How many server log entries it holds.
    pub server_entries: u64,
    /// The client's own API log export.
    pub client_csv: PathBuf,
    /// How many client entries it holds.
    pub client_entries: usize,
    /// How many `4xx` entries the server logged.
    pub client_errors: usize,
}

/// The example's flow, against any connection, writing into `dir`.
pub async fn run(connection: &Connection, dir: &Path) -> Result<Outcome, Error> {
    // Some traffic to look at: reads, and one 404.
    let records = connection.records();
    for offset in 0..5 {
        records
            .list(&Query::new().limit(10).offset(offset * 10))
            .await?;
    }
    let _ = records.get("does-not-exist").await;

    let logs = connection.logs();
    let errors: Vec<_> = logs
        .stream(LogQuery::new().status_class(4))
        .try_collect()
        .await?;
    println!("{} requests answered 4xx", errors.len());

    // Export the GETs on /v1/records (and the paths under it) to CSV.
    let server_csv = dir.join("api-logs.csv");
    let query = LogQuery::new().method("GET").endpoint("/v1/records");
    let summary = logs
        .export_to_file(&query, ExportFormat::Csv, &server_csv)
        .await?;
    println!(
        "exported {} server log entries ({} bytes) to {}",
        summary.entries,
        summary.bytes,
        server_csv.display()
    );

    // The client's own log: every attempt it made, by endpoint template.
    let client_csv = dir.join("client-api-log.csv");
    let mut client_entries = 0;
    if let Some(log) = connection.api_log() {
        let file = std::fs::File::create(&client_csv).map_err(|e| Error::Io {
            message: format!("could not create {}", client_csv.display()),
            source: e.into(),
        })?;
        client_entries = log
            .export_csv(&ApiLogFilter::new(), file)
            .map_err(|e| Error::Io {
                message: format!("could not write {}", client_csv.display()),
                source: e.into(),
            })?;
        println!(
            "exported {client_entries} client API log entries to {}",
            client_csv.display()
        );
    }

    let usage = connection.usage().await?;
    println!(
        "usage: plan {:?}, {:?} used, {:?} remaining of {:?} per minute",
        usage.plan, usage.used, usage.remaining, usage.limit_per_minute
    );
    if let Some(limit) = connection.last_rate_limit() {
        println!("last rate-limit headers: {limit:?}");
    }
    Ok(Outcome {
        server_csv,
        server_entries: summary.entries,
        client_csv,
        client_entries,
        client_errors: errors.len(),
    })
}

async fn connect() -> Result<(Connection, Option<Sandbox>), Box<dyn std::error::Error>> {
    if std::env::var_os("DBSYNC_API_URL").is_some() {
        return Ok((Connection::from_env()?, None));
    }
    let sandbox = Sandbox::builder()
        .seed_records(100)
        .rate_limit(600)
        .start()
        .await?;
    println!(
        "no DBSYNC_API_URL: using the local sandbox at {}",
        sandbox.base_url()
    );
    let connection = Connection::builder().base_url(sandbox.base_url()).build()?;
    Ok((connection, Some(sandbox)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let (connection, _sandbox) = connect().await?;
    run(&connection, &dir).await?;
    Ok(())
}
