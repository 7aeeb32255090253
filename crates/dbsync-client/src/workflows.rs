//! Workflows and their runs: list, trigger, get, cancel, and wait for a run to finish.
//!
//! | call | request |
//! |---|---|
//! | [`Workflows::list`] | `GET /v1/workflows` (all pages) |
//! | [`Workflows::trigger`] | `POST /v1/workflows/{workflow_id}/runs` -> `202` |
//! | [`Workflows::run`] | `GET /v1/workflows/{workflow_id}/runs/{run_id}` |
//! | [`Workflows::cancel`] | `DELETE /v1/workflows/{workflow_id}/runs/{run_id}` (`409` once finished) |
//! | [`Workflows::wait`] | polls [`Workflows::run`] with backoff until the run finishes |

use std::fmt;
use std::time::Duration;

use futures::TryStreamExt as _;
use http::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::connection::Connection;
use crate::error::Error;
use crate::id::{check_path_segment, string_or_number};
use crate::query::Query;
use crate::request::{Call, JsonAs};

/// A workflow: `{"id","name"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Workflow {
    /// The workflow's id (sent as a path segment).
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// Its display name.
    #[serde(default)]
    pub name: String,
}

/// Why [`Workflows::wait`] returned without a finished run.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WaitError {
    /// The run did not finish within the time the wait was given. `run` is the last state
    /// seen, so the caller can decide to wait more or cancel.
    #[error("{message}")]
    TimedOut {
        /// Which run, how long, its last status, and what to do.
        message: String,
        /// The run as last seen.
        run: Box<Run>,
    },
    /// A poll of the run failed (the call's own retries included).
    #[error(transparent)]
    Call(#[from] Error),
}

impl WaitError {
    /// The run as last seen, when the wait timed out.
    pub fn run(&self) -> Option<&Run> {
        match self {
            Self::TimedOut { run, .. } => Some(run),
            Self::Call(_) => None,
        }
    }

    /// A short, stable name: `wait_timed_out`, or the failed call's [`Error::kind`].
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TimedOut { .. } => "wait_timed_out",
            Self::Call(error) => error.kind(),
        }
    }
}

/// The status of a run. A status this client does not know is kept in
/// [`RunStatus::Unknown`] rather than failing to decode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RunStatus {
    /// Waiting to start.
    Queued,
    /// Running.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished with an error (see [`Run::error`]).
    Failed,
    /// Cancelled before it finished.
    Cancelled,
    /// A status this version of the client does not know, as the server spelled it.
    Unknown(String),
}

impl RunStatus {
    /// The status as the server spells it (`queued`, `running`...).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Unknown(text) => text,
        }
    }

    /// Whether the run has ended (`succeeded`, `failed` or `cancelled`). An unknown status is
    /// taken as not finished, so [`Workflows::wait`] keeps polling (bounded by its timeout).
    pub fn is_finished(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    fn parse(text: &str) -> Self {
        match text {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RunStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RunStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self::parse(&text))
    }
}

/// Why a run failed: `{"code","message"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunError {
    /// A code, when the server gives one.
    #[serde(default)]
    pub code: Option<u16>,
    /// What went wrong.
    #[serde(default)]
    pub message: String,
}

/// A workflow run. Timestamps are kept as the server's RFC 3339 strings; fields the contract
/// does not require are optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Run {
    /// The run's id (`run_...`).
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// The workflow it belongs to.
    #[serde(default, deserialize_with = "string_or_number")]
    pub workflow_id: String,
    /// Its status.
    pub status: RunStatus,
    /// When it was triggered.
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it last changed.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// When it started running.
    #[serde(default)]
    pub started_at: Option<String>,
    /// When it finished.
    #[serde(default)]
    pub finished_at: Option<String>,
    /// The input it was triggered with.
    #[serde(default)]
    pub input: Option<Value>,
    /// Why it failed (on `failed`).
    #[serde(default)]
    pub error: Option<RunError>,
}

/// How [`Workflows::wait_with`] polls: the first pause, then each pause `factor` times the last,
/// up to `max` (defaults: 250 ms, x2, 5 s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollBackoff {
    initial: Duration,
    factor: f64,
    max: Duration,
}

impl Default for PollBackoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(250),
            factor: 2.0,
            max: Duration::from_secs(5),
        }
    }
}

impl PollBackoff {
    /// The pause before the second poll.
    pub fn initial(mut self, pause: Duration) -> Self {
        self.initial = pause;
        self
    }

    /// How much each pause grows (at least 1).
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = if factor.is_finite() && factor >= 1.0 {
            factor
        } else {
            1.0
        };
        self
    }

    /// The longest pause.
    pub fn max(mut self, pause: Duration) -> Self {
        self.max = pause;
        self
    }

    fn next(&self, pause: Duration) -> Duration {
        Duration::try_from_secs_f64(pause.as_secs_f64() * self.factor)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

/// Workflows of a connection; get one with [`Connection::workflows`]. Cheap to clone.
///
/// ```no_run
/// # async fn demo(connection: dbsync_client::Connection) -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
///
/// let workflows = connection.workflows();
/// let run = workflows.trigger("wf_sync_contacts", &serde_json::json!({"since": "2024-01-01"})).await?;
/// let done = workflows.wait(&run.workflow_id, &run.id, Duration::from_secs(60)).await?;
/// println!("{} ended {}", done.id, done.status);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Workflows {
    connection: Connection,
}

impl Connection {
    /// The workflows API of this connection.
    pub fn workflows(&self) -> Workflows {
        Workflows {
            connection: self.clone(),
        }
    }
}

impl Workflows {
    fn runs_call(&self, method: Method, workflow_id: &str) -> Result<Call, Error> {
        check_path_segment("workflow id", workflow_id)?;
        let url = self
            .connection
            .endpoint(&["workflows", workflow_id, "runs"])?;
        Ok(Call::new(
            method,
            url,
            "/v1/workflows/{workflow_id}/runs".to_owned(),
        ))
    }

    fn run_call(&self, method: Method, workflow_id: &str, run_id: &str) -> Result<Call, Error> {
        check_path_segment("workflow id", workflow_id)?;
        check_path_segment("run id", run_id)?;
        let url = self
            .connection
            .endpoint(&["workflows", workflow_id, "runs", run_id])?;
        Ok(Call::new(
            method,
            url,
            "/v1/workflows/{workflow_id}/runs/{run_id}".to_owned(),
        ))
    }

    /// Every workflow: `GET /v1/workflows`, all pages.
    pub async fn list(&self) -> Result<Vec<Workflow>, Error> {
        self.connection
            .resource::<Workflow>("workflows")?
            .stream(Query::new())
            .try_collect()
            .await
    }

    /// Triggers a run with `input` (any JSON-serialisable value; `&serde_json::Value::Null` for
    /// none): `POST /v1/workflows/{workflow_id}/runs` (`202`). Sent with an `Idempotency-Key`,
    /// so a retry never starts a second run.
    pub async fn trigger(&self, workflow_id: &str, input: &impl Serialize) -> Result<Run, Error> {
        let call = self
            .runs_call(Method::POST, workflow_id)?
            .json_body(input)?
            .with_new_idempotency_key();
        self.send(call, "the triggered run").await
    }

    /// The run now: `GET /v1/workflows/{workflow_id}/runs/{run_id}`.
    pub async fn run(&self, workflow_id: &str, run_id: &str) -> Result<Run, Error> {
        let call = self.run_call(Method::GET, workflow_id, run_id)?;
        self.send(call, "the run").await
    }

    /// Cancels a queued or running run: `DELETE /v1/workflows/{workflow_id}/runs/{run_id}`;
    /// returns the cancelled run. A run that already ended is an [`Error::Conflict`] whose
    /// message says how it ended (`run run_1 of workflow wf already finished (status
    /// succeeded); nothing to cancel`).
    pub async fn cancel(&self, workflow_id: &str, run_id: &str) -> Result<Run, Error> {
        let call = self.run_call(Method::DELETE, workflow_id, run_id)?;
        match self.send(call, "the cancelled run").await {
            Err(Error::Conflict { message }) => {
                let how = match self.run(workflow_id, run_id).await {
                    Ok(run) => format!("status {}", run.status),
                    Err(_) => format!("the server says: {message}"),
                };
                Err(Error::Conflict {
                    message: format!(
                        "run {run_id} of workflow {workflow_id} already finished ({how}); \
                         nothing to cancel"
                    ),
                })
            }
            other => other,
        }
    }

    /// Waits until the run has finished, polling with [`PollBackoff::default`]; returns the
    /// final run (whatever its status: check [`Run::status`]). After `timeout` it fails with
    /// [`WaitError::TimedOut`], which carries the run as last seen; a failed poll is
    /// [`WaitError::Call`].
    pub async fn wait(
        &self,
        workflow_id: &str,
        run_id: &str,
        timeout: Duration,
    ) -> Result<Run, WaitError> {
        self.wait_with(workflow_id, run_id, timeout, PollBackoff::default())
            .await
    }

    /// [`Workflows::wait`] with its own polling pauses.
    pub async fn wait_with(
        &self,
        workflow_id: &str,
        run_id: &str,
        timeout: Duration,
        backoff: PollBackoff,
    ) -> Result<Run, WaitError> {
        let span = tracing::debug_span!(
            "dbsync_wait",
            endpoint = "/v1/workflows/{workflow_id}/runs/{run_id}",
            timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        );
        tracing::Instrument::instrument(
            self.poll_until_finished(workflow_id, run_id, timeout, backoff),
            span,
        )
        .await
    }

    async fn poll_until_finished(
        &self,
        workflow_id: &str,
        run_id: &str,
        timeout: Duration,
        backoff: PollBackoff,
    ) -> Result<Run, WaitError> {
        let started = tokio::time::Instant::now();
        // A timeout too long to express is no timeout.
        let deadline = started.checked_add(timeout);
        let mut pause = backoff.initial.min(backoff.max);
        loop {
            let run = self.run(workflow_id, run_id).await?;
            if run.status.is_finished() {
                return Ok(run);
            }
            let now = tokio::time::Instant::now();
            if deadline.is_some_and(|deadline| now >= deadline) {
                return Err(WaitError::TimedOut {
                    message: format!(
                        "run {run_id} of workflow {workflow_id} has not finished after {:?} \
                         (last status {}); wait longer, or cancel it",
                        now.duration_since(started),
                        run.status
                    ),
                    run: Box::new(run),
                });
            }
            let left = deadline.map_or(pause, |deadline| deadline - now);
            tokio::time::sleep(pause.min(left)).await;
            pause = backoff.next(pause);
        }
    }

    async fn send<T: DeserializeOwned>(&self, call: Call, what: &str) -> Result<T, Error> {
        self.connection
            .transport()
            .send(&call, JsonAs::new(what))
            .await
            .result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_decode_and_unknown_ones_are_kept() {
        let run: Run = serde_json::from_value(serde_json::json!({
            "id": "run_1", "workflow_id": "wf", "status": "paused"
        }))
        .unwrap();
        assert_eq!(run.status, RunStatus::Unknown("paused".into()));
        assert!(!run.status.is_finished());
        for (text, finished) in [
            ("queued", false),
            ("running", false),
            ("succeeded", true),
            ("failed", true),
            ("cancelled", true),
        ] {
            let status: RunStatus = serde_json::from_value(text.into()).unwrap();
            assert_eq!(status.as_str(), text);
            assert_eq!(status.is_finished(), finished, "{text}");
            assert_eq!(serde_json::to_value(&status).unwrap(), text);
        }
        let numeric: Workflow = serde_json::from_str(r#"{"id": 7, "name": "n"}"#).unwrap();
        assert_eq!(numeric.id, "7");
    }

    #[test]
    fn backoff_grows_to_its_cap() {
        let b = PollBackoff::default()
            .initial(Duration::from_secs(1))
            .factor(3.0)
            .max(Duration::from_secs(5));
        assert_eq!(b.next(Duration::from_secs(1)), Duration::from_secs(3));
        assert_eq!(b.next(Duration::from_secs(3)), Duration::from_secs(5));
        assert_eq!(PollBackoff::default().factor(f64::NAN).factor, 1.0);
    }

    #[test]
    fn dot_ids_are_refused() {
        let c = Connection::builder().base_url("https://h").build().unwrap();
        for bad in ["", ".", ".."] {
            assert!(c.workflows().run_call(Method::GET, "wf", bad).is_err());
            assert!(c.workflows().runs_call(Method::POST, bad).is_err());
        }
    }
}
