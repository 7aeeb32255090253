//! Workflows and their runs.
//!
//! A run's status is derived from the time since it was triggered (tokio's clock, so tests can
//! pause and advance it): `queued` for the first half of the configured duration, `running` for
//! the second half, then `succeeded`, or `failed` when its input is an object with
//! `"fail": true`. A cancel fixes the status at `cancelled`; a finished run cannot be cancelled
//! (`409`).
//!
//! Runs are capped in count and in input bytes ([`crate::StoreLimits`]); a finished run is
//! forgotten `run_retention` after its end. A trigger past a cap that sweeping cannot free is a
//! `503` with a `Retry-After` of when the oldest run will be forgotten.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::StoreLimits;
use crate::bounded::{Bounded, later};
use crate::error::ApiError;
use crate::ops_util::{
    body_bytes, now_utc, optional_json, parse_page, query_pairs, reject_unknown_params, rfc3339,
    single_param,
};
use crate::store_limits::StoreCount;

/// The workflows every sandbox has: `(id, name)`.
pub const WORKFLOWS: &[(&str, &str)] = &[
    ("wf_sync_contacts", "Sync contacts"),
    ("wf_import_orders", "Import orders"),
    ("wf_export_invoices", "Export invoices"),
];

/// Default time a run takes from trigger to its end.
pub const DEFAULT_WORKFLOW_DURATION: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    fn finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

#[derive(Debug)]
struct Run {
    id: String,
    workflow_id: String,
    input: Value,
    /// The size of the input as sent, counted against the runs' byte cap.
    input_bytes: usize,
    fail: bool,
    started: Instant,
    created_at: OffsetDateTime,
    cancelled: Option<(Instant, OffsetDateTime)>,
}

/// Converts a tokio instant after a run's start into wall-clock time.
fn wall(run: &Run, at: Instant) -> OffsetDateTime {
    let elapsed = at.saturating_duration_since(run.started);
    run.created_at + elapsed
}

impl Run {
    fn status_at(&self, now: Instant, duration: Duration) -> RunStatus {
        if self.cancelled.is_some() {
            return RunStatus::Cancelled;
        }
        let elapsed = now.saturating_duration_since(self.started);
        if elapsed >= duration {
            if self.fail {
                RunStatus::Failed
            } else {
                RunStatus::Succeeded
            }
        } else if elapsed >= duration / 2 {
            RunStatus::Running
        } else {
            RunStatus::Queued
        }
    }

    /// The run as JSON at `now` (`queued` is forced for the trigger response).
    fn to_json(&self, status: RunStatus, duration: Duration) -> Value {
        let running_from = self.started + duration / 2;
        let ends = self.started + duration;
        let started_at = match (status, self.cancelled) {
            (RunStatus::Queued, _) => None,
            (RunStatus::Cancelled, Some((at, _))) if at < running_from => None,
            _ => Some(rfc3339(wall(self, running_from))),
        };
        let (finished_at, updated_at) = match status {
            RunStatus::Queued => (None, self.created_at),
            RunStatus::Running => (None, wall(self, running_from)),
            RunStatus::Cancelled => {
                let at = self
                    .cancelled
                    .map_or(self.created_at, |(_, wall_at)| wall_at);
                (Some(at), at)
            }
            RunStatus::Succeeded | RunStatus::Failed => {
                let at = wall(self, ends);
                (Some(at), at)
            }
        };
        let mut body = json!({
            "id": self.id,
            "workflow_id": self.workflow_id,
            "status": status.as_str(),
            "input": self.input,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(updated_at),
            "started_at": started_at,
            "finished_at": finished_at.map(rfc3339),
        });
        if status == RunStatus::Failed
            && let Some(map) = body.as_object_mut()
        {
            map.insert(
                "error".to_owned(),
                json!({"code": 500, "message": "The run failed because its input asked for it (\"fail\": true)"}),
            );
        }
        body
    }
}

#[derive(Debug)]
struct Runs {
    /// By id; each expires `retention` after its end.
    runs: Bounded<String, Run>,
    next_id: u64,
}

/// Workflow runs of a sandbox.
#[derive(Debug)]
pub(crate) struct WorkflowEngine {
    duration: Duration,
    retention: Duration,
    runs: Mutex<Runs>,
}

impl WorkflowEngine {
    pub(crate) fn new(duration: Duration, limits: &StoreLimits) -> Self {
        Self {
            duration: duration.min(crate::MAX_DURATION),
            retention: limits.run_retention.min(crate::MAX_DURATION),
            runs: Mutex::new(Runs {
                runs: Bounded::new(limits.max_runs, limits.max_run_input_bytes),
                next_id: 0,
            }),
        }
    }

    fn runs(&self) -> MutexGuard<'_, Runs> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many runs and input bytes are held.
    pub(crate) fn usage(&self) -> StoreCount {
        let runs = self.runs();
        StoreCount::new(runs.runs.len(), runs.runs.bytes())
    }

    fn trigger(
        &self,
        workflow_id: &str,
        input: Value,
        input_bytes: usize,
    ) -> Result<Value, ApiError> {
        let fail = input.get("fail") == Some(&Value::Bool(true));
        let mut runs = self.runs();
        let now = Instant::now();
        runs.runs.sweep(now);
        runs.runs.room(input_bytes, now).map_err(|full| {
            let secs = full.retry_after_secs();
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "This sandbox holds as many workflow runs (or run input bytes) as its limits \
                     allow (StoreLimits::max_runs, max_run_input_bytes); the oldest finished \
                     run is forgotten in {secs} s"
                ),
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from(secs))
        })?;
        runs.next_id += 1;
        let run = Run {
            id: format!("run_{:06}", runs.next_id),
            workflow_id: workflow_id.to_owned(),
            input,
            input_bytes,
            fail,
            started: now,
            created_at: now_utc(),
            cancelled: None,
        };
        let body = run.to_json(RunStatus::Queued, self.duration);
        let forget_at = later(later(now, self.duration), self.retention);
        runs.runs
            .insert(run.id.clone(), run, forget_at, input_bytes);
        Ok(body)
    }

    fn status(&self, workflow_id: &str, run_id: &str) -> Result<Value, ApiError> {
        let runs = self.runs();
        let run = find_run(&runs, workflow_id, run_id)?;
        let status = run.status_at(Instant::now(), self.duration);
        Ok(run.to_json(status, self.duration))
    }

    fn cancel(&self, workflow_id: &str, run_id: &str) -> Result<Value, ApiError> {
        let mut runs = self.runs();
        let now = Instant::now();
        let status = find_run(&runs, workflow_id, run_id)?.status_at(now, self.duration);
        if status.finished() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "Run `{run_id}` already ended with status `{}`; only a queued or running run can be cancelled",
                    status.as_str()
                ),
            ));
        }
        let mut run = runs
            .runs
            .remove(&run_id.to_owned())
            .ok_or_else(|| unknown_run(workflow_id, run_id))?;
        run.cancelled = Some((now, wall(&run, now)));
        let body = run.to_json(RunStatus::Cancelled, self.duration);
        // Cancelled: finished now, forgotten `retention` from now.
        let bytes = run.input_bytes;
        runs.runs
            .insert(run_id.to_owned(), run, later(now, self.retention), bytes);
        Ok(body)
    }
}

fn unknown_run(workflow_id: &str, run_id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Run `{run_id}` of workflow `{workflow_id}` not found"
    ))
}

fn find_run<'a>(runs: &'a Runs, workflow_id: &str, run_id: &str) -> Result<&'a Run, ApiError> {
    known_workflow(workflow_id)?;
    runs.runs
        .get_live(&run_id.to_owned(), Instant::now())
        .filter(|run| run.workflow_id == workflow_id)
        .ok_or_else(|| unknown_run(workflow_id, run_id))
}

fn known_workflow(workflow_id: &str) -> Result<(), ApiError> {
    if WORKFLOWS.iter().any(|(id, _)| *id == workflow_id) {
        Ok(())
    } else {
        let known: Vec<&str> = WORKFLOWS.iter().map(|(id, _)| *id).collect();
        Err(ApiError::not_found(format!(
            "Workflow `{workflow_id}` not found; known workflows: {}",
            known.join(", ")
        )))
    }
}

async fn list_workflows(RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let params = query_pairs(query.as_deref());
    reject_unknown_params(&params, &["limit", "offset"])?;
    let (limit, offset) = parse_page(
        single_param(&params, "limit")?,
        single_param(&params, "offset")?,
    )?;
    let data: Vec<Value> = WORKFLOWS
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    Ok(axum::Json(json!({
        "data": data,
        "meta": {"limit": limit, "offset": offset, "total": WORKFLOWS.len()},
    }))
    .into_response())
}

async fn trigger_run(
    State(engine): State<Arc<WorkflowEngine>>,
    Path(workflow_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    known_workflow(&workflow_id)?;
    let body = body_bytes(body)?;
    let input = optional_json(&headers, &body)?.unwrap_or(Value::Null);
    let run = engine.trigger(&workflow_id, input, body.len())?;
    Ok((StatusCode::ACCEPTED, axum::Json(run)).into_response())
}

async fn run_status(
    State(engine): State<Arc<WorkflowEngine>>,
    Path((workflow_id, run_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(engine.status(&workflow_id, &run_id)?).into_response())
}

async fn cancel_run(
    State(engine): State<Arc<WorkflowEngine>>,
    Path((workflow_id, run_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(engine.cancel(&workflow_id, &run_id)?).into_response())
}

/// The `/v1/workflows` routes.
pub(crate) fn routes<S>(engine: Arc<WorkflowEngine>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/v1/workflows", get(list_workflows))
        .route(
            "/v1/workflows/{workflow_id}/runs",
            axum::routing::post(trigger_run),
        )
        .route(
            "/v1/workflows/{workflow_id}/runs/{run_id}",
            get(run_status).delete(cancel_run),
        )
        .with_state(engine)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_run_moves_through_its_states() {
        let engine = WorkflowEngine::new(Duration::from_secs(10), &StoreLimits::default());
        let run = engine
            .trigger("wf_sync_contacts", json!({"x": 1}), 7)
            .unwrap();
        let id = run["id"].as_str().unwrap().to_owned();
        assert_eq!(run["status"], "queued");
        let status = || engine.status("wf_sync_contacts", &id).unwrap()["status"].clone();
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(status(), "running");
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(status(), "succeeded");
        let conflict = engine.cancel("wf_sync_contacts", &id).unwrap_err();
        assert_eq!(conflict.status, StatusCode::CONFLICT);
        assert!(conflict.message.contains("already ended"));
    }

    #[tokio::test(start_paused = true)]
    async fn input_can_ask_for_failure_and_runs_can_be_cancelled() {
        let engine = WorkflowEngine::new(Duration::from_secs(2), &StoreLimits::default());
        let failing = engine
            .trigger("wf_import_orders", json!({"fail": true}), 13)
            .unwrap();
        let other = engine.trigger("wf_import_orders", Value::Null, 0).unwrap();
        let cancelled = engine
            .cancel("wf_import_orders", other["id"].as_str().unwrap())
            .unwrap();
        assert_eq!(cancelled["status"], "cancelled");
        tokio::time::advance(Duration::from_secs(3)).await;
        let failed = engine
            .status("wf_import_orders", failing["id"].as_str().unwrap())
            .unwrap();
        assert_eq!(failed["status"], "failed");
        assert!(failed["error"]["message"].is_string());
        let still = engine
            .status("wf_import_orders", other["id"].as_str().unwrap())
            .unwrap();
        assert_eq!(still["status"], "cancelled");
    }

    #[test]
    fn unknown_workflows_and_runs_are_404() {
        let engine = WorkflowEngine::new(Duration::from_secs(2), &StoreLimits::default());
        assert_eq!(
            engine.status("wf_nope", "run_1").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            engine
                .status("wf_sync_contacts", "run_1")
                .unwrap_err()
                .status,
            StatusCode::NOT_FOUND
        );
    }
}
