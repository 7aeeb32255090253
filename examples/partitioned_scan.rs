//! Four tasks scan one resource together: the scan is split into four serializable partitions,
//! each task scans one, and the union is every record exactly once.
//!
//! Runs against the in-process sandbox (no setup): `cargo run --example partitioned_scan`.

use std::collections::HashSet;

use dbsync::client::{Connection, Query, Record};
use dbsync::sandbox::Sandbox;
use futures::TryStreamExt as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::builder().seed_records(20_000).start().await?;
    let connection = Connection::builder().base_url(sandbox.base_url()).build()?;
    let records = connection.records();

    let partitions = records.partitions(Query::new().limit(1000), 4).await?;
    let mut tasks = Vec::new();
    for partition in partitions {
        // A partition is plain data: it could as well go to another process as JSON.
        println!(
            "partition {}: offsets {}..{}",
            partition.index(),
            partition.start_offset(),
            partition
                .end_offset()
                .map_or("end".to_string(), |end| end.to_string())
        );
        let records = records.clone();
        tasks.push(tokio::spawn(async move {
            let scan = records.scan_partition(&partition)?;
            scan.try_collect::<Vec<Record>>().await
        }));
    }

    let mut ids = HashSet::new();
    let mut count = 0usize;
    for task in tasks {
        for record in task.await?? {
            count += 1;
            let id = record["id"].to_string();
            if !ids.insert(id.clone()) {
                return Err(format!("record {id} was read twice").into());
            }
        }
    }
    println!("{count} records read by 4 tasks, {} distinct", ids.len());
    assert_eq!(count, 20_000);
    sandbox.shutdown().await;
    Ok(())
}
