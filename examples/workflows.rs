//! Workflows: list them, trigger a run and wait for it to finish, trigger another and cancel it,
//! and see the clear error when cancelling a run that already ended.
//!
//! Runs with no setup: without `DBSYNC_API_URL` it starts the local sandbox in-process;
//! otherwise it uses the `DBSYNC_*` settings (and `DBSYNC_WORKFLOW_ID`, if set, picks the
//! workflow).
//!
//! ```text
//! cargo run --example workflows
//! ```

use std::time::Duration;

use dbsync::client::{Connection, Error, RunStatus, WaitError};
use dbsync::sandbox::Sandbox;
use serde_json::json;

/// What the example did.
#[derive(Debug)]
pub struct Outcome {
    /// How many workflows the server has.
    pub workflows: usize,
    /// How the waited-for run ended.
    pub finished: RunStatus,
    /// The status of the run cancelled right after its trigger.
    pub cancelled: RunStatus,
    /// The message of the `409` on cancelling the finished run.
    pub conflict: String,
}

/// The example's flow, against any connection.
pub async fn run(connection: &Connection) -> Result<Outcome, Error> {
    let workflows = connection.workflows();
    let list = workflows.list().await?;
    for workflow in &list {
        println!("workflow {} ({})", workflow.id, workflow.name);
    }
    let workflow_id = match std::env::var("DBSYNC_WORKFLOW_ID") {
        Ok(id) if !id.is_empty() => id,
        _ => list
            .first()
            .map(|w| w.id.clone())
            .ok_or_else(|| Error::Config("the server has no workflow to trigger".into()))?,
    };

    // Trigger with any JSON input, then wait (polling with backoff) for the run to end.
    let run = workflows
        .trigger(
            &workflow_id,
            &json!({"since": "2026-01-01T00:00:00Z", "dry_run": true}),
        )
        .await?;
    println!(
        "triggered {} of {} ({})",
        run.id, run.workflow_id, run.status
    );
    let done = match workflows
        .wait(&run.workflow_id, &run.id, Duration::from_secs(120))
        .await
    {
        Ok(done) => done,
        Err(WaitError::TimedOut { run, message }) => {
            // Still going after the timeout: give up on it.
            println!("{message}");
            workflows.cancel(&run.workflow_id, &run.id).await?
        }
        Err(WaitError::Call(error)) => return Err(error),
        Err(other) => return Err(Error::Config(other.to_string())),
    };
    println!("{} ended: {}", done.id, done.status);

    // A second run, cancelled while it is queued or running.
    let second = workflows
        .trigger(&workflow_id, &serde_json::Value::Null)
        .await?;
    let cancelled = workflows.cancel(&second.workflow_id, &second.id).await?;
    println!("{} is {}", cancelled.id, cancelled.status);

    // Cancelling a finished run is a 409 that says how it ended.
    let conflict = match workflows.cancel(&done.workflow_id, &done.id).await {
        Err(error @ Error::Conflict { .. }) => error.to_string(),
        Err(other) => return Err(other),
        Ok(run) => format!("unexpectedly cancelled {}", run.id),
    };
    println!("{conflict}");

    Ok(Outcome {
        workflows: list.len(),
        finished: done.status,
        cancelled: cancelled.status,
        conflict,
    })
}

/// The `DBSYNC_*` connection, or the local sandbox (kept alive by the returned handle).
async fn connect() -> Result<(Connection, Option<Sandbox>), Box<dyn std::error::Error>> {
    if std::env::var_os("DBSYNC_API_URL").is_some() {
        return Ok((Connection::from_env()?, None));
    }
    let sandbox = Sandbox::builder().start().await?;
    println!(
        "no DBSYNC_API_URL: using the local sandbox at {}",
        sandbox.base_url()
    );
    let connection = Connection::builder().base_url(sandbox.base_url()).build()?;
    Ok((connection, Some(sandbox)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (connection, _sandbox) = connect().await?;
    run(&connection).await?;
    Ok(())
}
