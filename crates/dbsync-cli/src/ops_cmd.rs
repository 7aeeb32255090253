//! Workflows, logs, usage and API keys, on dbsync-client's calls for them.

use std::time::Duration;

use dbsync_client::{
    Connection, ExportFormat, LogQuery, NewApiKey, RunStatus, UsageWindow, WaitError, WindowKind,
};
use futures::StreamExt as _;
use serde::Serialize;
use serde_json::{Value, json};

use crate::args::{KeysCommand, LogsArgs, LogsCommand, WorkflowCommand};
use crate::exit::CliError;
use crate::output::{Format, RecordWriter, write_one};
use crate::terminal_text::{self, MAX_MESSAGE_CHARS};

fn stdout_error(e: std::io::Error) -> CliError {
    CliError::io("cannot write to stdout", e)
}

fn to_json(value: &impl Serialize) -> Result<Value, CliError> {
    serde_json::to_value(value)
        .map_err(|e| CliError::other(format!("cannot encode the answer: {e}")))
}

fn print_one(format: Format, value: &impl Serialize) -> Result<(), CliError> {
    write_one(std::io::stdout().lock(), format, &to_json(value)?).map_err(stdout_error)
}

fn print_all<T: Serialize>(format: Format, values: &[T]) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    let mut writer = RecordWriter::new(stdout.lock(), format);
    for value in values {
        writer.write(&to_json(value)?).map_err(stdout_error)?;
    }
    writer.finish().map_err(stdout_error)?;
    Ok(())
}

/// `dbsync workflow ...`
pub async fn workflow(
    connection: &Connection,
    command: &WorkflowCommand,
    format: Format,
) -> Result<(), CliError> {
    let workflows = connection.workflows();
    match command {
        WorkflowCommand::List => print_all(format, &workflows.list().await?),
        WorkflowCommand::Run {
            workflow,
            input,
            wait,
            wait_timeout,
        } => {
            let input: Value = match input {
                Some(text) => serde_json::from_str(text)
                    .map_err(|e| CliError::usage(format!("--input is not valid JSON: {e}")))?,
                None => Value::Null,
            };
            let run = workflows.trigger(workflow, &input).await?;
            if !*wait {
                return print_one(format, &run);
            }
            let run = workflows
                .wait(workflow, &run.id, Duration::from_secs(*wait_timeout))
                .await
                .map_err(|error| match error {
                    WaitError::Call(error) => CliError::from(error),
                    timed_out => CliError::other(terminal_text::cut(
                        &timed_out.to_string(),
                        MAX_MESSAGE_CHARS,
                    )),
                })?;
            print_one(format, &run)?;
            match run.status {
                RunStatus::Succeeded => Ok(()),
                status => {
                    let why = run
                        .error
                        .as_ref()
                        .map(|e| format!(": {}", terminal_text::cut(&e.message, MAX_MESSAGE_CHARS)))
                        .unwrap_or_default();
                    Err(CliError::other(format!(
                        "run {} of workflow {workflow} ended {status}{why}",
                        run.id
                    )))
                }
            }
        }
        WorkflowCommand::Status { workflow, run } => {
            print_one(format, &workflows.run(workflow, run).await?)
        }
        WorkflowCommand::Cancel { workflow, run } => {
            print_one(format, &workflows.cancel(workflow, run).await?)
        }
    }
}

fn log_query(args: &LogsArgs) -> LogQuery {
    let filters = &args.filters;
    let mut query = LogQuery::new();
    if let Some(from) = &filters.from {
        query = query.from(from.as_str());
    }
    if let Some(to) = &filters.to {
        query = query.to(to.as_str());
    }
    if let Some(method) = &filters.method {
        query = query.method(method);
    }
    if let Some(endpoint) = &filters.endpoint {
        query = query.endpoint(endpoint.clone());
    }
    if let Some(status) = filters.status {
        query = query.status(status);
    }
    query
}

/// `dbsync logs` and `dbsync logs export`. `format` is the global `--format` as given.
pub async fn logs(
    connection: &Connection,
    args: &LogsArgs,
    format: Option<Format>,
    default_format: Format,
) -> Result<(), CliError> {
    let logs = connection.logs();
    let query = log_query(args);
    match &args.export {
        Some(LogsCommand::Export { .. }) if args.page_size.is_some() => Err(CliError::usage(
            "--page-size is for listing logs; an export is one download (--limit caps it)",
        )),
        Some(LogsCommand::Export { out }) => {
            let export_format = match format {
                None | Some(Format::Csv) => ExportFormat::Csv,
                Some(Format::Jsonl) => ExportFormat::JsonLines,
                Some(other) => {
                    return Err(CliError::usage(format!(
                        "logs export writes csv or jsonl, not {other:?}: use --format csv|jsonl"
                    )));
                }
            };
            let query = match args.limit {
                Some(limit) => query.limit(u32::try_from(limit).unwrap_or(u32::MAX)),
                None => query,
            };
            let summary = logs.export_to_file(&query, export_format, out).await?;
            eprintln!(
                "exported {} log entries to {}",
                summary.entries,
                out.display()
            );
            Ok(())
        }
        None => {
            let stdout = std::io::stdout();
            let mut writer = RecordWriter::new(stdout.lock(), format.unwrap_or(default_format));
            let page_size = args.page_size.or_else(|| {
                args.limit
                    .and_then(|limit| u32::try_from(limit).ok())
                    .filter(|limit| *limit <= 1000)
            });
            let query = match page_size {
                Some(size) => query.limit(size),
                None => query,
            };
            let mut stream = logs.stream(query);
            let mut written = 0u64;
            while args.limit.is_none_or(|limit| written < limit) {
                let Some(entry) = stream.next().await else {
                    break;
                };
                writer.write(&to_json(&entry?)?).map_err(stdout_error)?;
                written += 1;
            }
            writer.finish().map_err(stdout_error)?;
            Ok(())
        }
    }
}

/// `dbsync usage`: the answer as JSON (or CSV/JSON lines); as a table, the minute figures and
/// then one line per window (`window minute  12 of 600 used, 588 left, resets at ...`).
pub async fn usage(connection: &Connection, format: Format) -> Result<(), CliError> {
    let usage = connection.usage().await?;
    if format != Format::Table {
        return print_one(format, &usage);
    }
    let mut shown = to_json(&usage)?;
    if let Some(map) = shown.as_object_mut() {
        map.remove("windows");
        for window in &usage.windows {
            map.insert(
                format!("window {}", window_name(&window.window)),
                Value::String(describe_window(window)),
            );
        }
    }
    print_one(format, &shown)
}

fn window_name(kind: &WindowKind) -> &str {
    match kind.as_str() {
        "" => "?",
        name => name,
    }
}

/// `12 of 600 used, 588 left, resets at 2030-01-01T00:01:00Z` (parts the server left out are
/// left out).
fn describe_window(window: &UsageWindow) -> String {
    let number = |n: Option<u64>| n.map_or("?".to_owned(), |n| n.to_string());
    let mut text = match window.limit {
        Some(limit) => format!("{} of {limit} used", number(window.used)),
        None => format!("{} used, no limit", number(window.used)),
    };
    if let Some(remaining) = window.remaining {
        text.push_str(&format!(", {remaining} left"));
    }
    if let Some(reset) = &window.reset_at {
        text.push_str(&format!(", resets at {reset}"));
    }
    text
}

/// The key `dbsync keys create` asks for: `--scope` (repeatable) and `--expires-at`, checked
/// here so a typo is a usage error (exit 2) before anything is sent.
fn new_key(name: &str, scopes: &[String], expires_at: Option<&str>) -> Result<NewApiKey, CliError> {
    let mut new = NewApiKey::new(name);
    for scope in scopes {
        if !dbsync_contract::scopes::is_scope_token(scope) {
            return Err(CliError::usage(format!(
                "--scope {:?} is not a scope (one of {}, or another your server defines)",
                terminal_text::cut(scope, 80),
                dbsync_client::scopes::ALL.join(", ")
            )));
        }
        new = new.scope(scope.as_str());
    }
    if let Some(at) = expires_at {
        if dbsync_contract::timestamp::parse(at).is_none() {
            return Err(CliError::usage(format!(
                "--expires-at {:?} is not an RFC 3339 time with an offset (e.g. \
                 2030-01-01T00:00:00Z)",
                terminal_text::cut(at, 80)
            )));
        }
        new = new.expires_at(at);
    }
    Ok(new)
}

/// `dbsync keys ...`. A created or regenerated key's secret is printed once, on purpose: it is
/// never shown again.
pub async fn keys(
    connection: &Connection,
    command: &KeysCommand,
    format: Format,
) -> Result<(), CliError> {
    let keys = connection.api_keys();
    match command {
        KeysCommand::List => {
            let mut listed = Vec::new();
            for key in keys.list().await? {
                let mut shown = to_json(&key)?;
                // A table or CSV cell holds the scopes space separated, as OAuth writes them.
                if matches!(format, Format::Table | Format::Csv)
                    && let Some(slot) = shown.get_mut("scopes")
                {
                    *slot = Value::String(key.scopes.join(" "));
                }
                listed.push(shown);
            }
            print_all(format, &listed)
        }
        KeysCommand::Create {
            name,
            scopes,
            expires_at,
        } => {
            let created = keys
                .create_with(&new_key(name, scopes, expires_at.as_deref())?)
                .await?;
            print_one(
                format,
                &json!({"id": created.id, "name": created.name, "key": created.key.expose(),
                        "scopes": created.scopes, "expires_at": created.expires_at}),
            )?;
            eprintln!("store the key now: it is not shown again");
            Ok(())
        }
        KeysCommand::Regenerate { id } => {
            let created = keys.regenerate(id).await?;
            print_one(
                format,
                &json!({"id": created.id, "name": created.name, "key": created.key.expose(),
                        "scopes": created.scopes, "expires_at": created.expires_at}),
            )?;
            eprintln!(
                "the old secret no longer works; store the new key now: it is not shown again"
            );
            Ok(())
        }
        KeysCommand::Revoke { id } => {
            keys.revoke(id).await?;
            print_one(format, &json!({"id": id, "revoked": true}))
        }
    }
}
